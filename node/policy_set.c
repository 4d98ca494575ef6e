/* node/policy_set.c — the node's working-hours policies as a set (policy.h): put,
 * remove, assign users, and the DIR/policies.conf text (parsed line by line with
 * file:line errors, written back in a canonical order). Pure: no files, no clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "policy.h"
#include "reason.h"

#define WORDS_MAX 6

int policy_set_find(const struct policy_set *s, const char *name) {
  for (uint32_t i = 0; i < s->n; i++)
    if (strcmp(s->p[i]->name, name) == 0) return (int)i;
  return -1;
}

int policy_set_user(const struct policy_set *s, const uint8_t uid[static IDS_USER_ID_BYTES]) {
  for (uint32_t i = 0; i < s->n_users; i++)
    if (memcmp(s->users[i].uid, uid, IDS_USER_ID_BYTES) == 0) return (int)s->users[i].policy;
  return -1;
}

int policy_set_put(struct policy_set *s, struct policy *p, char *why, size_t cap) {
  int i = policy_set_find(s, p->name);
  if (i >= 0) {
    policy_free(s->p[i]);
    s->p[i] = p;
    return 0;
  }
  if (s->n >= POLICIES_MAX) {
    reason_set(why, cap, "at most %d policies per node", POLICIES_MAX);
    return MOMEDO_E_BOUNDS;
  }
  s->p[s->n++] = p;
  return 0;
}

int policy_set_remove(struct policy_set *s, const char *name, char *why, size_t cap) {
  int i = policy_set_find(s, name);
  if (i < 0) {
    reason_set(why, cap, "no policy called \"%.40s\"", name);
    return MOMEDO_E_NOTFOUND;
  }
  uint32_t k = 0;
  for (uint32_t j = 0; j < s->n_users; j++) {
    if (s->users[j].policy == (uint32_t)i) continue;
    s->users[k] = s->users[j];
    if (s->users[k].policy > (uint32_t)i) s->users[k].policy--;
    k++;
  }
  s->n_users = k;
  policy_free(s->p[i]);
  memmove(&s->p[i], &s->p[i + 1], (s->n - (uint32_t)i - 1) * sizeof s->p[0]);
  s->n--;
  return 0;
}

int policy_set_assign(struct policy_set *s, const char *name, const char *user_id, char *why,
                      size_t cap) {
  uint8_t uid[IDS_USER_ID_BYTES];
  int rc = ids_user_id_parse(uid, user_id), pi = -1;
  if (rc) {
    reason_set(why, cap, "user ID \"%.40s\": %s", user_id,
               rc == MOMEDO_E_CHECKSUM ? "mistyped (check character)" : "not a user ID");
    return MOMEDO_E_INVAL;
  }
  if (name && *name && (pi = policy_set_find(s, name)) < 0) {
    reason_set(why, cap, "no policy called \"%.40s\"", name);
    return MOMEDO_E_NOTFOUND;
  }
  for (uint32_t j = 0; j < s->n_users; j++) {
    if (memcmp(s->users[j].uid, uid, IDS_USER_ID_BYTES) != 0) continue;
    if (pi >= 0) {
      s->users[j].policy = (uint32_t)pi;
      return 0;
    }
    s->users[j] = s->users[--s->n_users];
    return 0;
  }
  if (pi < 0) {
    reason_set(why, cap, "user %.40s has no policy", user_id);
    return MOMEDO_E_NOTFOUND;
  }
  if (s->n_users >= POLICY_USERS_MAX) {
    reason_set(why, cap, "at most %d users with a policy per node", POLICY_USERS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  memcpy(s->users[s->n_users].uid, uid, IDS_USER_ID_BYTES);
  s->users[s->n_users++].policy = (uint32_t)pi;
  return 0;
}

void policy_set_free(struct policy_set *s) {
  for (uint32_t i = 0; i < s->n; i++) policy_free(s->p[i]);
  s->n = 0;
  s->n_users = 0;
}

/* ---- policies.conf ---- */

static size_t split(char *line, char *w[WORDS_MAX + 1]) {
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
    if (n > WORDS_MAX) break;
    w[n++] = tok;
  }
  return n;
}

static int parse_line(struct policy_set *s, char *line, policy_zone_fn load, void *ctx,
                      char *why, size_t cap) {
  char *w[WORDS_MAX + 1];
  size_t n = split(line, w);
  if (n == 0) return 0;
  if (strcmp(w[0], "policy") == 0) {
    if (n != 5) goto words;
    struct policy *p = malloc(sizeof *p);
    if (!p) return MOMEDO_E_NOMEM;
    int rc = policy_make(p, w[1], w[2], w[3], w[4], load, ctx, why, cap);
    if (!rc && policy_set_find(s, p->name) >= 0) {
      reason_set(why, cap, "policy \"%s\" is defined twice", p->name);
      rc = MOMEDO_E_INVAL;
    }
    if (!rc) rc = policy_set_put(s, p, why, cap);
    if (rc) policy_free(p);
    return rc;
  }
  if (n != 3) goto words;
  if (strcmp(w[0], "assign") == 0) return policy_set_assign(s, w[1], w[2], why, cap);
  int i = policy_set_find(s, w[1]);
  if (i < 0) {
    reason_set(why, cap, "no policy \"%.40s\" defined above this line", w[1]);
    return MOMEDO_E_NOTFOUND;
  }
  if (strcmp(w[0], "holiday") == 0) return policy_add_holiday(s->p[i], w[2], why, cap);
  if (strcmp(w[0], "sender") == 0) return policy_add_sender(s->p[i], w[2], why, cap);
  if (strcmp(w[0], "channel") == 0) return policy_add_channel(s->p[i], w[2], why, cap);
  reason_set(why, cap, "unknown keyword \"%.20s\" (policy, holiday, sender, channel, assign)", w[0]);
  return MOMEDO_E_INVAL;
words:
  reason_set(why, cap, "wrong number of words: \"policy NAME DAYS HOURS TZ\", or \"holiday|"
             "sender|channel|assign NAME VALUE\"");
  return MOMEDO_E_INVAL;
}

int policy_set_parse(struct policy_set *s, const char *fname, const char *text, size_t len,
                     policy_zone_fn load, void *ctx, char *why, size_t cap) {
  char line[REASON_MAX], err[REASON_MAX];
  size_t lineno = 0;
  memset(s, 0, sizeof *s);
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
    lineno++;
    int rc = 0;
    if (n >= sizeof line) {
      reason_set(err, sizeof err, "line longer than %zu bytes", sizeof line - 1);
      rc = MOMEDO_E_INVAL;
    } else {
      memcpy(line, text + pos, n);
      line[n] = '\0';
      if (memchr(line, '\0', n)) snprintf(line, sizeof line, "\x01");
      char *hash = strchr(line, '#');
      if (hash) *hash = '\0';
      rc = parse_line(s, line, load, ctx, err, sizeof err);
    }
    if (rc) {
      reason_set(why, cap, "%s:%zu: %s", fname, lineno, err);
      policy_set_free(s);
      return rc == MOMEDO_E_NOMEM ? rc : MOMEDO_E_CONFIG;
    }
    pos += n + 1;
  }
  return 0;
}

struct sbuf {
  char *p;
  size_t len, cap;
  int failed;
};

static void append(struct sbuf *b, const char *text, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 4096;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->failed = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, text, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* One "KEYWORD NAME VALUE" line. */
static void put(struct sbuf *b, const char *kw, const char *name, const char *value) {
  char line[REASON_MAX];
  int n = snprintf(line, sizeof line, "%s %s %s\n", kw, name, value);
  if (n < 0 || (size_t)n >= sizeof line) b->failed = 1;
  else append(b, line, (size_t)n);
}

static void format_policy(struct sbuf *b, const struct policy_set *s, uint32_t i) {
  const struct policy *p = s->p[i];
  char days[POLICY_DAYS_CHARS_MAX], hours[POLICY_HOURS_CHARS_MAX + 1], v[2 * POLICY_CHANNEL_LEN + 1];
  char spec[POLICY_DAYS_CHARS_MAX + POLICY_HOURS_CHARS_MAX + TZ_NAME_CHARS_MAX + 4];
  policy_days_format(days, p->days);
  policy_hours_format(hours, p->start_min, p->end_min);
  snprintf(spec, sizeof spec, "%s %s %s", days, hours, p->tz);
  put(b, "policy", p->name, spec);
  for (uint32_t k = 0; k < p->n_holidays; k++) {
    policy_date_format(v, p->holidays[k]);
    put(b, "holiday", p->name, v);
  }
  for (uint32_t k = 0; k < p->n_senders; k++)
    if (ids_user_id_format(v, p->senders[k]) == 0) put(b, "sender", p->name, v);
  for (uint32_t k = 0; k < p->n_channels; k++) {
    hex_encode(v, sizeof v, p->channels[k], POLICY_CHANNEL_LEN);
    put(b, "channel", p->name, v);
  }
  for (uint32_t k = 0; k < s->n_users; k++)
    if (s->users[k].policy == i && ids_user_id_format(v, s->users[k].uid) == 0)
      put(b, "assign", p->name, v);
}

int policy_set_format(const struct policy_set *s, char **out, size_t *len) {
  struct sbuf b = {0};
  static const char head[] = "# momedo working-hours policies (docs/working-hours.md); "
                             "written by momedo-admin policy ...\n";
  append(&b, head, sizeof head - 1);
  for (uint32_t i = 0; i < s->n; i++) format_policy(&b, s, i);
  if (b.failed) {
    free(b.p);
    return MOMEDO_E_NOMEM;
  }
  *out = b.p;
  *len = b.len;
  return 0;
}
