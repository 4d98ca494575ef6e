/* node/tz.c — TZif parsing and UTC offsets (tz.h). The file's version-2 section (64-bit
 * times) is read; its version-1 section only skipped. Instants before the first
 * transition take type 0, after the last one the footer's rule (or the last type when
 * the footer is empty). The calendar arithmetic counts days in 400-year eras. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "tz.h"

#define TZ_HEADER_BYTES 44
#define DAY_S 86400
#define RULE_SECS_MAX (167 * 3600) /* RFC 8536 3.3.1: rule times may exceed 24 h */

int tz_name_valid(const char *s) {
  size_t n = strlen(s), part = 0;
  if (n < 1 || n > TZ_NAME_CHARS_MAX || s[0] == '/') return 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '/') {
      if (part == 0) return 0;
      if ((part == 1 && s[i - 1] == '.') || (part == 2 && s[i - 1] == '.' && s[i - 2] == '.'))
        return 0;
      part = 0;
      continue;
    }
    if (!isalnum((unsigned char)s[i]) && !strchr("_+-.", s[i])) return 0;
    part++;
  }
  return 1;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64s(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tz_counts {
  uint32_t isut, isstd, leap, time, type, chars;
};

static int header(const uint8_t *p, size_t len, struct tz_counts *c) {
  if (len < TZ_HEADER_BYTES || memcmp(p, "TZif", 4) != 0) return MOMEDO_E_INVAL;
  c->isut = be32(p + 20);
  c->isstd = be32(p + 24);
  c->leap = be32(p + 28);
  c->time = be32(p + 32);
  c->type = be32(p + 36);
  c->chars = be32(p + 40);
  return 0;
}

/* Bytes of a data block after its header (tsize: 4 in version 1, 8 in version 2+). */
static uint64_t block_bytes(const struct tz_counts *c, unsigned tsize) {
  return (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 + c->chars +
         (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int fail(char *why, size_t cap, const char *what) {
  reason_set(why, cap, "not a usable TZif file: %s", what);
  return MOMEDO_E_INVAL;
}

static int read_types(struct tz_zone *z, const uint8_t *p, const struct tz_counts *c, char *why,
                      size_t cap) {
  for (uint32_t i = 0; i < c->time; i++) {
    z->trans[i] = be64s(p + 8 * (size_t)i);
    z->idx[i] = p[8 * (size_t)c->time + i];
    if (z->idx[i] >= c->type) return fail(why, cap, "transition names a missing type");
    if (i && z->trans[i] <= z->trans[i - 1]) return fail(why, cap, "transitions out of order");
  }
  const uint8_t *t = p + 9 * (size_t)c->time;
  for (uint32_t i = 0; i < c->type; i++) {
    int32_t off = (int32_t)be32(t + 6 * (size_t)i);
    if (off > TZ_UTOFF_MAX || off < -TZ_UTOFF_MAX) return fail(why, cap, "UTC offset out of range");
    z->utoff[i] = off;
  }
  z->n_trans = c->time;
  z->n_types = c->type;
  return 0;
}

int tz_parse(struct tz_zone *z, const uint8_t *data, size_t len, char *why, size_t cap) {
  struct tz_counts c1, c2;
  memset(z, 0, sizeof *z);
  if (len > TZ_FILE_BYTES_MAX) return fail(why, cap, "larger than 64 KiB");
  if (header(data, len, &c1) != 0) return fail(why, cap, "no TZif header");
  if (data[4] < '2') return fail(why, cap, "version 1 (no 64-bit section)");
  uint64_t off = TZ_HEADER_BYTES + block_bytes(&c1, 4);
  if (off > len || header(data + off, len - off, &c2) != 0)
    return fail(why, cap, "no version-2 header");
  if (c2.type < 1 || c2.type > TZ_TYPES_MAX || c2.time > TZ_TRANS_MAX)
    return fail(why, cap, "too many (or no) types or transitions");
  const uint8_t *p = data + off + TZ_HEADER_BYTES;
  uint64_t body = block_bytes(&c2, 8);
  if (off + TZ_HEADER_BYTES + body > len) return fail(why, cap, "cut short");
  z->trans = malloc(c2.time ? c2.time * sizeof *z->trans : 1);
  z->idx = malloc(c2.time ? c2.time : 1);
  if (!z->trans || !z->idx) {
    tz_free(z);
    return MOMEDO_E_NOMEM;
  }
  int rc = read_types(z, p, &c2, why, cap);
  /* The footer: "\n" TZ-string "\n" (empty string: no rule). */
  const char *f = (const char *)p + body;
  size_t flen = len - (size_t)(off + TZ_HEADER_BYTES + body);
  char footer[TZ_FOOTER_CHARS_MAX + 1];
  if (!rc && (flen < 2 || f[0] != '\n' || f[flen - 1] != '\n' || flen - 2 > TZ_FOOTER_CHARS_MAX))
    rc = fail(why, cap, "footer missing or too long");
  if (!rc && flen > 2) {
    memcpy(footer, f + 1, flen - 2);
    footer[flen - 2] = '\0';
    if (strlen(footer) != flen - 2) rc = fail(why, cap, "NUL in the footer");
    if (!rc) rc = tz_posix_parse(z, footer, why, cap);
  }
  if (rc) tz_free(z);
  return rc;
}

void tz_free(struct tz_zone *z) {
  free(z->trans);
  free(z->idx);
  z->trans = NULL;
  z->idx = NULL;
  z->n_trans = 0;
}

/* ---- POSIX TZ strings ---- */

static int p_name(const char **s) {
  const char *p = *s;
  if (*p == '<') {
    while (*++p && *p != '>')
      if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-') return -1;
    if (*p != '>' || p - *s < 4) return -1;
    *s = p + 1;
    return 0;
  }
  while (isalpha((unsigned char)*p)) p++;
  if (p - *s < 3) return -1;
  *s = p;
  return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; seconds, sign applied. */
static int p_time(const char **s, int max_h, int32_t *out) {
  const char *p = *s;
  int sign = 1, part[3] = {0, 0, 0};
  if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
  for (int i = 0; i < 3; i++) {
    if (i && *p != ':') break;
    if (i) p++;
    if (!isdigit((unsigned char)*p)) return -1;
    int v = 0, digits = 0;
    while (isdigit((unsigned char)*p) && digits < 3) v = v * 10 + (*p++ - '0'), digits++;
    if (isdigit((unsigned char)*p) || (i && v > 59) || (!i && v > max_h)) return -1;
    part[i] = v;
  }
  *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
  *s = p;
  return 0;
}

static int p_num(const char **s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(*s, &end, 10);
  if (end == *s || !isdigit((unsigned char)**s) || v < lo || v > hi) return -1;
  *out = (int)v;
  *s = end;
  return 0;
}

static int p_rule_at(const char **s, struct tz_rule_at *r) {
  const char *p = *s;
  if (*p++ != 'M') return -1; /* Jn and n forms: tzdata's footers do not use them */
  if (p_num(&p, 1, 12, &r->month) || *p++ != '.' || p_num(&p, 1, 5, &r->week) ||
      *p++ != '.' || p_num(&p, 0, 6, &r->wday))
    return -1;
  r->secs = 2 * 3600;
  if (*p == '/' && (p++, p_time(&p, 167, &r->secs) != 0)) return -1;
  *s = p;
  return 0;
}

int tz_posix_parse(struct tz_zone *z, const char *s, char *why, size_t cap) {
  const char *p = s;
  int32_t off = 0;
  z->has_rule = 0;
  z->rule_dst = 0;
  if (p_name(&p) || p_time(&p, 24, &off)) goto bad;
  z->std_off = z->dst_off = -off; /* POSIX counts west of UTC */
  if (*p == '\0') goto ok;
  if (p_name(&p)) goto bad;
  z->dst_off = z->std_off + 3600;
  if (*p != ',' && *p != '\0') {
    if (p_time(&p, 24, &off)) goto bad;
    z->dst_off = -off;
  }
  if (*p++ != ',' || p_rule_at(&p, &z->start) || *p++ != ',' || p_rule_at(&p, &z->end) || *p)
    goto bad;
  z->rule_dst = 1;
ok:
  if (z->std_off > TZ_UTOFF_MAX || z->std_off < -TZ_UTOFF_MAX || z->dst_off > TZ_UTOFF_MAX ||
      z->dst_off < -TZ_UTOFF_MAX)
    goto bad;
  z->has_rule = 1;
  return 0;
bad:
  reason_set(why, cap, "TZ rule \"%.64s\" is not of the supported form (like CET-1CEST,M3.5.0,M10.5.0/3)", s);
  return MOMEDO_E_INVAL;
}

/* ---- calendar ---- */

int64_t tz_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2; /* years start in March: the leap day ends them */
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* 0..399 */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 from March 1 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
  return era * 146097 + doe - 719468;                            /* 1970-03-01 - 0000-03-01 */
}

void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(int64_t days) { /* 1970-01-01 was a Thursday */
  int64_t w = (days + 3) % 7;
  return (int)(w < 0 ? w + 7 : w);
}

static int month_days(int64_t y, int m) {
  static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return n[m - 1] + (m == 2 && leap);
}

/* UTC second of rule point r in year y, its local time counted at offset off. */
static int64_t rule_utc(const struct tz_rule_at *r, int64_t y, int32_t off) {
  int64_t first = tz_days_from_civil(y, r->month, 1);
  int wd_first = (tz_weekday(first) + 1) % 7; /* 0 = Sunday, as POSIX counts */
  int day = 1 + (r->wday - wd_first + 7) % 7 + (r->week - 1) * 7;
  while (day > month_days(y, r->month)) day -= 7;
  return (first + day - 1) * DAY_S + r->secs - off;
}

static int32_t rule_offset(const struct tz_zone *z, int64_t t) {
  if (!z->rule_dst) return z->std_off;
  int64_t y;
  int m, d;
  int64_t day = (t + z->std_off) / DAY_S - ((t + z->std_off) % DAY_S < 0);
  tz_civil_from_days(day, &y, &m, &d);
  int64_t on = rule_utc(&z->start, y, z->std_off), off = rule_utc(&z->end, y, z->dst_off);
  int dst = on < off ? (t >= on && t < off) : !(t >= off && t < on);
  return dst ? z->dst_off : z->std_off;
}

int32_t tz_offset(const struct tz_zone *z, int64_t t) {
  if (z->n_trans == 0 || t < z->trans[0])
    return z->n_trans == 0 && z->has_rule ? rule_offset(z, t) : z->utoff[0];
  if (t >= z->trans[z->n_trans - 1] && z->has_rule) return rule_offset(z, t);
  uint32_t lo = 0, hi = z->n_trans; /* the last transition <= t */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (z->trans[mid] <= t) lo = mid;
    else hi = mid;
  }
  return z->utoff[z->idx[lo]];
}
