/* bench_client_group — the cost of one message to a 5,000-member announcement channel
 * (sender keys: one ciphertext, one item) against 5,000 pairwise copies (one e2e
 * envelope per member, each its own item), the one-time cost of distributing a sender
 * key over the pairwise sessions, record sizes, the record chain a joining device
 * verifies (the channel grown in 50 steps) with the state's save and load, and scrypt
 * time for passphrase channels. Item sizes are real OzoneItems signed with
 * obj_sign_encode. Times are CPU time. Usage: bench_client_group [members]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "group.h"
#include "os.h"
#include "x3dh.h"

#define NOW_MS 1700000000000ull
#define TEXT_BYTES 200

static struct crypto_sign_keypair node_kp;

/* Canonical bytes of an OzoneItem carrying ct (what every node stores and replicates). */
static size_t item_bytes(const uint8_t *ct, size_t len) {
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  uint8_t mb[32], *out = NULL;
  size_t n = 0;
  memset(mb, 0x6d, 32);
  it.format = OBJ_FORMAT;
  it.mailbox = (ProtobufCBinaryData){32, mb};
  it.created_ms = NOW_MS;
  it.expires_ms = NOW_MS + GROUP_TTL_MS_DEFAULT;
  it.ciphertext = (ProtobufCBinaryData){len, (uint8_t *)ct};
  it.node_key = (ProtobufCBinaryData){32, node_kp.pub};
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, &node_kp, &out, &n) < 0)
    return 0;
  free(out);
  return n;
}

static int text_content(uint8_t **out, size_t *len, const uint8_t dev[32]) {
  Momedo__Content c = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  char text[TEXT_BYTES + 1];
  uint8_t id[CONTENT_ID_LEN];
  memset(text, 'a', TEXT_BYTES);
  text[TEXT_BYTES] = 0;
  if (content_new_id(id)) return -1;
  t.text = text;
  c.format = CONTENT_FORMAT;
  c.message_id = (ProtobufCBinaryData){sizeof id, id};
  c.sent_ms = NOW_MS;
  c.sender_device = (ProtobufCBinaryData){32, (uint8_t *)dev};
  c.body_case = MOMEDO__CONTENT__BODY_TEXT;
  c.text = &t;
  return content_encode(&c, out, len);
}

struct peer {
  struct crypto_sign_keypair id, dev;
};

/* A pair of established sessions (after one reply) to measure steady-state envelopes. */
static int steady_pair(struct e2e_session **sa) {
  struct e2e_local a, b;
  struct e2e_prekey spk;
  struct e2e_remote r;
  struct e2e_session *sb = NULL;
  struct e2e_replay *rp = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  uint8_t out[256], pt[256];
  size_t len, pl;
  memset(&a, 0, sizeof a), memset(&b, 0, sizeof b), memset(&r, 0, sizeof r);
  int rc = crypto_random(a.identity_key, 32) | crypto_random(a.device_key, 32) |
           crypto_random(b.identity_key, 32) | crypto_random(b.device_key, 32) |
           crypto_dh_keygen(a.dh_sec, a.dh_pub) | crypto_dh_keygen(b.dh_sec, b.dh_pub) |
           crypto_dh_keygen(spk.sec, spk.pub);
  spk.id = 1, spk.expires_ms = NOW_MS + 86400000ull;
  memcpy(r.identity_key, b.identity_key, 32), memcpy(r.device_key, b.device_key, 32);
  memcpy(r.dh_key, b.dh_pub, 32), memcpy(r.spk, spk.pub, 32);
  r.spk_id = 1, r.spk_expires_ms = spk.expires_ms;
  if (rc == 0) rc = e2e_initiate(sa, &a, &r, NOW_MS);
  if (rc == 0) rc = e2e_encrypt(*sa, pt, 16, out, sizeof out, &len);
  if (rc == 0) rc = e2e_replay_new(&rp, 1);
  if (rc == 0) rc = e2e_envelope_parse(&env, out, len);
  if (rc == 0) rc = e2e_accept(&sb, &from, &b, &spk, NULL, rp, &env, NOW_MS, pt, sizeof pt, &pl);
  if (rc == 0) rc = e2e_encrypt(sb, pt, 16, out, sizeof out, &len);
  if (rc == 0) rc = e2e_envelope_parse(&env, out, len);
  if (rc == 0) rc = e2e_decrypt(*sa, &env, pt, sizeof pt, &pl);
  e2e_session_free(sb);
  e2e_replay_free(rp);
  return rc;
}

/* n fresh sessions from one sender (first messages: prekey envelopes). */
static int pairwise_sessions(struct e2e_session **s, size_t n) {
  struct e2e_local a;
  memset(&a, 0, sizeof a);
  int rc = crypto_random(a.identity_key, 32) | crypto_random(a.device_key, 32) |
           crypto_dh_keygen(a.dh_sec, a.dh_pub);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    struct e2e_remote r;
    uint8_t sec[32];
    memset(&r, 0, sizeof r);
    rc = crypto_random(r.identity_key, 32) | crypto_random(r.device_key, 32) |
         crypto_dh_keygen(sec, r.dh_key) | crypto_dh_keygen(sec, r.spk);
    r.spk_id = 1, r.spk_expires_ms = NOW_MS + 86400000ull;
    if (rc == 0) rc = e2e_initiate(&s[i], &a, &r, NOW_MS);
  }
  return rc;
}

struct pairwise_cost {
  size_t env_first, env_steady, item_first, item_steady;
  double secs;
};

/* n pairwise envelopes of len plaintext bytes: sizes (first and steady state) and time. */
static int pairwise(struct e2e_session **s, size_t n, struct e2e_session *steady,
                    const uint8_t *pt, size_t len, struct pairwise_cost *pc) {
  uint8_t *out = malloc(len + E2E_OVERHEAD_MAX);
  size_t ol = 0;
  int rc = out ? 0 : -1;
  double t0 = os_cpu_s();
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = e2e_encrypt(s[i], pt, len, out, len + E2E_OVERHEAD_MAX, &ol);
    if (i == 0) pc->env_first = ol, pc->item_first = item_bytes(out, ol);
  }
  pc->secs = os_cpu_s() - t0;
  if (rc == 0) rc = e2e_encrypt(steady, pt, len, out, len + E2E_OVERHEAD_MAX, &ol);
  pc->env_steady = ol, pc->item_steady = item_bytes(out, ol);
  free(out);
  return rc;
}

static int build_channel(struct group **g, struct peer *p, size_t n, uint8_t **rec, size_t *rl,
                         double *secs) {
  struct group_member_spec *ms = calloc(n, sizeof *ms);
  if (ms == NULL) return -1;
  for (size_t i = 0; i < n; i++) {
    if (crypto_sign_keygen(&p[i].id) || crypto_sign_keygen(&p[i].dev)) return -1;
    ms[i] = (struct group_member_spec){p[i].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER,
                                       (const uint8_t(*)[32])p[i].dev.pub, 1};
  }
  double t0 = os_cpu_s();
  int rc = group_create(g, &p[0].id, p[0].dev.pub, MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL,
                        "Alle Beschäftigten", &ms[0], ms + 1, n - 1, NOW_MS, rec, rl);
  *secs = os_cpu_s() - t0;
  free(ms);
  return rc;
}

/* The channel grown from 1 to n members in `steps` adds: the chain a new device gets and
 * verifies, and the admin's state (which holds the chain) saved and loaded. */
static int bench_chain(const struct peer *p, size_t n, size_t steps) {
  struct group *g = NULL, *j = NULL;
  struct group_member_spec *ms = calloc(n, sizeof *ms);
  uint8_t *rec = NULL, *chain = NULL, *st = NULL;
  size_t rl = 0, cl = 0, sl = 0, per = (n - 1) / steps;
  if (ms == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    ms[i] = (struct group_member_spec){p[i].id.pub, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER,
                                       (const uint8_t(*)[32])p[i].dev.pub, 1};
  if (group_create(&g, &p[0].id, p[0].dev.pub, MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL, "grown",
                   &ms[0], NULL, 0, NOW_MS, &rec, &rl) < 0)
    return -1;
  free(rec);
  for (size_t s = 0; s < steps; s++) {
    if (group_add(g, &p[0].id, ms + 1 + s * per, per, NOW_MS, &rec, &rl) < 0) return -1;
    free(rec);
  }
  if (group_chain(g, 0, &chain, &cl) < 0) return -1;
  double t = os_cpu_s();
  if (group_join(&j, p[1].id.pub, p[1].dev.pub, p[0].id.pub, chain, cl, NOW_MS) < 0) return -1;
  double t_join = os_cpu_s() - t;
  t = os_cpu_s();
  if (group_save(g, &st, &sl) < 0) return -1;
  double t_save = os_cpu_s() - t;
  group_free(j);
  j = NULL;
  t = os_cpu_s();
  if (group_load(&j, st, sl) < 0) return -1;
  double t_load = os_cpu_s() - t;
  printf("\nthe record chain of a channel grown to %zu members in %zu adds of %zu:\n",
         1 + steps * per, steps, per);
  printf("  %zu versions, %zu bytes; a joining device verifies it in %.1f ms\n", steps + 1,
         cl, t_join * 1e3);
  printf("  the admin's saved state: %zu bytes, save %.1f ms, load %.1f ms\n", sl,
         t_save * 1e3, t_load * 1e3);
  free(chain);
  free(st);
  free(ms);
  group_free(g);
  group_free(j);
  return 0;
}

static void bench_scrypt(void) {
  printf("\npassphrase channel derivation (scrypt r=8 p=1, then 3x HKDF):\n");
  for (unsigned l = 14; l <= 17; l++) {
    struct channel_keys k;
    int reps = l <= 15 ? 5 : 3;
    double t0 = os_cpu_s();
    for (int i = 0; i < reps; i++)
      if (channel_derive(&k, "Krisenstab", "a passphrase", l, 8, 1) < 0) return;
    double t = (os_cpu_s() - t0) / reps;
    printf("  log2_n=%-2u  memory %4u MiB  %8.1f ms per derivation (= per offline guess)%s\n", l,
           (unsigned)((128ull * 8 << l) >> 20), t * 1e3,
           l == CHANNEL_SCRYPT_LOG2_N ? "  <- default" : "");
  }
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
  struct peer *p = calloc(n, sizeof *p);
  struct e2e_session **s = calloc(n, sizeof *s), *steady = NULL;
  struct group *g = NULL, *m = NULL;
  uint8_t *rec = NULL, *pt = NULL, *wire = NULL, *skc = NULL;
  size_t rl = 0, pl = 0, wl = 0, skl = 0;
  double t_create, t;
  struct pairwise_cost pw, sd;
  if (n < 2 || p == NULL || s == NULL || crypto_sign_keygen(&node_kp)) return 1;
  if (build_channel(&g, p, n, &rec, &rl, &t_create) < 0) return 1;
  printf("announcement channel with %zu members (1 device each)\n", n);
  printf("  membership record: %zu bytes (signed); create %.1f ms\n", rl, t_create * 1e3);
  uint8_t *chain = NULL;
  size_t cl = 0;
  if (group_chain(g, 0, &chain, &cl) < 0) return 1;
  t = os_cpu_s();
  if (group_join(&m, p[1].id.pub, p[1].dev.pub, p[0].id.pub, chain, cl, NOW_MS) < 0) return 1;
  printf("  a member verifies and joins from it: %.1f ms\n", (os_cpu_s() - t) * 1e3);
  free(chain);
  /* One message: sender keys. */
  if (text_content(&pt, &pl, p[0].dev.pub) < 0) return 1;
  /* The sender key goes out at the start of the epoch, before the first message. */
  if (group_senderkey_content(g, NULL, NOW_MS, &skc, &skl) < 0) return 1;
  t = os_cpu_s();
  if (group_encrypt(g, pt, pl, &wire, &wl) < 0) return 1;
  double t_enc = os_cpu_s() - t;
  size_t gi = item_bytes(wire, wl);
  printf("\none %zu-byte text message (Content %zu bytes):\n", (size_t)TEXT_BYTES, pl);
  printf("  sender keys : 1 ciphertext of %zu bytes, 1 item posted, %zu bytes stored per node, "
         "encrypt %.1f us\n", wl, gi, t_enc * 1e6);
  /* The same message as n - 1 pairwise copies. */
  if (pairwise_sessions(s, n - 1) < 0 || steady_pair(&steady) < 0) return 1;
  if (pairwise(s, n - 1, steady, pt, pl, &pw) < 0) return 1;
  printf("  pairwise    : %zu envelopes of %zu bytes (%zu for a first message), %zu items, "
         "%zu bytes stored per node (%.1f ms to encrypt)\n", n - 1, pw.env_steady, pw.env_first,
         n - 1, (n - 1) * pw.item_steady, pw.secs * 1e3);
  printf("  ratio       : %.0fx fewer bytes per node, %zux fewer items\n",
         (double)((n - 1) * pw.item_steady) / (double)gi, n - 1);
  /* One-time sender key distribution over the pairwise sessions (fresh sessions again). */
  for (size_t i = 0; i < n - 1; i++) e2e_session_free(s[i]), s[i] = NULL;
  if (pairwise_sessions(s, n - 1) < 0) return 1;
  if (pairwise(s, n - 1, steady, skc, skl, &sd) < 0) return 1;
  printf("\nsender key distribution to %zu devices (once per epoch per posting device):\n", n - 1);
  printf("  SenderKey Content %zu bytes; envelope %zu bytes (%zu first); %zu items; "
         "%zu bytes stored per node; %.1f ms to encrypt\n", skl, sd.env_steady, sd.env_first,
         n - 1, (n - 1) * sd.item_steady, sd.secs * 1e3);
  printf("  break-even: after %.1f messages the channel beats pairwise copies\n",
         (double)((n - 1) * sd.item_steady) / (double)((n - 1) * pw.item_steady - gi));
  /* Receiving. */
  struct arena a;
  Momedo__Content *c = NULL;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  if (group_content_decode(skc, skl, &a, &c) < 0 ||
      group_senderkey_accept(m, p[0].id.pub, p[0].dev.pub, c->group->sender_key) < 0)
    return fprintf(stderr, "accept failed\n"), 1;
  arena_reset(&a);
  struct group_info info;
  group_get_info(g, &info);
  uint8_t *dec = malloc(wl);
  size_t dl = 0;
  t = os_cpu_s();
  if (group_decrypt(m, info.mailbox, wire, wl, dec, wl, &dl, NULL) < 0)
    return fprintf(stderr, "decrypt failed\n"), 1;
  printf("  a member decrypts the message: %.1f us (verify + decrypt)\n", (os_cpu_s() - t) * 1e6);
  free(dec);
  arena_close(&a);
  if (bench_chain(p, n, 50) < 0) return fprintf(stderr, "chain failed\n"), 1;
  bench_scrypt();
  for (size_t i = 0; i < n; i++) e2e_session_free(s[i]);
  e2e_session_free(steady);
  free(s);
  free(p);
  free(rec);
  free(pt);
  free(wire);
  free(skc);
  group_free(g);
  group_free(m);
  return 0;
}
