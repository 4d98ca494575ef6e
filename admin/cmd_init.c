/* admin/cmd_init.c — `momedo-admin init`, `fingerprint` and `config-template`: create a
 * node directory, read a node's fingerprint, print the settings file init writes —
 * through node/nodedir.h and config.h (the same code momedod uses), without a node. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adm.h"

static void print_created(struct adm_ctx *ctx, const struct node_dir_info *in) {
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "dir", ctx->dir);
    jsonw_str(&j, "name", in->name);
    jsonw_str(&j, "listen", in->listen);
    jsonw_str(&j, "fingerprint", in->fingerprint);
    jsonw_str(&j, "node_key", in->node_key);
    jsonw_end(&j);
    return;
  }
  printf("Created momedo node \"%s\" in %s\n\n"
         "  listens on:   %s\n"
         "  fingerprint:  %s\n\n"
         "Next steps:\n"
         "  1. Start the node (it stays in the foreground; under systemd: momedod(8)):\n"
         "       momedod --dir %s\n"
         "  2. Invite users (give the printed code to a class or team):\n"
         "       momedo-admin --dir %s invite --uses 30 --expires 7d\n"
         "  3. Federate: tell the admin of a neighboring node your address and fingerprint,\n"
         "     and add theirs:\n"
         "       momedo-admin --dir %s neighbor add NAME HOST:PORT FINGERPRINT\n",
         in->name, ctx->dir, in->listen, in->fingerprint, ctx->dir, ctx->dir, ctx->dir);
}

int adm_cmd_init(struct adm_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      {"listen", required_argument, NULL, 'l'}, {"name", required_argument, NULL, 'n'}, {0}};
  const char *listen = NULL, *name = NULL;
  char err[REASON_MAX];
  struct node_dir_info info;
  int c;
  while ((c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c == 'l') listen = optarg;
    else if (c == 'n') name = optarg;
    else return ADM_EXIT_USAGE;
  }
  if (optind != argc) return adm_usage(ctx);
  int rc = adm_need_dir(ctx);
  if (rc) return rc;
  umask(077);
  rc = node_dir_create(ctx->dir, listen, name, NODE_DIR_NEW, &info, err, sizeof err);
  if (rc == MOMEDO_E_INVAL) return adm_fail(ctx, ADM_EXIT_USAGE, rc, "%s", err);
  if (rc) return adm_fail(ctx, ADM_EXIT_FAIL, rc, "%s", err);
  print_created(ctx, &info);
  return ADM_EXIT_OK;
}

int adm_cmd_fingerprint(struct adm_ctx *ctx, int argc, char **argv) {
  char err[REASON_MAX] = "", fp[IDS_NODE_FP_STR_MAX], key[NODE_KEY_HEX_LEN + 1];
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind != argc) return adm_usage(ctx);
  int rc = adm_need_dir(ctx);
  if (rc) return rc;
  rc = node_dir_identity(ctx->dir, fp, key, err, sizeof err);
  if (rc == MOMEDO_E_NOTFOUND)
    return adm_fail(ctx, ADM_EXIT_FAIL, rc, "no node in %s (create one with: momedo-admin init "
                    "--dir %s)", ctx->dir, ctx->dir);
  if (rc) return adm_fail(ctx, ADM_EXIT_FAIL, rc, "%s", err[0] ? err : momedo_strerror(rc));
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "fingerprint", fp);
    jsonw_str(&j, "node_key", key);
    jsonw_end(&j);
  } else {
    printf("%s\n", fp);
  }
  return ADM_EXIT_OK;
}

int adm_cmd_config_template(struct adm_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      {"listen", required_argument, NULL, 'l'}, {"name", required_argument, NULL, 'n'}, {0}};
  const char *listen = NULL, *name = NULL;
  char host[NODE_HOST_CHARS_MAX + 1];
  uint16_t port;
  int c;
  while ((c = adm_getopt(ctx, argc, argv, opts)) != -1) {
    if (c == 'l') listen = optarg;
    else if (c == 'n') name = optarg;
    else return ADM_EXIT_USAGE;
  }
  if (optind != argc) return adm_usage(ctx);
  if ((listen && node_hostport_parse(listen, host, &port) != 0) ||
      (name && !node_name_valid(name)))
    return adm_fail(ctx, ADM_EXIT_USAGE, MOMEDO_E_INVAL, "--listen takes HOST:PORT, --name "
                    "1..%d letters, digits, '.', '_' or '-'", NODE_NAME_CHARS_MAX);
  char *t = node_config_template(name, listen);
  if (!t) return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_NOMEM, "out of memory");
  fputs(t, stdout);
  free(t);
  return ADM_EXIT_OK;
}
