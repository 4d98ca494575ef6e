/* admin/adm_opts.c — momedo-admin's command lines: getopt_long for each subcommand with
 * the options every subcommand takes (--dir, --json) added, and which node directory a
 * command means. Reports errors through adm_fail (JSON with --json). */
#include <string.h>

#include "adm.h"

static const struct option adm_common_opts[] = {
    {"dir", required_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
};
#define ADM_COMMON_N (sizeof adm_common_opts / sizeof adm_common_opts[0])

int adm_getopt(struct adm_ctx *ctx, int argc, char **argv, const struct option *opts) {
  struct option all[ADM_OPTS_MAX];
  size_t n = 0;
  for (; opts && opts[n].name; n++) {
    if (n + ADM_COMMON_N + 1 > ADM_OPTS_MAX) return ADM_OPT_ERROR; /* programmer error */
    all[n] = opts[n];
  }
  memcpy(all + n, adm_common_opts, sizeof adm_common_opts);
  memset(&all[n + ADM_COMMON_N], 0, sizeof all[0]);
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, ":", all, NULL);
    switch (c) {
    case 'd': ctx->dir = optarg; continue;
    case 'j': ctx->json = 1; continue;
    case 'h': adm_usage(ctx); return ADM_OPT_ERROR;
    case ':':
      adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "option '%s' needs a value; usage: "
               "momedo-admin %s", argv[optind - 1], ctx->usage);
      return ADM_OPT_ERROR;
    case '?':
      adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "unknown option '%s'; usage: "
               "momedo-admin %s", argv[optind - 1], ctx->usage);
      return ADM_OPT_ERROR;
    default: return c; /* the subcommand's own option, or -1 */
    }
  }
}

int adm_need_dir(struct adm_ctx *ctx) {
  ctx->dir = node_dir_pick(ctx->dir);
  if (ctx->dir) return 0;
  return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL,
                  "which node? give --dir DIR (the directory made by `momedo-admin init`) or "
                  "set %s; %s, the packaged node's, does not exist", NODE_DIR_ENV,
                  NODE_DIR_DEFAULT);
}

int adm_no_options(struct adm_ctx *ctx, int argc, char **argv) {
  int c;
  while ((c = adm_getopt(ctx, argc, argv, NULL)) != -1)
    if (c == ADM_OPT_ERROR) return ADM_EXIT_USAGE;
  return 0;
}
