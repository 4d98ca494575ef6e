/* client/core/group_request.c — what a member asks of the group's admins: to leave, or to
 * set its own devices. The member signs a GroupRequest with its identity key and sends
 * it to every admin device over the pairwise sessions; an admin's client checks it and
 * makes the change as a record of its own (members never sign records). No I/O, no
 * clock. */
#include <stdlib.h>
#include <string.h>

#include "group_int.h"

#define REQ_DOMAIN_LEN (sizeof GROUP_DOMAIN_REQUEST - 1)

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

/* The bytes of q without its signature (sig NULL) or with it. */
static int request_pack(Momedo__GroupRequest *q, const uint8_t *sig, uint8_t **out,
                        size_t *out_len) {
  q->signature = sig ? (ProtobufCBinaryData){CRYPTO_SIG_LEN, (uint8_t *)sig}
                     : (ProtobufCBinaryData){0, NULL};
  size_t n = momedo__group_request__get_packed_size(q);
  if (n > GROUP_REQUEST_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if ((*out = malloc(n)) == NULL) return MOMEDO_E_NOMEM;
  *out_len = momedo__group_request__pack(q, *out);
  return 0;
}

static int request_sigmsg(const uint8_t *u, size_t ul, uint8_t **msg) {
  if ((*msg = malloc(REQ_DOMAIN_LEN + ul)) == NULL) return MOMEDO_E_NOMEM;
  memcpy(*msg, GROUP_DOMAIN_REQUEST, REQ_DOMAIN_LEN);
  memcpy(*msg + REQ_DOMAIN_LEN, u, ul);
  return 0;
}

static int request_make(struct group *g, const struct crypto_sign_keypair *identity, int kind,
                        const uint8_t (*devices)[32], size_t n, uint64_t now_ms, uint8_t **req,
                        size_t *len) {
  Momedo__GroupRequest q = MOMEDO__GROUP_REQUEST__INIT;
  ProtobufCBinaryData d[GROUP_MEMBER_DEVICES_MAX];
  uint8_t sorted[GROUP_MEMBER_DEVICES_MAX][32], sig[CRYPTO_SIG_LEN], *u = NULL, *msg = NULL;
  size_t ul = 0;
  *req = NULL, *len = 0;
  g->why[0] = 0;
  if (memcmp(identity->pub, g->me_id, 32) != 0 || now_ms == 0 || n > GROUP_MEMBER_DEVICES_MAX)
    return MOMEDO_E_INVAL;
  if (g->removed) return group__fail(g, MOMEDO_E_DENIED, "this device is not a member");
  if (n) memcpy(sorted, devices, n * 32);
  qsort(sorted, n, 32, cmp32);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && memcmp(sorted[i - 1], sorted[i], 32) == 0) return MOMEDO_E_INVAL;
    d[i] = (ProtobufCBinaryData){32, sorted[i]};
  }
  q.format = GROUP_REQUEST_FORMAT;
  q.group_id = (ProtobufCBinaryData){32, g->r.group_id};
  q.kind = kind;
  q.n_devices = n, q.devices = d;
  q.created_ms = now_ms;
  q.signer = (ProtobufCBinaryData){32, (uint8_t *)identity->pub};
  int rc = request_pack(&q, NULL, &u, &ul);
  if (rc == 0) rc = request_sigmsg(u, ul, &msg);
  if (rc == 0) rc = crypto_sign(sig, msg, REQ_DOMAIN_LEN + ul, identity);
  if (rc == 0) rc = request_pack(&q, sig, req, len);
  free(u);
  free(msg);
  return rc;
}

int group_request_leave(struct group *g, const struct crypto_sign_keypair *identity,
                        uint64_t now_ms, uint8_t **req, size_t *len) {
  int rc = request_make(g, identity, MOMEDO__GROUP_REQUEST_KIND__GROUP_REQUEST_LEAVE, NULL, 0,
                        now_ms, req, len);
  if (rc < 0) return rc;
  /* Gone for this user from now on: it posts nothing, hands out no key. */
  g->left = 1;
  if (g->n_ep) {
    struct group_epoch *e = &g->ep[g->n_ep - 1];
    crypto_wipe(&e->tx, sizeof e->tx);
    crypto_wipe(e->tx_ck, sizeof e->tx_ck);
    e->has_tx = 0;
  }
  return 0;
}

int group_request_devices(struct group *g, const struct crypto_sign_keypair *identity,
                          const uint8_t (*devices)[32], size_t n, uint64_t now_ms, uint8_t **req,
                          size_t *len) {
  if (n == 0 || devices == NULL) return MOMEDO_E_INVAL;
  return request_make(g, identity, MOMEDO__GROUP_REQUEST_KIND__GROUP_REQUEST_DEVICES, devices, n,
                      now_ms, req, len);
}

/* Shape, bounds and canonical encoding of a decoded request. */
static int request_shape(const Momedo__GroupRequest *q, const uint8_t *req, size_t len) {
  if (q->format != GROUP_REQUEST_FORMAT) return MOMEDO_E_VERSION;
  if (q->group_id.len != 32 || q->signer.len != 32 || q->signature.len != CRYPTO_SIG_LEN ||
      q->created_ms == 0)
    return MOMEDO_E_BOUNDS;
  int leave = q->kind == MOMEDO__GROUP_REQUEST_KIND__GROUP_REQUEST_LEAVE;
  if (!leave && q->kind != MOMEDO__GROUP_REQUEST_KIND__GROUP_REQUEST_DEVICES)
    return MOMEDO_E_BOUNDS;
  if (leave ? q->n_devices != 0 : q->n_devices == 0 || q->n_devices > GROUP_MEMBER_DEVICES_MAX)
    return MOMEDO_E_BOUNDS;
  for (size_t i = 0; i < q->n_devices; i++)
    if (q->devices[i].len != 32 ||
        (i > 0 && memcmp(q->devices[i - 1].data, q->devices[i].data, 32) >= 0))
      return MOMEDO_E_BOUNDS;
  if (momedo__group_request__get_packed_size(q) != len) return MOMEDO_E_NONCANON;
  uint8_t *again = malloc(len);
  if (again == NULL) return MOMEDO_E_NOMEM;
  momedo__group_request__pack(q, again);
  int same = memcmp(again, req, len) == 0;
  free(again);
  return same ? 0 : MOMEDO_E_NONCANON;
}

static int request_verify(Momedo__GroupRequest *q) {
  uint8_t *u = NULL, *msg = NULL, sig[CRYPTO_SIG_LEN];
  size_t ul = 0;
  memcpy(sig, q->signature.data, CRYPTO_SIG_LEN);
  int rc = request_pack(q, NULL, &u, &ul);
  if (rc == 0) rc = request_sigmsg(u, ul, &msg);
  if (rc == 0) rc = crypto_verify(sig, msg, REQ_DOMAIN_LEN + ul, q->signer.data);
  free(u);
  free(msg);
  return rc;
}

/* Who asks, for what; checked against the head. */
static int request_check(struct group *g, Momedo__GroupRequest *q, const uint8_t *req, size_t len,
                         const uint8_t from_identity[static 32], uint64_t now_ms) {
  int rc = request_shape(q, req, len);
  if (rc < 0) return group__fail(g, rc, "request refused: %s", momedo_strerror(rc));
  if (memcmp(q->group_id.data, g->r.group_id, 32) != 0)
    return group__fail(g, MOMEDO_E_INVAL, "request for another group");
  if (memcmp(q->signer.data, from_identity, 32) != 0)
    return group__fail(g, MOMEDO_E_DENIED, "request signed by someone else than its sender");
  if (q->created_ms > now_ms + GROUP_CLOCK_SKEW_MS_MAX)
    return group__fail(g, MOMEDO_E_FUTURE, "request from the future");
  if (q->created_ms + GROUP_REQUEST_TTL_MS < now_ms)
    return group__fail(g, MOMEDO_E_EXPIRED, "request older than %llu days",
                       (unsigned long long)(GROUP_REQUEST_TTL_MS / (24ull * 3600 * 1000)));
  if ((rc = request_verify(q)) < 0) return group__fail(g, rc, "request with a bad signature");
  return 0;
}

static int request_do(struct group *g, const struct crypto_sign_keypair *identity,
                      const Momedo__GroupRequest *q, uint64_t now_ms, uint8_t **rec,
                      size_t *rec_len) {
  uint8_t devs[GROUP_MEMBER_DEVICES_MAX][32];
  long i = group__find(&g->r, q->signer.data);
  if (q->kind == MOMEDO__GROUP_REQUEST_KIND__GROUP_REQUEST_LEAVE)
    return i < 0 ? group__fail(g, MOMEDO_E_EXISTS, "the member has left already")
                 : group__remove_as(g, identity, (const uint8_t(*)[32])q->signer.data, 1,
                                    MOMEDO__GROUP_CHANGE__GROUP_CHANGE_LEAVE, now_ms, rec, rec_len);
  if (i < 0) return group__fail(g, MOMEDO_E_NOTFOUND, "not a member");
  for (size_t k = 0; k < q->n_devices; k++) memcpy(devs[k], q->devices[k].data, 32);
  if (g->r.m[i].ndev == q->n_devices &&
      memcmp(g->r.dev[g->r.m[i].dev0], devs, q->n_devices * 32) == 0)
    return group__fail(g, MOMEDO_E_EXISTS, "the member has these devices already");
  struct group_member_spec s = {q->signer.data, (Momedo__GroupRole)g->r.m[i].role,
                                (const uint8_t(*)[32])devs, q->n_devices};
  return group_set_devices(g, identity, &s, now_ms, rec, rec_len);
}

int group_request_apply(struct group *g, const struct crypto_sign_keypair *identity,
                        const uint8_t from_identity[static 32], const uint8_t *req, size_t len,
                        uint64_t now_ms, uint8_t **rec, size_t *rec_len) {
  struct arena a;
  *rec = NULL, *rec_len = 0;
  g->why[0] = 0;
  if (len > GROUP_REQUEST_BYTES_MAX) return MOMEDO_E_TOOBIG;
  arena_init(&a, 4 * GROUP_REQUEST_BYTES_MAX);
  Momedo__GroupRequest *q = momedo__group_request__unpack(&a.pb, len, req);
  int rc = q == NULL ? (a.failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE)
                     : request_check(g, q, req, len, from_identity, now_ms);
  if (rc == 0) rc = request_do(g, identity, q, now_ms, rec, rec_len);
  arena_close(&a);
  return rc;
}

int group_admin_devices(const struct group *g, struct group_device **out, size_t *n) {
  size_t k = 0;
  *out = NULL, *n = 0;
  struct group_device *t = malloc((g->r.ndev ? g->r.ndev : 1) * sizeof *t);
  if (t == NULL) return MOMEDO_E_NOMEM;
  for (size_t i = 0; i < g->r.n; i++) {
    if (g->r.m[i].role != MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN) continue;
    for (uint32_t d = 0; d < g->r.m[i].ndev; d++) {
      const uint8_t *dev = g->r.dev[g->r.m[i].dev0 + d];
      if (memcmp(dev, g->me_dev, 32) == 0) continue;
      memcpy(t[k].identity_key, g->r.m[i].id, 32);
      memcpy(t[k++].device_key, dev, 32);
    }
  }
  *out = t, *n = k;
  return 0;
}

int group_request_peek(const uint8_t *req, size_t len, uint8_t group_id[static 32]) {
  struct arena a;
  if (len > GROUP_REQUEST_BYTES_MAX) return MOMEDO_E_TOOBIG;
  arena_init(&a, 4 * GROUP_REQUEST_BYTES_MAX);
  Momedo__GroupRequest *q = momedo__group_request__unpack(&a.pb, len, req);
  int rc = q == NULL ? (a.failed ? MOMEDO_E_TOOBIG : MOMEDO_E_DECODE)
                     : q->group_id.len == 32 ? 0 : MOMEDO_E_BOUNDS;
  if (rc == 0) memcpy(group_id, q->group_id.data, 32);
  arena_close(&a);
  return rc;
}
