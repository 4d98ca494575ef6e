/* node/dirlock.c — one momedod per node directory: an exclusive flock on DIR/momedod.pid,
 * held for the life of the process (the kernel drops it at exit, even after kill -9),
 * with the holder's PID written inside so that a second momedod can name it. Checked
 * before the store is opened, so the second one never reaches RocksDB's own lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "log.h"
#include "node_int.h"

#define DIRLOCK_PID_BYTES_MAX 24 /* "4194304\n" and then some */

/* The PID written in the lock file by its holder, or 0 if there is none (yet). */
static long holder_pid(int fd) {
  char buf[DIRLOCK_PID_BYTES_MAX + 1];
  ssize_t got = pread(fd, buf, DIRLOCK_PID_BYTES_MAX, 0);
  if (got <= 0) return 0;
  buf[got] = 0;
  char *end;
  long pid = strtol(buf, &end, 10);
  return pid > 0 && (*end == '\n' || *end == 0) ? pid : 0;
}

static void say_busy(const char *dir, const char *path, long pid) {
  if (pid > 0)
    node_log(NODE_LOG_ERROR,
             "another momedod (PID %ld) is running with the node directory %s: stop it first "
             "(kill %ld, or systemctl stop momedo); one directory serves one momedod",
             pid, dir, pid);
  else
    node_log(NODE_LOG_ERROR,
             "another momedod is probably running with the node directory %s (it holds the "
             "lock on %s): stop it first; one directory serves one momedod",
             dir, path);
}

int node__dir_lock(const char *dir, int *fd_out) {
  char path[NODE_PATH_BYTES_MAX], line[DIRLOCK_PID_BYTES_MAX];
  *fd_out = -1;
  if (snprintf(path, sizeof path, "%s/%s", dir, NODE_PID_FILE) >= (int)sizeof path)
    return MOMEDO_E_TOOBIG;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    node_log(NODE_LOG_ERROR, "cannot open %s: %s", path, strerror(errno));
    return MOMEDO_E_IO;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = errno == EWOULDBLOCK;
    if (busy)
      say_busy(dir, path, holder_pid(fd));
    else
      node_log(NODE_LOG_ERROR, "cannot lock %s: %s", path, strerror(errno));
    close(fd);
    return busy ? MOMEDO_E_BUSY : MOMEDO_E_IO;
  }
  int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
    node_log(NODE_LOG_ERROR, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return MOMEDO_E_IO;
  }
  *fd_out = fd;
  return 0;
}

void node__dir_unlock(int fd) {
  if (fd < 0) return;
  /* A stopped node leaves no PID behind. A stale one would be harmless too: only a
   * held lock makes its PID count. */
  if (ftruncate(fd, 0) != 0) node_log(NODE_LOG_DEBUG, "pid file: %s", strerror(errno));
  close(fd); /* releases the lock */
}
