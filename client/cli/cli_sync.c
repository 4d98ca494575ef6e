/* client/cli/cli_sync.c — `sync`, `listen` and `history`, and printing a message for people
 * or as one JSON object per line. sync fetches our mailbox from every node we know
 * (home and partners), processes each page, saves, then acknowledges with tombstones;
 * then every group mailbox (each epoch still kept) and passphrase channel on every node,
 * with a read cursor per mailbox and node and never a tombstone (one member must not
 * delete everyone's copy). listen subscribes to all of them and handles each pushed
 * item under the home's lock. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hex.h"

#define LISTEN_WAIT_MS 1000
#define LISTEN_RETRY_MS_MAX 8000

static const char *kind_name(int k) {
  switch (k) {
    case TL_TEXT: return "text";
    case TL_FILE: return "file";
    case TL_LOCATION: return "location";
    case TL_TASK: return "task";
    case TL_TASK_REPLY: return "task_reply";
    default: return "unknown";
  }
}

static const char *action_name(int a) {
  return a == TL_TASK_DONE ? "done" : a == TL_TASK_ACCEPTED ? "accept" : "decline";
}

/* The message's fields into the object open in j (a line of its own, or an entry's body). */
static void json_msg(struct jsonw *j, const struct cli_msg *m) {
  const struct tl_entry *e = &m->e;
  jsonw_str(j, "type", "message");
  if (m->group_kind) {
    jsonw_str_or_null(j, "group", m->group);
    if (m->group_kind == 1) jsonw_str(j, "group_id", m->group_id);
    else jsonw_str_or_null(j, "channel", m->group + strlen(CLI_CHANNEL_PREFIX));
    jsonw_str_or_null(j, "sender", m->sender);
  }
  jsonw_str_or_null(j, "from", m->group_kind && !m->from_uid[0] ? NULL : m->from_uid);
  jsonw_str_or_null(j, "from_name", strcmp(m->from_label, m->from_uid) ? m->from_label : NULL);
  jsonw_str_or_null(j, "peer", m->group_kind ? NULL : m->peer_uid);
  jsonw_bool(j, "outgoing", m->sync_copy);
  if (m->receipt) {
    jsonw_str(j, "kind", "receipt");
    jsonw_str(j, "receipt", m->receipt == 2 ? "read" : "delivered");
    jsonw_open(j, "ids", '[');
    for (size_t i = 0; i < m->n_receipt_ids; i++) jsonw_hex(j, NULL, m->receipt_ids[i], TL_ID_LEN);
    jsonw_close(j);
    return;
  }
  jsonw_str(j, "kind", kind_name(e->kind));
  jsonw_hex(j, "id", e->id, TL_ID_LEN);
  jsonw_u64(j, "sent_ms", e->sent_ms);
  if (e->kind == TL_TEXT || e->kind == TL_TASK) jsonw_str_or_null(j, "text", e->text);
  if (e->kind == TL_FILE) {
    jsonw_open(j, "file", '{');
    jsonw_str_or_null(j, "name", e->text);
    jsonw_u64(j, "size", e->size);
    jsonw_str_or_null(j, "mime", e->mime);
    jsonw_str_or_null(j, "path", m->saved[0] ? m->saved : NULL);
    jsonw_close(j);
  }
  if (e->kind == TL_LOCATION) cli__json_location(j, e);
  if (e->kind == TL_TASK) jsonw_str_or_null(j, "due", e->due);
  if (e->kind == TL_TASK_REPLY) {
    jsonw_hex(j, "task_id", e->ref, TL_ID_LEN);
    jsonw_str(j, "action", action_name(e->task_state));
  }
  cli__json_extras(j, e);
}

/* One history entry: {"type":"entry","direction":..., [status, task_state,] "body":{...}}. */
static void print_json_entry(struct cli *c, const struct cli_msg *m, int outgoing,
                             const char *status, const char *task_state) {
  struct jsonw j;
  jsonw_begin(&j, c->out);
  jsonw_str(&j, "type", "entry");
  jsonw_str(&j, "direction", outgoing ? "out" : "in");
  if (status) jsonw_str(&j, "status", status);
  if (task_state) jsonw_str(&j, "task_state", task_state);
  jsonw_open(&j, "body", '{');
  json_msg(&j, m);
  jsonw_close(&j);
  jsonw_end(&j);
}

/* ---- receipts in `sync` for people: one summary line, not one line per receipt ---- */

#define CLI_TALLY_PEERS_MAX 8 /* contacts named; receipts from more count as "others" */

struct cli_tally {
  size_t n;
  struct {
    char label[sizeof ((struct cli_msg *)0)->from_label];
    size_t count[2]; /* message IDs received (delivered), read */
  } peer[CLI_TALLY_PEERS_MAX + 1]; /* the last one: "others" */
};

static void tally_add(struct cli_tally *t, const struct cli_msg *m) {
  size_t i = 0;
  while (i < t->n && strcmp(t->peer[i].label, m->from_label) != 0) i++;
  if (i == t->n && t->n < CLI_TALLY_PEERS_MAX) {
    snprintf(t->peer[i].label, sizeof t->peer[i].label, "%s", m->from_label);
    t->n++;
  } else if (i == t->n) {
    i = CLI_TALLY_PEERS_MAX;
    snprintf(t->peer[i].label, sizeof t->peer[i].label, "others");
  }
  t->peer[i].count[m->receipt == 2] += m->n_receipt_ids;
}

/* ", 3 of yours received (bob 2, alice 1)" for kind 0, "read" for kind 1; nothing if 0. */
static void tally_print(FILE *f, const struct cli_tally *t, int kind) {
  size_t total = 0;
  for (size_t i = 0; i <= CLI_TALLY_PEERS_MAX; i++) total += t->peer[i].count[kind];
  if (total == 0) return;
  fprintf(f, ", %zu of yours %s (", total, kind ? "read" : "received");
  const char *sep = "";
  for (size_t i = 0; i <= CLI_TALLY_PEERS_MAX; i++) {
    if (t->peer[i].count[kind] == 0) continue;
    fprintf(f, "%s%s %zu", sep, t->peer[i].label, t->peer[i].count[kind]);
    sep = ", ";
  }
  fputs(")", f);
}

void cli_print_msg(struct cli *c, const struct cli_msg *m) {
  if (c->tally && !c->json && m->receipt) {
    tally_add(c->tally, m);
    return;
  }
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, c->out);
    json_msg(&j, m);
    jsonw_end(&j);
    return;
  }
  FILE *f = c->out;
  const struct tl_entry *e = &m->e;
  char when[32], hex[2 * TL_ID_LEN + 1], who[160];
  if (m->group_kind) snprintf(who, sizeof who, "%.60s / %.60s", m->group,
                              m->sync_copy ? "you" : m->from_label);
  else if (m->sync_copy) snprintf(who, sizeof who, "you (other device) -> %s", m->peer_uid);
  else snprintf(who, sizeof who, "%s", m->from_label);
  if (m->receipt) {
    fprintf(f, "%s: %s %zu message(s)\n", who, m->receipt == 2 ? "read" : "received",
            m->n_receipt_ids);
    fflush(f);
    return;
  }
  cli__format_time(when, e->sent_ms);
  tl_id_hex(hex, e->id);
  fprintf(f, "[%s] %s: ", when, who);
  switch (e->kind) {
    case TL_TEXT: fprintf(f, "%s", e->text ? e->text : ""); break;
    case TL_FILE:
      fprintf(f, "file %s (%" PRIu64 " bytes)", e->text, e->size);
      if (m->saved[0]) fprintf(f, " saved to %s", m->saved);
      else fprintf(f, " - save it with `momedo save %.12s PATH`", hex);
      break;
    case TL_LOCATION:
      fprintf(f, "location %.6f, %.6f", e->lat, e->lon);
      if (e->acc >= 0) fprintf(f, " (+/- %.0f m)", e->acc);
      break;
    case TL_TASK:
      fprintf(f, "TASK \"%s\"%s%s - `momedo task accept %.12s`", e->text, e->due ? " due " : "",
              e->due ? e->due : "", hex);
      break;
    case TL_TASK_REPLY: {
      char ref[2 * TL_ID_LEN + 1];
      tl_id_hex(ref, e->ref);
      fprintf(f, "task %.12s: %s", ref, action_name(e->task_state));
      break;
    }
    default: break;
  }
  cli__print_extras(f, e);
  fprintf(f, "   [%.12s]\n", hex);
  fflush(f);
}

/* ---- receipts and acknowledgements ---------------------------------------------- */

int cli_flush_receipts(struct cli *c, struct cli_state *st, struct cli_conn *cn) {
  struct cli_outbox ob = {0};
  st->claim = cn;
  for (size_t i = 0; i < st->n_rc; i++) {
    struct cli_receipts *r = &st->rc[i];
    struct contact *ct = contacts_find_key(&st->contacts, r->peer);
    if (!ct || ct->has_pending || r->n == 0) continue;
    ProtobufCBinaryData ids[CLI_RECEIPTS_MAX];
    for (size_t j = 0; j < r->n; j++) ids[j] = (ProtobufCBinaryData){TL_ID_LEN, r->ids[j]};
    Momedo__Receipt rec = MOMEDO__RECEIPT__INIT;
    rec.kind = MOMEDO__RECEIPT__KIND__DELIVERED;
    rec.n_message_ids = r->n;
    rec.message_ids = ids;
    Momedo__Content m = MOMEDO__CONTENT__INIT;
    m.body_case = MOMEDO__CONTENT__BODY_RECEIPT;
    m.receipt = &rec;
    if (cli__send_queue(c, st, ct, &m, 1, &ob) != 0)
      fprintf(stderr, "momedo: note: could not send a delivery receipt to %s: %s\n",
              contact_label(ct), c->why);
  }
  st->claim = NULL;
  size_t sent = 0; /* every receipt under one save */
  if (ob.n && cli__outbox_post(c, st, cn, &ob, &sent) != 0)
    fprintf(stderr, "momedo: note: delivery receipts not sent: %s\n", c->why);
  cli__outbox_free(&ob);
  free(st->rc);
  st->rc = NULL;
  st->n_rc = 0;
  return 0;
}

static void ack_items(struct cli_state *st, struct cli_conn *cn,
                      const struct nodeapi_ack_item *items, size_t n) {
  for (size_t off = 0; off < n; off += NODEAPI_ACK_MAX) {
    size_t k = n - off < NODEAPI_ACK_MAX ? n - off : NODEAPI_ACK_MAX;
    uint32_t acc = 0;
    uint8_t homes[OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN];
    /* Tombstones go where our items are held: our bundle's home nodes. */
    nodeapi_set_ack_dests(&cn->api, homes, account_homes(&st->acct, homes));
    int rc = nodeapi_ack(&cn->api, &st->acct.device, items + off, k, os_wall_ms(), &acc);
    if (rc)
      fprintf(stderr, "momedo: note: acknowledging %zu item(s) failed: %s %s\n", k,
              momedo_strerror(rc), nodeapi_reason(&cn->api));
  }
}

/* Deliver what the groups owe (records, sender keys) now that a connection is up. A
 * failure is only noted: what encrypted is saved, the rest is tried again later. */
static void flush_groups(struct cli *c, struct cli_state *st, struct cli_conn *cn) {
  size_t n = 0; /* groups this user administers follow its devices (a link or removal) */
  if (cli_groups_own_devices(c, st, cn, 0, &n) != 0)
    fprintf(stderr, "momedo: note: your devices in a group not updated yet: %s\n", c->why);
  if (cli_groups_flush(c, st, cn) != 0)
    fprintf(stderr, "momedo: note: group keys or records not delivered yet: %s\n", c->why);
}

/* Process a batch of fetched objects: receive each, then save and acknowledge. */
static int handle_batch(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                        const struct nodeapi_obj *objs, size_t n, size_t *n_new) {
  struct nodeapi_ack_item *acks = calloc(n ? n : 1, sizeof *acks);
  struct cli_msg *m = malloc(sizeof *m);
  size_t n_ack = 0;
  int rc = acks && m ? 0 : cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const struct nodeapi_obj *o = &objs[i];
    if (o->err) {
      fprintf(stderr, "momedo: dropped an object the node sent: %s\n", momedo_strerror(o->err));
      continue;
    }
    if (o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || !o->ciphertext) continue;
    int shown = 0;
    rc = cli_receive(c, st, cn, o->ciphertext, o->ciphertext_len, m, &shown);
    if (rc) break;
    if (shown) {
      cli_print_msg(c, m);
      if (!m->receipt) (*n_new)++; /* receipts are shown but not counted as messages */
    }
    memcpy(acks[n_ack].id, o->info.id, OBJ_ID_LEN);
    acks[n_ack++].expires_ms = o->info.expires_ms;
    if (n_ack == 2) cli__crash_point("recv-mid"); /* stored, not committed */
  }
  /* The batch's messages go to disk in one transaction before anything else: the
   * receipts' save, the sessions and seen set, and the acknowledgement that lets the
   * node delete them. */
  if (rc == 0) rc = cli__hist_commit(c, st);
  if (rc == 0) cli__crash_point("recv-stored");
  if (rc == 0) rc = cli_flush_receipts(c, st, cn);
  if (rc == 0) flush_groups(c, st, cn);
  if (rc == 0) rc = cli_save(c, st);
  if (rc == 0) cli__crash_point("recv-saved");
  if (rc == 0 && n_ack) ack_items(st, cn, acks, n_ack);
  free(acks);
  free(m);
  return rc;
}

/* One fetched page, copied out of the session's buffers (they live only until the
 * next call, and processing makes calls). */
struct page {
  struct nodeapi_obj *objs;
  uint8_t **bufs;
  size_t n;
  uint64_t next;
  int more;
};

static void page_free(struct page *pg) {
  for (size_t i = 0; pg->bufs && i < pg->n; i++) free(pg->bufs[i]);
  free(pg->bufs);
  free(pg->objs);
  memset(pg, 0, sizeof *pg);
}

/* One page of mailbox mb from cursor; wk and tag (NULL for none) are a group mailbox's
 * write key and tag, shown to the node so it takes posts there only with that key. */
static int fetch_page(struct cli *c, struct cli_conn *cn, const uint8_t mb[static 32],
                      const uint8_t *wk, const uint8_t *tag, uint64_t cursor, struct page *pg) {
  struct nodeapi_fetch f;
  memset(pg, 0, sizeof *pg);
  int rc = nodeapi_fetch_write(&cn->api, mb, wk, tag, cursor, CLI_FETCH_LIMIT, os_wall_ms(), &f);
  if (rc) return cli_api_fail(c, cn, rc, "fetching a mailbox failed");
  pg->objs = calloc(f.n ? f.n : 1, sizeof *pg->objs);
  pg->bufs = calloc(f.n ? f.n : 1, sizeof *pg->bufs);
  if (!pg->objs || !pg->bufs) rc = cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  pg->n = rc ? 0 : f.n;
  for (size_t i = 0; rc == 0 && i < f.n; i++) {
    pg->objs[i] = f.objs[i];
    pg->objs[i].data = NULL;
    if (!f.objs[i].ciphertext) continue;
    pg->bufs[i] = malloc(f.objs[i].ciphertext_len ? f.objs[i].ciphertext_len : 1);
    if (!pg->bufs[i]) {
      rc = cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
      break;
    }
    memcpy(pg->bufs[i], f.objs[i].ciphertext, f.objs[i].ciphertext_len);
    pg->objs[i].ciphertext = pg->bufs[i];
  }
  pg->next = f.next_cursor;
  pg->more = f.more;
  if (rc) page_free(pg);
  return rc;
}

int cli_sync_conn(struct cli *c, struct cli_state *st, struct cli_conn *cn, size_t *n_new) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  int rc = account_mailbox(&st->acct, mb);
  struct account_node *node = &st->acct.nodes[cn->node];
  for (int page = 0; rc == 0 && page < CLI_FETCH_PAGES_MAX; page++) {
    struct page pg;
    if ((rc = fetch_page(c, cn, mb, NULL, NULL, node->cursor, &pg)) != 0) break;
    node->cursor = pg.next > node->cursor ? pg.next : node->cursor;
    rc = handle_batch(c, st, cn, pg.objs, pg.n, n_new);
    int done = !pg.more || pg.n == 0;
    page_free(&pg);
    if (done) break;
  }
  return rc;
}

/* ---- group and channel mailboxes ------------------------------------------------ */

/* Fetch one group mailbox on cn's node from its cursor. Items whose sender key has not
 * arrived are kept on the device (cli_group_held.c): the cursor never waits for them. */
static int sync_group_mailbox(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                              const uint8_t gid[static 32], const uint8_t mb[static 32],
                              size_t *n_new) {
  const uint8_t *nk = st->acct.nodes[cn->node].key;
  uint8_t wk[32], tag[32];
  uint64_t cur = 0;
  int rc = 0;
  struct cli_msg *m = malloc(sizeof *m);
  if (!m) return cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  struct cli_group *cg = NULL; /* by ID: processing items adds no group, cg stays valid */
  for (size_t i = 0; i < st->gr.n; i++)
    if (!memcmp(st->gr.v[i].id, gid, 32)) cg = &st->gr.v[i];
  if (!cg || group_cursor_get(cg->g, mb, nk, &cur) != 0 ||
      group_mailbox_write(cg->g, mb, wk, tag) != 0) {
    free(m);
    return 0;
  }
  for (int page = 0; rc == 0 && page < CLI_FETCH_PAGES_MAX; page++) {
    struct page pg;
    if ((rc = fetch_page(c, cn, mb, wk, tag, cur, &pg)) != 0) break;
    for (size_t i = 0; rc == 0 && i < pg.n; i++) {
      const struct nodeapi_obj *o = &pg.objs[i];
      int shown = 0, hold = 0;
      if (o->err || o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || !o->ciphertext) continue;
      rc = cli_group_receive(c, st, cn, cg, mb, o->ciphertext, o->ciphertext_len,
                             o->info.created_ms, m, &shown, &hold);
      if (rc == 0 && hold)
        rc = cli__group_hold(st, gid, mb, o->info.created_ms, o->ciphertext, o->ciphertext_len);
      if (rc == MOMEDO_E_NOMEM) rc = cli_fail(c, rc, "out of memory");
      if (rc == 0 && shown) {
        cli_print_msg(c, m);
        (*n_new)++;
      }
    }
    if (rc == 0 && pg.next > cur && group_cursor_set(cg->g, mb, nk, pg.next) == 0) cg->dirty = 1;
    if (rc == 0) rc = cli_save(c, st);
    cur = pg.next > cur ? pg.next : cur;
    int done = !pg.more || pg.n == 0;
    page_free(&pg);
    if (done) break;
  }
  free(m);
  return rc;
}

static int sync_channel(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                        const uint8_t mb[static 32], size_t *n_new) {
  const uint8_t *nk = st->acct.nodes[cn->node].key;
  struct cli_channel *ch = cli_channel_by_mailbox(st, mb);
  struct cli_msg *m = malloc(sizeof *m);
  int rc = m ? 0 : cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  uint64_t cur = ch ? cli_channel_cursor(ch, nk) : 0;
  for (int page = 0; ch && rc == 0 && page < CLI_FETCH_PAGES_MAX; page++) {
    struct page pg;
    if ((rc = fetch_page(c, cn, mb, NULL, NULL, cur, &pg)) != 0) break;
    for (size_t i = 0; rc == 0 && i < pg.n; i++) {
      const struct nodeapi_obj *o = &pg.objs[i];
      int shown = 0;
      if (o->err || o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || !o->ciphertext) continue;
      rc = cli_channel_receive(c, st, ch, o->ciphertext, o->ciphertext_len, m, &shown);
      if (rc == 0 && shown) {
        cli_print_msg(c, m);
        (*n_new)++;
      }
    }
    if (rc == 0 && pg.next > cur) {
      cur = pg.next;
      cli_channel_set_cursor(ch, nk, cur);
      st->gr.ch_dirty = 1;
      rc = cli_save(c, st);
    }
    int done = !pg.more || pg.n == 0;
    page_free(&pg);
    if (done) break;
  }
  free(m);
  return rc;
}

int cli_sync_groups(struct cli *c, struct cli_state *st, struct cli_conn *cn, size_t *n_new) {
  uint8_t mbs[GROUP_EPOCHS_MAX][OBJ_MAILBOX_LEN], gid[GROUP_ID_LEN];
  int rc = cli__group_held_retry(c, st, cn, n_new); /* a key may have come for them */
  for (size_t i = 0; rc == 0 && i < st->gr.n; i++) {
    struct group_info gi;
    group_get_info(st->gr.v[i].g, &gi);
    if (gi.removed || gi.left) continue; /* nothing new can (or is to) be read there */
    memcpy(gid, st->gr.v[i].id, GROUP_ID_LEN);
    size_t n = group_mailboxes(st->gr.v[i].g, mbs, GROUP_EPOCHS_MAX);
    for (size_t k = 0; rc == 0 && k < n; k++) rc = sync_group_mailbox(c, st, cn, gid, mbs[k], n_new);
  }
  for (size_t i = 0; rc == 0 && i < st->gr.n_ch; i++) {
    uint8_t mb[OBJ_MAILBOX_LEN];
    memcpy(mb, st->gr.ch[i].k.mailbox, OBJ_MAILBOX_LEN);
    rc = sync_channel(c, st, cn, mb, n_new);
  }
  return rc;
}

size_t cli_live_mailboxes(struct cli_state *st, uint8_t (*out)[OBJ_MAILBOX_LEN], size_t cap) {
  uint8_t mbs[GROUP_EPOCHS_MAX][OBJ_MAILBOX_LEN];
  size_t n = 0;
  if (cap == 0 || account_mailbox(&st->acct, out[n]) != 0) return 0;
  n++;
  for (size_t i = 0; i < st->gr.n; i++) {
    struct group_info gi;
    group_get_info(st->gr.v[i].g, &gi);
    if (gi.removed || gi.left) continue;
    size_t k = group_mailboxes(st->gr.v[i].g, mbs, GROUP_EPOCHS_MAX);
    for (size_t j = 0; j < k && n < cap; j++) memcpy(out[n++], mbs[j], OBJ_MAILBOX_LEN);
  }
  for (size_t i = 0; i < st->gr.n_ch && n < cap; i++)
    memcpy(out[n++], st->gr.ch[i].k.mailbox, OBJ_MAILBOX_LEN);
  return n;
}

int cli_subscribe_live(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                       struct cli_subs *subs) {
  uint8_t want[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN], add[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN];
  size_t n = cli_live_mailboxes(st, want, NODEAPI_SUBSCRIBE_MAX), k = 0;
  for (size_t i = 0; i < n; i++) {
    int have = 0;
    for (size_t j = 0; j < subs->n && !have; j++) have = !memcmp(subs->mb[j], want[i], 32);
    if (!have && subs->n + k < NODEAPI_SUBSCRIBE_MAX) memcpy(add[k++], want[i], 32);
  }
  if (k == 0) return 0;
  int rc = nodeapi_subscribe(&cn->api, (const uint8_t(*)[OBJ_MAILBOX_LEN])add, k);
  if (rc) return cli_api_fail(c, cn, rc, "subscribing failed");
  memcpy(subs->mb[subs->n], add, k * OBJ_MAILBOX_LEN);
  subs->n += k;
  return 0;
}

int cli_listen_update(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                      struct cli_subs *subs, size_t *n_new) {
  uint8_t want[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN];
  size_t n = cli_live_mailboxes(st, want, NODEAPI_SUBSCRIBE_MAX), missing = 0;
  for (size_t i = 0; i < n && subs->n < NODEAPI_SUBSCRIBE_MAX; i++) {
    int have = 0;
    for (size_t j = 0; j < subs->n && !have; j++) have = !memcmp(subs->mb[j], want[i], 32);
    missing += !have;
  }
  if (missing == 0) return 0;
  int rc = cli_reacquire(c, st);
  if (rc) return rc;
  rc = cli_subscribe_live(c, st, cn, subs);
  if (rc == 0) rc = cli_sync_groups(c, st, cn, n_new); /* what came before subscribing */
  cli_release(st);
  return rc;
}

/* Connect to every node first (each checks this device's save count, so a restored
 * vault stops before anything is sent), then pairwise from every node (records and
 * sender keys may come through any of them), then the groups and channels on every
 * node that answered. */
int cli_sync_all(struct cli *c, struct cli_state *st, size_t *n_new) {
  struct cli_conn cns[ACCOUNT_NODES_MAX];
  int ok = 0, last = 0, up[ACCOUNT_NODES_MAX] = {0};
  char first[CLI_WHY_MAX] = "";
  *n_new = 0;
  memset(cns, 0, sizeof cns);
  for (int pass = 0; pass < 3; pass++) {
    for (size_t i = 0; i < st->acct.n_nodes; i++) {
      int rc = 0;
      if (pass == 0) {
        rc = cli_connect_node(c, st, &cns[i], i);
        if (rc == MOMEDO_E_SUPERSEDED) { /* a restored vault: stop (cli_counter.c) */
          for (size_t j = 0; j < st->acct.n_nodes; j++) cli_conn_close(&cns[j]);
          return rc;
        }
        up[i] = rc == 0;
      } else if (!up[i]) {
        continue;
      } else if (pass == 1) {
        rc = cli_sync_conn(c, st, &cns[i], n_new);
      } else {
        if (ok++ == 0) flush_groups(c, st, &cns[i]);
        if (i == 0 && cli__otpk_refill(c, st, &cns[i]) != 0)
          fprintf(stderr, "momedo: note: one-time prekeys not refilled: %s\n", c->why);
        if (i == 0 && cli__grants_renew(c, st, &cns[i]) != 0)
          fprintf(stderr, "momedo: note: partner grants not renewed: %s\n", c->why);
        if (i == 0 && cli__prekey_rotate(c, st, &cns[i]) != 0)
          fprintf(stderr, "momedo: note: signed prekey not rotated: %s\n", c->why);
        rc = cli_sync_groups(c, st, &cns[i], n_new);
      }
      if (rc && up[i]) {
        /* Forget what the failed batch changed in memory: it was not saved. */
        char why[CLI_WHY_MAX];
        snprintf(why, sizeof why, "%s", c->why);
        cli_conn_close(&cns[i]);
        up[i] = 0;
        int r2 = cli_reacquire(c, st);
        if (r2) rc = r2;
        else snprintf(c->why, sizeof c->why, "%s", why);
        if (r2 || (momedo_status_kind(rc) != MOMEDO_KIND_IO && rc != MOMEDO_E_NOTFOUND)) {
          for (size_t j = 0; j < st->acct.n_nodes; j++) cli_conn_close(&cns[j]);
          return rc;
        }
      }
      if (rc) {
        last = rc;
        if (!first[0]) snprintf(first, sizeof first, "%s", c->why);
        fprintf(stderr, "momedo: note: node %s:%u: %s\n", st->acct.nodes[i].host,
                st->acct.nodes[i].port, c->why);
      }
    }
  }
  for (size_t j = 0; j < st->acct.n_nodes; j++) cli_conn_close(&cns[j]);
  if (!ok) return cli_fail(c, last ? last : MOMEDO_E_NOTFOUND, "no node could be synced: %s", first);
  return 0;
}

/* ---- commands ------------------------------------------------------------------- */

/* For people: each new message on its line, then one line that sums up the sync and
 * the receipts it brought. --json prints every receipt with its message IDs. */
int cli_cmd_sync(struct cli *c) {
  struct cli_state st;
  struct cli_tally tally;
  size_t n = 0;
  memset(&tally, 0, sizeof tally);
  c->tally = &tally;
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = cli_sync_all(c, &st, &n);
  if (rc == 0 && !c->json) {
    fprintf(c->out, "%zu new message(s)", n);
    tally_print(c->out, &tally, 0);
    tally_print(c->out, &tally, 1);
    fputs("\n", c->out);
  }
  c->tally = NULL;
  cli_close(&st);
  return rc;
}

/* A pushed group or channel item: fetch that mailbox from its cursor (the event is a
 * trigger; the cursor decides what is read, so nothing pushed while away is skipped). */
static int handle_group_event(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                              const uint8_t mb[static 32], size_t *n_new) {
  int rc = cli_reacquire(c, st);
  if (rc) return rc;
  struct cli_group *cg = cli_group_by_mailbox(st, mb);
  if (cg) rc = sync_group_mailbox(c, st, cn, cg->id, mb, n_new);
  else if (cli_channel_by_mailbox(st, mb)) rc = sync_channel(c, st, cn, mb, n_new);
  cli_release(st);
  return rc;
}

/* Handle one pushed object under the home's lock (another command may have changed
 * the sessions in between). A push is only a trigger: the mailbox is fetched from its
 * cursor, which advances only over items processed in order, so an item that was never
 * pushed (dropped while the event queue was full) is not skipped. A push for an item the
 * cursor has already passed (fetched with an earlier page) costs nothing. */
int cli_handle_event(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                     const struct nodeapi_event *ev, size_t *n_new) {
  uint8_t own[OBJ_MAILBOX_LEN];
  if (ev->err) {
    fprintf(stderr, "momedo: dropped an object the node pushed: %s\n", momedo_strerror(ev->err));
    return 0;
  }
  if (ev->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) return 0;
  if (account_mailbox(&st->acct, own) == 0 && memcmp(own, ev->mailbox, OBJ_MAILBOX_LEN) != 0)
    return handle_group_event(c, st, cn, ev->mailbox, n_new);
  if (ev->seq < st->acct.nodes[cn->node].cursor) return 0;
  int rc = cli_reacquire(c, st);
  if (rc) return rc;
  rc = cli_sync_conn(c, st, cn, n_new);
  /* A sender key or record may unlock group items already fetched and held. */
  if (rc == 0 && st->gr.touched) rc = cli_sync_groups(c, st, cn, n_new);
  cli_release(st);
  return rc;
}

int cli_catch_up(struct cli *c, struct cli_state *st, struct cli_conn *cn, size_t *n_new) {
  int rc = cli_reacquire(c, st);
  if (rc) return rc;
  rc = cli_sync_conn(c, st, cn, n_new);
  if (rc == 0) rc = cli_sync_groups(c, st, cn, n_new);
  cli_release(st);
  return rc;
}

int cli_watch_check(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                    struct cli_watch *w, int idle, size_t *n_new) {
  uint64_t now = os_wall_ms();
  int lost = cn->api.events_dropped != w->dropped;
  if (!lost && !(idle && now - w->last_ms >= CLI_CATCH_UP_MS)) return 0;
  w->dropped = cn->api.events_dropped;
  w->last_ms = now;
  return cli_catch_up(c, st, cn, n_new);
}

/* One connected stretch of listening: catch up, subscribe, handle pushes. Returns on
 * a link error (to reconnect) or when count messages were shown. */
int cli_listen_begin(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                     struct cli_subs *subs, size_t *n_new) {
  subs->n = 0;
  int rc = cli_reacquire(c, st);
  if (rc) return rc;
  rc = cli_connect(c, st, cn);
  if (rc == 0) rc = cli_subscribe_live(c, st, cn, subs);
  if (rc == 0) rc = cli_sync_conn(c, st, cn, n_new);
  if (rc == 0) flush_groups(c, st, cn);
  if (rc == 0) rc = cli_sync_groups(c, st, cn, n_new);
  if (rc == 0) rc = cli_subscribe_live(c, st, cn, subs);
  cli_release(st);
  return rc;
}

static int listen_once(struct cli *c, struct cli_state *st, long count, size_t *n_new) {
  struct cli_conn cn;
  struct cli_subs subs = {.n = 0};
  memset(&cn, 0, sizeof cn);
  int rc = cli_listen_begin(c, st, &cn, &subs, n_new);
  if (rc == 0 && !c->json)
    fprintf(stderr, "momedo: listening on %s:%u (Ctrl-C to stop)\n",
            st->acct.nodes[cn.node].host, st->acct.nodes[cn.node].port);
  struct cli_watch w = {.dropped = 0, .last_ms = os_wall_ms()};
  while (rc == 0 && (count <= 0 || (long)*n_new < count)) {
    struct nodeapi_event ev;
    rc = nodeapi_wait_event(&cn.api, LISTEN_WAIT_MS, os_wall_ms(), &ev);
    if (rc == MOMEDO_E_TIMEOUT) {
      rc = cli_watch_check(c, st, &cn, &w, 1, n_new);
      continue;
    }
    if (rc) {
      rc = cli_api_fail(c, &cn, rc, "the link to the node failed");
      break;
    }
    rc = cli_handle_event(c, st, &cn, &ev, n_new);
    nodeapi_event_clear(&ev);
    /* A record may have brought a new group or epoch: listen there too. */
    if (rc == 0) rc = cli_listen_update(c, st, &cn, &subs, n_new);
    /* Events dropped while the queue was full: fetch what they announced. */
    if (rc == 0) rc = cli_watch_check(c, st, &cn, &w, 0, n_new);
  }
  if (cn.open) cli_conn_close(&cn);
  return rc;
}

int cli_cmd_listen(struct cli *c) {
  struct cli_state st;
  size_t n = 0;
  long count = c->opt[CO_COUNT] ? strtol(c->opt[CO_COUNT], NULL, 10) : 0;
  int rc = cli_open(c, &st, 1), delay = 500;
  cli_release(&st);
  while (rc == 0 && (count <= 0 || (long)n < count)) {
    size_t before = n;
    rc = listen_once(c, &st, count, &n);
    if (count > 0 && (long)n >= count) break;
    if (rc && momedo_status_kind(rc) != MOMEDO_KIND_IO && rc != MOMEDO_E_CLOSED) break;
    fprintf(stderr, "momedo: connection lost (%s); reconnecting\n", rc ? c->why : "closed");
    usleep((useconds_t)delay * 1000);
    delay = n > before ? 500 : (delay * 2 > LISTEN_RETRY_MS_MAX ? LISTEN_RETRY_MS_MAX : delay * 2);
    rc = 0;
  }
  cli_close(&st);
  return rc;
}

static void print_entry(struct cli *c, const struct contact *ct, const struct tl_entry *e) {
  char hex[2 * TL_ID_LEN + 1], when[32];
  static const char *st_names[] = {"", "sent", "delivered", "read"};
  static const char *task_names[] = {"open", "accepted", "done"};
  tl_id_hex(hex, e->id);
  if (c->json) {
    struct cli_msg m;
    memset(&m, 0, sizeof m);
    m.e = *e;
    snprintf(m.from_uid, sizeof m.from_uid, "%s", e->outgoing ? "" : ct->uid);
    snprintf(m.from_label, sizeof m.from_label, "%s", e->outgoing ? "" : contact_label(ct));
    snprintf(m.peer_uid, sizeof m.peer_uid, "%s", ct->uid);
    m.sync_copy = e->outgoing;
    print_json_entry(c, &m, e->outgoing, e->outgoing ? st_names[e->status & 3] : "received",
                     task_names[e->task_state < 3 ? e->task_state : 0]);
    return;
  }
  cli__format_time(when, e->sent_ms);
  printf("[%s] %s ", when, e->outgoing ? "me  " : contact_label(ct));
  switch (e->kind) {
    case TL_TEXT: printf("%s", e->text ? e->text : ""); break;
    case TL_FILE: printf("file %s (%" PRIu64 " bytes)", e->text, e->size); break;
    case TL_LOCATION: printf("location %.6f, %.6f", e->lat, e->lon); break;
    case TL_TASK:
      printf("TASK \"%s\"%s%s [%s]", e->text, e->due ? " due " : "", e->due ? e->due : "",
             task_names[e->task_state < 3 ? e->task_state : 0]);
      break;
    case TL_TASK_REPLY: {
      char ref[2 * TL_ID_LEN + 1];
      tl_id_hex(ref, e->ref);
      printf("task %.12s: %s", ref, action_name(e->task_state));
      break;
    }
    default: break;
  }
  cli__print_extras(stdout, e);
  printf("   [%.12s%s%s]\n", hex, e->outgoing ? " " : "", e->outgoing ? st_names[e->status & 3] : "");
}

/* A stored group or channel entry (its sender's label is in e->due). */
static void print_group_entry(struct cli *c, struct cli_state *st, int kind, const char *label,
                              const uint8_t *gid, const struct tl_entry *e) {
  static struct cli_msg m;
  memset(&m, 0, sizeof m);
  m.e = *e;
  m.group_kind = kind;
  m.sync_copy = e->outgoing;
  snprintf(m.group, sizeof m.group, "%s", label);
  if (gid) hex_encode(m.group_id, sizeof m.group_id, gid, GROUP_ID_LEN);
  snprintf(m.sender, sizeof m.sender, "%s", e->due ? e->due : "");
  snprintf(m.from_label, sizeof m.from_label, "%.*s", (int)sizeof m.from_label - 1, m.sender);
  if (kind == 1) {
    const struct contact *ct = e->due ? contacts_resolve(&st->contacts, e->due) : NULL;
    snprintf(m.from_uid, sizeof m.from_uid, "%.*s", IDS_USER_ID_STR_MAX - 1, m.sender);
    if (e->outgoing) snprintf(m.from_label, sizeof m.from_label, "you");
    else if (ct && ct->name[0]) snprintf(m.from_label, sizeof m.from_label, "%s", ct->name);
  }
  if (!c->json) {
    cli_print_msg(c, &m);
    return;
  }
  print_json_entry(c, &m, e->outgoing, NULL, NULL);
}

/* TO names a passphrase channel, a group or a contact: *peer is its timeline. */
static int history_target(struct cli *c, struct cli_state *st, const char *to, int *kind,
                          const uint8_t **peer, struct contact **ct, char *label, size_t cap) {
  size_t pl = strlen(CLI_CHANNEL_PREFIX);
  int amb = 0;
  if (!strncmp(to, CLI_CHANNEL_PREFIX, pl)) {
    struct cli_channel *ch = cli_channel_find(st, to + pl);
    if (!ch) return cli_fail(c, MOMEDO_E_NOTFOUND, "not in channel '%s'", to + pl);
    *kind = 2;
    *peer = ch->k.mailbox;
    snprintf(label, cap, "%s", to);
    return 0;
  }
  struct cli_group *cg = cli_group_lookup(st, to, &amb);
  *ct = contacts_resolve(&st->contacts, to);
  if ((cg && *ct) || amb)
    return cli_fail(c, MOMEDO_E_EXISTS, "'%s' names %s: give the group ID prefix or the "
                    "contact's user ID", to, amb ? "several groups" : "a contact and a group");
  if (cg) {
    *kind = 1;
    *peer = cg->id;
    snprintf(label, cap, "%s", cli_group_name(cg));
    return 0;
  }
  if (!*ct) return cli_fail(c, MOMEDO_E_NOTFOUND, "unknown contact or group '%s'", to);
  *kind = 0;
  *peer = (*ct)->key;
  snprintf(label, cap, "%s", contact_label(*ct));
  return 0;
}

/* The newest want entries of conversation hc, read newest first a page at a time, into
 * a malloc'ed *out (newest first); *n how many. */
static int history_read(struct cli *c, struct cli_state *st, const struct hist_conv *hc,
                        size_t want, struct tl_entry **out, size_t *n) {
  int64_t rows[HIST_PAGE_MAX], before = 0;
  *n = 0;
  *out = calloc(want ? want : 1, sizeof **out);
  if (!*out) return cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  while (*n < want) {
    size_t k = want - *n < HIST_PAGE_MAX ? want - *n : HIST_PAGE_MAX, got = 0;
    int rc = hist_page(&st->hist, hc, before, k, *out + *n, rows, &got);
    if (rc) return cli_fail(c, rc, "cannot read the conversation: %s", momedo_strerror(rc));
    *n += got;
    if (got < k) break;
    before = rows[got - 1];
  }
  return 0;
}

/* history TO [--count N]: the newest N messages (CLI_HISTORY_DEFAULT), oldest first. */
int cli_cmd_history(struct cli *c) {
  struct cli_state st;
  struct contact *ct = NULL;
  struct hist_conv hc;
  struct tl_entry *v = NULL;
  const uint8_t *peer = NULL;
  char label[CLI_LABEL_MAX];
  int kind = 0;
  size_t n = 0, want = c->opt[CO_COUNT] ? (size_t)strtol(c->opt[CO_COUNT], NULL, 10)
                                        : CLI_HISTORY_DEFAULT;
  int rc = cli_open(c, &st, 0);
  if (rc == 0) rc = history_target(c, &st, c->pos[0], &kind, &peer, &ct, label, sizeof label);
  if (rc == 0 && (rc = hist_conv(&st.hist, (enum hist_conv_kind)(kind + 1), peer, &hc)) != 0)
    rc = cli_fail(c, rc, "cannot read the history: %s", momedo_strerror(rc));
  if (rc == 0) rc = history_read(c, &st, &hc, want, &v, &n);
  for (size_t i = n; rc == 0 && i-- > 0;) {
    if (kind) print_group_entry(c, &st, kind, label, kind == 1 ? peer : NULL, &v[i]);
    else print_entry(c, ct, &v[i]);
  }
  if (rc == 0 && !c->json && n == 0) printf("no messages with %s yet\n", label);
  for (size_t i = 0; v && i < n; i++) tl_entry_clear(&v[i]);
  free(v);
  cli_close(&st);
  return rc;
}
