/* simulations/sim_classic.h — private to sim_classic.c and sim_rumor.c: the classic
 * protocols' message layout and the helpers both use. A classic message is a header,
 * n object indices, then one byte per object: the hop count of the sender's copy
 * (pushes, replies) or whether the receiver already knew it (feedback). */
#ifndef MOMEDO_SIM_CLASSIC_H
#define MOMEDO_SIM_CLASSIC_H

#include "sim_int.h"

struct sim_cl_msg {
  uint8_t type; /* enum sim_cmsg */
  uint8_t pad[3];
  uint32_t n;
  uint32_t obj[];
};

static inline uint8_t *sim__cm_bytes(struct sim_cl_msg *m) { return (uint8_t *)&m->obj[m->n]; }

/* Room for n object indices in s->scratch. */
MOMEDO_WUR int sim__cl_scratch_fit(struct sim *s, uint32_t n);
/* Send objs (n of them) from u to v as one message of the given type; per-object
 * bytes are flags[] when given (feedback), else the hop counts of u's copies.
 * *lost (may be NULL) is set when the network dropped it at once. */
MOMEDO_WUR int sim__cl_send(struct sim *s, uint32_t u, uint32_t v, uint8_t type, const uint32_t *objs,
                            uint32_t n, const uint8_t *flags, uint32_t extra_wire, int *lost);

/* sim_rumor.c */
MOMEDO_WUR int sim__rumor_act(struct sim *s, uint32_t u, uint32_t v);
MOMEDO_WUR int sim__rumor_deliver(struct sim *s, uint32_t v, uint32_t u, struct sim_cl_msg *m);
MOMEDO_WUR int sim__rumor_add(struct sim *s, uint32_t v, uint32_t o);
void sim__rumor_cycle_end(struct sim *s);

#endif
