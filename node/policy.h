/* node/policy.h — working-hours policies (docs/working-hours.md), sans-I/O: a named
 * policy (weekdays, hours, IANA time zone, holidays, override senders and channels),
 * whether it is open at an instant and when it opens next (time is an argument), and the
 * set of policies with the users assigned to them as DIR/policies.conf text. */
#ifndef MOMEDO_NODE_POLICY_H
#define MOMEDO_NODE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "status.h"
#include "tz.h"

#define POLICY_FILE "policies.conf"
#define POLICY_NAME_CHARS_MAX 32      /* [A-Za-z0-9._-], starting with a letter or digit */
#define POLICIES_MAX 32               /* per node */
#define POLICY_HOLIDAYS_MAX 400       /* dates per policy */
#define POLICY_SENDERS_MAX 64         /* override senders (user IDs) per policy */
#define POLICY_CHANNELS_MAX 64        /* override channels (mailbox IDs) per policy */
#define POLICY_USERS_MAX 1000         /* assignments per node */
#define POLICY_YEAR_MIN 2000          /* holiday dates */
#define POLICY_YEAR_MAX 2199
#define POLICY_SCAN_DAYS 400          /* policy_next_open looks this far ahead */
#define POLICY_FILE_BYTES_MAX (1024u * 1024)
#define POLICY_DAYS_CHARS_MAX 40      /* "Mon,Tue,Wed,Thu,Fri,Sat,Sun" */
#define POLICY_HOURS_CHARS_MAX 11     /* "07:00-18:00" */
#define POLICY_DATE_CHARS_MAX 10      /* "2026-12-25" */
#define POLICY_CHANNEL_LEN 32         /* a mailbox ID */

struct policy {
  char name[POLICY_NAME_CHARS_MAX + 1];
  uint8_t days;                       /* bit 0 Monday .. bit 6 Sunday */
  uint16_t start_min, end_min;        /* local minutes of the day, start < end <= 1440 */
  char tz[TZ_NAME_CHARS_MAX + 1];
  struct tz_zone zone;
  uint32_t n_holidays;
  int32_t holidays[POLICY_HOLIDAYS_MAX]; /* days since 1970-01-01, ascending, distinct */
  uint32_t n_senders;
  uint8_t senders[POLICY_SENDERS_MAX][IDS_USER_ID_BYTES];
  uint32_t n_channels;
  uint8_t channels[POLICY_CHANNELS_MAX][POLICY_CHANNEL_LEN];
};

struct policy_user {
  uint8_t uid[IDS_USER_ID_BYTES];
  uint32_t policy;                    /* index into policy_set.p */
};

struct policy_set {
  uint32_t n;
  struct policy *p[POLICIES_MAX];
  uint32_t n_users;
  struct policy_user users[POLICY_USERS_MAX];
};

/* Loads zone tz (a valid name, tz_name_valid) into z; E_NOTFOUND/E_INVAL with why. */
typedef int (*policy_zone_fn)(void *ctx, const char *tz, struct tz_zone *z, char *why,
                              size_t why_cap);

int policy_name_valid(const char *s);
/* "Mon-Fri", "Mon,Wed,Fri", "Mon-Thu,Sat" (English three-letter names, any case). */
MOMEDO_WUR int policy_days_parse(const char *s, uint8_t *mask, char *why, size_t why_cap);
void policy_days_format(char out[static POLICY_DAYS_CHARS_MAX], uint8_t mask);
/* "HH:MM-HH:MM", 00:00 <= start < end <= 24:00 (not across midnight). */
MOMEDO_WUR int policy_hours_parse(const char *s, uint16_t *start, uint16_t *end, char *why,
                                  size_t why_cap);
void policy_hours_format(char out[static POLICY_HOURS_CHARS_MAX + 1], uint16_t start,
                         uint16_t end);
/* "YYYY-MM-DD" within POLICY_YEAR_MIN..MAX, a real date. */
MOMEDO_WUR int policy_date_parse(const char *s, int32_t *day, char *why, size_t why_cap);
void policy_date_format(char out[static POLICY_DATE_CHARS_MAX + 1], int32_t day);

/* Fill p from text fields (holidays sorted and deduplicated; the zone through load). */
MOMEDO_WUR int policy_make(struct policy *p, const char *name, const char *days,
                           const char *hours, const char *tz, policy_zone_fn load, void *ctx,
                           char *why, size_t why_cap);
MOMEDO_WUR int policy_add_holiday(struct policy *p, const char *date, char *why, size_t why_cap);
MOMEDO_WUR int policy_add_sender(struct policy *p, const char *user_id, char *why,
                                 size_t why_cap);
MOMEDO_WUR int policy_add_channel(struct policy *p, const char *hex, char *why, size_t why_cap);
void policy_free(struct policy *p);

/* Open at now_ms (wall clock, ms since the epoch)? */
int policy_is_open(const struct policy *p, uint64_t now_ms);
/* The first instant >= now_ms at which p is open (now_ms itself when open), rounded up
 * to the second; 0 when it does not open within POLICY_SCAN_DAYS. */
uint64_t policy_next_open(const struct policy *p, uint64_t now_ms);
/* The zone's UTC offset in minutes at t_ms. */
int32_t policy_utc_offset_min(const struct policy *p, uint64_t t_ms);
int policy_names_sender(const struct policy *p, const uint8_t uid[static IDS_USER_ID_BYTES]);
int policy_names_channel(const struct policy *p, const uint8_t mailbox[static POLICY_CHANNEL_LEN]);

/* ---- the set ---- */
int policy_set_find(const struct policy_set *s, const char *name);        /* index or -1 */
/* The policy of a user (its index), or -1. */
int policy_set_user(const struct policy_set *s, const uint8_t uid[static IDS_USER_ID_BYTES]);
/* Put p into s (replacing one of the same name, keeping its users); s owns p after 0. */
MOMEDO_WUR int policy_set_put(struct policy_set *s, struct policy *p, char *why, size_t why_cap);
/* Remove a policy and its assignments. */
MOMEDO_WUR int policy_set_remove(struct policy_set *s, const char *name, char *why,
                                 size_t why_cap);
/* Assign user_id (text) to policy name (NULL or "": unassign). */
MOMEDO_WUR int policy_set_assign(struct policy_set *s, const char *name, const char *user_id,
                                 char *why, size_t why_cap);
void policy_set_free(struct policy_set *s);

/* DIR/policies.conf: "policy NAME DAYS HOURS TZ", then "holiday NAME DATE", "sender NAME
 * USERID", "channel NAME HEX", "assign NAME USERID" lines; '#' comments. E_CONFIG with
 * "FILE:LINE: ..." in why. */
MOMEDO_WUR int policy_set_parse(struct policy_set *s, const char *fname, const char *text,
                                size_t len, policy_zone_fn load, void *ctx, char *why,
                                size_t why_cap);
/* The file text of s (malloc'ed, NUL-terminated). */
MOMEDO_WUR int policy_set_format(const struct policy_set *s, char **out, size_t *len);

#endif
