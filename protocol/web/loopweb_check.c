/* protocol/web/loopweb_check.c — the pure checks of a loopback page's requests: the
 * session token (constant time), the Host header (loopback names only: DNS rebinding)
 * and the page language from Accept-Language. No I/O; fuzzed by
 * tests/fuzz/fuzz_admin_webreq.c. */
#include <string.h>
#include <strings.h>

#include "loopweb.h"

int loopweb_token_eq(const char *given, size_t given_len, const char *want) {
  size_t n = want ? strlen(want) : 0;
  if (!given || !n || given_len != n) return 0; /* the length is no secret */
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++) d |= (unsigned char)(given[i] ^ want[i]);
  return d == 0;
}

int loopweb_host_ok(const char *host) {
  static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
  if (!host) return 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i]);
    if (strncasecmp(host, names[i], n) != 0) continue;
    const char *p = host + n;
    if (*p == 0) return 1;
    if (*p++ != ':' || !*p || strlen(p) > 5) return 0;
    for (; *p; p++)
      if (*p < '0' || *p > '9') return 0;
    return 1;
  }
  return 0;
}

/* Accept-Language: "de-DE,de;q=0.9,en;q=0.8". The language with the highest q wins;
 * equal q keeps the first. */
const char *loopweb_lang_pick(const char *al) {
  const char *best = "en";
  double best_q = -1;
  for (const char *p = al; p && *p;) {
    while (*p == ' ' || *p == ',') p++;
    const char *tag = p;
    size_t n = strcspn(p, ",;");
    double q = 1.0;
    const char *semi = memchr(p, ';', strcspn(p, ","));
    if (semi) {
      const char *qs = strstr(semi, "q=");
      if (qs && qs < p + strcspn(p, ",")) {
        q = 0;
        const char *d = qs + 2;
        if (*d == '1') q = 1.0;
        else if (*d == '0' && d[1] == '.' && d[2] >= '0' && d[2] <= '9') q = (d[2] - '0') / 10.0;
      }
    }
    const char *lang = NULL;
    if (n >= 2 && strncasecmp(tag, "de", 2) == 0 && (n == 2 || tag[2] == '-')) lang = "de";
    if (n >= 2 && strncasecmp(tag, "en", 2) == 0 && (n == 2 || tag[2] == '-')) lang = "en";
    if (lang && q > best_q && q > 0) {
      best = lang;
      best_q = q;
    }
    p += strcspn(p, ",");
  }
  return best;
}
