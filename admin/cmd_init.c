/* admin/cmd_init.c — `momedo-admin init` and `momedo-admin fingerprint`. Both need the
 * node's own files (its key), which only momedod reads and writes: they run
 * `momedod --init` / `momedod --fingerprint` and present what it prints
 * ("key=value" lines on success, a sentence on failure). */
#include <stdlib.h>
#include <string.h>

#include "adm.h"

/* Value of "key=" in momedod's output, copied into buf; "" if absent. */
static const char *kv(const char *out, const char *key, char *buf, size_t cap) {
  size_t kn = strlen(key);
  buf[0] = 0;
  for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (strncmp(p, key, kn) == 0 && p[kn] == '=') {
      const char *v = p + kn + 1, *e = strchr(v, '\n');
      size_t n = e ? (size_t)(e - v) : strlen(v);
      if (n >= cap) n = cap - 1;
      memcpy(buf, v, n);
      buf[n] = 0;
      break;
    }
  }
  return buf;
}

/* Trailing newline off, for error sentences. */
static char *chomp(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
  return s;
}

int adm_cmd_init(struct adm_ctx *ctx, int argc, char **argv) {
  const char *args[12];
  size_t n = 0;
  char *out = NULL;
  args[n++] = "--init";
  args[n++] = "--dir";
  args[n++] = ctx->dir;
  for (int i = 1; i < argc; i++) {
    if ((strcmp(argv[i], "--listen") == 0 || strcmp(argv[i], "--name") == 0) && i + 1 < argc &&
        n < 9) {
      args[n++] = argv[i];
      args[n++] = argv[++i];
    } else {
      return adm_usage(ctx, "init [--listen HOST:PORT] [--name NAME]");
    }
  }
  args[n] = NULL;
  int st = adm_run_momedod(ctx, args, &out);
  if (st < 0) return adm_fail(ctx, ADM_EXIT_FAIL, st, "cannot run momedod: %s",
                              momedo_strerror(st));
  if (st != 0) {
    int rc = adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_CONFIG, "%s", chomp(out));
    free(out);
    return rc;
  }
  char fp[256], key[80], listen[300], name[80], dir[4200];
  kv(out, "fingerprint", fp, sizeof fp);
  kv(out, "node_key", key, sizeof key);
  kv(out, "listen", listen, sizeof listen);
  kv(out, "name", name, sizeof name);
  kv(out, "dir", dir, sizeof dir);
  free(out);
  if (ctx->json) {
    struct adm_json j;
    adm_json_begin(&j, stdout);
    adm_json_bool(&j, "ok", 1);
    adm_json_str(&j, "dir", dir);
    adm_json_str(&j, "name", name);
    adm_json_str(&j, "listen", listen);
    adm_json_str(&j, "fingerprint", fp);
    adm_json_str(&j, "node_key", key);
    adm_json_end(&j);
    return ADM_EXIT_OK;
  }
  printf("Created momedo node \"%s\" in %s\n\n"
         "  listens on:   %s\n"
         "  fingerprint:  %s\n\n"
         "Next steps:\n"
         "  1. Start the node (it stays in the foreground; see docs/operations.md for systemd):\n"
         "       momedod --dir %s\n"
         "  2. Invite users (give the printed code to a class or team):\n"
         "       momedo-admin --dir %s invite --uses 30 --expires 7d\n"
         "  3. Federate: tell the admin of a neighboring node your address and fingerprint,\n"
         "     and add theirs:\n"
         "       momedo-admin --dir %s neighbor add NAME HOST:PORT FINGERPRINT\n",
         name, dir, listen, fp, dir, dir, dir);
  return ADM_EXIT_OK;
}

int adm_cmd_fingerprint(struct adm_ctx *ctx, int argc, char **argv) {
  const char *args[] = {"--fingerprint", "--dir", ctx->dir, NULL};
  char *out = NULL, fp[256], key[80];
  if (argc != 1) return adm_usage(ctx, "fingerprint");
  int st = adm_run_momedod(ctx, args, &out);
  if (st < 0) return adm_fail(ctx, ADM_EXIT_FAIL, st, "cannot run momedod: %s",
                              momedo_strerror(st));
  if (st != 0) {
    int rc = adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_NOTFOUND, "%s", chomp(out));
    free(out);
    return rc;
  }
  kv(out, "fingerprint", fp, sizeof fp);
  kv(out, "node_key", key, sizeof key);
  free(out);
  if (ctx->json) {
    struct adm_json j;
    adm_json_begin(&j, stdout);
    adm_json_bool(&j, "ok", 1);
    adm_json_str(&j, "fingerprint", fp);
    adm_json_str(&j, "node_key", key);
    adm_json_end(&j);
  } else {
    printf("%s\n", fp);
  }
  return ADM_EXIT_OK;
}
