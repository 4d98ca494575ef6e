/* client/cli/cli_channel.c — `channel join|leave` for the command line: the channel
 * passphrase (file, $MOMEDO_CHANNEL_PASSPHRASE or the terminal, a warning and a
 * suggestion when short) and the output. Keys, cursors, sealing and opening are the
 * engine's (client/core/engine_channel.c; docs/groups.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CHANNELS_FORMAT 1
#define CHANNEL_DISPLAY_DEFAULT "anonymous"
#define CHANNEL_SUGGEST_BYTES 16         /* 128 bits, as 26 base32 characters */

/* ---- commands ------------------------------------------------------------------- */

/* The channel passphrase: --channel-passphrase-file, $MOMEDO_CHANNEL_PASSPHRASE, or the
 * terminal (never $MOMEDO_PASSPHRASE: that one opens the vault). */
static int channel_passphrase(struct cli *c, char *out, size_t cap) {
  char why[256];
  size_t n = 0;
  const char *env = getenv(CLI_CHANNEL_PASS_ENV);
  int rc;
  if (c->opt[CO_CHANNEL_PASSFILE]) {
    rc = eng_passphrase_file(out, cap, &n, c->opt[CO_CHANNEL_PASSFILE], why, sizeof why);
    if (rc) return cli_fail(c, rc, "channel passphrase: %s", why);
  } else if (env) {
    n = strlen(env);
    if (n == 0 || n >= cap)
      return cli_fail(c, MOMEDO_E_INVAL, "%s must hold 1..%d bytes", CLI_CHANNEL_PASS_ENV,
                      CHANNEL_PASS_BYTES_MAX);
    memcpy(out, env, n + 1);
  } else if ((rc = cli_tty_read_secret("channel passphrase: ", out, cap, &n)) != 0 || n == 0) {
    if (rc == MOMEDO_E_TOOBIG)
      return cli_fail(c, rc, "the channel passphrase is longer than %d bytes", CHANNEL_PASS_BYTES_MAX);
    return cli_fail(c, rc ? rc : MOMEDO_E_INVAL,
                    "no channel passphrase: give --channel-passphrase-file FILE or set %s",
                    CLI_CHANNEL_PASS_ENV);
  }
  if (n < CHANNEL_PASS_WEAK_BYTES) {
    uint8_t r[CHANNEL_SUGGEST_BYTES];
    char s[IDS_B32_LEN(CHANNEL_SUGGEST_BYTES) + 1] = "";
    if (crypto_random(r, sizeof r) != 0 || ids_b32_encode(s, sizeof s, r, sizeof r) != 0)
      s[0] = '\0';
    fprintf(stderr, "momedo: WARNING: this passphrase is short. Anyone who sees the channel's "
            "items (any node operator) can try about 6 guesses per second per core, offline. "
            "Share a generated one instead, e.g. %s\n", s);
  }
  return 0;
}

static int cmd_join(struct cli *c, struct eng_state *st) {
  const char *name = c->pos[1], *display = c->opt[CO_NAME] ? c->opt[CO_NAME]
                                                           : CHANNEL_DISPLAY_DEFAULT;
  char pass[CHANNEL_PASS_BYTES_MAX + 1];
  struct eng_channel *ch = NULL;
  size_t dl = strlen(display);
  if (dl == 0 || dl > CHANNEL_DISPLAY_NAME_BYTES_MAX)
    return cli_fail(c, MOMEDO_E_INVAL, "--name must have 1..%d bytes", CHANNEL_DISPLAY_NAME_BYTES_MAX);
  int rc = eng_channel_may_join(&c->e, st, name);
  if (rc) return rc;
  rc = channel_passphrase(c, pass, sizeof pass);
  if (rc == 0) rc = eng_channel_join(&c->e, st, name, display, pass, &ch);
  crypto_wipe(pass, sizeof pass);
  if (rc) return rc;
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "channel", eng_channel_name(ch));
    jsonw_str(&j, "display_name", eng_channel_display(ch));
    jsonw_hex(&j, "mailbox", eng_channel_mailbox(ch), OBJ_MAILBOX_LEN);
    jsonw_end(&j);
  } else {
    printf("joined channel:%s as \"%s\" - send with `momedo send channel:%s TEXT`; sync and "
           "listen fetch it\n", eng_channel_name(ch), eng_channel_display(ch),
           eng_channel_name(ch));
  }
  return 0;
}

static int cmd_leave(struct cli *c, struct eng_state *st) {
  int rc = eng_channel_leave(&c->e, st, c->pos[1]);
  if (rc) return rc;
  if (c->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "left", c->pos[1]);
    jsonw_end(&j);
  } else {
    printf("left channel:%s (its keys are deleted from this device)\n", c->pos[1]);
  }
  return 0;
}

int cli_cmd_channel(struct cli *c) {
  struct eng_state *st = NULL;
  int join = !strcmp(c->pos[0], "join"), leave = !strcmp(c->pos[0], "leave");
  if (!join && !leave)
    return cli_fail(c, MOMEDO_E_INVAL, "unknown 'channel %s' (use join or leave)", c->pos[0]);
  if (leave && (c->opt[CO_NAME] || c->opt[CO_CHANNEL_PASSFILE]))
    return cli_fail(c, MOMEDO_E_INVAL, "channel leave takes only the channel name");
  int rc = cli_open(c, &st, 0);
  if (rc == 0) rc = join ? cmd_join(c, st) : cmd_leave(c, st);
  eng_state_free(st);
  return rc;
}
