/* client/core/nodeapi.h — the client side of the node protocol (client.proto) over any
 * transport: Hello with version check, numbered ClientRequests each answered by one
 * ClientResponse with the same request_id, ClientEvents that arrive in between kept in
 * a bounded queue, and the objects the client signs itself (tombstones). Portable: no
 * sockets (only through struct transport), no wall clock (now_ms is an argument), no
 * globals. One session per connection; not thread-safe. */
#ifndef MOMEDO_CLIENT_NODEAPI_H
#define MOMEDO_CLIENT_NODEAPI_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "client.pb-c.h"
#include "crypto.h"
#include "frame.h"
#include "obj.h"
#include "status.h"
#include "transport.h"

#define NODEAPI_KEY_LEN 32
#define NODEAPI_PARTNERS_MAX 64     /* partner nodes one RegisterResp / PartnersResp names */
#define NODEAPI_CHALLENGE_LEN 32
#define NODEAPI_AUTH_DOMAIN "momedo/client-auth/v1"
#define NODEAPI_REASON_MAX 256                       /* bytes, with the NUL */
#define NODEAPI_TIMEOUT_MS_DEFAULT 10000
#define NODEAPI_RECV_CHUNK 16384                     /* bytes read from the transport at once */
#define NODEAPI_ARENA_BYTES_MAX (4u * FRAME_BYTES_MAX_DEFAULT) /* one unpacked frame */
#define NODEAPI_EVENTS_MAX 256      /* queued ClientEvents; beyond it new ones are dropped */
#define NODEAPI_ACK_MAX 256         /* tombstones per AckReq */
#define NODEAPI_SUBSCRIBE_MAX 64    /* mailboxes per SubscribeReq */
#define NODEAPI_FETCH_LIMIT_MAX 1000 /* objects asked for per FetchReq (the node caps too) */
#define NODEAPI_TOKEN_CHARS_MAX 128 /* invite token string */
#define NODEAPI_USER_ID_CHARS_MAX 64

/* One ClientEvent taken from the queue. data is owned by the event: release it with
 * nodeapi_event_clear. err is the result of obj_validate at dequeue time (0 = valid,
 * then info is filled); an invalid object is still handed out so it can be reported. */
struct nodeapi_event {
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint64_t seq;
  Momedo__ObjectKind kind;
  uint8_t *data;
  size_t len;
  int err;
  struct obj_info info;
};

/* One object from a fetch: validated against now_ms (err = 0, info filled) or not
 * (err = the reason; the node sent something we will not accept). ciphertext points
 * into the item or chunk (NULL for other kinds). All pointers are borrowed from the
 * session and valid until its next call. */
struct nodeapi_obj {
  uint64_t seq;
  Momedo__ObjectKind kind;
  const uint8_t *data;
  size_t len;
  int err;
  struct obj_info info;
  const uint8_t *ciphertext;
  size_t ciphertext_len;
};

struct nodeapi_fetch {
  struct nodeapi_obj *objs;   /* borrowed, valid until the next call */
  size_t n;
  size_t n_invalid;           /* how many of objs have err != 0 */
  uint64_t next_cursor;
  int more;
};

/* A validated key bundle from a lookup; borrowed until the next call. */
struct nodeapi_bundle {
  const Momedo__KeyBundle *bundle;
  struct obj_info info;
  const uint8_t *data;
  size_t len;
  int has_alias;
  struct obj_info alias_info; /* alias_info.alias is the alias string */
};

/* Exactly one of the three is set. hints: where the node asks first when it does not
 * hold the bundle (the user's home nodes): n_hints (<= NODEAPI_HINTS_MAX) node
 * fingerprint prefixes of hint_len (NODEAPI_HINT_BYTES_MIN..32) bytes each. */
#define NODEAPI_HINTS_MAX 8
#define NODEAPI_HINT_BYTES_MIN 10
struct nodeapi_lookup_q {
  const char *user_id;
  const uint8_t *identity_key; /* NODEAPI_KEY_LEN bytes */
  const char *alias;
  const uint8_t *hints;        /* n_hints * hint_len bytes */
  size_t n_hints, hint_len;
};

struct nodeapi_post_req {
  const uint8_t *mailbox;      /* OBJ_MAILBOX_LEN bytes */
  const uint8_t *ciphertext;
  size_t ciphertext_len;       /* 1..OBJ_CIPHERTEXT_BYTES_MAX */
  uint64_t ttl_ms;             /* 0 = node default, else <= OBJ_TTL_MS_MAX */
  const uint8_t *blob_id;      /* NULL, or OBJ_ID_LEN bytes for an attachment chunk */
  uint32_t chunk_index;
  uint32_t chunk_count;
  /* The nodes that must hold it (node keys); 0 = global scope (every node). */
  const uint8_t (*dest_nodes)[NODEAPI_KEY_LEN];
  size_t n_dest_nodes;         /* <= NODEAPI_DESTS_MAX */
  const uint8_t *write_key;    /* NULL, or a write-capability mailbox's key (32) and */
  const uint8_t *write_tag;    /* tag (32): the ciphertext ends with the key's signature */
  const uint8_t *device_key;   /* NULL, or the recipient device (32) of a device mailbox */
};
#define NODEAPI_DESTS_MAX 64   /* = OBJ_DEST_NODES_MAX */

struct nodeapi_ack_item {
  uint8_t id[OBJ_ID_LEN];
  uint64_t expires_ms;         /* the item's expiry; 0 = now + OBJ_TTL_MS_MAX */
};

struct nodeapi {
  struct transport tr;         /* borrowed vtable + context */
  uint8_t node_key[NODEAPI_KEY_LEN]; /* pinned */
  int timeout_ms;              /* per call, < 0: no limit */
  uint32_t version;            /* agreed in Hello, 0 before */
  size_t send_bytes_max;       /* min(ours, node's frame_bytes_max) */
  uint64_t next_request_id;
  int dead;                    /* sticky link error, 0 while healthy */
  int authed;
  struct frame_decoder dec;
  struct arena arena;          /* holds the last unpacked frame and call results */
  uint8_t rbuf[NODEAPI_RECV_CHUNK];
  size_t rpos, rlen;
  struct nodeapi_event events[NODEAPI_EVENTS_MAX]; /* ring */
  size_t ev_head, ev_count;
  uint64_t events_dropped;     /* arrived while the queue was full */
  /* The last PostResp's working-hours notice (docs/working-hours.md): the recipient's
   * node pushes it only from this instant (its wall clock; 0 = now or not known) and
   * the recipient zone's UTC offset then, in minutes. */
  uint64_t post_deliver_from_ms;
  int32_t post_deliver_off_min;
  char reason[NODEAPI_REASON_MAX];
  /* Destinations of the tombstones nodeapi_ack builds (nodeapi_set_ack_dests). */
  size_t n_ack_dests;
  uint8_t ack_dests[OBJ_HOME_NODES_MAX][NODEAPI_KEY_LEN];
};

/* Prepare a session over tr (borrowed; must outlive api) to the node whose key is
 * node_key. timeout_ms bounds each call (waiting for bytes). Allocates nothing. */
void nodeapi_init(struct nodeapi *api, const struct transport *tr,
                  const uint8_t node_key[static NODEAPI_KEY_LEN], int timeout_ms);
/* Free buffers and queued events. Does not close the transport. */
void nodeapi_close(struct nodeapi *api);
/* Why the last call failed: the node's reason, or ours; "" if none. Never NULL. */
const char *nodeapi_reason(const struct nodeapi *api);

/* Send our Hello (role CLIENT, our clock wall_now_ms) and check the node's: E_VERSION
 * when the ranges do not overlap, E_KEYCHANGED when the node names another key than
 * the pinned one, the node's code when it answers with an Error frame. */
MOMEDO_WUR int nodeapi_hello(struct nodeapi *api, uint64_t wall_now_ms);

/* Register this device with an invite token (token: the hex digits of the invite's
 * token). Both key pairs sign the registration (protocol/invite.h), so the node knows
 * the client holds them. *resp (may be NULL) is borrowed until the next call; its
 * node_key equals the pinned key (else E_PROTO). E_INVAL for a malformed token. */
MOMEDO_WUR int nodeapi_register(struct nodeapi *api, const char *token,
                                const struct crypto_sign_keypair *device,
                                const struct crypto_sign_keypair *identity,
                                const Momedo__RegisterResp **resp);
/* The same with the public keys and signatures given as they are (test tools that
 * name keys they do not hold). */
struct nodeapi_register_req {
  const char *token;
  const uint8_t *device_key, *identity_key;     /* NODEAPI_KEY_LEN bytes each */
  const uint8_t *device_sig, *identity_sig;     /* CRYPTO_SIG_LEN bytes each */
};
MOMEDO_WUR int nodeapi_register_raw(struct nodeapi *api, const struct nodeapi_register_req *r,
                                    const Momedo__RegisterResp **resp);

/* AuthBegin, then AuthProve with a signature by device over
 * NODEAPI_AUTH_DOMAIN || node_key || challenge. nodeapi_auth works on nodes where the
 * device was registered with an invite; nodeapi_auth_user also names the user's
 * identity_key (NODEAPI_KEY_LEN bytes, NULL = not sent), so any node that the user's
 * key bundle lists as a home node admits a device that bundle lists (partner
 * fallback, a linked device) without an invite. */
MOMEDO_WUR int nodeapi_auth(struct nodeapi *api, const struct crypto_sign_keypair *device);
MOMEDO_WUR int nodeapi_auth_user(struct nodeapi *api, const struct crypto_sign_keypair *device,
                                 const uint8_t *identity_key);
/* The bytes a device signs to authenticate (exposed for tests and the node). */
MOMEDO_WUR int nodeapi_auth_sign(uint8_t sig[static CRYPTO_SIG_LEN],
                                 const uint8_t node_key[static NODEAPI_KEY_LEN],
                                 const uint8_t challenge[static NODEAPI_CHALLENGE_LEN],
                                 const struct crypto_sign_keypair *device);

/* Publish a signed key bundle (its canonical bytes); id receives the object ID. */
MOMEDO_WUR int nodeapi_publish(struct nodeapi *api, const uint8_t *bundle, size_t len,
                               uint8_t id[static OBJ_ID_LEN]);

/* Look up a bundle and validate it at now_ms (E_PROTO if the node returns a bundle for
 * another identity than asked, or an invalid one; E_NOTFOUND from the node). For user
 * ID queries the caller compares the ID derived from out->info.key. */
MOMEDO_WUR int nodeapi_lookup(struct nodeapi *api, const struct nodeapi_lookup_q *q,
                              uint64_t now_ms, struct nodeapi_bundle *out);

/* The link mailbox of link_id (obj_link_mailbox), without authentication: post
 * request (request_len 0: nothing) and read what the mailbox holds (items checked like
 * a fetch's, borrowed until the next call). Linking a device (client/core/link.h). */
MOMEDO_WUR int nodeapi_link(struct nodeapi *api, const uint8_t link_id[static OBJ_LINK_ID_LEN],
                            const uint8_t *request, size_t request_len, uint64_t now_ms,
                            struct nodeapi_fetch *out);

/* Post ciphertext to a mailbox; id and expires_ms (may be NULL) from the node. */
MOMEDO_WUR int nodeapi_post(struct nodeapi *api, const struct nodeapi_post_req *p,
                            uint8_t id[static OBJ_ID_LEN], uint64_t *expires_ms);

/* Pipelined posts on one connection: nodeapi_post_send sends a PostReq without waiting
 * (its request_id in *request_id); nodeapi_post_collect takes the next PostResp (events
 * and pings in between are handled), waiting at most timeout_ms (0: only what has
 * arrived; E_TIMEOUT when none). The node answers in order. Per-item outcome in
 * out->status (0 with id and expires_ms, or the node's refusal, e.g. E_RATE, with the
 * reason in nodeapi_reason); a negative return means the link failed. Do not mix with
 * other calls while posts are outstanding. */
struct nodeapi_post_result {
  uint64_t request_id;
  int status;
  uint8_t id[OBJ_ID_LEN];
  uint64_t expires_ms;
};
MOMEDO_WUR int nodeapi_post_send(struct nodeapi *api, const struct nodeapi_post_req *p,
                                 uint64_t *request_id);
MOMEDO_WUR int nodeapi_post_collect(struct nodeapi *api, int timeout_ms,
                                    struct nodeapi_post_result *out);

/* Fetch a mailbox from cursor (0 = start), at most limit objects (0 = node default,
 * capped at NODEAPI_FETCH_LIMIT_MAX). Objects are validated at now_ms and must be
 * addressed to mailbox. */
MOMEDO_WUR int nodeapi_fetch(struct nodeapi *api, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                             uint64_t cursor, uint32_t limit, uint64_t now_ms,
                             struct nodeapi_fetch *out);
/* nodeapi_fetch showing the mailbox's write key and tag (mbox_write.h; both NULL for
 * none): the node then takes posts there only with the write key's signature. */
MOMEDO_WUR int nodeapi_fetch_write(struct nodeapi *api,
                                   const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                   const uint8_t *write_key, const uint8_t *write_tag,
                                   uint64_t cursor, uint32_t limit, uint64_t now_ms,
                                   struct nodeapi_fetch *out);
/* Fetch chunks of one blob; out->objs[i].seq is 0, next_cursor and more unused. */
MOMEDO_WUR int nodeapi_fetch_blob(struct nodeapi *api,
                                  const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                                  const uint8_t blob_id[static OBJ_ID_LEN], uint32_t first_index,
                                  uint32_t limit, uint64_t now_ms, struct nodeapi_fetch *out);

/* Build the canonical bytes of a Tombstone for item_id in device's mailbox, created at
 * now_ms, expiring at expires_ms (0 = now + OBJ_TTL_MS_MAX; clamped to that). *out is
 * malloc'ed (caller frees). */
MOMEDO_WUR int nodeapi_tombstone(const struct crypto_sign_keypair *device,
                                 const uint8_t item_id[static OBJ_ID_LEN], uint64_t expires_ms,
                                 uint64_t now_ms, uint8_t **out, size_t *out_len);
/* The same with destination nodes (the device's own bundle's home_nodes, n <=
 * OBJ_HOME_NODES_MAX, any order: sorted and deduplicated here); n 0 = global scope. */
MOMEDO_WUR int nodeapi_tombstone_to(const struct crypto_sign_keypair *device,
                                    const uint8_t item_id[static OBJ_ID_LEN],
                                    uint64_t expires_ms, uint64_t now_ms,
                                    const uint8_t (*dests)[NODEAPI_KEY_LEN], size_t n_dests,
                                    uint8_t **out, size_t *out_len);
/* Name the destination nodes of the tombstones later nodeapi_ack calls build (at most
 * OBJ_HOME_NODES_MAX; more are left out; 0 = global scope, the default). */
void nodeapi_set_ack_dests(struct nodeapi *api, const uint8_t (*dests)[NODEAPI_KEY_LEN],
                           size_t n);
/* Acknowledge n (1..NODEAPI_ACK_MAX) items with tombstones signed by device;
 * *accepted (may be NULL) says how many the node took. */
MOMEDO_WUR int nodeapi_ack(struct nodeapi *api, const struct crypto_sign_keypair *device,
                           const struct nodeapi_ack_item *items, size_t n, uint64_t now_ms,
                           uint32_t *accepted);

/* Ask for live events on n (1..NODEAPI_SUBSCRIBE_MAX) mailboxes. */
MOMEDO_WUR int nodeapi_subscribe(struct nodeapi *api,
                                 const uint8_t (*mailboxes)[OBJ_MAILBOX_LEN], size_t n);
/* Take the oldest queued event, or wait up to timeout_ms (< 0: no limit) for one.
 * E_TIMEOUT when none arrived. The object is validated at now_ms into ev->err. */
MOMEDO_WUR int nodeapi_wait_event(struct nodeapi *api, int timeout_ms, uint64_t now_ms,
                                  struct nodeapi_event *ev);
/* Release an event's data. */
void nodeapi_event_clear(struct nodeapi_event *ev);

/* Ask the home node for an alias of identity_key; the validated Alias object's
 * fields in *info (info->alias is the string). */
/* The user's own quiet hours at this node (docs/working-hours.md); all "" = none. The
 * node checks them (E_INVAL with its reason). */
MOMEDO_WUR int nodeapi_quiet(struct nodeapi *api, const char *days, const char *hours,
                             const char *tz);
MOMEDO_WUR int nodeapi_alias(struct nodeapi *api,
                             const uint8_t identity_key[static NODEAPI_KEY_LEN], uint64_t now_ms,
                             struct obj_info *info);

/* One-time prekeys (nodeapi_otpk.c, protocol/otpk.h). Upload n (<= OTPK_UPLOAD_MAX,
 * else E_TOOBIG) signed prekeys of this (authenticated) device to the node (replace: drop
 * every one it held first); *held (may be NULL) = how many it holds now. n = 0 without
 * replace only asks. */
struct otpk_pub;
MOMEDO_WUR int nodeapi_prekey_upload(struct nodeapi *api, const struct otpk_pub *p, size_t n,
                                     int replace, uint32_t *held);
/* Claim one of device_key's prekeys: *found = 1 and out filled when the node had one
 * (it is gone from the node now), 0 when not. E_BADSIG when the node's answer is not
 * signed by device_key (the caller then uses no one-time prekey); E_RATE and others
 * from the node with nodeapi_reason. */
MOMEDO_WUR int nodeapi_prekey_claim(struct nodeapi *api,
                                    const uint8_t device_key[static NODEAPI_KEY_LEN],
                                    struct otpk_pub *out, int *found);
/* The same for a device whose home node is home_node, not the node connected to: that
 * node forwards the claim over the federation and answers when the home node did. The
 * answer must carry the home node's signature over a fresh random nonce of this claim
 * (otpk_claimed_verify), else E_BADSIG: no other node can answer for the home node and
 * no earlier answer can be replayed. Errors with nodeapi_reason: E_AGAIN (no route),
 * E_TIMEOUT (no answer), E_RATE (a limit there or here), others. */
MOMEDO_WUR int nodeapi_prekey_claim_from(struct nodeapi *api,
                                         const uint8_t device_key[static NODEAPI_KEY_LEN],
                                         const uint8_t home_node[static NODEAPI_KEY_LEN],
                                         struct otpk_pub *out, int *found);
/* Tell the node this device's vault save count (client/core/counter.h); *last = the highest
 * count it held before (0: none). The node keeps max(count, *last). */
MOMEDO_WUR int nodeapi_state_counter(struct nodeapi *api, uint64_t count, uint64_t *last);
/* Ask the node this device registered with for its partners, each with a fresh partner
 * grant for this user (docs/security.md "Partners"). *resp lives in the api's arena until
 * the next call; each entry is bounds-checked, grants are not verified here. E_DENIED
 * from a node this device did not register with. */
MOMEDO_WUR int nodeapi_partners(struct nodeapi *api, const Momedo__PartnersResp **resp);

#endif
