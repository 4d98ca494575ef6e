/* Unit tests for node/nodedir: creating a node directory (files, modes, the key's
 * fingerprint), what creation refuses (an existing node, a store without its key, bad
 * names), the first-start mode that keeps a given momedo.conf, the one-momedod lock
 * (holder's PID, refusal while held, release) and which directory a command means. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nodedir.h"

static char tmp_root[512];

static void make_dir(char *out, size_t cap) {
  snprintf(out, cap, "%s/nodedir.XXXXXX", tmp_root);
  if (mkdtemp(out) == NULL) abort();
}

static void rm_rf(const char *dir) {
  char cmd[800];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) abort();
}

static unsigned mode_of(const char *dir, const char *name) {
  char p[700];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffu;
}

static void put(const char *dir, const char *name, const char *text) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) abort();
}

static void test_create(void) {
  char base[600], dir[700], err[REASON_MAX] = "", fp[IDS_NODE_FP_STR_MAX],
      key[NODE_KEY_HEX_LEN + 1];
  struct node_dir_info info;
  struct node_config cfg;
  make_dir(base, sizeof base);
  snprintf(dir, sizeof dir, "%s/n", base);
  CHECK_EQ(node_dir_create(dir, "127.0.0.1:4999", "alpha", NODE_DIR_NEW, &info, err,
                           sizeof err), 0);
  CHECK_STR(info.name, "alpha");
  CHECK_STR(info.listen, "127.0.0.1:4999");
  CHECK(info.conf_written);
  CHECK_EQ(mode_of(dir, "."), 0700);
  CHECK_EQ(mode_of(dir, NODE_KEY_FILE), 0600);
  CHECK_EQ(mode_of(dir, NODE_CONF_FILE), 0600);
  CHECK_EQ(mode_of(dir, NODE_STORE_DIR), 0700);
  /* The config it wrote loads, with the values given. */
  CHECK_EQ(node_config_load(&cfg, dir, err, sizeof err), 0);
  CHECK_STR(cfg.name, "alpha");
  CHECK_EQ(cfg.listen_port, 4999);
  /* The fingerprint read back from node.key is the one creation reported. */
  CHECK_EQ(node_dir_identity(dir, fp, key, err, sizeof err), 0);
  CHECK_STR(fp, info.fingerprint);
  CHECK_STR(key, info.node_key);
  char key1[NODE_KEY_HEX_LEN + 1];
  memcpy(key1, key, sizeof key1);
  /* A second creation refuses and leaves the key alone. */
  CHECK_EQ(node_dir_create(dir, NULL, NULL, NODE_DIR_NEW, &info, err, sizeof err),
           MOMEDO_E_EXISTS);
  CHECK(strstr(err, "refusing to overwrite") != NULL);
  CHECK_EQ(node_dir_create(dir, NULL, NULL, NODE_DIR_KEEP_CONF, &info, err, sizeof err),
           MOMEDO_E_EXISTS);
  CHECK_EQ(node_dir_identity(dir, fp, key, err, sizeof err), 0);
  CHECK_STR(key, key1);
  rm_rf(base);
}

static void test_refusals(void) {
  char dir[600], err[REASON_MAX] = "", fp[IDS_NODE_FP_STR_MAX], key[NODE_KEY_HEX_LEN + 1];
  struct node_dir_info info;
  make_dir(dir, sizeof dir);
  CHECK_EQ(node_dir_create(dir, "nohostport", NULL, NODE_DIR_NEW, &info, err, sizeof err),
           MOMEDO_E_INVAL);
  CHECK(strstr(err, "HOST:PORT") != NULL);
  CHECK_EQ(node_dir_create(dir, NULL, "-bad name", NODE_DIR_NEW, &info, err, sizeof err),
           MOMEDO_E_INVAL);
  /* Nothing was written by the refused attempts. */
  CHECK_EQ(mode_of(dir, NODE_KEY_FILE), 0xffffu);
  CHECK_EQ(mode_of(dir, NODE_CONF_FILE), 0xffffu);
  /* A momedo.conf alone: a new node refuses, the first start keeps it. */
  put(dir, NODE_CONF_FILE, "name = given\n");
  CHECK_EQ(node_dir_create(dir, NULL, NULL, NODE_DIR_NEW, &info, err, sizeof err),
           MOMEDO_E_EXISTS);
  CHECK_EQ(node_dir_create(dir, NULL, NULL, NODE_DIR_KEEP_CONF, &info, err, sizeof err), 0);
  CHECK(!info.conf_written);
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, NODE_CONF_FILE);
  FILE *f = fopen(p, "r");
  char line[64] = "";
  CHECK(f && fgets(line, sizeof line, f));
  fclose(f);
  CHECK_STR(line, "name = given\n");
  /* A store without its key is not given a new one. */
  snprintf(p, sizeof p, "%s/%s", dir, NODE_KEY_FILE);
  CHECK_EQ(unlink(p), 0);
  put(dir, NODE_STORE_DIR "/CURRENT", "MANIFEST-000001\n");
  CHECK_EQ(node_dir_create(dir, NULL, NULL, NODE_DIR_KEEP_CONF, &info, err, sizeof err),
           MOMEDO_E_CORRUPT);
  CHECK(strstr(err, "has a store but no node.key") != NULL);
  CHECK_EQ(node_dir_identity(dir, fp, key, err, sizeof err), MOMEDO_E_NOTFOUND);
  rm_rf(dir);
}

static void test_lock(void) {
  char dir[600], err[REASON_MAX] = "", text[32] = "";
  int fd = -1, fd2 = -1;
  long holder = -1;
  make_dir(dir, sizeof dir);
  CHECK_EQ(node_dir_lock(dir, 4242, &fd, &holder, err, sizeof err), 0);
  CHECK(fd >= 0);
  CHECK_EQ(holder, 0);
  /* flock is per open file: a second open in this process conflicts like another
   * process would, and learns the holder's PID. */
  CHECK_EQ(node_dir_lock(dir, 77, &fd2, &holder, err, sizeof err), MOMEDO_E_BUSY);
  CHECK_EQ(fd2, -1);
  CHECK_EQ(holder, 4242);
  CHECK(strstr(err, "PID 4242") != NULL);
  node_dir_unlock(fd);
  /* Released: the PID is gone and the lock can be taken again, without a PID. */
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, NODE_PID_FILE);
  FILE *f = fopen(p, "r");
  CHECK(f != NULL);
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  CHECK_EQ(n, 0);
  CHECK_EQ(node_dir_lock(dir, 0, &fd, &holder, err, sizeof err), 0);
  CHECK_EQ(node_dir_lock(dir, 5, &fd2, &holder, err, sizeof err), MOMEDO_E_BUSY);
  CHECK_EQ(holder, 0);
  CHECK(strstr(err, "holds the node directory") != NULL);
  node_dir_unlock(fd);
  rm_rf(dir);
}

static void test_pick(void) {
  CHECK_STR(node_dir_pick("/x/given"), "/x/given");
  CHECK_EQ(setenv(NODE_DIR_ENV, "/x/env", 1), 0);
  CHECK_STR(node_dir_pick(NULL), "/x/env");
  CHECK_STR(node_dir_pick(""), "/x/env");
  CHECK_EQ(unsetenv(NODE_DIR_ENV), 0);
  struct stat st;
  const char *d = node_dir_pick(NULL);
  if (stat(NODE_DIR_DEFAULT, &st) == 0)
    CHECK_STR(d, NODE_DIR_DEFAULT);
  else
    CHECK(d == NULL);
}

int main(void) {
  const char *t = getenv("MOMEDO_TEST_TMP");
  snprintf(tmp_root, sizeof tmp_root, "%s", t ? t : "/tmp");
  if (mkdir(tmp_root, 0700) != 0 && errno != EEXIST) return 1;
  RUN(test_create);
  RUN(test_refusals);
  RUN(test_lock);
  RUN(test_pick);
  TEST_MAIN_END();
}
