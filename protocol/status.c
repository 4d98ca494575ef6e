/* protocol/status.c — lookups into the status table; no state. */
#include "status.h"

#include <stddef.h>

struct status_row {
  int value;
  enum momedo_kind kind;
  const char *name;
  const char *msg;
};

static const struct status_row status_rows[] = {
#define MOMEDO_X_(name, val, kind, msg) {(val), MOMEDO_KIND_##kind, #name, (msg)},
    MOMEDO_STATUS_MAP(MOMEDO_X_)
#undef MOMEDO_X_
};

static const struct status_row *status_find(int status) {
  for (size_t i = 0; i < sizeof status_rows / sizeof status_rows[0]; i++)
    if (status_rows[i].value == status) return &status_rows[i];
  return NULL;
}

const char *momedo_strerror(int status) {
  const struct status_row *r = status_find(status);
  return r ? r->msg : "unknown status";
}

const char *momedo_status_name(int status) {
  const struct status_row *r = status_find(status);
  return r ? r->name : "E_UNKNOWN";
}

enum momedo_kind momedo_status_kind(int status) {
  const struct status_row *r = status_find(status);
  return r ? r->kind : MOMEDO_KIND_INTERNAL;
}
