/* admin/adm_rpc.c — one admin exchange: connect to the node's AF_UNIX admin socket,
 * send one Frame{admin_request}, read one Frame{admin_response} within ADM_TIMEOUT_MS.
 * adm_rpc prints nothing (for any front-end); adm_call reports for the command line.
 * Blocking I/O is fine here: each exchange is one short request on a local socket. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "adm.h"
#include "frame.h"
#include "os.h"

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline) {
  for (;;) {
    uint64_t now = os_mono_ms();
    if (now >= deadline) return MOMEDO_E_TIMEOUT;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, (int)(deadline - now));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return MOMEDO_E_IO;
    if (n > 0) return 0;
  }
}

static int send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline) {
  while (n) {
    int rc = wait_fd(fd, POLLOUT, deadline);
    if (rc) return rc;
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) return MOMEDO_E_CLOSED;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Read one frame body into the decoder. */
static int recv_frame(int fd, struct frame_decoder *d, uint64_t deadline) {
  uint8_t buf[16384];
  for (;;) {
    int rc = wait_fd(fd, POLLIN, deadline);
    if (rc) return rc;
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return MOMEDO_E_CLOSED;
    size_t off = 0;
    while (off < (size_t)r) {
      size_t used = 0;
      rc = frame_decoder_feed(d, buf + off, (size_t)r - off, &used);
      off += used;
      if (rc < 0) return rc;
      if (rc == 1) return 0; /* one response per connection: ignore the rest */
    }
  }
}

static int connect_socket(const char *path, int *out) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return MOMEDO_E_INVAL;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MOMEDO_E_IO;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) return MOMEDO_E_CONNREFUSED;
    return e == EACCES ? MOMEDO_E_DENIED : MOMEDO_E_IO;
  }
  *out = fd;
  return 0;
}

static int exchange(int fd, Momedo__AdminRequest *req, uint32_t timeout_ms, struct arena *a,
                    Momedo__AdminResponse **resp) {
  Momedo__Frame f = MOMEDO__FRAME__INIT, *in = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  struct frame_decoder d;
  uint64_t deadline = os_mono_ms() + timeout_ms;
  frame_decoder_init(&d, ADM_RESPONSE_BYTES_MAX);
  f.body_case = MOMEDO__FRAME__BODY_ADMIN_REQUEST;
  f.admin_request = req;
  int rc = frame_encode(&f, FRAME_BYTES_MAX_DEFAULT, &buf, &len);
  if (rc) goto out;
  rc = send_all(fd, buf, len, deadline);
  if (rc) goto out;
  rc = recv_frame(fd, &d, deadline);
  if (rc) goto out;
  const uint8_t *body;
  size_t blen;
  frame_decoder_body(&d, &body, &blen);
  rc = frame_unpack(body, blen, a, &in);
  if (rc) goto out;
  if (in->body_case == MOMEDO__FRAME__BODY_ERROR) {
    rc = in->error->code < 0 ? in->error->code : MOMEDO_E_PROTO;
    goto out;
  }
  if (in->body_case != MOMEDO__FRAME__BODY_ADMIN_RESPONSE ||
      in->admin_response->request_id != req->request_id) {
    rc = MOMEDO_E_PROTO;
    goto out;
  }
  *resp = in->admin_response;
out:
  free(buf);
  frame_decoder_close(&d);
  return rc;
}

int adm_rpc(const char *dir, Momedo__AdminRequest *req, struct arena *a,
            Momedo__AdminResponse **resp, char *why, size_t why_cap) {
  return adm_rpc_timeout(dir, req, ADM_TIMEOUT_MS, a, resp, why, why_cap);
}

int adm_rpc_timeout(const char *dir, Momedo__AdminRequest *req, uint32_t timeout_ms,
                    struct arena *a, Momedo__AdminResponse **resp, char *why, size_t why_cap) {
  struct node_config cfg;
  int fd = -1;
  int rc = node_config_load(&cfg, dir, why, why_cap);
  /* A momedo.conf with an error may be the one a running node is asked to reload: try
   * the default socket, and report the error if nothing answers there. */
  if (rc == MOMEDO_E_CONFIG) {
    char cerr[REASON_MAX];
    snprintf(cerr, sizeof cerr, "%s", why);
    node_config_defaults(&cfg, dir);
    if (!cfg.admin_socket[0] || connect_socket(cfg.admin_socket, &fd) != 0) {
      snprintf(why, why_cap, "%s", cerr);
      return rc;
    }
    rc = 0;
  }
  if (rc) return rc;
  if (fd < 0) rc = connect_socket(cfg.admin_socket, &fd);
  if (rc == MOMEDO_E_CONNREFUSED) {
    reason_set(why, why_cap, "the node in %s is not running (nothing answers on %s); start it "
          "with: momedod --dir %s (or systemctl start momedo)", dir, cfg.admin_socket, dir);
    return rc;
  }
  if (rc == MOMEDO_E_DENIED) {
    reason_set(why, why_cap, "permission denied on %s: run momedo-admin as the user that runs "
          "momedod (or as root)", cfg.admin_socket);
    return rc;
  }
  if (rc) {
    reason_set(why, why_cap, "cannot connect to %s: %s", cfg.admin_socket, momedo_strerror(rc));
    return rc;
  }
  req->request_id = os_mono_ns() ^ ((uint64_t)getpid() << 32);
  rc = exchange(fd, req, timeout_ms, a, resp);
  close(fd);
  if (rc) {
    reason_set(why, why_cap, "no valid answer from the node on %s: %s", cfg.admin_socket,
          momedo_strerror(rc));
    return rc == MOMEDO_E_CONNREFUSED ? MOMEDO_E_CLOSED : rc;
  }
  if ((*resp)->status != 0) {
    const char *r = (*resp)->reason;
    reason_set(why, why_cap, "%s", r && *r ? r : momedo_strerror((*resp)->status));
    return (*resp)->status < 0 ? (*resp)->status : MOMEDO_E_PROTO;
  }
  return 0;
}

int adm_call(struct adm_ctx *ctx, Momedo__AdminRequest *req, Momedo__AdminResponse **resp) {
  return adm_call_timeout(ctx, req, ADM_TIMEOUT_MS, resp);
}

int adm_call_timeout(struct adm_ctx *ctx, Momedo__AdminRequest *req, uint32_t timeout_ms,
                     Momedo__AdminResponse **resp) {
  char why[REASON_MAX] = "";
  int rc = adm_need_dir(ctx);
  if (rc) return rc;
  rc = adm_rpc_timeout(ctx->dir, req, timeout_ms, &ctx->arena, resp, why, sizeof why);
  if (rc == MOMEDO_E_CONNREFUSED) return adm_fail(ctx, ADM_EXIT_NOT_RUNNING, rc, "%s", why);
  if (rc) return adm_fail(ctx, ADM_EXIT_FAIL, rc, "%s", why);
  return 0;
}
