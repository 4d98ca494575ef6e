/* client/cli/cli.h — private to the `momedo` command line (client/cli/: main.c, cli_*.c,
 * bot.c), which reaches the client core only through momedo_client.h: options, output
 * (human or one JSON object per line), the engine's events printed (cli_events.c), the
 * passphrase and the terminal, and the commands. The message engine itself (state,
 * send, sync, groups) is the core's: client/core/engine.h. */
#ifndef MOMEDO_CLIENT_CLI_H
#define MOMEDO_CLIENT_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jsonw.h"
#include "momedo_client.h"
#include "os.h"

#define CLI_NAME "momedo"
#define CLI_POS_MAX 512                     /* positional arguments (group members) */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_PASS_ENV "MOMEDO_PASSPHRASE"
#define CLI_NEW_PASS_ENV "MOMEDO_NEW_PASSPHRASE" /* `momedo passphrase`: the new one */
#define CLI_CHANNEL_PASS_ENV "MOMEDO_CHANNEL_PASSPHRASE"

/* Longest prompt cli_tty_read_secret writes. */
#define CLI_TTY_PROMPT_MAX 256
/* Asks on the controlling terminal (/dev/tty, not stdin) for one line with echo off
 * (cli_tty.c): writes prompt, reads up to the newline, restores the terminal, ends the
 * line. out (cap >= 1 bytes) gets the line without its newline and a NUL, *len its
 * length. Errors: E_AUTH no terminal to ask on; E_TOOBIG the line was longer than
 * cap - 1 bytes; E_IO the terminal failed or ended before a newline with nothing typed.
 * On error out holds "" and *len is 0; the caller wipes out after use. */
MOMEDO_WUR int cli_tty_read_secret(const char *prompt, char *out, size_t cap, size_t *len);

/* The vault passphrase (cli_pass.c): from file (first line) if non-NULL, else
 * $MOMEDO_PASSPHRASE, else the terminal without echo (asked twice when confirm). out
 * holds cap bytes and a NUL; *len excludes it. E_AUTH (no terminal and no other source,
 * or the two entries differ), E_INVAL (empty), E_TOOBIG, E_IO. why (may be NULL) gets
 * a sentence. */
MOMEDO_WUR int cli_passphrase(char *out, size_t cap, size_t *len, const char *file,
                              int confirm, char *why, size_t why_cap);
/* cli_passphrase for a passphrase chosen now (asked twice on a terminal), from file,
 * else $var, else the terminal: also E_INVAL when it is shorter than ENG_PASS_NEW_MIN
 * bytes, *len 0 and out wiped then. */
MOMEDO_WUR int cli_passphrase_new(char *out, size_t cap, size_t *len, const char *file,
                                  const char *var, char *why, size_t why_cap);
/* --scrypt-log2n N (the cost of a vault's key derivation; tests use a low one) into
 * *log2n, ENG_SCRYPT_LOG2N without it; E_INVAL (reported) outside the vault's bounds. */
struct cli;
MOMEDO_WUR int cli_scrypt_opt(struct cli *c, unsigned *log2n);

/* Options, each allowed only by the commands whose mask names it. */
enum cli_opt {
  CO_HOME, CO_JSON, CO_PASSFILE, CO_TIMEOUT, CO_NAME, CO_FILE, CO_LOCATION, CO_TASK,
  CO_DUE, CO_SAVE_DIR, CO_YES, CO_COUNT, CO_MIME, CO_SCRYPT, CO_INVITE, CO_CHANNEL,
  CO_CHANNEL_PASSFILE, CO_LISTEN, CO_FROM, CO_TO, CO_RETENTION, CO_ARCHIVE_DIR, CO_KEY,
  CO_TEXT, CO_APPROVAL, CO_COMMENT, CO_NEW_PASSFILE, CO_ROTATE,
  CO__COUNT
};
#define CLI_OPT(o) (1u << (o))

struct cli_tally;

struct cli {
  struct eng e;                             /* the engine's context: why, timeout, events */
  const char *opt[CO__COUNT];               /* value, or "" for a flag; NULL if absent */
  int json;
  const char *pos[CLI_POS_MAX];
  int n_pos;
  FILE *out;                                /* stdout */
  struct cli_tally *tally;                  /* `sync` for people: receipts summed up here */
};
/* The command line's struct around an engine context (cli_events.c hands its events to
 * the command line's printing through it). */
#define CLI_OF(eng) ((struct cli *)(void *)((char *)(eng) - offsetof(struct cli, e)))
/* What the engine reports, printed as the command line always did: notices and link
 * changes on stderr, messages and receipts through cli_print_msg, group changes as a
 * line (or a JSON object) on c->out, a refused one on stderr (cli_events.c). */
void cli_on_event(struct eng *e, const struct eng_event *ev);
/* Set up c->e from the options: home, save dir, timeout, the event printer. */
void cli_engine_setup(struct cli *c);

/* {"ok":false,"error":"E_...","reason":REASON} on one line (the test tools' failures). */
void cli_json_fail(FILE *f, int rc, const char *reason);
/* Record why a command fails and return rc (< 0). */
int cli_fail(struct cli *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- JSON output ---------------------------------------------------------------- */

/* Open the home: a new state into *st (the caller frees it with eng_state_free, also
 * after a failure), passphrase, unlock, take the lock, load everything. need_joined:
 * the account must have joined a node. */
MOMEDO_WUR int cli_open(struct cli *c, struct eng_state **st, int need_joined);

/* Print a message (human or JSON line). */
void cli_print_msg(struct cli *c, const struct eng_msg *m);

/* `task approve|decline MSGID [--comment TEXT]` (a contact's or a group's task). */
MOMEDO_WUR int cli__task_decide(struct cli *c);
/* What history/sync/listen add for a file's place and caption, an approval task's
 * decisions and a reply's decision: JSON fields into the object open in j, or words
 * after the human line's body (engine_approve.c). */
struct jsonw;
void cli__json_extras(struct jsonw *j, const struct tl_entry *e);
void cli__print_extras(FILE *f, const struct tl_entry *e);
/* "location": {lat, lon, accuracy (null: unknown)} of a location or a file's place. */
void cli__json_location(struct jsonw *j, const struct tl_entry *e);
/* --text (caption) and --location of `send --file` into f (l holds the location). */
MOMEDO_WUR int cli__file_extras(struct cli *c, Momedo__File *f, Momedo__Location *l);
#define CLI_HISTORY_DEFAULT 50              /* `history` shows the newest this many */

/* ---- commands ------------------------------------------------------------------- */
typedef int (*cli_cmd_fn)(struct cli *c);
int cli_cmd_init(struct cli *c);
int cli_cmd_join(struct cli *c);
int cli_cmd_id(struct cli *c);
int cli_cmd_contact(struct cli *c);
int cli_cmd_contacts(struct cli *c);
int cli_cmd_send(struct cli *c);
int cli_cmd_task(struct cli *c);
int cli_cmd_sync(struct cli *c);
int cli_cmd_listen(struct cli *c);
int cli_cmd_history(struct cli *c);
int cli_cmd_save(struct cli *c);
int cli_cmd_device(struct cli *c);
/* cli_device_list.c: `device list`, `device remove DEVICE` on an open home. */
MOMEDO_WUR int cli__device_list(struct cli *c, struct eng_state *st);
MOMEDO_WUR int cli__device_remove(struct cli *c, struct eng_state *st, const char *ref);
int cli_cmd_bot(struct cli *c);
int cli_cmd_group(struct cli *c);
int cli_cmd_groups(struct cli *c);
int cli_cmd_channel(struct cli *c);
int cli_cmd_archive(struct cli *c);
int cli_cmd_recover(struct cli *c);
int cli_cmd_passphrase(struct cli *c);
int cli_cmd_quiet(struct cli *c);
int cli_cmd_app(struct cli *c);                /* cli_app.c: the messenger window */

/* QR code (cli_qr.c, libqrencode): byte mode, level M (L if M does not fit), versions
 * 1..10. */
#define QR_VERSION_MAX 10
#define QR_SIZE_MAX (17 + 4 * QR_VERSION_MAX)
struct cli_qr {
  int version, size, ecl_m;                  /* ecl_m: 1 level M, 0 level L */
  uint8_t dark[QR_SIZE_MAX][QR_SIZE_MAX];    /* [y][x], 1 = dark */
};
/* Encode len bytes. E_TOOBIG when even 10-L cannot hold them. */
MOMEDO_WUR int cli_qr_encode(struct cli_qr *q, const uint8_t *data, size_t len);
/* Print text as a QR code with half blocks (light modules drawn, for dark terminals),
 * with a light border of 2 modules. */
MOMEDO_WUR int cli_qr_print(FILE *f, const char *text);

#endif
