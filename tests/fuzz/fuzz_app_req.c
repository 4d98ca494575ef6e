/* fuzz_app_req — `momedo app`'s request checks (client/cli/cli_app_req.c): the first
 * byte says which headers are present and whether the request is a POST, the rest is
 * split at NUL bytes into Host, Cookie, the token header, ?t=, Origin, Sec-Fetch-Site,
 * Content-Type, a method, a path and a base64 body. Oracles: a request let through has a
 * loopback Host and carries the token (header, cookie or — not for a POST — ?t=), and a
 * POST is same-origin JSON; a cookie value found is inside the header; a route found
 * matches the path; base64 that decodes encodes back to the very same text (RFC 4648
 * canonical: no stray padding bits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_app.h"
#include "loopweb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 10
#define B64_OUT_MAX 3072

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = b64[v >> 18 & 63];
    out[o++] = b64[v >> 12 & 63];
    out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? b64[v & 63] : '=';
  }
  return o;
}

static int token_in(const char *given, const char *token) {
  return given && strcmp(given, token) == 0;
}

static void check_verdict(const struct app_hdrs *h, const char *token, const char *cookie_name,
                          int post) {
  int from_query = 0;
  char ck[APP_TOKEN_HEX + 2];
  enum app_verdict v = app_req_check(h, token, cookie_name, post, &from_query);
  if (v != APP_OK) {
    if (from_query) abort();
    return;
  }
  if (!loopweb_host_ok(h->host)) abort();
  int have = token_in(h->token_header, token) ||
             token_in(app_cookie_get(h->cookie, cookie_name, ck, sizeof ck), token) ||
             (!post && token_in(h->query_token, token));
  if (!have || (from_query && (post || !token_in(h->query_token, token)))) abort();
  if (!post) return;
  if (h->origin && (strncmp(h->origin, "http://", 7) != 0 || strcmp(h->origin + 7, h->host)))
    abort();
  if (h->fetch_site && strcmp(h->fetch_site, "same-origin") != 0) abort();
  if (!h->content_type || strncmp(h->content_type, "application/json", 16) != 0) abort();
}

static void check_cookie(const char *cookie, const char *name) {
  char out[64];
  const char *v = app_cookie_get(cookie, name, out, sizeof out);
  if (!v) return;
  if (v != out || strnlen(out, sizeof out) >= sizeof out || !cookie || !strstr(cookie, out))
    abort();
}

static void check_b64(const char *s) {
  static uint8_t out[B64_OUT_MAX];
  static char back[2 * B64_OUT_MAX];
  size_t n = strlen(s), len = 0;
  if (app_b64_decode(s, n, out, sizeof out, &len) != 0) return;
  if (len > sizeof out || b64_encode(out, len, back) != n || memcmp(back, s, n) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 8192) return 0;
  char *buf = malloc(size + 1), *f[FIELDS] = {0};
  if (!buf) return 0;
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = 0;
  char *p = buf, *end = buf + size - 1;
  for (int i = 0; i < FIELDS && p <= end; i++) {
    f[i] = p;
    p += strlen(p) + 1;
  }
  unsigned flags = data[0];
  /* Bits 0..6 drop a header (NULL, as when the browser did not send it); bit 7: POST. */
  const char *hv[7];
  for (int i = 0; i < 7; i++) hv[i] = (flags >> i & 1) ? NULL : f[i];
  struct app_hdrs h = {hv[0], hv[1], hv[2], hv[3], hv[4], hv[5], hv[6]};
  char token[APP_TOKEN_HEX + 1];
  memset(token, 'a', APP_TOKEN_HEX);
  token[APP_TOKEN_HEX] = 0;
  check_verdict(&h, token, "momedo_app_8080", flags >> 7 & 1);
  check_cookie(h.cookie, "momedo_app_8080");
  if (f[7] && f[8]) {
    int wrong = 0;
    const struct app_route *r = app_route_find(f[7], f[8], &wrong);
    if (r) {
      size_t n = strlen(r->path);
      int match = r->path[n - 1] == '/' ? strncmp(f[8], r->path, n) == 0 && f[8][n]
                                        : strcmp(f[8], r->path) == 0;
      if (!match) abort();
    }
  }
  if (f[9]) check_b64(f[9]);
  free(buf);
  return 0;
}
