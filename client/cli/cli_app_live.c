/* client/cli/cli_app_live.c — `momedo app`'s link to the node: once the page has
 * unlocked the home, a thread listens like `momedo listen` (eng_listen_begin, then one
 * pushed event at a time through eng_handle_event), taking the app's lock only while it
 * handles something, and raises the change counter the event streams carry to the page
 * whenever the engine stored or printed anything. Reconnects with backoff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_app.h"

void app_changed(struct app *a, int link_up) {
  pthread_mutex_lock(&a->ev_mu);
  a->ev_seq++;
  if (link_up >= 0) a->link_up = link_up;
  pthread_cond_broadcast(&a->ev_cv);
  pthread_mutex_unlock(&a->ev_mu);
}

/* Sleep up to ms or until quit; returns quit. */
static int nap(struct app *a, unsigned ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&a->ev_mu);
  while (!a->quit)
    if (pthread_cond_timedwait(&a->ev_cv, &a->ev_mu, &until) == ETIMEDOUT) break;
  int q = a->quit;
  pthread_mutex_unlock(&a->ev_mu);
  return q;
}

static int quitting(struct app *a) {
  pthread_mutex_lock(&a->ev_mu);
  int q = a->quit;
  pthread_mutex_unlock(&a->ev_mu);
  return q;
}

/* Whether the engine printed something since the last call (a message, a receipt, a
 * group event: each is a change the page fetches). */
static int printed(struct app *a) {
  fflush(a->lc.out);
  long at = ftell(a->lc.out);
  rewind(a->lc.out);
  return at > 0;
}

/* One connected stretch: start, then events until the link fails or quit. */
static int live_once(struct app *a, size_t *n_new) {
  struct eng_conn *cn = NULL;
  int rc = eng_conn_new(&cn);
  pthread_mutex_lock(&a->mu);
  if (rc == 0) rc = eng_listen_begin(&a->lc.e, a->st, cn, n_new);
  pthread_mutex_unlock(&a->mu);
  app_changed(a, rc == 0);
  struct eng_watch w = {.dropped = 0, .last_ms = os_wall_ms()};
  while (rc == 0 && !quitting(a)) {
    size_t before = *n_new;
    rc = eng_conn_wait(&a->lc.e, cn, APP_LIVE_WAIT_MS); /* outside the lock */
    if (rc && rc != MOMEDO_E_TIMEOUT) break; /* the link to the node failed */
    int event = rc != MOMEDO_E_TIMEOUT;
    pthread_mutex_lock(&a->mu);
    if (!event) { /* a channel joined or a group made in the page: subscribe, catch up */
      rc = eng_listen_update(&a->lc.e, a->st, cn, n_new);
      if (rc == 0) rc = eng_watch_check(&a->lc.e, a->st, cn, &w, 1, n_new);
    } else {
      rc = eng_handle_event(&a->lc.e, a->st, cn, n_new);
      if (rc == 0) rc = eng_listen_update(&a->lc.e, a->st, cn, n_new);
      if (rc == 0) rc = eng_watch_check(&a->lc.e, a->st, cn, &w, 0, n_new);
    }
    /* An event is a change too: a receipt moves a tick without a new message. */
    int changed = printed(a) || *n_new != before || event;
    pthread_mutex_unlock(&a->mu);
    if (changed) app_changed(a, -1);
  }
  eng_conn_free(cn);
  return rc;
}

void *app_live_main(void *arg) {
  struct app *a = arg;
  unsigned delay = 500;
  size_t n = 0;
  while (!quitting(a)) {
    pthread_mutex_lock(&a->mu);
    int unlocked = a->unlocked;
    pthread_mutex_unlock(&a->mu);
    if (!unlocked) {
      if (nap(a, 200)) break;
      continue;
    }
    size_t before = n;
    int rc = live_once(a, &n);
    if (quitting(a)) break;
    app_changed(a, 0);
    fprintf(stderr, "momedo: app: connection to the node lost (%s); reconnecting\n",
            rc ? a->lc.e.why : "closed");
    if (nap(a, delay)) break;
    delay = n > before ? 500 : (delay * 2 > APP_LIVE_RETRY_MS_MAX ? APP_LIVE_RETRY_MS_MAX
                                                                   : delay * 2);
  }
  eng_thread_done();
  return NULL;
}
