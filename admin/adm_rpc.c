/* admin/adm_rpc.c — one admin exchange: connect to the node's AF_UNIX admin socket,
 * send one Frame{admin_request}, read one Frame{admin_response} within
 * ADM_TIMEOUT_MS; and running `momedod` for the commands that need the node's files.
 * Blocking I/O is fine here: momedo-admin is a short-lived command-line tool. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adm.h"
#include "frame.h"

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline) {
  for (;;) {
    uint64_t now = mono_ms();
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

static int exchange(int fd, Momedo__AdminRequest *req, struct arena *a,
                    Momedo__AdminResponse **resp) {
  Momedo__Frame f = MOMEDO__FRAME__INIT, *in = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  struct frame_decoder d;
  uint64_t deadline = mono_ms() + ADM_TIMEOUT_MS;
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

int adm_call(struct adm_ctx *ctx, Momedo__AdminRequest *req, Momedo__AdminResponse **resp) {
  struct node_config cfg;
  char err[NODE_ERRMSG_MAX];
  int fd = -1;
  int rc = node_config_load(&cfg, ctx->dir, err, sizeof err);
  if (rc) return adm_fail(ctx, ADM_EXIT_FAIL, rc, "%s", err);
  rc = connect_socket(cfg.admin_socket, &fd);
  if (rc == MOMEDO_E_CONNREFUSED)
    return adm_fail(ctx, ADM_EXIT_NOT_RUNNING, rc,
                    "the node in %s is not running (nothing answers on %s); "
                    "start it with: momedod --dir %s", ctx->dir, cfg.admin_socket, ctx->dir);
  if (rc == MOMEDO_E_DENIED)
    return adm_fail(ctx, ADM_EXIT_FAIL, rc,
                    "permission denied on %s: run momedo-admin as the user that runs momedod",
                    cfg.admin_socket);
  if (rc) return adm_fail(ctx, ADM_EXIT_FAIL, rc, "cannot connect to %s: %s", cfg.admin_socket,
                          momedo_strerror(rc));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  req->request_id = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
  rc = exchange(fd, req, &ctx->arena, resp);
  close(fd);
  if (rc)
    return adm_fail(ctx, ADM_EXIT_FAIL, rc, "no valid answer from the node on %s: %s",
                    cfg.admin_socket, momedo_strerror(rc));
  if ((*resp)->status != 0)
    return adm_fail(ctx, ADM_EXIT_FAIL, (*resp)->status, "%s",
                    (*resp)->reason && *(*resp)->reason ? (*resp)->reason
                                                        : momedo_strerror((*resp)->status));
  return 0;
}

/* Where is momedod? $MOMEDOD, then next to us, then ../node/ (the build tree),
 * then $PATH. */
static void find_momedod(const struct adm_ctx *ctx, char *out, size_t cap) {
  const char *env = getenv("MOMEDOD");
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    return;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = 0;
      const char *cands[] = {"/momedod", "/../node/momedod"};
      for (size_t i = 0; i < 2; i++) {
        snprintf(out, cap, "%s%s", self, cands[i]);
        if (access(out, X_OK) == 0) return;
      }
    }
  }
  snprintf(out, cap, "momedod");
}

int adm_run_momedod(struct adm_ctx *ctx, const char *const *args, char **out) {
  char path[PATH_MAX + 32];
  const char *argv[16];
  size_t n = 0;
  int pfd[2];
  find_momedod(ctx, path, sizeof path);
  argv[n++] = path;
  while (*args && n < 15) argv[n++] = *args++;
  argv[n] = NULL;
  char *buf = malloc(ADM_CHILD_OUTPUT_MAX + 1);
  if (!buf) return MOMEDO_E_NOMEM;
  if (pipe(pfd) != 0) {
    free(buf);
    return MOMEDO_E_IO;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    free(buf);
    return MOMEDO_E_IO;
  }
  if (pid == 0) {
    dup2(pfd[1], 1);
    dup2(pfd[1], 2);
    close(pfd[0]);
    close(pfd[1]);
    execvp(path, (char *const *)argv);
    dprintf(2, "cannot run %s: %s (set MOMEDOD to the path of momedod)\n", path,
            strerror(errno));
    _exit(127);
  }
  close(pfd[1]);
  size_t len = 0;
  for (;;) { /* keep reading past the cap so the child never blocks on a full pipe */
    char sink[512];
    int full = len >= ADM_CHILD_OUTPUT_MAX;
    ssize_t r = read(pfd[0], full ? sink : buf + len, full ? sizeof sink : ADM_CHILD_OUTPUT_MAX - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (!full) len += (size_t)r;
  }
  close(pfd[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  buf[len] = 0;
  *out = buf;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
