/* client/core/history_import.c — moving a home's per-conversation timeline files (the
 * vault files of momedo before history.db) into the history store, once. Each
 * conversation is one transaction; a run cut short (kill -9) leaves whole conversations
 * behind, and the next run adds the rest: a message ID a conversation already holds is
 * refused, so nothing is doubled. The mark "imported" in meta ends it for good; the files
 * are removed after that mark is durable. No network, no clock, never prints. */
#include "history.h"

#include <string.h>

#include "vault.h"

#define HIST_IMPORTED_KEY "imported"

/* One timeline file into its conversation (one transaction). */
static int import_one(struct hist *h, const struct vault *v, const struct hist_src *src,
                      struct hist_import_stats *st) {
  struct timeline t;
  struct hist_conv c;
  int rc = timeline_load(&t, v, src->key);
  if (rc == MOMEDO_E_CORRUPT) {
    st->damaged++;
    return 0;
  }
  if (rc || t.n == 0) return rc;
  st->files++;
  rc = hist_begin(h);
  if (rc == 0) rc = hist_conv(h, src->kind, src->key, &c);
  for (size_t i = 0; rc == 0 && i < t.n; i++) {
    rc = hist_add(h, &c, &t.v[i], NULL);
    if (rc == 0) st->added++;
    else if (rc == MOMEDO_E_EXISTS) {
      st->existing++;
      rc = 0;
    }
  }
  if (rc == 0) rc = hist_commit(h);
  if (rc) hist_rollback(h);
  timeline_free(&t);
  return rc;
}

int hist_import(struct hist *h, const struct vault *v, const struct hist_src *src, size_t n,
                struct hist_import_stats *st, void (*after_one)(size_t i)) {
  uint64_t done = 0;
  memset(st, 0, sizeof *st);
  int rc = hist_meta_get(h, HIST_IMPORTED_KEY, &done);
  if (rc == 0 && done) return 0;
  if (rc && rc != MOMEDO_E_NOTFOUND) return rc;
  st->ran = 1;
  for (size_t i = 0; i < n; i++) {
    if ((rc = import_one(h, v, &src[i], st)) != 0) return rc;
    if (after_one) after_one(i);
  }
  if ((rc = hist_begin(h)) != 0) return rc;
  rc = hist_meta_set(h, HIST_IMPORTED_KEY, 1);
  if (rc == 0) rc = hist_commit(h);
  if (rc) {
    hist_rollback(h);
    return rc;
  }
  /* Durable in history.db: the files go (one left by a crash here is never read again). */
  for (size_t i = 0; i < n; i++)
    if (timeline_remove(v, src[i].key) != 0) st->unremoved++;
  return 0;
}
