/* fuzz_group — everything in the group core that bytes from outside reach:
 * group_record_peek / group_record_apply / group_chain_apply / group_join (records and
 * chains), group_content_decode + group_senderkey_accept (pairwise control messages),
 * group_request_peek / group_request_apply (a member's request, at an admin),
 * group_decrypt (group items), mbox_write_check (a node's check of a post), group_load
 * (a stored state) and channel_open. Input: [u8 selector][bytes]. A fixed group (an
 * admin and a member, sender key installed) is built once. Invariants: nothing but 0
 * or a known negative code; a refused record, request, key or item leaves the state
 * byte-identical; an accepted item is a duplicate the second time.
 * MOMEDO_FUZZ_SEED_DIR=DIR writes one seed per selector there and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "group_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1700000000000ull

static struct crypto_sign_keypair fz_admin, fz_admin_dev, fz_member, fz_member_dev;
static uint8_t *fz_member_state, *fz_admin_state; /* saved states every run starts from */
static size_t fz_member_len, fz_admin_len;
static struct channel_keys fz_channel;
static uint8_t fz_mailbox[32], fz_write_key[32], fz_write_tag[32];

static void fz_seed(struct crypto_sign_keypair *kp, uint8_t b) {
  uint8_t seed[32];
  memset(seed, b, 32);
  if (crypto_sign_from_seed(kp, seed)) abort();
}

static void fz_write(const char *dir, const char *name, uint8_t sel, const uint8_t *d, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(&sel, 1, 1, f) != 1 || fwrite(d, 1, n, f) != n) abort();
  fclose(f);
}

/* One valid input per selector, for the corpus. */
static void fz_seeds(const char *dir, struct group *a, struct group *m, const uint8_t *chain,
                     size_t cl, const uint8_t *skc, size_t skl) {
  uint8_t *rec = NULL, *req = NULL, *wire = NULL, *seg = NULL;
  size_t rl = 0, ql = 0, wl = 0, sl = 0;
  static const uint8_t pt[] = "fuzz";
  if (group_encrypt(a, pt, sizeof pt, &wire, &wl)) abort(); /* the member holds this key */
  if (group_rotate(a, &fz_admin, FZ_NOW, &rec, &rl)) abort();
  if (group_chain(a, 1, &seg, &sl)) abort();
  if (group_request_leave(m, &fz_member, FZ_NOW, &req, &ql)) abort();
  fz_write(dir, "record_v2", 0, rec, rl);
  fz_write(dir, "join_chain", 1, chain, cl);
  fz_write(dir, "control_senderkey", 2, skc, skl);
  fz_write(dir, "item", 3, wire, wl);
  fz_write(dir, "state", 4, fz_member_state, fz_member_len);
  fz_write(dir, "chain_segment", 6, seg, sl);
  fz_write(dir, "request_leave", 7, req, ql);
  free(rec), free(req), free(wire), free(seg);
  exit(0);
}

static void fz_init(void) {
  struct group *a = NULL, *m = NULL;
  uint8_t *rec = NULL, *ct = NULL, *chain = NULL;
  size_t rl = 0, cl = 0, chl = 0;
  struct arena ar;
  Momedo__Content *c = NULL;
  fz_seed(&fz_admin, 1), fz_seed(&fz_admin_dev, 2), fz_seed(&fz_member, 3);
  fz_seed(&fz_member_dev, 4);
  struct group_member_spec self = {fz_admin.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN,
                                   (const uint8_t(*)[32])fz_admin_dev.pub, 1};
  struct group_member_spec mem = {fz_member.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER,
                                  (const uint8_t(*)[32])fz_member_dev.pub, 1};
  if (group_create(&a, &fz_admin, fz_admin_dev.pub, MOMEDO__GROUP_MODE__GROUP_MODE_GROUP, "fz",
                   &self, &mem, 1, FZ_NOW, &rec, &rl))
    abort();
  if (group_chain(a, 0, &chain, &chl)) abort();
  if (group_join(&m, fz_member.pub, fz_member_dev.pub, fz_admin.pub, chain, chl, FZ_NOW)) abort();
  if (group_senderkey_content(a, NULL, FZ_NOW, &ct, &cl)) abort();
  arena_init(&ar, CONTENT_DECODE_BYTES_MAX);
  if (group_content_decode(ct, cl, &ar, &c)) abort();
  if (group_senderkey_accept(m, fz_admin.pub, fz_admin_dev.pub, c->group->sender_key)) abort();
  arena_close(&ar);
  struct group_info gi;
  group_get_info(m, &gi);
  memcpy(fz_mailbox, gi.mailbox, 32);
  if (group_mailbox_write(m, fz_mailbox, fz_write_key, fz_write_tag)) abort();
  if (group_save(m, &fz_member_state, &fz_member_len)) abort();
  if (group_save(a, &fz_admin_state, &fz_admin_len)) abort();
  if (channel_derive(&fz_channel, "fuzz", "fuzz", 4, 1, 1)) abort();
  const char *dir = getenv("MOMEDO_FUZZ_SEED_DIR");
  if (dir) fz_seeds(dir, a, m, chain, chl, ct, cl);
  free(rec);
  free(ct);
  free(chain);
  group_free(a);
  group_free(m);
}

static void fz_rc(int rc) {
  if (rc > 0 || rc == MOMEDO_E_INTERNAL || rc == MOMEDO_E_NOSPACE) abort();
}

static void fz_same(const struct group *g, int rc, const uint8_t *want, size_t want_len) {
  uint8_t *now = NULL;
  size_t n = 0;
  if (rc >= 0) return;
  if (group_save(g, &now, &n)) abort();
  if (n != want_len || memcmp(now, want, n) != 0) abort();
  free(now);
}

static void fz_item(struct group *m, const uint8_t *d, size_t n) {
  static uint8_t pt[GROUP_WIRE_MAX];
  size_t pl = 0;
  struct group_sender from;
  int rc = group_decrypt(m, fz_mailbox, d, n, pt, sizeof pt, &pl, &from);
  fz_rc(rc);
  fz_same(m, rc, fz_member_state, fz_member_len);
  if (rc == 0 && group_decrypt(m, fz_mailbox, d, n, pt, sizeof pt, &pl, &from) != MOMEDO_E_EXISTS)
    abort();
}

static void fz_control(struct group *m, const uint8_t *d, size_t n) {
  struct arena a;
  Momedo__Content *c = NULL;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  int rc = group_content_decode(d, n, &a, &c);
  fz_rc(rc);
  if (rc == 0 && c->body_case == MOMEDO__CONTENT__BODY_GROUP &&
      c->group->body_case == MOMEDO__GROUP_CONTROL__BODY_SENDER_KEY) {
    rc = group_senderkey_accept(m, fz_admin.pub, fz_admin_dev.pub, c->group->sender_key);
    fz_rc(rc);
    fz_same(m, rc, fz_member_state, fz_member_len);
  }
  arena_close(&a);
}

/* A member's request at the admin's state: refused ones change nothing. */
static void fz_request(const uint8_t *d, size_t n) {
  struct group *a = NULL;
  uint8_t gid[32], *rec = NULL;
  size_t rl = 0;
  if (group_load(&a, fz_admin_state, fz_admin_len)) abort();
  fz_rc(group_request_peek(d, n, gid));
  int rc = group_request_apply(a, &fz_admin, fz_member.pub, d, n, FZ_NOW, &rec, &rl);
  fz_rc(rc);
  if ((rc == 0) != (rec != NULL)) abort();
  fz_same(a, rc, fz_admin_state, fz_admin_len);
  free(rec);
  group_free(a);
}

static void fz_chain(struct group *m, const uint8_t *d, size_t n) {
  uint8_t gid[32];
  uint64_t first, last;
  fz_rc(group_chain_peek(d, n, gid, &first, &last));
  fz_rc(group_chain_apply(m, d, n, FZ_NOW, NULL));
}

static void fz_mbox_check(const uint8_t *d, size_t n) {
  if (n < 64) return;
  int rc = mbox_write_check(fz_mailbox, d, d + 32, d + 64, n - 64);
  fz_rc(rc);
  if (rc == 0 && (memcmp(d, fz_write_key, 32) != 0 || memcmp(d + 32, fz_write_tag, 32) != 0))
    abort(); /* another key and tag would have to hash to the same mailbox */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  struct group *m = NULL, *j = NULL;
  if (!ready) fz_init(), ready = 1;
  if (size < 1) return 0;
  const uint8_t *d = data + 1;
  size_t n = size - 1;
  unsigned sel = data[0] % 9;
  /* A fresh member state for the cases that read or change it (loading it re-checks
   * the head record's signature: most of an execution's time); the others leave it. */
  if ((sel == 0 || sel == 2 || sel == 3 || sel == 6) &&
      group_load(&m, fz_member_state, fz_member_len))
    abort();
  uint8_t gid[32];
  uint64_t ver;
  int rc;
  switch (sel) {
  case 0:
    fz_rc(group_record_peek(d, n, gid, &ver));
    rc = group_record_apply(m, d, n, FZ_NOW, NULL);
    fz_rc(rc);
    fz_same(m, rc, fz_member_state, fz_member_len);
    break;
  case 1:
    rc = group_join(&j, fz_member.pub, fz_member_dev.pub, fz_admin.pub, d, n, FZ_NOW);
    fz_rc(rc);
    if ((rc == 0) != (j != NULL)) abort();
    group_free(j);
    break;
  case 2:
    fz_control(m, d, n);
    break;
  case 3:
    fz_item(m, d, n);
    break;
  case 4: {
    struct group *l = NULL;
    rc = group_load(&l, d, n);
    fz_rc(rc);
    if ((rc == 0) != (l != NULL)) abort();
    group_free(l);
    break;
  }
  case 5: {
    struct arena a;
    Momedo__ChannelMessage *cm = NULL;
    arena_init(&a, CHANNEL_DECODE_BYTES_MAX);
    rc = channel_open(&fz_channel, d, n, &a, &cm);
    fz_rc(rc);
    if ((rc == 0) != (cm != NULL)) abort();
    arena_close(&a);
    break;
  }
  case 6:
    fz_chain(m, d, n);
    break;
  case 7:
    fz_request(d, n);
    break;
  default:
    fz_mbox_check(d, n);
    break;
  }
  group_free(m);
  return 0;
}
