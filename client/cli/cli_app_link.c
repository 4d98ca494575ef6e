/* client/cli/cli_app_link.c — the first run of `momedo app` with a link code from the
 * user's first device: a thread runs `device join` (eng_device_join) with the
 * passphrase the page chose, reporting the six-digit safety code to compare while it
 * waits for the first device (GET /api/state: linking, linking_safety), then unlocks
 * the home as /api/unlock does, or reports why not (linking_error). It holds the app's
 * lock only to report; it ends when the app quits (checked once a second). */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "cli_app.h"

struct link_job {
  struct app *a;
  struct cli c;             /* its own: the handlers use a->rq meanwhile */
  struct link_code l;
  char pass[ENG_PASS_MAX + 1];
  size_t pl;
};

static void on_waiting(void *arg, const char *safety) {
  struct link_job *j = arg;
  pthread_mutex_lock(&j->a->mu);
  snprintf(j->a->link_safety, sizeof j->a->link_safety, "%s", safety);
  pthread_mutex_unlock(&j->a->mu);
  app_changed(j->a, -1);
}

static int on_stop(void *arg) {
  struct link_job *j = arg;
  pthread_mutex_lock(&j->a->ev_mu);
  int q = j->a->quit;
  pthread_mutex_unlock(&j->a->ev_mu);
  return q;
}

static void *link_main(void *arg) {
  struct link_job *j = arg;
  struct app *a = j->a;
  struct eng_state *st = NULL;
  struct eng_link_ui ui = {on_waiting, on_stop, j};
  int rc = eng_state_new(&st);
  if (rc == 0) rc = eng_device_join(&j->c.e, st, &j->l, j->pass, j->pl, a->log2n, &ui);
  eng_state_free(st);
  pthread_mutex_lock(&a->mu);
  a->link_busy = 0;
  a->link_safety[0] = 0;
  if (rc) {
    snprintf(a->link_error, sizeof a->link_error, "%s",
             j->c.e.why[0] ? j->c.e.why : momedo_strerror(rc));
  } else {
    struct app_call c = {0};
    app_unlock_with(a, &c, j->pass, j->pl); /* wipes the passphrase */
    if (!a->unlocked) snprintf(a->link_error, sizeof a->link_error, "%s", "linked, but the "
                               "home does not open: unlock it with the passphrase");
    cJSON_Delete(c.out);
  }
  pthread_mutex_unlock(&a->mu);
  app_changed(a, -1);
  explicit_bzero(j, sizeof *j);
  free(j);
  eng_thread_done();
  return NULL;
}

int app_is_link_code(const char *code) {
  struct link_code probe;
  int rc = link_code_decode(&probe, code);
  explicit_bzero(&probe, sizeof probe);
  return rc != MOMEDO_E_PROTO; /* a link code, maybe damaged, expired or of another version */
}

void app_link_start(struct app *a, struct app_call *c, const char *code, const char *pass) {
  int rc;
  struct link_job *j = calloc(1, sizeof *j);
  if (!j) {
    app_error(c, 0, MOMEDO_E_NOMEM, NULL);
    return;
  }
  j->a = a;
  j->c = a->rq;
  j->c.e.why[0] = 0;
  if ((rc = eng_link_code_decode(&j->c.e, &j->l, code)) != 0) {
    app_error(c, MHD_HTTP_BAD_REQUEST, rc, j->c.e.why);
    free(j);
    return;
  }
  j->pl = strlen(pass);
  memcpy(j->pass, pass, j->pl);
  if (a->link_started) pthread_join(a->link_thread, NULL); /* a failed one before */
  a->link_started = 0;
  a->link_error[0] = a->link_safety[0] = 0;
  a->link_busy = 1;
  if (pthread_create(&a->link_thread, NULL, link_main, j) != 0) {
    a->link_busy = 0;
    explicit_bzero(j, sizeof *j);
    free(j);
    app_error(c, 0, MOMEDO_E_INTERNAL, "cannot start the link");
    return;
  }
  a->link_started = 1;
  c->http = MHD_HTTP_ACCEPTED;
  c->out = cJSON_CreateObject();
  cJSON_AddBoolToObject(c->out, "ok", 1);
  cJSON_AddBoolToObject(c->out, "linking", 1);
}

void app_link_state(struct app *a, cJSON *out) {
  if (a->link_busy) {
    cJSON_AddBoolToObject(out, "linking", 1);
    if (a->link_safety[0]) cJSON_AddStringToObject(out, "linking_safety", a->link_safety);
  }
  if (a->link_error[0]) cJSON_AddStringToObject(out, "linking_error", a->link_error);
}

void app_link_stop(struct app *a) {
  if (a->link_started) pthread_join(a->link_thread, NULL);
  a->link_started = 0;
}
