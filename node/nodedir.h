/* node/nodedir.h — a node directory as files: the node key file (node.key), creating a
 * node (momedo.conf, node.key, an empty store/), the lock that lets one momedod run per
 * directory, and which directory momedo-admin means. Plain C over files in the library
 * momedo_nodeconf (with config.c), linked by momedod and momedo-admin: no logging
 * (errors are sentences in why), no libuv, no RocksDB, no wolfSSL. */
#ifndef MOMEDO_NODE_NODEDIR_H
#define MOMEDO_NODE_NODEDIR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "ids.h"
#include "reason.h"
#include "status.h"

#define NODE_DIR_DEFAULT "/var/lib/momedo" /* the packaged node (debian/, momedo.service) */
#define NODE_DIR_ENV "MOMEDO_DIR"
#define NODE_KEY_LEN CRYPTO_SIGN_PUB_LEN
#define NODE_KEY_FILE "node.key"        /* secret: seed + public key, mode 0600 */
#define NODE_KEY_FILE_VERSION 1
#define NODE_KEY_FILE_BYTES_MAX 512     /* a longer node.key is malformed */
#define NODE_KEY_HEX_LEN (2 * NODE_KEY_LEN)
#define NODE_KEY_PREFIX_LEN 16          /* hex digits of the key shown in logs */
#define NODE_PID_FILE "momedod.pid"     /* locked by the running momedod, its PID inside */
#define NODE_BACKUP_DIR "backup.tmp"    /* checkpoints of an online backup, being copied */

/* Failures are explained the one way (protocol/reason.h): why/why_cap, last. */

/* ---- node.key ---- */

/* Read DIR/node.key into kp, refusing a file that group or others may read (E_DENIED),
 * a symlink (E_DENIED), a malformed or truncated one or one whose public key does not
 * match its seed (E_CORRUPT), an unknown version (E_VERSION); no file is E_NOTFOUND.
 * why (may be NULL) receives a sentence naming the file. kp holds the secret: wipe it
 * with crypto_wipe when done. */
MOMEDO_WUR int node_keyfile_read(const char *dir, struct crypto_sign_keypair *kp, char *why,
                                 size_t why_cap);
/* Write DIR/node.key (mode 0600, fsync'ed) for kp; never replaces one (E_EXISTS). */
MOMEDO_WUR int node_keyfile_write(const char *dir, const struct crypto_sign_keypair *kp,
                                  char *why, size_t why_cap);

/* Write len bytes to path through path.tmp (fsync, then rename; with exclusive, link(2)
 * so an existing path is never replaced: E_EXISTS). why as above. */
MOMEDO_WUR int node_file_put(const char *path, const void *buf, size_t len, unsigned mode,
                             int exclusive, char *why, size_t why_cap);

/* Lower-case hex of a node key: out gets NODE_KEY_HEX_LEN digits and a NUL. */
void node_key_hex(const uint8_t key[static NODE_KEY_LEN], char out[static NODE_KEY_HEX_LEN + 1]);
/* The first NODE_KEY_PREFIX_LEN hex digits, for log lines. */
void node_key_prefix(const uint8_t key[static NODE_KEY_LEN],
                     char out[static NODE_KEY_PREFIX_LEN + 1]);
/* Parse NODE_KEY_HEX_LEN hex digits (either case). 0 or MOMEDO_E_INVAL. */
MOMEDO_WUR int node_key_parse(const char *hex, uint8_t key[static NODE_KEY_LEN]);

/* ---- creating a node ---- */

struct node_dir_info {
  char name[NODE_NAME_CHARS_MAX + 1];
  char listen[NODE_HOSTPORT_CHARS_MAX + 1];
  char fingerprint[IDS_NODE_FP_STR_MAX];
  char node_key[NODE_KEY_HEX_LEN + 1];
  int conf_written; /* momedo.conf was written (0: an existing one was kept) */
};

enum node_dir_mode {
  NODE_DIR_NEW = 0,      /* DIR holds no node: no momedo.conf, no node.key */
  NODE_DIR_KEEP_CONF = 1 /* first start: an existing momedo.conf (the package's) is kept */
};

/* Create a node in dir: dir itself (0700; its parent must exist), momedo.conf from
 * node_config_template (name NULL: the host name; listen NULL: NODE_LISTEN_DEFAULT)
 * unless mode keeps an existing one, node.key (0600) and an empty store/ (0700; the
 * database is created in it at the first start). Refuses (E_EXISTS) a directory that
 * holds a node key, a momedo.conf in NODE_DIR_NEW, or a store without a key (a lost
 * key must not be replaced silently: E_CORRUPT). Run as root in a directory another
 * user owns, what it creates is given to that user. On failure why says why. */
MOMEDO_WUR int node_dir_create(const char *dir, const char *listen, const char *name,
                               enum node_dir_mode mode, struct node_dir_info *out, char *why,
                               size_t why_cap);

/* The fingerprint and node key (hex) of the node in dir, from its node.key. */
MOMEDO_WUR int node_dir_identity(const char *dir, char fp[static IDS_NODE_FP_STR_MAX],
                                 char key_hex[static NODE_KEY_HEX_LEN + 1], char *why,
                                 size_t why_cap);

/* ---- one momedod per directory ---- */

/* Take the exclusive lock on DIR/NODE_PID_FILE (flock; the kernel drops it when the
 * process exits, even after kill -9) and write pid into it (0: leave it empty, for a
 * tool that holds the directory, such as a restore). *fd_out keeps it until
 * node_dir_unlock. MOMEDO_E_BUSY when another process holds it: *holder is its PID as
 * written in the file (0 if unknown) and why says who. */
MOMEDO_WUR int node_dir_lock(const char *dir, long pid, int *fd_out, long *holder, char *why,
                             size_t why_cap);
/* Clear the PID and release the lock (fd may be -1). */
void node_dir_unlock(int fd);

/* ---- trees (backups, restores) ---- */

#define NODE_TREE_DEPTH_MAX 8 /* a node directory is two levels deep; deeper is refused */

/* Delete path and everything below it (symlinks are removed, never followed); a path
 * that does not exist is fine. err as above. */
MOMEDO_WUR int node_rm_rf(const char *path, char *why, size_t why_cap);
/* Give path and everything below it to uid:gid (symlinks themselves, not their
 * targets). */
MOMEDO_WUR int node_chown_tree(const char *path, unsigned uid, unsigned gid, char *why,
                               size_t why_cap);

/* The space path and everything below it take on disk (allocated blocks, as du counts
 * them; symlinks not followed; entries that vanish during the walk are skipped). */
MOMEDO_WUR int node_dir_usage(const char *path, uint64_t *bytes);

/* ---- which directory ---- */

/* The node directory a command means: given (--dir) if not NULL, else $MOMEDO_DIR, else
 * NODE_DIR_DEFAULT when that directory exists; NULL when none applies. */
const char *node_dir_pick(const char *given);

#endif
