/* tests/inproc/node_harness.c — a real momedod in the fuzzer's process (node_harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "invite.h"
#include "nodedir.h"
#include "log.h"
#include "node_harness.h"

static struct {
  uv_loop_t loop;
  int loop_open;
  struct node *n;
  char dir[256];
  unsigned long inputs, restart_every;
  struct fnode_keys keys;
  int keys_made;
} h_;

#define PARTIAL_ROUNDS 20    /* loop turns to see that part of a frame is not answered */
#define ANSWER_WAIT_MS 30000 /* a backup runs on a thread: wait for it, not forever */

void fnode_fail(const char *what) {
  fprintf(stderr, "node harness: %s\n", what);
  abort();
}

static void kp_of(struct crypto_sign_keypair *kp, uint8_t b) {
  uint8_t seed[CRYPTO_SIGN_SEED_LEN];
  memset(seed, b, sizeof seed);
  if (crypto_sign_from_seed(kp, seed) != 0) abort();
}

const struct fnode_keys *fnode_keys(void) {
  if (!h_.keys_made) {
    kp_of(&h_.keys.node, FNODE_SEED_NODE);
    kp_of(&h_.keys.identity, FNODE_SEED_IDENTITY);
    kp_of(&h_.keys.device, FNODE_SEED_DEVICE);
    kp_of(&h_.keys.device2, FNODE_SEED_DEVICE2);
    uint8_t tok[NODE_INVITE_TOKEN_BYTES];
    memset(tok, FNODE_TOKEN_BYTE, sizeof tok);
    invite_token_to_hex(h_.keys.token_hex, tok);
    h_.keys_made = 1;
  }
  return &h_.keys;
}

void fnode_write_file(const char *dir, const char *name, const uint8_t *p, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    abort();
  }
}

void fnode_seeds_if_asked(void (*write)(const char *dir)) {
  const char *dir = getenv("MOMEDO_FUZZ_WRITE_SEEDS");
  if (!dir) return;
  write(dir);
  exit(0);
}

static void rm_dir(void) {
  if (node_rm_rf(h_.dir, NULL, 0) != 0) fprintf(stderr, "node harness: cannot remove %s\n", h_.dir);
}

static void stop_node(void) {
  if (!h_.n) return;
  node__finish(h_.n, "fuzz harness");
  h_.n = NULL;
  rm_dir();
}

/* At exit only the directory goes: RocksDB's own statics may be gone by now, so the store
 * is not closed (fnode_close does it all, for tests that end on their own). */
static void at_exit(void) {
  if (h_.n) rm_dir();
}

void fnode_close(void) {
  stop_node();
  if (h_.loop_open) (void)uv_loop_close(&h_.loop);
  h_.loop_open = 0;
}

/* A node directory as `momedo-admin init` makes it, with the fixed key. */
static void make_dir(const char *tag, const char *conf_extra) {
  const char *base = getenv("MOMEDO_FUZZ_DIR");
  char why[REASON_MAX], conf[2048], path[300];
  if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(h_.dir, sizeof h_.dir, "%s/momedo-%s-XXXXXX", base, tag);
  if (!mkdtemp(h_.dir)) abort();
  if (node_keyfile_write(h_.dir, &fnode_keys()->node, why, sizeof why) != 0) {
    fprintf(stderr, "node key: %s\n", why);
    abort();
  }
  int len = snprintf(conf, sizeof conf, "name = fuzz-%s\nlisten = 127.0.0.1:4710\n"
                     "log_level = error\n%s", tag, conf_extra ? conf_extra : "");
  fnode_write_file(h_.dir, NODE_CONF_FILE, (const uint8_t *)conf, (size_t)len);
  snprintf(path, sizeof path, "%s/%s", h_.dir, NODE_STORE_DIR);
  if (mkdir(path, 0700) != 0) abort();
}

/* The invite of the registrations: FNODE_TOKEN_BYTE x 16, many uses, a year. */
static void plant_invite(struct node *n) {
  uint8_t tok[NODE_INVITE_TOKEN_BYTES], k[2 + CRYPTO_HASH_LEN], v[12];
  memset(tok, FNODE_TOKEN_BYTE, sizeof tok);
  node__key_tag(k, NODE_K_INVITE);
  if (crypto_sha256(k + 2, tok, sizeof tok) != 0) abort();
  be32_put(v, NODE_INVITE_USES_MAX);
  be64_put(v + 4, node__now_ms() + (uint64_t)NODE_INVITE_TTL_S_MAX * 1000);
  if (store_put1(n->store, k, sizeof k, v, sizeof v) != 0) abort();
}

struct node *fnode_get(const char *tag, const char *conf_extra, void (*setup)(struct node *n)) {
  if (!h_.loop_open) {
    const char *e = getenv("MOMEDO_FUZZ_RESTART_EVERY");
    h_.restart_every = e ? strtoul(e, NULL, 10) : 20000;
    signal(SIGPIPE, SIG_IGN);
    node_log_init();
    if (uv_loop_init(&h_.loop) != 0) abort();
    h_.loop_open = 1;
    atexit(at_exit);
  }
  if (h_.n && h_.restart_every && ++h_.inputs % h_.restart_every == 0) stop_node();
  if (!h_.n) {
    make_dir(tag, conf_extra);
    if (node__start(h_.dir, &h_.loop, &h_.n) != 0) {
      fprintf(stderr, "fuzz harness: the node in %s does not start\n", h_.dir);
      abort();
    }
    plant_invite(h_.n);
    if (setup) setup(h_.n);
  }
  return h_.n;
}

void fnode_turn(struct node *n) { (void)uv_run(n->loop, UV_RUN_NOWAIT); }

void fnode_register_req(Momedo__RegisterReq *r, const struct crypto_sign_keypair *device,
                        uint8_t sig_d[64], uint8_t sig_i[64]) {
  const struct fnode_keys *k = fnode_keys();
  uint8_t tok[NODE_INVITE_TOKEN_BYTES], msg[INVITE_REGISTER_MSG_LEN];
  memset(tok, FNODE_TOKEN_BYTE, sizeof tok);
  if (invite_register_msg(msg, k->node.pub, tok, device->pub, k->identity.pub) != 0 ||
      crypto_sign(sig_d, msg, sizeof msg, device) != 0 ||
      crypto_sign(sig_i, msg, sizeof msg, &k->identity) != 0)
    abort();
  momedo__register_req__init(r);
  r->invite_token = (char *)k->token_hex;
  r->device_key = (ProtobufCBinaryData){32, (uint8_t *)device->pub};
  r->identity_key = (ProtobufCBinaryData){32, (uint8_t *)k->identity.pub};
  r->device_signature = (ProtobufCBinaryData){64, sig_d};
  r->identity_signature = (ProtobufCBinaryData){64, sig_i};
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int connect_admin(const struct node *n) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", n->cfg.admin_socket);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) fnode_fail("cannot connect");
  if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0) fnode_fail("fcntl");
  return fd;
}

void fnode_admin_call(struct node *n, const uint8_t *p, size_t len, int whole, uint8_t **ans,
                 size_t *ans_len) {
  int fd = connect_admin(n);
  size_t sent = 0, got = 0, cap = 0;
  uint64_t t0 = now_ms();
  *ans = NULL;
  for (int round = 0;; round++) {
    while (sent < len) {
      ssize_t w = write(fd, p + sent, len - sent);
      if (w <= 0) break; /* full (EAGAIN), or the node closed (EPIPE) */
      sent += (size_t)w;
    }
    fnode_turn(n);
    uint8_t buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) break;
    if (r > 0) {
      if (got + (size_t)r > cap) {
        cap = 2 * (got + (size_t)r);
        if (!(*ans = realloc(*ans, cap))) abort();
      }
      memcpy(*ans + got, buf, (size_t)r);
      got += (size_t)r;
      continue;
    }
    if (!whole && round >= PARTIAL_ROUNDS) break;
    if (now_ms() - t0 > ANSWER_WAIT_MS) fnode_fail("no answer and no close");
  }
  close(fd);
  *ans_len = got;
  for (int i = 0; n->admin_conns; i++) {
    if (i == FNODE_ROUNDS_MAX) fnode_fail("an admin connection stays open");
    fnode_turn(n);
  }
  if (n->admin_current || n->arena.used_bytes) fnode_fail("an admin request left state behind");
}

