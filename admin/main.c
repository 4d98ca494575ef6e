/* admin/main.c — momedo-admin: global options (--dir, --json) and the subcommand table.
 * Each subcommand is one adm_cmd_* in its own cmd_*.c; nothing else happens here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"

#define ADM_ARGS_MAX 64

struct adm_cmd {
  const char *name;
  adm_cmd_fn fn;
  const char *usage;
  const char *help;
};

static const struct adm_cmd adm_cmds[] = {
    {"init", adm_cmd_init, "init [--listen HOST:PORT] [--name NAME]",
     "create a new node in DIR (config, node key, certificate, store)"},
    {"fingerprint", adm_cmd_fingerprint, "fingerprint",
     "print this node's fingerprint (give it to neighboring nodes)"},
    {"status", adm_cmd_status, "status", "links, object counts, traffic and uptime"},
    {"neighbor", adm_cmd_neighbor,
     "neighbor add NAME HOST:PORT FINGERPRINT | neighbor list | neighbor remove NAME",
     "manage the nodes this node replicates with"},
    {"invite", adm_cmd_invite, "invite [--uses N] [--expires DURATION] [--address HOST:PORT]",
     "create an invite code for new users (DURATION like 30m, 12h, 7d)"},
    {"participants", adm_cmd_participants, "participants",
     "list the devices registered on this node"},
    {"participant", adm_cmd_participant, "participant remove DEVICE",
     "remove a registered device (its key or a unique prefix of it)"},
};
#define ADM_CMDS_N (sizeof adm_cmds / sizeof adm_cmds[0])

static void print_help(FILE *f) {
  fprintf(f, "usage: momedo-admin --dir DIR [--json] COMMAND [ARGS]\n\n"
             "DIR is the node directory (or set MOMEDO_DIR). With --json every command\n"
             "prints exactly one JSON object on stdout.\n\nCommands:\n");
  for (size_t i = 0; i < ADM_CMDS_N; i++)
    fprintf(f, "  %-58s %s\n", adm_cmds[i].usage, adm_cmds[i].help);
  fprintf(f, "\nExit status: 0 ok, 1 failed, 2 bad command line, 3 node not running.\n");
}

int main(int argc, char **argv) {
  struct adm_ctx ctx = {.argv0 = argv[0]};
  char *rest[ADM_ARGS_MAX];
  int n = 0, rc;
  /* --dir and --json may appear before or after the subcommand. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      ctx.json = 1;
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      ctx.dir = argv[++i];
    } else if (strncmp(argv[i], "--dir=", 6) == 0) {
      ctx.dir = argv[i] + 6;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_help(stdout);
      return ADM_EXIT_OK;
    } else if (n < ADM_ARGS_MAX - 1) {
      rest[n++] = argv[i];
    } else {
      return adm_fail(&ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "too many arguments");
    }
  }
  rest[n] = NULL;
  if (n == 0) {
    print_help(stderr);
    return ADM_EXIT_USAGE;
  }
  if (!ctx.dir) ctx.dir = getenv("MOMEDO_DIR");
  if (!ctx.dir || !*ctx.dir)
    return adm_fail(&ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL,
                    "which node? give --dir DIR (the directory made by `momedo-admin init`)");
  for (size_t i = 0; i < ADM_CMDS_N; i++) {
    if (strcmp(rest[0], adm_cmds[i].name) != 0) continue;
    arena_init(&ctx.arena, ADM_RESPONSE_BYTES_MAX * 4);
    rc = adm_cmds[i].fn(&ctx, n, rest);
    arena_close(&ctx.arena);
    return rc;
  }
  rc = adm_fail(&ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "unknown command '%s'", rest[0]);
  if (!ctx.json) print_help(stderr);
  return rc;
}
