/* node/dirlock.c — one momedod per node directory: the lock of nodedir.c on
 * DIR/momedod.pid with our PID inside, held for the life of the process (the kernel
 * drops it at exit, even after kill -9), and the log line when another process holds
 * it. Checked before the store is opened, so the second one never reaches RocksDB's
 * own lock. */
#include <unistd.h>

#include "log.h"
#include "node_int.h"

int node__dir_lock(const char *dir, int *fd_out) {
  char err[REASON_MAX];
  long holder = 0;
  int rc = node_dir_lock(dir, (long)getpid(), fd_out, &holder, err, sizeof err);
  if (rc) node_log(NODE_LOG_ERROR, "%s", err);
  return rc;
}

void node__dir_unlock(int fd) { node_dir_unlock(fd); }
