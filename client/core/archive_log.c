/* client/core/archive_log.c — the archive account's live log in a directory:
 * entries.jsonl (append-only; a torn last line from a crash is cut off at open),
 * checkpoints.jsonl (one signed checkpoint per day), key.pub and att/. Appending,
 * daily checkpoints, retention pruning (logged as a PRUNE entry in the chain) and export
 * of a period. Formats: archive.c; the clock is an argument. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "hex.h"

static void path_of(char *out, size_t cap, const char *dir, const char *name) {
  snprintf(out, cap, "%s/%s", dir, name);
}

int archive__write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return errno == ENOSPC ? MOMEDO_E_DISKFULL : MOMEDO_E_IO;
    c += k, n -= (size_t)k;
  }
  return 0;
}

/* Read the last line of fd (size sz, ending in '\n') into buf; *len without '\n'. */
static int last_line(int fd, off_t sz, char *buf, size_t cap, size_t *len) {
  size_t want = (size_t)sz < cap ? (size_t)sz : cap;
  if (pread(fd, buf, want, sz - (off_t)want) != (ssize_t)want) return MOMEDO_E_IO;
  size_t end = want - 1, i = end;
  while (i > 0 && buf[i - 1] != '\n') i--;
  if (i == 0 && (size_t)sz > want) return MOMEDO_E_CORRUPT; /* longer than any line */
  memmove(buf, buf + i, end - i);
  *len = end - i;
  return 0;
}

/* The size up to the end of the last complete line (a torn last line from a crash, or
 * one being appended right now, is not counted). */
static int complete_size(int fd, off_t *sz) {
  char buf[4096];
  off_t at = *sz;
  while (at > 0) {
    size_t k = at < (off_t)sizeof buf ? (size_t)at : sizeof buf;
    if (pread(fd, buf, k, at - (off_t)k) != (ssize_t)k) return MOMEDO_E_IO;
    for (size_t i = k; i > 0; i--)
      if (buf[i - 1] == '\n') {
        *sz = at - (off_t)k + (off_t)i;
        return 0;
      }
    at -= (off_t)k;
  }
  *sz = 0;
  return 0;
}

static int load_head(struct archive_log *l) {
  struct stat st;
  size_t n = 0;
  char why[ARCHIVE_WHY_MAX];
  struct archive_entry e;
  if (fstat(l->fd, &st) != 0) return MOMEDO_E_IO;
  off_t sz = st.st_size, full = sz;
  int rc = complete_size(l->fd, &sz);
  if (rc == 0 && sz != full && !l->ro && ftruncate(l->fd, sz) != 0) rc = MOMEDO_E_IO;
  if (rc < 0 || sz == 0) return rc;
  if ((rc = last_line(l->fd, sz, l->line, ARCHIVE_LINE_BYTES_MAX + 1, &n)) < 0) return rc;
  if ((rc = archive_entry_parse(&e, l->line, n, l->body, why)) < 0) return MOMEDO_E_CORRUPT;
  l->next_seq = e.seq + 1;
  memcpy(l->head, e.hash, 32);
  return 0;
}

static int load_last_cp(struct archive_log *l) {
  char path[ARCHIVE_PATH_MAX + 32];
  struct stat st;
  struct archive_checkpoint cp;
  size_t n = 0;
  path_of(path, sizeof path, l->dir, ARCHIVE_CHECKPOINTS);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : MOMEDO_E_IO;
  int rc = fstat(fd, &st) == 0 ? 0 : MOMEDO_E_IO;
  off_t sz = st.st_size;
  if (rc == 0 && sz > 0)
    rc = last_line(fd, sz, l->line, ARCHIVE_CP_LINE_BYTES_MAX + 1, &n);
  if (rc == 0 && sz > 0 && (rc = archive_checkpoint_parse(&cp, l->line, n)) == 0) {
    memcpy(l->last_cp_day, cp.day, sizeof cp.day);
    l->last_cp_seq = cp.seq, l->has_cp = 1;
  }
  close(fd);
  return rc < 0 ? MOMEDO_E_CORRUPT : 0;
}

static int log_open(struct archive_log *l, const char *dir, int ro) {
  char path[ARCHIVE_PATH_MAX + 32];
  memset(l, 0, sizeof *l);
  l->fd = -1, l->ro = ro;
  if (strlen(dir) >= ARCHIVE_PATH_MAX) return MOMEDO_E_INVAL;
  snprintf(l->dir, sizeof l->dir, "%s", dir);
  if (!ro && mkdir(dir, 0700) != 0 && errno != EEXIST) return MOMEDO_E_IO;
  path_of(path, sizeof path, dir, ARCHIVE_ATT_DIR);
  if (!ro && mkdir(path, 0700) != 0 && errno != EEXIST) return MOMEDO_E_IO;
  l->line = malloc(ARCHIVE_LINE_BYTES_MAX + 1);
  l->body = malloc(ARCHIVE_BODY_BYTES_MAX);
  int rc = l->line && l->body ? 0 : MOMEDO_E_NOMEM;
  path_of(path, sizeof path, dir, ARCHIVE_ENTRIES);
  if (rc == 0) {
    l->fd = ro ? open(path, O_RDONLY | O_CLOEXEC)
               : open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (l->fd < 0) rc = ro && errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  }
  if (rc == 0) rc = load_head(l);
  if (rc == 0) rc = load_last_cp(l);
  if (rc < 0) archive_log_close(l);
  return rc;
}

int archive_log_open(struct archive_log *l, const char *dir) { return log_open(l, dir, 0); }

int archive_log_open_ro(struct archive_log *l, const char *dir) { return log_open(l, dir, 1); }

void archive_log_close(struct archive_log *l) {
  if (l->fd >= 0) close(l->fd);
  free(l->line);
  free(l->body);
  l->fd = -1, l->line = NULL, l->body = NULL;
}

int archive__append_entry(struct archive_log *l, struct archive_entry *e) {
  size_t n = 0;
  e->seq = l->next_seq;
  memcpy(e->prev, l->head, 32);
  int rc = archive_entry_encode(e, l->line, ARCHIVE_LINE_BYTES_MAX, &n);
  if (rc < 0) return rc;
  l->line[n++] = '\n';
  if ((rc = archive__write_all(l->fd, l->line, n)) < 0) return rc;
  l->next_seq++;
  memcpy(l->head, e->hash, 32);
  return 0;
}

int archive_log_append(struct archive_log *l, const struct archive_msg *m, uint64_t now_ms) {
  struct archive_entry e;
  memset(&e, 0, sizeof e);
  if (l->ro) return MOMEDO_E_INVAL;
  if (m->body_len > ARCHIVE_BODY_BYTES_MAX || m->kind < 0 || m->kind >= ARCHIVE_KIND_PRUNE)
    return MOMEDO_E_BOUNDS;
  e.archived_ms = now_ms, e.sent_ms = m->sent_ms, e.kind = m->kind;
  memcpy(e.conv, m->conv, 32);
  memcpy(e.sender, m->sender, 32);
  e.body = m->body, e.body_len = m->body_len;
  if (m->att_sha256) memcpy(e.att_sha256, m->att_sha256, 32), e.has_att = 1;
  return archive__append_entry(l, &e);
}

int archive_log_sync(struct archive_log *l) { return fsync(l->fd) == 0 ? 0 : MOMEDO_E_IO; }

static int append_file(const char *path, const char *s, size_t n) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return MOMEDO_E_IO;
  int rc = archive__write_all(fd, s, n);
  if (rc == 0 && fsync(fd) != 0) rc = MOMEDO_E_IO;
  close(fd);
  return rc;
}

int archive_log_checkpoint(struct archive_log *l, const struct crypto_sign_keypair *kp,
                           uint64_t now_ms, int *made) {
  struct archive_checkpoint cp;
  char path[ARCHIVE_PATH_MAX + 32], line[ARCHIVE_CP_LINE_BYTES_MAX + 2];
  size_t n = 0;
  *made = 0;
  memset(&cp, 0, sizeof cp);
  archive_day(cp.day, now_ms);
  if (l->next_seq == 0 || (l->has_cp && strcmp(cp.day, l->last_cp_day) <= 0)) return 0;
  int rc = archive_log_sync(l);
  cp.seq = l->next_seq - 1, cp.count = l->next_seq;
  memcpy(cp.head, l->head, 32);
  if (rc == 0) rc = archive_checkpoint_sign(&cp, kp, line, ARCHIVE_CP_LINE_BYTES_MAX, &n);
  if (rc < 0) return rc;
  line[n++] = '\n';
  path_of(path, sizeof path, l->dir, ARCHIVE_CHECKPOINTS);
  if ((rc = append_file(path, line, n)) < 0) return rc;
  memcpy(l->last_cp_day, cp.day, sizeof cp.day);
  l->last_cp_seq = cp.seq, l->has_cp = 1, *made = 1;
  return 0;
}

int archive_log_set_key(struct archive_log *l, const uint8_t key[static 32]) {
  char path[ARCHIVE_PATH_MAX + 32], hx[66];
  hex_encode(hx, sizeof hx, key, 32);
  hx[64] = '\n';
  path_of(path, sizeof path, l->dir, ARCHIVE_KEY);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return MOMEDO_E_IO;
  int rc = archive__write_all(fd, hx, 65);
  close(fd);
  return rc;
}

int archive_log_put_att(struct archive_log *l, const uint8_t sha[static 32], const uint8_t *data,
                        size_t len) {
  char path[ARCHIVE_PATH_MAX + 96], hx[65];
  uint8_t h[32];
  if (len > ARCHIVE_ATT_BYTES_MAX) return MOMEDO_E_TOOBIG;
  int rc = crypto_sha256(h, data, len);
  if (rc < 0) return rc;
  if (memcmp(h, sha, 32) != 0) return MOMEDO_E_CHECKSUM;
  hex_encode(hx, sizeof hx, sha, 32);
  snprintf(path, sizeof path, "%s/%s/%s", l->dir, ARCHIVE_ATT_DIR, hx);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? 0 : MOMEDO_E_IO;
  rc = archive__write_all(fd, data, len);
  if (rc == 0 && fsync(fd) != 0) rc = MOMEDO_E_IO;
  close(fd);
  return rc;
}
