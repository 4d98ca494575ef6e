/* node/nodedir.c — creating a node directory (config template, node key, empty store
 * directory), reading its identity, the one-momedod-per-directory lock on momedod.pid,
 * and which directory a command means. Plain C over files (momedo_nodeconf): momedod
 * and momedo-admin share it; nothing here logs or opens the store. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nodedir.h"

#define NODEDIR_PID_BYTES_MAX 24 /* "4194304\n" and then some */

static int path_in(char *out, size_t cap, const char *dir, const char *file) {
  return snprintf(out, cap, "%s/%s", dir, file) < (int)cap ? 0 : MOMEDO_E_INVAL;
}

static int exists(const char *dir, const char *file) {
  char p[NODE_PATH_BYTES_MAX];
  struct stat st;
  return path_in(p, sizeof p, dir, file) == 0 && lstat(p, &st) == 0;
}

/* What may be created in dir, checked before anything is written. */
static int create_check(const char *dir, const char *listen, const char *name,
                        enum node_dir_mode mode, char *why, size_t why_cap) {
  char host[NODE_HOST_CHARS_MAX + 1];
  uint16_t port;
  if (listen && node_hostport_parse(listen, host, &port) != 0) {
    reason_set(why, why_cap, "--listen '%.80s' is not HOST:PORT (e.g. 0.0.0.0:4710)", listen);
    return MOMEDO_E_INVAL;
  }
  if (name && !node_name_valid(name)) {
    reason_set(why, why_cap, "--name must be 1..%d letters, digits, '.', '_' or '-'",
            NODE_NAME_CHARS_MAX);
    return MOMEDO_E_INVAL;
  }
  if (strlen(dir) + 32 > NODE_PATH_BYTES_MAX) {
    reason_set(why, why_cap, "%.64s...: directory path too long", dir);
    return MOMEDO_E_INVAL;
  }
  if (exists(dir, NODE_KEY_FILE) || (mode == NODE_DIR_NEW && exists(dir, NODE_CONF_FILE))) {
    reason_set(why, why_cap, "%s already holds a momedo node; refusing to overwrite it", dir);
    return MOMEDO_E_EXISTS;
  }
  if (exists(dir, NODE_STORE_DIR "/CURRENT")) {
    reason_set(why, why_cap, "%s has a store but no %s: put the node's key back (momedo-admin "
            "restore) or move %s/%s away; a new key would make it another node",
            dir, NODE_KEY_FILE, dir, NODE_STORE_DIR);
    return MOMEDO_E_CORRUPT;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    reason_set(why, why_cap, "cannot create %s: %s", dir, strerror(errno));
    return MOMEDO_E_IO;
  }
  return 0;
}

/* Run as root in a directory another user owns (the packaged /var/lib/momedo): what
 * we made belongs to that user, or the node could not read its own key. */
static void give_to_owner(const char *dir, const char *const *files, size_t n) {
  struct stat st;
  char p[NODE_PATH_BYTES_MAX];
  if (geteuid() != 0 || stat(dir, &st) != 0 || st.st_uid == 0) return;
  for (size_t i = 0; i < n; i++)
    if (path_in(p, sizeof p, dir, files[i]) == 0 && lchown(p, st.st_uid, st.st_gid) != 0 &&
        errno != ENOENT) {
      /* best effort: the node names the file it cannot read */
    }
}

static int write_conf(const char *dir, const char *name, const char *listen, char *why,
                      size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX];
  char *conf = node_config_template(name, listen);
  int rc = conf ? path_in(path, sizeof path, dir, NODE_CONF_FILE) : MOMEDO_E_NOMEM;
  if (!rc) rc = node_file_write_atomic(path, conf, strlen(conf), 0600);
  free(conf);
  if (rc) reason_set(why, why_cap, "cannot write %s/%s: %s", dir, NODE_CONF_FILE, momedo_strerror(rc));
  return rc;
}

int node_dir_create(const char *dir, const char *listen, const char *name,
                    enum node_dir_mode mode, struct node_dir_info *out, char *why,
                    size_t why_cap) {
  static const char *const made[] = {NODE_CONF_FILE, NODE_KEY_FILE, NODE_STORE_DIR};
  struct crypto_sign_keypair kp;
  char path[NODE_PATH_BYTES_MAX];
  memset(out, 0, sizeof *out);
  int rc = create_check(dir, listen, name, mode, why, why_cap);
  if (rc) return rc;
  if (name) snprintf(out->name, sizeof out->name, "%s", name);
  else node_default_name(out->name);
  snprintf(out->listen, sizeof out->listen, "%s", listen ? listen : NODE_LISTEN_DEFAULT);
  if ((rc = crypto_sign_keygen(&kp)) != 0) {
    reason_set(why, why_cap, "cannot create the node key: %s", momedo_strerror(rc));
    return rc;
  }
  rc = node_keyfile_write(dir, &kp, why, why_cap);
  if (!rc && !(mode == NODE_DIR_KEEP_CONF && exists(dir, NODE_CONF_FILE))) {
    rc = write_conf(dir, out->name, out->listen, why, why_cap);
    out->conf_written = rc == 0;
  }
  if (!rc && path_in(path, sizeof path, dir, NODE_STORE_DIR) == 0 && mkdir(path, 0700) != 0 &&
      errno != EEXIST) {
    reason_set(why, why_cap, "cannot create %s: %s", path, strerror(errno));
    rc = MOMEDO_E_IO;
  }
  if (!rc) rc = ids_node_fingerprint(out->fingerprint, kp.pub);
  node_key_hex(kp.pub, out->node_key);
  crypto_wipe(&kp, sizeof kp);
  if (!rc) give_to_owner(dir, made, sizeof made / sizeof made[0]);
  return rc;
}

int node_dir_identity(const char *dir, char fp[static IDS_NODE_FP_STR_MAX],
                      char key_hex[static NODE_KEY_HEX_LEN + 1], char *why, size_t why_cap) {
  struct crypto_sign_keypair kp;
  int rc = node_keyfile_read(dir, &kp, why, why_cap);
  if (rc) return rc;
  rc = ids_node_fingerprint(fp, kp.pub);
  node_key_hex(kp.pub, key_hex);
  crypto_wipe(&kp, sizeof kp);
  return rc;
}

/* The PID written in the lock file by its holder, or 0 if there is none (yet). */
static long holder_pid(int fd) {
  char buf[NODEDIR_PID_BYTES_MAX + 1];
  ssize_t got = pread(fd, buf, NODEDIR_PID_BYTES_MAX, 0);
  if (got <= 0) return 0;
  buf[got] = 0;
  char *end;
  long pid = strtol(buf, &end, 10);
  return pid > 0 && (*end == '\n' || *end == 0) ? pid : 0;
}

int node_dir_lock(const char *dir, long pid, int *fd_out, long *holder, char *why,
                  size_t why_cap) {
  char path[NODE_PATH_BYTES_MAX], line[NODEDIR_PID_BYTES_MAX];
  *fd_out = -1;
  *holder = 0;
  if (path_in(path, sizeof path, dir, NODE_PID_FILE) != 0) return MOMEDO_E_TOOBIG;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    reason_set(why, why_cap, "cannot open %s: %s", path, strerror(errno));
    return errno == EACCES ? MOMEDO_E_DENIED : MOMEDO_E_IO;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = errno == EWOULDBLOCK;
    if (busy && (*holder = holder_pid(fd)) > 0)
      reason_set(why, why_cap, "another momedod (PID %ld) is running with the node directory "
              "%s: stop it first (kill %ld, or systemctl stop momedo); one directory serves "
              "one momedod", *holder, dir, *holder);
    else if (busy)
      reason_set(why, why_cap, "another process holds the node directory %s (the lock on %s): "
              "a momedod, or a momedo-admin restore; stop it first", dir, path);
    else
      reason_set(why, why_cap, "cannot lock %s: %s", path, strerror(errno));
    close(fd);
    return busy ? MOMEDO_E_BUSY : MOMEDO_E_IO;
  }
  int n = pid > 0 ? snprintf(line, sizeof line, "%ld\n", pid) : 0;
  if (ftruncate(fd, 0) != 0 || (n > 0 && pwrite(fd, line, (size_t)n, 0) != n)) {
    reason_set(why, why_cap, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return MOMEDO_E_IO;
  }
  *fd_out = fd;
  return 0;
}

void node_dir_unlock(int fd) {
  if (fd < 0) return;
  /* A stopped node leaves no PID behind. A stale one would be harmless too: only a
   * held lock makes its PID count. */
  if (ftruncate(fd, 0) != 0) { /* nothing to do about it */
  }
  close(fd); /* releases the lock */
}

/* Post-order walk below the directory open as dfd: fn(dfd, name, is_dir) for every
 * entry, children first; the caller handles the top. Never follows symlinks. */
typedef int (*tree_fn)(int dfd, const char *name, int is_dir, void *ctx);

static int tree_walk(int dfd, int depth, tree_fn fn, void *ctx) {
  if (depth > NODE_TREE_DEPTH_MAX) return MOMEDO_E_BOUNDS;
  int dup_fd = dup(dfd);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!d) {
    if (dup_fd >= 0) close(dup_fd);
    return MOMEDO_E_IO;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue; /* gone meanwhile (a compaction's old table file) */
      rc = MOMEDO_E_IO;
      break;
    }
    int is_dir = S_ISDIR(st.st_mode);
    if (is_dir) {
      int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0 && errno == ENOENT) continue;
      if (sub < 0) {
        rc = MOMEDO_E_IO;
        break;
      }
      rc = tree_walk(sub, depth + 1, fn, ctx);
      close(sub);
    }
    if (rc == 0) rc = fn(dfd, e->d_name, is_dir, ctx);
  }
  closedir(d);
  return rc;
}

static int rm_one(int dfd, const char *name, int is_dir, void *ctx) {
  return unlinkat(dfd, name, is_dir ? AT_REMOVEDIR : 0) == 0 ? 0 : MOMEDO_E_IO;
}

struct owner {
  uid_t uid;
  gid_t gid;
};

static int chown_one(int dfd, const char *name, int is_dir, void *ctx) {
  const struct owner *o = ctx;
  return fchownat(dfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : MOMEDO_E_IO;
}

/* Walk below path (a directory; a file or symlink is just itself), then path itself. */
static int tree_apply(const char *path, tree_fn fn, void *ctx) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO;
  int rc = 0;
  if (S_ISDIR(st.st_mode)) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return MOMEDO_E_IO;
    rc = tree_walk(fd, 1, fn, ctx);
    close(fd);
  }
  return rc ? rc : fn(AT_FDCWD, path, S_ISDIR(st.st_mode), ctx);
}

static int du_one(int dfd, const char *name, int is_dir, void *ctx) {
  struct stat st;
  (void)is_dir;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : MOMEDO_E_IO;
  *(uint64_t *)ctx += (uint64_t)st.st_blocks * 512u; /* st_blocks counts 512-byte units */
  return 0;
}

int node_dir_usage(const char *dir, uint64_t *bytes) {
  *bytes = 0;
  return tree_apply(dir, du_one, bytes);
}

int node_rm_rf(const char *path, char *why, size_t why_cap) {
  int rc = tree_apply(path, rm_one, NULL);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) reason_set(why, why_cap, "cannot delete %s: %s", path, rc == MOMEDO_E_BOUNDS ?
                    "nested too deep" : strerror(errno));
  return rc;
}

int node_chown_tree(const char *path, unsigned uid, unsigned gid, char *why, size_t why_cap) {
  struct owner o = {(uid_t)uid, (gid_t)gid};
  int rc = tree_apply(path, chown_one, &o);
  if (rc) reason_set(why, why_cap, "cannot give %s to uid %u: %s", path, uid, strerror(errno));
  return rc;
}

const char *node_dir_pick(const char *given) {
  struct stat st;
  if (given && *given) return given;
  const char *env = getenv(NODE_DIR_ENV);
  if (env && *env) return env;
  if (stat(NODE_DIR_DEFAULT, &st) == 0 && S_ISDIR(st.st_mode)) return NODE_DIR_DEFAULT;
  return NULL;
}
