/* client/core/archive_verify.c — the archive verifier: checkpoints (signature by the
 * archive's key, days strictly increasing), then entries in file order (each line's own
 * hashes, consecutive sequence numbers, each entry naming the previous one's hash, the
 * signed checkpoint heads), and archive_verify_dir, which reads a file set it does not
 * trust with a bound on every line, file and count. Reports the first bad entry. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "hex.h"

struct archive_verifier {
  uint8_t key[32];
  struct archive_checkpoint *cp;
  size_t n_cp, cap_cp, cp_i;
  int have_prev;
  uint64_t prev_seq;
  uint8_t prev_hash[32];
  int rc;                     /* first failure, sticky */
  struct archive_report r;
  uint8_t *body;
};

int archive_verifier_new(struct archive_verifier **out, const uint8_t key[static 32]) {
  struct archive_verifier *v = calloc(1, sizeof *v);
  *out = NULL;
  if (v == NULL || (v->body = malloc(ARCHIVE_BODY_BYTES_MAX)) == NULL) {
    free(v);
    return MOMEDO_E_NOMEM;
  }
  memcpy(v->key, key, 32);
  *out = v;
  return 0;
}

void archive_verifier_free(struct archive_verifier *v) {
  if (v == NULL) return;
  free(v->cp);
  free(v->body);
  free(v);
}

__attribute__((format(printf, 3, 4))) static int vfail(struct archive_verifier *v, int rc,
                                                        const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->r.why, sizeof v->r.why, fmt, ap);
  va_end(ap);
  v->rc = rc;
  return rc;
}

/* Entry seq is the first bad one, for reason what. */
static int bad_entry(struct archive_verifier *v, uint64_t seq, int rc, const char *what) {
  v->r.has_bad = 1, v->r.bad_seq = seq;
  return vfail(v, rc, "entry %llu: %s", (unsigned long long)seq, what);
}

int archive_verifier_checkpoint(struct archive_verifier *v, const char *line, size_t len) {
  struct archive_checkpoint cp;
  size_t i = v->n_cp + 1;
  if (v->rc) return v->rc;
  if (v->n_cp >= ARCHIVE_CHECKPOINTS_MAX)
    return vfail(v, MOMEDO_E_TOOBIG, "more than %d checkpoints", ARCHIVE_CHECKPOINTS_MAX);
  int rc = archive_checkpoint_parse(&cp, line, len);
  if (rc == MOMEDO_E_BADSIG)
    return vfail(v, rc, "checkpoint %zu (day %s): bad signature", i, cp.day);
  if (rc < 0) return vfail(v, rc, "checkpoint %zu: not a well-formed checkpoint line", i);
  if (memcmp(cp.key, v->key, 32) != 0)
    return vfail(v, MOMEDO_E_BADSIG, "checkpoint %zu (day %s): signed by another key than "
                 "the archive's", i, cp.day);
  if (v->n_cp > 0) {
    const struct archive_checkpoint *p = &v->cp[v->n_cp - 1];
    if (strcmp(p->day, cp.day) >= 0 || cp.seq < p->seq)
      return vfail(v, MOMEDO_E_CORRUPT, "checkpoint %zu (day %s): out of order after day %s", i,
                   cp.day, p->day);
    if (cp.seq == p->seq && memcmp(cp.head, p->head, 32) != 0)
      return vfail(v, MOMEDO_E_CORRUPT, "checkpoints %zu and %zu sign different heads for "
                   "entry %llu", i - 1, i, (unsigned long long)cp.seq);
  }
  if (v->n_cp == v->cap_cp) {
    size_t c = v->cap_cp ? 2 * v->cap_cp : 64;
    void *p = realloc(v->cp, c * sizeof *v->cp);
    if (p == NULL) return vfail(v, MOMEDO_E_NOMEM, "out of memory");
    v->cp = p, v->cap_cp = c;
  }
  v->cp[v->n_cp++] = cp;
  v->r.n_checkpoints = v->n_cp;
  return 0;
}

/* The signed checkpoints at entry e: the one before a first entry anchors its prev; one
 * at e must sign its hash. */
static int entry_checkpoints(struct archive_verifier *v, const struct archive_entry *e) {
  char hx[ARCHIVE_WHY_MAX];
  while (v->cp_i < v->n_cp && v->cp[v->cp_i].seq < e->seq) {
    const struct archive_checkpoint *c = &v->cp[v->cp_i];
    if (!v->have_prev && c->seq + 1 == e->seq && memcmp(c->head, e->prev, 32) != 0) {
      snprintf(hx, sizeof hx, "prev differs from the checkpoint of %s that signs entry %llu",
               c->day, (unsigned long long)c->seq);
      return bad_entry(v, e->seq, MOMEDO_E_CHECKSUM, hx);
    }
    v->cp_i++;
  }
  for (; v->cp_i < v->n_cp && v->cp[v->cp_i].seq == e->seq; v->cp_i++) {
    if (memcmp(v->cp[v->cp_i].head, e->hash, 32) != 0) {
      snprintf(hx, sizeof hx, "hash differs from the signed checkpoint of %s (changed and "
               "rehashed)", v->cp[v->cp_i].day);
      return bad_entry(v, e->seq, MOMEDO_E_CHECKSUM, hx);
    }
    v->r.n_checkpoints_matched++;
  }
  return 0;
}

int archive_verifier_entry(struct archive_verifier *v, const char *line, size_t len,
                           struct archive_entry *out) {
  struct archive_entry e;
  char why[ARCHIVE_WHY_MAX];
  if (v->rc) return v->rc;
  int rc = archive_entry_parse(&e, line, len, v->body, why);
  uint64_t next = v->have_prev ? v->prev_seq + 1 : 0;
  if (rc == MOMEDO_E_CHECKSUM) return bad_entry(v, e.seq, rc, why);
  if (rc < 0) {
    v->r.has_bad = 1, v->r.bad_seq = next;
    return vfail(v, rc, "the entry after %s%llu: %s", v->have_prev ? "entry " : "the start ",
                 (unsigned long long)(v->have_prev ? v->prev_seq : 0), why);
  }
  if (v->have_prev && e.seq <= v->prev_seq) {
    snprintf(why, sizeof why, "comes after entry %llu: out of order or repeated",
             (unsigned long long)v->prev_seq);
    return bad_entry(v, e.seq, MOMEDO_E_CORRUPT, why);
  }
  if (v->have_prev && e.seq != next) {
    snprintf(why, sizeof why, "follows entry %llu: entr%s %llu..%llu missing or moved",
             (unsigned long long)v->prev_seq, e.seq - next > 1 ? "ies" : "y",
             (unsigned long long)next, (unsigned long long)(e.seq - 1));
    return bad_entry(v, e.seq, MOMEDO_E_CORRUPT, why);
  }
  if (v->have_prev && memcmp(e.prev, v->prev_hash, 32) != 0) {
    snprintf(why, sizeof why, "prev is not the hash of entry %llu (one of them was changed "
             "and rehashed, or inserted)", (unsigned long long)v->prev_seq);
    return bad_entry(v, e.seq, MOMEDO_E_CHECKSUM, why);
  }
  if (!v->have_prev && e.seq == 0 && !crypto_ct_eq(e.prev, (uint8_t[32]){0}, 32))
    return bad_entry(v, 0, MOMEDO_E_CHECKSUM, "the first entry names a previous one");
  if ((rc = entry_checkpoints(v, &e)) < 0) return rc;
  if (!v->have_prev) v->r.first_seq = e.seq;
  v->have_prev = 1, v->prev_seq = e.seq, v->r.last_seq = e.seq;
  memcpy(v->prev_hash, e.hash, 32);
  v->r.n_entries++;
  if (out) *out = e;
  return 0;
}

void archive_verifier_att(struct archive_verifier *v, int present, int match, uint64_t seq) {
  if (v->rc) return;
  if (!present) {
    v->r.n_att_missing++;
    return;
  }
  v->r.n_att_checked++;
  if (!match)
    bad_entry(v, seq, MOMEDO_E_CHECKSUM, "the attachment does not match its att_sha256");
}

int archive_verifier_finish(struct archive_verifier *v, struct archive_report *r) {
  if (v->rc == 0 && v->have_prev) {
    for (size_t i = v->cp_i; i < v->n_cp; i++) {
      if (v->cp[i].seq <= v->prev_seq) continue;
      v->r.has_bad = 1, v->r.bad_seq = v->prev_seq + 1;
      vfail(v, MOMEDO_E_CORRUPT, "entries after %llu are missing: the checkpoint of %s signs "
            "entry %llu", (unsigned long long)v->prev_seq, v->cp[i].day,
            (unsigned long long)v->cp[i].seq);
      break;
    }
  }
  v->r.ok = v->rc == 0;
  *r = v->r;
  return v->rc;
}

/* ---- reading a file set ---- */

/* Read a whole small file (at most max bytes; more is E_TOOBIG). */
static int read_small(const char *path, size_t max, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  *out = NULL, *len = 0;
  if (fd < 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  int rc = MOMEDO_E_IO;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) goto out;
  rc = MOMEDO_E_TOOBIG;
  if ((uint64_t)st.st_size > max) goto out;
  rc = MOMEDO_E_NOMEM;
  if ((*out = malloc((size_t)st.st_size + 1)) == NULL) goto out;
  size_t n = 0;
  while (n < (size_t)st.st_size) {
    ssize_t k = read(fd, *out + n, (size_t)st.st_size - n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    n += (size_t)k;
  }
  (*out)[n] = 0, *len = n, rc = 0;
out:
  close(fd);
  if (rc < 0) free(*out), *out = NULL;
  return rc;
}

/* Call fn per '\n'-terminated line of buf (a last line without '\n' is refused). */
static int each_line(struct archive_verifier *v, const char *buf, size_t n, size_t max,
                     int (*fn)(struct archive_verifier *, const char *, size_t)) {
  size_t i = 0;
  while (i < n) {
    const char *nl = memchr(buf + i, '\n', n - i);
    size_t l = nl ? (size_t)(nl - (buf + i)) : n - i;
    if (l > max) return vfail(v, MOMEDO_E_TOOBIG, "a line longer than %zu bytes", max);
    int rc = fn(v, buf + i, l);
    if (rc < 0) return rc;
    i += l + 1;
  }
  return 0;
}

static int cp_line(struct archive_verifier *v, const char *l, size_t n) {
  return archive_verifier_checkpoint(v, l, n);
}

static void check_att(struct archive_verifier *v, const char *dir, const struct archive_entry *e) {
  char hx[65], path[ARCHIVE_PATH_MAX + 80];
  char *b = NULL;
  size_t n = 0;
  uint8_t h[32];
  hex_encode(hx, sizeof hx, e->att_sha256, 32);
  snprintf(path, sizeof path, "%s/%s/%s", dir, ARCHIVE_ATT_DIR, hx);
  int rc = read_small(path, ARCHIVE_ATT_BYTES_MAX, &b, &n);
  if (rc == MOMEDO_E_NOTFOUND) archive_verifier_att(v, 0, 0, e->seq);
  else archive_verifier_att(v, 1, rc == 0 && crypto_sha256(h, b, n) == 0 &&
                                      memcmp(h, e->att_sha256, 32) == 0, e->seq);
  free(b);
}

/* Stream entries.jsonl through the verifier with a bounded line buffer. */
static int verify_entries(struct archive_verifier *v, const char *dir) {
  char path[ARCHIVE_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_ENTRIES);
  FILE *f = fopen(path, "rbe");
  if (f == NULL) return vfail(v, MOMEDO_E_NOTFOUND, "%s: cannot open", ARCHIVE_ENTRIES);
  char *line = malloc(ARCHIVE_LINE_BYTES_MAX + 2);
  int rc = line ? 0 : MOMEDO_E_NOMEM;
  while (rc == 0 && fgets(line, ARCHIVE_LINE_BYTES_MAX + 2, f) != NULL) {
    size_t l = strlen(line);
    struct archive_entry e;
    if (l == 0 || line[l - 1] != '\n') {
      v->r.has_bad = 1, v->r.bad_seq = v->have_prev ? v->prev_seq + 1 : 0;
      rc = vfail(v, MOMEDO_E_CORRUPT, l > ARCHIVE_LINE_BYTES_MAX ? "an entry line is too long"
                 : "the last entry line is cut off");
      break;
    }
    rc = archive_verifier_entry(v, line, l - 1, &e);
    if (rc == 0 && e.has_att) check_att(v, dir, &e), rc = v->rc;
  }
  if (rc == 0 && ferror(f)) rc = vfail(v, MOMEDO_E_IO, "%s: read error", ARCHIVE_ENTRIES);
  free(line);
  fclose(f);
  return rc;
}

/* manifest.json, when the set has one: signed by the archive key; *have says so. */
static int read_manifest(struct archive_verifier *v, const char *dir, struct archive_manifest *m,
                         int *have) {
  char path[ARCHIVE_PATH_MAX + 32], *b = NULL;
  size_t n = 0;
  *have = 0;
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_MANIFEST);
  int rc = read_small(path, ARCHIVE_CP_LINE_BYTES_MAX + 1, &b, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc < 0) return vfail(v, rc, "%s: cannot read (%s)", ARCHIVE_MANIFEST, momedo_strerror(rc));
  if (n > 0 && b[n - 1] == '\n') n--;
  rc = archive_manifest_parse(m, b, n);
  free(b);
  if (rc == MOMEDO_E_BADSIG) return vfail(v, rc, "%s: bad signature", ARCHIVE_MANIFEST);
  if (rc < 0) return vfail(v, rc, "%s: not a well-formed manifest", ARCHIVE_MANIFEST);
  if (memcmp(m->key, v->key, 32) != 0)
    return vfail(v, MOMEDO_E_BADSIG, "%s: signed by another key than %s", ARCHIVE_MANIFEST,
                 ARCHIVE_KEY);
  *have = 1;
  return 0;
}

/* The entries read must be exactly the ones the manifest signed. */
static int manifest_matches(struct archive_verifier *v, const struct archive_manifest *m) {
  if (v->rc) return v->rc;
  if (v->r.n_entries != m->n) {
    v->r.has_bad = 1, v->r.bad_seq = v->have_prev ? v->prev_seq + 1 : m->first;
    return vfail(v, MOMEDO_E_CORRUPT, "%s signs %llu entries, %s holds %llu: entries removed "
                 "or added", ARCHIVE_MANIFEST, (unsigned long long)m->n, ARCHIVE_ENTRIES,
                 (unsigned long long)v->r.n_entries);
  }
  if (m->n > 0 && (v->r.first_seq != m->first || v->prev_seq != m->last ||
                   memcmp(v->prev_hash, m->head, 32) != 0))
    return vfail(v, MOMEDO_E_CORRUPT, "%s signs entries %llu..%llu with another last hash than "
                 "%s holds (%llu..%llu)", ARCHIVE_MANIFEST, (unsigned long long)m->first,
                 (unsigned long long)m->last, ARCHIVE_ENTRIES,
                 (unsigned long long)v->r.first_seq, (unsigned long long)v->prev_seq);
  v->r.manifest = 1;
  return 0;
}

int archive_verify_dir(const char *dir, struct archive_report *r) {
  struct archive_verifier *v = NULL;
  char path[ARCHIVE_PATH_MAX + 32], *b = NULL;
  size_t n = 0;
  uint8_t key[32];
  memset(r, 0, sizeof *r);
  if (strlen(dir) >= ARCHIVE_PATH_MAX) return MOMEDO_E_INVAL;
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_KEY);
  int rc = read_small(path, ARCHIVE_KEY_FILE_BYTES_MAX, &b, &n);
  while (rc == 0 && n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) n--;
  if (rc == 0 && hex_decode(key, 32, b, n) != 0) rc = MOMEDO_E_CORRUPT;
  free(b), b = NULL;
  if (rc < 0) {
    snprintf(r->why, sizeof r->why, "%s: missing or not 64 hex digits", ARCHIVE_KEY);
    return rc;
  }
  if ((rc = archive_verifier_new(&v, key)) < 0) return rc;
  snprintf(path, sizeof path, "%s/%s", dir, ARCHIVE_CHECKPOINTS);
  rc = read_small(path, ARCHIVE_CP_FILE_BYTES_MAX, &b, &n);
  if (rc == MOMEDO_E_NOTFOUND) rc = 0;
  else if (rc < 0) vfail(v, rc, "%s: cannot read (%s)", ARCHIVE_CHECKPOINTS, momedo_strerror(rc));
  else rc = each_line(v, b, n, ARCHIVE_CP_LINE_BYTES_MAX, cp_line);
  free(b);
  struct archive_manifest m;
  int have_m = 0;
  if (rc == 0) rc = read_manifest(v, dir, &m, &have_m);
  if (rc == 0) rc = verify_entries(v, dir);
  rc = archive_verifier_finish(v, r); /* names a cut-off entry from the checkpoints first */
  if (rc == 0 && have_m) {
    rc = manifest_matches(v, &m);
    v->r.ok = rc == 0;
    *r = v->r;
  }
  archive_verifier_free(v);
  return rc;
}
