/* fuzz_archive — the archive verifier's parsers (`momedo archive verify` reads file sets
 * it does not trust): checkpoint lines (each also as an export manifest), then entry
 * lines, through archive_verifier_*.
 * Input: checkpoint lines, a blank line, entry lines. The archive's key is fixed.
 * Invariants: only 0 or a known negative code; an entry line that parses re-encodes to
 * the same bytes (one canonical form); a failed report names a reason and is not ok.
 * MOMEDO_FUZZ_SEED_DIR=DIR writes a valid file set's bytes as one seed there and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_DAY0 1796601600000ull

static struct crypto_sign_keypair fz_kp;
static uint8_t *fz_body;
static char *fz_line;

/* 0 or a code of the status table (momedo_strerror never returns NULL: ask for the
 * name, which is "E_UNKNOWN" for a code the table lacks). */
static int fz_known(int rc) {
  return rc == 0 ||
         (rc <= -100 && rc >= -999 && strcmp(momedo_status_name(rc), "E_UNKNOWN") != 0);
}

/* A valid input: two checkpoints and four entries. */
static void fz_write_seed(const char *dir) {
  char path[512], buf[8192];
  size_t n = 0, k = 0;
  uint8_t prev[32], conv[32], who[32];
  memset(prev, 0, 32), memset(conv, 7, 32), memset(who, 9, 32);
  char entries[4096];
  size_t en = 0;
  struct archive_checkpoint cp[2];
  for (uint64_t i = 0; i < 4; i++) {
    struct archive_entry e;
    memset(&e, 0, sizeof e);
    e.seq = i, e.archived_ms = FZ_DAY0 + i * ARCHIVE_DAY_MS / 2, e.sent_ms = e.archived_ms;
    e.kind = (int)(i % 3), e.body = (const uint8_t *)"Antrag", e.body_len = 6;
    memcpy(e.conv, conv, 32), memcpy(e.sender, who, 32), memcpy(e.prev, prev, 32);
    if (archive_entry_encode(&e, entries + en, sizeof entries - en - 1, &k) != 0) abort();
    en += k, entries[en++] = '\n';
    memcpy(prev, e.hash, 32);
    if (i == 1 || i == 3) {
      struct archive_checkpoint *c = &cp[i / 2];
      memset(c, 0, sizeof *c);
      archive_day(c->day, e.archived_ms + 1000);
      c->seq = i, c->count = i + 1;
      memcpy(c->head, e.hash, 32);
      if (archive_checkpoint_sign(c, &fz_kp, buf + n, sizeof buf - n - 1, &k) != 0) abort();
      n += k, buf[n++] = '\n';
    }
  }
  buf[n++] = '\n';
  memcpy(buf + n, entries, en), n += en;
  snprintf(path, sizeof path, "%s/valid", dir);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(buf, 1, n, f) != n) abort();
  fclose(f);
}

static void fz_init(void) {
  uint8_t seed[32];
  memset(seed, 0x5a, 32);
  if (crypto_sign_from_seed(&fz_kp, seed) != 0) abort();
  fz_body = malloc(ARCHIVE_BODY_BYTES_MAX);
  fz_line = malloc(ARCHIVE_LINE_BYTES_MAX + 1);
  if (fz_body == NULL || fz_line == NULL) abort();
  const char *d = getenv("MOMEDO_FUZZ_SEED_DIR");
  if (d) {
    fz_write_seed(d);
    exit(0);
  }
}

/* One entry line on its own: parse, and re-encode what parsed. */
static void fz_entry_alone(const char *l, size_t n) {
  struct archive_entry e;
  char why[ARCHIVE_WHY_MAX];
  size_t k = 0;
  int rc = archive_entry_parse(&e, l, n, fz_body, why);
  if (!fz_known(rc)) abort();
  if (rc != 0) {
    if (why[0] == 0) abort();
    return;
  }
  struct archive_entry c = e;
  if (archive_entry_encode(&c, fz_line, ARCHIVE_LINE_BYTES_MAX, &k) != 0) abort();
  if (k != n || memcmp(fz_line, l, n) != 0 || memcmp(c.hash, e.hash, 32) != 0) abort();
}

/* The same line as an export's manifest: a parsed one signed by the fixed key signs
 * again to the same bytes (canonical form, deterministic Ed25519). */
static void fz_manifest(const char *l, size_t n) {
  struct archive_manifest m;
  char again[ARCHIVE_CP_LINE_BYTES_MAX + 1];
  size_t k = 0;
  int rc = archive_manifest_parse(&m, l, n);
  if (!fz_known(rc)) abort();
  if (rc != 0 || memcmp(m.key, fz_kp.pub, 32) != 0) return;
  if (archive_manifest_sign(&m, &fz_kp, again, sizeof again, &k) != 0) abort();
  if (k != n || memcmp(again, l, n) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  struct archive_verifier *v = NULL;
  struct archive_report r;
  if (!init) fz_init(), init = 1;
  if (archive_verifier_new(&v, fz_kp.pub) != 0) abort();
  const char *p = (const char *)data;
  size_t i = 0;
  int in_entries = 0;
  while (i < size) {
    const char *nl = memchr(p + i, '\n', size - i);
    size_t l = nl ? (size_t)(nl - (p + i)) : size - i;
    int rc;
    if (!in_entries && l == 0) {
      in_entries = 1;
    } else if (!in_entries) {
      rc = archive_verifier_checkpoint(v, p + i, l);
      if (!fz_known(rc)) abort();
      fz_manifest(p + i, l);
    } else {
      fz_entry_alone(p + i, l);
      rc = archive_verifier_entry(v, p + i, l, NULL);
      if (!fz_known(rc)) abort();
    }
    i += l + 1;
  }
  int rc = archive_verifier_finish(v, &r);
  if (!fz_known(rc) || (rc == 0) != r.ok || (rc != 0 && r.why[0] == 0)) abort();
  archive_verifier_free(v);
  return 0;
}
