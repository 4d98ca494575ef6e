/* client/core/momedo_client.h — the client core's one public header: what the `momedo`
 * command line, its bot mode and a future app include (client/cli/ includes no other
 * core header; scripts/check_layers.sh enforces it). The core keeps the identity, the
 * devices, contacts, sessions, groups and channels, the vault, the node API and the
 * message engine (engine.h: events, never output); it never prints, reads a terminal or
 * exits: a failure is a MOMEDO_E_* status (status.h) and, where a call takes one, a
 * sentence in the caller's why buffer. Only what the front-ends show and hand back is
 * here: the home's state, connections, groups' keys, sessions (ratchet.h, x3dh.h), the
 * vault, one-time prekeys, the save counter, the node API and the transport are the
 * core's (opaque handles or not declared at all), as are the *_int.h headers. */
#ifndef MOMEDO_CLIENT_H
#define MOMEDO_CLIENT_H

#include "status.h"

#include "account.h"    /* the user's devices and nodes as shown (account_device, _node) */
#include "archive.h"    /* the compliance archive: hash-chained log, checkpoints, verify */
#include "channel.h"    /* passphrase channels: names and limits */
#include "contacts.h"   /* a contact's display fields, pinned keys, cached devices */
#include "content.h"    /* what a message carries: text, file, location, task, receipts */
#include "group_view.h" /* a group as shown: ID, name, mode, members and roles */
#include "history.h"    /* the message history's rows and pages */
#include "home.h"       /* the client's directory */
#include "link.h"       /* linking a second device: the code and the safety code */
#include "timeline.h"   /* a message as stored (tl_entry), task states, decisions */
#include "engine.h"     /* the message engine: state, send, sync, groups, events (issue 13) */

#endif
