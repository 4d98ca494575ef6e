/* tests/inproc/fake_link.h — node/link.h without sockets or TLS, for in-process harnesses
 * of the node (fuzz_client_req): the node's own code from the link callbacks up runs
 * unchanged, linked against fake_link.c instead of link.c, listener.c and dialer.c. What
 * the peer "sends" is fed as the plaintext byte stream TLS would hand link.c; what the
 * node sends is kept as frame bytes. Like link.c it answers Ping/Pong itself, delivers
 * whole frames only while up and reading, logs one line per close and calls on_down once,
 * from the loop, after a close; the harness frees a link after that. Loop thread only; one listener. */
#ifndef MOMEDO_TESTS_FAKE_LINK_H
#define MOMEDO_TESTS_FAKE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "link.h"

/* An inbound connection through the listener's accept callback, up (on_up with no peer
 * certificate: a client) unless the owner refused it (then closed, without callbacks;
 * NULL when no listener is open). out_bytes_max: link_send
 * answers E_AGAIN once this many bytes wait unread (0: never), as for a client that does
 * not read; fake_link_read takes them. */
struct link *fake_link_accept(size_t out_bytes_max);
/* Feed bytes from the peer: whole frames are delivered while the link is up and not
 * paused; what is left waits (fake_link_pending) for the next feed or fake_link_kick. */
void fake_link_feed(struct link *l, const uint8_t *p, size_t n);
/* Deliver what waits, if the link is reading again. */
void fake_link_kick(struct link *l);
size_t fake_link_pending(const struct link *l);
/* The peer reads everything sent so far: on_writable follows if the owner met a full
 * link. Returns the bytes (frames as sent; borrowed until the next call). */
const uint8_t *fake_link_read(struct link *l, size_t *len);
/* The peer hangs up (E_CLOSED) unless the link is closing already. */
void fake_link_hangup(struct link *l);
int fake_link_paused(const struct link *l);
/* 1 once closed: status and reason as link_close got them. */
int fake_link_closed(const struct link *l, int *status, const char **reason);
/* 1 once its on_down has run; then the harness frees it (its state stays readable). */
int fake_link_down(const struct link *l);
void fake_link_free(struct link *l);
/* Called with every frame body just before the owner gets it (NULL: none). */
extern void (*fake_link_tap)(struct link *l, const uint8_t *body, size_t len);
/* Links whose on_down has not run yet. */
unsigned fake_link_live(void);

#endif
