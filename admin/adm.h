/* admin/adm.h — shared pieces of momedo-admin: the command context, option parsing,
 * one request/response exchange over the node's admin socket (adm_rpc, without output,
 * for any front-end; adm_call, reporting errors), the JSON writer and output helpers.
 * Each subcommand lives in its own cmd_*.c and is dispatched from main.c's table.
 * momedo-admin never opens the node's store: it asks the running node over the socket;
 * the directory's plain files (config, node key) it reads through node/nodedir.h. */
#ifndef MOMEDO_ADM_H
#define MOMEDO_ADM_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "admin.pb-c.h"
#include "arena.h"
#include "config.h"
#include "jsonw.h"
#include "nodedir.h"
#include "status.h"

#define ADM_RESPONSE_BYTES_MAX (4u * 1024 * 1024) /* largest admin response accepted */
#define ADM_TIMEOUT_MS 15000                      /* one admin exchange */
#define ADM_EXIT_OK 0
#define ADM_EXIT_FAIL 1        /* the command ran and failed */
#define ADM_EXIT_USAGE 2       /* bad command line */
#define ADM_EXIT_NOT_RUNNING 3 /* no node answers on the admin socket */
#define ADM_OPTS_MAX 16        /* options of one subcommand, with --dir and --json */
#define ADM_OPT_ERROR '?'      /* adm_getopt: bad option, usage printed */
#define ADM_INVITE_USES_MAX 100000u /* --uses, and the console's uses */

#define ADM_INIT_USAGE "init [--listen HOST:PORT] [--name NAME]"
#define ADM_NEIGHBOR_USAGE \
  "neighbor add NAME HOST:PORT FINGERPRINT [--partner] | neighbor list | neighbor remove NAME"
#define ADM_INVITE_USAGE \
  "invite [--uses N] [--expires DURATION] [--address HOST:PORT] | invite revoke ID"
#define ADM_RESTORE_USAGE "restore SRC [--force] [--keep-config]"

struct adm_ctx {
  const char *dir;   /* node directory: --dir, or adm_need_dir's pick */
  int json;          /* --json: exactly one JSON object on stdout */
  const char *argv0; /* how we were started */
  const char *usage; /* the running subcommand's usage line */
  struct arena arena; /* holds the decoded response */
};

/* One subcommand: argv[0] is the subcommand name. Returns an ADM_EXIT_* code. */
typedef int (*adm_cmd_fn)(struct adm_ctx *ctx, int argc, char **argv);

int adm_cmd_init(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_fingerprint(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_status(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_neighbor(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_invite(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_participants(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_participant(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_invites(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_config_template(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_reload(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_backup(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_restore(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_nodes(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_web(struct adm_ctx *ctx, int argc, char **argv);
int adm_cmd_policy(struct adm_ctx *ctx, int argc, char **argv);
#define ADM_POLICY_USAGE                                                                  \
  "policy list | show NAME | set NAME --days Mon-Fri --hours 07:00-18:00 --tz ZONE\n"      \
  "         [--holiday YYYY-MM-DD]... [--holidays-file FILE] [--sender USERID]...\n"       \
  "         [--channel MAILBOX]... | assign NAME USERID | unassign USERID | remove NAME"
/* cmd_policy.c: working-hours policies as JSON and as lines (users: list their users). */
void adm_policies_json(struct jsonw *j, const Momedo__PolicyListResp *l, int users);
void adm_print_policies(const Momedo__PolicyListResp *l, int users);

/* getopt_long over a subcommand's argv (argv[0] is its name) with its own options
 * (NULL-terminated, at most ADM_OPTS_MAX - 3) plus --dir and --json, which stay valid
 * after the command as before. Returns the next option's val, -1 when done (the
 * positional arguments are then argv[optind..argc-1]), or ADM_OPT_ERROR after printing
 * the usage (then return ADM_EXIT_USAGE). */
int adm_getopt(struct adm_ctx *ctx, int argc, char **argv, const struct option *opts);

/* adm_getopt for a subcommand without options of its own: 0 (positional arguments at
 * argv[optind..]) or ADM_EXIT_USAGE after printing the usage. */
int adm_no_options(struct adm_ctx *ctx, int argc, char **argv);

/* Resolve ctx->dir (nodedir.h's node_dir_pick: --dir, $MOMEDO_DIR, the packaged
 * NODE_DIR_DEFAULT). 0, or the exit code after saying which option is missing. */
int adm_need_dir(struct adm_ctx *ctx);

/* One exchange with the node in dir, without any output: send req (its request_id is
 * set here), wait at most ADM_TIMEOUT_MS for the response, decoded into a (which must
 * outlive *resp). Returns 0 when the node answered with status 0; the node's status
 * (why: its reason) when it refused; E_CONNREFUSED when no node answers on its socket
 * (not running); E_DENIED, E_CONFIG, E_TIMEOUT, E_PROTO... with a sentence in why
 * (REASON_MAX). The one way any front-end (the CLI, a web console) talks to the
 * node: the admin socket's file permission is the root of trust. */
int adm_rpc(const char *dir, Momedo__AdminRequest *req, struct arena *a,
            Momedo__AdminResponse **resp, char *why, size_t why_cap);
/* adm_rpc waiting at most timeout_ms (a backup's checkpoint may take minutes). */
int adm_rpc_timeout(const char *dir, Momedo__AdminRequest *req, uint32_t timeout_ms,
                    struct arena *a, Momedo__AdminResponse **resp, char *why, size_t why_cap);

/* adm_rpc for the node of ctx->dir (resolved first) into ctx->arena. On failure prints
 * the error (human or JSON) and returns the exit code to use; on success returns 0 and
 * *resp has status 0. */
int adm_call(struct adm_ctx *ctx, Momedo__AdminRequest *req, Momedo__AdminResponse **resp);
int adm_call_timeout(struct adm_ctx *ctx, Momedo__AdminRequest *req, uint32_t timeout_ms,
                     Momedo__AdminResponse **resp);

/* Report an error: human text on stderr, or {"ok":false,...} on stdout with --json. */
int adm_fail(struct adm_ctx *ctx, int exit_code, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Success with a sentence: {"ok":true,"message":...} with --json, else the sentence. */
int adm_ok_message(struct adm_ctx *ctx, const char *message);

/* Usage error for the running subcommand (ctx->usage): prints its usage line. */
int adm_usage(struct adm_ctx *ctx);

/* The JSON object a command prints: struct jsonw (protocol/json/jsonw.h). */

/* The JSON of the node's answers, shared by --json and the web console's API. */
void adm_status_json(struct jsonw *j, const Momedo__StatusResp *s);
void adm_neighbors_json(struct jsonw *j, size_t n, Momedo__NeighborStatus **v);
void adm_participants_json(struct jsonw *j, const Momedo__ParticipantsResp *p);
void adm_invite_json(struct jsonw *j, const Momedo__InviteResp *r);
void adm_invites_json(struct jsonw *j, const Momedo__InviteListResp *l);
/* The neighbors as a table, or into j with --json (status, neighbor list). */
void adm_print_neighbors(struct adm_ctx *ctx, struct jsonw *j, size_t n,
                         Momedo__NeighborStatus **v);

/* "1.2 MB", "340 B". */
void adm_fmt_bytes(char *buf, size_t cap, uint64_t bytes);
/* "3d 4h", "2h 5m", "40s". */
void adm_fmt_duration(char *buf, size_t cap, uint64_t seconds);
/* Parse "30m", "12h", "7d", "3600" (seconds) into seconds. 0 or MOMEDO_E_INVAL. */
MOMEDO_WUR int adm_parse_duration(const char *s, uint64_t *seconds);

#endif
