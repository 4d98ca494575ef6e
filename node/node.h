/* node/node.h — momedod's entry point: run the daemon until SIGTERM/SIGINT. Creating a
 * node and reading its fingerprint are nodedir.h's (shared with momedo-admin);
 * everything else is private (node_int.h). */
#ifndef MOMEDO_NODE_H
#define MOMEDO_NODE_H

#include "status.h"

/* Run the node in dir in the foreground until SIGTERM or SIGINT. With init_empty, a
 * directory without a node key or store is made a node first (nodedir.h's
 * node_dir_create, keeping an existing momedo.conf): the packaged unit's first start.
 * Returns 0 after a clean stop, or a MOMEDO_E_* code when it could not start (reason
 * logged). */
MOMEDO_WUR int node_run(const char *dir, int init_empty);

#endif
