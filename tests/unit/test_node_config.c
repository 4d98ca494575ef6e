/* Unit tests for node/config.c: momedo.conf parsing with bounds and file:line errors,
 * the replication engine's parameters through the engine's table (and their old keys),
 * the template round trip, host:port parsing, neighbors.conf parse/save/load. */
#include <ctype.h>

#include "harness.h"

#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ids.h"
#include "repl_param_cases.h"

static const char *tmpdir(const char *sub, char *buf, size_t cap) {
  const char *base = getenv("MOMEDO_TEST_TMP");
  if (!base) base = "/tmp";
  mkdir(base, 0700);
  snprintf(buf, cap, "%s/%s-%d", base, sub, (int)getpid());
  mkdir(buf, 0700);
  return buf;
}

static int parse(struct node_config *c, const char *text, char *err) {
  node_config_defaults(c, "/srv/momedo");
  return node_config_parse(c, "/srv/momedo", "momedo.conf", text, strlen(text), err,
                           REASON_MAX);
}

static void test_defaults(void) {
  struct node_config c;
  char err[REASON_MAX] = "";
  CHECK_EQ(parse(&c, "", err), 0);
  CHECK_STR(c.listen_host, "0.0.0.0");
  CHECK_EQ(c.listen_port, 4710);
  CHECK_STR(c.admin_socket, "/srv/momedo/admin.sock");
  CHECK_EQ(c.log_level, 2);
  CHECK_EQ(c.frame_bytes_max, 1024 * 1024);
  CHECK_EQ(c.item_ttl_days_default, 30);
}

static void test_values(void) {
  struct node_config c;
  char err[REASON_MAX] = "";
  const char *text = "# comment\n\n  name = city-a   # trailing comment\n"
                     "listen=[::1]:4711\r\nadmin_socket = /run/momedo/a.sock\n"
                     "log_level = debug\nmailbox_bytes_max = 1073741824\n"
                     "device_posts_per_minute = 5\n";
  CHECK_EQ(parse(&c, text, err), 0);
  CHECK_STR(c.name, "city-a");
  CHECK_STR(c.listen_host, "::1");
  CHECK_EQ(c.listen_port, 4711);
  CHECK_STR(c.admin_socket, "/run/momedo/a.sock");
  CHECK_EQ(c.log_level, 3);
  CHECK_EQ(c.mailbox_bytes_max, 1073741824ull);
  CHECK_EQ(c.device_posts_per_minute, 5);
  CHECK_EQ(parse(&c, "admin_socket = adm.sock\n", err), 0);
  CHECK_STR(c.admin_socket, "/srv/momedo/adm.sock");
}

static void test_errors_name_line(void) {
  struct node_config c;
  char err[REASON_MAX];
  CHECK_EQ(parse(&c, "name = a\nbogus = 1\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:2: unknown key 'bogus'");
  CHECK_EQ(parse(&c, "\n\nlisten = 0.0.0.0:70000\n", err), MOMEDO_E_CONFIG);
  CHECK(strncmp(err, "momedo.conf:3: listen must be HOST:PORT", 39) == 0);
  CHECK_EQ(parse(&c, "listen = 0.0.0.0:0\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "listen = nohost\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "frame_bytes_max = 100\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:1: frame_bytes_max must be a whole number from 1024 to 16777216");
  CHECK_EQ(parse(&c, "frame_bytes_max = 99999999999999999999999\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "item_ttl_days_default = -1\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "item_ttl_days_default = 91\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "log_level = loud\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:1: log_level must be error, warn, info or debug");
  CHECK_EQ(parse(&c, "name = a\nname = b\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:2: 'name' is set twice");
  CHECK_EQ(parse(&c, "just words\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:1: expected \"key = value\"");
  CHECK_EQ(parse(&c, "name =\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "name = has space\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "name = -lead\n", err), MOMEDO_E_CONFIG);
  /* Too long a value and too long a line. */
  char big[2100];
  memset(big, 'a', sizeof big);
  memcpy(big, "name = ", 7);
  big[100] = '\n';
  big[101] = 0;
  CHECK_EQ(parse(&c, big, err), MOMEDO_E_CONFIG);
  memset(big, 'a', sizeof big);
  memcpy(big, "name = ", 7);
  big[sizeof big - 1] = 0;
  CHECK_EQ(parse(&c, big, err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:1: line longer than 1024 bytes");
  /* Cross-key check. */
  CHECK_EQ(parse(&c, "item_ttl_days_default = 60\nitem_ttl_days_max = 10\n", err),
           MOMEDO_E_CONFIG);
  /* A socket path the OS cannot bind. */
  char sock[200] = "admin_socket = /";
  memset(sock + 16, 's', 120);
  sock[136] = 0;
  CHECK_EQ(parse(&c, sock, err), MOMEDO_E_CONFIG);
}

/* The engine's parameters: the same values as the simulator's `repl` lines, the same
 * refusals with the table's own message behind "file:line: ". */
static void test_engine_params(void) {
  struct node_config c;
  char err[REASON_MAX], text[256], why[REPL_PARAM_TEXT_MAX], want[REASON_MAX];
  for (size_t i = 0; i < REPL_PARAM_GOOD_N; i++) {
    const struct repl_param *p = repl_param_find(repl_param_good[i].name);
    snprintf(text, sizeof text, "name = a\n%s = %s\n", p->name, repl_param_good[i].text);
    CHECK_EQ(parse(&c, text, err), 0);
    CHECK_EQ(repl_param_get(&c.repl, p), repl_param_good[i].want);
    CHECK_EQ(c.nnotes, 0);
  }
  for (size_t i = 0; i < REPL_PARAM_BAD_N; i++) {
    const struct repl_param *p = repl_param_find(repl_param_bad[i].name);
    uint64_t v;
    snprintf(text, sizeof text, "\n%s = %s\n", p->name, repl_param_bad[i].text);
    CHECK_EQ(repl_param_parse(p, repl_param_bad[i].text, &v, why, sizeof why), MOMEDO_E_CONFIG);
    snprintf(want, sizeof want, "momedo.conf:2: %s", why);
    CHECK_EQ(parse(&c, text, err), MOMEDO_E_CONFIG);
    CHECK_STR(err, want);
  }
  /* Defaults: what momedod used before the table (60 s, a quarter of it, 8 MiB). */
  CHECK_EQ(parse(&c, "", err), 0);
  CHECK_EQ(c.repl.recon_interval_ms, 60000);
  CHECK_EQ(c.repl.recon_jitter_ms, 15000);
  CHECK_EQ(c.repl.peer_queue_bytes_max, 8u * 1024 * 1024);
  CHECK(c.repl.check == NULL);
  CHECK_EQ(parse(&c, "recon_branch = 4\nrecon_branch = 5\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:2: 'recon_branch' is set twice");
  CHECK_EQ(parse(&c, "recon_branch =\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:1: 'recon_branch' has no value");
}

/* The keys momedod used before mean what they meant, and say what to write instead. */
static void test_old_engine_keys(void) {
  struct node_config c;
  char err[REASON_MAX];
  CHECK_EQ(parse(&c, "name = a\nrecon_interval_s = 120\n", err), 0);
  CHECK_EQ(c.repl.recon_interval_ms, 120000);
  CHECK_EQ(c.repl.recon_jitter_ms, 30000); /* the old key's quarter */
  CHECK_EQ(c.nnotes, 1);
  CHECK(strncmp(c.notes[0], "momedo.conf:2: recon_interval_s is deprecated", 45) == 0);
  CHECK(strstr(c.notes[0], "write recon_interval_ms = 120000") != NULL);
  CHECK_EQ(parse(&c, "recon_jitter_ms = 5s\nrecon_interval_s = 120\n", err), 0);
  CHECK_EQ(c.repl.recon_jitter_ms, 5000); /* set explicitly: kept */
  CHECK_EQ(parse(&c, "link_queue_bytes_max = 65536\n", err), 0);
  CHECK_EQ(c.repl.peer_queue_bytes_max, 65536);
  CHECK_EQ(c.nnotes, 1);
  CHECK(strstr(c.notes[0], "write peer_queue_bytes_max = 65536") != NULL);
  /* Old bounds and syntax for old keys. */
  CHECK_EQ(parse(&c, "recon_interval_s = 0\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:1: recon_interval_s must be a whole number from 1 to 86400");
  CHECK_EQ(parse(&c, "recon_interval_s = 60s\n", err), MOMEDO_E_CONFIG);
  CHECK_EQ(parse(&c, "link_queue_bytes_max = 2147483648\n", err), MOMEDO_E_CONFIG);
  /* An old and a new key for the same parameter. */
  CHECK_EQ(parse(&c, "recon_interval_ms = 1m\nrecon_interval_s = 60\n", err), MOMEDO_E_CONFIG);
  CHECK_STR(err, "momedo.conf:2: 'recon_interval_ms' and 'recon_interval_s' both set "
                 "recon_interval_ms");
}

static void test_template_round_trip(void) {
  struct node_config c;
  char err[REASON_MAX] = "";
  char *t = node_config_template("school-1", "127.0.0.1:4800");
  CHECK(t != NULL);
  node_config_defaults(&c, "/d");
  int rc = node_config_parse(&c, "/d", "t", t, strlen(t), err, sizeof err);
  int has_all = strstr(t, "# recon_interval_s = 60") && strstr(t, "# log_level = info") &&
                strstr(t, "# mailbox_items_max = 10000");
  /* Every engine parameter, commented, with its default (a choice by its name). */
  for (size_t i = 0; i < repl_params_n; i++) {
    const struct repl_param *p = &repl_params[i];
    char line[128];
    if (p->unit == REPL_UNIT_CHOICE)
      snprintf(line, sizeof line, "\n# %s = %s\n", p->name, p->choices[p->def]);
    else
      snprintf(line, sizeof line, "\n# %s = %llu\n", p->name, (unsigned long long)p->def);
    has_all = has_all && strstr(t, line) != NULL;
  }
  free(t);
  CHECK_EQ(rc, 0);
  CHECK(has_all);
  CHECK_STR(c.name, "school-1");
  CHECK_STR(c.listen_host, "127.0.0.1");
  CHECK_EQ(c.listen_port, 4800);
}

static void test_hostport(void) {
  char host[NODE_HOST_CHARS_MAX + 1];
  uint16_t port = 0;
  CHECK_EQ(node_hostport_parse("example.org:1", host, &port), 0);
  CHECK_STR(host, "example.org");
  CHECK_EQ(port, 1);
  CHECK_EQ(node_hostport_parse("[fe80::1]:65535", host, &port), 0);
  CHECK_STR(host, "fe80::1");
  CHECK_EQ(port, 65535);
  CHECK_EQ(node_hostport_parse("a:65536", host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(node_hostport_parse(":80", host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(node_hostport_parse("a:", host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(node_hostport_parse("a:8x", host, &port), MOMEDO_E_INVAL);
  CHECK_EQ(node_hostport_parse("[::1:80", host, &port), MOMEDO_E_INVAL);
}

static void test_fingerprint_forms(void) {
  uint8_t key[32], fp_want[32], fp[32];
  char fps[IDS_NODE_FP_STR_MAX], b32[IDS_KEY_B32_STR_MAX], hex[65];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i * 7 + 1);
  CHECK_EQ(ids_node_fp_bytes(fp_want, key), 0);
  CHECK_EQ(ids_node_fingerprint(fps, key), 0);
  CHECK_EQ(ids_key_to_b32(b32, key), 0);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02X", key[i]);
  CHECK_EQ(node_fp_from_text(fps, fp), 0);
  CHECK_MEM(fp, fp_want, 32);
  CHECK_EQ(node_fp_from_text(hex, fp), 0);
  CHECK_MEM(fp, fp_want, 32);
  /* The fingerprint typed as one token (no dashes, lower case) is still the
   * fingerprint, not a key string. */
  char flat[IDS_NODE_FP_STR_MAX];
  size_t m = 0;
  for (const char *p = fps; *p; p++)
    if (*p != '-') flat[m++] = (char)tolower((unsigned char)*p);
  flat[m] = 0;
  CHECK_EQ(strlen(flat), 53);
  memset(fp, 0, sizeof fp);
  CHECK_EQ(node_fp_from_text(flat, fp), 0);
  CHECK_MEM(fp, fp_want, 32);
  /* Base32 is always read as a fingerprint: a key string gives the key's bytes. */
  CHECK_EQ(node_fp_from_text(b32, fp), 0);
  CHECK_MEM(fp, key, 32);
  char out[IDS_NODE_FP_STR_MAX];
  CHECK_EQ(node_fp_format(out, fp_want), 0);
  CHECK_STR(out, fps);
  fps[3] = fps[3] == 'A' ? 'B' : 'A'; /* a typo */
  CHECK_EQ(node_fp_from_text(fps, fp), MOMEDO_E_CHECKSUM);
  CHECK_EQ(node_fp_from_text("hello", fp), MOMEDO_E_INVAL);
  hex[63] = 'g';
  CHECK_EQ(node_fp_from_text(hex, fp), MOMEDO_E_INVAL);
}

static void test_neighbors_file(void) {
  char dir[512], err[REASON_MAX] = "", fps[IDS_NODE_FP_STR_MAX];
  uint8_t key[32];
  struct node_neighbors *nb = calloc(2, sizeof *nb);
  CHECK(nb != NULL);
  tmpdir("cfg-nb", dir, sizeof dir);
  memset(key, 0x42, sizeof key);
  CHECK_EQ(ids_node_fingerprint(fps, key), 0);
  char text[512];
  snprintf(text, sizeof text, "# x\ncounty 10.0.0.2:4710 %s\nv6 [::1]:4711 %s\n", fps, fps);
  int rc = node_neighbors_parse(&nb[0], "neighbors.conf", text, strlen(text), err, sizeof err);
  if (rc == 0) rc = node_neighbors_save(&nb[0], dir, err, sizeof err);
  if (rc == 0) rc = node_neighbors_load(&nb[1], dir, err, sizeof err);
  int same = rc == 0 && nb[1].n == 2 && memcmp(&nb[0].v[0], &nb[1].v[0], sizeof nb[0].v[0]) == 0 &&
             strcmp(nb[1].v[1].host, "::1") == 0 && nb[1].v[1].port == 4711 &&
             node_neighbors_find(&nb[1], "v6") == 1 && node_neighbors_find(&nb[1], "x") == -1;
  /* Errors name file and line. */
  snprintf(text, sizeof text, "a 1.2.3.4:1 %s\na 1.2.3.4:1 %s\n", fps, fps);
  int rc_dup = node_neighbors_parse(&nb[0], "nb", text, strlen(text), err, sizeof err);
  int dup_msg = strcmp(err, "nb:2: neighbor 'a' is listed twice") == 0;
  int rc_fp = node_neighbors_parse(&nb[0], "nb", "a 1.2.3.4:1 XYZ\n", 16, err, sizeof err);
  int rc_cols = node_neighbors_parse(&nb[0], "nb", "a 1.2.3.4:1\n", 12, err, sizeof err);
  free(nb);
  char path[600];
  snprintf(path, sizeof path, "%s/neighbors.conf", dir);
  struct stat st;
  int mode_ok = stat(path, &st) == 0 && (st.st_mode & 0777) == 0600;
  unlink(path);
  rmdir(dir);
  CHECK_EQ(rc, 0);
  CHECK(same);
  CHECK_EQ(rc_dup, MOMEDO_E_CONFIG);
  CHECK(dup_msg);
  CHECK_EQ(rc_fp, MOMEDO_E_CONFIG);
  CHECK_EQ(rc_cols, MOMEDO_E_CONFIG);
  CHECK(mode_ok);
}

/* The optional fourth word "partner" (a home of this node's users) survives a save and
 * a load; any other fourth word is refused with the line. */
static void test_neighbors_partner(void) {
  char dir[512], err[REASON_MAX] = "", fps[IDS_NODE_FP_STR_MAX], text[512];
  uint8_t key[32];
  struct node_neighbors *nb = calloc(2, sizeof *nb);
  CHECK(nb != NULL);
  tmpdir("cfg-partner", dir, sizeof dir);
  memset(key, 0x43, sizeof key);
  CHECK_EQ(ids_node_fingerprint(fps, key), 0);
  snprintf(text, sizeof text, "county 10.0.0.2:4710 %s partner\nrelay 10.0.0.3:4710 %s\n", fps,
           fps);
  int rc = node_neighbors_parse(&nb[0], "nb", text, strlen(text), err, sizeof err);
  int parsed = rc == 0 && nb[0].n == 2 && nb[0].v[0].partner == 1 && nb[0].v[1].partner == 0;
  if (rc == 0) rc = node_neighbors_save(&nb[0], dir, err, sizeof err);
  if (rc == 0) rc = node_neighbors_load(&nb[1], dir, err, sizeof err);
  int same = rc == 0 && nb[1].n == 2 && nb[1].v[0].partner == 1 && nb[1].v[1].partner == 0;
  snprintf(text, sizeof text, "x 1.2.3.4:1 %s partners\n", fps);
  int rc_word = node_neighbors_parse(&nb[0], "nb", text, strlen(text), err, sizeof err);
  int word_msg = strncmp(err, "nb:1: expected", 14) == 0 && strstr(err, "[partner]") != NULL;
  snprintf(text, sizeof text, "x 1.2.3.4:1 %s partner extra\n", fps);
  int rc_five = node_neighbors_parse(&nb[0], "nb", text, strlen(text), err, sizeof err);
  free(nb);
  char path[600];
  snprintf(path, sizeof path, "%s/neighbors.conf", dir);
  unlink(path);
  rmdir(dir);
  CHECK_EQ(rc, 0);
  CHECK(parsed);
  CHECK(same);
  CHECK_EQ(rc_word, MOMEDO_E_CONFIG);
  CHECK(word_msg);
  CHECK_EQ(rc_five, MOMEDO_E_CONFIG);
}

int main(void) {
  RUN(test_defaults);
  RUN(test_values);
  RUN(test_errors_name_line);
  RUN(test_engine_params);
  RUN(test_old_engine_keys);
  RUN(test_template_round_trip);
  RUN(test_hostport);
  RUN(test_fingerprint_forms);
  RUN(test_neighbors_file);
  RUN(test_neighbors_partner);
  TEST_MAIN_END();
}
