/* node/node.h — momedod's entry points: create a node directory, print its
 * fingerprint, and run the daemon until SIGTERM/SIGINT. Everything else is private
 * (node_int.h). */
#ifndef MOMEDO_NODE_H
#define MOMEDO_NODE_H

#include "status.h"

/* Create a node in dir: dir itself (0700, parents must exist), momedo.conf (every option
 * commented with its default; listen and name may be NULL for defaults), node.key
 * (0600), node.crt and the store. Refuses (E_EXISTS) when dir already holds a node.
 * On success prints "key=value" lines (dir, name, listen, fingerprint, node_key) to
 * stdout; on failure one sentence to stderr. Returns 0 or a MOMEDO_E_* code. */
MOMEDO_WUR int node_init_dir(const char *dir, const char *listen, const char *name);

/* Print "fingerprint=..." and "node_key=..." of the node in dir (no running node
 * needed). */
MOMEDO_WUR int node_print_fingerprint(const char *dir);

/* Run the node in dir in the foreground until SIGTERM or SIGINT. Returns 0 after a
 * clean stop, or a MOMEDO_E_* code when it could not start (reason logged). */
MOMEDO_WUR int node_run(const char *dir);

#endif
