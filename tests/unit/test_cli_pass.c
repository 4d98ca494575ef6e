/* Unit tests for the command line's passphrase sources (client/cli/cli_pass.c): a file
 * wins over $MOMEDO_PASSPHRASE, the variable over the terminal, bad values are refused
 * with a sentence, and without a terminal (setsid: no controlling tty) the answer is
 * E_AUTH naming the other sources. */
#include "harness.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "vault.h" /* VAULT_PASS_MAX, vault_atomic_write: not in momedo_client.h any more */

static void test_order(void) {
  char out[VAULT_PASS_MAX + 1], why[256], p[1024];
  size_t n = 0;
  const char *tmp = getenv("MOMEDO_TEST_TMP");
  if (!tmp) tmp = "/tmp";
  (void)mkdir(tmp, 0700); /* the first test to run makes it */
  snprintf(p, sizeof p, "%s/cli_pass.%d", tmp, (int)getpid());
  CHECK_EQ(vault_atomic_write(p, (const uint8_t *)"from file\n", 10, 0600), 0);
  setenv(CLI_PASS_ENV, "from env", 1);
  CHECK_EQ(cli_passphrase(out, sizeof out, &n, p, 0, why, sizeof why), 0);
  CHECK_STR(out, "from file");
  CHECK_EQ(cli_passphrase(out, sizeof out, &n, NULL, 0, why, sizeof why), 0);
  CHECK_STR(out, "from env");
  CHECK_EQ(n, 8);
  setenv(CLI_PASS_ENV, "", 1);
  CHECK_EQ(cli_passphrase(out, sizeof out, &n, NULL, 0, why, sizeof why), MOMEDO_E_INVAL);
  CHECK(strstr(why, CLI_PASS_ENV) != NULL);
  unsetenv(CLI_PASS_ENV);
  unlink(p);
}

/* A passphrase chosen now must have VAULT_PASS_NEW_MIN bytes, as in the page; an
 * existing vault still opens with a shorter one. */
static void test_new_minimum(void) {
  char out[VAULT_PASS_MAX + 1], why[256] = "";
  size_t n = 0;
  setenv(CLI_PASS_ENV, "1234567", 1);
  CHECK_EQ(cli_passphrase_new(out, sizeof out, &n, NULL, CLI_PASS_ENV, why, sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(n, 0);
  CHECK_EQ(out[0], 0);
  CHECK(strstr(why, "at least 8 characters") != NULL);
  CHECK_EQ(cli_passphrase(out, sizeof out, &n, NULL, 0, why, sizeof why), 0);
  CHECK_EQ(n, 7);
  setenv(CLI_PASS_ENV, "12345678", 1);
  CHECK_EQ(cli_passphrase_new(out, sizeof out, &n, NULL, CLI_PASS_ENV, why, sizeof why), 0);
  CHECK_STR(out, "12345678");
  unsetenv(CLI_PASS_ENV);
}

static void test_no_terminal(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char out[64], why[256] = "";
    size_t n = 0;
    if (setsid() < 0) _exit(3);
    unsetenv(CLI_PASS_ENV);
    int rc = cli_passphrase(out, sizeof out, &n, NULL, 0, why, sizeof why);
    _exit(rc == MOMEDO_E_AUTH && strstr(why, "--passphrase-file") != NULL ? 0 : 1);
  }
  int st = 0;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st));
  CHECK_EQ(WEXITSTATUS(st), 0);
}

int main(void) {
  RUN(test_order);
  RUN(test_new_minimum);
  RUN(test_no_terminal);
  TEST_MAIN_END();
}
