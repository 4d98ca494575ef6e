/* node/main.c — momedod's command line: `momedod --dir DIR` runs the node in the
 * foreground; `--init` and `--fingerprint` are what `momedo-admin init|fingerprint`
 * run, so only momedod ever writes or reads the node's key and store. */
#include <stdio.h>
#include <string.h>

#include "node.h"

static int usage(void) {
  fprintf(stderr,
          "usage: momedod --dir DIR                 run the node (foreground; stop with "
          "SIGTERM or Ctrl-C)\n"
          "       momedod --init --dir DIR [--listen HOST:PORT] [--name NAME]\n"
          "       momedod --fingerprint --dir DIR\n"
          "Create a node with `momedo-admin init --dir DIR`; see docs/operations.md.\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *dir = NULL, *listen = NULL, *name = NULL;
  int init = 0, fingerprint = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--dir") == 0 && i + 1 < argc)
      dir = argv[++i];
    else if (strcmp(a, "--listen") == 0 && i + 1 < argc)
      listen = argv[++i];
    else if (strcmp(a, "--name") == 0 && i + 1 < argc)
      name = argv[++i];
    else if (strcmp(a, "--init") == 0)
      init = 1;
    else if (strcmp(a, "--fingerprint") == 0)
      fingerprint = 1;
    else if (strcmp(a, "--foreground") == 0)
      continue; /* the only mode; accepted for scripts that say so */
    else
      return usage();
  }
  if (!dir || (init && fingerprint) || ((listen || name) && !init)) return usage();
  if (init) return node_init_dir(dir, listen, name) == 0 ? 0 : 1;
  if (fingerprint) return node_print_fingerprint(dir) == 0 ? 0 : 1;
  return node_run(dir) == 0 ? 0 : 1;
}
