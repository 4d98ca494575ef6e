/* admin/adm.h — shared pieces of momedo-admin: the command context, one request/
 * response exchange over the node's admin socket, the JSON writer and output helpers.
 * Each subcommand lives in its own cmd_*.c and is dispatched from main.c's table.
 * momedo-admin never opens the node's store or keys itself: it asks the running node
 * over the socket, or runs `momedod --init/--fingerprint` for what needs the files. */
#ifndef MOMEDO_ADM_H
#define MOMEDO_ADM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "admin.pb-c.h"
#include "arena.h"
#include "config.h"
#include "status.h"

#define ADM_RESPONSE_BYTES_MAX (4u * 1024 * 1024) /* largest admin response accepted */
#define ADM_TIMEOUT_MS 15000                      /* one admin exchange */
#define ADM_EXIT_OK 0
#define ADM_EXIT_FAIL 1        /* the command ran and failed */
#define ADM_EXIT_USAGE 2       /* bad command line */
#define ADM_EXIT_NOT_RUNNING 3 /* no node answers on the admin socket */
#define ADM_CHILD_OUTPUT_MAX (64u * 1024)

struct adm_ctx {
  const char *dir;   /* node directory (--dir), required */
  int json;          /* --json: exactly one JSON object on stdout */
  const char *argv0; /* how we were started, to find momedod */
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

/* Send req to the node of ctx->dir and wait for its response (decoded into
 * ctx->arena). On failure prints the error (human or JSON) and returns the exit
 * code to use; on success returns 0 and *resp has status 0. */
int adm_call(struct adm_ctx *ctx, Momedo__AdminRequest *req, Momedo__AdminResponse **resp);

/* Run `momedod` with args (NULL-terminated, without argv[0]), capturing its stdout and
 * stderr together into *out (malloc'ed, NUL-terminated). Returns the child's exit
 * status (>= 0) or a negative MOMEDO_E_* when it could not be run. */
int adm_run_momedod(struct adm_ctx *ctx, const char *const *args, char **out);

/* Report an error: human text on stderr, or {"ok":false,...} on stdout with --json. */
int adm_fail(struct adm_ctx *ctx, int exit_code, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Usage error for a subcommand: prints the usage line. */
int adm_usage(struct adm_ctx *ctx, const char *usage);

/* Minimal JSON writer to stdout; adm_json_key writes a comma when needed. */
struct adm_json {
  FILE *f;
  int first[16]; /* per nesting level: nothing written yet */
  int depth;
};
void adm_json_begin(struct adm_json *j, FILE *f); /* writes '{' */
void adm_json_end(struct adm_json *j);            /* writes '}' and a newline */
void adm_json_key(struct adm_json *j, const char *key); /* NULL key inside arrays */
void adm_json_str(struct adm_json *j, const char *key, const char *v);
void adm_json_u64(struct adm_json *j, const char *key, uint64_t v);
void adm_json_i64(struct adm_json *j, const char *key, int64_t v);
void adm_json_bool(struct adm_json *j, const char *key, int v);
void adm_json_hex(struct adm_json *j, const char *key, const uint8_t *p, size_t n);
void adm_json_open(struct adm_json *j, const char *key, char kind); /* '{' or '[' */
void adm_json_close(struct adm_json *j, char kind);                 /* '}' or ']' */

/* "1.2 MB", "340 B". */
void adm_fmt_bytes(char *buf, size_t cap, uint64_t bytes);
/* "3d 4h", "2h 5m", "40s". */
void adm_fmt_duration(char *buf, size_t cap, uint64_t seconds);
/* Parse "30m", "12h", "7d", "3600" (seconds) into seconds. 0 or MOMEDO_E_INVAL. */
MOMEDO_WUR int adm_parse_duration(const char *s, uint64_t *seconds);

#endif
