/* node/link_int.h — private to the link files: link.c (a link), listener.c and
 * dialer.c. What a listener and a dialer need from a link beyond link.h; nothing
 * else includes this. */
#ifndef MOMEDO_NODE_LINK_INT_H
#define MOMEDO_NODE_LINK_INT_H

#include "link.h"

/* Make an inbound link for a connection waiting on server and accept it (named by the
 * peer's address). 0 with *out set: the link is the caller's to keep (link__start) or
 * refuse (link_close). 0 with *out NULL: accept failed and the link is closing without
 * callbacks. Nonzero: no link was made (E_NOMEM, E_TLS, E_IO); the connection still
 * waits on server. */
MOMEDO_WUR int link__accept(uv_stream_t *server, struct tls_ctx *tls,
                            const struct link_config *cfg, const struct link_callbacks *cbs,
                            void *data, struct link **out);
/* Hand an accepted link to its owner: on_down is due from now on; start reading. */
void link__start(struct link *l);

/* l was opened by d: once l is gone (after its on_down), link.c calls
 * link__dialer_gone(d, the time l came up or 0), defined in dialer.c. */
void link__set_dialer(struct link *l, struct link_dialer *d);
void link__dialer_gone(struct link_dialer *d, uint64_t up_ms);

#endif
