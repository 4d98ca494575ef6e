/* client/core/home.h — the client's directory: where it is (--home DIR, else MOMEDO_HOME,
 * else $HOME/.momedo), creating it with mode 0700, refusing one that others can read,
 * path joining with a bound, and the lock that serialises commands sharing one home
 * (a `listen` and a `send` running at once must not lose each other's state).
 * Knows nothing about what is stored inside (that is vault.c). */
#ifndef MOMEDO_CLIENT_HOME_H
#define MOMEDO_CLIENT_HOME_H

#include <stddef.h>

#include "status.h"

#define HOME_PATH_MAX 1024          /* bytes, with the NUL, of any path under the home */
#define HOME_DEFAULT_SUBDIR ".momedo"
#define HOME_ENV "MOMEDO_HOME"
#define HOME_LOCK_FILE "lock"

struct home {
  char dir[HOME_PATH_MAX];
  int lock_fd;                     /* -1 while not locked */
};

/* Pick the directory: flag_dir if non-NULL, else $MOMEDO_HOME, else $HOME/.momedo.
 * Does not touch the file system. E_INVAL (empty or over-long), E_CONFIG (no HOME). */
MOMEDO_WUR int home_resolve(struct home *h, const char *flag_dir);

/* Create the directory (mode 0700) if missing. An existing one must be a directory
 * owned by us; group/other permission bits are removed (E_DENIED if that fails).
 * E_IO with errno text in why (why_cap bytes, may be NULL). */
MOMEDO_WUR int home_ensure(const struct home *h, char *why, size_t why_cap);

/* 1 if the directory exists, else 0. */
int home_exists(const struct home *h);

/* out = dir "/" name. E_NOSPACE if it does not fit into cap. */
MOMEDO_WUR int home_path(const struct home *h, const char *name, char *out, size_t cap);

/* Take the home's exclusive lock (blocking), E_IO on failure. home_unlock releases
 * it; both are no-ops when already in that state. */
MOMEDO_WUR int home_lock(struct home *h);
void home_unlock(struct home *h);

#endif
