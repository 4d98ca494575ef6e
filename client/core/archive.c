/* client/core/archive.c — the compliance archive's formats and verifier: one entry or
 * checkpoint as a canonical JSON line (a strict scanner accepts exactly what the encoder
 * writes), the chain rule, and archive_verify_dir, which reads an untrusted file set
 * with a bound on every line, file and count. The live log is archive_log.c's. */
#include "archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"

static const char *const kind_names[ARCHIVE_KIND_N] = {"text", "file", "location", "other",
                                                       "prune"};

const char *archive_kind_name(int kind) {
  return kind >= 0 && kind < ARCHIVE_KIND_N ? kind_names[kind] : "?";
}

void archive_day(char out[static ARCHIVE_DAY_LEN + 1], uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  unsigned y = (unsigned)(tm.tm_year + 1900) % 10000, m = (unsigned)tm.tm_mon % 12 + 1,
           d = (unsigned)tm.tm_mday % 32;
  snprintf(out, ARCHIVE_DAY_LEN + 1, "%04u-%02u-%02u", y, m, d);
}

int archive_day_start(const char *day, uint64_t *ms) {
  int y, m, d;
  char back[ARCHIVE_DAY_LEN + 1];
  if (day == NULL || strlen(day) != ARCHIVE_DAY_LEN || sscanf(day, "%4d-%2d-%2d", &y, &m, &d) != 3)
    return MOMEDO_E_INVAL;
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return MOMEDO_E_INVAL;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
  time_t t = timegm(&tm);
  if (t < 0) return MOMEDO_E_INVAL;
  *ms = (uint64_t)t * 1000;
  archive_day(back, *ms);
  return strcmp(back, day) == 0 ? 0 : MOMEDO_E_INVAL; /* 2026-02-31 */
}

/* ---- encoding ---- */

struct outbuf {
  char *p;
  size_t cap, n;
  int over;
};

static void put(struct outbuf *o, const char *s, size_t n) {
  if (o->over || n > o->cap - o->n) {
    o->over = 1;
    return;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
}

static void put_s(struct outbuf *o, const char *s) { put(o, s, strlen(s)); }

static void put_u64(struct outbuf *o, uint64_t v) {
  char b[24];
  put(o, b, (size_t)snprintf(b, sizeof b, "%llu", (unsigned long long)v));
}

static void put_hex(struct outbuf *o, const uint8_t *d, size_t n) {
  char b[2 * 64 + 1];
  for (size_t i = 0; i < n; i += 64) {
    size_t k = n - i < 64 ? n - i : 64;
    hex_encode(b, sizeof b, d + i, k);
    put(o, b, 2 * k);
  }
}

static int entry_hash(uint8_t h[static 32], const char *line, size_t n) {
  struct crypto_part parts[2] = {{ARCHIVE_DOMAIN_ENTRY, sizeof ARCHIVE_DOMAIN_ENTRY - 1},
                                 {line, n}};
  return crypto_sha256_parts(h, parts, 2);
}

int archive_entry_encode(struct archive_entry *e, char *line, size_t cap, size_t *len) {
  struct outbuf o = {line, cap, 0, 0};
  if (e->kind < 0 || e->kind >= ARCHIVE_KIND_N || e->body_len > ARCHIVE_BODY_BYTES_MAX)
    return MOMEDO_E_BOUNDS;
  int rc = crypto_sha256(e->body_sha256, e->body, e->body_len);
  if (rc < 0) return rc;
  put_s(&o, "{\"seq\":"), put_u64(&o, e->seq);
  put_s(&o, ",\"archived_ms\":"), put_u64(&o, e->archived_ms);
  put_s(&o, ",\"sent_ms\":"), put_u64(&o, e->sent_ms);
  put_s(&o, ",\"kind\":\""), put_s(&o, kind_names[e->kind]);
  put_s(&o, "\",\"conv\":\""), put_hex(&o, e->conv, 32);
  put_s(&o, "\",\"sender\":\""), put_hex(&o, e->sender, 32);
  put_s(&o, "\",\"body_sha256\":\""), put_hex(&o, e->body_sha256, 32);
  put_s(&o, "\",\"att_sha256\":\"");
  if (e->has_att) put_hex(&o, e->att_sha256, 32);
  put_s(&o, "\",\"body\":\""), put_hex(&o, e->body, e->body_len);
  put_s(&o, "\",\"prev\":\""), put_hex(&o, e->prev, 32);
  put_s(&o, "\"");
  if (o.over) return MOMEDO_E_NOSPACE;
  if ((rc = entry_hash(e->hash, line, o.n)) < 0) return rc;
  put_s(&o, ",\"hash\":\""), put_hex(&o, e->hash, 32), put_s(&o, "\"}");
  if (o.over) return MOMEDO_E_NOSPACE;
  *len = o.n;
  return 0;
}

/* ---- strict scanning ---- */

struct scan {
  const char *p;
  size_t n, i;
  int bad;
};

static void lit(struct scan *s, const char *l) {
  size_t k = strlen(l);
  if (s->bad || s->n - s->i < k || memcmp(s->p + s->i, l, k) != 0) {
    s->bad = 1;
    return;
  }
  s->i += k;
}

/* Decimal without leading zeros, no overflow. */
static uint64_t num(struct scan *s) {
  uint64_t v = 0;
  size_t i0 = s->i;
  while (!s->bad && s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9') {
    unsigned d = (unsigned)(s->p[s->i] - '0');
    if (v > (UINT64_MAX - d) / 10) s->bad = 1;
    v = v * 10 + d;
    s->i++;
  }
  if (s->i == i0 || (s->i - i0 > 1 && s->p[i0] == '0')) s->bad = 1;
  return v;
}

/* Lower-case hex up to the closing quote (not consumed): its length in digits. */
static size_t hexrun(struct scan *s) {
  size_t i0 = s->i;
  while (!s->bad && s->i < s->n && ((s->p[s->i] >= '0' && s->p[s->i] <= '9') ||
                                    (s->p[s->i] >= 'a' && s->p[s->i] <= 'f')))
    s->i++;
  return s->i - i0;
}

static void hexfix(struct scan *s, uint8_t *out, size_t n) {
  size_t i0 = s->i;
  if (s->bad) return;
  if (hexrun(s) != 2 * n || hex_decode(out, n, s->p + i0, 2 * n) != 0) s->bad = 1;
}

static int kind_scan(struct scan *s) {
  for (int k = 0; k < ARCHIVE_KIND_N; k++) {
    size_t l = strlen(kind_names[k]);
    if (!s->bad && s->n - s->i > l && memcmp(s->p + s->i, kind_names[k], l) == 0 &&
        s->p[s->i + l] == '"') {
      s->i += l;
      return k;
    }
  }
  s->bad = 1;
  return -1;
}

static int why_set(char why[static ARCHIVE_WHY_MAX], int rc, const char *msg) {
  snprintf(why, ARCHIVE_WHY_MAX, "%s", msg);
  return rc;
}

static void scan_body(struct scan *s, struct archive_entry *e, uint8_t *body_buf) {
  size_t i0 = s->i, k = hexrun(s);
  if (s->bad || k % 2 || k / 2 > ARCHIVE_BODY_BYTES_MAX ||
      hex_decode(body_buf, k / 2, s->p + i0, k) != 0) {
    s->bad = 1;
    return;
  }
  e->body = body_buf, e->body_len = k / 2;
}

int archive_entry_parse(struct archive_entry *e, const char *line, size_t len,
                        uint8_t *body_buf, char why[static ARCHIVE_WHY_MAX]) {
  struct scan s = {line, len, 0, 0};
  uint8_t h[32], bh[32];
  memset(e, 0, sizeof *e);
  why[0] = 0;
  if (len > ARCHIVE_LINE_BYTES_MAX) return why_set(why, MOMEDO_E_TOOBIG, "line too long");
  lit(&s, "{\"seq\":"), e->seq = num(&s);
  lit(&s, ",\"archived_ms\":"), e->archived_ms = num(&s);
  lit(&s, ",\"sent_ms\":"), e->sent_ms = num(&s);
  lit(&s, ",\"kind\":\""), e->kind = kind_scan(&s);
  lit(&s, "\",\"conv\":\""), hexfix(&s, e->conv, 32);
  lit(&s, "\",\"sender\":\""), hexfix(&s, e->sender, 32);
  lit(&s, "\",\"body_sha256\":\""), hexfix(&s, e->body_sha256, 32);
  lit(&s, "\",\"att_sha256\":\"");
  if (!s.bad && s.i < s.n && s.p[s.i] != '"') hexfix(&s, e->att_sha256, 32), e->has_att = 1;
  lit(&s, "\",\"body\":\""), scan_body(&s, e, body_buf);
  lit(&s, "\",\"prev\":\""), hexfix(&s, e->prev, 32);
  lit(&s, "\"");
  size_t hashed = s.i;
  lit(&s, ",\"hash\":\""), hexfix(&s, e->hash, 32);
  lit(&s, "\"}");
  if (s.bad || s.i != s.n) return why_set(why, MOMEDO_E_CORRUPT, "not a well-formed entry line");
  int rc = crypto_sha256(bh, e->body, e->body_len);
  if (rc == 0) rc = entry_hash(h, line, hashed);
  if (rc < 0) return why_set(why, rc, "hashing failed");
  if (memcmp(bh, e->body_sha256, 32) != 0)
    return why_set(why, MOMEDO_E_CHECKSUM, "body does not match its body_sha256");
  if (memcmp(h, e->hash, 32) != 0)
    return why_set(why, MOMEDO_E_CHECKSUM, "entry hash does not match its content");
  return 0;
}

/* ---- checkpoints ---- */

static int cp_body(const struct archive_checkpoint *cp, struct outbuf *o) {
  put_s(o, "{\"day\":\""), put(o, cp->day, ARCHIVE_DAY_LEN);
  put_s(o, "\",\"seq\":"), put_u64(o, cp->seq);
  put_s(o, ",\"count\":"), put_u64(o, cp->count);
  put_s(o, ",\"head\":\""), put_hex(o, cp->head, 32);
  put_s(o, "\",\"key\":\""), put_hex(o, cp->key, 32);
  put_s(o, "\"");
  return o->over ? MOMEDO_E_NOSPACE : 0;
}

/* What a checkpoint's or manifest's signature covers: its domain, then its line up to
 * ,"sig". */
static int signed_msg(const char *domain, uint8_t *msg, size_t cap, const char *body, size_t n,
                      size_t *len) {
  size_t d = strlen(domain);
  if (d + n > cap) return MOMEDO_E_NOSPACE;
  memcpy(msg, domain, d);
  memcpy(msg + d, body, n);
  *len = d + n;
  return 0;
}

/* Sign what o holds (a line up to ,"sig") under domain into sig, append the signature
 * and close the line: its length into *len. */
static int sign_line(struct outbuf *o, const char *domain, const struct crypto_sign_keypair *kp,
                     uint8_t sig[static CRYPTO_SIG_LEN], size_t *len) {
  uint8_t msg[ARCHIVE_CP_LINE_BYTES_MAX + 64];
  size_t ml = 0;
  int rc = o->over ? MOMEDO_E_NOSPACE : 0;
  if (rc == 0) rc = signed_msg(domain, msg, sizeof msg, o->p, o->n, &ml);
  if (rc == 0) rc = crypto_sign(sig, msg, ml, kp);
  if (rc < 0) return rc;
  put_s(o, ",\"sig\":\""), put_hex(o, sig, CRYPTO_SIG_LEN), put_s(o, "\"}");
  if (o->over) return MOMEDO_E_NOSPACE;
  *len = o->n;
  return 0;
}

int archive_checkpoint_sign(struct archive_checkpoint *cp, const struct crypto_sign_keypair *kp,
                            char *line, size_t cap, size_t *len) {
  struct outbuf o = {line, cap, 0, 0};
  memcpy(cp->key, kp->pub, 32);
  int rc = cp_body(cp, &o);
  return rc < 0 ? rc : sign_line(&o, ARCHIVE_DOMAIN_CP, kp, cp->sig, len);
}

/* The tail of a signed line: ,"sig":"…"} ending the line; the signature under domain over
 * the line up to it and key. E_CORRUPT (shape; or ok == 0: the caller's field checks),
 * E_BADSIG. */
static int verify_tail(struct scan *s, int ok, const char *domain,
                       uint8_t sig[static CRYPTO_SIG_LEN], const uint8_t key[static 32]) {
  uint8_t msg[ARCHIVE_CP_LINE_BYTES_MAX + 64];
  size_t body = s->i, ml = 0;
  lit(s, ",\"sig\":\""), hexfix(s, sig, CRYPTO_SIG_LEN);
  lit(s, "\"}");
  if (s->bad || s->i != s->n || !ok) return MOMEDO_E_CORRUPT;
  int rc = signed_msg(domain, msg, sizeof msg, s->p, body, &ml);
  if (rc == 0) rc = crypto_verify(sig, msg, ml, key) == 0 ? 0 : MOMEDO_E_BADSIG;
  return rc;
}

int archive_checkpoint_parse(struct archive_checkpoint *cp, const char *line, size_t len) {
  struct scan s = {line, len, 0, 0};
  uint64_t t;
  memset(cp, 0, sizeof *cp);
  if (len > ARCHIVE_CP_LINE_BYTES_MAX) return MOMEDO_E_TOOBIG;
  lit(&s, "{\"day\":\"");
  if (!s.bad && s.n - s.i >= ARCHIVE_DAY_LEN) {
    memcpy(cp->day, s.p + s.i, ARCHIVE_DAY_LEN);
    s.i += ARCHIVE_DAY_LEN;
    if (archive_day_start(cp->day, &t) != 0) s.bad = 1;
  } else {
    s.bad = 1;
  }
  lit(&s, "\",\"seq\":"), cp->seq = num(&s);
  lit(&s, ",\"count\":"), cp->count = num(&s);
  lit(&s, ",\"head\":\""), hexfix(&s, cp->head, 32);
  lit(&s, "\",\"key\":\""), hexfix(&s, cp->key, 32);
  lit(&s, "\"");
  return verify_tail(&s, cp->count == cp->seq + 1, ARCHIVE_DOMAIN_CP, cp->sig, cp->key);
}

/* ---- export manifests ---- */

int archive_manifest_sign(struct archive_manifest *m, const struct crypto_sign_keypair *kp,
                          char *line, size_t cap, size_t *len) {
  struct outbuf o = {line, cap, 0, 0};
  memcpy(m->key, kp->pub, 32);
  put_s(&o, "{\"entries\":"), put_u64(&o, m->n);
  put_s(&o, ",\"first\":"), put_u64(&o, m->first);
  put_s(&o, ",\"last\":"), put_u64(&o, m->last);
  put_s(&o, ",\"head\":\""), put_hex(&o, m->head, 32);
  put_s(&o, "\",\"key\":\""), put_hex(&o, m->key, 32);
  put_s(&o, "\"");
  return sign_line(&o, ARCHIVE_DOMAIN_MANIFEST, kp, m->sig, len);
}

int archive_manifest_parse(struct archive_manifest *m, const char *line, size_t len) {
  struct scan s = {line, len, 0, 0};
  memset(m, 0, sizeof *m);
  if (len > ARCHIVE_CP_LINE_BYTES_MAX) return MOMEDO_E_TOOBIG;
  lit(&s, "{\"entries\":"), m->n = num(&s);
  lit(&s, ",\"first\":"), m->first = num(&s);
  lit(&s, ",\"last\":"), m->last = num(&s);
  lit(&s, ",\"head\":\""), hexfix(&s, m->head, 32);
  lit(&s, "\",\"key\":\""), hexfix(&s, m->key, 32);
  lit(&s, "\"");
  int ok = m->n == 0 || (m->last >= m->first && m->last - m->first + 1 == m->n);
  return verify_tail(&s, ok, ARCHIVE_DOMAIN_MANIFEST, m->sig, m->key);
}
