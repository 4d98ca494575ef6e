/* fuzz_admin_proto — the node's admin protocol end to end: a real momedod in the process
 * (node_harness.h) and its real admin socket (AF_UNIX, admin_srv.c unchanged: accept,
 * frame decoder, dispatch, every command, the deferred backup, the answer, the close). An
 * input is what successive admin connections send: each takes the next frame (4-byte
 * length and that many bytes, or what is left), at most CONNS_MAX; a header no frame can
 * have takes the rest. Oracles besides the sanitizers:
 *  - a connection that sent a whole frame, or a header no frame can have, gets exactly one
 *    AdminResponse frame and then the close: with the request's request_id (0 when the
 *    frame is no admin request), a known status, a reason unless 0 and the body of the
 *    command's kind when 0; one that sent part of a frame and hung up is closed (the node
 *    cannot answer what it did not get);
 *  - what it answered as done is so: an invite's token is in the store, an added neighbor
 *    is in neighbors.conf and a removed one is not, a backup's checkpoint is on disk;
 *  - nothing stays: after each connection no admin connection is counted, none is being
 *    handled, and the request arena is empty.
 * Carried from input to input: the store (invites), the working-hours policies; neighbors
 * an input added are removed through the socket after it, and backups deleted, as an
 * admin would. MOMEDO_FUZZ_WRITE_SEEDS=DIR writes the seed corpus to DIR and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cursor.h"
#include "frame.h"
#include "ids.h"
#include "invite.h"
#include "node_harness.h"
#include "nodedir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define INPUT_MAX (NODE_ADMIN_FRAME_BYTES_MAX + 4096)
#define CONNS_MAX 8

struct names {
  char v[CONNS_MAX][NODE_NAME_CHARS_MAX + 1];
  int added[CONNS_MAX];
  size_t n;
};

static struct arena a_, b_;

static void fail(const char *what) {
  fprintf(stderr, "fuzz_admin_proto: %s\n", what);
  abort();
}

/* The response's body when the status is 0. */
static int answer_kind(int req) {
  switch (req) {
  case MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_ADD:
  case MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE:
  case MOMEDO__ADMIN_REQUEST__BODY_PARTICIPANT_REMOVE:
  case MOMEDO__ADMIN_REQUEST__BODY_INVITE_REVOKE:
  case MOMEDO__ADMIN_REQUEST__BODY_RELOAD:
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_REMOVE:
    return MOMEDO__ADMIN_RESPONSE__BODY__NOT_SET;
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_SET:
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_ASSIGN:
  case MOMEDO__ADMIN_REQUEST__BODY_POLICY_LIST:
    return MOMEDO__ADMIN_RESPONSE__BODY_POLICIES;
  default:
    return req; /* admin.proto numbers the other answers as their requests */
  }
}

static void invite_stored(struct node *n, const char *token_hex) {
  uint8_t tok[NODE_INVITE_TOKEN_BYTES], k[2 + CRYPTO_HASH_LEN];
  void *v = NULL;
  size_t vn = 0;
  if (!token_hex || invite_token_parse(tok, token_hex) != 0) fail("an invite without its token");
  node__key_tag(k, NODE_K_INVITE);
  if (crypto_sha256(k + 2, tok, sizeof tok) != 0) abort();
  if (store_get(n->store, k, sizeof k, &v, &vn) != 0) fail("an invite made, not in the store");
  free(v);
}

static void backup_there(struct node *n, const char *rel) {
  char path[NODE_PATH_BYTES_MAX + 64];
  struct stat st;
  if (!rel || !*rel || strstr(rel, "..")) fail("a backup without a path in the node directory");
  snprintf(path, sizeof path, "%s/%s", n->dir, rel);
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) fail("a backup made, not on disk");
  if (node_rm_rf(path, NULL, 0) != 0) fail("cannot delete a backup"); /* as the admin tool */
}

static void note_name(struct names *nm, const char *name, int added) {
  if (nm->n < CONNS_MAX) {
    snprintf(nm->v[nm->n], sizeof nm->v[0], "%s", name);
    nm->added[nm->n++] = added;
  }
}

/* Check one connection's answer to req (NULL: what it sent is no admin request). */
static void check_answer(struct node *n, const Momedo__AdminRequest *req, const uint8_t *ans,
                         size_t len, struct names *nm) {
  Momedo__Frame *f;
  if (len < FRAME_HEADER_LEN || be32_get(ans) != len - FRAME_HEADER_LEN)
    fail("not exactly one answer frame");
  arena_reset(&b_);
  if (frame_unpack(ans + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN, &b_, &f) != 0 ||
      f->body_case != MOMEDO__FRAME__BODY_ADMIN_RESPONSE)
    fail("an answer that is no AdminResponse");
  const Momedo__AdminResponse *rs = f->admin_response;
  if (rs->request_id != (req ? req->request_id : 0)) fail("an answer with another request_id");
  if (rs->status != 0) {
    if (rs->status > 0 || strcmp(momedo_status_name(rs->status), "E_UNKNOWN") == 0)
      fail("an unknown status");
    if (!rs->reason || !rs->reason[0]) fail("a refusal without a reason");
    if (rs->body_case != MOMEDO__ADMIN_RESPONSE__BODY__NOT_SET) fail("a refusal with a body");
    return;
  }
  if (!req) fail("status 0 for what is no admin request");
  if ((int)rs->body_case != answer_kind((int)req->body_case)) fail("status 0, another body");
  switch (req->body_case) {
  case MOMEDO__ADMIN_REQUEST__BODY_INVITE:
    invite_stored(n, rs->invite->token);
    break;
  case MOMEDO__ADMIN_REQUEST__BODY_BACKUP:
    backup_there(n, rs->backup->path);
    break;
  case MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_ADD:
    note_name(nm, req->neighbor_add->name, 1);
    break;
  case MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE:
    note_name(nm, req->neighbor_remove->name, 0);
    break;
  default:
    break;
  }
}

/* neighbors.conf as read back agrees with what was answered; then every neighbor goes. */
static void check_neighbors(struct node *n, const struct names *nm) {
  static struct node_neighbors file;
  char why[REASON_MAX];
  if (node_neighbors_load(&file, n->dir, why, sizeof why) != 0) fail("neighbors.conf unreadable");
  for (size_t i = 0; i < nm->n; i++) {
    int last = 1; /* the last word on this name counts */
    for (size_t j = i + 1; j < nm->n; j++) last &= strcmp(nm->v[i], nm->v[j]) != 0;
    if (last && (node_neighbors_find(&file, nm->v[i]) >= 0) != nm->added[i])
      fail(nm->added[i] ? "a neighbor added, not in neighbors.conf"
                        : "a neighbor removed, still in neighbors.conf");
  }
  while (n->nbs.n > 0) {
    Momedo__Frame fr = MOMEDO__FRAME__INIT;
    Momedo__AdminRequest rq = MOMEDO__ADMIN_REQUEST__INIT;
    Momedo__NeighborRemoveReq rm = MOMEDO__NEIGHBOR_REMOVE_REQ__INIT;
    uint8_t *buf, *ans;
    size_t len, alen;
    size_t before = n->nbs.n;
    rm.name = n->nbs.v[0].name;
    rq.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE;
    rq.neighbor_remove = &rm;
    fr.body_case = MOMEDO__FRAME__BODY_ADMIN_REQUEST;
    fr.admin_request = &rq;
    if (frame_encode(&fr, FRAME_BYTES_MAX_DEFAULT, &buf, &len) != 0) abort();
    fnode_admin_call(n, buf, len, 1, &ans, &alen);
    free(buf);
    free(ans);
    if (n->nbs.n != before - 1) fail("a neighbor cannot be removed");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct names nm = {.n = 0};
  if (size > INPUT_MAX) return 0;
  if (!a_.bytes_max) {
    arena_init(&a_, NODE_ARENA_BYTES_MAX);
    arena_init(&b_, NODE_ARENA_BYTES_MAX);
  }
  struct node *n = fnode_get("admin", NULL, NULL);
  size_t off = 0;
  for (int c = 0; c < CONNS_MAX && off < size; c++) {
    size_t left = size - off, len = left;
    int whole = 0, bad = 0;
    if (left >= FRAME_HEADER_LEN) {
      uint32_t blen = be32_get(data + off);
      bad = blen == 0 || blen > NODE_ADMIN_FRAME_BYTES_MAX;
      if (!bad && left - FRAME_HEADER_LEN >= blen) len = FRAME_HEADER_LEN + blen, whole = 1;
    }
    uint8_t *ans;
    size_t alen;
    fnode_admin_call(n, data + off, len, whole || bad, &ans, &alen);
    if (whole || bad) {
      Momedo__Frame *f = NULL;
      arena_reset(&a_);
      int rc = whole ? frame_unpack(data + off + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN, &a_, &f)
                     : MOMEDO_E_PROTO;
      const Momedo__AdminRequest *rq =
          rc == 0 && f->body_case == MOMEDO__FRAME__BODY_ADMIN_REQUEST ? f->admin_request : NULL;
      check_answer(n, rq, ans, alen, &nm);
    } else if (alen) {
      fail("an answer to part of a frame");
    }
    free(ans);
    off += len;
  }
  check_neighbors(n, &nm);
  return 0;
}

/* ---- the seed corpus ---- */

static size_t seed_add(uint8_t *buf, size_t at, size_t cap, Momedo__AdminRequest *rq) {
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  uint8_t *b;
  size_t len;
  f.body_case = MOMEDO__FRAME__BODY_ADMIN_REQUEST;
  f.admin_request = rq;
  if (frame_encode(&f, FRAME_BYTES_MAX_DEFAULT, &b, &len) != 0 || at + len > cap) abort();
  memcpy(buf + at, b, len);
  free(b);
  return at + len;
}

static void write_seeds(const char *dir) {
  static uint8_t buf[8192];
  char fp[IDS_NODE_FP_STR_MAX];
  Momedo__AdminRequest rq;
  Momedo__StatusReq st = MOMEDO__STATUS_REQ__INIT;
  Momedo__NeighborAddReq na = MOMEDO__NEIGHBOR_ADD_REQ__INIT;
  Momedo__NeighborRemoveReq nr = MOMEDO__NEIGHBOR_REMOVE_REQ__INIT;
  Momedo__NeighborListReq nl = MOMEDO__NEIGHBOR_LIST_REQ__INIT;
  Momedo__InviteReq in = MOMEDO__INVITE_REQ__INIT;
  Momedo__InviteListReq il = MOMEDO__INVITE_LIST_REQ__INIT;
  Momedo__InviteRevokeReq ir = MOMEDO__INVITE_REVOKE_REQ__INIT;
  Momedo__ParticipantsReq pa = MOMEDO__PARTICIPANTS_REQ__INIT;
  Momedo__ParticipantRemoveReq pr = MOMEDO__PARTICIPANT_REMOVE_REQ__INIT;
  Momedo__ReloadReq re = MOMEDO__RELOAD_REQ__INIT;
  Momedo__BackupReq ba = MOMEDO__BACKUP_REQ__INIT;
  Momedo__NodesReq no = MOMEDO__NODES_REQ__INIT;
  Momedo__PolicySetReq ps = MOMEDO__POLICY_SET_REQ__INIT;
  Momedo__PolicyAssignReq pas = MOMEDO__POLICY_ASSIGN_REQ__INIT;
  Momedo__PolicyRemoveReq prm = MOMEDO__POLICY_REMOVE_REQ__INIT;
  Momedo__PolicyListReq pl = MOMEDO__POLICY_LIST_REQ__INIT;
  struct crypto_sign_keypair other;
  uint8_t seed[32];
  size_t len;
  memset(seed, 0x6f, sizeof seed);
  if (crypto_sign_from_seed(&other, seed) != 0 || ids_node_fingerprint(fp, other.pub) != 0)
    abort();
#define SEED(name, field, kind, ptr) \
  do { \
    momedo__admin_request__init(&rq); \
    rq.request_id = 7; \
    rq.body_case = MOMEDO__ADMIN_REQUEST__BODY_##kind; \
    rq.field = (ptr); \
    len = seed_add(buf, 0, sizeof buf, &rq); \
    fnode_write_file(dir, name, buf, len); \
  } while (0)
  SEED("status", status, STATUS, &st);
  na.name = (char *)"hub-1", na.address = (char *)"127.0.0.1:4711", na.fingerprint = fp;
  SEED("neighbor_add", neighbor_add, NEIGHBOR_ADD, &na);
  nr.name = (char *)"hub-1";
  SEED("neighbor_remove", neighbor_remove, NEIGHBOR_REMOVE, &nr);
  SEED("neighbor_list", neighbor_list, NEIGHBOR_LIST, &nl);
  in.uses = 3, in.expires_s = 3600, in.address = (char *)"node.example.org:4710";
  SEED("invite", invite, INVITE, &in);
  SEED("invite_list", invite_list, INVITE_LIST, &il);
  ir.id = (char *)"0123456789abcdef";
  SEED("invite_revoke", invite_revoke, INVITE_REVOKE, &ir);
  SEED("participants", participants, PARTICIPANTS, &pa);
  pr.device = (char *)"4444444444444444444444444444444444444444444444444444444444444444";
  SEED("participant_remove", participant_remove, PARTICIPANT_REMOVE, &pr);
  SEED("reload", reload, RELOAD, &re);
  SEED("backup", backup, BACKUP, &ba);
  SEED("nodes", nodes, NODES, &no);
  char *hol[1] = {(char *)"2026-12-24"};
  ps.name = (char *)"office", ps.days = (char *)"Mon-Fri", ps.hours = (char *)"08:00-17:00";
  ps.tz = (char *)"Europe/Berlin", ps.holidays = hol, ps.n_holidays = 1;
  SEED("policy_set", policy_set, POLICY_SET, &ps);
  pas.name = (char *)"office", pas.user_id = (char *)"M8N2-2HT6-AAAA-BBBB";
  SEED("policy_assign", policy_assign, POLICY_ASSIGN, &pas);
  prm.name = (char *)"office";
  SEED("policy_remove", policy_remove, POLICY_REMOVE, &prm);
  SEED("policy_list", policy_list, POLICY_LIST, &pl);
#undef SEED
  /* Three connections: add a neighbor, list, remove it. */
  momedo__admin_request__init(&rq);
  rq.request_id = 1, rq.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_ADD, rq.neighbor_add = &na;
  len = seed_add(buf, 0, sizeof buf, &rq);
  rq.request_id = 2, rq.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_LIST, rq.neighbor_list = &nl;
  len = seed_add(buf, len, sizeof buf, &rq);
  rq.request_id = 3, rq.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_REMOVE;
  rq.neighbor_remove = &nr;
  len = seed_add(buf, len, sizeof buf, &rq);
  fnode_write_file(dir, "neighbor_add_list_remove", buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fnode_seeds_if_asked(write_seeds);
  return 0;
}
