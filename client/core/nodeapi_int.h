/* client/core/nodeapi_int.h — private to client/nodeapi*.c: one request/response round trip,
 * for the request kinds that live in their own file (nodeapi_otpk.c). */
#ifndef MOMEDO_CLIENT_NODEAPI_INT_H
#define MOMEDO_CLIENT_NODEAPI_INT_H

#include "nodeapi.h"

/* Send req (request_id assigned) and wait for its response, which must have body want
 * (or a refusal: the node's status, its reason in api->reason). *out lives in the arena. */
MOMEDO_WUR int nodeapi__call(struct nodeapi *api, Momedo__ClientRequest *req,
                             Momedo__ClientResponse__BodyCase want,
                             const Momedo__ClientResponse **out);

/* E_PROTO (with the reason) unless v names at most NODEAPI_PARTNERS_MAX partners, each
 * with a 32-byte key and a printable address; grants are checked by their user. */
MOMEDO_WUR int nodeapi__partners_ok(struct nodeapi *api, Momedo__NodeAddr *const *v, size_t n);

#endif
