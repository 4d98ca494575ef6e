/* fuzz_repl_scoped — bytes from a neighbor into a scoped-mode engine: custody grants,
 * acks, routed messages (lookups, one-time prekey claims and their answers), records,
 * record announcements and pulls (lazy push; seeds in corpus/repl_scoped) and scoped recon
 * rounds. The engine holds its own record, one item it owes the peer (a pending grant) and
 * one claim it sent the peer (handle 1), so acks, duplicates and claim answers meet
 * state; claims for this node are answered. Input: ReplMsg bodies behind 2-byte length prefixes. Checks: no crash, no leak,
 * every action drained and freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "obj.h"
#include "repl.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1700000000000ull

static struct crypto_sign_keypair self_kp, peer_kp;
static uint8_t *item;
static size_t item_len;

/* The engine signs its own node record at set-up and when one is due; the bytes are
 * the same in most runs (fixed clock, keys and seed). Ed25519 is deterministic, so a
 * signature remembered for the same bytes is the one crypto_sign would make: the cache
 * saves the signing, not a check. Compared in full, never by a hash. */
#define FUZZ_SIG_CACHE 16
static struct {
  uint8_t *msg;
  size_t len;
  uint8_t sig[64];
} sig_cache[FUZZ_SIG_CACHE];
static size_t sig_next;

static int sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  for (size_t i = 0; i < FUZZ_SIG_CACHE; i++)
    if (sig_cache[i].msg && sig_cache[i].len == len && memcmp(sig_cache[i].msg, msg, len) == 0) {
      memcpy(sig, sig_cache[i].sig, 64);
      return 0;
    }
  int rc = crypto_sign(sig, msg, len, (const struct crypto_sign_keypair *)ctx);
  uint8_t *copy = rc == 0 ? malloc(len ? len : 1) : NULL;
  if (copy) {
    size_t k = sig_next++ % FUZZ_SIG_CACHE;
    free(sig_cache[k].msg);
    memcpy(copy, msg, len);
    sig_cache[k].msg = copy, sig_cache[k].len = len;
    memcpy(sig_cache[k].sig, sig, 64);
  }
  return rc;
}

static void drain(struct repl *r) {
  struct repl_action a;
  while (repl_next_action(r, &a) == 1) {
    if (a.kind == REPL_ACT_SEND) free(a.bytes);
    /* A claim for a device homed here (repl_claim.c): answered, so the answer's path
     * runs too (its SEND is drained by the loop). */
    if (a.kind == REPL_ACT_CLAIM_ASKED && a.claim) {
      a.claim->opk_id = 1;
      if (repl_claim_answer(r, a.claim, a.claim->nonce[0] & 1 ? MOMEDO_E_NOTFOUND : 0,
                            FUZZ_NOW) != 0) {
      }
    }
    free(a.claim);
  }
}

static void setup_once(void) {
  uint8_t seed[CRYPTO_SIGN_SEED_LEN], mbox[OBJ_MAILBOX_LEN], ct[16] = {7};
  if (item) return;
  memset(seed, 0x51, sizeof seed);
  if (crypto_sign_from_seed(&self_kp, seed)) abort();
  memset(seed, 0x52, sizeof seed);
  if (crypto_sign_from_seed(&peer_kp, seed)) abort();
  memset(mbox, 0x33, sizeof mbox);
  ProtobufCBinaryData dest = {OBJ_KEY_LEN, peer_kp.pub};
  Momedo__OzoneItem it = MOMEDO__OZONE_ITEM__INIT;
  it.format = 1;
  it.mailbox = (ProtobufCBinaryData){OBJ_MAILBOX_LEN, mbox};
  it.created_ms = FUZZ_NOW;
  it.expires_ms = FUZZ_NOW + 86400000ull;
  it.ciphertext = (ProtobufCBinaryData){sizeof ct, ct};
  it.node_key = (ProtobufCBinaryData){OBJ_KEY_LEN, self_kp.pub};
  it.n_dest_nodes = 1;
  it.dest_nodes = &dest;
  if (obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, &it.base, &self_kp, &item, &item_len))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct store *s = NULL;
  struct repl *r = NULL;
  setup_once();
  if (store_mem_open(&s)) abort();
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.scope = REPL_SCOPE_SCOPED;
  cfg.recon_start_delay_ms_max = 0;
  memcpy(cfg.self_key, self_kp.pub, OBJ_KEY_LEN);
  cfg.sign = sign_cb;
  cfg.sign_ctx = &self_kp;
  uint64_t now = FUZZ_NOW;
  if (repl_new(&cfg, s, 42, now, &r)) abort();
  if (repl_peer_up(r, 1, peer_kp.pub, now)) abort();
  if (repl_tick(r, now)) abort();
  if (repl_insert_local(r, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, item, item_len, now, NULL))
    abort();
  struct repl_claim c;
  uint64_t handle = 0;
  memset(&c, 0, sizeof c);
  memcpy(c.node, peer_kp.pub, OBJ_KEY_LEN);
  c.created_ms = now;
  if (repl_claim_start(r, &c, now, &handle)) abort();
  drain(r);
  while (size >= 2) {
    size_t n = (size_t)data[0] << 8 | data[1];
    data += 2, size -= 2;
    if (n > size) n = size;
    (void)!repl_on_msg(r, 1, data, n, now);
    drain(r);
    (void)!repl_tick(r, now += 1000);
    drain(r);
    data += n, size -= n;
  }
  repl_free(r);
  store_close(s);
  return 0;
}
