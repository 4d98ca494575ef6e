/* client/core/senderkey.c — Signal-style sender keys for groups: per device and epoch a
 * chain key (message key i = HMAC step i) and an Ed25519 signing key; each message is
 * encrypted once (XChaCha20-Poly1305), signed once by the sender key and once by the
 * epoch's write key (which nodes check). Receivers keep a bounded window of skipped
 * keys, refuse duplicates before touching state, and change state only after a message
 * authenticated. No I/O, no clock. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "group_int.h"
#include "mbox_write.h"

#define SK_MSG_DOMAIN_LEN (sizeof GROUP_DOMAIN_MSG - 1)
#define SK_SIG_DOMAIN_LEN (sizeof GROUP_DOMAIN_SIG - 1)
#define SK_AD_LEN (SK_MSG_DOMAIN_LEN + 32 + 8 + GROUP_WIRE_HEADER_LEN)
#define SK_SIGMSG_LEN (SK_SIG_DOMAIN_LEN + 32 + 8 + CRYPTO_HASH_LEN)
#define SK_TRAILER_LEN (GROUP_WIRE_HEADER_LEN + CRYPTO_SIG_LEN + MBOX_WRITE_SIG_LEN)
#define SK_PUB_OFF 2
#define SK_IT_OFF (2 + CRYPTO_SIGN_PUB_LEN)

int group__chain_step(uint8_t mk[static 32], uint8_t next[static 32], const uint8_t ck[static 32]) {
  static const uint8_t one = 0x01, two = 0x02;
  int rc = crypto_hmac_sha256(mk, ck, 32, &one, 1);
  if (rc == 0) rc = crypto_hmac_sha256(next, ck, 32, &two, 1);
  return rc;
}

int group__tx_new(struct group_epoch *e) {
  int rc = crypto_sign_keygen(&e->tx);
  if (rc == 0) rc = crypto_random(e->tx_ck, GROUP_KEY_LEN);
  if (rc < 0) {
    crypto_wipe(&e->tx, sizeof e->tx);
    crypto_wipe(e->tx_ck, sizeof e->tx_ck);
    return rc;
  }
  e->has_tx = 1, e->tx_n = 0;
  return 0;
}

void group__sk_proof_msg(uint8_t m[static GROUP_SK_PROOF_MSG_LEN],
                         const uint8_t group_id[static 32], uint64_t epoch,
                         const uint8_t mailbox[static 32], const uint8_t identity[static 32],
                         const uint8_t device[static 32]) {
  const size_t dl = sizeof GROUP_DOMAIN_SENDERKEY - 1;
  memcpy(m, GROUP_DOMAIN_SENDERKEY, dl);
  memcpy(m + dl, group_id, 32);
  be64_put(m + dl + 32, epoch);
  memcpy(m + dl + 40, mailbox, 32);
  memcpy(m + dl + 72, identity, 32);
  memcpy(m + dl + 104, device, 32);
}

void group__rx_wipe(struct group_rx *rx) {
  if (rx->sk) crypto_wipe(rx->sk, rx->cap_sk * sizeof *rx->sk);
  free(rx->sk);
  crypto_wipe(rx, sizeof *rx);
}

size_t group__skipped_total(const struct group *g) {
  size_t t = 0;
  for (size_t i = 0; i < g->n_ep; i++)
    for (size_t j = 0; j < g->ep[i].n_rx; j++) t += g->ep[i].rx[j].n_sk;
  return t;
}

/* ---- one message ---- */

static void sk_ad(uint8_t ad[static SK_AD_LEN], const uint8_t group_id[static 32], uint64_t epoch,
                  const uint8_t *hdr) {
  memcpy(ad, GROUP_DOMAIN_MSG, SK_MSG_DOMAIN_LEN);
  memcpy(ad + SK_MSG_DOMAIN_LEN, group_id, 32);
  be64_put(ad + SK_MSG_DOMAIN_LEN + 32, epoch);
  memcpy(ad + SK_MSG_DOMAIN_LEN + 40, hdr, GROUP_WIRE_HEADER_LEN);
}

/* The signed bytes: domain || group_id || epoch || SHA-256(wire without signature). */
static int sk_sigmsg(uint8_t m[static SK_SIGMSG_LEN], const uint8_t group_id[static 32],
                     uint64_t epoch, const uint8_t *wire, size_t body_len) {
  memcpy(m, GROUP_DOMAIN_SIG, SK_SIG_DOMAIN_LEN);
  memcpy(m + SK_SIG_DOMAIN_LEN, group_id, 32);
  be64_put(m + SK_SIG_DOMAIN_LEN + 32, epoch);
  return crypto_sha256(m + SK_SIG_DOMAIN_LEN + 40, wire, body_len);
}

/* key || nonce from a message key. */
static int sk_expand(uint8_t kn[static 32 + CRYPTO_XNONCE_LEN], const uint8_t mk[static 32]) {
  return crypto_hkdf(kn, 32 + CRYPTO_XNONCE_LEN, NULL, 0, mk, 32, GROUP_DOMAIN_MSG,
                     SK_MSG_DOMAIN_LEN);
}

int group__msg_open(uint8_t *pt, const uint8_t *wire, size_t len,
                    const uint8_t group_id[static 32], uint64_t epoch,
                    const uint8_t mk[static 32]) {
  uint8_t ad[SK_AD_LEN], kn[32 + CRYPTO_XNONCE_LEN];
  if (len < GROUP_WIRE_OVERHEAD) return MOMEDO_E_TRUNCATED;
  sk_ad(ad, group_id, epoch, wire);
  int rc = sk_expand(kn, mk);
  if (rc == 0)
    rc = crypto_aead_open(pt, wire + GROUP_WIRE_HEADER_LEN, len - SK_TRAILER_LEN, ad, sizeof ad,
                          kn + 32, kn);
  crypto_wipe(kn, sizeof kn);
  return rc < 0 ? MOMEDO_E_DECRYPT : 0;
}

int group_encrypt(struct group *g, const uint8_t *pt, size_t len, uint8_t **out,
                  size_t *out_len) {
  uint8_t mk[32], next[32], kn[32 + CRYPTO_XNONCE_LEN], ad[SK_AD_LEN], sm[SK_SIGMSG_LEN];
  struct group_epoch *e = g->n_ep ? &g->ep[g->n_ep - 1] : NULL;
  *out = NULL, *out_len = 0;
  g->why[0] = 0;
  if (g->removed || g->left || e == NULL || !e->has_tx ||
      !group__may_post(&g->r, g->me_id, g->me_dev))
    return group__fail(g, MOMEDO_E_DENIED, "this device may not post in this group");
  if (!e->has_write)
    return group__fail(g, MOMEDO_E_UNEXPECTED, "the channel's write key has not arrived yet");
  if (len > GROUP_PLAINTEXT_MAX) return MOMEDO_E_TOOBIG;
  if (e->tx_n >= GROUP_CHAIN_MAX - 1)
    return group__fail(g, MOMEDO_E_QUOTA, "sender chain exhausted: rotate");
  size_t wl = len + GROUP_WIRE_OVERHEAD, body = wl - CRYPTO_SIG_LEN - MBOX_WRITE_SIG_LEN;
  uint8_t *w = malloc(wl);
  if (w == NULL) return MOMEDO_E_NOMEM;
  w[0] = GROUP_WIRE_VERSION, w[1] = GROUP_WIRE_TYPE_MESSAGE;
  memcpy(w + SK_PUB_OFF, e->tx.pub, 32);
  be32_put(w + SK_IT_OFF, e->tx_n);
  sk_ad(ad, g->r.group_id, e->epoch, w);
  int rc = group__chain_step(mk, next, e->tx_ck);
  if (rc == 0) rc = sk_expand(kn, mk);
  if (rc == 0)
    rc = crypto_aead_seal(w + GROUP_WIRE_HEADER_LEN, pt, len, ad, sizeof ad, kn + 32, kn);
  if (rc == 0) rc = sk_sigmsg(sm, g->r.group_id, e->epoch, w, body);
  if (rc == 0) rc = crypto_sign(w + body, sm, sizeof sm, &e->tx);
  if (rc == 0) rc = mbox_write_sign(w, wl, e->mailbox, &e->write);
  if (rc == 0) {
    memcpy(e->tx_ck, next, 32);
    e->tx_n++;
    *out = w, *out_len = wl;
  } else {
    free(w);
  }
  crypto_wipe(mk, sizeof mk);
  crypto_wipe(next, sizeof next);
  crypto_wipe(kn, sizeof kn);
  return rc;
}

static struct group_rx *sk_find_rx(struct group_epoch *e, const uint8_t pub[static 32]) {
  for (size_t i = 0; i < e->n_rx; i++)
    if (memcmp(e->rx[i].pub, pub, 32) == 0) return &e->rx[i];
  return NULL;
}

static void sk_drop_front(struct group_rx *rx, uint32_t k) {
  crypto_wipe(rx->sk, k * sizeof *rx->sk);
  memmove(rx->sk, rx->sk + k, (rx->n_sk - k) * sizeof *rx->sk);
  rx->n_sk -= k;
  crypto_wipe(rx->sk + rx->n_sk, k * sizeof *rx->sk);
}

/* Keep the windows bounded: per sender, then per group (from the largest sender). */
static void sk_evict(struct group *g, struct group_rx *rx) {
  if (rx->n_sk > GROUP_SKIPPED_PER_SENDER_MAX)
    sk_drop_front(rx, rx->n_sk - GROUP_SKIPPED_PER_SENDER_MAX);
  size_t total = group__skipped_total(g);
  while (total > GROUP_SKIPPED_MAX) {
    struct group_rx *big = rx;
    for (size_t i = 0; i < g->n_ep; i++)
      for (size_t j = 0; j < g->ep[i].n_rx; j++)
        if (g->ep[i].rx[j].n_sk > big->n_sk) big = &g->ep[i].rx[j];
    uint32_t k = (uint32_t)(total - GROUP_SKIPPED_MAX);
    if (k > big->n_sk) k = big->n_sk;
    sk_drop_front(big, k);
    total -= k;
  }
}

/* A message older than the chain head: only a kept skipped key opens it. */
static int sk_open_skipped(struct group_rx *rx, uint32_t it, const uint8_t *wire, size_t len,
                           const uint8_t gid[static 32], uint64_t epoch, uint8_t *pt) {
  uint32_t j;
  for (j = 0; j < rx->n_sk; j++)
    if (rx->sk[j].it == it) break;
  if (j == rx->n_sk) return MOMEDO_E_EXISTS; /* already read, or its key was evicted */
  int rc = group__msg_open(pt, wire, len, gid, epoch, rx->sk[j].mk);
  if (rc < 0) return rc;
  crypto_wipe(&rx->sk[j], sizeof rx->sk[j]);
  memmove(&rx->sk[j], &rx->sk[j + 1], (rx->n_sk - j - 1) * sizeof *rx->sk);
  rx->n_sk--;
  return 0;
}

/* A message at or after the head: derive keys up to it in the unused tail of rx->sk
 * and commit them only if the message opens. */
static int sk_open_ahead(struct group *g, struct group_rx *rx, uint32_t it, const uint8_t *wire,
                         size_t len, uint64_t epoch, uint8_t *pt) {
  uint32_t gap = it - rx->n;
  uint8_t ck[32], next[32], mk[32];
  if (gap > GROUP_SKIP_GAP_MAX || it >= GROUP_CHAIN_MAX - 1) return MOMEDO_E_BOUNDS;
  if (rx->n_sk + gap > rx->cap_sk) {
    uint32_t c = rx->n_sk + gap;
    struct group_skipped *p = calloc(c, sizeof *p);
    if (p == NULL) return MOMEDO_E_NOMEM;
    if (rx->n_sk) memcpy(p, rx->sk, rx->n_sk * sizeof *p);
    if (rx->sk) crypto_wipe(rx->sk, rx->cap_sk * sizeof *rx->sk);
    free(rx->sk);
    rx->sk = p, rx->cap_sk = c;
  }
  memcpy(ck, rx->ck, 32);
  int rc = 0;
  for (uint32_t k = 0; rc == 0 && k < gap; k++) {
    rx->sk[rx->n_sk + k].it = rx->n + k;
    rc = group__chain_step(rx->sk[rx->n_sk + k].mk, next, ck);
    memcpy(ck, next, 32);
  }
  if (rc == 0) rc = group__chain_step(mk, next, ck);
  if (rc == 0) rc = group__msg_open(pt, wire, len, g->r.group_id, epoch, mk);
  if (rc == 0) {
    rx->n_sk += gap;
    memcpy(rx->ck, next, 32);
    rx->n = it + 1;
    sk_evict(g, rx);
  } else if (gap) {
    crypto_wipe(rx->sk + rx->n_sk, gap * sizeof *rx->sk);
  }
  crypto_wipe(ck, sizeof ck);
  crypto_wipe(next, sizeof next);
  crypto_wipe(mk, sizeof mk);
  return rc;
}

/* Who may have sent into epoch e: a device that the current record lists and lets
 * post, in every kept epoch — so a removed member cannot keep posting into an old
 * epoch's mailbox (its late pre-removal posts are dropped too: conservative). */
static int sk_check_sender(struct group *g, struct group_epoch *e, const uint8_t *wire,
                           size_t len, struct group_rx **out) {
  const uint8_t *pub = wire + SK_PUB_OFF;
  if (e->has_tx && memcmp(pub, e->tx.pub, 32) == 0)
    return group__fail(g, MOMEDO_E_EXISTS, "this device's own message");
  struct group_rx *rx = sk_find_rx(e, pub);
  if (rx == NULL) return group__fail(g, MOMEDO_E_NOTFOUND, "sender key not (yet) received");
  if (!group__may_post(&g->r, rx->id, rx->dev))
    return group__fail(g, MOMEDO_E_DENIED, "sender may not post in this group");
  uint8_t sm[SK_SIGMSG_LEN];
  size_t body = len - CRYPTO_SIG_LEN - MBOX_WRITE_SIG_LEN;
  int rc = sk_sigmsg(sm, g->r.group_id, e->epoch, wire, body);
  if (rc == 0) rc = crypto_verify(wire + body, sm, sizeof sm, rx->pub);
  if (rc < 0) return group__fail(g, MOMEDO_E_BADSIG, "bad sender signature");
  *out = rx;
  return 0;
}

int group_decrypt(struct group *g, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                  const uint8_t *wire, size_t len, uint8_t *pt, size_t cap, size_t *pt_len,
                  struct group_sender *from) {
  struct group_rx *rx = NULL;
  g->why[0] = 0;
  *pt_len = 0;
  if (len < GROUP_WIRE_OVERHEAD) return MOMEDO_E_TRUNCATED;
  if (len > GROUP_WIRE_MAX) return MOMEDO_E_TOOBIG;
  if (wire[0] != GROUP_WIRE_VERSION) return MOMEDO_E_VERSION;
  if (wire[1] != GROUP_WIRE_TYPE_MESSAGE) return MOMEDO_E_UNKNOWN_KIND;
  struct group_epoch *e = group__epoch_by_mailbox(g, mailbox);
  if (e == NULL) return group__fail(g, MOMEDO_E_INVAL, "not a mailbox of this group");
  /* Not written with the epoch's write key: from outside the group, refused for good. */
  if (mbox_write_verify(wire, len, e->mailbox, e->write_pub) < 0)
    return group__fail(g, MOMEDO_E_BADSIG, "not signed with the group's write key");
  int rc = sk_check_sender(g, e, wire, len, &rx);
  if (rc < 0) return rc;
  if (cap < len - GROUP_WIRE_OVERHEAD) return MOMEDO_E_NOSPACE;
  uint32_t it = be32_get(wire + SK_IT_OFF);
  rc = it < rx->n ? sk_open_skipped(rx, it, wire, len, g->r.group_id, e->epoch, pt)
                  : sk_open_ahead(g, rx, it, wire, len, e->epoch, pt);
  if (rc == MOMEDO_E_EXISTS) return group__fail(g, rc, "duplicate message");
  if (rc < 0) return rc;
  *pt_len = len - GROUP_WIRE_OVERHEAD;
  if (from) {
    memcpy(from->identity_key, rx->id, 32);
    memcpy(from->device_key, rx->dev, 32);
    from->epoch = e->epoch, from->iteration = it;
  }
  return 0;
}

/* ---- distribution ---- */

/* Which kept epoch sk is for (by its mailbox), or why none. */
static int sk_epoch_of(struct group *g, const Momedo__SenderKey *sk, struct group_epoch **out) {
  struct group_epoch *e = group__epoch_by_mailbox(g, sk->mailbox.data);
  if (e != NULL && e->epoch == sk->epoch) {
    *out = e;
    return 0;
  }
  if (e != NULL)
    return group__fail(g, MOMEDO_E_BOUNDS, "sender key names a mailbox of another epoch");
  return sk->epoch >= g->r.epoch
             ? group__fail(g, MOMEDO_E_UNEXPECTED, "sender key for an epoch not seen yet")
             : group__fail(g, MOMEDO_E_SUPERSEDED, "sender key for an epoch no longer kept");
}

/* The sender may hold this key: it is a listed device allowed to post, and the key's
 * proof of possession names exactly this member and device. */
static int sk_check_claim(struct group *g, const struct group_epoch *e,
                          const uint8_t from_identity[static 32],
                          const uint8_t from_device[static 32], const Momedo__SenderKey *sk) {
  uint8_t pm[GROUP_SK_PROOF_MSG_LEN];
  long i = group__find(&g->r, from_identity);
  if (i < 0 || !group__has_device(&g->r, (size_t)i, from_device))
    return group__fail(g, MOMEDO_E_DENIED, "sender key from a device that is not a member");
  if (!group__may_post(&g->r, from_identity, from_device))
    return group__fail(g, MOMEDO_E_DENIED, "sender key from a member who may not post");
  group__sk_proof_msg(pm, g->r.group_id, e->epoch, e->mailbox, from_identity, from_device);
  if (crypto_verify(sk->proof.data, pm, sizeof pm, sk->signing_key.data) < 0)
    return group__fail(g, MOMEDO_E_BADSIG, "sender key not bound to the device that sent it");
  return 0;
}

/* Make room for one more receiving chain of from_device in e. */
static int sk_rx_room(struct group *g, struct group_epoch *e,
                      const uint8_t from_device[static 32]) {
  size_t same = 0, first = e->n_rx;
  for (size_t k = 0; k < e->n_rx; k++)
    if (memcmp(e->rx[k].dev, from_device, 32) == 0 && same++ == 0) first = k;
  if (same >= GROUP_SENDERS_PER_DEVICE_MAX) { /* the device restarted its key: drop the oldest */
    group__rx_wipe(&e->rx[first]);
    memmove(&e->rx[first], &e->rx[first + 1], (e->n_rx - first - 1) * sizeof *e->rx);
    e->n_rx--;
  } else if (e->n_rx >= GROUP_DEVICES_MAX * GROUP_SENDERS_PER_DEVICE_MAX) {
    return group__fail(g, MOMEDO_E_QUOTA, "too many sender keys");
  }
  if (e->n_rx == e->cap_rx) {
    size_t c = e->cap_rx ? 2 * e->cap_rx : 8;
    void *p = realloc(e->rx, c * sizeof *e->rx);
    if (p == NULL) return MOMEDO_E_NOMEM;
    e->rx = p, e->cap_rx = c;
  }
  return 0;
}

/* A channel's write key seed, from an admin to an admin: it must be the epoch's. */
static int sk_take_write_seed(struct group *g, struct group_epoch *e,
                              const uint8_t from_identity[static 32], const Momedo__SenderKey *sk) {
  struct crypto_sign_keypair kp;
  if (sk->write_seed.len == 0 || e->has_write ||
      g->r.mode != MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL || !group__is_admin(&g->r, g->me_id) ||
      !group__is_admin(&g->r, from_identity))
    return 0;
  int rc = crypto_sign_from_seed(&kp, sk->write_seed.data);
  if (rc == 0 && memcmp(kp.pub, e->write_pub, 32) != 0)
    rc = group__fail(g, MOMEDO_E_BADSIG, "a write key that is not the channel's");
  if (rc == 0) e->write = kp, e->has_write = 1;
  crypto_wipe(&kp, sizeof kp);
  return rc;
}

int group_senderkey_accept(struct group *g, const uint8_t from_identity[static 32],
                           const uint8_t from_device[static 32], const Momedo__SenderKey *sk) {
  Momedo__GroupControl gc;
  struct group_epoch *e = NULL;
  momedo__group_control__init(&gc);
  g->why[0] = 0;
  gc.body_case = MOMEDO__GROUP_CONTROL__BODY_SENDER_KEY;
  gc.sender_key = (Momedo__SenderKey *)sk;
  if (group_control_validate(&gc) < 0) return MOMEDO_E_BOUNDS;
  if (memcmp(sk->group_id.data, g->r.group_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "sender key of another group");
  if (g->removed) return group__fail(g, MOMEDO_E_DENIED, "this device is not a member");
  int rc = sk_epoch_of(g, sk, &e);
  if (rc == 0) rc = sk_check_claim(g, e, from_identity, from_device, sk);
  if (rc < 0) return rc;
  if (memcmp(from_device, g->me_dev, 32) == 0)
    return group__fail(g, MOMEDO_E_EXISTS, "this device's own sender key");
  /* Chains are keyed by (device, key); a key is one device's only. */
  struct group_rx *known = sk_find_rx(e, sk->signing_key.data);
  if (known != NULL)
    return memcmp(known->dev, from_device, 32) == 0
               ? group__fail(g, MOMEDO_E_EXISTS, "sender key already known")
               : group__fail(g, MOMEDO_E_DENIED, "sender key already held by another device");
  if ((rc = sk_take_write_seed(g, e, from_identity, sk)) < 0) return rc;
  if ((rc = sk_rx_room(g, e, from_device)) < 0) return rc;
  struct group_rx *rx = &e->rx[e->n_rx++];
  memset(rx, 0, sizeof *rx);
  memcpy(rx->id, from_identity, 32);
  memcpy(rx->dev, from_device, 32);
  memcpy(rx->pub, sk->signing_key.data, 32);
  memcpy(rx->ck, sk->chain_key.data, 32);
  rx->n = sk->iteration;
  return 0;
}

static long sk_sent_find(const struct group *g, const uint8_t dev[static 32], size_t *pos) {
  size_t lo = 0, hi = g->n_sent;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(g->sent[mid], dev, 32);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *pos = lo;
  return -1;
}

int group_senderkey_mark_sent(struct group *g, const uint8_t device_key[static 32]) {
  size_t pos = 0;
  if (sk_sent_find(g, device_key, &pos) >= 0) return 0;
  if (g->n_sent >= GROUP_DEVICES_MAX) return MOMEDO_E_QUOTA;
  if (g->n_sent == g->cap_sent) {
    size_t c = g->cap_sent ? 2 * g->cap_sent : 16;
    void *p = realloc(g->sent, c * 32);
    if (p == NULL) return MOMEDO_E_NOMEM;
    g->sent = p, g->cap_sent = c;
  }
  memmove(g->sent[pos + 1], g->sent[pos], (g->n_sent - pos) * 32);
  memcpy(g->sent[pos], device_key, 32);
  g->n_sent++;
  return 0;
}

int group_senderkey_targets(const struct group *g, struct group_device **out, size_t *n) {
  const struct group_epoch *e = g->n_ep ? &g->ep[g->n_ep - 1] : NULL;
  *out = NULL, *n = 0;
  if (g->removed || g->left || e == NULL || !e->has_tx ||
      !group__may_post(&g->r, g->me_id, g->me_dev))
    return 0;
  struct group_device *t = malloc((g->r.ndev ? g->r.ndev : 1) * sizeof *t);
  if (t == NULL) return MOMEDO_E_NOMEM;
  size_t k = 0, pos;
  for (size_t i = 0; i < g->r.n; i++)
    for (uint32_t d = 0; d < g->r.m[i].ndev; d++) {
      const uint8_t *dev = g->r.dev[g->r.m[i].dev0 + d];
      if (memcmp(dev, g->me_dev, 32) == 0 || sk_sent_find(g, dev, &pos) >= 0) continue;
      memcpy(t[k].identity_key, g->r.m[i].id, 32);
      memcpy(t[k++].device_key, dev, 32);
    }
  *out = t, *n = k;
  return 0;
}

/* ---- post and receive helpers ---- */

int group_post_prepare(struct group *g, const Momedo__Content *c, uint64_t ttl_ms,
                       struct group_post *p) {
  uint8_t *pt = NULL;
  size_t pl = 0;
  memset(p, 0, sizeof *p);
  if (c->sender_device.len != 32 || memcmp(c->sender_device.data, g->me_dev, 32) != 0 ||
      c->sync_copy || ttl_ms > OBJ_TTL_MS_MAX)
    return group__fail(g, MOMEDO_E_INVAL, "content must name this device, no sync copy");
  int rc = content_encode(c, &pt, &pl);
  if (rc == 0) rc = group_encrypt(g, pt, pl, &p->wire, &p->wire_len);
  if (pt) crypto_wipe(pt, pl);
  free(pt);
  if (rc < 0) return rc;
  const struct group_epoch *e = &g->ep[g->n_ep - 1];
  memcpy(p->mailbox, e->mailbox, OBJ_MAILBOX_LEN);
  memcpy(p->write_key, e->write_pub, 32);
  memcpy(p->write_tag, e->write_tag, 32);
  p->req.mailbox = p->mailbox;
  p->req.write_key = p->write_key;
  p->req.write_tag = p->write_tag;
  p->req.ciphertext = p->wire;
  p->req.ciphertext_len = p->wire_len;
  p->req.ttl_ms = ttl_ms ? ttl_ms : GROUP_TTL_MS_DEFAULT;
  return 0;
}

void group_post_clear(struct group_post *p) {
  free(p->wire);
  memset(p, 0, sizeof *p);
}

int group_receive(struct group *g, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                  const uint8_t *wire, size_t len, struct arena *a, Momedo__Content **c,
                  struct group_sender *from) {
  struct group_sender tmp;
  size_t pl = 0;
  *c = NULL;
  if (from == NULL) from = &tmp;
  if (len < GROUP_WIRE_OVERHEAD) return MOMEDO_E_TRUNCATED;
  if (len > GROUP_WIRE_MAX) return MOMEDO_E_TOOBIG;
  uint8_t *pt = malloc(len - GROUP_WIRE_OVERHEAD + 1);
  if (pt == NULL) return MOMEDO_E_NOMEM;
  int rc = group_decrypt(g, mailbox, wire, len, pt, len - GROUP_WIRE_OVERHEAD, &pl, from);
  if (rc == 0) rc = content_decode(pt, pl, a, c);
  if (rc == 0 && ((*c)->sender_device.len != 32 ||
                  memcmp((*c)->sender_device.data, from->device_key, 32) != 0 ||
                  (*c)->sync_copy || (*c)->body_case == MOMEDO__CONTENT__BODY_GROUP)) {
    *c = NULL;
    rc = group__fail(g, MOMEDO_E_BOUNDS, "content does not match its sender key");
  }
  crypto_wipe(pt, len - GROUP_WIRE_OVERHEAD + 1);
  free(pt);
  return rc;
}
