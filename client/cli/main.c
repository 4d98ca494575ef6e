/* client/cli/main.c — the `momedo` executable: parses options (getopt_long, in order, so they
 * may stand anywhere), checks them against the command, and dispatches from a table to
 * cli_*.c. Prints the failure reason (or one JSON error object with --json) and exits
 * 0, 1 (failed) or 2 (usage). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

#define G (CLI_OPT(CO_HOME) | CLI_OPT(CO_JSON) | CLI_OPT(CO_PASSFILE) | CLI_OPT(CO_TIMEOUT))
#define TIMEOUT_MS_MAX 600000
#define CLI_OPT_VAL0 256 /* getopt_long's val for option 0: above every char, 1, ':' and '?' */

struct optdef {
  const char *name;
  int takes_value;
};

static const struct optdef optdefs[CO__COUNT] = {
    [CO_HOME] = {"--home", 1},         [CO_JSON] = {"--json", 0},
    [CO_PASSFILE] = {"--passphrase-file", 1}, [CO_TIMEOUT] = {"--timeout-ms", 1},
    [CO_NAME] = {"--name", 1},         [CO_FILE] = {"--file", 1},
    [CO_LOCATION] = {"--location", 1}, [CO_TASK] = {"--task", 1},
    [CO_DUE] = {"--due", 1},           [CO_SAVE_DIR] = {"--save-dir", 1},
    [CO_YES] = {"--yes", 0},           [CO_COUNT] = {"--count", 1},
    [CO_MIME] = {"--mime", 1},         [CO_SCRYPT] = {"--scrypt-log2n", 1},
    [CO_INVITE] = {"--invite", 1},     [CO_CHANNEL] = {"--channel", 0},
    [CO_CHANNEL_PASSFILE] = {"--channel-passphrase-file", 1},
    [CO_LISTEN] = {"--listen", 1},
    [CO_FROM] = {"--from", 1},         [CO_TO] = {"--to", 1},
    [CO_RETENTION] = {"--retention-years", 1}, [CO_ARCHIVE_DIR] = {"--archive-dir", 1},
    [CO_KEY] = {"--key", 1},
    [CO_TEXT] = {"--text", 1},         [CO_APPROVAL] = {"--approval", 0},
    [CO_COMMENT] = {"--comment", 1},  [CO_NEW_PASSFILE] = {"--new-passphrase-file", 1},
    [CO_ROTATE] = {"--rotate-key", 0},
};

struct cmddef {
  const char *name;
  cli_cmd_fn fn;
  int pos_min, pos_max;
  unsigned opts;
  const char *usage;
};

static const struct cmddef cmds[] = {
    {"init", cli_cmd_init, 0, 0, G | CLI_OPT(CO_SCRYPT), "init"},
    {"join", cli_cmd_join, 1, 1, G, "join INVITE"},
    {"id", cli_cmd_id, 0, 0, G, "id"},
    {"contact", cli_cmd_contact, 2, 2, G | CLI_OPT(CO_NAME) | CLI_OPT(CO_YES),
     "contact add ID|ALIAS|QR [--name NAME] | contact verify ID [--yes] | contact show ID|NAME"},
    {"contacts", cli_cmd_contacts, 0, 0, G, "contacts"},
    {"send", cli_cmd_send, 1, CLI_POS_MAX,
     G | CLI_OPT(CO_FILE) | CLI_OPT(CO_LOCATION) | CLI_OPT(CO_TASK) | CLI_OPT(CO_DUE) |
         CLI_OPT(CO_MIME) | CLI_OPT(CO_TEXT) | CLI_OPT(CO_APPROVAL),
     "send TO|GROUP|channel:NAME TEXT | --file PATH [--location LAT,LON[,ACC]] [--text "
     "CAPTION] | --location LAT,LON[,ACC] | --task TITLE [--due DATE] [--approval]"},
    {"task", cli_cmd_task, 2, 2, G | CLI_OPT(CO_COMMENT),
     "task accept|done MSGID | task approve|decline MSGID [--comment TEXT]"},
    {"sync", cli_cmd_sync, 0, 0, G | CLI_OPT(CO_SAVE_DIR), "sync [--save-dir DIR]"},
    {"listen", cli_cmd_listen, 0, 0, G | CLI_OPT(CO_SAVE_DIR) | CLI_OPT(CO_COUNT),
     "listen [--save-dir DIR] [--count N]"},
    {"history", cli_cmd_history, 1, 1, G | CLI_OPT(CO_COUNT),
     "history TO|GROUP|channel:NAME [--count N]"},
    {"save", cli_cmd_save, 2, 2, G, "save MSGID PATH"},
    {"device", cli_cmd_device, 1, 2, G | CLI_OPT(CO_SCRYPT) | CLI_OPT(CO_YES),
     "device link [--yes] | device join (code on stdin) | device list | device remove DEVICE"},
    {"bot", cli_cmd_bot, 0, 0, G | CLI_OPT(CO_SAVE_DIR), "bot [--save-dir DIR]"},
    {"group", cli_cmd_group, 2, CLI_POS_MAX, G | CLI_OPT(CO_CHANNEL),
     "group create NAME [--channel] [ID...] | group add|remove|promote|demote GROUP ID... | "
     "group leave|members GROUP"},
    {"groups", cli_cmd_groups, 0, 0, G, "groups"},
    {"quiet", cli_cmd_quiet, 1, 3, G, "quiet DAYS HOURS ZONE | quiet off (your own quiet hours)"},
    {"recover", cli_cmd_recover, 0, 0, G, "recover (after a restored, older copy of the vault)"},
    {"passphrase", cli_cmd_passphrase, 0, 0,
     G | CLI_OPT(CO_NEW_PASSFILE) | CLI_OPT(CO_SCRYPT) | CLI_OPT(CO_ROTATE),
     "passphrase [--new-passphrase-file F] [--scrypt-log2n N] [--rotate-key] (new one from F, "
     "$MOMEDO_NEW_PASSPHRASE or the terminal; --rotate-key: a new data key too, so a copy "
     "made before reads nothing written after)"},
    {"channel", cli_cmd_channel, 2, 2, G | CLI_OPT(CO_NAME) | CLI_OPT(CO_CHANNEL_PASSFILE),
     "channel join NAME [--name DISPLAY] [--channel-passphrase-file F] | channel leave NAME"},
    {"app", cli_cmd_app, 0, 0, CLI_OPT(CO_HOME) | CLI_OPT(CO_JSON) | CLI_OPT(CO_TIMEOUT) |
         CLI_OPT(CO_LISTEN) | CLI_OPT(CO_SCRYPT),
     "app [--listen 127.0.0.1:PORT] [--scrypt-log2n N] (the messenger window in your browser)"},
    {"archive", cli_cmd_archive, 1, 2,
     G | CLI_OPT(CO_FROM) | CLI_OPT(CO_TO) | CLI_OPT(CO_RETENTION) | CLI_OPT(CO_ARCHIVE_DIR) |
         CLI_OPT(CO_KEY),
     "archive run | archive export --from DATE --to DATE OUT_DIR | archive verify DIR "
     "[--key KEY] | archive prune [--retention-years 5|10] (each [--archive-dir DIR])"},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

static void usage(FILE *f) {
  fprintf(f, "usage: momedo COMMAND [options]\n       momedo --version | --help\n\n"
             "commands:\n");
  for (size_t i = 0; i < N_CMDS; i++) fprintf(f, "  %s\n", cmds[i].usage);
  fprintf(f, "\noptions for every command:\n"
             "  --home DIR              the client's directory (default $MOMEDO_HOME, else ~/.momedo)\n"
             "  --json                  machine-readable output\n"
             "  --passphrase-file FILE  read the passphrase from FILE (else $MOMEDO_PASSPHRASE,\n"
             "                          else the terminal)\n"
             "  --timeout-ms N          per network call (default %d)\n", ENG_TIMEOUT_MS_DEFAULT);
}

/* Record option o (its value, or "" for a flag); refuses it twice. */
static int take_opt(struct cli *c, int o, const char *value) {
  if (c->opt[o]) return cli_fail(c, MOMEDO_E_INVAL, "%s given twice", optdefs[o].name);
  c->opt[o] = value ? value : "";
  return 0;
}

static int take_pos(struct cli *c, const char **name, const char *a) {
  if (!*name) {
    *name = a;
    return 0;
  }
  if (c->n_pos >= CLI_POS_MAX) return cli_fail(c, MOMEDO_E_INVAL, "too many arguments");
  c->pos[c->n_pos++] = a;
  return 0;
}

/* getopt_long in order ("-"): options anywhere among the command and its arguments, as
 * before; an argument that starts with '-' (a text such as "-1") follows "--". */
static int parse_argv(struct cli *c, int argc, char **argv, const char **name) {
  struct option lo[CO__COUNT + 1];
  for (int i = 0; i < CO__COUNT; i++)
    lo[i] = (struct option){optdefs[i].name + 2,
                            optdefs[i].takes_value ? required_argument : no_argument, NULL,
                            CLI_OPT_VAL0 + i};
  memset(&lo[CO__COUNT], 0, sizeof lo[0]);
  /* --json anywhere makes the errors JSON too, including one before it. */
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--json") == 0) c->json = 1;
  optind = 1;
  opterr = 0;
  int ch, rc = 0;
  while (rc == 0 && (ch = getopt_long(argc, argv, "-:", lo, NULL)) != -1) {
    if (ch == 1) rc = take_pos(c, name, optarg);
    else if (ch == ':') rc = cli_fail(c, MOMEDO_E_INVAL, "%s needs a value", argv[optind - 1]);
    else if (ch == '?' && optopt) rc = cli_fail(c, MOMEDO_E_INVAL, "unknown option -%c (a text "
                                                "that starts with '-' goes after --)", optopt);
    else if (ch == '?') rc = cli_fail(c, MOMEDO_E_INVAL, "unknown option %s", argv[optind - 1]);
    else rc = take_opt(c, ch - CLI_OPT_VAL0, optarg);
  }
  for (int i = optind; rc == 0 && i < argc; i++) rc = take_pos(c, name, argv[i]); /* after -- */
  return rc;
}

static int parse(struct cli *c, int argc, char **argv, const struct cmddef **cmd) {
  const char *name = NULL;
  int rc = parse_argv(c, argc, argv, &name);
  if (rc) return rc;
  c->json = c->opt[CO_JSON] != NULL;
  if (!name) return cli_fail(c, MOMEDO_E_INVAL, "no command given");
  *cmd = NULL;
  for (size_t i = 0; i < N_CMDS; i++)
    if (strcmp(cmds[i].name, name) == 0) *cmd = &cmds[i];
  if (!*cmd) return cli_fail(c, MOMEDO_E_INVAL, "unknown command '%s'", name);
  for (int o = 0; o < CO__COUNT; o++)
    if (c->opt[o] && !((*cmd)->opts & CLI_OPT(o)))
      return cli_fail(c, MOMEDO_E_INVAL, "%s does not take %s (usage: momedo %s)", name,
                      optdefs[o].name, (*cmd)->usage);
  if (c->n_pos < (*cmd)->pos_min || c->n_pos > (*cmd)->pos_max)
    return cli_fail(c, MOMEDO_E_INVAL, "wrong number of arguments (usage: momedo %s)",
                    (*cmd)->usage);
  c->e.timeout_ms = ENG_TIMEOUT_MS_DEFAULT;
  if (c->opt[CO_TIMEOUT]) {
    char *end = NULL;
    long t = strtol(c->opt[CO_TIMEOUT], &end, 10);
    if (!end || *end || t < 100 || t > TIMEOUT_MS_MAX)
      return cli_fail(c, MOMEDO_E_INVAL, "--timeout-ms must be 100..%d", TIMEOUT_MS_MAX);
    c->e.timeout_ms = (int)t;
  }
  if (c->opt[CO_COUNT]) {
    char *end = NULL;
    long n = strtol(c->opt[CO_COUNT], &end, 10);
    if (!end || *end || n < 1 || n > 1000000)
      return cli_fail(c, MOMEDO_E_INVAL, "--count must be a number 1..1000000");
  }
  return 0;
}

int main(int argc, char **argv) {
  struct cli c;
  const struct cmddef *cmd = NULL;
  memset(&c, 0, sizeof c);
  c.out = stdout;
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
                    !strcmp(argv[1], "help"))) {
    usage(stdout);
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    printf("momedo %s\n", MOMEDO_VERSION);
    return 0;
  }
  int rc = parse(&c, argc, argv, &cmd);
  cli_engine_setup(&c);
  int usage_err = rc != 0;
  if (rc == 0) rc = cmd->fn(&c);
  if (rc == 0) return 0;
  if (c.json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 0);
    jsonw_str(&j, "error", momedo_status_name(rc));
    jsonw_i64(&j, "code", rc);
    jsonw_str(&j, "message", c.e.why[0] ? c.e.why : momedo_strerror(rc));
    jsonw_end(&j);
  }
  fprintf(stderr, "momedo: %s\n", c.e.why[0] ? c.e.why : momedo_strerror(rc));
  if (usage_err) {
    if (!c.json) fprintf(stderr, "run `momedo --help` for the list of commands\n");
    return CLI_EXIT_USAGE;
  }
  return momedo_status_kind(rc) == MOMEDO_KIND_USAGE && rc == MOMEDO_E_INVAL ? CLI_EXIT_USAGE
                                                                                 : CLI_EXIT_FAIL;
}
