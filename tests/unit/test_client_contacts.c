/* Unit tests for client/core/contacts: trust on first use, a changed key refused and kept
 * pending until verified, resolving by name / user ID / alias, bundles of the wrong
 * identity, and the sealed record. */
#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "arena.h"
#include "contacts.h"
#include "ids.h"
#include "obj.h"
#include "vault.h"

#define NOW 1700000000000ull

static void fresh_vault(struct vault *v, const char *name) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  char base[900], dir[1024], cmd[1200];
  snprintf(base, sizeof base, "%s", t ? t : "/tmp");
  mkdir(base, 0700);
  snprintf(dir, sizeof dir, "%s/contacts-%s-%ld", base, name, (long)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0 || mkdir(dir, 0700) != 0) abort();
  if (vault_create(v, dir, "pw", 2, 10) != 0) abort();
}

static void key_of(uint8_t k[32], uint8_t seed) {
  struct crypto_sign_keypair kp;
  uint8_t s[32];
  memset(s, seed, 32);
  if (crypto_sign_from_seed(&kp, s) != 0) abort();
  memcpy(k, kp.pub, 32);
}

static void test_pin_and_key_change(void) {
  struct contacts c;
  struct contact *ct = NULL;
  uint8_t bob1[32], bob2[32], carol[32];
  key_of(bob1, 1);
  key_of(bob2, 2);
  key_of(carol, 3);
  contacts_init(&c);
  CHECK_EQ(contacts_pin(&c, bob1, "bob", NULL, NOW, &ct), 0);
  CHECK(ct != NULL);
  char uid[IDS_USER_ID_STR_MAX];
  CHECK_EQ(ids_user_id(uid, bob1), 0);
  CHECK_STR(ct->uid, uid);
  CHECK_STR(contact_label(ct), "bob");
  CHECK_EQ(ct->verified, 0);
  /* Pinning again is idempotent. */
  CHECK_EQ(contacts_pin(&c, bob1, "bob", NULL, NOW, &ct), 0);
  CHECK_EQ(c.n, 1);
  /* Another key for "bob": refused, remembered as pending, nothing else changes. */
  CHECK_EQ(contacts_pin(&c, bob2, "bob", NULL, NOW, &ct), MOMEDO_E_KEYCHANGED);
  CHECK_EQ(c.n, 1);
  CHECK_MEM(ct->key, bob1, 32);
  CHECK_EQ(ct->has_pending, 1);
  CHECK_MEM(ct->pending_key, bob2, 32);
  CHECK(contacts_resolve(&c, "bob") == &c.v[0]);
  /* Verify the new key: "bob" now pins it. */
  CHECK_EQ(contacts_verify(&c, bob2, &ct), 0);
  CHECK_MEM(ct->key, bob2, 32);
  CHECK_EQ(ct->has_pending, 0);
  CHECK_EQ(ct->verified, 1);
  CHECK_STR(ct->name, "bob");
  CHECK(contacts_find_key(&c, bob1) == NULL);
  CHECK_EQ(contacts_verify(&c, carol, &ct), MOMEDO_E_NOTFOUND);
  /* Aliases are bindings too. */
  CHECK_EQ(contacts_pin(&c, carol, NULL, "49K492", NOW, &ct), 0);
  CHECK(contacts_resolve(&c, "49k492") == ct);
  CHECK_EQ(contacts_pin(&c, bob1, NULL, "49K492", NOW, &ct), MOMEDO_E_KEYCHANGED);
  CHECK_MEM(ct->key, carol, 32);
  /* Verifying a key that has its own record merges it into the pending one. */
  CHECK_EQ(contacts_pin(&c, bob1, "old bob", NULL, NOW, &ct), 0);
  CHECK_EQ(c.n, 3);
  CHECK_EQ(contacts_verify(&c, bob1, &ct), 0);
  CHECK_EQ(c.n, 2);
  CHECK_MEM(ct->key, bob1, 32);
  CHECK_STR(ct->alias, "49K492");
  /* Resolve by user ID (tolerant: lower case, no dashes). */
  char loose[IDS_USER_ID_STR_MAX];
  size_t j = 0;
  for (size_t i = 0; uid[i]; i++)
    if (uid[i] != '-') loose[j++] = (char)(uid[i] >= 'A' && uid[i] <= 'Z' ? uid[i] + 32 : uid[i]);
  loose[j] = '\0';
  CHECK(contacts_resolve(&c, loose) != NULL);
  CHECK_MEM(contacts_resolve(&c, loose)->key, bob1, 32);
  CHECK(contacts_resolve(&c, "nobody") == NULL);
  contacts_free(&c);
}

static void test_names(void) {
  char uid[IDS_USER_ID_STR_MAX];
  uint8_t k[32];
  key_of(k, 9);
  CHECK_EQ(ids_user_id(uid, k), 0);
  CHECK_EQ(contacts_name_check("Frau Müller"), 0);
  CHECK_EQ(contacts_name_check(""), MOMEDO_E_INVAL);
  CHECK_EQ(contacts_name_check("tab\there"), MOMEDO_E_INVAL);
  CHECK_EQ(contacts_name_check(uid), MOMEDO_E_INVAL); /* would shadow a user ID */
  char longname[CONTACT_NAME_MAX + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  CHECK_EQ(contacts_name_check(longname), MOMEDO_E_INVAL);
  struct contacts c;
  struct contact *ct;
  contacts_init(&c);
  CHECK_EQ(contacts_pin(&c, k, longname, NULL, NOW, &ct), MOMEDO_E_INVAL);
  CHECK_EQ(c.n, 0);
  contacts_free(&c);
}

static void test_bundle_and_storage(void) {
  struct vault v;
  struct contacts c, d;
  struct contact *ct;
  struct account a;
  uint8_t *b = NULL, node[32] = {7};
  size_t n = 0;
  fresh_vault(&v, "st");
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 1, node), 0);
  CHECK_EQ(account_build_bundle(&a, NOW, &b, &n), 0);
  struct arena ar;
  ProtobufCMessage *m;
  arena_init(&ar, OBJ_DECODE_BYTES_MAX);
  CHECK_EQ(obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, &ar, &m), 0);
  contacts_init(&c);
  uint8_t other[32];
  key_of(other, 5);
  CHECK_EQ(contacts_pin(&c, other, "eve", NULL, NOW, &ct), 0);
  CHECK_EQ(contacts_set_bundle(ct, (Momedo__KeyBundle *)m), MOMEDO_E_KEYCHANGED);
  CHECK_EQ(ct->bundle_version, 0);
  CHECK_EQ(contacts_pin(&c, a.identity.pub, "alice", NULL, NOW, &ct), 0);
  CHECK_EQ(contacts_set_bundle(ct, (Momedo__KeyBundle *)m), 0);
  CHECK_EQ(ct->bundle_version, 1);
  CHECK_EQ(ct->n_devices, 1);
  CHECK_MEM(ct->devices[0].device_key, a.device.pub, 32);
  ct->verified = 1;
  CHECK_EQ(contacts_pin(&c, other, "alice", NULL, NOW, &ct), MOMEDO_E_KEYCHANGED);
  CHECK_EQ(contacts_save(&c, &v), 0);
  CHECK_EQ(contacts_load(&d, &v), 0);
  CHECK_EQ(d.n, 2);
  ct = contacts_find_name(&d, "alice");
  CHECK(ct != NULL);
  CHECK_EQ(ct->verified, 1);
  CHECK_EQ(ct->has_pending, 1);
  CHECK_MEM(ct->pending_key, other, 32);
  CHECK_EQ(ct->n_devices, 1);
  CHECK_MEM(ct->devices[0].prekey_sig, c.v[1].devices[0].prekey_sig, 64);
  CHECK_EQ(ct->devices[0].prekey_id, c.v[1].devices[0].prekey_id);
  arena_close(&ar);
  free(b);
  account_wipe(&a);
  contacts_free(&c);
  contacts_free(&d);
  /* An empty vault is an empty list. */
  struct vault w;
  fresh_vault(&w, "empty");
  CHECK_EQ(contacts_load(&d, &w), 0);
  CHECK_EQ(d.n, 0);
  contacts_free(&d);
  vault_close(&w);
  vault_close(&v);
}

/* Format 2 keeps the bundle's home nodes (where items for the contact go) and the hints
 * of the card it was added by; a format-1 record still loads, its bundle to be fetched
 * again (version 0) so that the home nodes get filled in. */
static void test_homes_hints_and_format1(void) {
  struct vault v;
  struct contacts c, d;
  struct contact *ct;
  struct account a;
  struct ids_card card;
  uint8_t *b = NULL, home[32] = {7}, partner[32] = {9};
  size_t n = 0;
  char qr[IDS_CARD_STR_MAX];
  fresh_vault(&v, "homes");
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 1, home), 0);
  CHECK_EQ(account_add_partner(&a, "127.0.0.1", 2, partner), 0);
  CHECK_EQ(account_build_bundle(&a, NOW, &b, &n), 0);
  struct arena ar;
  ProtobufCMessage *m;
  arena_init(&ar, OBJ_DECODE_BYTES_MAX);
  CHECK_EQ(obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, &ar, &m), 0);
  const uint8_t (*homes)[32] = (const uint8_t (*)[32])home;
  CHECK_EQ(ids_card_format(qr, a.identity.pub, homes, 1), 0);
  CHECK_EQ(ids_card_parse(&card, qr), 0);
  contacts_init(&c);
  CHECK_EQ(contacts_pin(&c, a.identity.pub, "alice", NULL, NOW, &ct), 0);
  contacts_set_hints(ct, &card);
  CHECK_EQ(ct->n_hints, 1);
  CHECK_EQ(contacts_set_bundle(ct, (Momedo__KeyBundle *)m), 0);
  CHECK_EQ(ct->n_homes, 2);
  CHECK_MEM(ct->homes[0], home, 32);
  CHECK_MEM(ct->homes[1], partner, 32);
  CHECK_EQ(contacts_save(&c, &v), 0);
  CHECK_EQ(contacts_load(&d, &v), 0);
  CHECK_EQ(d.n, 1);
  CHECK_EQ(d.v[0].devices[0].pq_alg, OBJ_PQ_KEM_MLKEM768); /* format 4 keeps the KEM key */
  CHECK_MEM(d.v[0].devices[0].pq_key, account_prekey_pq_pub(&a.prekeys[0]), MLKEM768_EK_LEN);
  CHECK_EQ(d.v[0].n_homes, 2);
  CHECK_MEM(d.v[0].homes[1], partner, 32);
  CHECK_EQ(d.v[0].n_hints, 1);
  CHECK_MEM(d.v[0].hints[0], card.hints[0], IDS_CARD_HINT_LEN);
  contacts_free(&d);
  /* Format 1: the same record without the two counts and the two format-3 bytes
   * (revoked, removed count; nothing after them), and without the device's format-4
   * KEM byte (a device without an ML-KEM key: one byte 0 after its entry). */
  ct->n_homes = ct->n_hints = 0;
  ct->devices[0].pq_alg = OBJ_PQ_KEM_NONE;
  struct vbuf vb = {0};
  contacts_encode(&c, &vb, 1);
  CHECK_EQ(vb.err, 0);
  CHECK_EQ(vb.p[0], 4);
  CHECK_EQ(vb.p[vb.len - 5], OBJ_PQ_KEM_NONE);
  vb.p[0] = 1;
  CHECK_EQ(contacts_parse(&d, vb.p, vb.len - 5), 0);
  CHECK_EQ(d.n, 1);
  CHECK_EQ(d.v[0].n_devices, 1);
  CHECK_EQ(d.v[0].bundle_version, 0);
  CHECK_EQ(d.v[0].n_homes, 0);
  contacts_free(&d);
  /* Truncated or with counts past their bounds: corrupt. */
  vb.p[0] = 4;
  CHECK_EQ(contacts_parse(&d, vb.p, vb.len - 1), MOMEDO_E_CORRUPT);
  vb.p[vb.len - 4] = OBJ_HOME_NODES_MAX + 1;
  CHECK_EQ(contacts_parse(&d, vb.p, vb.len), MOMEDO_E_CORRUPT);
  vbuf_free(&vb);
  arena_close(&ar);
  free(b);
  account_wipe(&a);
  contacts_free(&c);
  vault_close(&v); /* closes its vault.db too */
}

/* Build a's next bundle and decode it into ar (borrowed from there). */
static Momedo__KeyBundle *next_bundle(struct account *a, struct arena *ar) {
  uint8_t *b = NULL;
  size_t n = 0;
  ProtobufCMessage *m = NULL;
  if (account_build_bundle(a, NOW, &b, &n) != 0) return NULL;
  int rc = obj_unpack(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, b, n, ar, &m);
  free(b);
  return rc ? NULL : (Momedo__KeyBundle *)m;
}

/* Issue 11, finding 5: the version a contact's bundle had is pinned (an older one a
 * node serves is refused and the cache stays), a device removed for good cannot come
 * back, and a revocation is final and wins over any version. Also for our own
 * account's bundle. Kept across save and load. */
static void test_bundle_pinning_and_removal(void) {
  struct vault v;
  struct contacts c, d;
  struct contact *ct;
  struct account a, a2;
  struct arena ar;
  uint8_t node[32] = {7};
  fresh_vault(&v, "pin");
  arena_init(&ar, 4 * OBJ_DECODE_BYTES_MAX);
  CHECK_EQ(account_generate(&a, NOW), 0);
  CHECK_EQ(account_set_home(&a, "127.0.0.1", 1, node), 0);
  struct account_device tablet;
  account_self_device(&a, &tablet);
  key_of(tablet.device_key, 9);
  CHECK_EQ(account_put_device(&a, &tablet), 0);
  Momedo__KeyBundle *v1 = next_bundle(&a, &ar);
  CHECK(v1 != NULL);
  a2 = a; /* a second device of the same user, before the removal */
  contacts_init(&c);
  CHECK_EQ(contacts_pin(&c, a.identity.pub, "alice", NULL, NOW, &ct), 0);
  CHECK_EQ(contacts_set_bundle(ct, v1), 0);
  CHECK_EQ(ct->n_devices, 2);
  CHECK_EQ(account_remove_device(&a, a.device.pub), MOMEDO_E_INVAL);
  CHECK_EQ(account_remove_device(&a, tablet.device_key), 0);
  CHECK_EQ(account_remove_device(&a, tablet.device_key), MOMEDO_E_NOTFOUND);
  Momedo__KeyBundle *v2 = next_bundle(&a, &ar);
  CHECK(v2 != NULL);
  CHECK_EQ(v2->n_removed_devices, 1);
  CHECK_EQ(contacts_set_bundle(ct, v2), 0);
  CHECK_EQ(ct->n_devices, 1);
  CHECK_EQ(ct->n_removed, 1);
  /* A stale node serves v1 again: refused, the cache stays at v2. */
  CHECK_EQ(contacts_set_bundle(ct, v1), MOMEDO_E_SUPERSEDED);
  CHECK_EQ(ct->n_devices, 1);
  CHECK_EQ(ct->bundle_version, v2->version);
  CHECK_EQ(account_learn_bundle(&a2, v2), 0);
  CHECK_EQ(a2.n_devices, 1);
  CHECK_EQ(account_learn_bundle(&a2, v1), MOMEDO_E_SUPERSEDED);
  CHECK_EQ(a2.n_devices, 1);
  /* A later bundle that lists the tablet again (forgetting the removal). */
  a.n_removed = 0;
  CHECK_EQ(account_put_device(&a, &tablet), 0);
  Momedo__KeyBundle *v3 = next_bundle(&a, &ar);
  CHECK(v3 != NULL);
  CHECK_EQ(contacts_set_bundle(ct, v3), MOMEDO_E_FORK);
  CHECK_EQ(account_learn_bundle(&a2, v3), MOMEDO_E_FORK);
  CHECK_EQ(ct->n_devices, 1);
  /* A revocation, with a lower version than anything seen: it wins, and stays. */
  Momedo__KeyBundle rev = *v1;
  rev.revoked = 1;
  rev.n_devices = 0;
  CHECK_EQ(contacts_set_bundle(ct, &rev), 0);
  CHECK_EQ(ct->revoked, 1);
  CHECK_EQ(ct->n_devices, 0);
  CHECK_EQ(contacts_set_bundle(ct, v3), MOMEDO_E_DEAD);
  CHECK_EQ(contacts_save(&c, &v), 0);
  CHECK_EQ(contacts_load(&d, &v), 0);
  ct = contacts_find_name(&d, "alice");
  CHECK(ct != NULL);
  CHECK_EQ(ct->revoked, 1);
  CHECK_EQ(ct->n_removed, 1);
  CHECK_MEM(ct->removed[0], tablet.device_key, 32);
  CHECK_EQ(contacts_set_bundle(ct, v3), MOMEDO_E_DEAD);
  arena_close(&ar);
  account_wipe(&a);
  account_wipe(&a2);
  contacts_free(&c);
  contacts_free(&d);
  vault_close(&v);
}

int main(void) {
  RUN(test_pin_and_key_change);
  RUN(test_names);
  RUN(test_bundle_and_storage);
  RUN(test_homes_hints_and_format1);
  RUN(test_bundle_pinning_and_removal);
  TEST_MAIN_END();
}
