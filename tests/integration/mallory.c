/* tests/integration/mallory.c — momedo-mallory, a patched client for the attack tests
 * (test_client_group_attacks.py): it opens a real `momedo` home (MOMEDO_PASSPHRASE) and
 * sends, over that user's real pairwise sessions, what an honest client never would:
 *   self-record GROUP            a record signed by this (plain) member giving itself a
 *                                new device, to every device of the group
 *   mark-recorded GROUP          a record signed by this (plain) member that flips the
 *                                group's "recorded" mark (marks it in its own name, or
 *                                unmarks it), to every device of the group
 *   forge-join GROUP VICTIM      a chain (the real version 1, then a version this user
 *                                signs adding VICTIM, a contact) to VICTIM's devices
 *   squat GROUP OWNER VICTIM     OWNER's sender key, as if it were this user's, to the
 *                                member VICTIM's devices
 *   prekey TO MODE               a DevicePrekey (a linked device's new signed prekey,
 *                                for the first device to publish; test_client_devices.py)
 *                                to TO: "self" (this user's other devices) or a contact.
 *                                MODE: "own" this device's current prekey, "bad-sig"
 *                                the same with a signature by a key of its own making,
 *                                "old" the previous prekey (a replayed announcement)
 *   decide TO TASKID approve|decline|accept|done
 *                                a decision (TaskReply with a decision, issue 13 part 4)
 *                                or an accept / done (no decision) on any task ID (32
 *                                hex digits), past the local checks of `task`, to a
 *                                contact or a group (test_client_approvals.py,
 *                                test_client_group_tasks.py)
 * One JSON line out. Test tool only: never installed, never part of the product. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine_int.h"
#include "group_int.h"
#include "hex.h"

static int fail(struct cli *c, int rc) {
  cli_json_fail(stdout, rc, c->e.why);
  return 1;
}

/* The identity key of the group member named by a user ID. */
static int member_by_uid(const struct group *g, const char *uid, uint8_t id[32]) {
  for (size_t i = 0; i < g->r.n; i++)
    if (ids_user_id_matches(uid, g->r.m[i].id) == 1) return memcpy(id, g->r.m[i].id, 32), 0;
  return MOMEDO_E_NOTFOUND;
}

/* Encoded Content{group = gc} from this device. */
static int pack_control(const Momedo__GroupControl *gc, const uint8_t dev[32], uint8_t **out,
                        size_t *len) {
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  uint8_t mid[CONTENT_ID_LEN];
  if (content_new_id(mid) != 0) return MOMEDO_E_RNG;
  m.format = CONTENT_FORMAT;
  m.message_id = (ProtobufCBinaryData){CONTENT_ID_LEN, mid};
  m.sent_ms = os_wall_ms();
  m.sender_device = (ProtobufCBinaryData){32, (uint8_t *)dev};
  m.body_case = MOMEDO__CONTENT__BODY_GROUP;
  m.group = (Momedo__GroupControl *)gc;
  *len = momedo__content__get_packed_size(&m);
  if ((*out = malloc(*len)) == NULL) return MOMEDO_E_NOMEM;
  momedo__content__pack(&m, *out);
  return 0;
}

/* The next version of the head with this user's devices plus a made-up one, signed by
 * this user's identity key. */
static int forge_self(struct eng_state *st, const struct group *g, uint8_t **rec, size_t *rl) {
  struct group_roster R;
  struct crypto_sign_keypair extra;
  uint8_t devs[GROUP_MEMBER_DEVICES_MAX][32];
  int rc = crypto_sign_keygen(&extra);
  if (rc == 0) rc = group__roster_copy(&R, &g->r);
  if (rc < 0) return rc;
  long me = group__find(&R, st->acct.identity.pub);
  if (me < 0 || R.m[me].ndev >= GROUP_MEMBER_DEVICES_MAX) rc = MOMEDO_E_NOTFOUND;
  if (rc == 0) {
    size_t nd = R.m[me].ndev;
    int role = R.m[me].role;
    memcpy(devs, R.dev[R.m[me].dev0], nd * 32);
    memcpy(devs[nd], extra.pub, 32);
    group__roster_delete(&R, (size_t)me);
    rc = group__roster_append(&R, st->acct.identity.pub, role, (const uint8_t(*)[32])devs, nd + 1);
  }
  if (rc == 0) rc = group__roster_normalize(&R);
  R.version = g->r.version + 1, R.has_prev = 1;
  memcpy(R.prev, g->r.hash, 32);
  R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_DEVICES, R.created_ms = os_wall_ms();
  memcpy(R.signer, st->acct.identity.pub, 32);
  if (rc == 0) rc = group__roster_sign(&R, &st->acct.identity, rec, rl);
  group__roster_clear(&R);
  return rc;
}

/* The next record with the "recorded" mark flipped, signed by this member. */
static int forge_mark(struct eng_state *st, const struct group *g, uint8_t **rec, size_t *rl) {
  struct group_roster R;
  int rc = group__roster_copy(&R, &g->r);
  if (rc < 0) return rc;
  R.recorded = !g->r.recorded;
  memcpy(R.rec_by, st->acct.identity.pub, 32);
  R.version = g->r.version + 1, R.has_prev = 1;
  memcpy(R.prev, g->r.hash, 32);
  R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_SETTINGS, R.created_ms = os_wall_ms();
  R.rec_since_ms = R.created_ms;
  memcpy(R.signer, st->acct.identity.pub, 32);
  rc = group__roster_sign(&R, &st->acct.identity, rec, rl);
  group__roster_clear(&R);
  return rc;
}

/* Version 2 on the real version 1: this user as an admin, plus the victim. */
static int forge_join(struct eng_state *st, const struct group *g, const struct contact *v,
                      uint8_t **chain, size_t *cl) {
  struct group_roster R;
  uint8_t *rec = NULL, devs[OBJ_DEVICES_MAX][32];
  size_t rl = 0;
  int rc = group__roster_parse(&R, g->ch[0].b, g->ch[0].n, 0);
  if (rc < 0) return rc;
  long me = group__find(&R, st->acct.identity.pub);
  if (me >= 0) R.m[me].role = MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN;
  for (size_t d = 0; d < v->n_devices; d++) memcpy(devs[d], v->devices[d].device_key, 32);
  if (group__find(&R, v->key) < 0)
    rc = group__roster_append(&R, v->key, MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER,
                              (const uint8_t(*)[32])devs, v->n_devices);
  if (rc == 0) rc = group__roster_normalize(&R);
  R.version = 2, R.has_prev = 1;
  memcpy(R.prev, g->ch[0].hash, 32);
  R.change = MOMEDO__GROUP_CHANGE__GROUP_CHANGE_ADD, R.created_ms = os_wall_ms();
  memcpy(R.signer, st->acct.identity.pub, 32);
  if (rc == 0) rc = group__roster_sign(&R, &st->acct.identity, &rec, &rl);
  group__roster_clear(&R);
  if (rc < 0) return rc;
  Momedo__GroupChain c = MOMEDO__GROUP_CHAIN__INIT;
  ProtobufCBinaryData two[2] = {{g->ch[0].n, g->ch[0].b}, {rl, rec}};
  c.n_records = 2, c.records = two;
  *cl = momedo__group_chain__get_packed_size(&c);
  if ((*chain = malloc(*cl)) == NULL) rc = MOMEDO_E_NOMEM;
  else momedo__group_chain__pack(&c, *chain);
  free(rec);
  return rc;
}

/* OWNER's receiving chain in the current epoch, as a SenderKey of this user's. */
static int squat_key(const struct group *g, const uint8_t owner[32], uint8_t *proof,
                     Momedo__SenderKey *sk) {
  const struct group_epoch *e = &g->ep[g->n_ep - 1];
  for (size_t i = 0; i < e->n_rx; i++) {
    const struct group_rx *rx = &e->rx[i];
    if (memcmp(rx->id, owner, 32) != 0) continue;
    sk->group_id = (ProtobufCBinaryData){32, (uint8_t *)g->r.group_id};
    sk->epoch = e->epoch;
    sk->signing_key = (ProtobufCBinaryData){32, (uint8_t *)rx->pub};
    sk->chain_key = (ProtobufCBinaryData){32, (uint8_t *)rx->ck};
    sk->iteration = rx->n;
    sk->record_hash = (ProtobufCBinaryData){32, (uint8_t *)g->r.hash};
    sk->mailbox = (ProtobufCBinaryData){32, (uint8_t *)e->mailbox};
    sk->proof = (ProtobufCBinaryData){CRYPTO_SIG_LEN, proof}; /* it has no key to make one */
    return crypto_random(proof, CRYPTO_SIG_LEN);
  }
  return MOMEDO_E_NOTFOUND;
}

/* The devices of member id (or of contact v) as targets. */
static size_t targets_of(const struct group *g, const uint8_t *id, const struct contact *v,
                         const uint8_t self_dev[32], struct group_device *t, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; !v && i < g->r.n; i++) {
    if (id && memcmp(g->r.m[i].id, id, 32) != 0) continue;
    for (uint32_t d = 0; d < g->r.m[i].ndev && n < cap; d++) {
      if (memcmp(g->r.dev[g->r.m[i].dev0 + d], self_dev, 32) == 0) continue;
      memcpy(t[n].identity_key, g->r.m[i].id, 32);
      memcpy(t[n++].device_key, g->r.dev[g->r.m[i].dev0 + d], 32);
    }
  }
  for (size_t d = 0; v && d < v->n_devices && n < cap; d++) {
    memcpy(t[n].identity_key, v->key, 32);
    memcpy(t[n++].device_key, v->devices[d].device_key, 32);
  }
  return n;
}

/* prekey TO MODE: see the header. */
static int send_prekey(struct cli *c, struct eng_state *st, struct eng_conn *cn, const char *to,
                       const char *mode, size_t *sent) {
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__DevicePrekey dp = MOMEDO__DEVICE_PREKEY__INIT;
  struct account_prekey_pub p;
  struct crypto_sign_keypair other;
  int rc = 0;
  account_prekey_pub(&st->acct, &p);
  if (!strcmp(mode, "bad-sig")) {
    if ((rc = crypto_sign_keygen(&other)) == 0)
      rc = obj_prekey_sign(p.sig, p.id, p.expires_ms, p.pub, &other);
  } else if (!strcmp(mode, "old")) {
    const struct account_prekey *old = &st->acct.prekeys[1];
    if (old->id == 0) return cli_fail(c, MOMEDO_E_NOTFOUND, "this device has no previous prekey");
    memcpy(p.pub, old->pub, 32), p.id = old->id, p.expires_ms = old->expires_ms;
    memcpy(p.sig, old->sig, CRYPTO_SIG_LEN);
  } else if (strcmp(mode, "own") != 0) {
    return cli_fail(c, MOMEDO_E_INVAL, "usage: prekey TO own|bad-sig|old");
  }
  if (rc) return rc;
  dp.signed_prekey = (ProtobufCBinaryData){32, p.pub};
  dp.prekey_id = p.id;
  dp.prekey_expires_ms = p.expires_ms;
  dp.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, p.sig};
  m.body_case = MOMEDO__CONTENT__BODY_DEVICE_PREKEY;
  m.device_prekey = &dp;
  if (!strcmp(to, "self")) return eng_send_own(&c->e, st, cn, &m, sent);
  struct contact *ct = contacts_resolve(&st->contacts, to);
  if (!ct) return cli_fail(c, MOMEDO_E_NOTFOUND, "no contact %s", to);
  return eng_send_content(&c->e, st, cn, ct, &m, 1, sent);
}

static int send_decision(struct cli *c, struct eng_state *st, struct eng_conn *cn,
                         const char *to, const char *hex, const char *what, size_t *sent) {
  uint8_t task[TL_ID_LEN], id[TL_ID_LEN];
  int approve = !strcmp(what, "approve"), decline = !strcmp(what, "decline");
  int accept = !strcmp(what, "accept"), done = !strcmp(what, "done");
  if (strlen(hex) != 2 * TL_ID_LEN || hex_decode_str(task, TL_ID_LEN, hex) != 0 ||
      approve + decline + accept + done != 1)
    return cli_fail(c, MOMEDO_E_INVAL, "usage: decide TO TASKID(32 hex) "
                    "approve|decline|accept|done");
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  r.task_id = (ProtobufCBinaryData){TL_ID_LEN, task};
  r.action = approve || accept ? MOMEDO__TASK_REPLY__ACTION__ACCEPT
             : done            ? MOMEDO__TASK_REPLY__ACTION__DONE
                               : MOMEDO__TASK_REPLY__ACTION__DECLINE;
  r.decision = approve   ? MOMEDO__TASK_REPLY__DECISION__APPROVED
               : decline ? MOMEDO__TASK_REPLY__DECISION__DECLINED
                         : MOMEDO__TASK_REPLY__DECISION__DECISION_NONE;
  r.comment = (char *)(approve || decline ? "forged" : "");
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  m.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY;
  m.task_reply = &r;
  struct contact *ct = contacts_resolve(&st->contacts, to);
  if (ct) return eng_send_content(&c->e, st, cn, ct, &m, 1, sent);
  struct eng_group *cg = NULL;
  int rc = eng_group_find(&c->e, st, to, &cg);
  if (rc == 0) rc = eng_group_send(&c->e, st, cn, cg, &m, NULL, 0, id);
  if (rc == 0) *sent = 1;
  return rc;
}

static int run(struct cli *c, struct eng_state *st, struct eng_conn *cn, char **argv, int argc,
               size_t *sent) {
  if (!strcmp(argv[0], "decide"))
    return argc == 4 ? send_decision(c, st, cn, argv[1], argv[2], argv[3], sent)
                     : cli_fail(c, MOMEDO_E_INVAL, "usage: decide TO TASKID "
                                "approve|decline|accept|done");
  if (!strcmp(argv[0], "prekey"))
    return argc == 3 ? send_prekey(c, st, cn, argv[1], argv[2], sent)
                     : cli_fail(c, MOMEDO_E_INVAL, "usage: prekey TO own|bad-sig|old");
  struct eng_group *cg = NULL;
  Momedo__GroupControl gc;
  Momedo__SenderKey sk = MOMEDO__SENDER_KEY__INIT;
  uint8_t *body = NULL, *pt = NULL, proof[CRYPTO_SIG_LEN], id[32];
  size_t bl = 0, len = 0, nt = 0;
  struct group_device *t = calloc(GROUP_DEVICES_MAX, sizeof *t);
  const char *cmd = argv[0];
  int rc = t ? eng_group_find(&c->e, st, argv[1], &cg) : MOMEDO_E_NOMEM;
  const struct contact *v = NULL;
  momedo__group_control__init(&gc);
  int self = rc == 0 && !strcmp(cmd, "self-record") && argc == 2;
  int mark = rc == 0 && !strcmp(cmd, "mark-recorded") && argc == 2;
  if (self || mark) {
    if ((rc = (mark ? forge_mark : forge_self)(st, cg->g, &body, &bl)) == 0) {
      gc.body_case = MOMEDO__GROUP_CONTROL__BODY_RECORD;
      gc.record = (ProtobufCBinaryData){bl, body};
      nt = targets_of(cg->g, NULL, NULL, st->acct.device.pub, t, GROUP_DEVICES_MAX);
    }
  } else if (rc == 0 && !strcmp(cmd, "forge-join") && argc == 3) {
    v = contacts_resolve(&st->contacts, argv[2]);
    rc = v ? forge_join(st, cg->g, v, &body, &bl) : MOMEDO_E_NOTFOUND;
    if (rc == 0) {
      gc.body_case = MOMEDO__GROUP_CONTROL__BODY_CHAIN;
      gc.chain = (ProtobufCBinaryData){bl, body};
      nt = targets_of(cg->g, NULL, v, st->acct.device.pub, t, GROUP_DEVICES_MAX);
    }
  } else if (rc == 0 && !strcmp(cmd, "squat") && argc == 4) {
    rc = member_by_uid(cg->g, argv[2], id);
    if (rc == 0) rc = squat_key(cg->g, id, proof, &sk);
    if (rc == 0) rc = member_by_uid(cg->g, argv[3], id);
    if (rc == 0) {
      gc.body_case = MOMEDO__GROUP_CONTROL__BODY_SENDER_KEY;
      gc.sender_key = &sk;
      nt = targets_of(cg->g, id, NULL, st->acct.device.pub, t, GROUP_DEVICES_MAX);
    }
  } else if (rc == 0) {
    rc = cli_fail(c, MOMEDO_E_INVAL, "usage: self-record G | mark-recorded G | forge-join G V | squat G O V");
  }
  if (rc == 0) rc = pack_control(&gc, st->acct.device.pub, &pt, &len);
  if (rc == 0) rc = eng__group_send_to(&c->e, st, cn, pt, len, t, nt, sent);
  if (rc && !c->e.why[0]) cli_fail(c, rc, "%s", momedo_strerror(rc));
  free(body);
  free(pt);
  free(t);
  return rc;
}

int main(int argc, char **argv) {
  struct cli c;
  struct eng_state *st = NULL;
  struct eng_conn cn;
  size_t sent = 0;
  memset(&c, 0, sizeof c);
  memset(&cn, 0, sizeof cn);
  c.out = stdout;
  c.e.timeout_ms = 30000;
  c.json = 1;
  if (argc < 5 || strcmp(argv[1], "--home") != 0) {
    fprintf(stderr, "usage: momedo-mallory --home DIR self-record|mark-recorded|forge-join|squat|prekey ...\n");
    return 2;
  }
  c.opt[CO_HOME] = argv[2];
  cli_engine_setup(&c);
  int rc = cli_open(&c, &st, 1);
  if (rc == 0) rc = eng_connect(&c.e, st, &cn);
  if (rc == 0) rc = run(&c, st, &cn, argv + 3, argc - 3, &sent);
  if (rc == 0) rc = eng_save(&c.e, st);
  eng_conn_close(&cn);
  eng_state_free(st);
  if (rc) return fail(&c, rc);
  printf("{\"ok\":true,\"sent\":%zu}\n", sent);
  return 0;
}
