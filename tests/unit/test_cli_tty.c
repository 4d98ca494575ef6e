/* tests/unit/test_cli_tty.c — the command line's no-echo terminal read
 * (client/cli/cli_tty.c) on a real pseudo-terminal (a child process in its own session
 * whose controlling terminal is the pty): the prompt is shown, the typed secret is not
 * echoed but returned, an over-long line is refused and wiped, and a process without a
 * terminal gets E_AUTH. */
#define _GNU_SOURCE 1 /* posix_openpt, grantpt, unlockpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "cli.h"

struct tty_result {
  int rc;
  size_t len;
  char text[16];
};

/* In a child: become a session leader with the pty as controlling terminal, ask. */
static void tty_child(const char *slave_name, size_t cap, int result_fd) {
  struct tty_result r;
  memset(&r, 0, sizeof r);
  if (setsid() < 0) _exit(10);
  int s = open(slave_name, O_RDWR);
  if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0) _exit(11);
  r.rc = cli_tty_read_secret("Secret: ", r.text, cap, &r.len);
  if (write(result_fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(12);
  _exit(0);
}

/* Read what the terminal shows until `until` appears or 5 s pass; appends to buf. */
static size_t tty_read_until(int master, char *buf, size_t cap, size_t have, const char *until) {
  for (int rounds = 0; rounds < 100; rounds++) {
    buf[have] = '\0';
    if (until && strstr(buf, until)) break;
    struct pollfd p = {.fd = master, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t r = read(master, buf + have, cap - 1 - have);
    if (r <= 0) break;
    have += (size_t)r;
    if (have >= cap - 1) break;
  }
  buf[have] = '\0';
  return have;
}

/* Runs one exchange: types `typed` after the prompt; returns what the terminal showed. */
static int tty_exchange(const char *typed, size_t cap, struct tty_result *res, char *shown,
                        size_t shown_cap) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return -1;
  char name[128];
  snprintf(name, sizeof name, "%s", ptsname(master));
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(master);
    close(pipefd[0]);
    tty_child(name, cap, pipefd[1]);
  }
  close(pipefd[1]);
  size_t have = tty_read_until(master, shown, shown_cap, 0, "Secret: ");
  if (write(master, typed, strlen(typed)) != (ssize_t)strlen(typed)) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  tty_read_until(master, shown, shown_cap, have, NULL);
  ssize_t got = read(pipefd[0], res, sizeof *res);
  close(pipefd[0]);
  close(master);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == (ssize_t)sizeof *res ? 0 : -1;
}

static void test_tty_secret(void) {
  struct tty_result r;
  char shown[256];
  CHECK_EQ(tty_exchange("hunter2\n", sizeof r.text, &r, shown, sizeof shown), 0);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.len, 7);
  CHECK_STR(r.text, "hunter2");
  CHECK(strstr(shown, "Secret: ") != NULL);
  CHECK(strstr(shown, "hunter2") == NULL); /* not echoed */
  /* Exactly cap - 1 bytes fit. */
  CHECK_EQ(tty_exchange("0123456789abcde\n", sizeof r.text, &r, shown, sizeof shown), 0);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.len, 15);
  CHECK_STR(r.text, "0123456789abcde");
  /* One more is refused, and nothing of it is left in the buffer. */
  CHECK_EQ(tty_exchange("0123456789abcdef\n", sizeof r.text, &r, shown, sizeof shown), 0);
  CHECK_EQ(r.rc, MOMEDO_E_TOOBIG);
  CHECK_EQ(r.len, 0);
  for (size_t i = 0; i < sizeof r.text; i++) CHECK_EQ(r.text[i], 0);
  CHECK(strstr(shown, "0123456789") == NULL);
  /* An empty line is an empty answer, not an error: the caller decides. */
  CHECK_EQ(tty_exchange("\n", sizeof r.text, &r, shown, sizeof shown), 0);
  CHECK_EQ(r.rc, 0);
  CHECK_EQ(r.len, 0);
}

static void test_tty_none(void) {
  /* A new session without a controlling terminal: nothing to ask on. */
  int pipefd[2];
  CHECK_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    struct tty_result r = {0};
    if (setsid() < 0) _exit(10);
    strcpy(r.text, "x");
    r.rc = cli_tty_read_secret("Secret: ", r.text, sizeof r.text, &r.len);
    _exit(write(pipefd[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 12);
  }
  close(pipefd[1]);
  int status = 0;
  struct tty_result r;
  waitpid(pid, &status, 0);
  CHECK_EQ(read(pipefd[0], &r, sizeof r), (long long)sizeof r);
  close(pipefd[0]);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(r.rc, MOMEDO_E_AUTH);
  CHECK_EQ(r.len, 0);
  CHECK_STR(r.text, "");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  RUN(test_tty_secret);
  RUN(test_tty_none);
  TEST_MAIN_END();
}
