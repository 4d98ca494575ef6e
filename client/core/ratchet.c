/* client/core/ratchet.c — the Double Ratchet (Signal spec, with header-key style session
 * tags): X25519 DH ratchet, HKDF-SHA-256 root KDF, HMAC-SHA-256 chain KDF,
 * XChaCha20-Poly1305 per message, bounded skipped-key store; and the session's
 * versioned serialisation. Decryption plans on a copy and commits only after the
 * AEAD verified, so a duplicate, forged or out-of-window message changes nothing. */
#include "ratchet_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"

#define RATCHET_AD_MAX (RATCHET_AD_LEN + E2E_PREKEY_PREFIX_MAX + RATCHET_HEADER_LEN)
#define RATCHET_SAVE_MAGIC "MDRS"
#define RATCHET_SAVE_VERSION 2 /* 2: the suite after spk_id (1, read: suite 1) */
#define RATCHET_FLAGS_KNOWN 0x3f

/* ---- KDFs ---- */

/* RK, CK, next tag = HKDF(salt = RK, ikm = DH output). */
static int ratchet_kdf_rk(struct ratchet_core *c, uint8_t ck[static RATCHET_KEY_LEN],
                          uint8_t ntag[static RATCHET_TAG_LEN],
                          const uint8_t dh_out[static E2E_KEY_LEN]) {
  uint8_t okm[2 * RATCHET_KEY_LEN + RATCHET_TAG_LEN];
  int rc = crypto_hkdf(okm, sizeof okm, c->rk, RATCHET_KEY_LEN, dh_out, E2E_KEY_LEN,
                       RATCHET_INFO_RK, sizeof RATCHET_INFO_RK - 1);
  if (rc == 0) {
    memcpy(c->rk, okm, RATCHET_KEY_LEN);
    memcpy(ck, okm + RATCHET_KEY_LEN, RATCHET_KEY_LEN);
    memcpy(ntag, okm + 2 * RATCHET_KEY_LEN, RATCHET_TAG_LEN);
  }
  crypto_wipe(okm, sizeof okm);
  return rc;
}

/* MK = HMAC(CK, 0x01), CK' = HMAC(CK, 0x02). */
static int ratchet_kdf_ck(uint8_t ck[static RATCHET_KEY_LEN],
                          uint8_t mk[static RATCHET_KEY_LEN]) {
  static const uint8_t one = 1, two = 2;
  uint8_t next[RATCHET_KEY_LEN];
  int rc = crypto_hmac_sha256(mk, ck, RATCHET_KEY_LEN, &one, 1);
  if (rc == 0) rc = crypto_hmac_sha256(next, ck, RATCHET_KEY_LEN, &two, 1);
  if (rc == 0) memcpy(ck, next, RATCHET_KEY_LEN);
  crypto_wipe(next, sizeof next);
  return rc;
}

#define RATCHET_SALT_OFF (RATCHET_TAG_LEN + E2E_KEY_LEN + 8)

/* AEAD with key and nonce from HKDF(salt 0*32, ikm MK, info RATCHET_INFO_MSG || the
 * header's salt); AD = s->ad || pre || hdr. MK stays the only secret input, so forward
 * secrecy and recovery are the chain's; the public salt only makes (key, nonce) fresh
 * per encryption even when MK repeats (docs/e2e.md, "Fresh randomness per message"). */
static int ratchet_aead(const struct e2e_session *s, int seal, const uint8_t mk[static 32],
                        const uint8_t *pre, size_t pre_len,
                        const uint8_t hdr[static RATCHET_HEADER_LEN], const uint8_t *in,
                        size_t in_len, uint8_t *out) {
  uint8_t okm[CRYPTO_AEAD_KEY_LEN + CRYPTO_XNONCE_LEN], ad[RATCHET_AD_MAX];
  uint8_t info[sizeof RATCHET_INFO_MSG - 1 + E2E_SALT_LEN];
  assert(pre_len <= E2E_PREKEY_PREFIX_MAX);
  static const uint8_t zero[32];
  memcpy(info, RATCHET_INFO_MSG, sizeof RATCHET_INFO_MSG - 1);
  memcpy(info + sizeof RATCHET_INFO_MSG - 1, hdr + RATCHET_SALT_OFF, E2E_SALT_LEN);
  int rc = crypto_hkdf(okm, sizeof okm, zero, sizeof zero, mk, RATCHET_KEY_LEN, info,
                       sizeof info);
  if (rc < 0) goto out;
  memcpy(ad, s->ad, RATCHET_AD_LEN);
  if (pre_len) memcpy(ad + RATCHET_AD_LEN, pre, pre_len);
  memcpy(ad + RATCHET_AD_LEN + pre_len, hdr, RATCHET_HEADER_LEN);
  size_t ad_len = RATCHET_AD_LEN + pre_len + RATCHET_HEADER_LEN;
  if (seal)
    rc = crypto_aead_seal(out, in, in_len, ad, ad_len, okm + CRYPTO_AEAD_KEY_LEN, okm);
  else
    rc = crypto_aead_open(out, in, in_len, ad, ad_len, okm + CRYPTO_AEAD_KEY_LEN, okm);
out:
  crypto_wipe(okm, sizeof okm);
  return rc;
}

/* ---- init ---- */

int ratchet__alloc(struct e2e_session **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : MOMEDO_E_NOMEM;
}

/* The first tag of each side's first chain, from SK: (initiator's, responder's). */
static int ratchet_first_tags(const uint8_t sk[static 32], uint8_t tag_i[RATCHET_TAG_LEN],
                              uint8_t tag_r[RATCHET_TAG_LEN]) {
  uint8_t okm[2 * RATCHET_TAG_LEN];
  static const uint8_t zero[32];
  int rc = crypto_hkdf(okm, sizeof okm, zero, sizeof zero, sk, 32, RATCHET_INFO_TAGS,
                       sizeof RATCHET_INFO_TAGS - 1);
  memcpy(tag_i, okm, RATCHET_TAG_LEN);
  memcpy(tag_r, okm + RATCHET_TAG_LEN, RATCHET_TAG_LEN);
  crypto_wipe(okm, sizeof okm);
  return rc;
}

int ratchet__init_initiator(struct e2e_session *s, const uint8_t sk[static 32],
                            const uint8_t peer_spk[static E2E_KEY_LEN]) {
  struct ratchet_core *c = &s->c;
  uint8_t dh_out[E2E_KEY_LEN];
  memset(c, 0, sizeof *c);
  int rc = ratchet_first_tags(sk, c->tag_s, c->ntag_r);
  if (rc == 0) rc = crypto_dh_keygen(c->dhs_sec, c->dhs_pub);
  if (rc == 0) rc = crypto_dh(dh_out, c->dhs_sec, peer_spk);
  if (rc < 0) goto out;
  memcpy(c->rk, sk, RATCHET_KEY_LEN);
  memcpy(c->dhr, peer_spk, E2E_KEY_LEN);
  c->has_dhr = 1;
  rc = ratchet_kdf_rk(c, c->cks, c->ntag_s, dh_out);
  if (rc == 0) c->has_cks = 1;
out:
  crypto_wipe(dh_out, sizeof dh_out);
  return rc;
}

int ratchet__init_responder(struct e2e_session *s, const uint8_t sk[static 32],
                            const uint8_t spk_sec[static E2E_KEY_LEN],
                            const uint8_t spk_pub[static E2E_KEY_LEN]) {
  struct ratchet_core *c = &s->c;
  memset(c, 0, sizeof *c);
  int rc = ratchet_first_tags(sk, c->ntag_r, c->ntag_s);
  memcpy(c->rk, sk, RATCHET_KEY_LEN);
  memcpy(c->dhs_sec, spk_sec, E2E_KEY_LEN);
  memcpy(c->dhs_pub, spk_pub, E2E_KEY_LEN);
  return rc;
}

/* ---- header ---- */

static int ratchet_header_put(uint8_t hdr[static RATCHET_HEADER_LEN],
                              const struct ratchet_core *c) {
  memcpy(hdr, c->tag_s, RATCHET_TAG_LEN);
  memcpy(hdr + RATCHET_TAG_LEN, c->dhs_pub, E2E_KEY_LEN);
  be32_put(hdr + RATCHET_TAG_LEN + E2E_KEY_LEN, c->pn);
  be32_put(hdr + RATCHET_TAG_LEN + E2E_KEY_LEN + 4, c->ns);
  return crypto_random(hdr + RATCHET_SALT_OFF, E2E_SALT_LEN);
}

struct ratchet_hdr {
  const uint8_t *tag, *dh;
  uint32_t pn, n;
};

static void ratchet_header_get(struct ratchet_hdr *h, const uint8_t hdr[static RATCHET_HEADER_LEN]) {
  h->tag = hdr;
  h->dh = hdr + RATCHET_TAG_LEN;
  h->pn = be32_get(hdr + RATCHET_TAG_LEN + E2E_KEY_LEN);
  h->n = be32_get(hdr + RATCHET_TAG_LEN + E2E_KEY_LEN + 4);
}

/* ---- encrypt ---- */

int ratchet__seal(struct e2e_session *s, const uint8_t *pre, size_t pre_len,
                  const uint8_t *pt, size_t len, uint8_t hdr[static RATCHET_HEADER_LEN],
                  uint8_t *ct) {
  if (!s->c.has_cks) return MOMEDO_E_UNEXPECTED;
  if (s->c.ns >= RATCHET_CHAIN_MSGS_MAX - 1) return MOMEDO_E_QUOTA;
  uint8_t ck[RATCHET_KEY_LEN], mk[RATCHET_KEY_LEN];
  memcpy(ck, s->c.cks, sizeof ck);
  int rc = ratchet_kdf_ck(ck, mk);
  if (rc < 0) goto out;
  if ((rc = ratchet_header_put(hdr, &s->c)) < 0) goto out;
  rc = ratchet_aead(s, 1, mk, pre, pre_len, hdr, pt, len, ct);
  if (rc < 0) goto out;
  memcpy(s->c.cks, ck, sizeof ck);
  s->c.ns++;
out:
  crypto_wipe(ck, sizeof ck);
  crypto_wipe(mk, sizeof mk);
  return rc;
}

/* ---- decrypt ---- */

/* Work area of one decryption: the new core, skipped keys to add, the chain to retire. */
struct ratchet_plan {
  struct ratchet_core c;
  struct ratchet_skipped *add;
  uint32_t n_add;
  int retire;
  struct ratchet_old_chain retired;
};

static int ratchet_skipped_find(const struct e2e_session *s, const uint8_t *dh, uint32_t n) {
  for (uint32_t i = 0; i < s->n_sk; i++)
    if (s->sk[i].n == n && memcmp(s->sk[i].dh, dh, E2E_KEY_LEN) == 0) return (int)i;
  return -1;
}

static const struct ratchet_old_chain *ratchet_old_find(const struct e2e_session *s,
                                                        const uint8_t *dh) {
  for (uint32_t i = 0; i < s->n_old; i++)
    if (memcmp(s->old[i].dh, dh, E2E_KEY_LEN) == 0) return &s->old[i];
  return NULL;
}

/* Derive and remember the receiving chain's keys up to (not including) until. */
static int ratchet_skip(struct ratchet_plan *p, uint32_t until) {
  if (!p->c.has_ckr || until <= p->c.nr) return 0;
  assert(until - p->c.nr <= RATCHET_SKIP_CHAIN_MAX);
  if (p->add == NULL) {
    p->add = malloc(2 * RATCHET_SKIP_CHAIN_MAX * sizeof *p->add);
    if (p->add == NULL) return MOMEDO_E_NOMEM;
  }
  while (p->c.nr < until) {
    struct ratchet_skipped *e = &p->add[p->n_add++];
    assert(p->n_add <= 2 * RATCHET_SKIP_CHAIN_MAX);
    memcpy(e->dh, p->c.dhr, E2E_KEY_LEN);
    e->n = p->c.nr;
    int rc = ratchet_kdf_ck(p->c.ckr, e->mk);
    if (rc < 0) return rc;
    p->c.nr++;
  }
  return 0;
}

/* DH ratchet step on a new peer key: receiving chain, then a fresh sending chain. */
static int ratchet_step(struct ratchet_plan *p, const uint8_t dh[static E2E_KEY_LEN]) {
  struct ratchet_core *c = &p->c;
  uint8_t out[E2E_KEY_LEN];
  c->pn = c->ns;
  c->ns = 0;
  c->nr = 0;
  memcpy(c->dhr, dh, E2E_KEY_LEN);
  c->has_dhr = 1;
  memcpy(c->tag_r, c->ntag_r, RATCHET_TAG_LEN);
  c->has_tag_r = 1;
  int rc = crypto_dh(out, c->dhs_sec, c->dhr);
  if (rc == 0) rc = ratchet_kdf_rk(c, c->ckr, c->ntag_r, out);
  if (rc == 0) rc = crypto_dh_keygen(c->dhs_sec, c->dhs_pub);
  if (rc == 0) rc = crypto_dh(out, c->dhs_sec, c->dhr);
  if (rc == 0) {
    memcpy(c->tag_s, c->ntag_s, RATCHET_TAG_LEN);
    rc = ratchet_kdf_rk(c, c->cks, c->ntag_s, out);
  }
  c->has_ckr = c->has_cks = (rc == 0);
  crypto_wipe(out, sizeof out);
  return rc;
}

/* Decide what the message needs; fill p and mk, or refuse without touching s. */
static int ratchet_plan(const struct e2e_session *s, const struct ratchet_hdr *h,
                        struct ratchet_plan *p, uint8_t mk[static RATCHET_KEY_LEN]) {
  const struct ratchet_core *c = &s->c;
  int rc;
  p->c = *c;
  if (c->has_ckr && memcmp(h->dh, c->dhr, E2E_KEY_LEN) == 0) {
    if (!crypto_ct_eq(h->tag, c->tag_r, RATCHET_TAG_LEN)) return MOMEDO_E_DECRYPT;
    if (h->n < c->nr) return MOMEDO_E_EXISTS;
    if (h->n - c->nr > RATCHET_SKIP_CHAIN_MAX) return MOMEDO_E_BOUNDS;
  } else if (ratchet_old_find(s, h->dh) != NULL) {
    return MOMEDO_E_EXISTS; /* retired chain, key not among the skipped ones */
  } else {
    /* A new chain: the peer stepped. Only the expected next tag is worth a DH. */
    if (!crypto_ct_eq(h->tag, c->ntag_r, RATCHET_TAG_LEN)) return MOMEDO_E_DECRYPT;
    if (h->n > RATCHET_SKIP_CHAIN_MAX) return MOMEDO_E_BOUNDS;
    if (c->has_ckr && h->pn > c->nr && h->pn - c->nr > RATCHET_SKIP_CHAIN_MAX)
      return MOMEDO_E_BOUNDS;
    if ((rc = ratchet_skip(p, h->pn)) < 0) return rc;
    if (c->has_ckr) {
      p->retire = 1;
      memcpy(p->retired.dh, c->dhr, E2E_KEY_LEN);
      memcpy(p->retired.tag, c->tag_r, RATCHET_TAG_LEN);
      p->retired.end = p->c.nr;
    }
    if ((rc = ratchet_step(p, h->dh)) < 0) return rc;
  }
  if ((rc = ratchet_skip(p, h->n)) < 0) return rc;
  if ((rc = ratchet_kdf_ck(p->c.ckr, mk)) < 0) return rc;
  p->c.nr++;
  return 0;
}

static int ratchet_sk_reserve(struct e2e_session *s, uint32_t want) {
  if (want <= s->cap_sk) return 0;
  uint32_t cap = s->cap_sk ? s->cap_sk : 16;
  while (cap < want) cap *= 2;
  if (cap > RATCHET_SKIP_TOTAL_MAX) cap = RATCHET_SKIP_TOTAL_MAX;
  struct ratchet_skipped *n = calloc(cap, sizeof *n);
  if (n == NULL) return MOMEDO_E_NOMEM;
  if (s->n_sk) memcpy(n, s->sk, s->n_sk * sizeof *n);
  if (s->sk) crypto_wipe(s->sk, s->cap_sk * sizeof *s->sk);
  free(s->sk);
  s->sk = n;
  s->cap_sk = cap;
  return 0;
}

static void ratchet_sk_remove(struct e2e_session *s, uint32_t from, uint32_t count) {
  assert(from + count <= s->n_sk);
  memmove(&s->sk[from], &s->sk[from + count], (s->n_sk - from - count) * sizeof *s->sk);
  s->n_sk -= count;
  crypto_wipe(&s->sk[s->n_sk], count * sizeof *s->sk);
}

/* Drop skipped keys whose chain is no longer recognised (fell out of the old list). */
static void ratchet_sk_drop_chain(struct e2e_session *s, const uint8_t *dh) {
  uint32_t w = 0;
  for (uint32_t r = 0; r < s->n_sk; r++)
    if (memcmp(s->sk[r].dh, dh, E2E_KEY_LEN) != 0) s->sk[w++] = s->sk[r];
  if (w < s->n_sk) crypto_wipe(&s->sk[w], (s->n_sk - w) * sizeof *s->sk);
  s->n_sk = w;
}

/* Apply a verified plan. The only failure (E_NOMEM growing the store) happens first. */
static int ratchet_commit(struct e2e_session *s, struct ratchet_plan *p) {
  uint32_t keep = p->n_add > RATCHET_SKIP_TOTAL_MAX ? RATCHET_SKIP_TOTAL_MAX : p->n_add;
  uint32_t total = s->n_sk + keep;
  if (total > RATCHET_SKIP_TOTAL_MAX) total = RATCHET_SKIP_TOTAL_MAX;
  int rc = ratchet_sk_reserve(s, total);
  if (rc < 0) return rc;
  if (p->retire) {
    if (s->n_old == RATCHET_OLD_CHAINS_MAX) {
      ratchet_sk_drop_chain(s, s->old[0].dh);
      memmove(&s->old[0], &s->old[1], (RATCHET_OLD_CHAINS_MAX - 1) * sizeof s->old[0]);
      s->n_old--;
    }
    s->old[s->n_old++] = p->retired;
  }
  if (s->n_sk + keep > RATCHET_SKIP_TOTAL_MAX)
    ratchet_sk_remove(s, 0, s->n_sk + keep - RATCHET_SKIP_TOTAL_MAX); /* oldest first */
  if (keep) {
    memcpy(&s->sk[s->n_sk], &p->add[p->n_add - keep], keep * sizeof *s->sk);
    s->n_sk += keep;
  }
  s->c = p->c;
  s->pending = 0; /* the peer has the session: plain messages from now on */
  return 0;
}

/* The plaintext inside the padding: everything before the last non-zero byte, which
 * must be the 0x80 marker (ISO/IEC 7816-4). Anything else is refused before the session
 * changes, like a failed AEAD. */
static int ratchet_unpad(const uint8_t *pt, size_t n, size_t *len) {
  size_t i = n;
  while (i > 0 && pt[i - 1] == 0) i--;
  if (i == 0 || pt[i - 1] != E2E_PAD_MARK) return MOMEDO_E_DECRYPT;
  *len = i - 1;
  return 0;
}

int ratchet__open(struct e2e_session *s, const uint8_t *pre, size_t pre_len,
                  const uint8_t hdr[static RATCHET_HEADER_LEN], const uint8_t *ct,
                  size_t ct_len, uint8_t *pt, size_t *pt_len) {
  struct ratchet_hdr h;
  struct ratchet_plan p;
  uint8_t mk[RATCHET_KEY_LEN];
  int rc;
  *pt_len = 0;
  if (ct_len < CRYPTO_TAG_LEN) return MOMEDO_E_TRUNCATED;
  ratchet_header_get(&h, hdr);
  memset(&p, 0, sizeof p);
  int idx = ratchet_skipped_find(s, h.dh, h.n);
  if (idx >= 0) {
    rc = ratchet_aead(s, 0, s->sk[idx].mk, pre, pre_len, hdr, ct, ct_len, pt);
    if (rc == 0) rc = ratchet_unpad(pt, ct_len - CRYPTO_TAG_LEN, pt_len);
    if (rc == 0) ratchet_sk_remove(s, (uint32_t)idx, 1);
    return rc < 0 ? MOMEDO_E_DECRYPT : 0;
  }
  rc = ratchet_plan(s, &h, &p, mk);
  if (rc < 0) goto out;
  rc = ratchet_aead(s, 0, mk, pre, pre_len, hdr, ct, ct_len, pt);
  if (rc == 0) rc = ratchet_unpad(pt, ct_len - CRYPTO_TAG_LEN, pt_len);
  if (rc < 0) {
    rc = MOMEDO_E_DECRYPT;
    goto out;
  }
  rc = ratchet_commit(s, &p);
  if (rc < 0) {
    crypto_wipe(pt, ct_len - CRYPTO_TAG_LEN);
    *pt_len = 0;
  }
out:
  crypto_wipe(mk, sizeof mk);
  if (p.add) {
    crypto_wipe(p.add, p.n_add * sizeof *p.add);
    free(p.add);
  }
  crypto_wipe(&p.c, sizeof p.c);
  return rc;
}

int ratchet__matches_tag(const struct e2e_session *s, const uint8_t tag[static RATCHET_TAG_LEN]) {
  if (s->c.has_tag_r && memcmp(tag, s->c.tag_r, RATCHET_TAG_LEN) == 0) return 1;
  if (memcmp(tag, s->c.ntag_r, RATCHET_TAG_LEN) == 0) return 1;
  for (uint32_t i = 0; i < s->n_old; i++)
    if (memcmp(tag, s->old[i].tag, RATCHET_TAG_LEN) == 0) return 1;
  return 0;
}

/* ---- lifetime and info ---- */

void e2e_session_free(struct e2e_session *s) {
  if (s == NULL) return;
  if (s->sk) {
    crypto_wipe(s->sk, s->cap_sk * sizeof *s->sk);
    free(s->sk);
  }
  crypto_wipe(s, sizeof *s);
  free(s);
}

void e2e_session_get_info(const struct e2e_session *s, struct e2e_session_info *info) {
  memset(info, 0, sizeof *info);
  memcpy(info->peer_identity, s->peer_identity, E2E_KEY_LEN);
  memcpy(info->peer_device, s->peer_device, E2E_KEY_LEN);
  memcpy(info->base_key, s->base_key, E2E_KEY_LEN);
  info->initiator = s->initiator;
  info->pending = s->pending;
  info->suite = s->suite;
  info->skipped_keys = s->n_sk;
  info->old_chains = s->n_old;
}

/* ---- serialisation ----
 * "MDRS" | version | flags | ad | peer identity, device, dh | base key | spk_id | suite |
 * [prekey prefix if pending] | rk, dhs_sec, dhs_pub, dhr, cks, ckr | ns, nr, pn |
 * tag_s, ntag_s, tag_r, ntag_r | be16 n_old, (dh, tag, be32 end)* |
 * be16 n_sk, (dh, be32 n, mk)* | SHA-256 of everything before. */

#define RATCHET_OLD_REC (E2E_KEY_LEN + RATCHET_TAG_LEN + 4)
#define RATCHET_SK_REC (E2E_KEY_LEN + 4 + RATCHET_KEY_LEN)

/* The prekey prefix length of a suite (0: unknown). */
static size_t ratchet_prefix_len(uint8_t suite) {
  if (suite == E2E_SUITE_X25519) return E2E_PREKEY_PREFIX_LEN;
  if (suite == E2E_SUITE_X25519_MLKEM768) return E2E_PREKEY_PQ_PREFIX_LEN;
  return 0;
}

static size_t ratchet_saved_len(const struct e2e_session *s) {
  return 4 + 2 + RATCHET_AD_LEN + 4 * E2E_KEY_LEN + 4 + 1 +
         (s->pending ? ratchet_prefix_len(s->suite) : 0) + 6 * E2E_KEY_LEN + 12 +
         4 * RATCHET_TAG_LEN + 2 + s->n_old * RATCHET_OLD_REC + 2 +
         s->n_sk * RATCHET_SK_REC + CRYPTO_HASH_LEN;
}

static uint8_t ratchet_flags(const struct e2e_session *s) {
  const struct ratchet_core *c = &s->c;
  return (uint8_t)(s->initiator | s->pending << 1 | c->has_dhr << 2 | c->has_cks << 3 |
                   c->has_ckr << 4 | c->has_tag_r << 5);
}

static int ratchet_put_body(struct cursor *w, const struct e2e_session *s) {
  const struct ratchet_core *c = &s->c;
  int rc = cursor_put_bytes(w, RATCHET_SAVE_MAGIC, 4);
  if (rc == 0) rc = cursor_put_u8(w, RATCHET_SAVE_VERSION);
  if (rc == 0) rc = cursor_put_u8(w, ratchet_flags(s));
  const void *fixed[] = {s->ad, s->peer_identity, s->peer_device, s->peer_dh, s->base_key};
  const size_t fixed_len[] = {RATCHET_AD_LEN, E2E_KEY_LEN, E2E_KEY_LEN, E2E_KEY_LEN,
                              E2E_KEY_LEN};
  for (size_t i = 0; rc == 0 && i < 5; i++) rc = cursor_put_bytes(w, fixed[i], fixed_len[i]);
  if (rc == 0) rc = cursor_put_be32(w, s->spk_id);
  if (rc == 0) rc = cursor_put_u8(w, s->suite);
  if (rc == 0 && s->pending)
    rc = cursor_put_bytes(w, s->prekey_prefix, ratchet_prefix_len(s->suite));
  const uint8_t *keys[] = {c->rk, c->dhs_sec, c->dhs_pub, c->dhr, c->cks, c->ckr};
  for (size_t i = 0; rc == 0 && i < 6; i++) rc = cursor_put_bytes(w, keys[i], E2E_KEY_LEN);
  if (rc == 0) rc = cursor_put_be32(w, c->ns);
  if (rc == 0) rc = cursor_put_be32(w, c->nr);
  if (rc == 0) rc = cursor_put_be32(w, c->pn);
  const uint8_t *tags[] = {c->tag_s, c->ntag_s, c->tag_r, c->ntag_r};
  for (size_t i = 0; rc == 0 && i < 4; i++) rc = cursor_put_bytes(w, tags[i], RATCHET_TAG_LEN);
  if (rc == 0) rc = cursor_put_be16(w, (uint16_t)s->n_old);
  for (uint32_t i = 0; rc == 0 && i < s->n_old; i++) {
    rc = cursor_put_bytes(w, s->old[i].dh, E2E_KEY_LEN);
    if (rc == 0) rc = cursor_put_bytes(w, s->old[i].tag, RATCHET_TAG_LEN);
    if (rc == 0) rc = cursor_put_be32(w, s->old[i].end);
  }
  if (rc == 0) rc = cursor_put_be16(w, (uint16_t)s->n_sk);
  for (uint32_t i = 0; rc == 0 && i < s->n_sk; i++) {
    rc = cursor_put_bytes(w, s->sk[i].dh, E2E_KEY_LEN);
    if (rc == 0) rc = cursor_put_be32(w, s->sk[i].n);
    if (rc == 0) rc = cursor_put_bytes(w, s->sk[i].mk, RATCHET_KEY_LEN);
  }
  return rc;
}

int e2e_session_save(const struct e2e_session *s, uint8_t **out, size_t *out_len) {
  size_t len = ratchet_saved_len(s);
  uint8_t *buf = malloc(len);
  struct cursor w;
  int rc;
  *out = NULL;
  *out_len = 0;
  if (buf == NULL) return MOMEDO_E_NOMEM;
  cursor_init(&w, buf, len);
  rc = ratchet_put_body(&w, s);
  if (rc == 0) rc = crypto_sha256(buf + w.pos, buf, w.pos);
  if (rc == 0 && w.pos + CRYPTO_HASH_LEN != len) rc = MOMEDO_E_INTERNAL;
  if (rc < 0) {
    crypto_wipe(buf, len);
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = len;
  return 0;
}

static int ratchet_get_header(struct cursor *r, struct e2e_session *s, uint8_t *version_out) {
  uint8_t magic[4], version, flags;
  int rc = cursor_get_bytes(r, magic, 4);
  if (rc == 0) rc = cursor_get_u8(r, &version);
  if (rc == 0) rc = cursor_get_u8(r, &flags);
  if (rc < 0) return rc;
  if (memcmp(magic, RATCHET_SAVE_MAGIC, 4) != 0) return MOMEDO_E_CORRUPT;
  if (version < 1 || version > RATCHET_SAVE_VERSION) return MOMEDO_E_VERSION;
  *version_out = version;
  if (flags & ~RATCHET_FLAGS_KNOWN) return MOMEDO_E_CORRUPT;
  s->initiator = flags & 1;
  s->pending = flags >> 1 & 1;
  s->c.has_dhr = flags >> 2 & 1;
  s->c.has_cks = flags >> 3 & 1;
  s->c.has_ckr = flags >> 4 & 1;
  s->c.has_tag_r = flags >> 5 & 1;
  if (s->pending && !s->initiator) return MOMEDO_E_CORRUPT;
  return 0;
}

static int ratchet_get_body(struct cursor *r, struct e2e_session *s) {
  struct ratchet_core *c = &s->c;
  uint8_t version = 0;
  int rc = ratchet_get_header(r, s, &version);
  uint8_t *fixed[] = {s->ad, s->peer_identity, s->peer_device, s->peer_dh, s->base_key};
  const size_t fixed_len[] = {RATCHET_AD_LEN, E2E_KEY_LEN, E2E_KEY_LEN, E2E_KEY_LEN,
                              E2E_KEY_LEN};
  for (size_t i = 0; rc == 0 && i < 5; i++) rc = cursor_get_bytes(r, fixed[i], fixed_len[i]);
  if (rc == 0) rc = cursor_get_be32(r, &s->spk_id);
  s->suite = E2E_SUITE_X25519;
  if (rc == 0 && version >= 2) rc = cursor_get_u8(r, &s->suite);
  if (rc == 0 && ratchet_prefix_len(s->suite) == 0) rc = MOMEDO_E_VERSION;
  if (rc == 0 && s->pending)
    rc = cursor_get_bytes(r, s->prekey_prefix, ratchet_prefix_len(s->suite));
  uint8_t *keys[] = {c->rk, c->dhs_sec, c->dhs_pub, c->dhr, c->cks, c->ckr};
  for (size_t i = 0; rc == 0 && i < 6; i++) rc = cursor_get_bytes(r, keys[i], E2E_KEY_LEN);
  if (rc == 0) rc = cursor_get_be32(r, &c->ns);
  if (rc == 0) rc = cursor_get_be32(r, &c->nr);
  if (rc == 0) rc = cursor_get_be32(r, &c->pn);
  uint8_t *tags[] = {c->tag_s, c->ntag_s, c->tag_r, c->ntag_r};
  for (size_t i = 0; rc == 0 && i < 4; i++) rc = cursor_get_bytes(r, tags[i], RATCHET_TAG_LEN);
  uint16_t n16 = 0;
  if (rc == 0) rc = cursor_get_be16(r, &n16);
  if (rc == 0 && n16 > RATCHET_OLD_CHAINS_MAX) rc = MOMEDO_E_CORRUPT;
  for (uint32_t i = 0; rc == 0 && i < n16; i++, s->n_old++) {
    rc = cursor_get_bytes(r, s->old[i].dh, E2E_KEY_LEN);
    if (rc == 0) rc = cursor_get_bytes(r, s->old[i].tag, RATCHET_TAG_LEN);
    if (rc == 0) rc = cursor_get_be32(r, &s->old[i].end);
  }
  if (rc == 0) rc = cursor_get_be16(r, &n16);
  if (rc == 0 && n16 > RATCHET_SKIP_TOTAL_MAX) rc = MOMEDO_E_CORRUPT;
  if (rc == 0) rc = ratchet_sk_reserve(s, n16);
  for (uint32_t i = 0; rc == 0 && i < n16; i++, s->n_sk++) {
    rc = cursor_get_bytes(r, s->sk[i].dh, E2E_KEY_LEN);
    if (rc == 0) rc = cursor_get_be32(r, &s->sk[i].n);
    if (rc == 0) rc = cursor_get_bytes(r, s->sk[i].mk, RATCHET_KEY_LEN);
  }
  return rc;
}

/* Cross-field rules a saved session must satisfy. */
static int ratchet_check_loaded(const struct e2e_session *s) {
  const struct ratchet_core *c = &s->c;
  uint8_t pub[E2E_KEY_LEN];
  if (c->ns >= RATCHET_CHAIN_MSGS_MAX || c->nr >= RATCHET_CHAIN_MSGS_MAX ||
      c->pn >= RATCHET_CHAIN_MSGS_MAX)
    return MOMEDO_E_CORRUPT;
  if ((c->has_ckr && !c->has_dhr) || (c->has_ckr && !c->has_tag_r)) return MOMEDO_E_CORRUPT;
  if (s->pending && s->prekey_prefix[0] < E2E_VERSION) return MOMEDO_E_VERSION;
  int typed = s->suite != E2E_SUITE_X25519; /* type 3: the suite byte before EK_A */
  if (s->pending &&
      (s->prekey_prefix[0] != E2E_VERSION ||
       s->prekey_prefix[1] != (typed ? E2E_TYPE_PREKEY_SUITE : E2E_TYPE_PREKEY) ||
       (typed && s->prekey_prefix[2] != s->suite) ||
       memcmp(s->prekey_prefix + 2 + typed, s->base_key, E2E_KEY_LEN) != 0))
    return MOMEDO_E_CORRUPT;
  for (uint32_t i = 0; i < s->n_sk; i++) {
    int known = c->has_ckr && memcmp(s->sk[i].dh, c->dhr, E2E_KEY_LEN) == 0;
    if (!known && ratchet_old_find(s, s->sk[i].dh) == NULL) return MOMEDO_E_CORRUPT;
  }
  if (crypto_dh_public(pub, c->dhs_sec) < 0 || memcmp(pub, c->dhs_pub, E2E_KEY_LEN) != 0)
    return MOMEDO_E_CORRUPT;
  return 0;
}

int e2e_session_load(struct e2e_session **out, const uint8_t *buf, size_t len) {
  struct e2e_session *s = NULL;
  uint8_t sum[CRYPTO_HASH_LEN];
  struct cursor r;
  int rc;
  *out = NULL;
  if (len > E2E_SESSION_BYTES_MAX) return MOMEDO_E_TOOBIG;
  if (len < 6 + CRYPTO_HASH_LEN) return MOMEDO_E_TRUNCATED;
  if ((rc = crypto_sha256(sum, buf, len - CRYPTO_HASH_LEN)) < 0) return rc;
  if (!crypto_ct_eq(sum, buf + len - CRYPTO_HASH_LEN, CRYPTO_HASH_LEN))
    return MOMEDO_E_CORRUPT;
  if ((rc = ratchet__alloc(&s)) < 0) return rc;
  cursor_init(&r, (uint8_t *)buf, len - CRYPTO_HASH_LEN);
  rc = ratchet_get_body(&r, s);
  if (rc == MOMEDO_E_TRUNCATED || (rc == 0 && cursor_left(&r) != 0)) rc = MOMEDO_E_CORRUPT;
  if (rc == 0) rc = ratchet_check_loaded(s);
  if (rc < 0) {
    e2e_session_free(s);
    return rc;
  }
  *out = s;
  return 0;
}
