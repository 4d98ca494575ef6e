/* client/core/engine_sync.c — sync and receive: fetch every mailbox (own, groups'
 * epochs, passphrase channels) from every node, process each page, commit, save,
 * acknowledge; live subscriptions and pushed events. Each message and notice goes to the
 * front-end as an event (engine.h), never to a terminal. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "hex.h"

#define LISTEN_WAIT_MS 1000
#define LISTEN_RETRY_MS_MAX 8000


/* ---- receipts and acknowledgements ---------------------------------------------- */

int eng_flush_receipts(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  struct eng_outbox ob = {0};
  st->claim = cn;
  for (size_t i = 0; i < st->n_rc; i++) {
    struct eng_receipts *r = &st->rc[i];
    struct contact *ct = contacts_find_key(&st->contacts, r->peer);
    if (!ct || ct->has_pending || r->n == 0) continue;
    ProtobufCBinaryData ids[ENG_RECEIPTS_MAX];
    for (size_t j = 0; j < r->n; j++) ids[j] = (ProtobufCBinaryData){TL_ID_LEN, r->ids[j]};
    Momedo__Receipt rec = MOMEDO__RECEIPT__INIT;
    rec.kind = MOMEDO__RECEIPT__KIND__DELIVERED;
    rec.n_message_ids = r->n;
    rec.message_ids = ids;
    Momedo__Content m = MOMEDO__CONTENT__INIT;
    m.body_case = MOMEDO__CONTENT__BODY_RECEIPT;
    m.receipt = &rec;
    if (eng__send_queue(c, st, ct, &m, 1, &ob) != 0)
      eng__note(c, "momedo: note: could not send a delivery receipt to %s: %s\n",
              contact_label(ct), c->why);
  }
  st->claim = NULL;
  size_t sent = 0; /* every receipt under one save */
  if (ob.n && eng__outbox_post(c, st, cn, &ob, &sent) != 0)
    eng__note(c, "momedo: note: delivery receipts not sent: %s\n", c->why);
  eng_outbox_free(&ob);
  free(st->rc);
  st->rc = NULL;
  st->n_rc = 0;
  return 0;
}

static void ack_items(struct eng_state *st, struct eng_conn *cn,
                      const struct nodeapi_ack_item *items, size_t n) {
  for (size_t off = 0; off < n; off += NODEAPI_ACK_MAX) {
    size_t k = n - off < NODEAPI_ACK_MAX ? n - off : NODEAPI_ACK_MAX;
    uint32_t acc = 0;
    uint8_t homes[OBJ_HOME_NODES_MAX][ACCOUNT_KEY_LEN];
    /* Tombstones go where our items are held: our bundle's home nodes. */
    nodeapi_set_ack_dests(&cn->api, homes, account_homes(&st->acct, homes));
    int rc = nodeapi_ack(&cn->api, &st->acct.device, items + off, k, os_wall_ms(), &acc);
    if (rc)
      eng__note(st->ctx, "momedo: note: acknowledging %zu item(s) failed: %s %s\n", k,
              momedo_strerror(rc), nodeapi_reason(&cn->api));
  }
}

/* Deliver what the groups owe (records, sender keys) now that a connection is up. A
 * failure is only noted: what encrypted is saved, the rest is tried again later. */
static void flush_groups(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  size_t n = 0; /* groups this user administers follow its devices (a link or removal) */
  if (eng_groups_own_devices(c, st, cn, 0, &n) != 0)
    eng__note(c, "momedo: note: your devices in a group not updated yet: %s\n", c->why);
  if (eng_groups_flush(c, st, cn) != 0)
    eng__note(c, "momedo: note: group keys or records not delivered yet: %s\n", c->why);
}

/* Process a batch of fetched objects: receive each, then save and acknowledge. */
static int handle_batch(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        const struct nodeapi_obj *objs, size_t n, size_t *n_new) {
  struct nodeapi_ack_item *acks = calloc(n ? n : 1, sizeof *acks);
  struct eng_msg *m = malloc(sizeof *m);
  size_t n_ack = 0;
  int rc = acks && m ? 0 : eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const struct nodeapi_obj *o = &objs[i];
    if (o->err) {
      eng__note(c, "momedo: dropped an object the node sent: %s\n", momedo_strerror(o->err));
      continue;
    }
    if (o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || !o->ciphertext) continue;
    int shown = 0;
    rc = eng_receive(c, st, cn, o->ciphertext, o->ciphertext_len, m, &shown);
    if (rc) break;
    if (shown) {
      eng__emit_msg(c, m);
      if (!m->receipt) (*n_new)++; /* receipts are shown but not counted as messages */
    }
    memcpy(acks[n_ack].id, o->info.id, OBJ_ID_LEN);
    acks[n_ack++].expires_ms = o->info.expires_ms;
    if (n_ack == 2) eng__crash_point("recv-mid"); /* stored, not committed */
  }
  /* The batch's messages go to disk in one transaction before anything else: the
   * receipts' save, the sessions and seen set, and the acknowledgement that lets the
   * node delete them. */
  if (rc == 0) rc = eng__hist_commit(c, st);
  if (rc == 0) eng__crash_point("recv-stored");
  if (rc == 0) rc = eng_flush_receipts(c, st, cn);
  if (rc == 0) flush_groups(c, st, cn);
  if (rc == 0) rc = eng_save(c, st);
  if (rc == 0) eng__crash_point("recv-saved");
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
static int fetch_page(struct eng *c, struct eng_conn *cn, const uint8_t mb[static 32],
                      const uint8_t *wk, const uint8_t *tag, uint64_t cursor, struct page *pg) {
  struct nodeapi_fetch f;
  memset(pg, 0, sizeof *pg);
  int rc = nodeapi_fetch_write(&cn->api, mb, wk, tag, cursor, ENG_FETCH_LIMIT, os_wall_ms(), &f);
  if (rc) return eng_api_fail(c, cn, rc, "fetching a mailbox failed");
  pg->objs = calloc(f.n ? f.n : 1, sizeof *pg->objs);
  pg->bufs = calloc(f.n ? f.n : 1, sizeof *pg->bufs);
  if (!pg->objs || !pg->bufs) rc = eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  pg->n = rc ? 0 : f.n;
  for (size_t i = 0; rc == 0 && i < f.n; i++) {
    pg->objs[i] = f.objs[i];
    pg->objs[i].data = NULL;
    if (!f.objs[i].ciphertext) continue;
    pg->bufs[i] = malloc(f.objs[i].ciphertext_len ? f.objs[i].ciphertext_len : 1);
    if (!pg->bufs[i]) {
      rc = eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
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

int eng_sync_conn(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t *n_new) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  int rc = account_mailbox(&st->acct, mb);
  struct account_node *node = &st->acct.nodes[cn->node];
  for (int page = 0; rc == 0 && page < ENG_FETCH_PAGES_MAX; page++) {
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
 * arrived are kept on the device (engine_group_held.c): the cursor never waits for them. */
static int sync_group_mailbox(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                              const uint8_t gid[static 32], const uint8_t mb[static 32],
                              size_t *n_new) {
  const uint8_t *nk = st->acct.nodes[cn->node].key;
  uint8_t wk[32], tag[32];
  uint64_t cur = 0;
  int rc = 0;
  struct eng_msg *m = malloc(sizeof *m);
  if (!m) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  struct eng_group *cg = NULL; /* by ID: processing items adds no group, cg stays valid */
  for (size_t i = 0; i < st->gr.n; i++)
    if (!memcmp(st->gr.v[i].id, gid, 32)) cg = &st->gr.v[i];
  if (!cg || group_cursor_get(cg->g, mb, nk, &cur) != 0 ||
      group_mailbox_write(cg->g, mb, wk, tag) != 0) {
    free(m);
    return 0;
  }
  for (int page = 0; rc == 0 && page < ENG_FETCH_PAGES_MAX; page++) {
    struct page pg;
    if ((rc = fetch_page(c, cn, mb, wk, tag, cur, &pg)) != 0) break;
    for (size_t i = 0; rc == 0 && i < pg.n; i++) {
      const struct nodeapi_obj *o = &pg.objs[i];
      int shown = 0, hold = 0;
      if (o->err || o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || !o->ciphertext) continue;
      rc = eng_group_receive(c, st, cn, cg, mb, o->ciphertext, o->ciphertext_len,
                             o->info.created_ms, m, &shown, &hold);
      if (rc == 0 && hold)
        rc = eng__group_hold(st, gid, mb, o->info.created_ms, o->ciphertext, o->ciphertext_len);
      if (rc == MOMEDO_E_NOMEM) rc = eng_fail(c, rc, "out of memory");
      if (rc == 0 && shown) {
        eng__emit_msg(c, m);
        (*n_new)++;
      }
    }
    if (rc == 0 && pg.next > cur && group_cursor_set(cg->g, mb, nk, pg.next) == 0) cg->dirty = 1;
    if (rc == 0) rc = eng_save(c, st);
    cur = pg.next > cur ? pg.next : cur;
    int done = !pg.more || pg.n == 0;
    page_free(&pg);
    if (done) break;
  }
  free(m);
  return rc;
}

static int sync_channel(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        const uint8_t mb[static 32], size_t *n_new) {
  const uint8_t *nk = st->acct.nodes[cn->node].key;
  struct eng_channel *ch = eng_channel_by_mailbox(st, mb);
  struct eng_msg *m = malloc(sizeof *m);
  int rc = m ? 0 : eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  uint64_t cur = ch ? eng_channel_cursor(ch, nk) : 0;
  for (int page = 0; ch && rc == 0 && page < ENG_FETCH_PAGES_MAX; page++) {
    struct page pg;
    if ((rc = fetch_page(c, cn, mb, NULL, NULL, cur, &pg)) != 0) break;
    for (size_t i = 0; rc == 0 && i < pg.n; i++) {
      const struct nodeapi_obj *o = &pg.objs[i];
      int shown = 0;
      if (o->err || o->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || !o->ciphertext) continue;
      rc = eng_channel_receive(c, st, ch, o->ciphertext, o->ciphertext_len, m, &shown);
      if (rc == 0 && shown) {
        eng__emit_msg(c, m);
        (*n_new)++;
      }
    }
    if (rc == 0 && pg.next > cur) {
      cur = pg.next;
      eng_channel_set_cursor(ch, nk, cur);
      st->gr.ch_dirty = 1;
      rc = eng_save(c, st);
    }
    int done = !pg.more || pg.n == 0;
    page_free(&pg);
    if (done) break;
  }
  free(m);
  return rc;
}

int eng_sync_groups(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t *n_new) {
  uint8_t mbs[GROUP_EPOCHS_MAX][OBJ_MAILBOX_LEN], gid[GROUP_ID_LEN];
  int rc = eng__group_held_retry(c, st, cn, n_new); /* a key may have come for them */
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

size_t eng_live_mailboxes(struct eng_state *st, uint8_t (*out)[OBJ_MAILBOX_LEN], size_t cap) {
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

int eng_subscribe_live(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  struct eng_subs *subs = &cn->subs;
  uint8_t want[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN], add[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN];
  size_t n = eng_live_mailboxes(st, want, NODEAPI_SUBSCRIBE_MAX), k = 0;
  for (size_t i = 0; i < n; i++) {
    int have = 0;
    for (size_t j = 0; j < subs->n && !have; j++) have = !memcmp(subs->mb[j], want[i], 32);
    if (!have && subs->n + k < NODEAPI_SUBSCRIBE_MAX) memcpy(add[k++], want[i], 32);
  }
  if (k == 0) return 0;
  int rc = nodeapi_subscribe(&cn->api, (const uint8_t(*)[OBJ_MAILBOX_LEN])add, k);
  if (rc) return eng_api_fail(c, cn, rc, "subscribing failed");
  memcpy(subs->mb[subs->n], add, k * OBJ_MAILBOX_LEN);
  subs->n += k;
  return 0;
}

int eng_listen_update(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t *n_new) {
  const struct eng_subs *subs = &cn->subs;
  uint8_t want[NODEAPI_SUBSCRIBE_MAX][OBJ_MAILBOX_LEN];
  size_t n = eng_live_mailboxes(st, want, NODEAPI_SUBSCRIBE_MAX), missing = 0;
  for (size_t i = 0; i < n && subs->n < NODEAPI_SUBSCRIBE_MAX; i++) {
    int have = 0;
    for (size_t j = 0; j < subs->n && !have; j++) have = !memcmp(subs->mb[j], want[i], 32);
    missing += !have;
  }
  if (missing == 0) return 0;
  int rc = eng_reacquire(c, st);
  if (rc) return rc;
  rc = eng_subscribe_live(c, st, cn);
  if (rc == 0) rc = eng_sync_groups(c, st, cn, n_new); /* what came before subscribing */
  eng_release(st);
  return rc;
}

/* Connect to every node first (each checks this device's save count, so a restored
 * vault stops before anything is sent), then pairwise from every node (records and
 * sender keys may come through any of them), then the groups and channels on every
 * node that answered. */
int eng_sync_all(struct eng *c, struct eng_state *st, size_t *n_new) {
  struct eng_conn cns[ACCOUNT_NODES_MAX];
  int ok = 0, last = 0, up[ACCOUNT_NODES_MAX] = {0};
  char first[ENG_WHY_MAX] = "";
  *n_new = 0;
  memset(cns, 0, sizeof cns);
  for (int pass = 0; pass < 3; pass++) {
    for (size_t i = 0; i < st->acct.n_nodes; i++) {
      int rc = 0;
      if (pass == 0) {
        rc = eng_connect_node(c, st, &cns[i], i);
        if (rc == MOMEDO_E_SUPERSEDED) { /* a restored vault: stop (engine_counter.c) */
          for (size_t j = 0; j < st->acct.n_nodes; j++) eng_conn_close(&cns[j]);
          return rc;
        }
        up[i] = rc == 0;
      } else if (!up[i]) {
        continue;
      } else if (pass == 1) {
        rc = eng_sync_conn(c, st, &cns[i], n_new);
      } else {
        if (ok++ == 0) flush_groups(c, st, &cns[i]);
        if (i == 0 && eng__otpk_refill(c, st, &cns[i]) != 0)
          eng__note(c, "momedo: note: one-time prekeys not refilled: %s\n", c->why);
        if (i == 0 && eng__grants_renew(c, st, &cns[i]) != 0)
          eng__note(c, "momedo: note: partner grants not renewed: %s\n", c->why);
        if (i == 0 && eng__prekey_rotate(c, st, &cns[i]) != 0)
          eng__note(c, "momedo: note: signed prekey not rotated: %s\n", c->why);
        rc = eng_sync_groups(c, st, &cns[i], n_new);
      }
      if (rc && up[i]) {
        /* Forget what the failed batch changed in memory: it was not saved. */
        char why[ENG_WHY_MAX];
        snprintf(why, sizeof why, "%s", c->why);
        eng_conn_close(&cns[i]);
        up[i] = 0;
        int r2 = eng_reacquire(c, st);
        if (r2) rc = r2;
        else snprintf(c->why, sizeof c->why, "%s", why);
        if (r2 || (momedo_status_kind(rc) != MOMEDO_KIND_IO && rc != MOMEDO_E_NOTFOUND)) {
          for (size_t j = 0; j < st->acct.n_nodes; j++) eng_conn_close(&cns[j]);
          return rc;
        }
      }
      if (rc) {
        last = rc;
        if (!first[0]) snprintf(first, sizeof first, "%s", c->why);
        eng__note(c, "momedo: note: node %s:%u: %s\n", st->acct.nodes[i].host,
                st->acct.nodes[i].port, c->why);
      }
    }
  }
  for (size_t j = 0; j < st->acct.n_nodes; j++) eng_conn_close(&cns[j]);
  if (!ok) return eng_fail(c, last ? last : MOMEDO_E_NOTFOUND, "no node could be synced: %s", first);
  return 0;
}

/* A pushed group or channel item: fetch that mailbox from its cursor (the event is a
 * trigger; the cursor decides what is read, so nothing pushed while away is skipped). */
static int handle_group_event(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                              const uint8_t mb[static 32], size_t *n_new) {
  int rc = eng_reacquire(c, st);
  if (rc) return rc;
  struct eng_group *cg = eng_group_by_mailbox(st, mb);
  if (cg) rc = sync_group_mailbox(c, st, cn, cg->id, mb, n_new);
  else if (eng_channel_by_mailbox(st, mb)) rc = sync_channel(c, st, cn, mb, n_new);
  eng_release(st);
  return rc;
}

/* Handle one pushed object under the home's lock (another command may have changed
 * the sessions in between). A push is only a trigger: the mailbox is fetched from its
 * cursor, which advances only over items processed in order, so an item that was never
 * pushed (dropped while the event queue was full) is not skipped. A push for an item the
 * cursor has already passed (fetched with an earlier page) costs nothing. */
static int handle_event(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                        const struct nodeapi_event *ev, size_t *n_new) {
  uint8_t own[OBJ_MAILBOX_LEN];
  if (ev->err) {
    eng__note(c, "momedo: dropped an object the node pushed: %s\n", momedo_strerror(ev->err));
    return 0;
  }
  if (ev->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) return 0;
  if (account_mailbox(&st->acct, own) == 0 && memcmp(own, ev->mailbox, OBJ_MAILBOX_LEN) != 0)
    return handle_group_event(c, st, cn, ev->mailbox, n_new);
  if (ev->seq < st->acct.nodes[cn->node].cursor) return 0;
  int rc = eng_reacquire(c, st);
  if (rc) return rc;
  rc = eng_sync_conn(c, st, cn, n_new);
  /* A sender key or record may unlock group items already fetched and held. */
  if (rc == 0 && st->gr.touched) rc = eng_sync_groups(c, st, cn, n_new);
  eng_release(st);
  return rc;
}

int eng_handle_event(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t *n_new) {
  if (!cn->has_ev) return 0;
  int rc = handle_event(c, st, cn, &cn->ev, n_new);
  nodeapi_event_clear(&cn->ev);
  cn->has_ev = 0;
  return rc;
}

int eng_catch_up(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t *n_new) {
  int rc = eng_reacquire(c, st);
  if (rc) return rc;
  rc = eng_sync_conn(c, st, cn, n_new);
  if (rc == 0) rc = eng_sync_groups(c, st, cn, n_new);
  eng_release(st);
  return rc;
}

int eng_watch_check(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                    struct eng_watch *w, int idle, size_t *n_new) {
  uint64_t now = os_wall_ms();
  int lost = cn->api.events_dropped != w->dropped;
  if (!lost && !(idle && now - w->last_ms >= ENG_CATCH_UP_MS)) return 0;
  w->dropped = cn->api.events_dropped;
  w->last_ms = now;
  return eng_catch_up(c, st, cn, n_new);
}

/* One connected stretch of listening: catch up, subscribe, handle pushes. Returns on
 * a link error (to reconnect) or when count messages were shown. */
int eng_listen_begin(struct eng *c, struct eng_state *st, struct eng_conn *cn, size_t *n_new) {
  cn->subs.n = 0;
  int rc = eng_reacquire(c, st);
  if (rc) return rc;
  rc = eng_connect(c, st, cn);
  if (rc == 0) rc = eng_subscribe_live(c, st, cn);
  if (rc == 0) rc = eng_sync_conn(c, st, cn, n_new);
  if (rc == 0) flush_groups(c, st, cn);
  if (rc == 0) rc = eng_sync_groups(c, st, cn, n_new);
  if (rc == 0) rc = eng_subscribe_live(c, st, cn);
  eng_release(st);
  return rc;
}
