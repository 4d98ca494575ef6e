/* protocol/web/loopweb_listen.c — the listening socket of a loopback page and its
 * session token: `--listen HOST:PORT` is resolved and refused unless every address is a
 * loopback one (127/8, ::1), then bound (port 0: a free one, reported back); the token
 * is hex of getrandom() bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hex.h"
#include "loopweb.h"
#include "reason.h"

#define LOOPWEB_BACKLOG 16

/* Split "HOST:PORT" / "[V6]:PORT" into host (brackets kept) and port text. */
static int split_listen(const char *s, char *host, size_t host_cap, char *port,
                        size_t port_cap) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || strlen(colon + 1) == 0 || strlen(colon + 1) >= port_cap ||
      (size_t)(colon - s) >= host_cap)
    return MOMEDO_E_INVAL;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  snprintf(port, port_cap, "%s", colon + 1);
  for (const char *p = port; *p; p++)
    if (*p < '0' || *p > '9') return MOMEDO_E_INVAL;
  return atoi(port) <= 65535 ? 0 : MOMEDO_E_INVAL;
}

static int is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
  return 0;
}

int loopweb_listen(const char *at, const char *example, char *host, size_t host_cap,
                   int *fd_out, unsigned *port_out, char *why, size_t why_cap) {
  char port[8], h[LOOPWEB_HOST_MAX];
  if (split_listen(at, host, host_cap, port, sizeof port) != 0)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "--listen takes HOST:PORT, e.g. %s",
                       example);
  snprintf(h, sizeof h, "%s", host);
  if (h[0] == '[' && h[strlen(h) - 1] == ']') { /* [::1] */
    memmove(h, h + 1, strlen(h));
    h[strlen(h) - 1] = 0;
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
  if (getaddrinfo(h, port, &hints, &ai) != 0 || !ai)
    return reason_fail(why, why_cap, MOMEDO_E_INVAL, "cannot resolve '%s'", host);
  int rc = 0, fd = -1;
  for (struct addrinfo *p = ai; p; p = p->ai_next)
    if (!is_loopback(p->ai_addr)) {
      rc = reason_fail(why, why_cap, MOMEDO_E_DENIED,
                       "this page listens on loopback only (127.0.0.1, ::1); '%s' is not. "
                       "From another machine use an SSH tunnel: ssh -L %s:127.0.0.1:%s HOST",
                       host, port, port);
      goto out;
    }
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LOOPWEB_BACKLOG) != 0) {
    rc = reason_fail(why, why_cap, MOMEDO_E_IO, "cannot listen on %s: %s", at,
                     strerror(errno));
    goto out;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
    rc = reason_fail(why, why_cap, MOMEDO_E_IO, "getsockname: %s", strerror(errno));
    goto out;
  }
  *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
  *fd_out = fd;
  fd = -1;
out:
  if (fd >= 0) close(fd);
  freeaddrinfo(ai);
  return rc;
}

int loopweb_token_make(char *out, size_t bytes) {
  uint8_t b[LOOPWEB_TOKEN_BYTES_MAX];
  if (bytes == 0 || bytes > sizeof b) return MOMEDO_E_INVAL;
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(b + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MOMEDO_E_RNG;
    got += (size_t)n;
  }
  hex_encode(out, 2 * bytes + 1, b, bytes);
  explicit_bzero(b, sizeof b);
  return 0;
}

