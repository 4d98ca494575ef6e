/* client/core/group_state.c — serialisation of a group's local state (GroupState in
 * group.proto) with a SHA-256 trailer: the record chain, the records beside it, the
 * epochs with their keys and cursors. Loading re-verifies the head's signature, the
 * links of the chain and every count, length and ordering, so a damaged file is
 * E_CORRUPT and never a half-built state. The bytes hold secrets: the caller encrypts
 * them at rest. */
#include <stdlib.h>
#include <string.h>

#include "group_int.h"
#include "mbox_write.h"

#define GS_DOMAIN_LEN (sizeof GROUP_DOMAIN_STATE - 1)

static int gs_trailer(uint8_t h[static 32], const uint8_t *buf, size_t len) {
  struct crypto_part parts[2] = {{GROUP_DOMAIN_STATE, GS_DOMAIN_LEN}, {buf, len}};
  return crypto_sha256_parts(h, parts, 2);
}

#define GS_BIN(n, p) ((ProtobufCBinaryData){(n), (uint8_t *)(p)})

static int gs_fill_epoch(struct arena *a, Momedo__GroupEpochState *es,
                         const struct group_epoch *e) {
  momedo__group_epoch_state__init(es);
  es->epoch = e->epoch;
  es->mailbox = GS_BIN(32, e->mailbox);
  es->write_key = GS_BIN(32, e->write_pub);
  es->write_tag = GS_BIN(32, e->write_tag);
  if (e->has_write) es->write_seed = GS_BIN(32, e->write.seed);
  if (e->has_tx) {
    es->tx_seed = GS_BIN(32, e->tx.seed);
    es->tx_chain = GS_BIN(32, e->tx_ck);
    es->tx_iteration = e->tx_n;
  }
  es->n_senders = e->n_rx;
  es->senders = arena_alloc(a, (e->n_rx + 1) * sizeof *es->senders);
  es->n_cursors = e->n_cur;
  es->cursors = arena_alloc(a, (e->n_cur + 1) * sizeof *es->cursors);
  if (es->senders == NULL || es->cursors == NULL) return MOMEDO_E_TOOBIG;
  for (size_t i = 0; i < e->n_rx; i++) {
    const struct group_rx *rx = &e->rx[i];
    Momedo__GroupSenderState *s = arena_alloc(a, sizeof *s);
    Momedo__GroupSkippedKey *k = arena_alloc(a, (rx->n_sk + 1) * sizeof *k);
    Momedo__GroupSkippedKey **kp = arena_alloc(a, (rx->n_sk + 1) * sizeof *kp);
    if (s == NULL || k == NULL || kp == NULL) return MOMEDO_E_TOOBIG;
    momedo__group_sender_state__init(s);
    s->identity_key = GS_BIN(32, rx->id);
    s->device_key = GS_BIN(32, rx->dev);
    s->signing_key = GS_BIN(32, rx->pub);
    s->chain_key = GS_BIN(32, rx->ck);
    s->iteration = rx->n;
    for (uint32_t j = 0; j < rx->n_sk; j++) {
      momedo__group_skipped_key__init(&k[j]);
      k[j].iteration = rx->sk[j].it;
      k[j].key = GS_BIN(32, rx->sk[j].mk);
      kp[j] = &k[j];
    }
    s->n_skipped = rx->n_sk, s->skipped = kp;
    es->senders[i] = s;
  }
  for (size_t i = 0; i < e->n_cur; i++) {
    Momedo__GroupCursor *c = arena_alloc(a, sizeof *c);
    if (c == NULL) return MOMEDO_E_TOOBIG;
    momedo__group_cursor__init(c);
    c->node_key = GS_BIN(32, e->cur[i].node);
    c->cursor = e->cur[i].cursor;
    es->cursors[i] = c;
  }
  return 0;
}

/* The chain and the records beside it, borrowed into st. */
static int gs_fill_records(struct arena *a, Momedo__GroupState *st, const struct group *g) {
  ProtobufCBinaryData *ch = arena_alloc(a, (g->n_ch + 1) * sizeof *ch);
  Momedo__GroupAltRecord *al = arena_alloc(a, (g->n_alt + 1) * sizeof *al);
  Momedo__GroupAltRecord **alp = arena_alloc(a, (g->n_alt + 1) * sizeof *alp);
  if (ch == NULL || al == NULL || alp == NULL) return MOMEDO_E_TOOBIG;
  for (size_t i = 0; i < g->n_ch; i++) ch[i] = GS_BIN(g->ch[i].n, g->ch[i].b);
  for (size_t i = 0; i < g->n_alt; i++) {
    momedo__group_alt_record__init(&al[i]);
    al[i].record = GS_BIN(g->alt[i].n, g->alt[i].b);
    al[i].rebased = g->alt[i].rebased != 0;
    alp[i] = &al[i];
  }
  st->n_chain = g->n_ch, st->chain = ch;
  st->n_alts = g->n_alt, st->alts = alp;
  return 0;
}

int group_save(const struct group *g, uint8_t **out, size_t *out_len) {
  Momedo__GroupState st = MOMEDO__GROUP_STATE__INIT;
  Momedo__GroupEpochState es[GROUP_EPOCHS_MAX], *ep[GROUP_EPOCHS_MAX];
  struct arena a;
  *out = NULL, *out_len = 0;
  arena_init(&a, GROUP_STATE_DECODE_BYTES_MAX);
  int rc = MOMEDO_E_TOOBIG;
  ProtobufCBinaryData *sent = arena_alloc(&a, (g->n_sent + 1) * sizeof *sent);
  if (sent == NULL) goto out;
  for (size_t i = 0; i < g->n_sent; i++) sent[i] = GS_BIN(32, g->sent[i]);
  st.format = GROUP_FORMAT;
  st.identity_key = GS_BIN(32, g->me_id);
  st.device_key = GS_BIN(32, g->me_dev);
  st.n_sent = g->n_sent, st.sent = sent;
  st.removed = g->removed != 0;
  st.left = g->left != 0;
  if ((rc = gs_fill_records(&a, &st, g)) < 0) goto out;
  for (size_t i = 0; i < g->n_ep; i++) {
    if ((rc = gs_fill_epoch(&a, &es[i], &g->ep[i])) < 0) goto out;
    ep[i] = &es[i];
  }
  st.n_epochs = g->n_ep, st.epochs = ep;
  size_t n = momedo__group_state__get_packed_size(&st);
  rc = MOMEDO_E_TOOBIG;
  if (n > GROUP_STATE_BYTES_MAX) goto out;
  rc = MOMEDO_E_NOMEM;
  uint8_t *buf = malloc(n + CRYPTO_HASH_LEN);
  if (buf == NULL) goto out;
  momedo__group_state__pack(&st, buf);
  if ((rc = gs_trailer(buf + n, buf, n)) < 0) {
    crypto_wipe(buf, n);
    free(buf);
    goto out;
  }
  *out = buf, *out_len = n + CRYPTO_HASH_LEN;
out:
  arena_close(&a);
  return rc;
}

/* ---- loading ---- */

static int gs_load_rx(struct group_rx *rx, const Momedo__GroupSenderState *s, size_t *total) {
  if (s->identity_key.len != 32 || s->device_key.len != 32 || s->signing_key.len != 32 ||
      s->chain_key.len != 32 || s->iteration >= GROUP_CHAIN_MAX ||
      s->n_skipped > GROUP_SKIPPED_PER_SENDER_MAX)
    return MOMEDO_E_CORRUPT;
  memcpy(rx->id, s->identity_key.data, 32);
  memcpy(rx->dev, s->device_key.data, 32);
  memcpy(rx->pub, s->signing_key.data, 32);
  memcpy(rx->ck, s->chain_key.data, 32);
  rx->n = s->iteration;
  if (s->n_skipped == 0) return 0;
  if ((rx->sk = calloc(s->n_skipped, sizeof *rx->sk)) == NULL) return MOMEDO_E_NOMEM;
  rx->cap_sk = (uint32_t)s->n_skipped;
  for (size_t j = 0; j < s->n_skipped; j++) {
    const Momedo__GroupSkippedKey *k = s->skipped[j];
    if (k->key.len != 32 || k->iteration >= rx->n ||
        (j > 0 && k->iteration <= rx->sk[j - 1].it))
      return MOMEDO_E_CORRUPT;
    rx->sk[j].it = k->iteration;
    memcpy(rx->sk[j].mk, k->key.data, 32);
    rx->n_sk++;
  }
  *total += s->n_skipped;
  return 0;
}

static int gs_load_epoch(struct group_epoch *e, const Momedo__GroupEpochState *es, size_t *total) {
  if (es->epoch == 0 || es->mailbox.len != 32 || es->n_cursors > GROUP_CURSORS_MAX ||
      es->n_senders > (size_t)GROUP_DEVICES_MAX * GROUP_SENDERS_PER_DEVICE_MAX)
    return MOMEDO_E_CORRUPT;
  e->epoch = es->epoch;
  memcpy(e->mailbox, es->mailbox.data, 32);
  if (es->write_key.len != 32 || es->write_tag.len != 32 ||
      (es->write_seed.len != 0 && es->write_seed.len != 32))
    return MOMEDO_E_CORRUPT;
  memcpy(e->write_pub, es->write_key.data, 32);
  memcpy(e->write_tag, es->write_tag.data, 32);
  if (es->write_seed.len == 32) {
    if (crypto_sign_from_seed(&e->write, es->write_seed.data) < 0 ||
        memcmp(e->write.pub, e->write_pub, 32) != 0)
      return MOMEDO_E_CORRUPT;
    e->has_write = 1;
  }
  if (es->tx_seed.len != 0) {
    if (es->tx_seed.len != 32 || es->tx_chain.len != 32 || es->tx_iteration >= GROUP_CHAIN_MAX)
      return MOMEDO_E_CORRUPT;
    if (crypto_sign_from_seed(&e->tx, es->tx_seed.data) < 0) return MOMEDO_E_CORRUPT;
    memcpy(e->tx_ck, es->tx_chain.data, 32);
    e->tx_n = es->tx_iteration, e->has_tx = 1;
  } else if (es->tx_chain.len != 0 || es->tx_iteration != 0) {
    return MOMEDO_E_CORRUPT;
  }
  for (size_t i = 0; i < es->n_cursors; i++) {
    if (es->cursors[i]->node_key.len != 32) return MOMEDO_E_CORRUPT;
    memcpy(e->cur[i].node, es->cursors[i]->node_key.data, 32);
    e->cur[i].cursor = es->cursors[i]->cursor;
    e->n_cur++;
  }
  if (es->n_senders && (e->rx = calloc(es->n_senders, sizeof *e->rx)) == NULL)
    return MOMEDO_E_NOMEM;
  e->cap_rx = es->n_senders;
  for (size_t i = 0; i < es->n_senders; i++) {
    int rc = gs_load_rx(&e->rx[i], es->senders[i], total);
    e->n_rx++;
    if (rc < 0) return rc;
  }
  return *total > GROUP_SKIPPED_MAX ? MOMEDO_E_CORRUPT : 0;
}

static int gs_load_sent(struct group *g, const Momedo__GroupState *st) {
  if (st->n_sent > GROUP_DEVICES_MAX) return MOMEDO_E_CORRUPT;
  if (st->n_sent == 0) return 0;
  if ((g->sent = malloc(st->n_sent * 32)) == NULL) return MOMEDO_E_NOMEM;
  g->cap_sent = st->n_sent;
  for (size_t i = 0; i < st->n_sent; i++) {
    if (st->sent[i].len != 32 || (i > 0 && memcmp(st->sent[i - 1].data, st->sent[i].data, 32) >= 0))
      return MOMEDO_E_CORRUPT;
    memcpy(g->sent[g->n_sent++], st->sent[i].data, 32);
  }
  return 0;
}

/* Everything the state says must agree with its own head. */
static int gs_check(const struct group *g) {
  uint8_t mb[32];
  int listed = group__listed(&g->r, g->me_id, g->me_dev);
  if (g->n_ep == 0 || listed == g->removed) return MOMEDO_E_CORRUPT;
  for (size_t k = 0; k < g->n_ep; k++) {
    const struct group_epoch *e = &g->ep[k];
    if (k + 1 < g->n_ep && e->has_tx) return MOMEDO_E_CORRUPT;
    if (mbox_write_mailbox(mb, e->write_pub, e->write_tag) < 0 || memcmp(mb, e->mailbox, 32) != 0)
      return MOMEDO_E_CORRUPT;
    for (size_t j = 0; j < k; j++)
      if (memcmp(g->ep[j].mailbox, e->mailbox, 32) == 0) return MOMEDO_E_CORRUPT;
  }
  const struct group_epoch *c = &g->ep[g->n_ep - 1];
  if (c->has_tx && (!listed || g->left)) return MOMEDO_E_CORRUPT;
  if (!listed) return 0;
  if (group_mailbox_derive(mb, g->r.group_id, g->r.epoch, g->r.salt, g->r.write_key) < 0)
    return MOMEDO_E_CORRUPT;
  return memcmp(mb, c->mailbox, 32) == 0 && c->epoch == g->r.epoch ? 0 : MOMEDO_E_CORRUPT;
}

/* One held record. It was verified when it came (and the file is checked as a whole):
 * its metadata is read without a roster — below the fork window only its hash, since
 * such a record is only handed out again; the head is parsed, its signature checked. */
static int gs_load_rec(struct group_rec *rec, const ProtobufCBinaryData *b, int head,
                       struct group_roster *R, const struct group_rec *archived_after) {
  int rc = b->len > GROUP_RECORD_BYTES_MAX ? MOMEDO_E_CORRUPT : 0;
  if (rc == 0 && archived_after) {
    memset(rec, 0, sizeof *rec);
    rc = group__record_hash_stored(rec->hash, b->data, b->len);
    rec->version = archived_after->version + 1;
    memcpy(rec->prev, archived_after->hash, 32);
  } else if (rc == 0) {
    rc = group__rec_meta(rec, b->data, b->len);
  }
  if (rc == 0 && head) rc = group__roster_parse(R, b->data, b->len, 1);
  if (rc < 0) return rc == MOMEDO_E_NOMEM || rc == MOMEDO_E_BADSIG ? rc : MOMEDO_E_CORRUPT;
  if ((rec->b = malloc(b->len)) == NULL) return MOMEDO_E_NOMEM;
  memcpy(rec->b, b->data, b->len);
  rec->n = b->len;
  return 0;
}

static int gs_load_records(struct group *g, const Momedo__GroupState *st) {
  if (st->n_chain == 0 || st->n_chain > GROUP_CHAIN_RECORDS_MAX || st->n_alts > GROUP_ALTS_MAX)
    return MOMEDO_E_CORRUPT;
  if ((g->ch = calloc(st->n_chain, sizeof *g->ch)) == NULL) return MOMEDO_E_NOMEM;
  g->cap_ch = st->n_chain;
  if (st->n_alts && (g->alt = calloc(st->n_alts, sizeof *g->alt)) == NULL) return MOMEDO_E_NOMEM;
  int rc = 0;
  size_t root = st->n_chain > GROUP_FORK_WINDOW + 1 ? st->n_chain - 1 - GROUP_FORK_WINDOW : 0;
  for (size_t i = 0; rc == 0 && i < st->n_chain; i++) {
    int head = i + 1 == st->n_chain;
    rc = gs_load_rec(&g->ch[i], &st->chain[i], head, &g->r, i && i < root ? &g->ch[i - 1] : NULL);
    if (rc == 0) g->n_ch++;
    if (rc == 0 && (g->ch[i].version != i + 1 ||
                    (i > 0 && memcmp(g->ch[i].prev, g->ch[i - 1].hash, 32) != 0)))
      rc = MOMEDO_E_CORRUPT;
  }
  for (size_t i = 0; rc == 0 && i < st->n_alts; i++) {
    if ((rc = gs_load_rec(&g->alt[i], &st->alts[i]->record, 0, NULL, NULL)) == 0) g->n_alt++;
    if (rc == 0) g->alt[i].rebased = st->alts[i]->rebased;
    if (rc == 0 && group__rec_held(g, g->alt[i].prev) == NULL) rc = MOMEDO_E_CORRUPT;
  }
  return rc;
}

static int gs_build(struct group *g, const Momedo__GroupState *st) {
  size_t total = 0;
  if (st->identity_key.len != 32 || st->device_key.len != 32 || st->n_epochs == 0 ||
      st->n_epochs > GROUP_EPOCHS_MAX || st->record.len != 0)
    return MOMEDO_E_CORRUPT;
  memcpy(g->me_id, st->identity_key.data, 32);
  memcpy(g->me_dev, st->device_key.data, 32);
  int rc = gs_load_records(g, st);
  if (rc < 0) return rc;
  g->removed = st->removed;
  g->left = st->left;
  for (size_t k = 0; k < st->n_epochs; k++) {
    rc = gs_load_epoch(&g->ep[k], st->epochs[k], &total);
    g->n_ep++;
    if (rc < 0) return rc;
  }
  if ((rc = gs_load_sent(g, st)) < 0) return rc;
  return gs_check(g);
}

int group_load(struct group **out, const uint8_t *buf, size_t len) {
  uint8_t h[CRYPTO_HASH_LEN];
  struct arena a;
  *out = NULL;
  if (len < CRYPTO_HASH_LEN) return MOMEDO_E_TRUNCATED;
  if (len > GROUP_STATE_BYTES_MAX + CRYPTO_HASH_LEN) return MOMEDO_E_TOOBIG;
  size_t n = len - CRYPTO_HASH_LEN;
  int rc = gs_trailer(h, buf, n);
  if (rc < 0) return rc;
  if (!crypto_ct_eq(h, buf + n, CRYPTO_HASH_LEN)) return MOMEDO_E_CORRUPT;
  arena_init(&a, GROUP_STATE_DECODE_BYTES_MAX);
  struct group *g = NULL;
  Momedo__GroupState *st = momedo__group_state__unpack(&a.pb, n, buf);
  if (st == NULL) rc = a.failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE;
  else if (st->format != GROUP_FORMAT) rc = MOMEDO_E_VERSION;
  else if ((g = calloc(1, sizeof *g)) == NULL) rc = MOMEDO_E_NOMEM;
  else rc = gs_build(g, st);
  arena_close(&a);
  if (rc < 0) {
    group_free(g);
    return rc;
  }
  *out = g;
  return 0;
}
