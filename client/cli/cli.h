/* client/cli/cli.h — private to the `momedo` command line (client/cli/: main.c, cli_*.c,
 * bot.c), which reaches the client core only through momedo_client.h:
 * options, output (human or one JSON object per line), the unlocked state of a home
 * (vault, account, contacts, sessions, replay sets, seen set), connections to the home
 * node with automatic fallback to its partners, and the message engine (send to every
 * device of a contact plus sync copies to our own; receive, deduplicate, decrypt,
 * check the sender against their pinned bundle, store, acknowledge). */
#ifndef MOMEDO_CLIENT_CLI_H
#define MOMEDO_CLIENT_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jsonw.h"
#include "momedo_client.h"
#include "os.h"

#define CLI_NAME "momedo"
#define CLI_POS_MAX 512                     /* positional arguments (group members) */
#define CLI_WHY_MAX 768
#define CLI_TIMEOUT_MS_DEFAULT 15000
#define CLI_CONNECT_TIMEOUT_MS 5000         /* per node tried */
#define CLI_SESSIONS_FILE "sessions"
#define CLI_REPLAY_FILE "replay"
#define CLI_SESSIONS_MAX 4096
#define CLI_SESSIONS_PER_DEVICE 4           /* newest kept per peer device */
#define CLI_FETCH_PAGES_MAX 1000            /* pages one sync follows per node */
#define CLI_FETCH_LIMIT 200
#define CLI_ITEM_TTL_MS 0                   /* 0 = the node's default */
#define CLI_BLOB_DOMAIN "momedo/blob-mailbox/v1"
#define CLI_RECEIPTS_MAX CONTENT_RECEIPT_IDS_MAX
/* A received message's sending device must be listed in its user's newest key bundle
 * (issue 11, finding 5): the receive path looks the bundle up again when it did not in
 * the last CLI_BUNDLE_FRESH_MS (per process, for up to CLI_FRESH_MAX users). */
#define CLI_BUNDLE_FRESH_MS 60000
#define CLI_FRESH_MAX 64
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_PASS_ENV "MOMEDO_PASSPHRASE"
#define CLI_NEW_PASS_ENV "MOMEDO_NEW_PASSPHRASE" /* `momedo passphrase`: the new one */

/* Longest prompt cli_tty_read_secret writes. */
#define CLI_TTY_PROMPT_MAX 256
/* Asks on the controlling terminal (/dev/tty, not stdin) for one line with echo off
 * (cli_tty.c): writes prompt, reads up to the newline, restores the terminal, ends the
 * line. out (cap >= 1 bytes) gets the line without its newline and a NUL, *len its
 * length. Errors: E_AUTH no terminal to ask on; E_TOOBIG the line was longer than
 * cap - 1 bytes; E_IO the terminal failed or ended before a newline with nothing typed.
 * On error out holds "" and *len is 0; the caller wipes out after use. */
MOMEDO_WUR int cli_tty_read_secret(const char *prompt, char *out, size_t cap, size_t *len);

/* The vault passphrase (cli_pass.c): from file (first line) if non-NULL, else
 * $MOMEDO_PASSPHRASE, else the terminal without echo (asked twice when confirm). out
 * holds cap bytes and a NUL; *len excludes it. E_AUTH (no terminal and no other source,
 * or the two entries differ), E_INVAL (empty), E_TOOBIG, E_IO. why (may be NULL) gets
 * a sentence. */
MOMEDO_WUR int cli_passphrase(char *out, size_t cap, size_t *len, const char *file,
                              int confirm, char *why, size_t why_cap);
/* cli_passphrase for a passphrase chosen now (asked twice on a terminal), from file,
 * else $var, else the terminal: also E_INVAL when it is shorter than VAULT_PASS_NEW_MIN
 * bytes, *len 0 and out wiped then. */
MOMEDO_WUR int cli_passphrase_new(char *out, size_t cap, size_t *len, const char *file,
                                  const char *var, char *why, size_t why_cap);
/* --scrypt-log2n N (the cost of a vault's key derivation; tests use a low one) into
 * *log2n, VAULT_SCRYPT_LOG2N without it; E_INVAL (reported) outside the vault's bounds. */
struct cli;
MOMEDO_WUR int cli_scrypt_opt(struct cli *c, unsigned *log2n);

/* Options, each allowed only by the commands whose mask names it. */
enum cli_opt {
  CO_HOME, CO_JSON, CO_PASSFILE, CO_TIMEOUT, CO_NAME, CO_FILE, CO_LOCATION, CO_TASK,
  CO_DUE, CO_SAVE_DIR, CO_YES, CO_COUNT, CO_MIME, CO_SCRYPT, CO_INVITE, CO_CHANNEL,
  CO_CHANNEL_PASSFILE, CO_LISTEN, CO_FROM, CO_TO, CO_RETENTION, CO_ARCHIVE_DIR, CO_KEY,
  CO_TEXT, CO_APPROVAL, CO_COMMENT, CO_NEW_PASSFILE,
  CO__COUNT
};
#define CLI_OPT(o) (1u << (o))

struct cli_tally;
struct archive_log;

struct cli {
  const char *opt[CO__COUNT];               /* value, or "" for a flag; NULL if absent */
  int json;
  int timeout_ms;
  const char *pos[CLI_POS_MAX];
  int n_pos;
  char why[CLI_WHY_MAX];
  FILE *out;                                /* stdout */
  struct cli_tally *tally;                  /* `sync` for people: receipts summed up here */
  /* Working hours: the latest instant from which the recipient's node pushes what the
   * last cli__outbox_post posted to a contact's devices (0: now), and the recipient
   * zone's UTC offset then (minutes). */
  uint64_t deliver_from_ms;
  int32_t deliver_off_min;
  /* New sessions this command started with a one-time prekey, and without one (the
   * signed prekey alone: none held, home node unreachable, a limit, a forgery;
   * cli_otpk.c reports each on stderr). `send --json` shows both. */
  uint32_t otpk_used, otpk_fallback;
  /* `archive run`: the log new messages of recorded groups go to, and how many went. */
  struct archive_log *archive;
  uint64_t archived;
  /* The bot: while set, cli__outbox_post moves what it would post into this outbox (each
   * envelope tagged defer_tag) and posts nothing; the bot then saves once and posts the
   * whole batch with cli__outbox_post_batch. */
  struct cli_outbox *defer;
  int defer_tag;
};

/* {"ok":false,"error":"E_...","reason":REASON} on one line (the test tools' failures). */
void cli_json_fail(FILE *f, int rc, const char *reason);
/* Record why a command fails and return rc (< 0). */
int cli_fail(struct cli *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fault injection for crash tests: when $MOMEDO_TEST_CRASH equals where, the process
 * kills itself with SIGKILL right here (nothing is flushed to the vault). Points:
 * "encrypted" (envelopes made, nothing saved or posted), "saved" (state saved, nothing
 * posted), "posted" (envelopes posted, the final save not done). */
#define CLI_CRASH_ENV "MOMEDO_TEST_CRASH"
void cli__crash_point(const char *where);

/* ---- JSON output ---------------------------------------------------------------- */

/* ---- state ---------------------------------------------------------------------- */
struct cli_sessions {
  struct e2e_session **v;                   /* oldest first; the newest per device sends */
  size_t n, cap;
};
struct cli_replays {
  struct e2e_replay **v;
  uint32_t *spk;
  size_t n;
};

struct cli_receipts {
  uint8_t peer[32];
  size_t n;
  uint8_t ids[CLI_RECEIPTS_MAX][TL_ID_LEN];
};

/* ---- groups and passphrase channels (cli_group.c, cli_channel.c) ------------------ */
#define CLI_GROUPS_FILE "groups"
#define CLI_GROUPS_MAX 256                  /* groups one device keeps */
#define CLI_GROUP_PENDING_MAX 256           /* control messages waiting for a record */
#define CLI_GROUP_PENDING_MS (7ull * 24 * 3600 * 1000)  /* ... kept this long */
/* An item whose sender key has not arrived is kept on the device this long and tried
 * again after each control message; the read cursor moves past it at once. */
#define CLI_GROUP_KEY_WAIT_MS (7ull * 24 * 3600 * 1000)
#define CLI_GROUP_HELD_MAX 256              /* such items kept, oldest dropped first */
#define CLI_GROUP_HELD_BYTES_MAX (8u << 20)
#define CLI_GROUP_REF_HEX_MIN 6             /* digits of a group ID prefix */
#define CLI_CHANNELS_FILE "channels"
#define CLI_CHANNELS_MAX 64
#define CLI_CHANNEL_PREFIX "channel:"
#define CLI_CHANNEL_PASS_ENV "MOMEDO_CHANNEL_PASSPHRASE"
#define CLI_LABEL_MAX (CHANNEL_NAME_BYTES_MAX + GROUP_NAME_BYTES_MAX + 16)

struct cli_gdev {
  uint8_t identity[32], device[32];
  uint64_t from;                            /* records owed: the versions after this one */
};

struct cli_group {
  uint8_t id[GROUP_ID_LEN];
  struct group *g;
  struct cli_gdev *need;                    /* devices still owed records */
  size_t n_need;
  int dirty;                                /* state changed: write it back */
};

/* An item of a group mailbox whose sender key has not arrived yet. */
struct cli_gheld {
  uint8_t gid[GROUP_ID_LEN], mb[OBJ_MAILBOX_LEN];
  uint64_t created_ms;
  uint8_t *wire;
  size_t len;
};

/* A control message that arrived before the record it needs (sender key of an unknown
 * group or a newer epoch, a record after a version gap). */
struct cli_gpending {
  uint8_t from_id[32], from_dev[32];
  uint64_t received_ms;
  uint8_t *body;                            /* encoded GroupControl */
  size_t len;
};

struct cli_chcursor {
  uint8_t node[32];
  uint64_t cursor;
};

struct cli_channel {
  char name[CHANNEL_NAME_BYTES_MAX + 1];
  char display[CHANNEL_DISPLAY_NAME_BYTES_MAX + 1];
  struct channel_keys k;
  struct cli_chcursor cur[ACCOUNT_NODES_MAX];
  size_t n_cur;
};

struct cli_groups {
  struct cli_group *v;
  size_t n;
  struct cli_gpending *p;
  size_t n_p;
  struct cli_gheld *held;
  size_t n_held;
  int dirty;                                /* the index (list, owed records, pending, held) */
  struct cli_channel *ch;
  size_t n_ch;
  int ch_dirty;
  int touched;                              /* a control message arrived since loading */
};

struct cli_state {
  struct home home;
  struct vault vault;
  struct account acct;
  struct contacts contacts;
  struct tl_seen seen;
  struct hist hist;                         /* history.db: every conversation's messages */
  int have_hist;
  struct cli_sessions sess;
  struct cli_replays rp;
  int have_acct;
  struct cli_receipts *rc;                  /* delivery receipts to send, per sender */
  size_t n_rc;
  const char *save_dir;                     /* copy attachments out here (plaintext) */
  struct cli_groups gr;
  /* Users whose bundle this process looked up lately (receive path; not saved). */
  struct otpks otpk;                        /* one-time prekey secrets (cli_otpk.c) */
  uint64_t counter;                         /* vault saves (counter.h), raised by cli_save */
  uint64_t counter_disk;                    /* the count as last loaded or saved */
  int counter_skip;                         /* `recover`: do not check it on connecting */
  struct cli_conn *claim;                   /* a send's connection: claim one-time prekeys
                                               of devices whose home node it is; NULL */
  struct cli_fresh {
    uint8_t identity[32];
    uint64_t ms;
  } fresh[CLI_FRESH_MAX];
  size_t n_fresh;
};

/* Resolve and create the home directory (no vault yet). */
MOMEDO_WUR int cli_home(struct cli *c, struct cli_state *st, int create);
/* Open the home: passphrase, unlock, take the lock, load everything. need_joined: the
 * account must have joined a node. */
MOMEDO_WUR int cli_open(struct cli *c, struct cli_state *st, int need_joined);
/* The same with the passphrase given (pass, pl bytes): `momedo app` takes it from the
 * page. A wrong one is E_AUTH and changes nothing. */
MOMEDO_WUR int cli_open_pass(struct cli *c, struct cli_state *st, const char *pass, size_t pl,
                             int need_joined);
/* Write account, contacts, sessions, replay sets and the seen set. */
MOMEDO_WUR int cli_save(struct cli *c, struct cli_state *st);
/* Unlock briefly (listen drops the lock while it waits) / reload everything. */
void cli_release(struct cli_state *st);
MOMEDO_WUR int cli_reacquire(struct cli *c, struct cli_state *st);
void cli_close(struct cli_state *st);

/* ---- first run (cli_init.c): shared by `init`/`join` and `momedo app`'s first run ---- */
struct invite;
/* Create the home (if needed) and a new vault sealed under pass in it, and take the
 * home's lock; E_EXISTS (nothing changed) when it holds an identity already. */
MOMEDO_WUR int cli_init_vault(struct cli *c, struct cli_state *st, const char *pass, size_t pl,
                              unsigned log2n);
/* Decode an invite code, with the command line's words for a typo, a foreign code, a
 * version mismatch or damage. */
MOMEDO_WUR int cli_invite_decode(struct cli *c, struct invite *inv, const char *code);
/* `join` without its output and without saving: register st's device (account in
 * memory) at the invite's node, learn its partners, publish the bundle, ask for an
 * alias; acct.joined = 1. The caller saves. */
MOMEDO_WUR int cli_join_node(struct cli *c, struct cli_state *st, const struct invite *inv);

/* ---- connections ---------------------------------------------------------------- */
struct cli_conn {
  struct transport_tls *tls;
  struct transport tr;
  struct nodeapi api;
  int open;
  size_t node;                              /* index into acct.nodes */
};
/* TLS to host:port pinned to key, then Hello. */
MOMEDO_WUR int cli_conn_open(struct cli *c, struct cli_conn *cn, const char *host,
                             uint16_t port, const uint8_t key[static 32]);
/* The home node, else each partner in turn; authenticated. */
MOMEDO_WUR int cli_connect(struct cli *c, struct cli_state *st, struct cli_conn *cn);
/* Node index i, authenticated. */
MOMEDO_WUR int cli_connect_node(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                size_t i);
void cli_conn_close(struct cli_conn *cn);
/* The node's reason for the last failure as "cli_fail" text. */
MOMEDO_WUR int cli_api_fail(struct cli *c, struct cli_conn *cn, int rc, const char *what);

/* ---- contacts and bundles ------------------------------------------------------- */
/* Look up a bundle by user ID / alias / key; on success the identity key in key. */
MOMEDO_WUR int cli_lookup(struct cli *c, struct cli_conn *cn, const struct nodeapi_lookup_q *q,
                          uint8_t key[static 32], struct nodeapi_bundle *out);
/* Where a lookup of ct asks first: fingerprint prefixes of its cached bundle's home
 * nodes, else the hints of the card it was added by. Returns how many. */
size_t cli__contact_hints(const struct contact *ct,
                          uint8_t hints[static NODEAPI_HINTS_MAX][IDS_CARD_HINT_LEN]);
/* Fetch the contact's newest bundle (asking its home nodes first) and cache its devices
 * and home nodes. */
MOMEDO_WUR int cli_refresh_contact(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                   struct contact *ct);
/* Resolve TO (name, user ID or alias among contacts) or fail with a clear message;
 * refuses a contact with a pending key change (E_KEYCHANGED). */
MOMEDO_WUR int cli_contact_for(struct cli *c, struct cli_state *st, const char *to,
                               struct contact **out);
/* `contact add` without its output: pin the key REF names (user ID, alias looked up
 * at the home node, or a QR card) under name (may be NULL), fetch its bundle when a
 * node is reachable, save. *out the contact; *alias (may be NULL) the alias it was
 * found by, or NULL. E_KEYCHANGED (a different key for a known contact: pending until
 * verified), E_EXISTS (the name is another contact's), E_INVAL, lookup errors. */
MOMEDO_WUR int cli_contact_add(struct cli *c, struct cli_state *st, const char *ref,
                               const char *name, struct contact **out, const char **alias);
/* Publish our bundle (after a change) at cn. */
MOMEDO_WUR int cli_publish(struct cli *c, struct cli_state *st, struct cli_conn *cn);

/* ---- destinations (cli_dests.c) -------------------------------------------------- */
/* The nodes that must hold a post (PostReq.dest_nodes); n = 0 is global scope. */
struct cli_dests {
  size_t n;
  uint8_t k[NODEAPI_DESTS_MAX][32];
};
void cli__dests_clear(struct cli_dests *d);
/* Add a node key (duplicates and the all-zero key ignored); E_BOUNDS when full. */
MOMEDO_WUR int cli__dests_add(struct cli_dests *d, const uint8_t key[static 32]);
/* Add our own home nodes (account_homes). */
void cli__dests_self(const struct cli_state *st, struct cli_dests *d);
/* Add ct's home nodes from its cached bundle; E_NOTFOUND when none is cached. */
MOMEDO_WUR int cli__dests_contact(const struct contact *ct, struct cli_dests *d);
/* A group post's: our home nodes and every member's; global scope (n = 0) when a
 * member's home nodes are unknown here; E_BOUNDS (with c->why) past NODEAPI_DESTS_MAX. */
struct cli_group;
MOMEDO_WUR int cli__dests_group(struct cli *c, struct cli_state *st, struct cli_group *cg,
                                struct cli_dests *d);

/* ---- messages ------------------------------------------------------------------- */
/* Fill id, sent_ms, sender_device, format of content, encrypt it for every device of
 * ct (and a sync copy for each of our other devices unless no_sync) and post. *n_sent
 * = envelopes posted. */
MOMEDO_WUR int cli_send_content(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                struct contact *ct, Momedo__Content *content, int no_sync,
                                size_t *n_sent);
/* Fill a new message ID (kept in mid), format, sent_ms and this device as the sender of
 * m, no sync copy. E_RNG. */
MOMEDO_WUR int cli__content_head(const struct cli_state *st, Momedo__Content *m,
                                 uint8_t mid[static CONTENT_ID_LEN]);
/* The same as cli_send_content for this user's other devices only (no sync copy): a device whose prekey is
 * unusable is skipped with a note on stderr; E_NOTFOUND when none could be reached. */
MOMEDO_WUR int cli_send_own(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                            Momedo__Content *content, size_t *n_sent);
/* The same in two steps, so several messages share one save: cli__send_queue encrypts
 * (advancing the sessions) into an outbox; cli__outbox_post saves the whole state, then
 * posts every envelope (nothing is posted unsaved: issue 11, finding 6). */
struct cli_out {
  uint8_t mb[OBJ_MAILBOX_LEN];
  uint8_t device_key[32]; /* the recipient device the mailbox belongs to */
  struct cli_dests dests;  /* the nodes that must hold it */
  uint8_t *env;
  size_t len;
  int tag;                 /* the caller's mark (the bot: the input line it came from) */
};
struct cli_outbox {
  struct cli_out *v;
  size_t n, cap;
};
MOMEDO_WUR int cli__send_queue(struct cli *c, struct cli_state *st, struct contact *ct,
                               Momedo__Content *content, int no_sync, struct cli_outbox *ob);
MOMEDO_WUR int cli__outbox_post(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                struct cli_outbox *ob, size_t *n_sent);
/* The bot's batch (c->defer): save once, tell the node the count, then post every
 * envelope pipelined (at most CLI_POST_WINDOW in flight; the node syncs them as one
 * group). failed[tag] = the first refusal of an envelope with that tag (tags 0..n_tags-1).
 * Returns the save's or the count's failure (then nothing was posted), else 0; a link
 * that fails part-way sets *link_rc and marks every envelope not answered as failed. */
#define CLI_POST_WINDOW 64
MOMEDO_WUR int cli__outbox_post_batch(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                      struct cli_outbox *ob, int *failed, int n_tags,
                                      int *link_rc);
void cli__outbox_free(struct cli_outbox *ob);
/* Encrypt and upload a file as chunks to its blob mailbox; fills f (caller frees
 * nothing: f borrows blob buffers it owns). */
struct cli_blob {
  uint8_t id[OBJ_ID_LEN], key[CONTENT_KEY_LEN], sha[CRYPTO_HASH_LEN];
  uint64_t size;
  uint32_t count, chunk_bytes;
};
MOMEDO_WUR int cli_upload_file(struct cli *c, struct cli_conn *cn, const uint8_t *data,
                               size_t len, const struct cli_dests *d, struct cli_blob *b);
/* Put an outgoing message into the contact's timeline. */
MOMEDO_WUR int cli_store_outgoing(struct cli *c, struct cli_state *st, struct contact *ct,
                                  const Momedo__Content *content, const char *path);

/* One received message, for printing. */
struct cli_msg {
  struct tl_entry e;                        /* as stored (strings borrowed from the entry) */
  char from_uid[IDS_USER_ID_STR_MAX];
  char from_label[CONTACT_NAME_MAX + IDS_USER_ID_STR_MAX];
  char peer_uid[IDS_USER_ID_STR_MAX];       /* sync copies: the conversation peer */
  int sync_copy;
  int receipt;                              /* 1 delivered, 2 read: ids in receipt_ids */
  size_t n_receipt_ids;
  uint8_t receipt_ids[CLI_RECEIPTS_MAX][TL_ID_LEN];
  int task_action;                          /* task replies */
  char saved[HOME_PATH_MAX];                /* attachment copied out, "" if not */
  int group_kind;                           /* 0 pairwise, 1 group, 2 passphrase channel */
  char group[CLI_LABEL_MAX];                /* group name, or "channel:NAME" */
  char group_id[2 * GROUP_ID_LEN + 1];      /* hex (groups) */
  char sender[CLI_LABEL_MAX];               /* group: user ID; channel: display name */
};

/* Process one fetched item: dedup, decrypt, verify, store. *shown = 1 when m holds a
 * new message to print; 0 for duplicates. Returns 0 also for items we must drop (bad
 * or replayed), after telling stderr: only I/O errors stop a sync. */
MOMEDO_WUR int cli_receive(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                           const uint8_t *ct, size_t len, struct cli_msg *m, int *shown);
/* Print a message (human or JSON line). */
void cli_print_msg(struct cli *c, const struct cli_msg *m);
/* Fetch from every known node, process, acknowledge, send receipts. *n_new counts new
 * messages. */
MOMEDO_WUR int cli_sync_all(struct cli *c, struct cli_state *st, size_t *n_new);
/* Catch up on cn's node from its cursor (sync of one node). */
MOMEDO_WUR int cli_sync_conn(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                             size_t *n_new);
/* Handle one pushed event under the home's lock (reloads state, saves, releases). */
MOMEDO_WUR int cli_handle_event(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                const struct nodeapi_event *ev, size_t *n_new);
/* Fetch our mailbox and every group and channel mailbox on cn's node from their
 * cursors, under the home's lock (listen and bot: what live events did not bring). */
MOMEDO_WUR int cli_catch_up(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                            size_t *n_new);
/* listen and bot call this after each wait for an event: it catches up when the event
 * queue overflowed since the last call (nodeapi's events_dropped grew) or, when idle,
 * every CLI_CATCH_UP_MS. */
#define CLI_CATCH_UP_MS 30000
struct cli_watch {
  uint64_t dropped;                         /* events_dropped at the last catch-up */
  uint64_t last_ms;
};
MOMEDO_WUR int cli_watch_check(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                               struct cli_watch *w, int idle, size_t *n_new);
/* Send delivery receipts gathered by cli_receive (cleared afterwards). */
MOMEDO_WUR int cli_flush_receipts(struct cli *c, struct cli_state *st, struct cli_conn *cn);

/* Deliver m to contact `to` over cn: refresh their bundle (cached devices if the node
 * cannot answer), upload file (if m is a File: fills blob fields, keeps a sealed copy),
 * encrypt and post per device, store in the timeline. id (16 bytes) gets the message ID. */
MOMEDO_WUR int cli_deliver(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                           const char *to, Momedo__Content *m, const uint8_t *file,
                           size_t file_len, uint8_t id[static TL_ID_LEN], size_t *n_env);
/* Read a file to send (at most CONTENT_FILE_BYTES_DEFAULT_MAX) and fill f's name, mime,
 * size. *data is malloc'ed. */
MOMEDO_WUR int cli_read_attachment(struct cli *c, const char *path, const char *mime,
                                   Momedo__File *f, uint8_t **data, size_t *len);

/* ---- groups (cli_group.c, control messages: cli_group_control.c) ------------------ */
/* Vault storage (cli_state.c): the index file CLI_GROUPS_FILE (groups, devices owed
 * the current record, pending control messages) and one sealed state per group. */
MOMEDO_WUR int cli_groups_load(struct cli_groups *gs, const struct vault *v);
MOMEDO_WUR int cli_groups_save(struct cli_groups *gs, const struct vault *v);
void cli_groups_free(struct cli_groups *gs);
void cli__gpending_clear(struct cli_gpending *p);
/* The group a reference names: its name, or a prefix (>= 6 hex digits) of its ID.
 * NULL when none; *ambiguous = 1 when several match. */
struct cli_group *cli_group_lookup(struct cli_state *st, const char *ref, int *ambiguous);
/* The same, failing with a clear message. */
MOMEDO_WUR int cli_group_find(struct cli *c, struct cli_state *st, const char *ref,
                              struct cli_group **out);
struct cli_group *cli_group_by_mailbox(struct cli_state *st, const uint8_t mb[static 32]);
/* Display name of a group ("(unnamed)" if empty); a static buffer. */
const char *cli_group_name(const struct cli_group *cg);
/* A pairwise GroupControl from (from_id, from_dev): join, apply or keep for later;
 * prints notices. Returns only I/O and memory errors. */
MOMEDO_WUR int cli_group_control(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                 const uint8_t from_id[static 32],
                                 const uint8_t from_dev[static 32],
                                 const Momedo__GroupControl *gc);
/* `group create` without its output: a new group (channel: an announcement channel,
 * only admins post) named name of this user (admin) and the members refs name
 * (contacts, user IDs or aliases; unknown ones looked up and pinned); the records and
 * keys are delivered (what cannot be, at the next send or sync) and the state saved.
 * Needs the identity key (the first device). *out (may be NULL) the group. */
MOMEDO_WUR int cli_group_create(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                const char *name, const char *const *refs, size_t n_refs,
                                int channel, struct cli_group **out);
/* `group add` without its output: the same for new members of cg (an admin only). */
MOMEDO_WUR int cli_group_add(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                             struct cli_group *cg, const char *const *refs, size_t n_refs);
/* Take ownership of g as a new group (E_QUOTA past CLI_GROUPS_MAX, E_NOMEM). */
MOMEDO_WUR int cli__group_add(struct cli_groups *gs, struct group *g, struct cli_group **out);
struct cli_group *cli__group_by_id(struct cli_state *st, const uint8_t id[static 32]);
/* What one delivery sent: records and sender keys, counted per device. */
struct cli_group_sent {
  size_t records, keys;
};
/* Owe cg's records to every device of its head except this one, after a change this
 * device made on top of version `before` (the head it had): devices that were in that
 * head get the records after version `from`, the others the whole chain (E_NOMEM).
 * prev lists the devices of the head before (n_prev of them). */
MOMEDO_WUR int cli__group_owe(struct cli_state *st, struct cli_group *cg,
                              const struct cli_gdev *prev, size_t n_prev, uint64_t from);
/* Send the encoded Content pt to devices t[0..nt) over the pairwise sessions; *sent
 * counts those that took it. Returns only I/O and memory errors. */
MOMEDO_WUR int cli__group_send_to(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                  const uint8_t *pt, size_t len, const struct group_device *t,
                                  size_t nt, size_t *sent);
/* The devices of cg's head (malloc'ed into *out, caller frees). */
MOMEDO_WUR int cli__group_devices(const struct cli_group *cg, struct cli_gdev **out, size_t *n);
/* Deliver what cg owes: the record to the devices owed it, then sender keys; counts
 * into fs. c->why says what failed. */
MOMEDO_WUR int cli__group_flush(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                struct cli_group *cg, struct cli_group_sent *fs);
/* Deliver what every group owes over the pairwise sessions: the current record to the
 * devices that need it, then this device's sender key to the devices without it. */
MOMEDO_WUR int cli_groups_flush(struct cli *c, struct cli_state *st, struct cli_conn *cn);
/* Encrypt m once and post it to the group's mailbox (files: chunks first); stores it
 * in the group's timeline. id gets the message ID. */
MOMEDO_WUR int cli_group_send(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                              struct cli_group *cg, Momedo__Content *m, const uint8_t *file,
                              size_t file_len, uint8_t id[static TL_ID_LEN]);
/* Process one item fetched from a group mailbox: *shown = 1 when m holds a new
 * message; *hold = 1 when its sender key has not arrived yet (keep the item, not the
 * read cursor). Only I/O and memory errors are returned (cli_recv.c). */
MOMEDO_WUR int cli_group_receive(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                 struct cli_group *cg, const uint8_t mb[static 32],
                                 const uint8_t *wire, size_t len, uint64_t created_ms,
                                 struct cli_msg *m, int *shown, int *hold);
/* Keep a group item whose sender key has not arrived (cli_group_held.c; E_NOMEM). */
MOMEDO_WUR int cli__group_hold(struct cli_state *st, const uint8_t gid[static 32],
                               const uint8_t mb[static 32], uint64_t created_ms,
                               const uint8_t *wire, size_t len);
/* Try the kept items again (a sender key may have come); show what opens now, drop
 * what is refused for good or too old. */
MOMEDO_WUR int cli__group_held_retry(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                     size_t *n_new);
/* Fetch every group and channel mailbox on cn's node from its cursors (cli_sync.c). */
MOMEDO_WUR int cli_sync_groups(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                               size_t *n_new);
/* Mailboxes to subscribe to: ours, then every group epoch kept, then channels. */
size_t cli_live_mailboxes(struct cli_state *st, uint8_t (*out)[OBJ_MAILBOX_LEN], size_t cap);
/* What one connection is subscribed to; cli_subscribe_live adds what is missing (a new
 * group or epoch), up to NODEAPI_SUBSCRIBE_MAX. */
struct cli_subs {
  uint8_t mb[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN];
  size_t n;
};
MOMEDO_WUR int cli_subscribe_live(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                  struct cli_subs *subs);
/* listen's start on a node (and `momedo app`'s): under the home's lock, connect (cn, the
 * home or a partner), subscribe, catch up on our mailbox and every group and channel,
 * deliver what groups owe; released again. cn stays open for the events (close it
 * also after a failure). */
MOMEDO_WUR int cli_listen_begin(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                struct cli_subs *subs, size_t *n_new);
/* After an event (lock released): when a new group or epoch appeared, lock, subscribe
 * to it and catch up on it, unlock. */
MOMEDO_WUR int cli_listen_update(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                 struct cli_subs *subs, size_t *n_new);

/* ---- passphrase channels (cli_channel.c) ----------------------------------------- */
MOMEDO_WUR int cli_channels_load(struct cli_groups *gs, const struct vault *v);
MOMEDO_WUR int cli_channels_save(struct cli_groups *gs, const struct vault *v);
void cli_channels_free(struct cli_groups *gs);
/* By name (exact bytes); NULL when not joined. */
struct cli_channel *cli_channel_find(struct cli_state *st, const char *name);
struct cli_channel *cli_channel_by_mailbox(struct cli_state *st, const uint8_t mb[static 32]);
/* Seal m (text or location) and post it to the channel's mailbox; stores it. */
MOMEDO_WUR int cli_channel_send(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                struct cli_channel *ch, const Momedo__Content *m,
                                uint8_t id[static TL_ID_LEN]);
/* Process one fetched channel item (cli_recv.c). */
MOMEDO_WUR int cli_channel_receive(struct cli *c, struct cli_state *st, struct cli_channel *ch,
                                   const uint8_t *wire, size_t len, struct cli_msg *m,
                                   int *shown);
/* Read cursor of a channel on a node (0 when none) / set it. */
uint64_t cli_channel_cursor(const struct cli_channel *ch, const uint8_t node[static 32]);
void cli_channel_set_cursor(struct cli_channel *ch, const uint8_t node[static 32], uint64_t cur);

/* Send to TO: "channel:NAME", a group (name or ID prefix) or a contact (cli_send.c).
 * *kind = 0 contact, 1 group, 2 channel; *n_env envelopes or items posted. */
MOMEDO_WUR int cli_send_any(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                            const char *to, Momedo__Content *m, const uint8_t *file,
                            size_t file_len, uint8_t id[static TL_ID_LEN], size_t *n_env,
                            int *kind);
/* Download a blob's chunks from mailbox into buf (f->size bytes) (cli_recv.c). */
MOMEDO_WUR int cli__fetch_chunks(struct cli *c, struct cli_conn *cn, const uint8_t mb[static 32],
                                 const Momedo__File *f, uint8_t *buf);

/* "LAT,LON[,ACCURACY_M]" (latitude -90..90, longitude -180..180) into l (cli_send.c). */
MOMEDO_WUR int cli__parse_location(struct cli *c, const char *s, Momedo__Location *l);
/* "YYYY-MM-DD" (end of that day, local time) or "YYYY-MM-DDTHH:MM" to ms. */
MOMEDO_WUR int cli__parse_due(struct cli *c, const char *s, uint64_t *ms);

/* One-time prekeys (cli_otpk.c). Refill: when cn is the home node and holds fewer than
 * OTPKS_NODE_LOW, make and save new secrets, then upload; c->why on failure. Claim: fill
 * r's one-time prekey through st->claim, from d's home node (the node connected to, or
 * through it from another node over the federation); on any failure r keeps the signed
 * prekey alone, and why is noted on stderr and counted in c->otpk_fallback. */
struct cli_conn;
MOMEDO_WUR int cli__otpk_refill(struct cli *c, struct cli_state *st, struct cli_conn *cn);
/* Signed prekeys (cli_device_prekey.c). When cn is the home node: replace the signed
 * prekey once it is ACCOUNT_PREKEY_ROTATE_MS old (MOMEDO_TEST_PREKEY_ROTATE_MS may make
 * that shorter, for tests); without this, senders refuse it ACCOUNT_PREKEY_LIFETIME_MS
 * after it was made. The first device saves it and publishes the bundle (also when a
 * linked device's new prekey is due, account.bundle_due); a linked device saves it and
 * announces it to the user's other devices, again daily until the bundle lists it. */
#define CLI_PREKEY_ROTATE_ENV "MOMEDO_TEST_PREKEY_ROTATE_MS"
MOMEDO_WUR int cli__prekey_rotate(struct cli *c, struct cli_state *st, struct cli_conn *cn);
/* A DevicePrekey content from device `device` of identity `from`: the first device
 * takes it into its device list (account_take_prekey) for the next publish; refused
 * ones are reported on stderr and dropped. Other devices ignore it. Errors only for I/O. */
MOMEDO_WUR int cli__prekey_take(struct cli *c, struct cli_state *st, const uint8_t from[static 32],
                                const uint8_t device[static 32], const Momedo__Content *m);
/* cli_grant.c: take the partners home named (RegisterResp / PartnersResp) into the
 * account with each grant that verifies (*changed: a grant is new or lasts longer). */
MOMEDO_WUR int cli__learn_partners(struct cli_state *st, const uint8_t home[static 32],
                                   Momedo__NodeAddr *const *v, size_t n, int *changed);
/* When due (account_grants_due) and cn is the home node: renew the partner grants there,
 * republish the bundle if one changed, save. Errors are the caller's to note. */
MOMEDO_WUR int cli__grants_renew(struct cli *c, struct cli_state *st, struct cli_conn *cn);
void cli__otpk_claim(struct cli *c, struct cli_state *st, const struct account_device *d,
                     struct e2e_remote *r);

/* Anti-rollback (cli_counter.c): tell cn's node the save count; E_SUPERSEDED with the
 * ROLLBACK reason when it saw a higher one. */
MOMEDO_WUR int cli__counter_sync(struct cli *c, struct cli_state *st, struct cli_conn *cn);

/* Append e to s (growing it; s owns e afterwards only on success). MOMEDO_E_NOMEM.
 * cli_state.c; cli__session_add also trims the peer device's older sessions. */
MOMEDO_WUR int cli__sessions_push(struct cli_sessions *s, struct e2e_session *e);
/* Internal to cli_msg.c / cli_recv.c. */
MOMEDO_WUR int cli__session_add(struct cli_sessions *s, struct e2e_session *e);
void cli__session_touch(struct cli_sessions *s, size_t i);
MOMEDO_WUR int cli__blob_mailbox(uint8_t mb[static OBJ_MAILBOX_LEN],
                                 const uint8_t blob_id[static OBJ_ID_LEN]);
/* Timeline entry (strings borrowed from m) for content m in a conversation. */
void cli__entry_of(const Momedo__Content *m, int outgoing, struct tl_entry *e);
void cli__format_time(char out[static 32], uint64_t ms);
/* History (cli_msg.c): entries go into one open transaction of history.db, begun by
 * the first change and committed by cli__hist_commit or cli_save (which commits before
 * it writes anything else, so the history is on disk before the sessions and the seen
 * set move past a message, and before anything is acknowledged). cli_release,
 * cli_reacquire and cli_close roll an open one back, with the unsaved state. */
MOMEDO_WUR int cli__hist_commit(struct cli *c, struct cli_state *st);
/* Begin that transaction unless one is open (E_INTERNAL without a history). */
MOMEDO_WUR int cli__hist_tx(struct cli_state *st);
/* Add e to the conversation (kind, key) (*added = 0 for a duplicate ID); a task reply
 * also moves its task. */
MOMEDO_WUR int cli__timeline_put(struct cli *c, struct cli_state *st, enum hist_conv_kind kind,
                                 const uint8_t key[static 32], struct tl_entry *e, int *added);
/* *has = 1 when the conversation (kind, key) holds message id. */
MOMEDO_WUR int cli__timeline_has(struct cli *c, struct cli_state *st, enum hist_conv_kind kind,
                                 const uint8_t key[static 32], const uint8_t id[static TL_ID_LEN],
                                 int *has);
/* This user's devices in every group follow the key bundle (cli_group_devices.c): on
 * the first device, where this user is an admin a new record, elsewhere (when ask) a
 * DEVICES request to the admins. *changed counts the groups. Only I/O and memory
 * failures are returned; a group that refuses is noted on stderr. */
MOMEDO_WUR int cli_groups_own_devices(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                                      int ask, size_t *changed);
/* Approvals (cli_approve.c). cli__decide applies the decision in reply e (its from,
 * decision, note set) to its task in conversation hc: 0 applied (the task row updated
 * unless dry), E_EXISTS the same decision again (ignore quietly), E_DENIED refused (an
 * unknown task, not an approval task, a decider the task was not sent to, a decision
 * conflicting with that decider's earlier one: why says which, unless dry it is on
 * stderr), E_STORE & co. */
MOMEDO_WUR int cli__decide(struct cli_state *st, enum hist_conv_kind kind,
                           const struct hist_conv *hc, const struct tl_entry *e, int dry,
                           char *why, size_t why_cap);
/* Approve or decline (comment may be NULL) the task whose ID starts with hex, in an
 * open state: checked as cli__decide would, sent to the contact or the group, stored,
 * saved. *ct is the contact (NULL for a group). */
MOMEDO_WUR int cli_task_decision(struct cli *c, struct cli_state *st, const char *hex,
                                 int approve, const char *comment,
                                 uint8_t task_id[static TL_ID_LEN],
                                 uint8_t reply_id[static TL_ID_LEN], struct contact **ct);
/* `task approve|decline MSGID [--comment TEXT]` (a contact's or a group's task). */
MOMEDO_WUR int cli__task_decide(struct cli *c);
/* A message by ID prefix in any conversation with a contact (*ct) or, with_groups, a
 * group or channel too (*ct NULL). tl_entry_clear(&f->e). */
MOMEDO_WUR int cli__find_any(struct cli *c, struct cli_state *st, const char *hex,
                             struct contact **ct, int with_groups, struct hist_found *f);
/* What history/sync/listen add for a file's place and caption, an approval task's
 * decisions and a reply's decision: JSON fields into the object open in j, or words
 * after the human line's body (cli_approve.c). */
struct jsonw;
void cli__json_extras(struct jsonw *j, const struct tl_entry *e);
void cli__print_extras(FILE *f, const struct tl_entry *e);
/* "location": {lat, lon, accuracy (null: unknown)} of a location or a file's place. */
void cli__json_location(struct jsonw *j, const struct tl_entry *e);
/* --text (caption) and --location of `send --file` into f (l holds the location). */
MOMEDO_WUR int cli__file_extras(struct cli *c, Momedo__File *f, Momedo__Location *l);
#define CLI_HISTORY_DEFAULT 50              /* `history` shows the newest this many */

/* ---- commands ------------------------------------------------------------------- */
typedef int (*cli_cmd_fn)(struct cli *c);
int cli_cmd_init(struct cli *c);
int cli_cmd_join(struct cli *c);
int cli_cmd_id(struct cli *c);
int cli_cmd_contact(struct cli *c);
int cli_cmd_contacts(struct cli *c);
int cli_cmd_send(struct cli *c);
int cli_cmd_task(struct cli *c);
int cli_cmd_sync(struct cli *c);
int cli_cmd_listen(struct cli *c);
int cli_cmd_history(struct cli *c);
int cli_cmd_save(struct cli *c);
int cli_cmd_device(struct cli *c);
/* cli_device_list.c: `device list`, `device remove DEVICE` on an open home. */
MOMEDO_WUR int cli__device_list(struct cli *c, struct cli_state *st);
MOMEDO_WUR int cli__device_remove(struct cli *c, struct cli_state *st, const char *ref);
/* The same without its output: remove the device whose key starts with the hex digits
 * ref (8 or more) for good, publish the bundle, drop it from every group
 * (cli_groups_own_devices), save; key gets its full key, *groups (may be NULL) how many
 * groups were changed or asked. */
MOMEDO_WUR int cli_device_remove(struct cli *c, struct cli_state *st, const char *ref,
                                 uint8_t key[static 32], size_t *groups);
/* `device join` from a decoded code on, for a front-end: waiting (may be NULL: printed)
 * gets the six-digit safety code to compare while the first device is asked; stop is
 * asked about once a second and ends the wait (E_CLOSED). */
struct cli_link_ui {
  void (*waiting)(void *arg, const char *safety);
  int (*stop)(void *arg);
  void *arg;
};
struct link_code;
/* A link code with the command line's words for its errors (a typo, a foreign code,
 * another version, expired). */
MOMEDO_WUR int cli_link_code_decode(struct cli *c, struct link_code *l, const char *line);
/* Make the vault under pass (cli_init_vault), ask the first device through the code's
 * link mailbox and wait for its answer, adopt the state and save; on failure the
 * files made are removed again. ui may be NULL (the command line). */
MOMEDO_WUR int cli_device_join_run(struct cli *c, struct cli_state *st,
                                   const struct link_code *l, const char *pass, size_t pl,
                                   unsigned log2n, const struct cli_link_ui *ui);
/* Requests the first device reads from a link mailbox at once (a node keeps at most
 * 16 items per link). */
#define CLI_LINK_SCAN_MAX 16
int cli_cmd_bot(struct cli *c);
int cli_cmd_group(struct cli *c);
int cli_cmd_groups(struct cli *c);
int cli_cmd_channel(struct cli *c);
int cli_cmd_archive(struct cli *c);
/* cli_archive.c: append a new message of group cg (from sender) to c->archive when the
 * group is recorded and it was sent after the mark; att_vname: its attachment in the
 * vault, or NULL. Synced to disk before it returns. */
MOMEDO_WUR int cli__archive_take(struct cli *c, struct cli_state *st, struct cli_group *cg,
                                 const Momedo__Content *m, const uint8_t sender[static 32],
                                 const char *att_vname);
/* On stderr, before posting to a recorded group: recorded since when, by whom. */
void cli__recorded_notice(struct cli_state *st, const struct cli_group *cg);
int cli_cmd_recover(struct cli *c);
int cli_cmd_passphrase(struct cli *c);
int cli_cmd_quiet(struct cli *c);
int cli_cmd_app(struct cli *c);                /* cli_app.c: the messenger window */

/* QR code (cli_qr.c, libqrencode): byte mode, level M (L if M does not fit), versions
 * 1..10. */
#define QR_VERSION_MAX 10
#define QR_SIZE_MAX (17 + 4 * QR_VERSION_MAX)
struct cli_qr {
  int version, size, ecl_m;                  /* ecl_m: 1 level M, 0 level L */
  uint8_t dark[QR_SIZE_MAX][QR_SIZE_MAX];    /* [y][x], 1 = dark */
};
/* Encode len bytes. E_TOOBIG when even 10-L cannot hold them. */
MOMEDO_WUR int cli_qr_encode(struct cli_qr *q, const uint8_t *data, size_t len);
/* Print text as a QR code with half blocks (light modules drawn, for dark terminals),
 * with a light border of 2 modules. */
MOMEDO_WUR int cli_qr_print(FILE *f, const char *text);

#endif
