/* client/cli/cli_app_manage.c — `momedo app`'s account pages, each handler run under the
 * app's lock over the command line's own functions: the first run (a new passphrase and
 * an invite code: eng_join_node, then eng_init_vault — nothing is written before the
 * node accepted the invite), a group or announcement channel made of contacts
 * (eng_group_create, eng_group_add), a contact's safety number and marking it verified
 * (contacts_verify, only for the number the page showed), and the account's devices
 * (eng_device_remove). The link-code path of the first run is in cli_app_link.c. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "cli_app.h"
#include "hex.h"
#include "invite.h"

static cJSON *ok_obj(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", 1);
  return o;
}

static void bad(struct app_call *c, const char *why) {
  app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, why);
}

/* A 64-hex-digit field of the request into out. */
static int key_arg(struct app_call *c, const char *name, uint8_t out[static 32]) {
  const char *v = app_arg(c, name);
  if (v && strlen(v) == 64 && hex_decode_str(out, 32, v) == 0) return 0;
  app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, "a key: 64 hex digits");
  return MOMEDO_E_INVAL;
}

/* ---- first run ------------------------------------------------------------------ */

int app_has_identity(struct app *a) {
  struct home h;
  memset(&h, 0, sizeof h);
  return home_resolve(&h, a->c->opt[CO_HOME]) == 0 && eng_vault_exists(h.dir);
}

/* The body's string field name (NULL if missing); wiped by wipe_str after use. */
static char *body_str(struct app_call *c, const char *name) {
  cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void wipe_str(char *s) {
  if (s) explicit_bzero(s, strlen(s));
}

/* The passphrase rules of a new vault (and the repetition); NULL when it is good. */
const char *app_pass_weak(const char *pass, const char *repeat) {
  size_t pl = pass ? strlen(pass) : 0;
  if (pl < APP_PASS_NEW_MIN)
    return "the passphrase is too short: at least " APP_STR(APP_PASS_NEW_MIN) " characters "
           "(a few words are easier to remember and harder to guess)";
  if (pl > ENG_PASS_MAX) return "the passphrase is longer than 1024 bytes";
  if (!repeat || strcmp(pass, repeat) != 0) return "the two passphrases differ";
  return NULL;
}

/* A new identity registered with inv, then the vault: a refused invite writes nothing. */
static int setup_invite(struct app *a, const struct invite *inv, const char *pass, size_t pl) {
  struct eng_state *st = NULL;
  int rc = eng_state_new(&st);
  if (rc) return cli_fail(&a->rq, rc, "out of memory");
  rc = eng_new_identity(st);
  if (rc) rc = cli_fail(&a->rq, rc, "cannot make the keys: %s", momedo_strerror(rc));
  if (rc == 0) rc = eng_join_node(&a->rq.e, st, inv);
  if (rc == 0) rc = eng_init_vault(&a->rq.e, st, pass, pl, a->log2n);
  if (rc == 0) rc = eng_save(&a->rq.e, st);
  eng_state_free(st);
  return rc;
}

/* {passphrase, repeat, code}: the first run on a home without an identity. The code is
 * an invite (a new user) or a link code from the user's first device (cli_app_link.c);
 * then the home is unlocked as by /api/unlock. */
static void api_setup(struct app *a, struct app_call *c) {
  char *pass = body_str(c, "passphrase"), *rep = body_str(c, "repeat");
  const char *code = app_arg(c, "code");
  struct invite inv;
  const char *weak = app_pass_weak(pass, rep);
  if (!a->link_busy) a->link_error[0] = 0; /* a new attempt: the last failure is old news */
  if (a->unlocked || app_has_identity(a)) {
    app_error(c, MHD_HTTP_CONFLICT, MOMEDO_E_EXISTS, "this home already holds an identity: "
              "unlock it with its passphrase (nothing changed)");
  } else if (a->link_busy) {
    app_error(c, MHD_HTTP_CONFLICT, MOMEDO_E_EXISTS, "a link code is being used already");
  } else if (weak) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, weak);
  } else if (!code || !code[0] || strlen(code) > APP_CODE_MAX) {
    bad(c, "paste the invite code from your administrator or the link code your first "
        "device shows");
  } else {
    int rc;
    if (app_is_link_code(code)) {
      app_link_start(a, c, code, pass); /* answers; the link runs on in a thread */
    } else if ((rc = invite_decode(&inv, code)) == MOMEDO_E_PROTO) {
      app_error(c, MHD_HTTP_BAD_REQUEST, rc, "that is neither an invite code nor a link code: "
                "paste the whole code (nothing changed)");
    } else if ((rc = eng_invite_decode(&a->rq.e, &inv, code)) != 0) {
      app_engine_fail(a, c, rc);
      c->http = MHD_HTTP_BAD_REQUEST;
    } else if ((rc = setup_invite(a, &inv, pass, strlen(pass))) != 0) {
      app_engine_fail(a, c, rc);
    } else {
      app_unlock_with(a, c, pass, strlen(pass));
    }
    explicit_bzero(&inv, sizeof inv);
  }
  wipe_str(pass);
  wipe_str(rep);
}

/* ---- groups and announcement channels ------------------------------------------- */

/* What group_change does. */
enum app_group_op { APP_GR_CREATE, APP_GR_ADD, APP_GR_REMOVE, APP_GR_ROLE, APP_GR_LEAVE };

/* members: an array of keys (hex) into user IDs (uids[n]): contacts' keys, or (any_key:
 * removing members, changing roles) any member's identity key, contact or not. */
static int member_refs(struct app *a, struct app_call *c, char (*uids)[IDS_USER_ID_STR_MAX],
                       size_t *n, int any_key) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(c->body, "members"), *v;
  uint8_t key[32];
  *n = 0;
  if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) > APP_GROUP_MEMBERS_MAX) {
    bad(c, "members: a list of up to " APP_STR(APP_GROUP_MEMBERS_MAX) " contact keys");
    return MOMEDO_E_INVAL;
  }
  cJSON_ArrayForEach(v, m) {
    const struct contact *ct = NULL;
    int ok = cJSON_IsString(v) && strlen(v->valuestring) == 64 &&
             hex_decode_str(key, 32, v->valuestring) == 0;
    if (any_key) {
      if (!ok || ids_user_id(uids[*n], key) != 0) {
        bad(c, "members: identity keys (64 hex digits)");
        return MOMEDO_E_INVAL;
      }
      (*n)++;
      continue;
    }
    if (ok) ct = eng_contact_by_key(a->st, key);
    if (!ct) {
      app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "a member is not a contact");
      return MOMEDO_E_NOTFOUND;
    }
    snprintf(uids[(*n)++], IDS_USER_ID_STR_MAX, "%s", ct->uid);
  }
  return 0;
}

/* The group's page entry: kind, key, name, mode, role, members. */
static cJSON *group_json(struct eng_state *st, const struct eng_group *cg) {
  struct group_info gi;
  struct group_member_view mv;
  char hex[65], uid[IDS_USER_ID_STR_MAX];
  eng_group_info(cg, &gi);
  hex_encode(hex, sizeof hex, gi.group_id, GROUP_ID_LEN);
  cJSON *o = ok_obj(), *arr = cJSON_CreateArray();
  cJSON_AddStringToObject(o, "kind", "group");
  cJSON_AddStringToObject(o, "key", hex);
  cJSON_AddStringToObject(o, "name", gi.name);
  cJSON_AddStringToObject(o, "mode", gi.mode == MOMEDO__GROUP_MODE__GROUP_MODE_CHANNEL
                                         ? "channel" : "group");
  cJSON_AddBoolToObject(o, "admin", gi.my_role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN &&
                                        !gi.removed && eng_is_first_device(st));
  cJSON_AddBoolToObject(o, "can_post", gi.can_post);
  cJSON_AddBoolToObject(o, "removed", gi.removed);
  for (size_t i = 0; i < eng_group_member_count(cg); i++) {
    if (eng_group_member_at(cg, i, &mv) != 0) continue;
    const struct contact *ct = eng_contact_by_key(st, mv.identity_key);
    cJSON *m = cJSON_CreateObject();
    if (ids_user_id(uid, mv.identity_key) != 0) uid[0] = 0;
    hex_encode(hex, sizeof hex, mv.identity_key, 32);
    cJSON_AddStringToObject(m, "user_id", uid);
    cJSON_AddStringToObject(m, "key", hex);
    cJSON_AddStringToObject(m, "name", ct ? contact_label(ct) : uid);
    cJSON_AddBoolToObject(m, "me", !memcmp(mv.identity_key, eng_identity_key(st), 32));
    cJSON_AddBoolToObject(m, "admin", mv.role == MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN);
    cJSON_AddItemToArray(arr, m);
  }
  cJSON_AddItemToObject(o, "members", arr);
  return o;
}

/* Create a group (name, channel, members), or change one (key): add, remove members,
 * set their role (role: "admin" or "member"), leave. One connection; the answer is the
 * group after the change (leaving as a member: by_request, the admins were asked). */
static void group_change(struct app *a, struct app_call *c, enum app_group_op op) {
  char(*uids)[IDS_USER_ID_STR_MAX] = calloc(APP_GROUP_MEMBERS_MAX, IDS_USER_ID_STR_MAX);
  const char *refs[APP_GROUP_MEMBERS_MAX];
  const char *name = app_arg(c, "name"), *role = app_arg(c, "role");
  const cJSON *ch = c->body ? cJSON_GetObjectItemCaseSensitive(c->body, "channel") : NULL;
  struct eng_group *cg = NULL;
  struct eng_group_result res;
  struct eng_conn *cn = NULL;
  uint8_t gid[32];
  size_t n = 0;
  int create = op == APP_GR_CREATE, admin = role && !strcmp(role, "admin");
  memset(&res, 0, sizeof res);
  if (!uids) {
    app_error(c, 0, MOMEDO_E_NOMEM, NULL);
    return;
  }
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc) {
    app_engine_fail(a, c, rc);
    free(uids);
    return;
  }
  if (create && (!name || !name[0])) bad(c, "name: the group's name");
  else if (op == APP_GR_ROLE && !admin && !(role && !strcmp(role, "member")))
    bad(c, "role: admin or member");
  else if (!create && key_arg(c, "key", gid) == 0 && !(cg = eng_group_by_id(a->st, gid)))
    app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no such group on this device");
  if (!c->out && (op == APP_GR_LEAVE ||
                  member_refs(a, c, uids, &n, op == APP_GR_REMOVE || op == APP_GR_ROLE) == 0)) {
    for (size_t i = 0; i < n; i++) refs[i] = uids[i];
    if (!create && op != APP_GR_LEAVE && n == 0) bad(c, "members: pick at least one");
    else if ((rc = eng_conn_new(&cn)) != 0 || (rc = eng_connect(&a->rq.e, a->st, cn)) != 0)
      app_engine_fail(a, c, rc);
    else if (create) rc = eng_group_create(&a->rq.e, a->st, cn, name, refs, n,
                                           cJSON_IsTrue(ch), &cg, &res);
    else if (op == APP_GR_ADD) rc = eng_group_add(&a->rq.e, a->st, cn, cg, refs, n, &res);
    else if (op == APP_GR_REMOVE) rc = eng_group_remove(&a->rq.e, a->st, cn, cg, refs, n, &res);
    else if (op == APP_GR_LEAVE) rc = eng_group_leave(&a->rq.e, a->st, cn, cg, &res);
    else rc = eng_group_set_role(&a->rq.e, a->st, cn, cg, refs, n,
                                 admin ? MOMEDO__GROUP_ROLE__GROUP_ROLE_ADMIN
                                       : MOMEDO__GROUP_ROLE__GROUP_ROLE_MEMBER, &res);
    if (!c->out && rc) {
      app_error(c, rc == MOMEDO_E_DENIED ? MHD_HTTP_FORBIDDEN : 0, rc,
                a->rq.e.why[0] ? a->rq.e.why : momedo_strerror(rc));
      a->rq.e.why[0] = 0;
    } else if (!c->out) {
      c->out = group_json(a->st, cg);
      cJSON_AddBoolToObject(c->out, "by_request", res.by_request);
      app_changed(a, -1);
    }
  }
  eng_conn_free(cn);
  eng_release(a->st);
  free(uids);
}

/* {name, channel (bool), members: [contact key]}: a new group or announcement channel. */
static void api_group_create(struct app *a, struct app_call *c) { group_change(a, c, APP_GR_CREATE); }
/* {key, members}: add contacts to a group this user administers. */
static void api_group_add(struct app *a, struct app_call *c) { group_change(a, c, APP_GR_ADD); }
/* {key, members: [identity key]}: remove members (an admin). */
static void api_group_remove(struct app *a, struct app_call *c) { group_change(a, c, APP_GR_REMOVE); }
/* {key, members, role: admin|member}: promote or demote members (an admin). */
static void api_group_role(struct app *a, struct app_call *c) { group_change(a, c, APP_GR_ROLE); }
/* {key}: leave (an admin signs it; a member asks the admins: by_request). */
static void api_group_leave(struct app *a, struct app_call *c) { group_change(a, c, APP_GR_LEAVE); }

/* ?key: a group's name, mode, this user's role and the members. */
static void api_group(struct app *a, struct app_call *c) {
  uint8_t gid[32];
  if (key_arg(c, "key", gid) != 0) return;
  int rc = eng_reacquire(&a->rq.e, a->st);
  const struct eng_group *cg = rc ? NULL : eng_group_by_id(a->st, gid);
  if (rc) app_engine_fail(a, c, rc);
  else if (!cg) app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "no such group on this device");
  else c->out = group_json(a->st, cg);
  eng_release(a->st);
}

/* ---- safety numbers ------------------------------------------------------------- */

/* ?key: the contact's user ID and safety number; when another key was offered for it
 * (a changed key, refused until verified), that key's number is the one to compare. */
static void api_contact_show(struct app *a, struct app_call *c) {
  uint8_t key[32];
  char safety[IDS_SAFETY_STR_MAX], pending[IDS_SAFETY_STR_MAX];
  if (key_arg(c, "key", key) != 0) return;
  int rc = eng_reacquire(&a->rq.e, a->st); /* `contact verify` elsewhere may have run */
  const struct contact *ct = rc ? NULL : eng_contact_by_key(a->st, key);
  if (rc) app_engine_fail(a, c, rc);
  else if (!ct) app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "not a contact");
  if (!ct) {
    eng_release(a->st);
    return;
  }
  if (ids_safety_number(safety, ct->key) != 0) safety[0] = 0;
  c->out = ok_obj();
  cJSON_AddStringToObject(c->out, "name", contact_label(ct));
  cJSON_AddStringToObject(c->out, "user_id", ct->uid);
  cJSON_AddStringToObject(c->out, "safety_number", safety);
  cJSON_AddBoolToObject(c->out, "verified", ct->verified);
  cJSON_AddBoolToObject(c->out, "key_changed", ct->has_pending);
  cJSON_AddNumberToObject(c->out, "devices", (double)ct->n_devices);
  if (ct->has_pending && ids_safety_number(pending, ct->pending_key) == 0)
    cJSON_AddStringToObject(c->out, "offered_safety_number", pending);
  eng_release(a->st);
}

/* {key, safety_number}: mark verified the key whose number the user compared (the
 * offered key of a changed contact, else the pinned one) — only when it is still the
 * number the page showed. */
static void api_contact_verify(struct app *a, struct app_call *c) {
  uint8_t key[32], want[32];
  char safety[IDS_SAFETY_STR_MAX];
  const char *shown = app_arg(c, "safety_number");
  struct contact *ct = NULL;
  if (key_arg(c, "key", key) != 0) return;
  if (!shown) {
    bad(c, "safety_number: the number the user compared");
    return;
  }
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc) {
    app_engine_fail(a, c, rc);
    return;
  }
  if (!(ct = eng_contact_by_key(a->st, key))) {
    app_error(c, MHD_HTTP_NOT_FOUND, MOMEDO_E_NOTFOUND, "not a contact");
    goto out;
  }
  memcpy(want, ct->has_pending ? ct->pending_key : ct->key, 32);
  if (ids_safety_number(safety, want) != 0 || strcmp(safety, shown) != 0) {
    app_error(c, MHD_HTTP_CONFLICT, MOMEDO_E_KEYCHANGED, "the safety number changed since it "
              "was shown: compare it again (nothing changed)");
    goto out;
  }
  if ((rc = eng_contact_verify(a->st, want, &ct)) != 0 ||
      (rc = eng_save(&a->rq.e, a->st)) != 0) {
    app_engine_fail(a, c, rc);
    goto out;
  }
  c->out = ok_obj();
  cJSON_AddBoolToObject(c->out, "verified", 1);
  cJSON_AddStringToObject(c->out, "safety_number", safety);
  app_changed(a, -1);
out:
  eng_release(a->st);
}

/* ---- linked devices ------------------------------------------------------------- */

static void api_devices(struct app *a, struct app_call *c) {
  char hex[65];
  int rc = eng_reacquire(&a->rq.e, a->st); /* `device link` elsewhere may have added one */
  if (rc) {
    app_engine_fail(a, c, rc);
    return;
  }
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < eng_device_count(a->st); i++) {
    const struct account_device *d = eng_device_at(a->st, i);
    cJSON *o = cJSON_CreateObject();
    hex_encode(hex, sizeof hex, d->device_key, 32);
    cJSON_AddStringToObject(o, "device_key", hex);
    cJSON_AddBoolToObject(o, "this", !memcmp(d->device_key, eng_device_key(a->st), 32));
    cJSON_AddItemToArray(arr, o);
  }
  c->out = ok_obj();
  cJSON_AddItemToObject(c->out, "devices", arr);
  cJSON_AddNumberToObject(c->out, "removed", (double)eng_removed_count(a->st));
  cJSON_AddBoolToObject(c->out, "can_remove", eng_is_first_device(a->st));
  eng_release(a->st);
}

/* {device: its key (64 hex digits)}: remove it for good, as `momedo device remove`. */
static void api_device_remove(struct app *a, struct app_call *c) {
  uint8_t key[32], got[32];
  char hex[65];
  if (key_arg(c, "device", key) != 0) return;
  hex_encode(hex, sizeof hex, key, 32);
  int rc = eng_reacquire(&a->rq.e, a->st);
  if (rc == 0) rc = eng_device_remove(&a->rq.e, a->st, hex, got, NULL);
  if (rc) {
    app_engine_fail(a, c, rc);
  } else {
    c->out = ok_obj();
    cJSON_AddStringToObject(c->out, "removed", hex);
    cJSON_AddNumberToObject(c->out, "devices", (double)eng_device_count(a->st));
    app_changed(a, -1);
  }
  eng_release(a->st);
}

/* ---- the passphrase -------------------------------------------------------------- */

/* {current, passphrase, repeat}: a new passphrase, as `momedo passphrase --rotate-key`.
 * The current one is asked again: a window someone left unlocked must not be enough. The
 * data key is renewed too (eng_rotate_key): whoever changes a passphrase in the page fears
 * the old one is known, and a copy of the home made before must then not read what comes
 * later. A wrong current or a weak new passphrase changes nothing; so does another
 * momedo program holding the home open (409). */
static void api_passphrase(struct app *a, struct app_call *c) {
  char *cur = body_str(c, "current"), *pass = body_str(c, "passphrase");
  char *rep = body_str(c, "repeat");
  size_t cl = cur ? strlen(cur) : 0;
  const char *weak = app_pass_weak(pass, rep);
  int rc;
  if (cl == 0 || cl > ENG_PASS_MAX) {
    bad(c, "enter your current passphrase");
  } else if (weak) {
    app_error(c, MHD_HTTP_BAD_REQUEST, MOMEDO_E_INVAL, weak);
  } else if ((rc = eng_reacquire(&a->rq.e, a->st)) != 0) {
    app_engine_fail(a, c, rc);
  } else {
    rc = eng_pass_check(a->st, cur, cl);
    if (rc == MOMEDO_E_AUTH)
      app_error(c, MHD_HTTP_FORBIDDEN, rc, "the current passphrase is wrong (nothing changed)");
    else if (rc || (rc = eng_rotate_key(&a->rq.e, a->st, pass, strlen(pass), a->log2n)) != 0)
      app_error(c, rc == MOMEDO_E_BUSY ? MHD_HTTP_CONFLICT : 0, rc,
                a->rq.e.why[0] ? a->rq.e.why : "cannot change the passphrase");
    else
      c->out = ok_obj();
    a->rq.e.why[0] = 0;
    if (!eng_is_open(a->st)) { /* stopped after its commit: the next unlock finishes it */
      eng_state_reset(a->st);
      if (eng_home(&a->rq.e, a->st, 0) != 0) a->rq.e.why[0] = 0;
      a->unlocked = 0;
    } else {
      eng_release(a->st);
    }
  }
  wipe_str(cur);
  wipe_str(pass);
  wipe_str(rep);
}

const struct app_route app_manage_routes[] = {
    {"POST", "/api/setup", api_setup, 0},
    {"POST", "/api/group", api_group_create, 1},
    {"POST", "/api/group-add", api_group_add, 1},
    {"POST", "/api/group-remove", api_group_remove, 1},
    {"POST", "/api/group-role", api_group_role, 1},
    {"POST", "/api/group-leave", api_group_leave, 1},
    {"GET", "/api/group", api_group, 1},
    {"GET", "/api/contact", api_contact_show, 1},
    {"POST", "/api/verify", api_contact_verify, 1},
    {"GET", "/api/devices", api_devices, 1},
    {"POST", "/api/device-remove", api_device_remove, 1},
    {"POST", "/api/passphrase", api_passphrase, 1},
};
const size_t app_manage_routes_n = sizeof app_manage_routes / sizeof app_manage_routes[0];
