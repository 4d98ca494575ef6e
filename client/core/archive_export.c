/* client/core/archive_export.c — what leaves or shrinks the live archive: export of a
 * period as a plain file set (entries, the checkpoints up to its end, key.pub, the
 * attachments named), and retention pruning: the entries older than the cutoff go, and a
 * PRUNE entry in the chain names their range and the digest of the removed lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "hex.h"

/* fsync and close an output fd; rc is the result so far. */
static int out_done(int fd, int rc) {
  if (fd < 0) return rc;
  if (fsync(fd) != 0 && rc == 0) rc = MOMEDO_E_IO;
  close(fd);
  return rc;
}

static int create_new(const char *path) {
  return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* Copy src to dst (a new file; bounded), fsync. */
static int copy_file(const char *src, const char *dst, uint64_t max) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  int out = create_new(dst);
  int rc = out >= 0 ? 0 : errno == EEXIST ? MOMEDO_E_EXISTS : MOMEDO_E_IO;
  char buf[65536];
  uint64_t total = 0;
  ssize_t k;
  while (rc == 0 && (k = read(in, buf, sizeof buf)) != 0) {
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) rc = MOMEDO_E_IO;
    else if ((total += (uint64_t)k) > max) rc = MOMEDO_E_TOOBIG;
    else rc = archive__write_all(out, buf, (size_t)k);
  }
  close(in);
  return out_done(out, rc);
}

/* Per line of the log: fn(ctx, line without '\n', len, parsed entry). Lines are the log's
 * own (checked when parsed). */
typedef int (*line_fn)(void *ctx, const char *line, size_t len, const struct archive_entry *e);

static int each_entry(struct archive_log *l, line_fn fn, void *ctx) {
  char path[ARCHIVE_PATH_MAX + 32], why[ARCHIVE_WHY_MAX];
  snprintf(path, sizeof path, "%s/%s", l->dir, ARCHIVE_ENTRIES);
  FILE *f = fopen(path, "rbe");
  if (f == NULL) return MOMEDO_E_IO;
  int rc = 0;
  while (rc == 0 && fgets(l->line, ARCHIVE_LINE_BYTES_MAX + 1, f) != NULL) {
    size_t n = strlen(l->line);
    struct archive_entry e;
    if (n > 0 && l->line[n - 1] != '\n' && feof(f)) break; /* being appended right now */
    if (n == 0 || l->line[n - 1] != '\n') rc = MOMEDO_E_CORRUPT;
    else if (archive_entry_parse(&e, l->line, n - 1, l->body, why) < 0) rc = MOMEDO_E_CORRUPT;
    else rc = fn(ctx, l->line, n, &e);
  }
  if (rc == 0 && ferror(f)) rc = MOMEDO_E_IO;
  fclose(f);
  return rc > 0 ? 0 : rc;
}

/* ---- export ---- */

struct export_ctx {
  struct archive_log *l;
  const char *out_dir;
  uint64_t from_ms, to_ms, n;
  int out;
  struct archive_manifest m;   /* what went out, signed into manifest.json at the end */
};

static int export_one(void *vc, const char *line, size_t len, const struct archive_entry *e) {
  struct export_ctx *x = vc;
  char hx[65], src[ARCHIVE_PATH_MAX + 96], dst[ARCHIVE_PATH_MAX + 96];
  if (e->archived_ms >= x->to_ms) return 1; /* archived in order: done */
  if (e->archived_ms < x->from_ms) return 0;
  int rc = archive__write_all(x->out, line, len);
  if (rc < 0) return rc;
  if (x->n++ == 0) x->m.first = e->seq;
  x->m.last = e->seq;
  memcpy(x->m.head, e->hash, 32);
  if (!e->has_att) return 0;
  hex_encode(hx, sizeof hx, e->att_sha256, 32);
  snprintf(src, sizeof src, "%s/%s/%s", x->l->dir, ARCHIVE_ATT_DIR, hx);
  snprintf(dst, sizeof dst, "%s/%s/%s", x->out_dir, ARCHIVE_ATT_DIR, hx);
  rc = copy_file(src, dst, ARCHIVE_ATT_BYTES_MAX);
  return rc == MOMEDO_E_NOTFOUND || rc == MOMEDO_E_EXISTS ? 0 : rc;
}

/* The checkpoints of days before to_ms. */
static int export_cps(struct archive_log *l, const char *out_dir, uint64_t to_ms) {
  char src[ARCHIVE_PATH_MAX + 32], dst[ARCHIVE_PATH_MAX + 32], to_day[ARCHIVE_DAY_LEN + 1];
  char line[ARCHIVE_CP_LINE_BYTES_MAX + 2];
  snprintf(src, sizeof src, "%s/%s", l->dir, ARCHIVE_CHECKPOINTS);
  snprintf(dst, sizeof dst, "%s/%s", out_dir, ARCHIVE_CHECKPOINTS);
  archive_day(to_day, to_ms);
  FILE *in = fopen(src, "rbe");
  int out = create_new(dst);
  int rc = out >= 0 ? 0 : MOMEDO_E_IO;
  while (rc == 0 && in && fgets(line, sizeof line, in) != NULL) {
    size_t n = strlen(line);
    if (n < 9 + ARCHIVE_DAY_LEN || line[n - 1] != '\n') rc = MOMEDO_E_CORRUPT;
    else if (memcmp(line + 8, to_day, ARCHIVE_DAY_LEN) < 0) /* line + 8: after {"day":" */
      rc = archive__write_all(out, line, n);
  }
  if (in) fclose(in);
  return out_done(out, rc);
}

/* manifest.json: the signed count, range and head of what the export holds. */
static int export_manifest(struct export_ctx *x, const struct crypto_sign_keypair *kp) {
  char path[ARCHIVE_PATH_MAX + 32], line[ARCHIVE_CP_LINE_BYTES_MAX + 2];
  size_t n = 0;
  x->m.n = x->n;
  int rc = archive_manifest_sign(&x->m, kp, line, sizeof line - 1, &n);
  if (rc < 0) return rc;
  line[n++] = '\n';
  snprintf(path, sizeof path, "%s/%s", x->out_dir, ARCHIVE_MANIFEST);
  int fd = create_new(path);
  return out_done(fd, fd >= 0 ? archive__write_all(fd, line, n) : MOMEDO_E_IO);
}

int archive_log_export(struct archive_log *l, uint64_t from_ms, uint64_t to_ms,
                       const char *out_dir, const struct crypto_sign_keypair *kp,
                       uint64_t *n_entries) {
  char p[ARCHIVE_PATH_MAX + 32], q[ARCHIVE_PATH_MAX + 32];
  struct export_ctx x = {l, out_dir, from_ms, to_ms, 0, -1, {0}};
  *n_entries = 0;
  if (strlen(out_dir) >= ARCHIVE_PATH_MAX || from_ms >= to_ms) return MOMEDO_E_INVAL;
  if (mkdir(out_dir, 0700) != 0) return errno == EEXIST ? MOMEDO_E_EXISTS : MOMEDO_E_IO;
  snprintf(p, sizeof p, "%s/%s", out_dir, ARCHIVE_ATT_DIR);
  if (mkdir(p, 0700) != 0) return MOMEDO_E_IO;
  int rc = l->ro ? 0 : archive_log_sync(l);
  snprintf(p, sizeof p, "%s/%s", l->dir, ARCHIVE_KEY);
  snprintf(q, sizeof q, "%s/%s", out_dir, ARCHIVE_KEY);
  if (rc == 0) rc = copy_file(p, q, ARCHIVE_KEY_FILE_BYTES_MAX);
  if (rc == 0) rc = export_cps(l, out_dir, to_ms);
  snprintf(p, sizeof p, "%s/%s", out_dir, ARCHIVE_ENTRIES);
  if (rc == 0 && (x.out = create_new(p)) < 0) rc = MOMEDO_E_IO;
  if (rc == 0) rc = each_entry(l, export_one, &x);
  *n_entries = x.n;
  rc = out_done(x.out, rc);
  return rc == 0 ? export_manifest(&x, kp) : rc;
}

/* ---- prune ---- */

struct prune_ctx {
  uint64_t cutoff_ms, n, first, last;
  int keeping;
  uint8_t digest[32];
  int out;
};

static int prune_one(void *vc, const char *line, size_t len, const struct archive_entry *e) {
  struct prune_ctx *x = vc;
  if (!x->keeping && e->archived_ms < x->cutoff_ms) {
    uint8_t d[32];
    struct crypto_part parts[2] = {{x->digest, 32}, {line, len}};
    if (x->n == 0) x->first = e->seq;
    x->last = e->seq, x->n++;
    int rc = crypto_sha256_parts(d, parts, 2); /* digest_i+1 = SHA-256(digest_i || line) */
    memcpy(x->digest, d, 32);
    return rc;
  }
  x->keeping = 1;
  return archive__write_all(x->out, line, len);
}

int archive_log_prune(struct archive_log *l, uint64_t cutoff_ms, uint64_t now_ms,
                      uint64_t *n_removed) {
  char tmp[ARCHIVE_PATH_MAX + 32], path[ARCHIVE_PATH_MAX + 32], body[256], hx[65];
  struct prune_ctx x;
  if (l->ro) return MOMEDO_E_INVAL;
  memset(&x, 0, sizeof x);
  x.cutoff_ms = cutoff_ms, x.out = -1;
  *n_removed = 0;
  snprintf(tmp, sizeof tmp, "%s/%s.tmp", l->dir, ARCHIVE_ENTRIES);
  snprintf(path, sizeof path, "%s/%s", l->dir, ARCHIVE_ENTRIES);
  int rc = archive_log_sync(l);
  if (rc == 0 && (x.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
    rc = MOMEDO_E_IO;
  if (rc == 0) rc = each_entry(l, prune_one, &x);
  rc = out_done(x.out, rc);
  if (rc < 0 || x.n == 0) {
    unlink(tmp);
    return rc;
  }
  int fd = open(tmp, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 || rename(tmp, path) != 0) {
    if (fd >= 0) close(fd);
    unlink(tmp);
    return MOMEDO_E_IO;
  }
  close(l->fd);
  l->fd = fd; /* the renamed file: the prune entry follows what was kept */
  hex_encode(hx, sizeof hx, x.digest, 32);
  snprintf(body, sizeof body, "pruned entries %llu..%llu (%llu) archived before %llu ms; "
           "removed lines digest %s", (unsigned long long)x.first, (unsigned long long)x.last,
           (unsigned long long)x.n, (unsigned long long)cutoff_ms, hx);
  struct archive_entry e;
  memset(&e, 0, sizeof e);
  e.archived_ms = now_ms, e.sent_ms = now_ms, e.kind = ARCHIVE_KIND_PRUNE;
  e.body = (const uint8_t *)body, e.body_len = strlen(body);
  rc = archive__append_entry(l, &e);
  if (rc == 0) rc = archive_log_sync(l);
  *n_removed = x.n;
  return rc;
}
