/* node/pool.c — signature work on every core: a fork-join pool of a few threads that,
 * together with the loop thread, runs fn(ctx, i, worker) for every i of a batch and
 * returns when all are done (issue 12). The loop thread takes part, so nothing waits
 * idle, and the batch is finished before the loop goes on: what the caller does with
 * the results (store, sync, answer) stays on the loop thread and in its order. The
 * worker index (0 = the loop thread) selects the signer of that thread: wolfCrypt's
 * Ed25519 key is not shared between threads. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "node_int.h"

struct node_pool {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  pthread_t th[NODE_POOL_THREADS_MAX];
  unsigned nth;
  uint64_t gen;                 /* bumped per batch: wakes the workers */
  node_pool_fn fn;
  void *ctx;
  size_t count, next;           /* the batch and its next index not taken yet */
  unsigned busy;                /* workers still in this batch */
  int stop;
};

/* Takes indexes until the batch is used up; called with mu held, returns with it held. */
static void take_all(struct node_pool *p, unsigned worker) {
  while (p->next < p->count) {
    size_t i = p->next++;
    pthread_mutex_unlock(&p->mu);
    p->fn(p->ctx, i, worker);
    pthread_mutex_lock(&p->mu);
  }
}

struct worker_arg {
  struct node_pool *p;
  unsigned worker;
};

static void *worker_main(void *varg) {
  struct worker_arg a = *(struct worker_arg *)varg;
  struct node_pool *p = a.p;
  free(varg);
  pthread_mutex_lock(&p->mu);
  uint64_t seen = 0; /* not p->gen: a batch may have started before this thread ran */
  for (;;) {
    while (p->gen == seen && !p->stop) pthread_cond_wait(&p->go, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    take_all(p, a.worker);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* One thread per core beyond the loop's, at most NODE_POOL_THREADS_MAX; the test hook
 * MOMEDO_TEST_POOL_THREADS sets the number (0: everything on the loop thread). */
static unsigned threads_wanted(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long want = cores > 1 ? cores - 1 : 0;
#ifdef MOMEDO_TEST_HOOKS
  const char *env = getenv("MOMEDO_TEST_POOL_THREADS");
  if (env && *env) want = strtol(env, NULL, 10);
#endif
  if (want < 0) want = 0;
  return want > NODE_POOL_THREADS_MAX ? NODE_POOL_THREADS_MAX : (unsigned)want;
}

int node__pool_start(struct node *n) {
  struct node_pool *p = calloc(1, sizeof *p);
  int rc = 0;
  if (!p) return MOMEDO_E_NOMEM;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->go, NULL);
  pthread_cond_init(&p->done, NULL);
  n->pool = p;
  unsigned want = threads_wanted();
  /* One signer per thread, the node key imported (and checked) once each. */
  for (unsigned w = 0; w <= want && !rc; w++) rc = crypto_signer_new(&n->id.kp, &n->signer[w]);
  for (unsigned w = 0; w < want && !rc; w++) {
    struct worker_arg *a = malloc(sizeof *a);
    if (!a) {
      rc = MOMEDO_E_NOMEM;
      break;
    }
    *a = (struct worker_arg){p, w + 1};
    if (pthread_create(&p->th[w], NULL, worker_main, a) != 0) {
      free(a);
      node_log(NODE_LOG_WARN, "signature pool: %u of %u threads started", w, want);
      break;
    }
    p->nth++;
  }
  return rc;
}

void node__pool_free(struct node *n) {
  struct node_pool *p = n->pool;
  if (p) {
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (unsigned w = 0; w < p->nth; w++) pthread_join(p->th[w], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p);
    n->pool = NULL;
  }
  for (unsigned w = 0; w <= NODE_POOL_THREADS_MAX; w++) {
    crypto_signer_free(n->signer[w]);
    n->signer[w] = NULL;
  }
}

unsigned node__pool_threads(const struct node *n) { return n->pool ? n->pool->nth : 0; }

void node__pool_run(struct node *n, node_pool_fn fn, void *ctx, size_t count) {
  struct node_pool *p = n->pool;
  /* A batch too small to pay for waking a thread runs here. */
  if (!p || p->nth == 0 || count < NODE_POOL_BATCH_MIN) {
    for (size_t i = 0; i < count; i++) fn(ctx, i, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->count = count;
  p->next = 0;
  p->busy = p->nth;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  take_all(p, 0);
  while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
  p->fn = NULL;
  p->ctx = NULL;
  pthread_mutex_unlock(&p->mu);
}

/* The node's signature with the loop thread's signer (node records, aliases, link
 * posts): the key is not imported again for every signature. */
int node__sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static OBJ_SIG_LEN]) {
  struct node *n = ctx;
  return crypto_signer_sign(n->signer[0], sig, msg, len);
}
