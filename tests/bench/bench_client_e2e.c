/* bench_client_e2e — end-to-end core costs on this machine: 1 KiB messages encrypted
 * and decrypted (one direction: chain steps only; ping-pong: a DH ratchet step per
 * message), the X3DH first message (initiate + encrypt, accept) in suite 1 (X25519) and
 * suite 2 (X25519 + ML-KEM-768, with its envelope size), session save/load,
 * and attachment chunk encryption. Numbers only; no thresholds.
 * Usage: bench_client_e2e [seconds-per-case]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "obj.h"
#include "os.h"
#include "x3dh.h"

#define NOW_MS 1700000000000ull

struct bench {
  struct e2e_local a, b;
  struct e2e_prekey spk;
  struct e2e_remote r;
  uint8_t pq_dk[MLKEM768_DK_LEN];
  size_t first_len;
  struct e2e_session *sa, *sb;
  uint8_t pt[1024], out[2048 + E2E_OVERHEAD_MAX], dec[2048]; /* padded: 2 KiB */
};

static int bench_setup(struct bench *x) {
  memset(x, 0, sizeof *x);
  int rc = crypto_random(x->a.identity_key, 32) | crypto_random(x->a.device_key, 32) |
           crypto_random(x->b.identity_key, 32) | crypto_random(x->b.device_key, 32) |
           crypto_dh_keygen(x->a.dh_sec, x->a.dh_pub) | crypto_dh_keygen(x->b.dh_sec, x->b.dh_pub) |
           crypto_dh_keygen(x->spk.sec, x->spk.pub) | crypto_random(x->pt, sizeof x->pt);
  x->spk.id = 1;
  x->spk.expires_ms = NOW_MS + 86400000ull;
  memcpy(x->r.identity_key, x->b.identity_key, 32);
  memcpy(x->r.device_key, x->b.device_key, 32);
  memcpy(x->r.dh_key, x->b.dh_pub, 32);
  memcpy(x->r.spk, x->spk.pub, 32);
  x->r.spk_id = 1;
  x->r.spk_expires_ms = x->spk.expires_ms;
  return rc | mlkem768_keygen(x->r.pq_key, x->pq_dk);
}

/* One first message: Alice initiates and encrypts, Bob accepts. Replaces x->sa/sb. */
static int bench_first(struct bench *x, double *t_send, double *t_accept) {
  struct e2e_replay *rp = NULL;
  struct e2e_envelope env;
  struct e2e_sender from;
  size_t len, pl;
  e2e_session_free(x->sa);
  e2e_session_free(x->sb);
  x->sa = x->sb = NULL;
  double t0 = os_mono_s();
  int rc = e2e_initiate(&x->sa, &x->a, &x->r, NOW_MS);
  if (rc == 0) rc = e2e_encrypt(x->sa, x->pt, sizeof x->pt, x->out, sizeof x->out, &len);
  double t1 = os_mono_s();
  x->first_len = len;
  if (rc == 0) rc = e2e_replay_new(&rp, 1);
  double t2 = os_mono_s();
  if (rc == 0) rc = e2e_envelope_parse(&env, x->out, len);
  if (rc == 0)
    rc = e2e_accept(&x->sb, &from, &x->b, &x->spk, NULL, rp, &env, NOW_MS, x->dec,
                    sizeof x->dec, &pl);
  double t3 = os_mono_s();
  e2e_replay_free(rp);
  *t_send += t1 - t0;
  *t_accept += t3 - t2;
  return rc;
}

static int bench_msg(struct e2e_session *from, struct e2e_session *to, struct bench *x) {
  struct e2e_envelope env;
  size_t len, pl;
  int rc = e2e_encrypt(from, x->pt, sizeof x->pt, x->out, sizeof x->out, &len);
  if (rc == 0) rc = e2e_envelope_parse(&env, x->out, len);
  if (rc == 0) rc = e2e_decrypt(to, &env, x->dec, sizeof x->dec, &pl);
  if (rc == 0 && memcmp(x->dec, x->pt, sizeof x->pt) != 0) rc = -1;
  return rc;
}

static int bench_messages(struct bench *x, double secs, int ping_pong) {
  long n = 0;
  double t0 = os_mono_s(), t;
  do {
    for (int i = 0; i < 64; i++, n++) {
      int back = ping_pong && (n & 1);
      if (bench_msg(back ? x->sb : x->sa, back ? x->sa : x->sb, x) < 0) return -1;
    }
    t = os_mono_s() - t0;
  } while (t < secs);
  printf("%-44s %10.0f msg/s  %8.2f us/msg\n",
         ping_pong ? "1 KiB encrypt+decrypt, ping-pong (DH step)" : "1 KiB encrypt+decrypt, one direction",
         (double)n / t, t * 1e6 / (double)n);
  return 0;
}

static int bench_save_load(struct bench *x, double secs) {
  long n = 0;
  size_t len = 0;
  double t0 = os_mono_s(), t;
  do {
    uint8_t *blob = NULL;
    struct e2e_session *s = NULL;
    if (e2e_session_save(x->sb, &blob, &len) < 0 || e2e_session_load(&s, blob, len) < 0)
      return -1;
    free(blob);
    e2e_session_free(s);
    n++;
    t = os_mono_s() - t0;
  } while (t < secs);
  struct e2e_session_info info;
  e2e_session_get_info(x->sb, &info);
  printf("%-44s %10.0f op/s   %8.2f us/op (%zu bytes: %u old chains, %u skipped keys)\n",
         "session save+load", (double)n / t, t * 1e6 / (double)n, len, info.old_chains,
         info.skipped_keys);
  return 0;
}

static int bench_chunks(double secs) {
  static uint8_t pt[CONTENT_CHUNK_BYTES], ct[CONTENT_CHUNK_BYTES + CRYPTO_TAG_LEN];
  uint8_t id[32], key[32];
  long n = 0;
  if (content_blob_new(id, key) < 0) return -1;
  double t0 = os_mono_s(), t;
  do {
    if (content_chunk_seal(ct, pt, sizeof pt, key, id, (uint32_t)(n % 100), 100) < 0 ||
        content_chunk_open(pt, ct, sizeof ct, key, id, (uint32_t)(n % 100), 100) < 0)
      return -1;
    n++;
    t = os_mono_s() - t0;
  } while (t < secs);
  printf("%-44s %10.1f MiB/s (seal+open, 192 KiB chunks)\n", "attachment chunks",
         (double)n * sizeof pt / t / (1024.0 * 1024.0));
  return 0;
}

/* First messages of one suite for secs seconds (suite 2: Bob's prekey has a KEM key). */
static int bench_firsts(struct bench *x, double secs, int suite) {
  double ts = 0, ta = 0;
  long n = 0;
  x->r.pq_alg = suite == E2E_SUITE_X25519_MLKEM768 ? OBJ_PQ_KEM_MLKEM768 : OBJ_PQ_KEM_NONE;
  x->spk.pq_dk = suite == E2E_SUITE_X25519_MLKEM768 ? x->pq_dk : NULL;
  double t0 = os_mono_s();
  do {
    if (bench_first(x, &ts, &ta) < 0) return -1;
    n++;
  } while (os_mono_s() - t0 < secs);
  printf("suite %d first message (1 KiB text): %zu bytes\n", suite, x->first_len);
  printf("%-44s %10.0f op/s   %8.2f us/op\n", "  initiate+encrypt", (double)n / ts,
         ts * 1e6 / (double)n);
  printf("%-44s %10.0f op/s   %8.2f us/op\n", "  parse+accept", (double)n / ta,
         ta * 1e6 / (double)n);
  return 0;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  static struct bench x;
  if (bench_setup(&x)) return 1;
  if (bench_firsts(&x, secs, E2E_SUITE_X25519) < 0 ||
      bench_firsts(&x, secs, E2E_SUITE_X25519_MLKEM768) < 0)
    return 1;
  if (bench_msg(x.sb, x.sa, &x) < 0) return 1; /* Bob replies: plain messages from now */
  if (bench_messages(&x, secs, 0) < 0 || bench_messages(&x, secs, 1) < 0) return 1;
  if (bench_save_load(&x, secs) < 0 || bench_chunks(secs) < 0) return 1;
  e2e_session_free(x.sa);
  e2e_session_free(x.sb);
  return 0;
}
