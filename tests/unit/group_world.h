/* tests/unit/group_world.h — the in-process group fixture shared by the group unit
 * tests: users with one or two devices, a group created by W[0] and joined by every
 * device, sender-key distribution as the pairwise channel would do it, posting and
 * receiving a text, state snapshots and "refused without a trace" checks. Header-only
 * (static helpers); include after harness.h. */
#ifndef MOMEDO_TEST_GROUP_WORLD_H
#define MOMEDO_TEST_GROUP_WORLD_H

#include "group_int.h"

#define GW_FN static __attribute__((unused))

#define NOW 1700000000000ull
#define CLASS_N 30
#define DEV_MAX 2

struct user {
  struct crypto_sign_keypair id;
  struct crypto_sign_keypair dev[DEV_MAX];
  uint8_t devpub[DEV_MAX][32];
  int ndev;
  struct group *g[DEV_MAX];
};

GW_FN struct user W[CLASS_N + 4];
GW_FN size_t W_n;

GW_FN void world_free(void) {
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++) group_free(W[i].g[k]);
  memset(W, 0, sizeof W);
  W_n = 0;
}

GW_FN int world_users(size_t n, int two_dev_every) {
  world_free();
  for (size_t i = 0; i < n; i++) {
    struct user *u = &W[i];
    u->ndev = two_dev_every && i % (size_t)two_dev_every == 1 ? 2 : 1;
    if (crypto_sign_keygen(&u->id)) return -1;
    for (int k = 0; k < u->ndev; k++) {
      if (crypto_sign_keygen(&u->dev[k])) return -1;
      memcpy(u->devpub[k], u->dev[k].pub, 32);
    }
  }
  W_n = n;
  return 0;
}

GW_FN struct group_member_spec spec_of(size_t i, Momedo__GroupRole role) {
  struct group_member_spec s = {W[i].id.pub, role, (const uint8_t(*)[32])W[i].devpub,
                                (size_t)W[i].ndev};
  return s;
}

/* GroupChain bytes of n records (malloc'ed). */
GW_FN uint8_t *chain_of(const uint8_t *const *recs, const size_t *lens, size_t n, size_t *len) {
  Momedo__GroupChain c = MOMEDO__GROUP_CHAIN__INIT;
  ProtobufCBinaryData v[16];
  if (n > 16) return NULL;
  for (size_t i = 0; i < n; i++) v[i] = (ProtobufCBinaryData){lens[i], (uint8_t *)recs[i]};
  c.n_records = n, c.records = v;
  *len = momedo__group_chain__get_packed_size(&c);
  uint8_t *out = malloc(*len);
  if (out) momedo__group_chain__pack(&c, out);
  return out;
}

/* What a patched client makes: the next version of g's head with `add` added, signed
 * by kp whatever g's core would allow (same epoch, salt and write key). */
GW_FN int forge_next(const struct group *g, const struct crypto_sign_keypair *kp,
                     const struct group_member_spec *add, uint8_t **out, size_t *ol) {
  struct group_roster R;
  int rc = group__roster_copy(&R, &g->r);
  if (rc == 0 && add)
    rc = group__roster_append(&R, add->identity_key, add->role, add->devices, add->n_devices);
  if (rc == 0) rc = group__roster_normalize(&R);
  R.version = g->r.version + 1, R.has_prev = 1;
  memcpy(R.prev, g->r.hash, 32);
  R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ADD, R.created_ms = NOW;
  memcpy(R.signer, kp->pub, 32);
  if (rc == 0) rc = group__roster_sign(&R, kp, out, ol);
  group__roster_clear(&R);
  return rc;
}

/* (i, k) joins from src's whole chain, sent by from's user. */
GW_FN int join_from(size_t i, int k, const struct group *src, size_t from) {
  uint8_t *chain = NULL;
  size_t len = 0;
  int rc = group_chain(src, 0, &chain, &len);
  if (rc == 0)
    rc = group_join(&W[i].g[k], W[i].id.pub, W[i].devpub[k], W[from].id.pub, chain, len, NOW);
  free(chain);
  return rc;
}

/* W[0] creates with everyone else; every device of the others joins from the chain. */
GW_FN int world_group(Momedo__GroupMode mode) {
  struct group_member_spec self = spec_of(0, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
  struct group_member_spec ms[CLASS_N + 4];
  uint8_t *rec = NULL;
  size_t len = 0;
  for (size_t i = 1; i < W_n; i++) ms[i - 1] = spec_of(i, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER);
  int rc = group_create(&W[0].g[0], &W[0].id, W[0].devpub[0], mode, "Klasse 7b", &self, ms,
                        W_n - 1, NOW, &rec, &len);
  for (size_t i = 0; rc == 0 && i < W_n; i++)
    for (int k = 0; rc == 0 && k < W[i].ndev; k++)
      if (W[i].g[k] == NULL) rc = join_from(i, k, W[0].g[0], 0);
  free(rec);
  return rc;
}

GW_FN int find_dev(const uint8_t dev[32], size_t *ui, int *dk) {
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; k < W[i].ndev; k++)
      if (memcmp(W[i].devpub[k], dev, 32) == 0) return *ui = i, *dk = k, 0;
  return -1;
}

/* (i, k)'s sender key contents (for members; for admins, with a channel's write key)
 * and targets, made now, delivered by sk_deliver. */
struct sk_out {
  uint8_t *ct, *ct_admin;
  size_t cl, cl_admin, n;
  struct group_device *t;
};

GW_FN int sk_prepare(size_t i, int k, struct sk_out *o) {
  memset(o, 0, sizeof *o);
  int rc = group_senderkey_targets(W[i].g[k], &o->t, &o->n);
  if (rc == 0 && o->n) rc = group_senderkey_content(W[i].g[k], NULL, NOW, &o->ct, &o->cl);
  for (size_t j = 0; rc == 0 && j < o->n && o->ct_admin == NULL; j++)
    if (group__is_admin(&W[i].g[k]->r, o->t[j].identity_key))
      rc = group_senderkey_content(W[i].g[k], o->t[j].identity_key, NOW, &o->ct_admin,
                                   &o->cl_admin);
  return rc;
}

GW_FN void sk_free(struct sk_out *o) {
  free(o->ct);
  free(o->ct_admin);
  free(o->t);
  memset(o, 0, sizeof *o);
}

/* Deliver o to the targets whose user index is in [lo, hi), as the pairwise channel
 * would: decode, accept from (i, k), and mark sent at the sender. */
GW_FN int sk_deliver(size_t i, int k, const struct sk_out *o, size_t lo, size_t hi,
                      size_t *sent) {
  size_t ui;
  int dk, rc = 0;
  for (size_t j = 0; rc == 0 && j < o->n; j++) {
    struct arena a;
    Momedo__Content *c = NULL;
    if (find_dev(o->t[j].device_key, &ui, &dk) < 0) return -1;
    if (ui < lo || ui >= hi) continue;
    if (memcmp(o->t[j].identity_key, W[ui].id.pub, 32) != 0) return -2;
    arena_init(&a, CONTENT_DECODE_BYTES_MAX);
    int adm = o->ct_admin && group__is_admin(&W[i].g[k]->r, o->t[j].identity_key);
    rc = group_content_decode(adm ? o->ct_admin : o->ct, adm ? o->cl_admin : o->cl, &a, &c);
    if (rc == 0 && c->body_case != MOMEDO__CONTENT__BODY_GROUP) rc = -3;
    if (rc == 0)
      rc = group_senderkey_accept(W[ui].g[dk], W[i].id.pub, W[i].devpub[k], c->group->sender_key);
    if (rc == 0) rc = group_senderkey_mark_sent(W[i].g[k], o->t[j].device_key);
    if (rc == 0 && sent) (*sent)++;
    arena_close(&a);
  }
  return rc;
}

/* Send (i, k)'s sender key to its targets whose user index is in [lo, hi). */
GW_FN int distribute(size_t i, int k, size_t lo, size_t hi, size_t *sent) {
  struct sk_out o;
  int rc = sk_prepare(i, k, &o);
  if (rc == 0) rc = sk_deliver(i, k, &o, lo, hi, sent);
  sk_free(&o);
  return rc;
}

GW_FN int post_text(struct group *g, const uint8_t dev[32], const char *text,
                     struct group_post *p) {
  Momedo__Content c = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  uint8_t id[CONTENT_ID_LEN];
  if (content_new_id(id)) return -1;
  t.text = (char *)text;
  c.format = CONTENT_FORMAT;
  c.message_id = (ProtobufCBinaryData){sizeof id, id};
  c.sent_ms = NOW;
  c.sender_device = (ProtobufCBinaryData){32, (uint8_t *)dev};
  c.body_case = MOMEDO__CONTENT__BODY_TEXT;
  c.text = &t;
  return group_post_prepare(g, &c, 0, p);
}

/* Receive p at g; 0 and the text matches, or the error. */
GW_FN int recv_text(struct group *g, const struct group_post *p, const char *want,
                     const uint8_t *want_id) {
  struct arena a;
  Momedo__Content *c = NULL;
  struct group_sender from;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  int rc = group_receive(g, p->mailbox, p->wire, p->wire_len, &a, &c, &from);
  if (rc == 0 && (c->body_case != MOMEDO__CONTENT__BODY_TEXT || strcmp(c->text->text, want) != 0))
    rc = -10;
  if (rc == 0 && want_id && memcmp(from.identity_key, want_id, 32) != 0) rc = -11;
  arena_close(&a);
  return rc;
}

/* 1 if g's saved bytes equal *before (which is freed). */
GW_FN int same_state(const struct group *g, uint8_t *before, size_t blen) {
  uint8_t *after = NULL;
  size_t alen = 0;
  int same = group_save(g, &after, &alen) == 0 && alen == blen && memcmp(after, before, blen) == 0;
  free(after);
  free(before);
  return same;
}

GW_FN uint8_t *snap(const struct group *g, size_t *n) {
  uint8_t *b = NULL;
  if (group_save(g, &b, n)) return NULL;
  return b;
}

/* Apply rec at g and expect rc with g's state unchanged and a reason given. */
GW_FN int refused(struct group *g, const uint8_t *rec, size_t len, uint64_t now, int want) {
  size_t bl;
  uint8_t *b = snap(g, &bl);
  if (b == NULL) return -1;
  int rc = group_record_apply(g, rec, len, now, NULL);
  int ok = rc == want && same_state(g, b, bl) && group_reason(g)[0] != 0;
  if (!ok) fprintf(stderr, "refused: got %s want %s (%s)\n", momedo_status_name(rc),
                   momedo_status_name(want), group_reason(g));
  return ok;
}

GW_FN int repack_record(const uint8_t *rec, size_t len, int what, uint8_t **out, size_t *ol) {
  Momedo__GroupRecord *r = momedo__group_record__unpack(NULL, len, rec);
  if (r == NULL) return -1;
  char *name = r->name;
  size_t sl = r->signature.len;
  if (what == 0) r->signature.len = 0;         /* unsigned */
  if (what == 1) r->name = (char *)"renamed";   /* body changed, old signature */
  *ol = momedo__group_record__get_packed_size(r);
  *out = malloc(*ol);
  momedo__group_record__pack(r, *out);
  r->name = name, r->signature.len = sl;
  momedo__group_record__free_unpacked(r, NULL);
  return 0;
}

/* Apply rec at every device of every user but `skip`; ai from the first. */
GW_FN int apply_all(const uint8_t *rec, size_t len, size_t skip, struct group_apply_info *ai) {
  int first = 1;
  for (size_t i = 0; i < W_n; i++)
    for (int k = 0; i != skip && k < W[i].ndev; k++) {
      struct group_apply_info tmp;
      int rc = group_record_apply(W[i].g[k], rec, len, NOW, first ? ai : &tmp);
      if (rc < 0) return rc;
      first = 0;
    }
  return 0;
}

#endif
