/* simulations/sim_queue.c — 4-ary heap of event keys (time, seq) with the events in
 * slots beside it: half the depth of a binary heap, a node's children share cache
 * lines, and moving an entry moves 24 bytes, not the whole event. Keys are unique
 * (seq), so the pop order is the same total order whatever the heap's shape. No
 * payload handling, no randomness. */
#include "sim_queue.h"

#include <stdlib.h>

#define SIM_QUEUE_ARITY 4

void sim_queue_init(struct sim_queue *q) {
  q->heap = NULL;
  q->ev = NULL;
  q->free_slots = NULL;
  q->n = q->cap = q->used = q->nfree = 0;
  q->counter = 0;
}

void sim_queue_close(struct sim_queue *q) {
  free(q->heap);
  free(q->ev);
  free(q->free_slots);
  sim_queue_init(q);
}

static inline int key_less(const struct sim_qent *a, const struct sim_qent *b) {
  if (a->time_ms != b->time_ms) return a->time_ms < b->time_ms;
  return a->seq < b->seq;
}

static int grow(struct sim_queue *q) {
  if (q->cap >= SIM_QUEUE_EVENTS_MAX) return MOMEDO_E_QUOTA;
  size_t nc = q->cap ? q->cap * 2 : 1024;
  if (nc > SIM_QUEUE_EVENTS_MAX) nc = SIM_QUEUE_EVENTS_MAX;
  struct sim_qent *nh = realloc(q->heap, nc * sizeof *nh);
  if (!nh) return MOMEDO_E_NOMEM;
  q->heap = nh;
  struct sim_event *ne = realloc(q->ev, nc * sizeof *ne);
  if (!ne) return MOMEDO_E_NOMEM;
  q->ev = ne;
  uint32_t *nf = realloc(q->free_slots, nc * sizeof *nf);
  if (!nf) return MOMEDO_E_NOMEM;
  q->free_slots = nf;
  q->cap = nc;
  return 0;
}

int sim_queue_push(struct sim_queue *q, enum sim_ev_class cls, const struct sim_event *e) {
  if (q->n == q->cap) {
    int rc = grow(q);
    if (rc) return rc;
  }
  /* Every pending event has a slot, so a free one exists below cap. */
  uint32_t slot = q->nfree ? q->free_slots[--q->nfree] : (uint32_t)q->used++;
  struct sim_event *x = &q->ev[slot];
  *x = *e;
  x->seq = ((uint64_t)cls << 56) | (q->counter++ & ((1ull << 56) - 1));
  struct sim_qent k = {.time_ms = x->time_ms, .seq = x->seq, .slot = slot};
  size_t i = q->n++;
  while (i > 0) {
    size_t p = (i - 1) / SIM_QUEUE_ARITY;
    if (!key_less(&k, &q->heap[p])) break;
    q->heap[i] = q->heap[p];
    i = p;
  }
  q->heap[i] = k;
  return 0;
}

int sim_queue_pop(struct sim_queue *q, struct sim_event *e) {
  if (q->n == 0) return 0;
  uint32_t slot = q->heap[0].slot;
  *e = q->ev[slot];
  q->free_slots[q->nfree++] = slot;
  struct sim_qent last = q->heap[--q->n];
  size_t i = 0, n = q->n;
  for (;;) {
    size_t l = SIM_QUEUE_ARITY * i + 1, end = l + SIM_QUEUE_ARITY < n ? l + SIM_QUEUE_ARITY : n;
    if (l >= n) break;
    size_t m = l;
    for (size_t c = l + 1; c < end; c++)
      if (key_less(&q->heap[c], &q->heap[m])) m = c;
    if (!key_less(&q->heap[m], &last)) break;
    q->heap[i] = q->heap[m];
    i = m;
  }
  if (n) q->heap[i] = last;
  return 1;
}
