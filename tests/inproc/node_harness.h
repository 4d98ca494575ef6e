/* tests/inproc/node_harness.h — a real momedod in the test's own process (fuzz_client_req,
 * fuzz_admin_proto, tests/unit/test_inproc_*): node__start on a node directory in tmpfs
 * ($MOMEDO_FUZZ_DIR, else /dev/shm, else /tmp) with a fixed node key, so seed inputs that
 * carry signatures over it stay valid; links are tests/inproc/fake_link.c. The store, the
 * engine and the node's memory tables are carried from one input to the next; the node
 * is made afresh every $MOMEDO_FUZZ_RESTART_EVERY (20,000) calls of fnode_get (bounded growth of the store) and the
 * directory is removed at exit. */
#ifndef MOMEDO_TESTS_NODE_HARNESS_H
#define MOMEDO_TESTS_NODE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "node_int.h"

#define FNODE_SEED_NODE 0x4e     /* node key seed: 32 bytes of this */
#define FNODE_SEED_IDENTITY 0x49 /* the registered user's identity key */
#define FNODE_SEED_DEVICE 0x44   /* its device, registered at start */
#define FNODE_SEED_DEVICE2 0x45  /* a second device of the user, not registered */
#define FNODE_TOKEN_BYTE 0x54    /* the invite token planted at start: 16 of these */
#define FNODE_ROUNDS_MAX 20000   /* loop turns an input may take to settle */

struct fnode_keys {
  struct crypto_sign_keypair node, identity, device, device2;
  char token_hex[2 * NODE_INVITE_TOKEN_BYTES + 1];
};

/* The keys above (made once). */
const struct fnode_keys *fnode_keys(void);
/* The running node, started (or restarted, after every $MOMEDO_FUZZ_RESTART_EVERY calls) as
 * tag's; conf_extra is appended to momedo.conf. setup, if given, runs after each start. */
struct node *fnode_get(const char *tag, const char *conf_extra, void (*setup)(struct node *n));
/* Stop and free the node, remove its directory (else only the directory goes at exit). */
void fnode_close(void);
/* One turn of the loop without waiting. */
void fnode_turn(struct node *n);
/* A RegisterReq for device (signed by it and by the identity key for the planted token). */
void fnode_register_req(Momedo__RegisterReq *r, const struct crypto_sign_keypair *device,
                        uint8_t sig_d[64], uint8_t sig_i[64]);
/* Send p (len bytes) on a new connection to n's admin socket, turning the loop, and read
 * until the node closes it; whole: the node must close it (after an answer), else the
 * harness hangs up after a few turns without an answer. The bytes read into *ans
 * (malloc'ed; NULL if none). Aborts when the node keeps the connection or leaves request
 * state behind (admin connections counted, one being handled, arena not reset). */
void fnode_admin_call(struct node *n, const uint8_t *p, size_t len, int whole, uint8_t **ans,
                      size_t *ans_len);
/* Print what failed and abort. */
void fnode_fail(const char *what) __attribute__((noreturn));
/* With $MOMEDO_FUZZ_WRITE_SEEDS=DIR: write(DIR) (a target's seed corpus), then exit. */
void fnode_seeds_if_asked(void (*write)(const char *dir));
/* Write bytes to dir/name (for seed corpora); aborts on failure. */
void fnode_write_file(const char *dir, const char *name, const uint8_t *p, size_t n);

#endif
