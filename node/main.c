/* node/main.c — momedod's command line (getopt_long): `momedod --dir DIR` runs the node
 * in the foreground under whatever supervises it (systemd: Type=notify); it never
 * daemonises itself. Nodes are created by `momedo-admin init`, or by the first start
 * with --init-if-empty (the packaged unit). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "node.h"
#include "version.h"

static int usage(FILE *f, int rc) {
  fprintf(f,
          "usage: momedod --dir DIR [--init-if-empty]\n"
          "       momedod --version | --help\n\n"
          "Runs the node in DIR in the foreground (stop it with SIGTERM or Ctrl-C; SIGHUP\n"
          "reloads momedo.conf and reopens the log). With --init-if-empty a directory\n"
          "without a node key becomes a new node first (keeping its momedo.conf).\n"
          "Create a node with `momedo-admin init --dir DIR`; see momedod(8).\n");
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"dir", required_argument, NULL, 'd'},
      {"init-if-empty", no_argument, NULL, 'i'},
      {"foreground", no_argument, NULL, 'f'}, /* the only mode; accepted for scripts */
      {"version", no_argument, NULL, 'V'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *dir = NULL;
  int init_empty = 0, c;
  while ((c = getopt_long(argc, argv, "d:hV", opts, NULL)) != -1) {
    switch (c) {
    case 'd': dir = optarg; break;
    case 'i': init_empty = 1; break;
    case 'f': break;
    case 'V': printf("momedod %s\n", MOMEDO_VERSION); return 0;
    case 'h': return usage(stdout, 0);
    default: return usage(stderr, 2); /* getopt named the option */
    }
  }
  if (optind < argc) {
    fprintf(stderr, "momedod: unexpected argument '%s'\n", argv[optind]);
    return usage(stderr, 2);
  }
  if (!dir || !*dir) {
    fprintf(stderr, "momedod: which node? give --dir DIR\n");
    return usage(stderr, 2);
  }
  return node_run(dir, init_empty) == 0 ? 0 : 1;
}
