/* client/cli_sync.c — `sync`, `listen` and `history`, and printing a message for people
 * or as one JSON object per line. sync fetches our mailbox from every node we know
 * (home and partners), processes each page, saves, then acknowledges with tombstones;
 * listen subscribes and handles each pushed item under the home's lock. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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

static void print_json_msg(struct cli *c, const struct cli_msg *m) {
  FILE *f = c->out;
  const struct tl_entry *e = &m->e;
  fputs("{\"type\":\"message\",\"from\":", f);
  cli_json_str(f, m->from_uid);
  fputs(",\"from_name\":", f);
  cli_json_str(f, strcmp(m->from_label, m->from_uid) ? m->from_label : NULL);
  fputs(",\"peer\":", f);
  cli_json_str(f, m->peer_uid);
  fprintf(f, ",\"outgoing\":%s", m->sync_copy ? "true" : "false");
  if (m->receipt) {
    fprintf(f, ",\"kind\":\"receipt\",\"receipt\":\"%s\",\"ids\":[",
            m->receipt == 2 ? "read" : "delivered");
    for (size_t i = 0; i < m->n_receipt_ids; i++) {
      if (i) fputc(',', f);
      cli_json_hex(f, m->receipt_ids[i], TL_ID_LEN);
    }
    fputs("]}", f);
    return;
  }
  fprintf(f, ",\"kind\":\"%s\",\"id\":", kind_name(e->kind));
  cli_json_hex(f, e->id, TL_ID_LEN);
  fprintf(f, ",\"sent_ms\":%" PRIu64, e->sent_ms);
  if (e->kind == TL_TEXT || e->kind == TL_TASK) {
    fputs(",\"text\":", f);
    cli_json_str(f, e->text);
  }
  if (e->kind == TL_FILE) {
    fputs(",\"file\":{\"name\":", f);
    cli_json_str(f, e->text);
    fprintf(f, ",\"size\":%" PRIu64 ",\"mime\":", e->size);
    cli_json_str(f, e->mime);
    fputs(",\"path\":", f);
    cli_json_str(f, m->saved[0] ? m->saved : NULL);
    fputc('}', f);
  }
  if (e->kind == TL_LOCATION) {
    fprintf(f, ",\"location\":{\"lat\":%.7f,\"lon\":%.7f,\"accuracy\":", e->lat, e->lon);
    if (e->acc >= 0) fprintf(f, "%.2f}", e->acc);
    else fputs("null}", f);
  }
  if (e->kind == TL_TASK) {
    fputs(",\"due\":", f);
    cli_json_str(f, e->due);
  }
  if (e->kind == TL_TASK_REPLY) {
    fputs(",\"task_id\":", f);
    cli_json_hex(f, e->ref, TL_ID_LEN);
    fprintf(f, ",\"action\":\"%s\"", action_name(e->task_state));
  }
  fputs("}", f);
}

void cli_print_msg(struct cli *c, const struct cli_msg *m) {
  if (c->json) {
    print_json_msg(c, m);
    fputs("\n", c->out);
    fflush(c->out);
    return;
  }
  FILE *f = c->out;
  const struct tl_entry *e = &m->e;
  char when[32], hex[2 * TL_ID_LEN + 1], who[160];
  if (m->sync_copy) snprintf(who, sizeof who, "you (other device) -> %s", m->peer_uid);
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
  fprintf(f, "   [%.12s]\n", hex);
  fflush(f);
}

/* ---- receipts and acknowledgements ---------------------------------------------- */

int cli_flush_receipts(struct cli *c, struct cli_state *st, struct cli_conn *cn) {
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
    size_t sent = 0;
    if (cli_send_content(c, st, cn, ct, &m, 1, &sent) != 0)
      fprintf(stderr, "momedo: note: could not send a delivery receipt to %s: %s\n",
              contact_label(ct), c->why);
  }
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
    int rc = nodeapi_ack(&cn->api, &st->acct.device, items + off, k, cli_now_ms(), &acc);
    if (rc)
      fprintf(stderr, "momedo: note: acknowledging %zu item(s) failed: %s %s\n", k,
              momedo_strerror(rc), nodeapi_reason(&cn->api));
  }
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
  }
  if (rc == 0) rc = cli_flush_receipts(c, st, cn);
  if (rc == 0) rc = cli_save(c, st);
  if (rc == 0 && n_ack) ack_items(st, cn, acks, n_ack);
  free(acks);
  free(m);
  return rc;
}

int cli_sync_conn(struct cli *c, struct cli_state *st, struct cli_conn *cn, size_t *n_new) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  int rc = account_mailbox(&st->acct, mb);
  struct account_node *node = &st->acct.nodes[cn->node];
  for (int page = 0; rc == 0 && page < CLI_FETCH_PAGES_MAX; page++) {
    struct nodeapi_fetch f;
    rc = nodeapi_fetch(&cn->api, mb, node->cursor, CLI_FETCH_LIMIT, cli_now_ms(), &f);
    if (rc) return cli_api_fail(c, cn, rc, "fetching the mailbox failed");
    /* f borrows the session's buffers: copy before making more calls. */
    struct nodeapi_obj *objs = calloc(f.n ? f.n : 1, sizeof *objs);
    uint8_t **bufs = calloc(f.n ? f.n : 1, sizeof *bufs);
    if (!objs || !bufs) rc = cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < f.n; i++) {
      objs[i] = f.objs[i];
      if (!f.objs[i].ciphertext) continue;
      bufs[i] = malloc(f.objs[i].ciphertext_len ? f.objs[i].ciphertext_len : 1);
      if (!bufs[i]) {
        rc = cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
        break;
      }
      memcpy(bufs[i], f.objs[i].ciphertext, f.objs[i].ciphertext_len);
      objs[i].ciphertext = bufs[i];
      objs[i].data = NULL;
    }
    uint64_t next = f.next_cursor;
    int more = f.more;
    size_t n = f.n;
    if (rc == 0) {
      node->cursor = next > node->cursor ? next : node->cursor;
      rc = handle_batch(c, st, cn, objs, n, n_new);
    }
    for (size_t i = 0; bufs && i < n; i++) free(bufs[i]);
    free(bufs);
    free(objs);
    if (!more || n == 0) break;
  }
  return rc;
}

int cli_sync_all(struct cli *c, struct cli_state *st, size_t *n_new) {
  int ok = 0, last = 0;
  char first[CLI_WHY_MAX] = "";
  *n_new = 0;
  for (size_t i = 0; i < st->acct.n_nodes; i++) {
    struct cli_conn cn;
    int rc = cli_connect_node(c, st, &cn, i);
    if (rc == 0) {
      rc = cli_sync_conn(c, st, &cn, n_new);
      cli_conn_close(&cn);
      if (rc) {
        /* Forget what the failed batch changed in memory: it was not saved. */
        char why[CLI_WHY_MAX];
        snprintf(why, sizeof why, "%s", c->why);
        int r2 = cli_reacquire(c, st);
        if (r2) return r2;
        snprintf(c->why, sizeof c->why, "%s", why);
      }
      if (rc && momedo_status_kind(rc) != MOMEDO_KIND_IO && rc != MOMEDO_E_NOTFOUND) return rc;
    }
    if (rc == 0) ok++;
    else {
      last = rc;
      if (!first[0]) snprintf(first, sizeof first, "%s", c->why);
      fprintf(stderr, "momedo: note: node %s:%u: %s\n", st->acct.nodes[i].host,
              st->acct.nodes[i].port, c->why);
    }
  }
  if (!ok) return cli_fail(c, last ? last : MOMEDO_E_NOTFOUND, "no node could be synced: %s", first);
  return 0;
}

/* ---- commands ------------------------------------------------------------------- */

int cli_cmd_sync(struct cli *c) {
  struct cli_state st;
  size_t n = 0;
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = cli_sync_all(c, &st, &n);
  if (rc == 0 && !c->json) printf("%zu new message(s)\n", n);
  cli_close(&st);
  return rc;
}

/* Handle one pushed object under the home's lock (another command may have changed
 * the sessions in between). */
int cli_handle_event(struct cli *c, struct cli_state *st, struct cli_conn *cn,
                     const struct nodeapi_event *ev, size_t *n_new) {
  if (ev->err) {
    fprintf(stderr, "momedo: dropped an object the node pushed: %s\n", momedo_strerror(ev->err));
    return 0;
  }
  if (ev->kind != MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) return 0;
  struct arena a;
  ProtobufCMessage *msg = NULL;
  arena_init(&a, OBJ_DECODE_BYTES_MAX);
  int rc = obj_unpack(ev->kind, ev->data, ev->len, &a, &msg);
  if (rc == 0) {
    const Momedo__OzoneItem *it = (const Momedo__OzoneItem *)msg;
    struct nodeapi_obj o = {.seq = ev->seq, .kind = ev->kind, .info = ev->info,
                            .ciphertext = it->ciphertext.data,
                            .ciphertext_len = it->ciphertext.len};
    rc = cli_reacquire(c, st);
    if (rc == 0) rc = handle_batch(c, st, cn, &o, 1, n_new);
    if (rc == 0 && ev->seq > st->acct.nodes[cn->node].cursor) {
      st->acct.nodes[cn->node].cursor = ev->seq;
      rc = account_save(&st->acct, &st->vault);
    }
    cli_release(st);
  }
  arena_close(&a);
  return rc;
}

/* One connected stretch of listening: catch up, subscribe, handle pushes. Returns on
 * a link error (to reconnect) or when count messages were shown. */
static int listen_once(struct cli *c, struct cli_state *st, long count, size_t *n_new) {
  struct cli_conn cn;
  uint8_t mb[1][OBJ_MAILBOX_LEN];
  int rc = cli_reacquire(c, st);
  if (rc) return rc;
  rc = cli_connect(c, st, &cn);
  if (rc == 0) rc = account_mailbox(&st->acct, mb[0]);
  if (rc == 0 && (rc = nodeapi_subscribe(&cn.api, mb, 1)) != 0)
    rc = cli_api_fail(c, &cn, rc, "subscribing failed");
  if (rc == 0) rc = cli_sync_conn(c, st, &cn, n_new);
  cli_release(st);
  if (rc == 0 && !c->json)
    fprintf(stderr, "momedo: listening on %s:%u (Ctrl-C to stop)\n",
            st->acct.nodes[cn.node].host, st->acct.nodes[cn.node].port);
  while (rc == 0 && (count <= 0 || (long)*n_new < count)) {
    struct nodeapi_event ev;
    rc = nodeapi_wait_event(&cn.api, LISTEN_WAIT_MS, cli_now_ms(), &ev);
    if (rc == MOMEDO_E_TIMEOUT) {
      rc = 0;
      continue;
    }
    if (rc) {
      rc = cli_api_fail(c, &cn, rc, "the link to the node failed");
      break;
    }
    rc = cli_handle_event(c, st, &cn, &ev, n_new);
    nodeapi_event_clear(&ev);
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
    FILE *f = c->out;
    fputs("{\"type\":\"entry\",\"direction\":", f);
    cli_json_str(f, e->outgoing ? "out" : "in");
    fprintf(f, ",\"status\":\"%s\",\"task_state\":\"%s\",\"body\":",
            e->outgoing ? st_names[e->status & 3] : "received",
            task_names[e->task_state < 3 ? e->task_state : 0]);
    print_json_msg(c, &m);
    fputs("}\n", f);
    fflush(f);
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
  printf("   [%.12s%s%s]\n", hex, e->outgoing ? " " : "", e->outgoing ? st_names[e->status & 3] : "");
}

int cli_cmd_history(struct cli *c) {
  struct cli_state st;
  struct contact *ct = NULL;
  struct timeline t;
  int rc = cli_open(c, &st, 0);
  if (rc == 0) {
    ct = contacts_resolve(&st.contacts, c->pos[0]);
    if (!ct) rc = cli_fail(c, MOMEDO_E_NOTFOUND, "unknown contact '%s'", c->pos[0]);
  }
  if (rc == 0 && (rc = timeline_load(&t, &st.vault, ct->key)) != 0)
    rc = cli_fail(c, rc, "cannot read the conversation: %s", momedo_strerror(rc));
  if (rc == 0) {
    for (size_t i = 0; i < t.n; i++) print_entry(c, ct, &t.v[i]);
    if (!c->json && t.n == 0) printf("no messages with %s yet\n", contact_label(ct));
    timeline_free(&t);
  }
  cli_close(&st);
  return rc;
}
