/* protocol/web/loopweb.h — what a page served on loopback to its one local user needs,
 * shared by `momedo-admin web` (admin/web.c) and `momedo app` (client/cli/cli_app*.c):
 * a listening socket on a loopback address only, a session token from the OS RNG and
 * its constant-time check, the Host check against DNS rebinding, and the page language
 * from Accept-Language. Its own library (momedo_loopweb): the sockets stay out of
 * client/ and protocol/'s core. */
#ifndef MOMEDO_LOOPWEB_H
#define MOMEDO_LOOPWEB_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define LOOPWEB_HOST_MAX 260        /* a host as given to --listen, brackets kept */
#define LOOPWEB_TOKEN_BYTES_MAX 64

/* A file of a page compiled into the binary (admin/web_assets.cmake writes the tables):
 * name without the leading "/", bytes, length, content type. */
struct loopweb_asset {
  const char *name;
  const unsigned char *data;
  size_t len;
  const char *type;
};

/* A listening TCP socket on `at` ("HOST:PORT", "[::1]:PORT"; port 0 picks a free one)
 * when every address HOST resolves to is a loopback address. host (host_cap bytes) gets
 * HOST as given, *port_out the bound port. E_INVAL (not HOST:PORT; example names the
 * expected form), E_DENIED (not loopback: why says so and how to tunnel), E_IO. */
MOMEDO_WUR int loopweb_listen(const char *at, const char *example, char *host, size_t host_cap,
                              int *fd_out, unsigned *port_out, char *why, size_t why_cap);

/* bytes (<= LOOPWEB_TOKEN_BYTES_MAX) from getrandom() as lower-case hex into out
 * (2 * bytes + 1). E_RNG, E_INVAL. */
MOMEDO_WUR int loopweb_token_make(char *out, size_t bytes);

/* Constant-time comparison of a presented token with want (its hex, NUL-terminated):
 * 1 when equal. NULL or another length is 0 (the length is no secret). */
int loopweb_token_eq(const char *given, size_t given_len, const char *want);

/* Whether a Host header names a loopback name (127.0.0.1, localhost, [::1], any port):
 * anything else is a DNS-rebinding attempt. */
int loopweb_host_ok(const char *host);

/* "de" or "en" from an Accept-Language header (the first of them by q; "en" otherwise). */
const char *loopweb_lang_pick(const char *accept_language);

#endif
