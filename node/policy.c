/* node/policy.c — working-hours policies (policy.h): parsing and checking each field,
 * the schedule (open at an instant, next opening, DST-correct through the zone's
 * offsets) and the policies.conf text. Pure: zones come through a loader callback. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "policy.h"
#include "reason.h"

#define DAY_S 86400
static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

int policy_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > POLICY_NAME_CHARS_MAX || !isalnum((unsigned char)s[0])) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])) return 0;
  return 1;
}

static int day_index(const char *s, size_t n) {
  for (int i = 0; i < 7; i++)
    if (n == 3 && strncasecmp(s, day_names[i], 3) == 0) return i;
  return -1;
}

int policy_days_parse(const char *s, uint8_t *mask, char *why, size_t cap) {
  *mask = 0;
  size_t len = strlen(s);
  if (len < 3 || len > POLICY_DAYS_CHARS_MAX) goto bad;
  for (const char *p = s; *p;) {
    size_t n = strcspn(p, ",");
    const char *dash = memchr(p, '-', n);
    int a = day_index(p, dash ? (size_t)(dash - p) : n);
    int b = dash ? day_index(dash + 1, n - (size_t)(dash - p) - 1) : a;
    if (a < 0 || b < 0 || b < a) goto bad;
    for (int i = a; i <= b; i++) *mask |= (uint8_t)(1u << i);
    p += n;
    if (*p == ',' && *++p == '\0') goto bad;
  }
  return 0;
bad:
  reason_set(why, cap, "days \"%.40s\": give weekdays like Mon-Fri or Mon,Wed,Fri (Mon..Sun, "
             "ranges from an earlier to a later day)", s);
  return MOMEDO_E_INVAL;
}

void policy_days_format(char out[static POLICY_DAYS_CHARS_MAX], uint8_t mask) {
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < 7; i++) {
    if (!(mask >> i & 1)) continue;
    int j = i;
    while (j < 6 && (mask >> (j + 1) & 1)) j++;
    o += (size_t)snprintf(out + o, POLICY_DAYS_CHARS_MAX - o, "%s%s", o ? "," : "", day_names[i]);
    if (j > i) o += (size_t)snprintf(out + o, POLICY_DAYS_CHARS_MAX - o, "-%s", day_names[j]);
    i = j;
  }
}

static int hhmm(const char *s, uint16_t *min) {
  if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
      !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
    return -1;
  int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
  if (h > 24 || m > 59 || (h == 24 && m)) return -1;
  *min = (uint16_t)(h * 60 + m);
  return 0;
}

int policy_hours_parse(const char *s, uint16_t *start, uint16_t *end, char *why, size_t cap) {
  if (strlen(s) != POLICY_HOURS_CHARS_MAX || s[5] != '-' || hhmm(s, start) || hhmm(s + 6, end)) {
    reason_set(why, cap, "hours \"%.16s\": give HH:MM-HH:MM, e.g. 07:00-18:00 (00:00..24:00)", s);
    return MOMEDO_E_INVAL;
  }
  if (*start >= *end) {
    reason_set(why, cap, "hours \"%s\": the start must be before the end (hours do not span "
               "midnight; 24:00 ends a day)", s);
    return MOMEDO_E_INVAL;
  }
  return 0;
}

void policy_hours_format(char out[static POLICY_HOURS_CHARS_MAX + 1], uint16_t a, uint16_t b) {
  snprintf(out, POLICY_HOURS_CHARS_MAX + 1, "%02u:%02u-%02u:%02u", (unsigned)(a / 60) % 100,
           (unsigned)(a % 60), (unsigned)(b / 60) % 100, (unsigned)(b % 60));
}

int policy_date_parse(const char *s, int32_t *day, char *why, size_t cap) {
  int y = 0, m = 0, d = 0, used = 0;
  if (strlen(s) != POLICY_DATE_CHARS_MAX || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 ||
      used != POLICY_DATE_CHARS_MAX || s[4] != '-' || s[7] != '-' || !isdigit((unsigned char)s[5]) ||
      !isdigit((unsigned char)s[8]) || y < POLICY_YEAR_MIN || y > POLICY_YEAR_MAX || m < 1 ||
      m > 12 || d < 1)
    goto bad;
  int64_t t = tz_days_from_civil(y, m, d), yy;
  int mm, dd;
  tz_civil_from_days(t, &yy, &mm, &dd);
  if (mm != m || dd != d) goto bad; /* 2026-02-30 */
  *day = (int32_t)t;
  return 0;
bad:
  reason_set(why, cap, "date \"%.16s\": give YYYY-MM-DD, a real date in %d..%d", s,
             POLICY_YEAR_MIN, POLICY_YEAR_MAX);
  return MOMEDO_E_INVAL;
}

void policy_date_format(char out[static POLICY_DATE_CHARS_MAX + 1], int32_t day) {
  int64_t y;
  int m, d;
  tz_civil_from_days(day, &y, &m, &d);
  snprintf(out, POLICY_DATE_CHARS_MAX + 1, "%04u-%02u-%02u", (unsigned)(y % 10000),
           (unsigned)m % 100, (unsigned)d % 100);
}

int policy_make(struct policy *p, const char *name, const char *days, const char *hours,
                const char *tz, policy_zone_fn load, void *ctx, char *why, size_t cap) {
  memset(p, 0, sizeof *p);
  if (!policy_name_valid(name)) {
    reason_set(why, cap, "policy name \"%.40s\": 1..%d of [A-Za-z0-9._-], starting with a "
               "letter or digit", name, POLICY_NAME_CHARS_MAX);
    return MOMEDO_E_INVAL;
  }
  int rc = policy_days_parse(days, &p->days, why, cap);
  if (!rc) rc = policy_hours_parse(hours, &p->start_min, &p->end_min, why, cap);
  if (rc) return rc;
  if (!tz_name_valid(tz)) {
    reason_set(why, cap, "time zone \"%.70s\": give an IANA name like Europe/Berlin", tz);
    return MOMEDO_E_INVAL;
  }
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->tz, sizeof p->tz, "%s", tz);
  return load(ctx, tz, &p->zone, why, cap);
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int policy_add_holiday(struct policy *p, const char *date, char *why, size_t cap) {
  int32_t d;
  int rc = policy_date_parse(date, &d, why, cap);
  if (rc) return rc;
  for (uint32_t i = 0; i < p->n_holidays; i++)
    if (p->holidays[i] == d) return 0;
  if (p->n_holidays >= POLICY_HOLIDAYS_MAX) {
    reason_set(why, cap, "at most %d holidays per policy", POLICY_HOLIDAYS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  p->holidays[p->n_holidays++] = d;
  qsort(p->holidays, p->n_holidays, sizeof p->holidays[0], cmp_i32);
  return 0;
}

int policy_add_sender(struct policy *p, const char *user_id, char *why, size_t cap) {
  uint8_t uid[IDS_USER_ID_BYTES];
  int rc = ids_user_id_parse(uid, user_id);
  if (rc) {
    reason_set(why, cap, "user ID \"%.40s\": %s", user_id,
               rc == MOMEDO_E_CHECKSUM ? "mistyped (check character)" : "not a user ID");
    return MOMEDO_E_INVAL;
  }
  if (policy_names_sender(p, uid)) return 0;
  if (p->n_senders >= POLICY_SENDERS_MAX) {
    reason_set(why, cap, "at most %d override senders per policy", POLICY_SENDERS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  memcpy(p->senders[p->n_senders++], uid, IDS_USER_ID_BYTES);
  return 0;
}

int policy_add_channel(struct policy *p, const char *hex, char *why, size_t cap) {
  uint8_t mb[POLICY_CHANNEL_LEN];
  if (hex_decode_str(mb, sizeof mb, hex) != 0) {
    reason_set(why, cap, "channel \"%.70s\": give the mailbox ID as 64 hex digits", hex);
    return MOMEDO_E_INVAL;
  }
  if (policy_names_channel(p, mb)) return 0;
  if (p->n_channels >= POLICY_CHANNELS_MAX) {
    reason_set(why, cap, "at most %d override channels per policy", POLICY_CHANNELS_MAX);
    return MOMEDO_E_BOUNDS;
  }
  memcpy(p->channels[p->n_channels++], mb, POLICY_CHANNEL_LEN);
  return 0;
}

void policy_free(struct policy *p) {
  if (p) tz_free(&p->zone);
  free(p);
}

/* ---- the schedule ---- */

static int is_holiday(const struct policy *p, int64_t day) {
  uint32_t lo = 0, hi = p->n_holidays;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (p->holidays[mid] == day) return 1;
    if (p->holidays[mid] < day) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static int open_at(const struct policy *p, int64_t t) {
  int64_t local = t + tz_offset(&p->zone, t), day = floor_div(local, DAY_S);
  int64_t min = (local - day * DAY_S) / 60;
  return (p->days >> tz_weekday(day) & 1) && !is_holiday(p, day) && min >= p->start_min &&
         min < p->end_min;
}

int policy_is_open(const struct policy *p, uint64_t now_ms) {
  return open_at(p, (int64_t)(now_ms / 1000));
}

/* The first second in (lo, hi] whose offset differs from lo's (the one change there). */
static int64_t change_in(const struct policy *p, int64_t lo, int64_t hi) {
  int32_t o = tz_offset(&p->zone, lo);
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    if (tz_offset(&p->zone, mid) == o) lo = mid;
    else hi = mid;
  }
  return hi;
}

/* Openings happen only where the local time reaches start_min under one of the offsets
 * around that day, or at an offset change (a start inside a DST gap opens at the gap's
 * end): check those candidates, nearest day first. */
uint64_t policy_next_open(const struct policy *p, uint64_t now_ms) {
  int64_t t = (int64_t)((now_ms + 999) / 1000);
  if (open_at(p, (int64_t)(now_ms / 1000))) return now_ms;
  int64_t day0 = floor_div(t + tz_offset(&p->zone, t), DAY_S);
  for (int64_t d = day0; d <= day0 + POLICY_SCAN_DAYS; d++) {
    int64_t ls = d * DAY_S + (int64_t)p->start_min * 60, best = INT64_MAX;
    int64_t c[3] = {ls - tz_offset(&p->zone, ls - 2 * DAY_S), ls - tz_offset(&p->zone, ls + 2 * DAY_S),
                    INT64_MAX};
    int64_t lo = d * DAY_S - 2 * DAY_S, hi = d * DAY_S + 2 * DAY_S;
    if (tz_offset(&p->zone, lo) != tz_offset(&p->zone, hi)) c[2] = change_in(p, lo, hi);
    for (int i = 0; i < 3; i++)
      if (c[i] != INT64_MAX && c[i] >= t && c[i] < best && open_at(p, c[i])) best = c[i];
    if (best != INT64_MAX) return (uint64_t)best * 1000;
  }
  return 0;
}

int32_t policy_utc_offset_min(const struct policy *p, uint64_t t_ms) {
  return tz_offset(&p->zone, (int64_t)(t_ms / 1000)) / 60;
}

int policy_names_sender(const struct policy *p, const uint8_t uid[static IDS_USER_ID_BYTES]) {
  for (uint32_t i = 0; i < p->n_senders; i++)
    if (memcmp(p->senders[i], uid, IDS_USER_ID_BYTES) == 0) return 1;
  return 0;
}

int policy_names_channel(const struct policy *p, const uint8_t mb[static POLICY_CHANNEL_LEN]) {
  for (uint32_t i = 0; i < p->n_channels; i++)
    if (memcmp(p->channels[i], mb, POLICY_CHANNEL_LEN) == 0) return 1;
  return 0;
}
