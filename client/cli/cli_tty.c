/* client/cli/cli_tty.c — a secret typed on the controlling terminal with echo off (see
 * cli.h; the client core never reads a terminal). Reads byte by byte from the descriptor (no stdio buffer keeps a copy) and
 * always restores the terminal's settings before returning. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static void cli_tty_write(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* a prompt that cannot be shown does not stop the read */
    s += w;
    n -= (size_t)w;
  }
}

/* Reads the line into out; 1 if it did not fit, -1 on a read error or an end of input
 * before any byte, else 0. */
static int cli_tty_line(int fd, char *out, size_t cap, size_t *len) {
  size_t n = 0;
  int over = 0, got = 0;
  for (;;) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0 && !got) return -1;
    if (r == 0 || ch == '\n' || ch == '\r') break;
    got = 1;
    if (n + 1 < cap) out[n++] = ch;
    else over = 1;
  }
  out[n] = '\0';
  *len = n;
  return over;
}

int cli_tty_read_secret(const char *prompt, char *out, size_t cap, size_t *len) {
  struct termios old, quiet;
  if (cap == 0) return MOMEDO_E_NOSPACE;
  out[0] = '\0';
  *len = 0;
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return MOMEDO_E_AUTH;
  int have = tcgetattr(fd, &old) == 0;
  if (have) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    (void)tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  cli_tty_write(fd, prompt, strnlen(prompt, CLI_TTY_PROMPT_MAX));
  int r = cli_tty_line(fd, out, cap, len);
  if (have) (void)tcsetattr(fd, TCSAFLUSH, &old);
  cli_tty_write(fd, "\n", 1);
  close(fd);
  if (r == 0) return 0;
  explicit_bzero(out, cap);
  *len = 0;
  return r > 0 ? MOMEDO_E_TOOBIG : MOMEDO_E_IO;
}
