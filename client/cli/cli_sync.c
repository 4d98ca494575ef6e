/* client/cli/cli_sync.c — `sync`, `listen` and `history`, and printing a message for
 * people or as one JSON object per line (the engine's ENG_EV_MESSAGE events arrive here
 * through cli_events.c). Fetching, receiving, acknowledging and live subscriptions are
 * the engine's (client/core/engine_sync.c); listen waits for pushes and hands each to
 * the engine under the home's lock. */
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

static const char *const task_names[] = {"open", "accepted", "done"};

/* A task's due date: a group row keeps its sender in due and the date in note. */
static const char *task_due(const struct eng_msg *m) {
  return m->group_kind ? m->e.note : m->e.due;
}

/* The message's fields into the object open in j (a line of its own, or an entry's body). */
static void json_msg(struct jsonw *j, const struct eng_msg *m) {
  const struct tl_entry *e = &m->e;
  jsonw_str(j, "type", "message");
  if (m->group_kind) {
    jsonw_str_or_null(j, "group", m->group);
    if (m->group_kind == 1) jsonw_str(j, "group_id", m->group_id);
    else jsonw_str_or_null(j, "channel", m->group + strlen(ENG_CHANNEL_PREFIX));
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
  if (e->kind == TL_TASK) jsonw_str_or_null(j, "due", task_due(m));
  if (e->kind == TL_TASK_REPLY) {
    jsonw_hex(j, "task_id", e->ref, TL_ID_LEN);
    jsonw_str(j, "action", action_name(e->task_state));
  }
  cli__json_extras(j, e);
}

/* One history entry: {"type":"entry","direction":..., [status, task_state,] "body":{...}}. */
static void print_json_entry(struct cli *c, const struct eng_msg *m, int outgoing,
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
    char label[sizeof ((struct eng_msg *)0)->from_label];
    size_t count[2]; /* message IDs received (delivered), read */
  } peer[CLI_TALLY_PEERS_MAX + 1]; /* the last one: "others" */
};

static void tally_add(struct cli_tally *t, const struct eng_msg *m) {
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

void cli_print_msg(struct cli *c, const struct eng_msg *m) {
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
  eng_format_time(when, e->sent_ms);
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
      fprintf(f, "TASK \"%s\"%s%s - `momedo task %s %.12s`", e->text, task_due(m) ? " due " : "",
              task_due(m) ? task_due(m) : "",
              e->flags & TL_F_APPROVAL ? "approve|decline" : "accept", hex);
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

/* ---- commands ------------------------------------------------------------------- */

/* For people: each new message on its line, then one line that sums up the sync and
 * the receipts it brought. --json prints every receipt with its message IDs. */
int cli_cmd_sync(struct cli *c) {
  struct eng_state *st = NULL;
  struct cli_tally tally;
  size_t n = 0;
  memset(&tally, 0, sizeof tally);
  c->tally = &tally;
  int rc = cli_open(c, &st, 1);
  if (rc == 0) rc = eng_sync_all(&c->e, st, &n);
  if (rc == 0 && !c->json) {
    fprintf(c->out, "%zu new message(s)", n);
    tally_print(c->out, &tally, 0);
    tally_print(c->out, &tally, 1);
    fputs("\n", c->out);
  }
  c->tally = NULL;
  eng_state_free(st);
  return rc;
}

static int listen_once(struct cli *c, struct eng_state *st, long count, size_t *n_new) {
  struct eng_conn *cn = NULL;
  int rc = eng_conn_new(&cn);
  if (rc == 0) rc = eng_listen_begin(&c->e, st, cn, n_new);
  if (rc == 0 && !c->json) {
    const struct account_node *nd = eng_node_at(st, eng_conn_node(cn));
    fprintf(stderr, "momedo: listening on %s:%u (Ctrl-C to stop)\n", nd->host, nd->port);
  }
  struct eng_watch w = {.dropped = 0, .last_ms = os_wall_ms()};
  while (rc == 0 && (count <= 0 || (long)*n_new < count)) {
    rc = eng_conn_wait(&c->e, cn, LISTEN_WAIT_MS); /* else: the link to the node failed */
    if (rc == MOMEDO_E_TIMEOUT) {
      rc = eng_watch_check(&c->e, st, cn, &w, 1, n_new);
      continue;
    }
    if (rc) break;
    rc = eng_handle_event(&c->e, st, cn, n_new);
    /* A record may have brought a new group or epoch: listen there too. */
    if (rc == 0) rc = eng_listen_update(&c->e, st, cn, n_new);
    /* Events dropped while the queue was full: fetch what they announced. */
    if (rc == 0) rc = eng_watch_check(&c->e, st, cn, &w, 0, n_new);
  }
  eng_conn_free(cn);
  return rc;
}

int cli_cmd_listen(struct cli *c) {
  struct eng_state *st = NULL;
  size_t n = 0;
  long count = c->opt[CO_COUNT] ? strtol(c->opt[CO_COUNT], NULL, 10) : 0;
  int rc = cli_open(c, &st, 1), delay = 500;
  eng_release(st);
  while (rc == 0 && (count <= 0 || (long)n < count)) {
    size_t before = n;
    rc = listen_once(c, st, count, &n);
    if (count > 0 && (long)n >= count) break;
    if (rc && momedo_status_kind(rc) != MOMEDO_KIND_IO && rc != MOMEDO_E_CLOSED) break;
    fprintf(stderr, "momedo: connection lost (%s); reconnecting\n", rc ? c->e.why : "closed");
    usleep((useconds_t)delay * 1000);
    delay = n > before ? 500 : (delay * 2 > LISTEN_RETRY_MS_MAX ? LISTEN_RETRY_MS_MAX : delay * 2);
    rc = 0;
  }
  eng_state_free(st);
  return rc;
}

static void print_entry(struct cli *c, const struct contact *ct, const struct tl_entry *e) {
  char hex[2 * TL_ID_LEN + 1], when[32];
  static const char *st_names[] = {"", "sent", "delivered", "read"};
  tl_id_hex(hex, e->id);
  if (c->json) {
    struct eng_msg m;
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
  eng_format_time(when, e->sent_ms);
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
static void print_group_entry(struct cli *c, struct eng_state *st, int kind, const char *label,
                              const uint8_t *gid, const struct tl_entry *e) {
  static struct eng_msg m;
  memset(&m, 0, sizeof m);
  m.e = *e;
  m.group_kind = kind;
  m.sync_copy = e->outgoing;
  snprintf(m.group, sizeof m.group, "%s", label);
  if (gid) hex_encode(m.group_id, sizeof m.group_id, gid, GROUP_ID_LEN);
  snprintf(m.sender, sizeof m.sender, "%s", e->due ? e->due : "");
  snprintf(m.from_label, sizeof m.from_label, "%.*s", (int)sizeof m.from_label - 1, m.sender);
  if (kind == 1) {
    const struct contact *ct = e->due ? eng_contact_resolve(st, e->due) : NULL;
    snprintf(m.from_uid, sizeof m.from_uid, "%.*s", IDS_USER_ID_STR_MAX - 1, m.sender);
    if (e->outgoing) snprintf(m.from_label, sizeof m.from_label, "you");
    else if (ct && ct->name[0]) snprintf(m.from_label, sizeof m.from_label, "%s", ct->name);
  }
  if (!c->json) {
    cli_print_msg(c, &m);
    return;
  }
  print_json_entry(c, &m, e->outgoing, NULL,
                   e->kind == TL_TASK ? task_names[e->task_state < 3 ? e->task_state : 0] : NULL);
}

/* TO names a passphrase channel, a group or a contact: *peer is its timeline. */
static int history_target(struct cli *c, struct eng_state *st, const char *to, int *kind,
                          const uint8_t **peer, struct contact **ct, char *label, size_t cap) {
  size_t pl = strlen(ENG_CHANNEL_PREFIX);
  int amb = 0;
  if (!strncmp(to, ENG_CHANNEL_PREFIX, pl)) {
    struct eng_channel *ch = eng_channel_find(st, to + pl);
    if (!ch) return cli_fail(c, MOMEDO_E_NOTFOUND, "not in channel '%s'", to + pl);
    *kind = 2;
    *peer = eng_channel_mailbox(ch);
    snprintf(label, cap, "%s", to);
    return 0;
  }
  struct eng_group *cg = eng_group_lookup(st, to, &amb);
  *ct = eng_contact_resolve(st, to);
  if ((cg && *ct) || amb)
    return cli_fail(c, MOMEDO_E_EXISTS, "'%s' names %s: give the group ID prefix or the "
                    "contact's user ID", to, amb ? "several groups" : "a contact and a group");
  if (cg) {
    *kind = 1;
    *peer = eng_group_id(cg);
    snprintf(label, cap, "%s", eng_group_name(cg));
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
static int history_read(struct cli *c, struct eng_state *st, const struct hist_conv *hc,
                        size_t want, struct tl_entry **out, size_t *n) {
  int64_t rows[HIST_PAGE_MAX], before = 0;
  *n = 0;
  *out = calloc(want ? want : 1, sizeof **out);
  if (!*out) return cli_fail(c, MOMEDO_E_NOMEM, "out of memory");
  while (*n < want) {
    size_t k = want - *n < HIST_PAGE_MAX ? want - *n : HIST_PAGE_MAX, got = 0;
    int rc = eng_hist_page(st, hc, before, k, *out + *n, rows, &got);
    if (rc) return cli_fail(c, rc, "cannot read the conversation: %s", momedo_strerror(rc));
    *n += got;
    if (got < k) break;
    before = rows[got - 1];
  }
  return 0;
}

/* history TO [--count N]: the newest N messages (CLI_HISTORY_DEFAULT), oldest first. */
int cli_cmd_history(struct cli *c) {
  struct eng_state *st = NULL;
  struct contact *ct = NULL;
  struct hist_conv hc;
  struct tl_entry *v = NULL;
  const uint8_t *peer = NULL;
  char label[ENG_LABEL_MAX];
  int kind = 0;
  size_t n = 0, want = c->opt[CO_COUNT] ? (size_t)strtol(c->opt[CO_COUNT], NULL, 10)
                                        : CLI_HISTORY_DEFAULT;
  int rc = cli_open(c, &st, 0);
  if (rc == 0) rc = history_target(c, st, c->pos[0], &kind, &peer, &ct, label, sizeof label);
  if (rc == 0 && (rc = eng_hist_conv(st, (enum hist_conv_kind)(kind + 1), peer, &hc)) != 0)
    rc = cli_fail(c, rc, "cannot read the history: %s", momedo_strerror(rc));
  if (rc == 0) rc = history_read(c, st, &hc, want, &v, &n);
  for (size_t i = n; rc == 0 && i-- > 0;) {
    if (kind) print_group_entry(c, st, kind, label, kind == 1 ? peer : NULL, &v[i]);
    else print_entry(c, ct, &v[i]);
  }
  if (rc == 0 && !c->json && n == 0) printf("no messages with %s yet\n", label);
  for (size_t i = 0; v && i < n; i++) tl_entry_clear(&v[i]);
  free(v);
  eng_state_free(st);
  return rc;
}
