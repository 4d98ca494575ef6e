/* client/core/engine_int.h — the message engine's internals (issue 13 part 1): what only
 * the engine's own files (client/core/engine*.c) and the unit tests call: notices and
 * events as they are made, post destinations, the outbox's steps, group delivery and
 * held items, prekeys, sessions, the history's transaction, the approval rule, the
 * archive hook. Front-ends (client/cli/, tests/tools/) include momedo_client.h only and
 * call no eng__ function (scripts/check_layers.sh). */
#ifndef MOMEDO_CLIENT_ENGINE_INT_H
#define MOMEDO_CLIENT_ENGINE_INT_H

#include "engine.h"
#include "group.h"
#include "nodeapi.h"
#include "otpks.h"
#include "transport.h"
#include "vault.h"
#include "x3dh.h"

/* ---- connections, destinations, envelopes (opaque to front-ends) ------------------- */
/* What one connection is subscribed to; eng_subscribe_live adds what is missing (a new
 * group or epoch), up to NODEAPI_SUBSCRIBE_MAX. */
struct eng_subs {
  uint8_t mb[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN];
  size_t n;
};
struct eng_conn {
  struct transport_tls *tls;
  struct transport tr;
  struct nodeapi api;
  int open;
  size_t node;                              /* index into acct.nodes */
  struct eng_subs subs;                     /* live subscriptions on this connection */
  struct nodeapi_event ev;                  /* eng_conn_wait's, until eng_handle_event */
  int has_ev;
};
/* Look up a bundle by user ID / alias / key; on success the identity key in key. */
MOMEDO_WUR int eng_lookup(struct eng *c, struct eng_conn *cn, const struct nodeapi_lookup_q *q,
                          uint8_t key[static 32], struct nodeapi_bundle *out);
/* The nodes that must hold a post (PostReq.dest_nodes); n = 0 is global scope
 * (engine_dests.c). */
struct eng_dests {
  size_t n;
  uint8_t k[NODEAPI_DESTS_MAX][32];
};
/* Empty d. */
void eng_dests_clear(struct eng_dests *d);
/* Add our own home nodes (account_homes). */
void eng_dests_self(const struct eng_state *st, struct eng_dests *d);
/* One envelope of an outbox (struct eng_outbox in engine.h). */
struct eng_out {
  uint8_t mb[OBJ_MAILBOX_LEN];
  uint8_t device_key[32]; /* the recipient device the mailbox belongs to */
  struct eng_dests dests;  /* the nodes that must hold it */
  uint8_t *env;
  size_t len;
  int tag;                 /* the caller's mark (the bot: the input line it came from) */
};

/* ---- the home's state (private: front-ends hold a struct eng_state * from
 * eng_state_new and read it through the accessors in engine.h) ------------------------ */
struct eng_sessions {
  struct e2e_session **v;                   /* oldest first; the newest per device sends */
  size_t n, cap;
  size_t dropped_old;                       /* loading: pending ones of an older version */
};
struct eng_replays {
  struct e2e_replay **v;
  uint32_t *spk;
  size_t n;
};

struct eng_receipts {
  uint8_t peer[32];
  size_t n;
  uint8_t ids[ENG_RECEIPTS_MAX][TL_ID_LEN];
};

struct eng_gdev {
  uint8_t identity[32], device[32];
  uint64_t from;                            /* records owed: the versions after this one */
};

struct eng_group {
  uint8_t id[GROUP_ID_LEN];
  struct group *g;
  struct eng_gdev *need;                    /* devices still owed records */
  size_t n_need;
  int dirty;                                /* state changed: write it back */
};

/* An item of a group mailbox whose sender key has not arrived yet. */
struct eng_gheld {
  uint8_t gid[GROUP_ID_LEN], mb[OBJ_MAILBOX_LEN];
  uint64_t created_ms;
  uint8_t *wire;
  size_t len;
};

/* A control message that arrived before the record it needs (sender key of an unknown
 * group or a newer epoch, a record after a version gap). */
struct eng_gpending {
  uint8_t from_id[32], from_dev[32];
  uint64_t received_ms;
  uint8_t *body;                            /* encoded GroupControl */
  size_t len;
};

struct eng_chcursor {
  uint8_t node[32];
  uint64_t cursor;
};

struct eng_channel {
  char name[CHANNEL_NAME_BYTES_MAX + 1];
  char display[CHANNEL_DISPLAY_NAME_BYTES_MAX + 1];
  struct channel_keys k;
  struct eng_chcursor cur[ACCOUNT_NODES_MAX];
  size_t n_cur;
};

struct eng_groups {
  struct eng_group *v;
  size_t n;
  struct eng_gpending *p;
  size_t n_p;
  struct eng_gheld *held;
  size_t n_held;
  int dirty;                                /* the index (list, owed records, pending, held) */
  struct eng_channel *ch;
  size_t n_ch;
  int ch_dirty;
  int touched;                              /* a control message arrived since loading */
  int dropped_old;                          /* loading: an older momedo's groups dropped */
};

struct eng_state {
  struct home home;
  struct vault vault;
  struct account acct;
  struct contacts contacts;
  struct tl_seen seen;
  struct hist hist;                         /* history.db: every conversation's messages */
  struct eng *ctx;                          /* whom notices go to (set by eng_open_pass) */
  int have_hist;
  struct eng_sessions sess;
  struct eng_replays rp;
  int have_acct;
  struct eng_receipts *rc;                  /* delivery receipts to send, per sender */
  size_t n_rc;
  const char *save_dir;                     /* copy attachments out here (plaintext) */
  struct eng_groups gr;
  /* Users whose bundle this process looked up lately (receive path; not saved). */
  struct otpks otpk;                        /* one-time prekey secrets (engine_otpk.c) */
  uint64_t counter;                         /* vault saves (counter.h), raised by eng_save */
  uint64_t counter_disk;                    /* the count as last loaded or saved */
  int counter_skip;                         /* `recover`: do not check it on connecting */
  struct eng_conn *claim;                   /* a send's connection: claim one-time prekeys
                                               of devices whose home node it is; NULL */
  struct eng_fresh {
    uint8_t identity[32];
    uint64_t ms;
  } fresh[ENG_FRESH_MAX];
  size_t n_fresh;
};

/* Vault storage (engine_state.c): the index file ENG_GROUPS_FILE (groups, devices owed
 * the current record, pending control messages) and one sealed state per group. */
MOMEDO_WUR int eng_groups_load(struct eng_groups *gs, const struct vault *v);
MOMEDO_WUR int eng_groups_save(struct eng_groups *gs, const struct vault *v);
void eng_groups_free(struct eng_groups *gs);
MOMEDO_WUR int eng_channels_load(struct eng_groups *gs, const struct vault *v);
MOMEDO_WUR int eng_channels_save(struct eng_groups *gs, const struct vault *v);
void eng_channels_free(struct eng_groups *gs);

/* Hand a notice (printf-style, the caller's own newline) to the front-end as ENG_EV_NOTE
 * (kind ENG_EV_LINK with eng__link_note). e may be NULL (dropped). */
void eng__note(struct eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void eng__link_note(struct eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand a received message or receipt to the front-end (ENG_EV_MESSAGE). */
void eng__emit_msg(struct eng *e, const struct eng_msg *m);

/* Open the home's history.db under the vault's keys (and take in an older home's
 * timeline files the first time). */
MOMEDO_WUR int eng__history_open(struct eng *c, struct eng_state *st);

/* The crash tests' points (ENG_CRASH_ENV in engine.h). */
void eng__crash_point(const char *where);

/* Where a lookup of ct asks first: fingerprint prefixes of its cached bundle's home
 * nodes, else the hints of the card it was added by. Returns how many. */
size_t eng__contact_hints(const struct contact *ct,
                          uint8_t hints[static NODEAPI_HINTS_MAX][IDS_CARD_HINT_LEN]);

/* Add a node key (duplicates and the all-zero key ignored); E_BOUNDS when full. */
MOMEDO_WUR int eng__dests_add(struct eng_dests *d, const uint8_t key[static 32]);

/* Add ct's home nodes from its cached bundle; E_NOTFOUND when none is cached. */
MOMEDO_WUR int eng__dests_contact(const struct contact *ct, struct eng_dests *d);

/* A group post's: our home nodes and every member's; global scope (n = 0) when a
 * member's home nodes are unknown here; E_BOUNDS (with c->why) past NODEAPI_DESTS_MAX. */
MOMEDO_WUR int eng__dests_group(struct eng *c, struct eng_state *st, struct eng_group *cg,
                                struct eng_dests *d);

/* Fill a new message ID (kept in mid), format, sent_ms and this device as the sender of
 * m, no sync copy. E_RNG. */
MOMEDO_WUR int eng__content_head(const struct eng_state *st, Momedo__Content *m,
                                 uint8_t mid[static CONTENT_ID_LEN]);

/* The two steps of eng_send_content (struct eng_outbox in engine.h). */
MOMEDO_WUR int eng__send_queue(struct eng *c, struct eng_state *st, struct contact *ct,
                               Momedo__Content *content, int no_sync, struct eng_outbox *ob);
MOMEDO_WUR int eng__outbox_post(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                struct eng_outbox *ob, size_t *n_sent);

/* Free a kept control message. */
void eng__gpending_clear(struct eng_gpending *p);

/* Take ownership of g as a new group (E_QUOTA past ENG_GROUPS_MAX, E_NOMEM). */
MOMEDO_WUR int eng__group_add(struct eng_groups *gs, struct group *g, struct eng_group **out);

/* Owe cg's records to every device of its head except this one, after a change this
 * device made on top of version `before` (the head it had): devices that were in that
 * head get the records after version `from`, the others the whole chain (E_NOMEM).
 * prev lists the devices of the head before (n_prev of them). */
MOMEDO_WUR int eng__group_owe(struct eng_state *st, struct eng_group *cg,
                              const struct eng_gdev *prev, size_t n_prev, uint64_t from);
/* Send the encoded Content pt to devices t[0..nt) over the pairwise sessions; *sent
 * counts those that took it. Returns only I/O and memory errors. */
MOMEDO_WUR int eng__group_send_to(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                  const uint8_t *pt, size_t len, const struct group_device *t,
                                  size_t nt, size_t *sent);
/* The devices of cg's head (malloc'ed into *out, caller frees). */
MOMEDO_WUR int eng__group_devices(const struct eng_group *cg, struct eng_gdev **out, size_t *n);
/* Deliver what cg owes: the record to the devices owed it, then sender keys; counts
 * into fs. c->why says what failed. */
MOMEDO_WUR int eng__group_flush(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                struct eng_group *cg, struct eng_group_sent *fs);

/* Keep a group item whose sender key has not arrived (engine_group_held.c; E_NOMEM). */
MOMEDO_WUR int eng__group_hold(struct eng_state *st, const uint8_t gid[static 32],
                               const uint8_t mb[static 32], uint64_t created_ms,
                               const uint8_t *wire, size_t len);
/* Try the kept items again (a sender key may have come); show what opens now, drop
 * what is refused for good or too old. */
MOMEDO_WUR int eng__group_held_retry(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                     size_t *n_new);

/* Download a blob's chunks from mailbox into buf (f->size bytes) (engine_recv.c). */
MOMEDO_WUR int eng__fetch_chunks(struct eng *c, struct eng_conn *cn, const uint8_t mb[static 32],
                                 const Momedo__File *f, uint8_t *buf);

/* One-time prekeys (engine_otpk.c). Refill: when cn is the home node and holds fewer than
 * OTPKS_NODE_LOW, make and save new secrets, then upload; c->why on failure. Claim: fill
 * r's one-time prekey through st->claim, from d's home node (the node connected to, or
 * through it from another node over the federation); on any failure r keeps the signed
 * prekey alone, and why is a notice event, counted in c->otpk_fallback. */
MOMEDO_WUR int eng__otpk_refill(struct eng *c, struct eng_state *st, struct eng_conn *cn);

/* Signed prekeys (engine_prekey.c). When cn is the home node: replace the signed
 * prekey once it is ACCOUNT_PREKEY_ROTATE_MS old (ENG_PREKEY_ROTATE_ENV may make that
 * shorter, for tests); without this, senders refuse it ACCOUNT_PREKEY_LIFETIME_MS
 * after it was made. The first device saves it and publishes the bundle (also when a
 * linked device's new prekey is due, account.bundle_due); a linked device saves it and
 * announces it to the user's other devices, again daily until the bundle lists it. */
MOMEDO_WUR int eng__prekey_rotate(struct eng *c, struct eng_state *st, struct eng_conn *cn);
/* A DevicePrekey content from device `device` of identity `from`: the first device
 * takes it into its device list (account_take_prekey) for the next publish; refused
 * ones are reported (notice event) and dropped. Other devices ignore it. Errors only for I/O. */
MOMEDO_WUR int eng__prekey_take(struct eng *c, struct eng_state *st, const uint8_t from[static 32],
                                const uint8_t device[static 32], const Momedo__Content *m);
/* engine_grant.c: take the partners home named (RegisterResp / PartnersResp) into the
 * account with each grant that verifies (*changed: a grant is new or lasts longer). */
MOMEDO_WUR int eng__learn_partners(struct eng_state *st, const uint8_t home[static 32],
                                   Momedo__NodeAddr *const *v, size_t n, int *changed);
/* When due (account_grants_due) and cn is the home node: renew the partner grants there,
 * republish the bundle if one changed, save. Errors are the caller's to note. */
MOMEDO_WUR int eng__grants_renew(struct eng *c, struct eng_state *st, struct eng_conn *cn);
/* (the claim of engine_otpk.c, above) */
void eng__otpk_claim(struct eng *c, struct eng_state *st, const struct account_device *d,
                     struct e2e_remote *r);

/* Append e to s (growing it; s owns e afterwards only on success). MOMEDO_E_NOMEM.
 * engine_state.c; eng__session_add also trims the peer device's older sessions. */
MOMEDO_WUR int eng__sessions_push(struct eng_sessions *s, struct e2e_session *e);
/* Internal to engine_msg.c / engine_recv.c. */
MOMEDO_WUR int eng__session_add(struct eng_sessions *s, struct e2e_session *e);
void eng__session_touch(struct eng_sessions *s, size_t i);
MOMEDO_WUR int eng__blob_mailbox(uint8_t mb[static OBJ_MAILBOX_LEN],
                                 const uint8_t blob_id[static OBJ_ID_LEN]);
/* Timeline entry (strings borrowed from m) for content m in a conversation. */
void eng__entry_of(const Momedo__Content *m, int outgoing, struct tl_entry *e);
/* Does a group carry m? Text, files, locations, tasks (plain or asking for approval),
 * accept / done on a plain task and approval decisions (engine_msg.c). */
int eng__group_body_ok(const Momedo__Content *m);
/* e as a group row: due holds its sender's user ID (borrowed), so a task's due date
 * moves to note (a task has no other note). */
void eng__group_row(struct tl_entry *e, const char *sender_uid);

/* History (engine_msg.c): entries go into one open transaction of history.db, begun by
 * the first change and committed by eng__hist_commit or eng_save (which commits before
 * it writes anything else, so the history is on disk before the sessions and the seen
 * set move past a message, and before anything is acknowledged). eng_release,
 * eng_reacquire and eng_close roll an open one back, with the unsaved state. */
MOMEDO_WUR int eng__hist_commit(struct eng *c, struct eng_state *st);
/* Begin that transaction unless one is open (E_INTERNAL without a history). */
MOMEDO_WUR int eng__hist_tx(struct eng_state *st);
/* Add e to the conversation (kind, key) (*added = 0 for a duplicate ID); a task reply
 * also moves its task. */
MOMEDO_WUR int eng__timeline_put(struct eng *c, struct eng_state *st, enum hist_conv_kind kind,
                                 const uint8_t key[static 32], struct tl_entry *e, int *added);
/* *has = 1 when the conversation (kind, key) holds message id. */
MOMEDO_WUR int eng__timeline_has(struct eng *c, struct eng_state *st, enum hist_conv_kind kind,
                                 const uint8_t key[static 32], const uint8_t id[static TL_ID_LEN],
                                 int *has);

/* Approvals (engine_approve.c). eng__decide applies the decision in reply e (its from,
 * decision, note set) to its task in conversation hc: 0 applied (the task row updated
 * unless dry), E_EXISTS the same decision again (ignore quietly), E_DENIED refused (an
 * unknown task, not an approval task, a decider the task was not sent to, a decision
 * conflicting with that decider's earlier one: why says which, unless dry it is on
 * the notice events), E_STORE & co. */
MOMEDO_WUR int eng__decide(struct eng_state *st, enum hist_conv_kind kind,
                           const struct hist_conv *hc, const struct tl_entry *e, int dry,
                           char *why, size_t why_cap);

/* engine_archive.c: append a new message of group cg (from sender) to c->archive when the
 * group is recorded and it was sent after the mark; att_vname: its attachment in the
 * vault, or NULL. Synced to disk before it returns. */
MOMEDO_WUR int eng__archive_take(struct eng *c, struct eng_state *st, struct eng_group *cg,
                                 const Momedo__Content *m, const uint8_t sender[static 32],
                                 const char *att_vname);
/* A notice event, before posting to a recorded group: recorded since when, by whom. */
void eng__recorded_notice(struct eng_state *st, const struct eng_group *cg);

/* A task reply m to the conversation of f (the contact ct, or f's group) over a new
 * connection, stored, saved (engine_decide.c; eng_task_decide and eng_task_act). */
MOMEDO_WUR int eng__reply_send(struct eng *c, struct eng_state *st, const struct hist_found *f,
                               struct contact *ct, Momedo__Content *m,
                               uint8_t id[static TL_ID_LEN]);

#endif
