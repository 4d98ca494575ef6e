/* protocol/web/loopweb_http.c — the answers of a loopback page (loopweb_http.h): one
 * set of hardening headers for the console and the app, a buffer or a JSON object. */
#include <stdlib.h>
#include <string.h>

#include "loopweb_http.h"
#include "status.h"

void loopweb_headers(struct MHD_Response *r, const char *type, const char *csp) {
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, "Content-Security-Policy", csp);
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

enum MHD_Result loopweb_send(struct MHD_Connection *mc, unsigned http, char *body, size_t len,
                             const char *type, const char *csp, const char *disposition) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  loopweb_headers(r, type, csp);
  if (disposition) MHD_add_response_header(r, "Content-Disposition", disposition);
  enum MHD_Result ret = MHD_queue_response(mc, http, r);
  MHD_destroy_response(r);
  return ret;
}

enum MHD_Result loopweb_send_json(struct MHD_Connection *mc, unsigned http, cJSON *o,
                                  const char *csp) {
  char *text = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text) return MHD_NO;
  /* cJSON's allocator is malloc unless changed, and nobody changes it. */
  return loopweb_send(mc, http, text, strlen(text), "application/json; charset=utf-8", csp, NULL);
}

cJSON *loopweb_error_json(int status, const char *why) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", 0);
  cJSON_AddStringToObject(o, "status", momedo_status_name(status));
  cJSON_AddStringToObject(o, "error", why && *why ? why : momedo_strerror(status));
  return o;
}
