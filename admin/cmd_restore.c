/* admin/cmd_restore.c — `momedo-admin restore SRC`: put a backup back into a stopped
 * node's directory. Everything is checked before anything is touched (the manifest,
 * every file's size, the key against the manifest's fingerprint); the directory's lock
 * (the one a running momedod holds) is taken for the whole restore, so a running node is
 * refused and none can start meanwhile; a node already there is only replaced with
 * --force, and moved aside rather than deleted. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adm.h"
#include "adm_backup.h"
#include "os.h"

struct restore {
  struct adm_ctx *ctx;
  const char *src;
  int force, keep_config;
  struct adm_manifest m;
  char aside[NODE_PATH_BYTES_MAX]; /* where --force moved the old node ("" if nowhere) */
  char err[REASON_MAX];
};

static int path2(char *out, size_t cap, const char *a, const char *b) {
  return snprintf(out, cap, "%s/%s", a, b) < (int)cap ? 0 : MOMEDO_E_INVAL;
}

/* The backup is whole: every listed file there with its size, the key matching the
 * fingerprint, a store with its CURRENT file. */
static int check_backup(struct restore *r) {
  char p[NODE_PATH_BYTES_MAX], fp[IDS_NODE_FP_STR_MAX], key[NODE_KEY_HEX_LEN + 1];
  int has_current = 0, has_conf = 0;
  int rc = adm_manifest_read(r->src, &r->m, r->err, sizeof r->err);
  for (size_t i = 0; rc == 0 && i < r->m.n; i++) {
    struct stat st;
    const struct adm_backup_file *f = &r->m.files[i];
    if (path2(p, sizeof p, r->src, f->name) != 0) return MOMEDO_E_INVAL;
    if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size) {
      reason_set(r->err, sizeof r->err, "%s: %s (the manifest says %" PRIu64 " bytes): the "
                "backup is damaged", p, lstat(p, &st) != 0 ? "missing" : "has another size",
                f->size);
      return MOMEDO_E_CORRUPT;
    }
    has_current |= strcmp(f->name, NODE_STORE_DIR "/CURRENT") == 0;
    has_conf |= strcmp(f->name, NODE_CONF_FILE) == 0;
  }
  if (rc) return rc;
  if (!has_current || !has_conf) {
    reason_set(r->err, sizeof r->err, "%s lists no %s", r->src,
              has_conf ? "store (store/CURRENT)" : NODE_CONF_FILE);
    return MOMEDO_E_CORRUPT;
  }
  rc = node_dir_identity(r->src, fp, key, r->err, sizeof r->err);
  if (!rc && strcmp(fp, r->m.fingerprint) != 0) {
    reason_set(r->err, sizeof r->err, "%s/%s is the key of %s, not of %s as the manifest says",
              r->src, NODE_KEY_FILE, fp, r->m.fingerprint);
    rc = MOMEDO_E_CORRUPT;
  }
  return rc;
}

static int exists(const char *dir, const char *name) {
  char p[NODE_PATH_BYTES_MAX];
  struct stat st;
  return path2(p, sizeof p, dir, name) == 0 && lstat(p, &st) == 0;
}

/* --force: what a node is made of goes to DIR/replaced-TIME/ (nothing is deleted). */
static int move_aside(struct restore *r, const char *dir) {
  static const char *const parts[] = {NODE_KEY_FILE, NODE_STORE_DIR, NODE_NEIGHBORS_FILE,
                                      "node.crt", NODE_CONF_FILE};
  char from[NODE_PATH_BYTES_MAX], to[NODE_PATH_BYTES_MAX], stamp[32];
  time_t t = (time_t)(os_wall_ms() / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "replaced-%Y%m%dT%H%M%SZ", &tm);
  if (path2(r->aside, sizeof r->aside, dir, stamp) != 0 || mkdir(r->aside, 0700) != 0) {
    reason_set(r->err, sizeof r->err, "cannot create %s: %s", r->aside, strerror(errno));
    return MOMEDO_E_IO;
  }
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    struct stat st;
    if (path2(from, sizeof from, dir, parts[i]) != 0 || lstat(from, &st) != 0) continue;
    /* The package's link to /etc and a kept config stay where they are. */
    if (strcmp(parts[i], NODE_CONF_FILE) == 0 && (S_ISLNK(st.st_mode) || r->keep_config))
      continue;
    if (path2(to, sizeof to, r->aside, parts[i]) != 0 || rename(from, to) != 0) {
      reason_set(r->err, sizeof r->err, "cannot move %s to %s: %s", from, r->aside,
                strerror(errno));
      return MOMEDO_E_IO;
    }
  }
  return 0;
}

/* momedo.conf: through the package's symlink to its target, else a file of its own. */
static int restore_conf(struct restore *r, const char *dir) {
  char src[NODE_PATH_BYTES_MAX], dst[NODE_PATH_BYTES_MAX], real[PATH_MAX];
  char *text = NULL;
  size_t len = 0;
  struct stat st;
  if (path2(src, sizeof src, r->src, NODE_CONF_FILE) != 0 ||
      path2(dst, sizeof dst, dir, NODE_CONF_FILE) != 0)
    return MOMEDO_E_INVAL;
  int link = lstat(dst, &st) == 0 && S_ISLNK(st.st_mode);
  if (link && realpath(dst, real) == NULL) {
    reason_set(r->err, sizeof r->err, "%s links to a missing file: %s", dst, strerror(errno));
    return MOMEDO_E_IO;
  }
  int rc = node_file_read(src, NODE_CONF_LINE_BYTES_MAX * 64, &text, &len);
  if (!rc) rc = node_file_write_atomic(link ? real : dst, text, len, link ? 0644 : 0600);
  free(text);
  if (rc) reason_set(r->err, sizeof r->err, "cannot write %s: %s", link ? real : dst,
                    momedo_strerror(rc));
  return rc;
}

/* The store into DIR/store.restoring, then renamed: a half-copied store never is
 * DIR/store. */
static int restore_files(struct restore *r, const char *dir) {
  char tmp[NODE_PATH_BYTES_MAX], p[NODE_PATH_BYTES_MAX], d[NODE_PATH_BYTES_MAX];
  uint64_t n;
  int rc = path2(tmp, sizeof tmp, dir, NODE_STORE_DIR ".restoring");
  if (!rc && (node_rm_rf(tmp, r->err, sizeof r->err) != 0 || mkdir(tmp, 0700) != 0))
    rc = MOMEDO_E_IO;
  for (size_t i = 0; rc == 0 && i < r->m.n; i++) {
    const char *name = r->m.files[i].name;
    int in_store = strncmp(name, NODE_STORE_DIR "/", sizeof NODE_STORE_DIR) == 0;
    if (strcmp(name, NODE_CONF_FILE) == 0) continue;
    if (path2(p, sizeof p, r->src, name) != 0 ||
        (in_store ? path2(d, sizeof d, tmp, name + sizeof NODE_STORE_DIR)
                  : path2(d, sizeof d, dir, name)) != 0)
      return MOMEDO_E_INVAL;
    rc = adm_copy_file(p, d, 0600, 0, &n, r->err, sizeof r->err);
  }
  if (!rc && path2(p, sizeof p, dir, NODE_STORE_DIR) == 0 && rename(tmp, p) != 0) {
    reason_set(r->err, sizeof r->err, "cannot rename %s to %s: %s", tmp, p, strerror(errno));
    rc = MOMEDO_E_IO;
  }
  if (!rc && !(r->keep_config && exists(dir, NODE_CONF_FILE))) rc = restore_conf(r, dir);
  return rc;
}

/* Run as root in a directory another user owns (the packaged node): that user's. */
static void give_to_owner(const char *dir) {
  static const char *const parts[] = {NODE_KEY_FILE, NODE_STORE_DIR, NODE_NEIGHBORS_FILE,
                                      NODE_PID_FILE, NODE_CONF_FILE};
  char p[NODE_PATH_BYTES_MAX];
  struct stat st;
  if (geteuid() != 0 || stat(dir, &st) != 0 || st.st_uid == 0) return;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (path2(p, sizeof p, dir, parts[i]) == 0 && exists(dir, parts[i]) &&
        node_chown_tree(p, st.st_uid, st.st_gid, NULL, 0) != 0) {
      /* the node will name the file it cannot open */
    }
}

static void print_done(struct restore *r) {
  char when[64] = "?";
  time_t t = (time_t)(r->m.created_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  if (r->ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "dir", r->ctx->dir);
    jsonw_str(&j, "fingerprint", r->m.fingerprint);
    jsonw_u64(&j, "created_ms", r->m.created_ms);
    jsonw_u64(&j, "objects", r->m.objects);
    jsonw_str(&j, "replaced", r->aside);
    jsonw_end(&j);
    return;
  }
  printf("Restored node %s as of %s (%" PRIu64 " objects) into %s.\n", r->m.fingerprint, when,
         r->m.objects, r->ctx->dir);
  if (r->aside[0])
    printf("What was there before is in %s; delete it once the node runs well.\n", r->aside);
  printf("Start the node: systemctl start momedo (or momedod --dir %s). Its neighbors send\n"
         "it what they received since the backup.\n", r->ctx->dir);
}

/* With the directory locked: make room (or refuse), copy, hand over. */
static int restore_locked(struct restore *r) {
  const char *dir = r->ctx->dir;
  char fp[IDS_NODE_FP_STR_MAX], key[NODE_KEY_HEX_LEN + 1], e[REASON_MAX];
  if (exists(dir, NODE_KEY_FILE) || exists(dir, NODE_STORE_DIR "/CURRENT")) {
    if (!r->force) {
      int known = node_dir_identity(dir, fp, key, e, sizeof e) == 0;
      reason_set(r->err, sizeof r->err, "%s already holds a node%s%s%s; restore --force moves "
                "it to %s/replaced-TIME/ first", dir, known ? " (" : "", known ? fp : "",
                known ? ")" : "", dir);
      return MOMEDO_E_EXISTS;
    }
    int rc = move_aside(r, dir);
    if (rc) return rc;
  } else if (exists(dir, NODE_STORE_DIR)) {
    char p[NODE_PATH_BYTES_MAX]; /* an empty store directory, as init leaves it */
    if (path2(p, sizeof p, dir, NODE_STORE_DIR) != 0 || rmdir(p) != 0) {
      reason_set(r->err, sizeof r->err, "%s/%s is in the way: %s", dir, NODE_STORE_DIR,
                strerror(errno));
      return MOMEDO_E_EXISTS;
    }
  }
  int rc = restore_files(r, dir);
  if (!rc) give_to_owner(dir);
  return rc;
}

int adm_cmd_restore(struct adm_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {"keep-config", no_argument, NULL, 'k'},
                                       {0}};
  static struct restore r;
  int c, fd = -1;
  long holder = 0;
  r = (struct restore){.ctx = ctx};
  while ((c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c == 'f') r.force = 1;
    else if (c == 'k') r.keep_config = 1;
    else return ADM_EXIT_USAGE;
  }
  if (optind + 1 != argc) return adm_usage(ctx);
  r.src = argv[optind];
  int rc = adm_need_dir(ctx);
  if (rc) return rc;
  umask(077);
  if ((rc = check_backup(&r)) != 0) goto out;
  if (mkdir(ctx->dir, 0700) != 0 && errno != EEXIST) {
    reason_set(r.err, sizeof r.err, "cannot create %s: %s", ctx->dir, strerror(errno));
    rc = MOMEDO_E_IO;
    goto out;
  }
  rc = node_dir_lock(ctx->dir, 0, &fd, &holder, r.err, sizeof r.err);
  if (rc == MOMEDO_E_BUSY) {
    char pid[32] = "";
    if (holder) snprintf(pid, sizeof pid, " (PID %ld)", holder);
    reason_set(r.err, sizeof r.err, "the node in %s is running%s: stop it first (systemctl "
              "stop momedo); restore never writes under a running node", ctx->dir, pid);
  }
  if (!rc) rc = restore_locked(&r);
  node_dir_unlock(fd);
out:
  if (rc) rc = adm_fail(ctx, ADM_EXIT_FAIL, rc, "restore: %s", r.err[0] ? r.err :
                        momedo_strerror(rc));
  else print_done(&r);
  adm_manifest_free(&r.m);
  return rc;
}
