/* client/core/momedo_client.h — the client core's one public header: what the `momedo`
 * command line, its bot mode and a future app include (client/cli/ includes no other
 * core header; scripts/check_layers.sh enforces it). The core keeps the identity, the
 * devices, contacts, sessions, groups and channels, the vault, the node API and the
 * message engine (engine.h: events, never output); it never prints, reads a terminal or
 * exits: a failure is a MOMEDO_E_* status (status.h) and, where a call takes one, a
 * sentence in the caller's why buffer. The *_int.h headers stay private to the core. */
#ifndef MOMEDO_CLIENT_H
#define MOMEDO_CLIENT_H

#include "status.h"

#include "account.h"   /* this device's keys, the user's devices, home nodes, cursors */
#include "archive.h"   /* the compliance archive: hash-chained log, checkpoints, verify */
#include "channel.h"   /* passphrase channels */
#include "contacts.h"  /* contacts, pinned keys, cached bundles */
#include "content.h"   /* what a message carries: text, file, location, task, receipts */
#include "counter.h"   /* the vault's anti-rollback save counter */
#include "group.h"     /* groups and announcement channels */
#include "history.h"   /* the message history (SQLite, sealed rows) */
#include "home.h"      /* the client's directory and its lock */
#include "link.h"      /* linking a second device */
#include "nodeapi.h"   /* the node protocol over a transport */
#include "otpks.h"     /* one-time prekey secrets */
#include "ratchet.h"   /* a session as its users see it */
#include "timeline.h"  /* history per conversation, the seen set */
#include "transport.h" /* the byte pipe under nodeapi, and TLS to a node */
#include "vault.h"     /* state at rest under the passphrase */
#include "x3dh.h"      /* first messages, envelopes, encrypt / decrypt */
#include "engine.h"    /* the message engine: state, send, sync, events (issue 13) */

#endif
