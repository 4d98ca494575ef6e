/* node/tz.h — time zones for working-hours policies (policy.h), sans-I/O: a TZif file
 * (RFC 8536, version 2 or later, as /usr/share/zoneinfo holds them) parsed from bytes
 * into a zone, and the zone's UTC offset at an instant, with its POSIX-TZ footer rule
 * for instants after the table. No TZ variable, no localtime: nothing process-global. */
#ifndef MOMEDO_NODE_TZ_H
#define MOMEDO_NODE_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define TZ_NAME_CHARS_MAX 64          /* "Europe/Berlin"; [A-Za-z0-9_+-] parts joined by '/' */
#define TZ_FILE_BYTES_MAX (64u * 1024) /* a larger TZif file is refused */
#define TZ_TRANS_MAX 4000             /* transitions kept (Europe/Berlin has ~150) */
#define TZ_TYPES_MAX 256
#define TZ_UTOFF_MAX (26 * 3600)      /* |UTC offset| of a local time type */
#define TZ_FOOTER_CHARS_MAX 128
#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"

struct tz_rule_at {
  int month, week, wday;               /* Mm.w.d: month 1..12, week 1..5 (5 = last), 0 = Sun */
  int32_t secs;                        /* local time of the change, -167 h .. 167 h */
};

struct tz_zone {
  uint32_t n_trans;
  int64_t *trans;                      /* UTC seconds, ascending */
  uint8_t *idx;                        /* type of each transition */
  uint32_t n_types;
  int32_t utoff[TZ_TYPES_MAX];         /* seconds east of UTC */
  int has_rule;                        /* the footer: for instants after the last transition */
  int rule_dst;                        /* the footer names a DST part with a rule */
  int32_t std_off, dst_off;            /* seconds east of UTC */
  struct tz_rule_at start, end;
};

/* 1 if s is a zone name we look up: 1..TZ_NAME_CHARS_MAX chars of [A-Za-z0-9_+-/], no
 * empty, "." or ".." part, not starting with '/'. */
int tz_name_valid(const char *s);

/* Parse TZif bytes (version 2+); E_INVAL with why for anything out of shape or bounds. The
 * zone owns malloc'ed tables: tz_free. */
MOMEDO_WUR int tz_parse(struct tz_zone *z, const uint8_t *data, size_t len, char *why,
                        size_t why_cap);
void tz_free(struct tz_zone *z);

/* Parse a POSIX TZ string of the footer form ("CET-1CEST,M3.5.0,M10.5.0/3", "UTC0",
 * "<+03>-3"); only the Mm.w.d rule form (the only one tzdata's footers use for DST). */
MOMEDO_WUR int tz_posix_parse(struct tz_zone *z, const char *s, char *why, size_t why_cap);

/* Seconds east of UTC at utc_s. */
int32_t tz_offset(const struct tz_zone *z, int64_t utc_s);

/* Civil calendar helpers (proleptic Gregorian, days since 1970-01-01). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int tz_weekday(int64_t days);          /* 0 = Monday .. 6 = Sunday */

#endif
