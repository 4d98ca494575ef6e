/* protocol/web/loopweb_http.h — answering a loopback page's requests with
 * libmicrohttpd (momedo-admin web, momedo app): every answer carries the page's
 * Content-Security-Policy and the same hardening headers. */
#ifndef MOMEDO_LOOPWEB_HTTP_H
#define MOMEDO_LOOPWEB_HTTP_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

/* Content type, csp, no framing, no sniffing, no referrer, no caching, same-origin
 * opener and resource policies. */
void loopweb_headers(struct MHD_Response *r, const char *type, const char *csp);
/* Queue len bytes of body (malloc'd; freed by libmicrohttpd, or here on failure) with
 * those headers and, when disposition is not NULL, that Content-Disposition. */
enum MHD_Result loopweb_send(struct MHD_Connection *mc, unsigned http, char *body, size_t len,
                             const char *type, const char *csp, const char *disposition);
/* Queue o printed (o is deleted; NULL or an unprintable o: MHD_NO). */
enum MHD_Result loopweb_send_json(struct MHD_Connection *mc, unsigned http, cJSON *o,
                                  const char *csp);

/* {"ok":false,"status":NAME,"error":why} (why empty or NULL: the status's text). */
cJSON *loopweb_error_json(int status, const char *why);

#endif
