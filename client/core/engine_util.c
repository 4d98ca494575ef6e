/* client/core/engine_util.c — the engine's small helpers: the failure sentence, notices
 * and messages handed to the front-end as events (never printed here), and the crash
 * points the crash tests use ($MOMEDO_TEST_CRASH; SIGKILL, nothing flushed). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

int eng_fail(struct eng *c, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, sizeof c->why, fmt, ap);
  va_end(ap);
  return rc < 0 ? rc : MOMEDO_E_INTERNAL;
}

__attribute__((format(printf, 3, 0)))
static void emit_text(struct eng *c, enum eng_event_kind kind, const char *fmt, va_list ap) {
  char text[ENG_NOTE_MAX];
  struct eng_event ev;
  if (!c || !c->on_event) return;
  vsnprintf(text, sizeof text, fmt, ap);
  memset(&ev, 0, sizeof ev);
  ev.kind = kind;
  ev.text = text;
  c->on_event(c, &ev);
}

void eng__note(struct eng *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit_text(c, ENG_EV_NOTE, fmt, ap);
  va_end(ap);
}

void eng__link_note(struct eng *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit_text(c, ENG_EV_LINK, fmt, ap);
  va_end(ap);
}

void eng__emit_msg(struct eng *c, const struct eng_msg *m) {
  struct eng_event ev;
  if (!c || !c->on_event) return;
  memset(&ev, 0, sizeof ev);
  ev.kind = ENG_EV_MESSAGE;
  ev.msg = m;
  c->on_event(c, &ev);
}

void eng__crash_point(const char *where) {
  const char *want = getenv(ENG_CRASH_ENV);
  if (want == NULL || strcmp(want, where) != 0) return;
  raise(SIGKILL); /* what a power cut or the OOM killer does: no cleanup at all */
}
