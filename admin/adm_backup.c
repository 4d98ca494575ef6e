/* admin/adm_backup.c — durable file copies and the backup MANIFEST (adm_backup.h): the
 * one place `backup` writes and `restore` reads a backup's index, with every line, name
 * and count bounded. Plain files only; the node's store is only ever copied here, never
 * opened. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adm_backup.h"

#define ADM_COPY_CHUNK (64u * 1024)

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return MOMEDO_E_IO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int adm_copy_file(const char *src, const char *dst, unsigned mode, int follow, uint64_t *bytes,
                  char *why, size_t why_cap) {
  static char buf[ADM_COPY_CHUNK]; /* momedo-admin is single-threaded */
  struct stat st;
  int in = open(src, O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)), out = -1, rc = 0;
  *bytes = 0;
  if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    reason_set(why, why_cap, "%s: %s", src, in < 0 ? strerror(errno) : "not a regular file");
    rc = in >= 0 ? MOMEDO_E_CORRUPT : errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
    goto out;
  }
  out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (out < 0) {
    reason_set(why, why_cap, "%s: %s", dst, strerror(errno));
    rc = errno == EEXIST ? MOMEDO_E_EXISTS : MOMEDO_E_IO;
    goto out;
  }
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (r > 0 && write_all(out, buf, (size_t)r) != 0)) {
      reason_set(why, why_cap, "copying %s to %s: %s", src, dst, strerror(errno));
      rc = MOMEDO_E_IO;
      goto out;
    }
    if (r == 0) break;
    *bytes += (uint64_t)r;
  }
  if (fchmod(out, (mode_t)mode) != 0 || fsync(out) != 0) {
    reason_set(why, why_cap, "%s: %s", dst, strerror(errno));
    rc = MOMEDO_E_IO;
  }
out:
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0 && rc == 0) rc = MOMEDO_E_IO;
  return rc;
}

int adm_manifest_add(struct adm_manifest *m, const char *name, uint64_t size) {
  if (m->n >= ADM_BACKUP_FILES_MAX || strlen(name) >= sizeof m->files[0].name)
    return MOMEDO_E_BOUNDS;
  if (m->n == m->cap) {
    size_t nc = m->cap ? 2 * m->cap : 64;
    struct adm_backup_file *nf = realloc(m->files, nc * sizeof *nf);
    if (!nf) return MOMEDO_E_NOMEM;
    m->files = nf;
    m->cap = nc;
  }
  snprintf(m->files[m->n].name, sizeof m->files[0].name, "%s", name);
  m->files[m->n++].size = size;
  return 0;
}

void adm_manifest_free(struct adm_manifest *m) {
  free(m->files);
  m->files = NULL;
  m->n = m->cap = 0;
}

int adm_manifest_write(const char *dir, const struct adm_manifest *m, char *why,
                       size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX];
  size_t cap = 512 + m->n * (sizeof m->files[0].name + 32), n = 0;
  char *text = malloc(cap);
  if (!text) return MOMEDO_E_NOMEM;
  n += (size_t)snprintf(text, cap, "%s\nversion %s\nfingerprint %s\ncreated_ms %" PRIu64
                        "\nobjects %" PRIu64 "\n", ADM_MANIFEST_MAGIC, m->version,
                        m->fingerprint, m->created_ms, m->objects);
  for (size_t i = 0; i < m->n && n < cap; i++)
    n += (size_t)snprintf(text + n, cap - n, "file %s %" PRIu64 "\n", m->files[i].name,
                          m->files[i].size);
  if (n < cap) n += (size_t)snprintf(text + n, cap - n, "end\n");
  int rc = n < cap ? 0 : MOMEDO_E_INTERNAL;
  if (!rc && snprintf(path, sizeof path, "%s/%s", dir, ADM_MANIFEST_FILE) >= (int)sizeof path)
    rc = MOMEDO_E_INVAL;
  if (!rc) rc = node_file_put(path, text, n, 0600, 1, why, why_cap);
  free(text);
  return rc;
}

/* A file name as a backup may hold it: node.key, momedo.conf, neighbors.conf, or
 * store/NAME with NAME of [A-Za-z0-9._-] (what RocksDB names its files), never "..". */
static int name_ok(const char *s) {
  static const char *const top[] = {NODE_KEY_FILE, NODE_CONF_FILE, NODE_NEIGHBORS_FILE};
  for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
    if (strcmp(s, top[i]) == 0) return 1;
  if (strncmp(s, NODE_STORE_DIR "/", sizeof NODE_STORE_DIR) != 0) return 0;
  const char *f = s + sizeof NODE_STORE_DIR;
  if (!*f || strlen(f) > ADM_BACKUP_NAME_MAX || f[0] == '.' || strstr(f, "..")) return 0;
  for (; *f; f++)
    if (!isalnum((unsigned char)*f) && *f != '.' && *f != '_' && *f != '-') return 0;
  return 1;
}

static int bad(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
  return MOMEDO_E_CORRUPT;
}

/* One line after the first; *done at "end". why gets the reason. */
static int manifest_line(struct adm_manifest *m, char *line, int *done, char *why, size_t cap) {
  char name[ADM_BACKUP_NAME_MAX + 16], extra[2];
  unsigned long long v;
  if (*done) return bad(why, cap, "text after the end line");
  if (strcmp(line, "end") == 0) return *done = 1, 0;
  if (sscanf(line, "version %31s %1s", m->version, extra) == 1) return 0;
  if (sscanf(line, "fingerprint %66s %1s", m->fingerprint, extra) == 1) return 0;
  if (sscanf(line, "created_ms %llu %1s", &v, extra) == 1) return m->created_ms = v, 0;
  if (sscanf(line, "objects %llu %1s", &v, extra) == 1) return m->objects = v, 0;
  if (sscanf(line, "file %270s %llu %1s", name, &v, extra) == 2) {
    if (!name_ok(name)) return bad(why, cap, "bad file name");
    for (size_t i = 0; i < m->n; i++)
      if (strcmp(m->files[i].name, name) == 0)
        return bad(why, cap, "%s listed twice", name);
    if (adm_manifest_add(m, name, v) != 0)
      return bad(why, cap, "more than %d files", ADM_BACKUP_FILES_MAX);
    return 0;
  }
  return bad(why, cap, "not a manifest line");
}

int adm_manifest_read(const char *dir, struct adm_manifest *m, char *why, size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX], line_why[128] = "";
  char *text = NULL;
  size_t len = 0, lineno = 0;
  int done = 0;
  memset(m, 0, sizeof *m);
  if (snprintf(path, sizeof path, "%s/%s", dir, ADM_MANIFEST_FILE) >= (int)sizeof path)
    return MOMEDO_E_INVAL;
  int rc = node_file_read(path, ADM_MANIFEST_BYTES_MAX, &text, &len);
  if (rc) {
    reason_set(why, why_cap, "%s: %s", path, rc == MOMEDO_E_NOTFOUND
              ? "not found: not a momedo backup, or an unfinished one" : momedo_strerror(rc));
    return rc;
  }
  for (char *line = text, *nl; rc == 0 && line < text + len; line = nl + 1) {
    nl = memchr(line, '\n', (size_t)(text + len - line));
    if (!nl) {
      snprintf(line_why, sizeof line_why, "the last line is cut off");
      rc = MOMEDO_E_CORRUPT;
      break;
    }
    *nl = 0;
    lineno++;
    if (lineno == 1 && strcmp(line, ADM_MANIFEST_MAGIC) != 0) {
      snprintf(line_why, sizeof line_why, "not \"%s\"", ADM_MANIFEST_MAGIC);
      rc = MOMEDO_E_CORRUPT;
    } else if (lineno > 1) {
      rc = manifest_line(m, line, &done, line_why, sizeof line_why);
    }
  }
  if (rc == 0 && !done) {
    snprintf(line_why, sizeof line_why, "no end line (an unfinished backup)");
    rc = MOMEDO_E_CORRUPT;
  }
  if (rc) {
    reason_set(why, why_cap, "%s:%zu: %s", path, lineno, line_why);
    adm_manifest_free(m);
  }
  free(text);
  return rc;
}
