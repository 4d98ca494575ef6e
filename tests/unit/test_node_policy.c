/* tests/unit/test_node_policy.c — working-hours schedules (node/policy.h, node/tz.h):
 * Europe/Berlin through the spring and autumn DST changes of 2026, a holiday, weekday
 * and minute edges, hours that start inside the DST gap or repeat in the autumn hour,
 * offsets checked hour by hour against glibc's own reading of the zone (2000..2100, so
 * the TZif footer rule past 2037 too), the policies.conf text, and bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "hours.h"
#include "policy.h"

/* 2026-MM-DD hh:mm UTC in ms */
static uint64_t utc(int y, int mo, int d, int h, int mi) {
  return (uint64_t)((tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60)) * 1000;
}

static struct policy *make(const char *days, const char *hours) {
  char why[REASON_MAX];
  struct policy *p = malloc(sizeof *p);
  if (!p) return NULL;
  if (policy_make(p, "Verwaltung", days, hours, "Europe/Berlin", node__tz_load, NULL, why,
                  sizeof why) != 0) {
    fprintf(stderr, "policy_make: %s\n", why);
    free(p);
    return NULL;
  }
  return p;
}

static void test_weekday_edges(void) {
  struct policy *p = make("Mon-Fri", "07:00-18:00");
  CHECK(p);
  /* Monday 2026-01-12, CET (UTC+1): 07:00 local = 06:00 UTC. */
  CHECK(!policy_is_open(p, utc(2026, 1, 12, 5, 59) + 59999));
  CHECK(policy_is_open(p, utc(2026, 1, 12, 6, 0)));
  CHECK(policy_is_open(p, utc(2026, 1, 12, 16, 59) + 59999));
  CHECK(!policy_is_open(p, utc(2026, 1, 12, 17, 0)));
  CHECK_EQ(policy_next_open(p, utc(2026, 1, 12, 17, 0)), utc(2026, 1, 13, 6, 0));
  CHECK_EQ(policy_next_open(p, utc(2026, 1, 12, 9, 0)), utc(2026, 1, 12, 9, 0)); /* open */
  /* Friday evening -> Monday morning; Saturday and Sunday closed all day. */
  CHECK(!policy_is_open(p, utc(2026, 1, 17, 10, 0)));
  CHECK(!policy_is_open(p, utc(2026, 1, 18, 10, 0)));
  CHECK_EQ(policy_next_open(p, utc(2026, 1, 16, 17, 0)), utc(2026, 1, 19, 6, 0));
  CHECK_EQ(policy_next_open(p, utc(2026, 1, 16, 23, 30)), utc(2026, 1, 19, 6, 0)); /* Sat local */
  CHECK_EQ(policy_utc_offset_min(p, utc(2026, 1, 12, 6, 0)), 60);
  policy_free(p);
}

static void test_dst_spring(void) {
  struct policy *p = make("Mon-Fri", "07:00-18:00");
  CHECK(p);
  /* 2026-03-29 (Sunday) 02:00 CET -> 03:00 CEST. Friday 27th: 07:00 = 06:00 UTC;
   * Monday 30th: 07:00 CEST = 05:00 UTC. */
  CHECK(policy_is_open(p, utc(2026, 3, 27, 6, 0)));
  CHECK(!policy_is_open(p, utc(2026, 3, 27, 17, 0)));
  CHECK_EQ(policy_next_open(p, utc(2026, 3, 27, 17, 0)), utc(2026, 3, 30, 5, 0));
  CHECK(!policy_is_open(p, utc(2026, 3, 30, 4, 59)));
  CHECK(policy_is_open(p, utc(2026, 3, 30, 5, 0)));
  CHECK(!policy_is_open(p, utc(2026, 3, 30, 16, 0))); /* 18:00 CEST */
  CHECK_EQ(policy_utc_offset_min(p, utc(2026, 3, 30, 5, 0)), 120);
  policy_free(p);
  /* Hours starting inside the gap (02:30 does not exist that Sunday): open at 03:00
   * CEST, the gap's end, = 01:00 UTC; not at 00:30 or 01:30 UTC. */
  p = make("Sun", "02:30-05:00");
  CHECK(p);
  CHECK_EQ(policy_next_open(p, utc(2026, 3, 28, 22, 0)), utc(2026, 3, 29, 1, 0));
  CHECK(!policy_is_open(p, utc(2026, 3, 29, 0, 59)));
  CHECK(policy_is_open(p, utc(2026, 3, 29, 1, 0)));
  policy_free(p);
}

static void test_dst_autumn(void) {
  struct policy *p = make("Mon-Fri", "07:00-18:00");
  CHECK(p);
  /* 2026-10-25 (Sunday) 03:00 CEST -> 02:00 CET. Friday 23rd closes 18:00 CEST = 16:00
   * UTC; Monday 26th opens 07:00 CET = 06:00 UTC. */
  CHECK(policy_is_open(p, utc(2026, 10, 23, 15, 59)));
  CHECK(!policy_is_open(p, utc(2026, 10, 23, 16, 0)));
  CHECK_EQ(policy_next_open(p, utc(2026, 10, 23, 16, 0)), utc(2026, 10, 26, 6, 0));
  CHECK(!policy_is_open(p, utc(2026, 10, 26, 5, 59)));
  policy_free(p);
  /* The repeated hour: 02:00-02:30 local happens at 00:00 UTC (CEST) and again at
   * 01:00 UTC (CET); closed between. */
  p = make("Sun", "02:00-02:30");
  CHECK(p);
  CHECK(policy_is_open(p, utc(2026, 10, 25, 0, 10)));
  CHECK(!policy_is_open(p, utc(2026, 10, 25, 0, 45)));
  CHECK_EQ(policy_next_open(p, utc(2026, 10, 25, 0, 45)), utc(2026, 10, 25, 1, 0));
  CHECK(policy_is_open(p, utc(2026, 10, 25, 1, 10)));
  policy_free(p);
}

static void test_holiday(void) {
  char why[REASON_MAX];
  struct policy *p = make("Mon-Fri", "07:00-18:00");
  CHECK(p);
  /* Thursday 2026-12-24 after hours; Friday 25th and Saturday 26th holidays (Berlin's
   * Christmas); next opening Monday 28th 07:00 CET. */
  CHECK_EQ(policy_add_holiday(p, "2026-12-25", why, sizeof why), 0);
  CHECK_EQ(policy_add_holiday(p, "2026-12-26", why, sizeof why), 0);
  CHECK_EQ(policy_add_holiday(p, "2026-12-25", why, sizeof why), 0); /* twice: once */
  CHECK_EQ(p->n_holidays, 2);
  CHECK(!policy_is_open(p, utc(2026, 12, 25, 10, 0)));
  CHECK(policy_is_open(p, utc(2026, 12, 24, 10, 0)));
  CHECK_EQ(policy_next_open(p, utc(2026, 12, 24, 17, 0)), utc(2026, 12, 28, 6, 0));
  policy_free(p);
}

/* tz_offset against glibc's localtime_r for the same zone, every hour 2000..2100. */
static void test_offsets_match_glibc(void) {
  static const char *const zones[] = {"Europe/Berlin", "Australia/Sydney", "America/New_York"};
  char why[REASON_MAX];
  for (size_t z = 0; z < 3; z++) {
    struct tz_zone zone;
    CHECK_EQ(node__tz_load(NULL, zones[z], &zone, why, sizeof why), 0);
    setenv("TZ", zones[z], 1);
    tzset();
    int64_t from = tz_days_from_civil(2000, 1, 1) * 86400, to = tz_days_from_civil(2100, 1, 1) * 86400;
    long bad = 0;
    for (int64_t t = from; t < to; t += 3600) {
      time_t tt = (time_t)t;
      struct tm tm;
      localtime_r(&tt, &tm);
      if (tm.tm_gmtoff != tz_offset(&zone, t)) bad++;
    }
    tz_free(&zone);
    CHECK_EQ(bad, 0);
  }
  unsetenv("TZ");
}

static void test_bad_input(void) {
  char why[REASON_MAX];
  uint8_t mask;
  uint16_t a, b;
  int32_t d;
  struct tz_zone z;
  CHECK_EQ(policy_days_parse("Fri-Mon", &mask, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_days_parse("Mo-Fr", &mask, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_days_parse("Mon,", &mask, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_days_parse("", &mask, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_days_parse("mon-thu,SAT", &mask, why, sizeof why), 0);
  CHECK_EQ(mask, 0x2f);
  char txt[POLICY_DAYS_CHARS_MAX];
  policy_days_format(txt, mask);
  CHECK_STR(txt, "Mon-Thu,Sat");
  CHECK_EQ(policy_hours_parse("18:00-07:00", &a, &b, why, sizeof why), MOMEDO_E_INVAL);
  CHECK(strstr(why, "midnight"));
  CHECK_EQ(policy_hours_parse("7:00-18:00", &a, &b, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_hours_parse("07:00-24:01", &a, &b, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_hours_parse("07:60-18:00", &a, &b, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_hours_parse("00:00-24:00", &a, &b, why, sizeof why), 0);
  CHECK_EQ(b, 1440);
  CHECK_EQ(policy_date_parse("2026-02-29", &d, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_date_parse("1999-12-31", &d, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_date_parse("2026-1-5", &d, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_date_parse("2028-02-29", &d, why, sizeof why), 0);
  CHECK(!tz_name_valid("../../etc/passwd"));
  CHECK(!tz_name_valid("/Europe/Berlin"));
  CHECK(!tz_name_valid("Europe//Berlin"));
  CHECK(tz_name_valid("Etc/GMT+1"));
  CHECK_EQ(node__tz_load(NULL, "Europe/Atlantis", &z, why, sizeof why), MOMEDO_E_NOTFOUND);
  struct policy p;
  CHECK_EQ(policy_make(&p, "x", "Mon", "07:00-08:00", "../etc/passwd", node__tz_load, NULL, why,
                       sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(policy_make(&p, "bad name", "Mon", "07:00-08:00", "UTC", node__tz_load, NULL, why,
                       sizeof why), MOMEDO_E_INVAL);
  /* TZif bytes: cut short at every length, and a wrong magic. */
  char *buf = NULL;
  size_t len = 0;
  CHECK_EQ(node_file_read(TZ_DIR_DEFAULT "/Europe/Berlin", TZ_FILE_BYTES_MAX, &buf, &len), 0);
  for (size_t n = 0; n < len; n++) {
    if (tz_parse(&z, (uint8_t *)buf, n, why, sizeof why) == 0) {
      tz_free(&z);
      free(buf);
      CHECK(!"a cut TZif file parsed");
    }
  }
  buf[0] = 'X';
  CHECK_EQ(tz_parse(&z, (uint8_t *)buf, len, why, sizeof why), MOMEDO_E_INVAL);
  free(buf);
  CHECK_EQ(tz_posix_parse(&z, "CET-1CEST,J60,M10.5.0", why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(tz_posix_parse(&z, "CET-1CEST,M13.5.0,M10.5.0", why, sizeof why), MOMEDO_E_INVAL);
}

static void test_conf_roundtrip(void) {
  static const char text[] =
      "# test\n"
      "policy Verwaltung mon-fri 07:00-18:00 Europe/Berlin\n"
      "holiday Verwaltung 2026-12-25\n"
      "channel Verwaltung " "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
      "policy Krisenstab Mon-Sun 00:00-24:00 Europe/Berlin\n";
  char why[REASON_MAX], *out = NULL;
  size_t len = 0;
  static struct policy_set s, s2;
  CHECK_EQ(policy_set_parse(&s, "policies.conf", text, sizeof text - 1, node__tz_load, NULL, why,
                            sizeof why), 0);
  CHECK_EQ(s.n, 2);
  CHECK_EQ(s.p[0]->n_holidays, 1);
  CHECK_EQ(policy_set_format(&s, &out, &len), 0);
  CHECK(strstr(out, "policy Verwaltung Mon-Fri 07:00-18:00 Europe/Berlin\n"));
  CHECK_EQ(policy_set_parse(&s2, "policies.conf", out, len, node__tz_load, NULL, why,
                            sizeof why), 0);
  CHECK_EQ(s2.n, 2);
  free(out);
  policy_set_free(&s);
  policy_set_free(&s2);
  static const char *const bad[] = {
      "holiday Verwaltung 2026-12-25\n",                          /* before its policy */
      "policy A Mon-Fri 07:00-18:00 Europe/Berlin\npolicy A Mon 07:00-08:00 UTC\n",
      "policy A Mon-Fri 07:00-18:00 Europe/Berlin extra\n",
      "policy A Mon-Fri 07:00-18:00 Europe/Berlin\nassign A NOT-A-USER-ID\n",
      "policy A Mon-Fri 07:00-18:00 Europe/Berlin\nholiday A 2026-13-01\n",
      "frobnicate A B\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = policy_set_parse(&s, "policies.conf", bad[i], strlen(bad[i]), node__tz_load, NULL,
                              why, sizeof why);
    CHECK_EQ(rc, MOMEDO_E_CONFIG);
    CHECK(strncmp(why, "policies.conf:", 14) == 0);
  }
}

int main(void) {
  RUN(test_weekday_edges);
  RUN(test_dst_spring);
  RUN(test_dst_autumn);
  RUN(test_holiday);
  RUN(test_offsets_match_glibc);
  RUN(test_bad_input);
  RUN(test_conf_roundtrip);
  TEST_MAIN_END();
}
