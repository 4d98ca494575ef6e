/* client/core/home.c — locating, creating and locking the client's directory. The only
 * file-system policy here is "private to the user": mode 0700, owned by us. What the
 * files inside mean is vault.c's business. */
#include "home.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reason.h"

int home_resolve(struct home *h, const char *flag_dir) {
  h->dir[0] = '\0';
  h->lock_fd = -1;
  const char *d = flag_dir ? flag_dir : getenv(HOME_ENV);
  int n;
  if (d) {
    if (d[0] == '\0') return MOMEDO_E_INVAL;
    n = snprintf(h->dir, sizeof h->dir, "%s", d);
  } else {
    const char *u = getenv("HOME");
    if (!u || u[0] == '\0') return MOMEDO_E_CONFIG;
    n = snprintf(h->dir, sizeof h->dir, "%s/%s", u, HOME_DEFAULT_SUBDIR);
  }
  if (n < 0 || (size_t)n >= sizeof h->dir - 64) { /* leave room for file names */
    h->dir[0] = '\0';
    return MOMEDO_E_INVAL;
  }
  /* Strip trailing slashes (but keep "/"). */
  while (n > 1 && h->dir[n - 1] == '/') h->dir[--n] = '\0';
  return 0;
}

int home_exists(const struct home *h) {
  struct stat st;
  return stat(h->dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int home_ensure(const struct home *h, char *why, size_t why_cap) {
  struct stat st;
  if (mkdir(h->dir, 0700) != 0 && errno != EEXIST) {
    reason_set(why, why_cap, "cannot create %s: %s", h->dir, strerror(errno));
    return MOMEDO_E_IO;
  }
  if (stat(h->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    reason_set(why, why_cap, "%s is not a directory", h->dir);
    return MOMEDO_E_IO;
  }
  if (st.st_uid != geteuid()) {
    reason_set(why, why_cap, "%s belongs to another user", h->dir);
    return MOMEDO_E_DENIED;
  }
  if ((st.st_mode & 077) != 0 && chmod(h->dir, st.st_mode & 0700) != 0) {
    reason_set(why, why_cap, "cannot make %s private: %s", h->dir, strerror(errno));
    return MOMEDO_E_DENIED;
  }
  return 0;
}

int home_path(const struct home *h, const char *name, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s/%s", h->dir, name);
  if (n < 0 || (size_t)n >= cap) return MOMEDO_E_NOSPACE;
  return 0;
}

int home_lock(struct home *h) {
  char p[HOME_PATH_MAX];
  if (h->lock_fd >= 0) return 0;
  int rc = home_path(h, HOME_LOCK_FILE, p, sizeof p);
  if (rc) return rc;
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return MOMEDO_E_IO;
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    close(fd);
    return MOMEDO_E_IO;
  }
  h->lock_fd = fd;
  return 0;
}

void home_unlock(struct home *h) {
  if (h->lock_fd < 0) return;
  (void)flock(h->lock_fd, LOCK_UN);
  close(h->lock_fd);
  h->lock_fd = -1;
}
