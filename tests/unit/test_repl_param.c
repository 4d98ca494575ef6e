/* Unit tests for the replication engine's parameter table (replication/repl_param.c):
 * every row sane (bounds around the default, units in the name, field width), defaults,
 * set/get, repl_new refusing each bound's neighbour, and the one value parser. */
#include "harness.h"

#include "repl.h"
#include "repl_param_cases.h"
#include "store.h"

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_rows(void) {
  struct repl_config c;
  repl_config_default(&c);
  CHECK(repl_params_n >= 6 && repl_params_n <= REPL_PARAMS_MAX);
  for (size_t i = 0; i < repl_params_n; i++) {
    const struct repl_param *p = &repl_params[i];
    CHECK(p->min <= p->def && p->def <= p->max);
    CHECK(p->size == 4 || p->size == 8);
    CHECK(p->off + p->size <= offsetof(struct repl_config, check));
    CHECK(p->size == 8 || p->max <= UINT32_MAX);
    CHECK(p->help != NULL && strlen(p->help) > 10);
    CHECK_EQ(repl_param_get(&c, p), p->def);
    CHECK(repl_param_find(p->name) == p);
    /* Units last (STYLE.md): the name says what the number counts. */
    if (p->unit == REPL_UNIT_MS) CHECK(ends_with(p->name, "_ms") || ends_with(p->name, "_ms_max"));
    if (p->unit == REPL_UNIT_BYTES) CHECK(ends_with(p->name, "_bytes_max"));
    for (size_t j = 0; j < i; j++) CHECK(strcmp(repl_params[j].name, p->name) != 0);
  }
  CHECK(repl_param_find("recon_interval_s") == NULL);
  CHECK(repl_param_find("") == NULL);
  CHECK_EQ(repl_config_check(&c), 0);
  CHECK(c.check == NULL && c.check_ctx == NULL);
  /* The values momedod and the simulator used before the table. */
  CHECK_EQ(c.recon_interval_ms, 60000);
  CHECK_EQ(c.recon_jitter_ms, 15000);
  CHECK_EQ(c.recon_start_delay_ms_max, 1000);
  CHECK_EQ(c.recon_branch, 8);
  CHECK_EQ(c.recon_leaf_ids_max, 8);
  CHECK_EQ(c.peer_queue_bytes_max, 8u * 1024 * 1024);
}

/* Setting outside the bounds changes nothing; repl_new takes min and max and refuses
 * one step beyond either. */
static int no_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  (void)ctx, (void)msg, (void)len, (void)sig;
  return MOMEDO_E_CRYPTO;
}

/* Defaults, with the signer scoped mode needs (never called: no peer comes up). */
static void config_default_signed(struct repl_config *c) {
  repl_config_default(c);
  c->sign = no_sign;
}

static void test_bounds(void) {
  struct store *s = NULL;
  CHECK_EQ(store_mem_open(&s), 0);
  for (size_t i = 0; i < repl_params_n; i++) {
    const struct repl_param *p = &repl_params[i];
    struct repl_config c;
    struct repl *r = NULL;
    config_default_signed(&c);
    CHECK_EQ(repl_param_set(&c, p, p->max + 1), MOMEDO_E_BOUNDS);
    CHECK_EQ(repl_param_get(&c, p), p->def);
    if (p->min > 0) CHECK_EQ(repl_param_set(&c, p, p->min - 1), MOMEDO_E_BOUNDS);
    CHECK_EQ(repl_param_set(&c, p, p->min), 0);
    CHECK_EQ(repl_new(&c, s, 1, 0, &r), 0);
    repl_free(r);
    CHECK_EQ(repl_param_set(&c, p, p->max), 0);
    CHECK_EQ(repl_new(&c, s, 1, 0, &r), 0);
    repl_free(r);
    /* Beyond the bounds by writing the field directly: what repl_new checks. */
    uint64_t over = p->max + 1;
    if (p->size == 4) {
      uint32_t v = (uint32_t)over;
      memcpy((char *)&c + p->off, &v, 4);
    } else {
      memcpy((char *)&c + p->off, &over, 8);
    }
    if (p->size == 8 || p->max < UINT32_MAX) {
      r = NULL;
      CHECK_EQ(repl_new(&c, s, 1, 0, &r), MOMEDO_E_INVAL);
      CHECK(r == NULL);
    }
    if (p->min > 0) {
      uint64_t under = p->min - 1;
      config_default_signed(&c);
      if (p->size == 4) memcpy((char *)&c + p->off, &(uint32_t){(uint32_t)under}, 4);
      else memcpy((char *)&c + p->off, &under, 8);
      CHECK_EQ(repl_new(&c, s, 1, 0, &r), MOMEDO_E_INVAL);
    }
  }
  store_close(s);
}

static void test_parse(void) {
  char why[REPL_PARAM_TEXT_MAX];
  for (size_t i = 0; i < REPL_PARAM_GOOD_N; i++) {
    const struct repl_param *p = repl_param_find(repl_param_good[i].name);
    uint64_t v = 0;
    CHECK(p != NULL);
    CHECK_EQ(repl_param_parse(p, repl_param_good[i].text, &v, why, sizeof why), 0);
    CHECK_EQ(v, repl_param_good[i].want);
  }
  for (size_t i = 0; i < REPL_PARAM_BAD_N; i++) {
    const struct repl_param *p = repl_param_find(repl_param_bad[i].name);
    uint64_t v = 12345;
    why[0] = 0;
    CHECK(p != NULL);
    int rc = repl_param_parse(p, repl_param_bad[i].text, &v, why, sizeof why);
    if (rc != MOMEDO_E_CONFIG) fprintf(stderr, "accepted %s %s\n", p->name, repl_param_bad[i].text);
    CHECK_EQ(rc, MOMEDO_E_CONFIG);
    CHECK_EQ(v, 12345);
    CHECK(strncmp(why, p->name, strlen(p->name)) == 0); /* names the parameter */
  }
  /* The message states the unit and the bounds. */
  const struct repl_param *p = repl_param_find("recon_interval_ms");
  uint64_t v;
  CHECK_EQ(repl_param_parse(p, "5", &v, why, sizeof why), MOMEDO_E_CONFIG);
  CHECK_STR(why, "recon_interval_ms must be a whole number of milliseconds from 1000 to "
                 "86400000 (or with a suffix: ms, s, m, h, d), not '5'");
  p = repl_param_find("recon_branch");
  CHECK_EQ(repl_param_parse(p, "99", &v, why, sizeof why), MOMEDO_E_CONFIG);
  CHECK_STR(why, "recon_branch must be a whole number from 2 to 64, not '99'");
  /* A tiny buffer is cut, never overrun. */
  char small[8];
  CHECK_EQ(repl_param_parse(p, "99", &v, small, sizeof small), MOMEDO_E_CONFIG);
  CHECK_EQ(strlen(small), 7);
}

int main(void) {
  RUN(test_rows);
  RUN(test_bounds);
  RUN(test_parse);
  TEST_MAIN_END();
}
