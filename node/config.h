/* node/config.h — the node's settings: DIR/momedo.conf ("key = value" lines, '#'
 * comments) and the neighbor list DIR/neighbors.conf ("name host:port key" lines,
 * rewritten atomically). Every value is checked against hard bounds; errors name
 * file:line. Pure C over files: no libuv, no sockets, no logging (momedo-admin
 * compiles this file too, to find the admin socket the same way the node does). */
#ifndef MOMEDO_NODE_CONFIG_H
#define MOMEDO_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "reason.h"
#include "repl.h"
#include "status.h"

#define NODE_CONF_FILE "momedo.conf"
#define NODE_NEIGHBORS_FILE "neighbors.conf"
#define NODE_STORE_DIR "store"
#define NODE_ADMIN_SOCKET_DEFAULT "admin.sock"
#define NODE_PORT_DEFAULT 4710
#define NODE_LISTEN_DEFAULT "0.0.0.0:4710"

#define NODE_CONF_LINE_BYTES_MAX 1024      /* a longer line is an error */
#define NODE_CONF_LINES_MAX 10000          /* a longer file is an error */
#define NODE_NAME_CHARS_MAX 63             /* node and neighbor names */
#define NODE_HOST_CHARS_MAX 253            /* DNS name or IP literal */
#define NODE_HOSTPORT_CHARS_MAX (NODE_HOST_CHARS_MAX + 8)
#define NODE_PATH_BYTES_MAX 4096           /* DIR and files in it */
#define NODE_SOCKET_PATH_BYTES_MAX 107     /* sun_path minus the NUL */
#define NODE_NEIGHBORS_MAX 64
#define NODE_FP_BYTES 32                   /* node fingerprint: SHA-256 of the node key */
#define NODE_CONF_NOTES_MAX 4              /* notes kept from one momedo.conf */

struct node_config {
  char name[NODE_NAME_CHARS_MAX + 1];
  char listen_host[NODE_HOST_CHARS_MAX + 1];
  uint16_t listen_port;
  char admin_socket[NODE_SOCKET_PATH_BYTES_MAX + 1]; /* absolute after load */
  int log_level;                      /* 0 error, 1 warn, 2 info, 3 debug */
  uint32_t frame_bytes_max;
  uint32_t item_ttl_days_default;
  uint32_t item_ttl_days_max;
  uint32_t mailbox_items_max;
  uint64_t mailbox_bytes_max;
  uint32_t item_bytes_max;
  uint32_t device_posts_per_minute;
  uint32_t device_acks_per_minute;      /* tombstones one device may hand in per minute */
  uint32_t device_publishes_per_minute; /* key bundles one device may publish per minute */
  uint32_t partner_grant_ttl_s;         /* life of the partner grants this node signs */
  uint32_t mailbox_items_per_poster_max; /* of a shared (not a device's) mailbox */
  uint32_t clients_max;
  char log_file[NODE_PATH_BYTES_MAX];      /* "" (not set): standard error / the journal */
  char metrics_host[NODE_HOST_CHARS_MAX + 1];
  uint16_t metrics_port;                   /* 0 (metrics_listen not set): no metrics */
  /* Posts without dest_nodes (global scope) from clients: 1 allowed (counted), 0 refused. */
  uint32_t global_posts_allowed;
  /* The replication engine's parameters, set by the names of its parameter table
   * (replication/repl.h, the same as the simulator's `repl` lines). Hooks stay NULL.
   * peer_queue_bytes_max also bounds each link's send queue. */
  struct repl_config repl;
  /* Things worth a log line that are not errors (a deprecated key, with the line that
   * would replace it), "FILE:LINE: ..."; the node logs them at start. */
  uint32_t nnotes;
  char notes[NODE_CONF_NOTES_MAX][REASON_MAX];
};

/* 90 days: a client renews its grants when less than 30 are left (client/account.h). */
#define NODE_PARTNER_GRANT_TTL_S_DEFAULT (90u * 24 * 3600)

/* The optional fourth word of a neighbors.conf line. */
#define NODE_NEIGHBOR_PARTNER "partner"

struct node_neighbor {
  char name[NODE_NAME_CHARS_MAX + 1];
  char host[NODE_HOST_CHARS_MAX + 1];
  uint16_t port;
  uint8_t fp[NODE_FP_BYTES]; /* pinned: ids_node_fp_bytes() of the neighbor's node key */
  /* Also a home of this node's users: named in RegisterResp.partners, so registering
   * clients put it into their bundle's home_nodes and it holds their mailboxes. A plain
   * neighbor only links (and relays, in scoped delivery). */
  int partner;
};

struct node_neighbors {
  size_t n;
  struct node_neighbor v[NODE_NEIGHBORS_MAX];
};

/* Call fn with the name of every key (momedo.conf's and the engine's) whose value differs
 * between a and b, in table order: what a reload changes. */
void node_config_diff(const struct node_config *a, const struct node_config *b,
                      void (*fn)(void *ctx, const char *key), void *ctx);

/* The node's name when momedo.conf sets none: the host name up to its first dot, if that
 * is a valid name, else "momedo". */
void node_default_name(char out[static NODE_NAME_CHARS_MAX + 1]);

/* Built-in defaults; admin_socket becomes DIR/admin.sock. */
void node_config_defaults(struct node_config *c, const char *dir);

/* Read DIR/momedo.conf over the defaults. A missing file is MOMEDO_E_NOTFOUND; any bad
 * line is MOMEDO_E_CONFIG with "FILE:LINE: what is wrong" in why (REASON_MAX suffices).
 * Engine parameters are read by the engine's table (repl_param_parse); the keys
 * momedod used for them before, recon_interval_s and link_queue_bytes_max, are still
 * read, meaning what they meant, and leave a note in c->notes. */
MOMEDO_WUR int node_config_load(struct node_config *c, const char *dir, char *why,
                                size_t why_cap);
/* Parse config text (for tests and load); fname is only used in messages. */
MOMEDO_WUR int node_config_parse(struct node_config *c, const char *dir, const char *fname,
                                 const char *text, size_t len, char *why, size_t why_cap);

/* The text of a fresh momedo.conf: every option, commented out, with its default and
 * a line saying what it does; name and listen set. malloc'ed, caller frees. */
char *node_config_template(const char *name, const char *listen);

/* "host:port" (IPv6 as "[::1]:4710"). Port 1..65535, host 1..253 printable chars. */
MOMEDO_WUR int node_hostport_parse(const char *s, char host[static NODE_HOST_CHARS_MAX + 1],
                                   uint16_t *port);
/* Names: 1..63 of [A-Za-z0-9._-], starting with a letter or digit. */
int node_name_valid(const char *s);

/* The fingerprint of a node as an operator types it: the string `momedo-admin
 * fingerprint` prints (53 base32 symbols with check character; dashes, spaces, case
 * and O/0, I/L/1 do not matter), or the node key as 64 hex digits (`node_key=`), from
 * which the fingerprint is computed. The two forms differ in length and alphabet, so
 * the reading is unambiguous (the base32 key string of ids.h is NOT accepted: it is
 * indistinguishable from a fingerprint). E_CHECKSUM: a mistyped fingerprint;
 * E_INVAL: neither form. */
MOMEDO_WUR int node_fp_from_text(const char *s, uint8_t fp[static NODE_FP_BYTES]);

/* The fingerprint string (as ids_node_fingerprint prints it) of fingerprint bytes. */
MOMEDO_WUR int node_fp_format(char out[static IDS_NODE_FP_STR_MAX],
                              const uint8_t fp[static NODE_FP_BYTES]);

/* DIR/neighbors.conf ("NAME HOST:PORT FINGERPRINT [partner]" lines); a missing file is
 * an empty list. */
MOMEDO_WUR int node_neighbors_load(struct node_neighbors *nb, const char *dir, char *why,
                                   size_t why_cap);
MOMEDO_WUR int node_neighbors_parse(struct node_neighbors *nb, const char *fname,
                                    const char *text, size_t len, char *why, size_t why_cap);
/* Write the list to DIR/neighbors.conf.tmp, fsync, rename over neighbors.conf, fsync DIR. */
MOMEDO_WUR int node_neighbors_save(const struct node_neighbors *nb, const char *dir,
                                   char *why, size_t why_cap);
/* Index of the neighbor called name, or -1. */
int node_neighbors_find(const struct node_neighbors *nb, const char *name);

/* Write len bytes to path atomically (tmp + fsync + rename + fsync dir), given mode. */
MOMEDO_WUR int node_file_write_atomic(const char *path, const void *data, size_t len,
                                      unsigned mode);
/* Read a whole file of at most max bytes; *out malloc'ed and NUL-terminated. */
MOMEDO_WUR int node_file_read(const char *path, size_t max, char **out, size_t *len);

#endif
