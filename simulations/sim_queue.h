/* simulations/sim_queue.h — the event queue: a min-heap of keys ordered by
 * (time, class, sequence number); the events wait in slots beside it. The sequence
 * number is assigned at insertion, so two events at the same time always pop in the
 * same order; nothing depends on pointer values. Owns no payloads: the caller frees what an event points to. */
#ifndef MOMEDO_SIM_QUEUE_H
#define MOMEDO_SIM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Hard cap on pending events (memory guard for runaway scenarios). */
#define SIM_QUEUE_EVENTS_MAX (64u * 1024 * 1024)

/* At equal times, lower classes run first: deliveries before node actions
 * (so a cycle's messages land before the next cycle acts), checks last. */
enum sim_ev_class {
  SIM_EVC_FAULT = 0,
  SIM_EVC_DELIVER = 1,
  SIM_EVC_ACT = 2,
  SIM_EVC_WORK = 3,
  SIM_EVC_SAMPLE = 4,
};

struct sim_event {
  uint64_t time_ms;
  uint64_t seq;      /* (class << 56) | insertion counter */
  uint32_t type;     /* enum sim_ev_type (sim_int.h) */
  uint32_t node;     /* destination / acting node */
  uint32_t from;     /* sender, or an argument */
  uint32_t len;      /* payload bytes */
  uint64_t arg;      /* generation, object index, ... */
  void *data;        /* payload, owned by whoever pops the event */
};

/* A heap entry: the ordering key and where the event waits. 24 bytes, so a node's four
 * children span 1.5 cache lines instead of 3 (the heap is the run's hottest miss). */
struct sim_qent {
  uint64_t time_ms, seq;
  uint32_t slot; /* in ev[] */
};

struct sim_queue {
  struct sim_qent *heap;
  struct sim_event *ev;  /* events by slot */
  uint32_t *free_slots;  /* slots below used that are free */
  size_t n, cap;         /* pending events; slots allocated */
  size_t used, nfree;    /* slots ever handed out; of them free */
  uint64_t counter;
};

void sim_queue_init(struct sim_queue *q);
/* Frees the heap array only; payloads must have been drained by the caller. */
void sim_queue_close(struct sim_queue *q);
/* E_NOMEM, or E_QUOTA past SIM_QUEUE_EVENTS_MAX. The event is copied. */
MOMEDO_WUR int sim_queue_push(struct sim_queue *q, enum sim_ev_class cls,
                              const struct sim_event *e);
/* 0 when empty, else 1 with *e filled. */
int sim_queue_pop(struct sim_queue *q, struct sim_event *e);
static inline const struct sim_event *sim_queue_peek(const struct sim_queue *q) {
  return q->n ? &q->ev[q->heap[0].slot] : NULL;
}

#endif
