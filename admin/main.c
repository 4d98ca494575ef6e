/* admin/main.c — momedo-admin: global options (getopt_long, up to the subcommand) and
 * the subcommand table. Each subcommand is one adm_cmd_* in its own cmd_*.c, which
 * parses its own options with adm_getopt; nothing else happens here. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adm.h"
#include "version.h"

struct adm_cmd {
  const char *name;
  adm_cmd_fn fn;
  const char *usage;
  const char *help;
};

static const struct adm_cmd adm_cmds[] = {
    {"init", adm_cmd_init, ADM_INIT_USAGE,
     "create a new node in DIR (config, node key, store directory)"},
    {"config-template", adm_cmd_config_template, "config-template [--listen H:P] [--name N]",
     "print a momedo.conf with every setting and its default (what init writes)"},
    {"fingerprint", adm_cmd_fingerprint, "fingerprint",
     "print this node's fingerprint (give it to neighboring nodes)"},
    {"status", adm_cmd_status, "status", "links, object counts, traffic and uptime"},
    {"neighbor", adm_cmd_neighbor, ADM_NEIGHBOR_USAGE,
     "manage the nodes this node replicates with"},
    {"invite", adm_cmd_invite, ADM_INVITE_USAGE,
     "create an invite code for new users (DURATION like 30m, 12h, 7d)"},
    {"participants", adm_cmd_participants, "participants",
     "list the devices registered on this node"},
    {"participant", adm_cmd_participant, "participant remove DEVICE",
     "remove a registered device (its key or a unique prefix of it)"},
    {"invites", adm_cmd_invites, "invites", "list the open invites (revoke one by its ID)"},
    {"reload", adm_cmd_reload, "reload",
     "re-read momedo.conf and neighbors.conf, reopen the log (as SIGHUP)"},
    {"backup", adm_cmd_backup, "backup DEST",
     "copy the running node (consistent store snapshot, key, settings) into DEST"},
    {"restore", adm_cmd_restore, ADM_RESTORE_USAGE,
     "put a backup back into DIR (the node must be stopped)"},
    {"nodes", adm_cmd_nodes, "nodes",
     "the nodes known from their records, with the route to each (scoped delivery)"},
    {"policy", adm_cmd_policy, ADM_POLICY_USAGE,
     "working hours: hold live pushes to a group's users outside their hours"},
    {"web", adm_cmd_web, "web [--listen HOST:PORT]",
     "serve the operator's console on loopback (prints its URL with a secret token)"},
};
#define ADM_CMDS_N (sizeof adm_cmds / sizeof adm_cmds[0])

static void print_help(FILE *f) {
  fprintf(f, "usage: momedo-admin [--dir DIR] [--json] COMMAND [ARGS]\n"
             "       momedo-admin --version | --help\n\n"
             "DIR is the node directory: --dir, else $%s, else %s when it exists\n"
             "(the packaged node). --dir and --json may also follow the command. With\n"
             "--json every command prints exactly one JSON object on stdout.\n\nCommands:\n",
          NODE_DIR_ENV, NODE_DIR_DEFAULT);
  for (size_t i = 0; i < ADM_CMDS_N; i++)
    fprintf(f, "  %-58s %s\n", adm_cmds[i].usage, adm_cmds[i].help);
  fprintf(f, "\nExit status: 0 ok, 1 failed, 2 bad command line, 3 node not running.\n"
             "See momedo-admin(8).\n");
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"dir", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  struct adm_ctx ctx = {.argv0 = argv[0]};
  int c;
  opterr = 0; /* errors are reported below, as JSON with --json */
  /* --json anywhere makes every message JSON, including errors in options before it. */
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--json") == 0) ctx.json = 1;
  /* '+': stop at the subcommand; its options are its own (adm_getopt). */
  while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
    switch (c) {
    case 'd': ctx.dir = optarg; break;
    case 'j': ctx.json = 1; break;
    case 'h': print_help(stdout); return ADM_EXIT_OK;
    case 'V': printf("momedo-admin %s\n", MOMEDO_VERSION); return ADM_EXIT_OK;
    default:
      return adm_fail(&ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "unknown option '%s' (see --help)",
                      argv[optind - 1]);
    }
  }
  if (optind >= argc) {
    print_help(stderr);
    return ADM_EXIT_USAGE;
  }
  for (size_t i = 0; i < ADM_CMDS_N; i++) {
    if (strcmp(argv[optind], adm_cmds[i].name) != 0) continue;
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    ctx.usage = adm_cmds[i].usage;
    optind = 0; /* the subcommand's getopt_long starts afresh at sub_argv[1] */
    arena_init(&ctx.arena, ADM_RESPONSE_BYTES_MAX * 4);
    int rc = adm_cmds[i].fn(&ctx, sub_argc, sub_argv);
    arena_close(&ctx.arena);
    return rc;
  }
  int rc = adm_fail(&ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "unknown command '%s'", argv[optind]);
  if (!ctx.json) print_help(stderr);
  return rc;
}
