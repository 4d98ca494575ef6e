/* simulations/sim_queue.c — 4-ary heap of events keyed by (time, seq): half the
 * depth of a binary heap, and a node's children share cache lines. Keys are unique
 * (seq), so the pop order is the same total order whatever the heap's shape. No
 * payload handling, no randomness. */
#include "sim_queue.h"

#include <stdlib.h>

#define SIM_QUEUE_ARITY 4

void sim_queue_init(struct sim_queue *q) {
  q->ev = NULL;
  q->n = q->cap = 0;
  q->counter = 0;
}

void sim_queue_close(struct sim_queue *q) {
  free(q->ev);
  sim_queue_init(q);
}

static inline int ev_less(const struct sim_event *a, const struct sim_event *b) {
  if (a->time_ms != b->time_ms) return a->time_ms < b->time_ms;
  return a->seq < b->seq;
}

int sim_queue_push(struct sim_queue *q, enum sim_ev_class cls, const struct sim_event *e) {
  if (q->n == q->cap) {
    if (q->cap >= SIM_QUEUE_EVENTS_MAX) return MOMEDO_E_QUOTA;
    size_t nc = q->cap ? q->cap * 2 : 1024;
    if (nc > SIM_QUEUE_EVENTS_MAX) nc = SIM_QUEUE_EVENTS_MAX;
    struct sim_event *ne = realloc(q->ev, nc * sizeof *ne);
    if (!ne) return MOMEDO_E_NOMEM;
    q->ev = ne;
    q->cap = nc;
  }
  struct sim_event x = *e;
  x.seq = ((uint64_t)cls << 56) | (q->counter++ & ((1ull << 56) - 1));
  size_t i = q->n++;
  while (i > 0) {
    size_t p = (i - 1) / SIM_QUEUE_ARITY;
    if (!ev_less(&x, &q->ev[p])) break;
    q->ev[i] = q->ev[p];
    i = p;
  }
  q->ev[i] = x;
  return 0;
}

int sim_queue_pop(struct sim_queue *q, struct sim_event *e) {
  if (q->n == 0) return 0;
  *e = q->ev[0];
  struct sim_event last = q->ev[--q->n];
  size_t i = 0, n = q->n;
  for (;;) {
    size_t l = SIM_QUEUE_ARITY * i + 1, end = l + SIM_QUEUE_ARITY < n ? l + SIM_QUEUE_ARITY : n;
    if (l >= n) break;
    size_t m = l;
    for (size_t c = l + 1; c < end; c++)
      if (ev_less(&q->ev[c], &q->ev[m])) m = c;
    if (!ev_less(&q->ev[m], &last)) break;
    q->ev[i] = q->ev[m];
    i = m;
  }
  if (n) q->ev[i] = last;
  return 1;
}
