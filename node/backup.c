/* node/backup.c — the node's half of `momedo-admin backup`: a RocksDB checkpoint of the
 * running store (a consistent point-in-time copy: hard links to the immutable table
 * files and the flushed memtable) in DIR/backup.tmp/<time>, made on a libuv worker
 * thread while the loop keeps serving, and answered with its path, which the caller
 * copies and deletes. The node dir is the one place the node may always write (the
 * packaged unit's ReadWritePaths); leftovers of interrupted backups go at start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "node_int.h"
#include "store_rocks.h"

struct backup_job {
  uv_work_t w;
  struct node *n;
  struct admin_conn *a;
  char rel[NODE_PATH_BYTES_MAX];  /* NODE_BACKUP_DIR/<time>, relative to the node dir */
  char path[NODE_PATH_BYTES_MAX]; /* the same under n->dir */
  uint64_t created_ms, objects;
  int rc;
  char err[REASON_MAX];
};

static void backup_work(uv_work_t *w) { /* a worker thread: the store only */
  struct backup_job *j = w->data;
  j->rc = store_rocks_checkpoint(j->n->store, j->path, j->err, sizeof j->err);
}

static void backup_done(uv_work_t *w, int status) {
  struct backup_job *j = w->data;
  struct node *n = j->n;
  Momedo__AdminResponse rs = MOMEDO__ADMIN_RESPONSE__INIT;
  Momedo__BackupResp b = MOMEDO__BACKUP_RESP__INIT;
  struct store_rocks_stats ss;
  char why[REASON_MAX] = "";
  n->backup_running = 0;
  if (status != 0 && j->rc == 0) j->rc = MOMEDO_E_INTERNAL;
  if (j->rc) {
    node_log(NODE_LOG_ERROR, "backup: %s", j->err[0] ? j->err : momedo_strerror(j->rc));
    if (snprintf(why, sizeof why, "the node could not make a checkpoint in %s: %s", j->rel,
                 j->err[0] ? j->err : momedo_strerror(j->rc)) >= (int)sizeof why)
      why[sizeof why - 1] = 0; /* truncated is fine for a message */
    if (node_rm_rf(j->path, NULL, 0) != 0)
      node_log(NODE_LOG_WARN, "backup: cannot delete %s", j->path);
    node__admin_answer(j->a, j->rc, why, NULL);
    free(j);
    return;
  }
  store_rocks_stats(n->store, &ss);
  b.path = j->rel;
  b.fingerprint = n->fingerprint;
  b.created_ms = j->created_ms;
  b.objects = j->objects;
  b.store_bytes = ss.sst_bytes;
  rs.body_case = MOMEDO__ADMIN_RESPONSE__BODY_BACKUP;
  rs.backup = &b;
  node_log(NODE_LOG_INFO, "backup: checkpoint of %llu objects in %s",
           (unsigned long long)j->objects, j->path);
  node__admin_answer(j->a, 0, "", &rs);
  free(j);
}

int node__a_backup(struct node *n, const Momedo__AdminRequest *rq, Momedo__AdminResponse *rs,
                   char *why, size_t why_cap) {
  struct repl_stats st;
  char dir[NODE_PATH_BYTES_MAX];
  if (n->backup_running) {
    snprintf(why, why_cap, "a backup is being made right now; try again when it is done");
    return MOMEDO_E_BUSY;
  }
  struct backup_job *j = calloc(1, sizeof *j);
  if (!j) return MOMEDO_E_NOMEM;
  j->n = n;
  j->created_ms = node__now_ms();
  repl_stats(n->repl, &st);
  j->objects = st.objects;
  snprintf(j->rel, sizeof j->rel, "%s/%llu", NODE_BACKUP_DIR, (unsigned long long)j->created_ms);
  if (snprintf(dir, sizeof dir, "%s/%s", n->dir, NODE_BACKUP_DIR) >= (int)sizeof dir ||
      snprintf(j->path, sizeof j->path, "%s/%s", n->dir, j->rel) >= (int)sizeof j->path ||
      (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
    snprintf(why, why_cap, "cannot create %s: %s", dir, strerror(errno));
    free(j);
    return MOMEDO_E_IO;
  }
  j->w.data = j;
  if (uv_queue_work(n->loop, &j->w, backup_work, backup_done) != 0) {
    free(j);
    return MOMEDO_E_INTERNAL;
  }
  j->a = node__admin_defer(n);
  n->backup_running = 1;
  return NODE_ADMIN_LATER;
}

void node__backup_cleanup(struct node *n) {
  char dir[NODE_PATH_BYTES_MAX], err[REASON_MAX] = "";
  struct stat st;
  if (snprintf(dir, sizeof dir, "%s/%s", n->dir, NODE_BACKUP_DIR) >= (int)sizeof dir ||
      lstat(dir, &st) != 0)
    return;
  if (node_rm_rf(dir, err, sizeof err) != 0)
    node_log(NODE_LOG_WARN, "cannot delete what an interrupted backup left: %s", err);
  else
    node_log(NODE_LOG_INFO, "deleted %s, left by an interrupted backup", dir);
}
