/* client/core/engine.h — the message engine (issue 13 part 1): a home's state as a whole
 * (open with a passphrase the front-end got, save, close), connections to the home node
 * with fallback to its partners, sending to a contact, a group or a passphrase channel,
 * sync/receive/decrypt, groups and channels, one-time and signed prekeys, approvals. It
 * prints nothing: each received message, receipt, group change, link change and notice
 * reaches the front-end as an event through eng.on_event; a failure is a MOMEDO_E_*
 * status and a sentence in eng.why. What only the engine's own files call (eng__*) is
 * in engine_int.h, which no front-end includes (scripts/check_layers.sh). */
#ifndef MOMEDO_CLIENT_ENGINE_H
#define MOMEDO_CLIENT_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"
#include "account.h"
#include "archive.h"
#include "channel.h"
#include "contacts.h"
#include "content.h"
#include "group_view.h"
#include "history.h"
#include "home.h"
#include "timeline.h"
#include "os.h"

#define ENG_WHY_MAX 768
#define ENG_NOTE_MAX 2048                   /* longest notice text (event ENG_EV_NOTE) */
/* The vault's passphrase and its key derivation (vault.h's values; engine_view.c checks
 * they agree): longest passphrase, shortest new one, scrypt's cost log2(N) by default
 * and its bounds, r, p. */
#define ENG_PASS_MAX 1024
#define ENG_PASS_NEW_MIN 8
#define ENG_SCRYPT_LOG2N 15
#define ENG_SCRYPT_LOG2N_MIN 10
#define ENG_SCRYPT_LOG2N_MAX 20
#define ENG_SCRYPT_R 8
#define ENG_SCRYPT_P 1
/* A session's key agreement (x3dh.h's E2E_SUITE_*). */
#define ENG_SUITE_X25519 1
#define ENG_SUITE_X25519_MLKEM768 2

/* ---- the engine's context and its events ----------------------------------------- */
struct eng;
struct eng_msg;
enum eng_event_kind {
  ENG_EV_NOTE = 1,    /* text: a notice for people ("momedo: note: ...\n", one or more lines) */
  ENG_EV_LINK = 2,    /* text: the link changed (home node unreachable, a partner is used) */
  ENG_EV_MESSAGE = 3, /* msg: a received message, or a delivery/read receipt (msg->receipt) */
  ENG_EV_GROUP = 4    /* group_*: a group change (joined, changed, removed, refused) */
};
struct eng_event {
  enum eng_event_kind kind;
  const char *text;                         /* NOTE, LINK: the whole text, newline included */
  const struct eng_msg *msg;                /* MESSAGE: valid during the callback only */
  const char *group_event;                  /* GROUP: "joined" "changed" "removed" "refused" */
  const char *group_name;                   /* GROUP: display name ("?" when unknown) */
  const char *group_id_hex;                 /* GROUP: the group ID in hex */
  const char *group_by;                     /* GROUP: user ID of who did it, or NULL */
  const char *group_detail;                 /* GROUP: more words, or NULL */
};
/* Called for every event, in order, from inside the engine call that caused it; it
 * must not call the engine again. NULL: events are dropped. */
typedef void (*eng_event_fn)(struct eng *e, const struct eng_event *ev);

struct eng_outbox;
struct archive_log;
/* What a front-end sets before its first call (zero the rest): home_arg, timeout_ms,
 * on_event (and on_event_arg); save_dir when received attachments are to be copied out. */
struct eng {
  char why[ENG_WHY_MAX];                    /* the last failure, one sentence */
  int timeout_ms;                           /* per node request */
  const char *home_arg;                     /* the home directory, NULL: $MOMEDO_HOME / ~ */
  const char *save_dir;                     /* copy received attachments out here, or NULL */
  eng_event_fn on_event;
  void *on_event_arg;
  /* Working hours: the latest instant from which the recipient's node pushes what the
   * last eng__outbox_post posted to a contact's devices (0: now), and the recipient
   * zone's UTC offset then (minutes). */
  uint64_t deliver_from_ms;
  int32_t deliver_off_min;
  /* New sessions started with a one-time prekey, and without one (signed prekey alone). */
  uint32_t otpk_used, otpk_fallback;
  /* `archive run`: the log new messages of recorded groups go to, and how many went. */
  struct archive_log *archive;
  uint64_t archived;
  /* The bot: while set, eng__outbox_post moves what it would post into this outbox
   * (each envelope tagged defer_tag) and posts nothing; the caller then saves once and
   * posts the whole batch with eng_outbox_post_batch. */
  struct eng_outbox *defer;
  int defer_tag;
};

/* Record why a call fails in e->why and return rc (< 0; E_INTERNAL if rc >= 0). */
int eng_fail(struct eng *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define ENG_TIMEOUT_MS_DEFAULT 15000
#define ENG_CONNECT_TIMEOUT_MS 5000         /* per node tried */
#define ENG_SESSIONS_FILE "sessions"
#define ENG_REPLAY_FILE "replay"
#define ENG_SESSIONS_MAX 4096
#define ENG_SESSIONS_PER_DEVICE 4           /* newest kept per peer device */
#define ENG_FETCH_PAGES_MAX 1000            /* pages one sync follows per node */
#define ENG_FETCH_LIMIT 200
#define ENG_ITEM_TTL_MS 0                   /* 0 = the node's default */
#define ENG_BLOB_DOMAIN "momedo/blob-mailbox/v1"
#define ENG_RECEIPTS_MAX CONTENT_RECEIPT_IDS_MAX
/* A received message's sending device must be listed in its user's newest key bundle
 * (issue 11, finding 5): the receive path looks the bundle up again when it did not in
 * the last ENG_BUNDLE_FRESH_MS (per process, for up to ENG_FRESH_MAX users). */
#define ENG_BUNDLE_FRESH_MS 60000
#define ENG_FRESH_MAX 64
/* Fault injection for crash tests: when $MOMEDO_TEST_CRASH equals where, the process
 * kills itself with SIGKILL in eng__crash_point(where) (nothing is flushed to the vault;
 * the front-end flushes its output before each event while it is set). Points:
 * "encrypted" (envelopes made, nothing saved or posted), "saved" (state saved, nothing
 * posted), "posted" (envelopes posted, the final save not done). */
#define ENG_CRASH_ENV "MOMEDO_TEST_CRASH"
/* ---- groups and passphrase channels (engine_group.c, engine_channel.c) ------------------ */
#define ENG_GROUPS_FILE "groups"
#define ENG_GROUPS_MAX 256                  /* groups one device keeps */
#define ENG_GROUP_PENDING_MAX 256           /* control messages waiting for a record */
#define ENG_GROUP_PENDING_MS (7ull * 24 * 3600 * 1000)  /* ... kept this long */
/* An item whose sender key has not arrived is kept on the device this long and tried
 * again after each control message; the read cursor moves past it at once. */
#define ENG_GROUP_KEY_WAIT_MS (7ull * 24 * 3600 * 1000)
#define ENG_GROUP_HELD_MAX 256              /* such items kept, oldest dropped first */
#define ENG_GROUP_HELD_BYTES_MAX (8u << 20)
#define ENG_GROUP_REF_HEX_MIN 6             /* digits of a group ID prefix */
#define ENG_CHANNELS_FILE "channels"
#define ENG_CHANNELS_MAX 64
#define ENG_CHANNEL_PREFIX "channel:"
#define ENG_LABEL_MAX (CHANNEL_NAME_BYTES_MAX + GROUP_NAME_BYTES_MAX + 16)

/* ---- the home's state: opaque (its definition is in engine_int.h) ---------------- */
/* A front-end holds a home's state through a pointer from eng_state_new and reads what
 * it shows through the calls below; only the engine's files see inside (the account's
 * secrets, sessions, replay sets, the vault, the groups' keys). */
struct eng_state;
struct eng_group;                           /* a group on this device */
struct eng_channel;                         /* a passphrase channel joined on this device */
/* A new state with no home yet (then eng_home, eng_open_pass or eng_init_vault). E_NOMEM.
 * The caller frees it with eng_state_free. */
MOMEDO_WUR int eng_state_new(struct eng_state **out);
/* eng_close, wipe and free; st may be NULL. */
void eng_state_free(struct eng_state *st);
/* eng_close and back to what eng_state_new made (no home directory either). */
void eng_state_reset(struct eng_state *st);

/* ---- what front-ends read and show (engine_view.c) ------------------------------ */
/* Pointers are borrowed from st: valid until the next call that changes or reloads it
 * (eng_reacquire, eng_save, a sync, eng_close). */
const char *eng_home_dir(const struct eng_state *st);   /* "" before eng_home */
/* The path of file `name` in the home directory (E_INVAL when it does not fit). */
MOMEDO_WUR int eng_home_file(const struct eng_state *st, const char *name, char *out,
                             size_t cap);
/* Take the home's lock without opening the vault (blocking; E_IO) / let it go. */
MOMEDO_WUR int eng_home_lock(struct eng_state *st);
void eng_home_unlock(struct eng_state *st);
/* Whether the home directory holds an identity (a vault). */
int eng_has_vault(const struct eng_state *st);
/* Copy attachments received from now on out into dir (borrowed; NULL: none). */
void eng_set_save_dir(struct eng_state *st, const char *dir);
const char *eng_save_dir(const struct eng_state *st);
/* This user's identity key (public, 32 bytes), this device's key, the alias ("" when
 * none); whether this device holds the identity key (the first device) and has joined
 * a node. */
const uint8_t *eng_identity_key(const struct eng_state *st);
const uint8_t *eng_device_key(const struct eng_state *st);
const char *eng_alias(const struct eng_state *st);
int eng_is_first_device(const struct eng_state *st);
int eng_joined(const struct eng_state *st);
/* The user's home nodes as the bundle lists them (account_homes); returns how many. */
size_t eng_homes(const struct eng_state *st,
                 uint8_t out[static OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN]);
/* This device's mailbox. */
MOMEDO_WUR int eng_mailbox(const struct eng_state *st, uint8_t mb[static OBJ_MAILBOX_LEN]);
/* The nodes this device knows: 0 the home node, then its partners. */
size_t eng_node_count(const struct eng_state *st);
const struct account_node *eng_node_at(const struct eng_state *st, size_t i);
/* The user's devices as the bundle lists them; those removed for good; the bundle's
 * version; this device's current signed prekey ID and whether the bundle still lists an
 * older one (account_prekey_pending). */
size_t eng_device_count(const struct eng_state *st);
const struct account_device *eng_device_at(const struct eng_state *st, size_t i);
size_t eng_removed_count(const struct eng_state *st);
uint64_t eng_bundle_version(const struct eng_state *st);
uint32_t eng_prekey_id(const struct eng_state *st);
int eng_prekey_pending(const struct eng_state *st);
/* The vault's save count (counter.h). */
uint64_t eng_save_count(const struct eng_state *st);
/* Contacts: by index (i < eng_contact_count), by identity key, by name, or by any
 * reference a command takes (contacts_resolve: name, user ID or alias); NULL when none. */
size_t eng_contact_count(const struct eng_state *st);
const struct contact *eng_contact_at(const struct eng_state *st, size_t i);
struct contact *eng_contact_by_key(struct eng_state *st, const uint8_t key[static 32]);
struct contact *eng_contact_by_name(struct eng_state *st, const char *name);
struct contact *eng_contact_resolve(struct eng_state *st, const char *ref);
/* The key agreement suite of the newest session with device (0: none yet). */
int eng_session_suite(const struct eng_state *st, const uint8_t device[static 32]);
/* Groups (i < eng_group_count) and what a group shows: its info, ID, members. */
size_t eng_group_count(const struct eng_state *st);
struct eng_group *eng_group_at(struct eng_state *st, size_t i);
void eng_group_info(const struct eng_group *cg, struct group_info *gi);
const uint8_t *eng_group_id(const struct eng_group *cg);   /* GROUP_ID_LEN bytes */
size_t eng_group_member_count(const struct eng_group *cg);
MOMEDO_WUR int eng_group_member_at(const struct eng_group *cg, size_t i,
                                   struct group_member_view *mv);
/* Passphrase channels (i < eng_channel_count): name, the display name this user posts
 * as, the mailbox (OBJ_MAILBOX_LEN bytes: also its conversation key in the history). */
size_t eng_channel_count(const struct eng_state *st);
struct eng_channel *eng_channel_at(struct eng_state *st, size_t i);
const char *eng_channel_name(const struct eng_channel *ch);
const char *eng_channel_display(const struct eng_channel *ch);
const uint8_t *eng_channel_mailbox(const struct eng_channel *ch);
/* The history (history.h): a conversation's handle, a page of its entries (newest
 * first, before row `before`, 0: the newest), one entry by ID, the front-end's own
 * numbers by key (E_NOTFOUND when unset). */
MOMEDO_WUR int eng_hist_conv(struct eng_state *st, enum hist_conv_kind kind,
                             const uint8_t key[static TL_KEY_LEN], struct hist_conv *out);
MOMEDO_WUR int eng_hist_page(struct eng_state *st, const struct hist_conv *hc, int64_t before,
                             size_t n, struct tl_entry *out, int64_t *rows, size_t *got);
MOMEDO_WUR int eng_hist_get(struct eng_state *st, const struct hist_conv *hc,
                            const uint8_t id[static TL_ID_LEN], struct tl_entry *e);
MOMEDO_WUR int eng_hist_meta_get(struct eng_state *st, const char *key, uint64_t *v);
MOMEDO_WUR int eng_hist_meta_set(struct eng_state *st, const char *key, uint64_t v);
/* An attachment this device holds (vault name vname, from a history entry's path) into
 * a malloc'ed *data (*len bytes; the caller wipes and frees it). */
MOMEDO_WUR int eng_attachment_read(const struct eng_state *st, const char *vname,
                                   uint8_t **data, size_t *len);
/* Write len bytes to path atomically, mode 0600 (a saved attachment). */
MOMEDO_WUR int eng_file_write(const char *path, const uint8_t *data, size_t len);
/* Read a whole plain file of at most max bytes (E_TOOBIG beyond) into malloc'ed *data. */
MOMEDO_WUR int eng_file_read(const char *path, size_t max, uint8_t **data, size_t *len);
/* Whether directory dir holds an identity (a vault), without a state. */
int eng_vault_exists(const char *dir);
/* A passphrase of n bytes from s (trailing CR/LF dropped) into out (cap bytes and a NUL;
 * *len excludes it): E_INVAL (empty), E_TOOBIG. The first line of file: also E_IO /
 * E_NOTFOUND, why (may be NULL) a sentence naming the file. Where a passphrase comes
 * from (file, environment, terminal) is the front-end's choice. */
MOMEDO_WUR int eng_passphrase_set(char *out, size_t cap, size_t *len, const char *s, size_t n);
MOMEDO_WUR int eng_passphrase_file(char *out, size_t cap, size_t *len, const char *file,
                                   char *why, size_t why_cap);

/* ---- changes a front-end asks for (engine_view.c and the files named) ----------- */
/* New identity and device keys into st's account (init, the app's first run; the caller
 * saves once the vault exists). Errors from the key generation, no why. */
MOMEDO_WUR int eng_new_identity(struct eng_state *st);
/* Mark the contact with this key (pinned or pending) verified (a pending key replaces
 * the pinned one); *out the contact. E_NOTFOUND. The caller saves. */
MOMEDO_WUR int eng_contact_verify(struct eng_state *st, const uint8_t key[static 32],
                                  struct contact **out);
/* The vault's passphrase: is pass the current one (E_AUTH when not); wrap the data key
 * under a new one (only vault.key changes). No why. */
MOMEDO_WUR int eng_pass_check(const struct eng_state *st, const char *pass, size_t pl);
MOMEDO_WUR int eng_pass_change(struct eng_state *st, const char *pass, size_t pl,
                               unsigned log2n);

/* Resolve and create the home directory (no vault yet). */
MOMEDO_WUR int eng_home(struct eng *c, struct eng_state *st, int create);
/* The same with the passphrase given (pass, pl bytes): `momedo app` takes it from the
 * page. A wrong one is E_AUTH and changes nothing. */
MOMEDO_WUR int eng_open_pass(struct eng *c, struct eng_state *st, const char *pass, size_t pl,
                             int need_joined);
/* Write account, contacts, sessions, replay sets and the seen set. */
MOMEDO_WUR int eng_save(struct eng *c, struct eng_state *st);
/* A new data key for the open, locked home under the new passphrase pass (scrypt
 * 2^log2_n, 0 = default): every vault record and history row resealed, the old wrapped key
 * overwritten (vault_rotate: crash-safe; engine_rotate.c). Save first: the history's open
 * transaction is dropped. A copy of the home made before opens with the old passphrase
 * but cannot read what is written after. E_BUSY (another process has the home open:
 * nothing changed: the state is usable as before), E_INVAL; a failure after the commit
 * leaves the vault closed (the next unlock with the new passphrase finishes it). */
MOMEDO_WUR int eng_rotate_key(struct eng *c, struct eng_state *st, const char *pass, size_t pl,
                              unsigned log2_n);
/* Whether st's vault is open (after a failed eng_rotate_key: not once it committed). */
int eng_is_open(const struct eng_state *st);
/* Unlock briefly (listen drops the lock while it waits) / reload everything. */
void eng_release(struct eng_state *st);
MOMEDO_WUR int eng_reacquire(struct eng *c, struct eng_state *st);
void eng_close(struct eng_state *st);
/* ---- connections ---------------------------------------------------------------- */
/* A connection to a node (opaque: TLS, the node API, live subscriptions, a pushed event
 * waiting). A front-end makes one with eng_conn_new and frees it with eng_conn_free
 * (which closes it); eng_connect opens it, eng_conn_close closes it for reuse. */
struct eng_conn;
MOMEDO_WUR int eng_conn_new(struct eng_conn **out);
void eng_conn_free(struct eng_conn *cn);
int eng_conn_is_open(const struct eng_conn *cn);
/* The node it is open to: an index for eng_node_at. */
size_t eng_conn_node(const struct eng_conn *cn);
/* Wait up to wait_ms for an object the node pushes (listen, bot, the app's live link):
 * 0 one is kept in cn for eng_handle_event, E_TIMEOUT none came, else the link failed
 * (why: "the link to the node failed: ..."). */
MOMEDO_WUR int eng_conn_wait(struct eng *c, struct eng_conn *cn, int wait_ms);
/* This user's quiet hours at cn's node (`momedo quiet`; "" "" "" turns them off). */
MOMEDO_WUR int eng_quiet(struct eng *c, struct eng_conn *cn, const char *days,
                         const char *hours, const char *tz);
/* A thread that used connections calls this before it ends (TLS library state). */
void eng_thread_done(void);
/* TLS to host:port pinned to key, then Hello. */
MOMEDO_WUR int eng_conn_open(struct eng *c, struct eng_conn *cn, const char *host,
                             uint16_t port, const uint8_t key[static 32]);
/* The home node, else each partner in turn; authenticated. */
MOMEDO_WUR int eng_connect(struct eng *c, struct eng_state *st, struct eng_conn *cn);
/* Node index i, authenticated. */
MOMEDO_WUR int eng_connect_node(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                size_t i);
void eng_conn_close(struct eng_conn *cn);
/* The node's reason for the last failure as "cli_fail" text. */
MOMEDO_WUR int eng_api_fail(struct eng *c, struct eng_conn *cn, int rc, const char *what);

/* ---- contacts and bundles ------------------------------------------------------- */
/* Fetch the contact's newest bundle (asking its home nodes first) and cache its devices
 * and home nodes. */
MOMEDO_WUR int eng_refresh_contact(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                   struct contact *ct);
/* Resolve TO (name, user ID or alias among contacts) or fail with a clear message;
 * refuses a contact with a pending key change (E_KEYCHANGED). */
MOMEDO_WUR int eng_contact_for(struct eng *c, struct eng_state *st, const char *to,
                               struct contact **out);
/* Publish our bundle (after a change) at cn. */
MOMEDO_WUR int eng_publish(struct eng *c, struct eng_state *st, struct eng_conn *cn);

struct eng_dests;                           /* where a post must go (engine_int.h) */

/* ---- messages ------------------------------------------------------------------- */
/* Fill id, sent_ms, sender_device, format of content, encrypt it for every device of
 * ct (and a sync copy for each of our other devices unless no_sync) and post. *n_sent
 * = envelopes posted. */
MOMEDO_WUR int eng_send_content(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                struct contact *ct, Momedo__Content *content, int no_sync,
                                size_t *n_sent);
/* The same as eng_send_content for this user's other devices only (no sync copy): a device whose prekey is
 * unusable is skipped with a notice (event); E_NOTFOUND when none could be reached. */
MOMEDO_WUR int eng_send_own(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                            Momedo__Content *content, size_t *n_sent);
/* The same in two steps, so several messages share one save: eng__send_queue encrypts
 * (advancing the sessions) into an outbox; eng__outbox_post saves the whole state, then
 * posts every envelope (nothing is posted unsaved: issue 11, finding 6). */
struct eng_out;                             /* one envelope (engine_int.h) */
struct eng_outbox {
  struct eng_out *v;
  size_t n, cap;
};
/* The bot's batch (c->defer): save once, tell the node the count, then post every
 * envelope pipelined (at most ENG_POST_WINDOW in flight; the node syncs them as one
 * group). failed[tag] = the first refusal of an envelope with that tag (tags 0..n_tags-1).
 * Returns the save's or the count's failure (then nothing was posted), else 0; a link
 * that fails part-way sets *link_rc and marks every envelope not answered as failed. */
#define ENG_POST_WINDOW 64
MOMEDO_WUR int eng_outbox_post_batch(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                     struct eng_outbox *ob, int *failed, int n_tags,
                                     int *link_rc);
/* Wipe and free the envelopes an outbox holds. */
void eng_outbox_free(struct eng_outbox *ob);
/* Wipe and drop the envelopes tagged tag (the bot: their input line failed). */
void eng_outbox_drop(struct eng_outbox *ob, int tag);
/* Encrypt and upload a file as chunks to its blob mailbox; fills f (caller frees
 * nothing: f borrows blob buffers it owns). */
struct eng_blob {
  uint8_t id[OBJ_ID_LEN], key[CONTENT_KEY_LEN], sha[CRYPTO_HASH_LEN];
  uint64_t size;
  uint32_t count, chunk_bytes;
};
MOMEDO_WUR int eng_upload_file(struct eng *c, struct eng_conn *cn, const uint8_t *data,
                               size_t len, const struct eng_dests *d, struct eng_blob *b);
/* Put an outgoing message into the contact's timeline. */
MOMEDO_WUR int eng_store_outgoing(struct eng *c, struct eng_state *st, struct contact *ct,
                                  const Momedo__Content *content, const char *path);

/* One received message, as the front-end gets it (ENG_EV_MESSAGE). */
struct eng_msg {
  struct tl_entry e;                        /* as stored (strings borrowed from the entry) */
  char from_uid[IDS_USER_ID_STR_MAX];
  char from_label[CONTACT_NAME_MAX + IDS_USER_ID_STR_MAX];
  char peer_uid[IDS_USER_ID_STR_MAX];       /* sync copies: the conversation peer */
  int sync_copy;
  int receipt;                              /* 1 delivered, 2 read: ids in receipt_ids */
  size_t n_receipt_ids;
  uint8_t receipt_ids[ENG_RECEIPTS_MAX][TL_ID_LEN];
  int task_action;                          /* task replies */
  char saved[HOME_PATH_MAX];                /* attachment copied out, "" if not */
  int group_kind;                           /* 0 pairwise, 1 group, 2 passphrase channel */
  char group[ENG_LABEL_MAX];                /* group name, or "channel:NAME" */
  char group_id[2 * GROUP_ID_LEN + 1];      /* hex (groups) */
  char sender[ENG_LABEL_MAX];               /* group: user ID; channel: display name */
};

/* Process one fetched item: dedup, decrypt, verify, store. *shown = 1 when m holds a
 * new message to report; 0 for duplicates. Returns 0 also for items we must drop (bad
 * or replayed), after a notice event: only I/O errors stop a sync. */
MOMEDO_WUR int eng_receive(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                           const uint8_t *ct, size_t len, struct eng_msg *m, int *shown);
/* Fetch from every known node, process, acknowledge, send receipts. *n_new counts new
 * messages. */
MOMEDO_WUR int eng_sync_all(struct eng *c, struct eng_state *st, size_t *n_new);
/* Catch up on cn's node from its cursor (sync of one node). */
MOMEDO_WUR int eng_sync_conn(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                             size_t *n_new);
/* Handle the event eng_conn_wait kept in cn under the home's lock (reloads state, saves,
 * releases); then it is gone. */
MOMEDO_WUR int eng_handle_event(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                size_t *n_new);
/* Fetch our mailbox and every group and channel mailbox on cn's node from their
 * cursors, under the home's lock (listen and bot: what live events did not bring). */
MOMEDO_WUR int eng_catch_up(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                            size_t *n_new);
/* listen and bot call this after each wait for an event: it catches up when the event
 * queue overflowed since the last call (nodeapi's events_dropped grew) or, when idle,
 * every ENG_CATCH_UP_MS. */
#define ENG_CATCH_UP_MS 30000
struct eng_watch {
  uint64_t dropped;                         /* events_dropped at the last catch-up */
  uint64_t last_ms;
};
MOMEDO_WUR int eng_watch_check(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                               struct eng_watch *w, int idle, size_t *n_new);
/* Send delivery receipts gathered by eng_receive (cleared afterwards). */
MOMEDO_WUR int eng_flush_receipts(struct eng *c, struct eng_state *st, struct eng_conn *cn);

/* Deliver m to contact `to` over cn: refresh their bundle (cached devices if the node
 * cannot answer), upload file (if m is a File: fills blob fields, keeps a sealed copy),
 * encrypt and post per device, store in the timeline. id (16 bytes) gets the message ID. */
MOMEDO_WUR int eng_deliver(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                           const char *to, Momedo__Content *m, const uint8_t *file,
                           size_t file_len, uint8_t id[static TL_ID_LEN], size_t *n_env);
/* Read a file to send (at most CONTENT_FILE_BYTES_DEFAULT_MAX) and fill f's name, mime,
 * size. *data is malloc'ed. */
MOMEDO_WUR int eng_read_attachment(struct eng *c, const char *path, const char *mime,
                                   Momedo__File *f, uint8_t **data, size_t *len);
/* ---- groups (engine_group.c, control messages: engine_group_control.c) ------------------ */
/* The group a reference names: its name, or a prefix (>= 6 hex digits) of its ID.
 * NULL when none; *ambiguous = 1 when several match. */
struct eng_group *eng_group_lookup(struct eng_state *st, const char *ref, int *ambiguous);
/* The same, failing with a clear message. */
MOMEDO_WUR int eng_group_find(struct eng *c, struct eng_state *st, const char *ref,
                              struct eng_group **out);
struct eng_group *eng_group_by_mailbox(struct eng_state *st, const uint8_t mb[static 32]);
/* Display name of a group ("(unnamed)" if empty); a static buffer. */
const char *eng_group_name(const struct eng_group *cg);
/* A pairwise GroupControl from (from_id, from_dev): join, apply or keep for later;
 * reports notices and group events. Returns only I/O and memory errors. */
MOMEDO_WUR int eng_group_control(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                 const uint8_t from_id[static 32],
                                 const uint8_t from_dev[static 32],
                                 const Momedo__GroupControl *gc);
/* The group with this ID; NULL when not on this device. */
struct eng_group *eng_group_by_id(struct eng_state *st, const uint8_t id[static 32]);
/* What one delivery sent: records and sender keys, counted per device. */
struct eng_group_sent {
  size_t records, keys;
};
/* Deliver what every group owes over the pairwise sessions: the current record to the
 * devices that need it, then this device's sender key to the devices without it. */
MOMEDO_WUR int eng_groups_flush(struct eng *c, struct eng_state *st, struct eng_conn *cn);
/* Encrypt m once and post it to the group's mailbox (files: chunks first); stores it
 * in the group's timeline. id gets the message ID. */
MOMEDO_WUR int eng_group_send(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                              struct eng_group *cg, Momedo__Content *m, const uint8_t *file,
                              size_t file_len, uint8_t id[static TL_ID_LEN]);
/* Process one item fetched from a group mailbox: *shown = 1 when m holds a new
 * message; *hold = 1 when its sender key has not arrived yet (keep the item, not the
 * read cursor). Only I/O and memory errors are returned (engine_recv.c). */
MOMEDO_WUR int eng_group_receive(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                 struct eng_group *cg, const uint8_t mb[static 32],
                                 const uint8_t *wire, size_t len, uint64_t created_ms,
                                 struct eng_msg *m, int *shown, int *hold);
/* Fetch every group and channel mailbox on cn's node from its cursors (engine_sync.c). */
MOMEDO_WUR int eng_sync_groups(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                               size_t *n_new);
/* Mailboxes to subscribe to: ours, then every group epoch kept, then channels. */
size_t eng_live_mailboxes(struct eng_state *st, uint8_t (*out)[OBJ_MAILBOX_LEN], size_t cap);
/* Subscribe cn to what it is not subscribed to yet (a new group or epoch), up to the
 * node API's limit; cn keeps the list (cleared when it is opened). */
MOMEDO_WUR int eng_subscribe_live(struct eng *c, struct eng_state *st, struct eng_conn *cn);
/* listen's start on a node (and `momedo app`'s): under the home's lock, connect (cn, the
 * home or a partner), subscribe, catch up on our mailbox and every group and channel,
 * deliver what groups owe; released again. cn stays open for the events (close it
 * also after a failure). */
MOMEDO_WUR int eng_listen_begin(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                size_t *n_new);
/* After an event (lock released): when a new group or epoch appeared, lock, subscribe
 * to it and catch up on it, unlock. */
MOMEDO_WUR int eng_listen_update(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                 size_t *n_new);

/* ---- passphrase channels (engine_channel.c) ----------------------------------------- */
/* By name (exact bytes); NULL when not joined. */
struct eng_channel *eng_channel_find(struct eng_state *st, const char *name);
struct eng_channel *eng_channel_by_mailbox(struct eng_state *st, const uint8_t mb[static 32]);
/* Seal m (text or location) and post it to the channel's mailbox; stores it. */
MOMEDO_WUR int eng_channel_send(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                struct eng_channel *ch, const Momedo__Content *m,
                                uint8_t id[static TL_ID_LEN]);
/* Process one fetched channel item (engine_recv.c). */
MOMEDO_WUR int eng_channel_receive(struct eng *c, struct eng_state *st, struct eng_channel *ch,
                                   const uint8_t *wire, size_t len, struct eng_msg *m,
                                   int *shown);
/* Read cursor of a channel on a node (0 when none) / set it. */
uint64_t eng_channel_cursor(const struct eng_channel *ch, const uint8_t node[static 32]);
void eng_channel_set_cursor(struct eng_channel *ch, const uint8_t node[static 32], uint64_t cur);
/* Join passphrase channel name (1..CHANNEL_NAME_BYTES_MAX bytes of text, exact bytes):
 * keys from scrypt(name, pass: a C string), posting as display (1..
 * CHANNEL_DISPLAY_NAME_BYTES_MAX bytes of text; NULL: "anonymous"), saved; only the keys
 * are kept, never the passphrase. *out (may be NULL) the channel, valid until the state
 * changes. E_INVAL (a name or display name out of bounds), E_EXISTS when joined already
 * (leave it first to change the passphrase) and E_QUOTA past ENG_CHANNELS_MAX, which
 * eng_channel_may_join tells before the front-end asks for a passphrase. */
MOMEDO_WUR int eng_channel_may_join(struct eng *c, struct eng_state *st, const char *name);
MOMEDO_WUR int eng_channel_join(struct eng *c, struct eng_state *st, const char *name,
                                const char *display, const char *pass,
                                struct eng_channel **out);
/* The same with the keys k the caller derived with channel_derive (scrypt: ~0.2 s and
 * 64 MiB, so a front-end may derive outside its own lock: momedo app). */
MOMEDO_WUR int eng_channel_join_keys(struct eng *c, struct eng_state *st, const char *name,
                                     const char *display, const struct channel_keys *k,
                                     struct eng_channel **out);
/* Leave channel name: its keys and read cursors are wiped from this device; saved. Its
 * history rows stay (sealed in history.db) and show again after a new join. E_NOTFOUND. */
MOMEDO_WUR int eng_channel_leave(struct eng *c, struct eng_state *st, const char *name);
/* Send to TO: "channel:NAME", a group (name or ID prefix) or a contact (engine_send.c).
 * *kind = 0 contact, 1 group, 2 channel; *n_env envelopes or items posted. */
MOMEDO_WUR int eng_send_any(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                            const char *to, Momedo__Content *m, const uint8_t *file,
                            size_t file_len, uint8_t id[static TL_ID_LEN], size_t *n_env,
                            int *kind);

/* "LAT,LON[,ACCURACY_M]" (latitude -90..90, longitude -180..180) into l (engine_send.c). */
MOMEDO_WUR int eng_parse_location(struct eng *c, const char *s, Momedo__Location *l);
/* "YYYY-MM-DD" (end of that day, local time) or "YYYY-MM-DDTHH:MM" to ms. */
MOMEDO_WUR int eng_parse_due(struct eng *c, const char *s, uint64_t *ms);

/* Tests may make the signed prekey's rotation age shorter (engine_prekey.c). */
#define ENG_PREKEY_ROTATE_ENV "MOMEDO_TEST_PREKEY_ROTATE_MS"

/* Anti-rollback (engine_counter.c): tell cn's node the save count; E_SUPERSEDED with the
 * ROLLBACK reason when it saw a higher one. */
MOMEDO_WUR int eng_counter_sync(struct eng *c, struct eng_state *st, struct eng_conn *cn);
/* `recover` after a restored, older vault (engine_counter.c; the home node must be
 * reachable): drop every session and one-time prekey secret, make new ones (and a new
 * signed prekey unless one announced is still pending), move the save count past every
 * reachable node's and tell them, upload the prekeys, publish (first device), save. */
struct eng_recover_result {
  size_t sessions_dropped;
  uint64_t counter;                         /* the save count now */
  int prekey_rotated;                       /* a new signed prekey was made */
};
MOMEDO_WUR int eng_recover(struct eng *c, struct eng_state *st, struct eng_recover_result *res);
/* The compliance archive's signatures with the identity key (first device only; E_DENIED
 * elsewhere): the day's checkpoint (archive_log_checkpoint) and an export's manifest
 * (archive_log_export). No why. */
MOMEDO_WUR int eng_archive_checkpoint(struct eng_state *st, struct archive_log *l,
                                      uint64_t now_ms, int *made);
MOMEDO_WUR int eng_archive_export(struct eng_state *st, struct archive_log *l, uint64_t from_ms,
                                  uint64_t to_ms, const char *out_dir, uint64_t *n);
/* "YYYY-MM-DD HH:MM" local time of ms (the number itself if that fails). */
void eng_format_time(char out[static 32], uint64_t ms);
/* This user's devices in every group follow the key bundle (engine_group_devices.c): on
 * the first device, where this user is an admin a new record, elsewhere (when ask) a
 * DEVICES request to the admins. *changed counts the groups. Only I/O and memory
 * failures are returned; a group that refuses is a notice event. */
MOMEDO_WUR int eng_groups_own_devices(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                      int ask, size_t *changed);
/* Accept (done 0) or mark done task hex (an ID prefix) of a contact or a group's plain
 * task (engine_task.c): checked as a received reply would be, sent, stored, saved.
 * task_id: the task's ID; reply_id: the reply's; to: the contact's or group's name. */
MOMEDO_WUR int eng_task_act(struct eng *c, struct eng_state *st, const char *hex, int done,
                            uint8_t task_id[static TL_ID_LEN], uint8_t reply_id[static TL_ID_LEN],
                            char *to, size_t to_cap);
/* A message by ID prefix in any conversation with a contact (*ct) or, with_groups, a
 * group or channel too (*ct NULL). tl_entry_clear(&f->e). */
MOMEDO_WUR int eng_find_any(struct eng *c, struct eng_state *st, const char *hex,
                            struct contact **ct, int with_groups, struct hist_found *f);

/* ---- what the front-ends ask for (engine_admin.c, engine_contact.c, engine_decide.c,
 * engine_account.c): each checks, changes, delivers and saves; nothing is printed,
 * the result says what was done and c->why why not. */
/* What a group change did, for the front-end to show. */
struct eng_group_result {
  struct group_info gi;                     /* the group after the change */
  size_t records, keys;                     /* devices the record / the sender key went to */
  size_t owed;                              /* devices still owed the record (next send) */
  int by_request;                           /* leave as a member: the admins were asked */
  size_t asked_admins;                      /* ... on this many admin devices */
};
/* Group changes are signed with the identity key (the first device only) and, for cg
 * (NULL: none, creating or leaving), made by an admin still in it: E_DENIED otherwise. */
MOMEDO_WUR int eng_group_may_change(struct eng *c, struct eng_state *st,
                                    const struct eng_group *cg);
/* A new group (channel: an announcement channel, only admins post) named name, of this
 * user (admin) and the members refs name (contacts, user IDs or aliases; unknown ones
 * are looked up over cn and pinned); the records and keys are delivered (what cannot
 * be, at the next send or sync) and the state saved. *out (may be NULL) the group. */
MOMEDO_WUR int eng_group_create(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                const char *name, const char *const *refs, size_t n_refs,
                                int channel, struct eng_group **out,
                                struct eng_group_result *res);
/* The same for new members of cg; remove members; leave (an admin signs the change, a
 * member asks the admins: res->by_request); set members' role (in a channel a new epoch:
 * the write key moves with the right to post); mark recorded (on) or not. res may be
 * NULL. After the change is signed it is saved even if delivering fails. */
MOMEDO_WUR int eng_group_add(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                             struct eng_group *cg, const char *const *refs, size_t n_refs,
                             struct eng_group_result *res);
MOMEDO_WUR int eng_group_remove(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                struct eng_group *cg, const char *const *refs, size_t n_refs,
                                struct eng_group_result *res);
MOMEDO_WUR int eng_group_leave(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                               struct eng_group *cg, struct eng_group_result *res);
MOMEDO_WUR int eng_group_set_role(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                  struct eng_group *cg, const char *const *refs, size_t n_refs,
                                  Momedo__GroupRole role, struct eng_group_result *res);
MOMEDO_WUR int eng_group_record(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                                struct eng_group *cg, int on, struct eng_group_result *res);
/* Pin the key REF names (user ID, alias looked up at the home node, or a QR card) under
 * name (may be NULL), fetch its bundle when a node is reachable, save. *out the contact;
 * *alias (may be NULL) the alias it was found by, or NULL. E_KEYCHANGED (a different key
 * for a known contact, *out set: pending until verified; the front-end warns), E_EXISTS
 * (the name is another contact's), E_INVAL, lookup errors. */
MOMEDO_WUR int eng_contact_add(struct eng *c, struct eng_state *st, const char *ref,
                               const char *name, struct contact **out, const char **alias);
/* Approve or decline (comment may be NULL) the task whose ID starts with hex: checked as
 * eng__decide would, sent to the contact or the group, stored, saved. *ct is the
 * contact (NULL for a group). */
MOMEDO_WUR int eng_task_decide(struct eng *c, struct eng_state *st, const char *hex, int approve,
                               const char *comment, uint8_t task_id[static TL_ID_LEN],
                               uint8_t reply_id[static TL_ID_LEN], struct contact **ct);
/* Remove the device whose key starts with the hex digits ref (8 or more) for good,
 * publish the bundle, drop it from every group (eng_groups_own_devices), save; key gets
 * its full key, *groups (may be NULL) how many groups were changed or asked. */
MOMEDO_WUR int eng_device_remove(struct eng *c, struct eng_state *st, const char *ref,
                                 uint8_t key[static 32], size_t *groups);
/* The first run: create the home (if needed) and a new vault sealed under pass in it,
 * and take the home's lock; E_EXISTS (nothing changed) when it holds an identity. */
MOMEDO_WUR int eng_init_vault(struct eng *c, struct eng_state *st, const char *pass, size_t pl,
                              unsigned log2n);
struct invite;
/* Decode an invite code, with words for a typo, a foreign code, a version mismatch or
 * damage. */
MOMEDO_WUR int eng_invite_decode(struct eng *c, struct invite *inv, const char *code);
/* Register st's device (account in memory) at the invite's node, learn its partners,
 * publish the bundle, ask for an alias; acct.joined = 1. The caller saves. */
MOMEDO_WUR int eng_join_node(struct eng *c, struct eng_state *st, const struct invite *inv);

/* Linking a second device (engine_link.c). The first device: eng_link_offer connects
 * (cn, kept open), makes the code (a secret: show it to the user only) and its keys k;
 * eng_link_wait waits on cn until the one device the code was for asks (E_DENIED when
 * two did, E_TIMEOUT when it expired) and fills d; once the user compared the safety
 * codes (link_safety_code), eng_link_admit signs d into the bundle, publishes, answers
 * with the identity-level state sealed to d, brings it into every group (*n_groups) and
 * saves. */
#define ENG_LINK_POLL_MS 1000
/* Requests the first device reads from a link mailbox at once (a node keeps at most 16
 * items per link). */
#define ENG_LINK_SCAN_MAX 16
struct link_code;
struct link_keys;
MOMEDO_WUR int eng_link_offer(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                              struct link_code *l, struct link_keys *k, char *code,
                              size_t code_cap);
MOMEDO_WUR int eng_link_wait(struct eng *c, struct eng_conn *cn, const struct link_keys *k,
                             uint64_t expires_ms, struct account_device *d);
MOMEDO_WUR int eng_link_admit(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                              const struct link_keys *k, struct account_device *d,
                              size_t *n_groups);
/* The new device: a link code with words for its errors (a typo, a foreign code, another
 * version, expired). */
MOMEDO_WUR int eng_link_code_decode(struct eng *c, struct link_code *l, const char *line);
/* What the new device's front-end is told while it waits: waiting gets the six-digit
 * safety code to compare; stop (may be NULL) is asked about once a second and ends the
 * wait (E_CLOSED). */
struct eng_link_ui {
  void (*waiting)(void *arg, const char *safety);
  int (*stop)(void *arg);
  void *arg;
};
/* Make the vault under pass (eng_init_vault), ask the first device through the code's
 * link mailbox and wait for its answer, adopt the state and save; on failure the files
 * made are removed again. */
MOMEDO_WUR int eng_device_join(struct eng *c, struct eng_state *st, const struct link_code *l,
                               const char *pass, size_t pl, unsigned log2n,
                               const struct eng_link_ui *ui);

/* ---- a session: the engine behind one opaque handle (engine_api.c) ----------------- */
/* For a front-end that needs open/unlock, send, sync, groups, contacts, decisions and
 * close (an app, the engine's tests); the command line uses the calls above. Events go
 * to fn(arg, ev), in order, from inside the call that caused them; fn must not call the
 * session. */
struct eng_session;
typedef void (*eng_session_fn)(void *arg, const struct eng_event *ev);
/* Unlock the home (home: a directory; NULL: $MOMEDO_HOME, else ~/.momedo) with the
 * passphrase (pass_len bytes) and take its lock until eng_session_close. The account
 * must have joined a node. E_AUTH: wrong passphrase, nothing was changed; E_NOTFOUND:
 * no identity there; why (why_cap bytes, may be NULL) gets a sentence. */
MOMEDO_WUR int eng_session_open(struct eng_session **out, const char *home, const char *pass,
                                size_t pass_len, eng_session_fn fn, void *arg, char *why,
                                size_t why_cap);
/* Send to `to` (contact name, user ID or alias; group name or ID prefix; "channel:NAME"):
 * connect, encrypt, post, store in the history, save. id gets the message ID. m's
 * message ID, time and sender are filled here; file (file_len bytes) is m's attachment
 * when m is a File. Errors as the command line's `send`; eng_session_why says why. */
MOMEDO_WUR int eng_session_send(struct eng_session *s, const char *to, Momedo__Content *m,
                                const uint8_t *file, size_t file_len,
                                uint8_t id[static TL_ID_LEN]);
MOMEDO_WUR int eng_session_send_text(struct eng_session *s, const char *to, const char *text,
                                     uint8_t id[static TL_ID_LEN]);
/* The file at path (at most CONTENT_FILE_BYTES_DEFAULT_MAX; mime NULL: from its name). */
MOMEDO_WUR int eng_session_send_file(struct eng_session *s, const char *to, const char *path,
                                     const char *mime, uint8_t id[static TL_ID_LEN]);
/* Fetch from every node, decrypt, store, acknowledge, send receipts: each new message
 * and receipt is an ENG_EV_MESSAGE event; *n_new counts messages (not receipts). */
MOMEDO_WUR int eng_session_sync(struct eng_session *s, size_t *n_new);
/* Group administration (as `momedo group ...`; engine_admin.c): group is a group's name
 * or ID prefix, members contacts, user IDs or aliases (unknown ones are looked up and
 * pinned). Signed with the identity key: the first device only; add, remove, promote,
 * demote and record need an admin. Each change is delivered to the members' devices
 * (what cannot be, at the next send or sync) and saved; res (may be NULL) says what it
 * did. channel: an announcement channel (only admins post). */
MOMEDO_WUR int eng_session_group_create(struct eng_session *s, const char *name,
                                        const char *const *members, size_t n, int channel,
                                        struct eng_group_result *res);
MOMEDO_WUR int eng_session_group_add(struct eng_session *s, const char *group,
                                     const char *const *members, size_t n,
                                     struct eng_group_result *res);
MOMEDO_WUR int eng_session_group_remove(struct eng_session *s, const char *group,
                                        const char *const *members, size_t n,
                                        struct eng_group_result *res);
MOMEDO_WUR int eng_session_group_leave(struct eng_session *s, const char *group,
                                       struct eng_group_result *res);
MOMEDO_WUR int eng_session_group_promote(struct eng_session *s, const char *group,
                                         const char *const *members, size_t n,
                                         struct eng_group_result *res);
MOMEDO_WUR int eng_session_group_demote(struct eng_session *s, const char *group,
                                        const char *const *members, size_t n,
                                        struct eng_group_result *res);
MOMEDO_WUR int eng_session_group_record(struct eng_session *s, const char *group, int on,
                                        struct eng_group_result *res);
/* Add a contact (as `momedo contact add REF [--name NAME]`): out (may be NULL) gets a
 * copy of it, also for E_KEYCHANGED (its pending key: warn the user). */
MOMEDO_WUR int eng_session_contact_add(struct eng_session *s, const char *ref, const char *name,
                                       struct contact *out);
/* Approve or decline (comment may be NULL) the approval task whose ID starts with
 * msg_id; reply_id gets the decision message's ID. */
MOMEDO_WUR int eng_session_task_decide(struct eng_session *s, const char *msg_id, int approve,
                                       const char *comment, uint8_t reply_id[static TL_ID_LEN]);
/* Remove this user's device whose key starts with the hex digits `device` for good (the
 * first device only); key gets its full key, *groups (may be NULL) the groups updated. */
MOMEDO_WUR int eng_session_device_remove(struct eng_session *s, const char *device,
                                         uint8_t key[static 32], size_t *groups);
/* The last failure's sentence (valid until the next call). */
const char *eng_session_why(const struct eng_session *s);
/* Roll back what was not saved, release the lock, wipe and free. s may be NULL. */
void eng_session_close(struct eng_session *s);

#endif
