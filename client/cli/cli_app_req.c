/* client/cli/cli_app_req.c — `momedo app`'s request checks and routing, pure functions
 * over header values (tests/unit/test_cli_app.c): Host must be a loopback name (DNS
 * rebinding), the token must come in the header, the cookie or (loading the page) ?t=,
 * and a POST must be same-origin JSON (CSRF: a form cannot send that, a fetch from
 * another origin needs a preflight this server never grants); base64 of attachments. */
#include <string.h>

#include "cli_app.h"
#include "loopweb.h"

const char *app_cookie_get(const char *cookie, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  for (const char *p = cookie; p && *p;) {
    while (*p == ' ' || *p == ';') p++;
    size_t n = strcspn(p, ";");
    if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t vl = n - nl - 1;
      if (vl >= cap) return NULL;
      memcpy(out, p + nl + 1, vl);
      out[vl] = 0;
      return out;
    }
    p += n;
  }
  return NULL;
}

static int tok_eq(const char *given, const char *want) {
  return given && loopweb_token_eq(given, strlen(given), want);
}

enum app_verdict app_req_check(const struct app_hdrs *h, const char *token,
                               const char *cookie_name, int post, int *from_query) {
  char ck[APP_TOKEN_HEX + 2];
  *from_query = 0;
  if (!loopweb_host_ok(h->host)) return APP_BAD_HOST;
  int ok = tok_eq(h->token_header, token) ||
           tok_eq(app_cookie_get(h->cookie, cookie_name, ck, sizeof ck), token);
  if (!ok && !post && tok_eq(h->query_token, token)) ok = *from_query = 1;
  if (!ok) return APP_NO_TOKEN;
  if (!post) return APP_OK;
  if ((h->origin && (strncmp(h->origin, "http://", 7) != 0 || strcmp(h->origin + 7, h->host) != 0)) ||
      (h->fetch_site && strcmp(h->fetch_site, "same-origin") != 0))
    return APP_CROSS_ORIGIN;
  if (!h->content_type || strncmp(h->content_type, "application/json", 16) != 0)
    return APP_NOT_JSON;
  return APP_OK;
}

const struct app_route *app_route_find(const char *method, const char *path, int *wrong_method) {
  const struct app_route *const tables[] = {app_routes, app_manage_routes, app_channel_routes};
  const size_t sizes[] = {app_routes_n, app_manage_routes_n, app_channel_routes_n};
  *wrong_method = 0;
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    for (size_t i = 0; i < sizes[t]; i++) {
      const struct app_route *r = &tables[t][i];
      size_t n = strlen(r->path);
      int match = r->path[n - 1] == '/' ? strncmp(path, r->path, n) == 0 && path[n]
                                        : strcmp(path, r->path) == 0;
      if (!match) continue;
      if (strcmp(r->method, method) == 0 || (!strcmp(method, "HEAD") && !strcmp(r->method, "GET")))
        return r;
      *wrong_method = 1;
    }
  }
  return NULL;
}

static int b64_value(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

int app_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len) {
  size_t pad = 0, o = 0;
  *len = 0;
  if (n % 4) return MOMEDO_E_INVAL;
  while (pad < 2 && n > pad && s[n - 1 - pad] == '=') pad++;
  if ((n - pad) / 4 * 3 + ((n - pad) % 4 ? (n - pad) % 4 - 1 : 0) > cap) return MOMEDO_E_TOOBIG;
  uint32_t acc = 0;
  for (size_t i = 0; i < n - pad; i++) {
    int v = b64_value(s[i]);
    if (v < 0) return MOMEDO_E_INVAL;
    acc = acc << 6 | (uint32_t)v;
    if (i % 4 == 3) {
      out[o++] = (uint8_t)(acc >> 16);
      out[o++] = (uint8_t)(acc >> 8);
      out[o++] = (uint8_t)acc;
      acc = 0;
    }
  }
  size_t rest = (n - pad) % 4; /* 2 or 3 characters before the padding */
  if (rest == 1) return MOMEDO_E_INVAL;
  if (rest == 2) {
    if (acc & 0xf) return MOMEDO_E_INVAL; /* bits beyond the last byte must be zero */
    out[o++] = (uint8_t)(acc >> 4);
  } else if (rest == 3) {
    if (acc & 0x3) return MOMEDO_E_INVAL;
    out[o++] = (uint8_t)(acc >> 10);
    out[o++] = (uint8_t)(acc >> 2);
  }
  *len = o;
  return 0;
}
