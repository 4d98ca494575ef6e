/* admin/cmd_policy.c — `momedo-admin policy ...`: working-hours policies
 * (docs/working-hours.md): list, show, set (with holidays from the command line or a
 * file of dates), assign/unassign users, remove; and the part `status` shows. The node
 * checks every field; a holidays file is read here (first word of each line). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adm.h"
#include "config.h"
#include "policy.h"

#define ADM_HOLIDAY_FILE_BYTES_MAX (64u * 1024)

static void fmt_time(char out[static 40], uint64_t ms, int32_t off_min) {
  time_t t = (time_t)(ms / 1000) + (time_t)off_min * 60;
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(out, 40, "%a %Y-%m-%d %H:%M", &tm)) {
    snprintf(out, 40, "?");
    return;
  }
  size_t n = strlen(out);
  int a = off_min < 0 ? -off_min : off_min;
  snprintf(out + n, 40 - n, " (UTC%c%02d:%02d)", off_min < 0 ? '-' : '+', (a / 60) % 100, a % 60);
}

static void strs_json(struct jsonw *j, const char *key, size_t n, char **v) {
  jsonw_open(j, key, '[');
  for (size_t i = 0; i < n; i++) jsonw_str(j, NULL, v[i]);
  jsonw_close(j);
}

void adm_policies_json(struct jsonw *j, const Momedo__PolicyListResp *l, int users) {
  jsonw_open(j, "policies", '[');
  for (size_t i = 0; i < l->n_policies; i++) {
    const Momedo__PolicyInfo *p = l->policies[i];
    jsonw_open(j, NULL, '{');
    jsonw_str(j, "name", p->name);
    jsonw_str(j, "days", p->days);
    jsonw_str(j, "hours", p->hours);
    jsonw_str(j, "tz", p->tz);
    strs_json(j, "holidays", p->n_holidays, p->holidays);
    strs_json(j, "override_senders", p->n_senders, p->senders);
    strs_json(j, "override_channels", p->n_channels, p->channels);
    if (users) strs_json(j, "users", p->n_users, p->users);
    jsonw_bool(j, "open_now", p->open_now);
    jsonw_u64(j, "next_open_ms", p->next_open_ms);
    jsonw_i64(j, "utc_offset_min", p->utc_offset_min);
    jsonw_close(j);
  }
  jsonw_close(j);
  jsonw_u64(j, "pushes_held", l->pushes_held);
  jsonw_u64(j, "pushes_held_total", l->pushes_held_total);
  jsonw_u64(j, "pushes_released_total", l->pushes_released_total);
}

void adm_print_policies(const Momedo__PolicyListResp *l, int users) {
  for (size_t i = 0; i < l->n_policies; i++) {
    const Momedo__PolicyInfo *p = l->policies[i];
    char when[40] = "";
    if (!p->open_now && p->next_open_ms) fmt_time(when, p->next_open_ms, p->utc_offset_min);
    printf("  policy %s: %s %s %s, %zu holidays, %zu override senders, %zu channels; %s%s%s\n",
           p->name, p->days, p->hours, p->tz, p->n_holidays, p->n_senders, p->n_channels,
           p->open_now ? "open now" : "closed", when[0] ? ", opens " : "", when);
    for (size_t k = 0; users && k < p->n_users; k++) printf("    user %s\n", p->users[k]);
  }
  printf("  working hours: %" PRIu64 " pushes held now (%" PRIu64 " held, %" PRIu64
         " released since start)\n", l->pushes_held, l->pushes_held_total,
         l->pushes_released_total);
}

/* Dates from a file, one a line (first word; '#' comments and blank lines skipped). */
static int read_holidays(struct adm_ctx *ctx, const char *path, char **v, size_t *n,
                         char **buf) {
  size_t len = 0;
  int rc = node_file_read(path, ADM_HOLIDAY_FILE_BYTES_MAX, buf, &len);
  if (rc)
    return adm_fail(ctx, ADM_EXIT_USAGE, rc, "cannot read %s: %s", path, momedo_strerror(rc));
  char *save = NULL;
  for (char *line = strtok_r(*buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *h = strchr(line, '#'), *ws = NULL;
    if (h) *h = '\0';
    char *w = strtok_r(line, " \t\r", &ws);
    if (!w) continue;
    if (*n >= POLICY_HOLIDAYS_MAX)
      return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_BOUNDS, "%s: more than %d dates", path,
                      POLICY_HOLIDAYS_MAX);
    v[(*n)++] = w;
  }
  return 0;
}

static int add_opt(struct adm_ctx *ctx, char **v, size_t *n, size_t max, char *val,
                   const char *what) {
  if (*n >= max)
    return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_BOUNDS, "at most %zu %s", max, what);
  v[(*n)++] = val;
  return 0;
}

static int set_args(struct adm_ctx *ctx, int argc, char **argv, Momedo__PolicySetReq *r,
                    char **buf) {
  static char *hol[POLICY_HOLIDAYS_MAX], *snd[POLICY_SENDERS_MAX], *chn[POLICY_CHANNELS_MAX];
  static const struct option opts[] = {
      /* vals other than 'd', 'j', 'h' (--dir, --json, --help) */
      {"days", required_argument, NULL, 'D'},   {"hours", required_argument, NULL, 'O'},
      {"tz", required_argument, NULL, 'z'},     {"holiday", required_argument, NULL, 'H'},
      {"holidays-file", required_argument, NULL, 'F'},
      {"sender", required_argument, NULL, 's'}, {"channel", required_argument, NULL, 'c'},
      {0}};
  int c, rc = 0;
  r->days = r->hours = r->tz = "";
  r->holidays = hol, r->senders = snd, r->channels = chn;
  while (rc == 0 && (c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c == 'D') r->days = optarg;
    else if (c == 'O') r->hours = optarg;
    else if (c == 'z') r->tz = optarg;
    else if (c == 'H') rc = add_opt(ctx, hol, &r->n_holidays, POLICY_HOLIDAYS_MAX, optarg, "holidays");
    else if (c == 'F' && *buf) rc = adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "one --holidays-file");
    else if (c == 'F') rc = read_holidays(ctx, optarg, hol, &r->n_holidays, buf);
    else if (c == 's') rc = add_opt(ctx, snd, &r->n_senders, POLICY_SENDERS_MAX, optarg, "senders");
    else if (c == 'c') rc = add_opt(ctx, chn, &r->n_channels, POLICY_CHANNELS_MAX, optarg, "channels");
    else return ADM_EXIT_USAGE;
  }
  if (rc) return rc;
  return 0;
}

static int set_missing(struct adm_ctx *ctx) {
  return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL,
                  "policy set NAME needs --days (Mon-Fri), --hours (07:00-18:00) and --tz "
                  "(Europe/Berlin)");
}

static int show(struct adm_ctx *ctx, const Momedo__AdminResponse *resp, const char *what) {
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_POLICIES)
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no policy list");
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    if (what) jsonw_str(&j, "message", what);
    adm_policies_json(&j, resp->policies, 1);
    jsonw_end(&j);
    return ADM_EXIT_OK;
  }
  if (what) printf("%s\n", what);
  if (resp->policies->n_policies == 0) printf("  no working-hours policies\n");
  adm_print_policies(resp->policies, 1);
  return ADM_EXIT_OK;
}

int adm_cmd_policy(struct adm_ctx *ctx, int argc, char **argv) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__PolicySetReq set = MOMEDO__POLICY_SET_REQ__INIT;
  Momedo__PolicyAssignReq as = MOMEDO__POLICY_ASSIGN_REQ__INIT;
  Momedo__PolicyRemoveReq rm = MOMEDO__POLICY_REMOVE_REQ__INIT;
  Momedo__PolicyListReq ls = MOMEDO__POLICY_LIST_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  char *buf = NULL, msg[REASON_MAX] = "";
  /* The options of `set` are parsed for every verb (getopt moves the words behind
   * them) and refused for the others. */
  int rc = set_args(ctx, argc, argv, &set, &buf), given = *set.days || *set.hours || *set.tz;
  if (rc) goto out;
  int np = argc - optind - 1; /* words after the verb */
  const char *verb = np >= 0 ? argv[optind] : "";
  char **a = argv + optind + 1;
  if (strcmp(verb, "set") != 0 && (given || set.n_holidays || set.n_senders || set.n_channels)) {
    rc = adm_usage(ctx);
    goto out;
  }
  if (strcmp(verb, "set") == 0 && np == 1 && given) {
    set.name = a[0];
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_POLICY_SET, req.policy_set = &set;
    snprintf(msg, sizeof msg, "policy %.40s set", a[0]);
  } else if (strcmp(verb, "list") == 0 && np == 0) {
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_POLICY_LIST, req.policy_list = &ls;
  } else if (strcmp(verb, "show") == 0 && np == 1) {
    ls.name = a[0];
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_POLICY_LIST, req.policy_list = &ls;
  } else if (strcmp(verb, "assign") == 0 && np == 2) {
    as.name = a[0], as.user_id = a[1];
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_POLICY_ASSIGN, req.policy_assign = &as;
    snprintf(msg, sizeof msg, "user %.40s now has policy %.40s", a[1], a[0]);
  } else if (strcmp(verb, "unassign") == 0 && np == 1) {
    as.user_id = a[0];
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_POLICY_ASSIGN, req.policy_assign = &as;
    snprintf(msg, sizeof msg, "user %.40s has no policy now", a[0]);
  } else if (strcmp(verb, "remove") == 0 && np == 1) {
    rm.name = a[0];
    req.body_case = MOMEDO__ADMIN_REQUEST__BODY_POLICY_REMOVE, req.policy_remove = &rm;
  } else {
    rc = strcmp(verb, "set") == 0 && np == 1 ? set_missing(ctx) : adm_usage(ctx);
    goto out;
  }
  rc = adm_call(ctx, &req, &resp);
  if (rc) goto out;
  if (req.body_case == MOMEDO__ADMIN_REQUEST__BODY_POLICY_REMOVE)
    rc = adm_ok_message(ctx, resp->reason);
  else
    rc = show(ctx, resp, msg[0] ? msg : NULL);
out:
  free(buf);
  return rc;
}
