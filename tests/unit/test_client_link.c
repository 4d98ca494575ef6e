/* Unit tests for client/core/link: the link code (round trip, typos, old and damaged codes),
 * the new device's request (proof of its device key) and the first device's answer
 * (sealed to the new device's agreement key). The attacks of issue 11, finding 3: whoever
 * saw the code can neither open the answer nor pass off another device's keys. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "link.h"

#define NOW 1700000000000ull

static void code_of(struct link_code *l) {
  memset(l, 0, sizeof *l);
  for (size_t i = 0; i < LINK_SECRET_LEN; i++) l->secret[i] = (uint8_t)(0x40 + i);
  memset(l->identity, 0x11, 32);
  memset(l->node_key, 0x22, 32);
  l->expires_ms = NOW + LINK_TTL_MS;
  snprintf(l->host, sizeof l->host, "city.example.org");
  l->port = 7443;
}

static void test_code_round_trip(void) {
  struct link_code l, m;
  char s[LINK_CODE_STR_MAX], t[LINK_CODE_STR_MAX + 8];
  code_of(&l);
  CHECK_EQ(link_code_encode(s, sizeof s, &l), 0);
  CHECK(strncmp(s, LINK_CODE_PREFIX, strlen(LINK_CODE_PREFIX)) == 0);
  CHECK_EQ(link_code_decode(&m, s), 0);
  CHECK_MEM(m.secret, l.secret, LINK_SECRET_LEN);
  CHECK_MEM(m.identity, l.identity, 32);
  CHECK_MEM(m.node_key, l.node_key, 32);
  CHECK_EQ(m.expires_ms, l.expires_ms);
  CHECK_EQ(m.port, 7443);
  CHECK(strcmp(m.host, "city.example.org") == 0);
  snprintf(t, sizeof t, "  %s \n", s); /* a paste with white space around it */
  CHECK_EQ(link_code_decode(&m, t), 0);
  /* A typo in the body is caught by the check character. */
  size_t at = strlen(LINK_CODE_PREFIX) + 5;
  snprintf(t, sizeof t, "%s", s);
  t[at] = t[at] == '0' ? '1' : '0';
  CHECK_EQ(link_code_decode(&m, t), MOMEDO_E_CHECKSUM);
  /* Not a link code; a code of the old kind (its keys came from the code). */
  CHECK_EQ(link_code_decode(&m, "momedo2:ABCDEF"), MOMEDO_E_PROTO);
  CHECK_EQ(link_code_decode(&m, "momedo-link1:0123456789"), MOMEDO_E_VERSION);
  snprintf(t, sizeof t, "%s x", s); /* trailing garbage */
  CHECK_EQ(link_code_decode(&m, t), MOMEDO_E_INVAL);
  CHECK(link_code_decode(&m, LINK_CODE_PREFIX) < 0);
  /* Hosts a code cannot carry. */
  snprintf(l.host, sizeof l.host, "bad host");
  CHECK_EQ(link_code_encode(s, sizeof s, &l), MOMEDO_E_INVAL);
  l.host[0] = '\0';
  CHECK_EQ(link_code_encode(s, sizeof s, &l), MOMEDO_E_INVAL);
}

/* A new device's account and its public entry. */
static void new_device(struct account *a, struct account_device *d) {
  uint8_t ik[32];
  memset(ik, 0x11, 32);
  CHECK_EQ(account_generate_device(a, ik, NOW), 0);
  account_self_device(a, d);
}

static void test_request(void) {
  struct link_code l;
  struct link_keys k, other;
  struct account a, b;
  struct account_device d, e, got;
  uint8_t req[LINK_REQUEST_LEN];
  code_of(&l);
  CHECK_EQ(link_keys_derive(&k, l.secret), 0);
  l.secret[0] ^= 1;
  CHECK_EQ(link_keys_derive(&other, l.secret), 0);
  new_device(&a, &d);
  new_device(&b, &e);
  CHECK_EQ(link_request_seal(req, &k, &d, &a.device), 0);
  CHECK_EQ(link_request_open(&got, &k, req, sizeof req), 0);
  CHECK_MEM(got.device_key, d.device_key, 32);
  CHECK_MEM(got.dh_key, d.dh_key, 32);
  CHECK_MEM(got.prekey, d.prekey, 32);
  CHECK_EQ(got.prekey_id, d.prekey_id);
  /* Another link's keys, a truncated or flipped request. */
  CHECK_EQ(link_request_open(&got, &other, req, sizeof req), MOMEDO_E_DECRYPT);
  CHECK_EQ(link_request_open(&got, &k, req, sizeof req - 1), MOMEDO_E_DECRYPT);
  req[CRYPTO_XNONCE_LEN + 7] ^= 0x20;
  CHECK_EQ(link_request_open(&got, &k, req, sizeof req), MOMEDO_E_DECRYPT);
  /* Someone who saw the code offers b's public keys as its own entry: without b's
   * device key it cannot sign the proof (seal refuses a key that is not the signer's),
   * and an entry signed by another key is refused when opened. */
  CHECK_EQ(link_request_seal(req, &k, &e, &a.device), MOMEDO_E_INVAL);
  struct account_device mixed = e;
  memcpy(mixed.device_key, d.device_key, 32); /* a's device key, b's agreement key */
  CHECK_EQ(link_request_seal(req, &k, &mixed, &a.device), 0);
  CHECK_EQ(link_request_open(&got, &k, req, sizeof req), MOMEDO_E_BADSIG); /* prekey sig */
  account_wipe(&a);
  account_wipe(&b);
}

static void test_answer(void) {
  struct link_code l;
  struct link_keys k;
  struct account a, thief;
  struct account_device d, t;
  const char state[] = "contacts, nodes and alias of the user";
  uint8_t *ans = NULL, *st = NULL, who[32];
  size_t al = 0, sl = 0;
  code_of(&l);
  CHECK_EQ(link_keys_derive(&k, l.secret), 0);
  new_device(&a, &d);
  new_device(&thief, &t);
  CHECK_EQ(link_answer_seal(&ans, &al, &k, d.device_key, d.dh_key, (const uint8_t *)state,
                            sizeof state), 0);
  CHECK_EQ(link_answer_for(who, &k, ans, al), 0);
  CHECK_MEM(who, d.device_key, 32);
  CHECK_EQ(link_answer_open(&st, &sl, &k, a.device.pub, a.dh_sec, ans, al), 0);
  CHECK_EQ(sl, sizeof state);
  CHECK_MEM(st, state, sizeof state);
  crypto_wipe(st, sl);
  free(st);
  st = NULL;
  /* Finding 3: whoever saw the code holds every key the code gives, but not the new
   * device's agreement secret — naming the device's key with its own secret, or its own
   * key, opens nothing. (Before, the device's keys derived from the code.) */
  CHECK_EQ(link_answer_open(&st, &sl, &k, d.device_key, thief.dh_sec, ans, al),
           MOMEDO_E_DECRYPT);
  CHECK_EQ(link_answer_open(&st, &sl, &k, thief.device.pub, thief.dh_sec, ans, al),
           MOMEDO_E_DECRYPT);
  CHECK(st == NULL);
  /* None of the new device's secrets is anything the code's secret derives. */
  uint8_t ikm[LINK_SECRET_LEN];
  memcpy(ikm, l.secret, sizeof ikm);
  const uint8_t *secrets[] = {a.device.seed, a.dh_sec, a.prekeys[0].sec};
  const uint8_t *derived[] = {k.id, k.req, k.ans, ikm};
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 4; j++) CHECK(memcmp(secrets[i], derived[j], 16) != 0);
  /* A damaged answer, another link's answer. */
  ans[al - 1] ^= 1;
  CHECK_EQ(link_answer_for(who, &k, ans, al), MOMEDO_E_DECRYPT);
  CHECK_EQ(link_answer_open(&st, &sl, &k, a.device.pub, a.dh_sec, ans, al), MOMEDO_E_DECRYPT);
  CHECK_EQ(link_answer_for(who, &k, ans, 10), MOMEDO_E_DECRYPT);
  free(ans);
  CHECK(link_answer_seal(&ans, &al, &k, d.device_key, d.dh_key, (const uint8_t *)state,
                         LINK_STATE_MAX + 1) == MOMEDO_E_TOOBIG);
  account_wipe(&a);
  account_wipe(&thief);
}

static void test_safety_code(void) {
  struct link_code l;
  struct link_keys k, k2;
  struct account a, b;
  struct account_device d, e;
  char s1[8], s2[8], s3[8];
  code_of(&l);
  CHECK_EQ(link_keys_derive(&k, l.secret), 0);
  l.secret[3] ^= 0x80;
  CHECK_EQ(link_keys_derive(&k2, l.secret), 0);
  new_device(&a, &d);
  new_device(&b, &e);
  CHECK_EQ(link_safety_code(s1, &k, d.device_key), 0);
  CHECK_EQ(strlen(s1), 7);
  CHECK(s1[3] == ' ');
  CHECK_EQ(link_safety_code(s2, &k, d.device_key), 0);
  CHECK(strcmp(s1, s2) == 0);
  CHECK_EQ(link_safety_code(s2, &k, e.device_key), 0);
  CHECK_EQ(link_safety_code(s3, &k2, d.device_key), 0);
  /* 1 in a million to collide by chance: these fixed keys do not. */
  CHECK(strcmp(s1, s2) != 0 || strcmp(s1, s3) != 0);
  account_wipe(&a);
  account_wipe(&b);
}

int main(void) {
  RUN(test_code_round_trip);
  RUN(test_request);
  RUN(test_answer);
  RUN(test_safety_code);
  TEST_MAIN_END();
}
