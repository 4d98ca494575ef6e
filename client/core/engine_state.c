/* client/core/engine_state.c — a home's state as a whole: resolve the directory, unlock
 * the vault with a given passphrase, take the lock, load account, contacts, sessions,
 * replay sets, the seen set, groups, channels and history.db; write them back, the
 * history first. Reads no passphrase itself (the front-end does). */
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "engine_int.h"

#define ENG_STATE_FORMAT 1

int eng_home(struct eng *c, struct eng_state *st, int create) {
  char why[512];
  st->ctx = c; /* notices of whatever follows on st go to c's front-end */
  int rc = home_resolve(&st->home, c->home_arg);
  if (rc == MOMEDO_E_CONFIG)
    return eng_fail(c, rc, "no home directory: give --home DIR or set MOMEDO_HOME");
  if (rc) return eng_fail(c, rc, "the home directory path is empty or too long");
  if (!create) {
    if (!home_exists(&st->home) || !vault_exists(st->home.dir))
      return eng_fail(c, MOMEDO_E_NOTFOUND, "no momedo identity in %s: run `momedo init` first",
                      st->home.dir);
    return 0;
  }
  if ((rc = home_ensure(&st->home, why, sizeof why)) != 0) return eng_fail(c, rc, "%s", why);
  return 0;
}

/* ---- sessions and replay sets --------------------------------------------------- */

static void sessions_free(struct eng_sessions *s) {
  for (size_t i = 0; i < s->n; i++) e2e_session_free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static void replays_free(struct eng_replays *r) {
  for (size_t i = 0; i < r->n; i++) e2e_replay_free(r->v[i]);
  free(r->v);
  free(r->spk);
  memset(r, 0, sizeof *r);
}

typedef int (*blob_load_fn)(void *dst, const uint8_t *p, size_t n);
typedef int (*blob_save_fn)(const void *src, size_t i, uint8_t **out, size_t *n);

static int list_load(const struct vault *v, const char *name, void *dst, blob_load_fn fn) {
  uint8_t *d = NULL, f;
  size_t n = 0;
  uint32_t count;
  int rc = vault_read(v, name, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  struct cursor cu;
  cursor_init(&cu, d, n);
  if (cursor_get_u8(&cu, &f) || f != ENG_STATE_FORMAT || cursor_get_be32(&cu, &count) ||
      count > ENG_SESSIONS_MAX)
    rc = MOMEDO_E_CORRUPT;
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    const uint8_t *p;
    size_t pn;
    rc = vrd_bytes(&cu, &p, &pn, E2E_SESSION_BYTES_MAX);
    if (rc == 0) rc = fn(dst, p, pn);
  }
  crypto_wipe(d, n);
  free(d);
  return rc;
}

static int list_save(const struct vault *v, const char *name, const void *src, size_t n,
                     blob_save_fn fn) {
  struct vbuf b = {0};
  vbuf_u8(&b, ENG_STATE_FORMAT);
  vbuf_be32(&b, (uint32_t)n);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    uint8_t *p = NULL;
    size_t pn = 0;
    rc = fn(src, i, &p, &pn);
    if (rc == 0) vbuf_bytes(&b, p, pn);
    if (p) crypto_wipe(p, pn);
    free(p);
  }
  if (rc == 0) rc = b.err ? b.err : vault_write(v, name, b.p, b.len);
  vbuf_free(&b);
  return rc;
}

int eng__sessions_push(struct eng_sessions *s, struct e2e_session *e) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    struct e2e_session **v = realloc(s->v, cap * sizeof *v);
    if (!v) return MOMEDO_E_NOMEM;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = e;
  return 0;
}

static int sess_load_one(void *dst, const uint8_t *p, size_t n) {
  struct e2e_session *e = NULL;
  int rc = e2e_session_load(&e, p, n);
  if (rc == MOMEDO_E_VERSION) { /* a first message still pending, made before envelope v2 */
    ((struct eng_sessions *)dst)->dropped_old++; /* load_all tells the front-end */
    return 0;
  }
  if (rc) return rc == MOMEDO_E_NOMEM ? rc : MOMEDO_E_CORRUPT;
  rc = eng__sessions_push(dst, e);
  if (rc) e2e_session_free(e);
  return rc;
}
static int sess_save_one(const void *src, size_t i, uint8_t **out, size_t *n) {
  const struct eng_sessions *s = src;
  return e2e_session_save(s->v[i], out, n);
}

static int rp_load_one(void *dst, const uint8_t *p, size_t n) {
  struct eng_replays *r = dst;
  struct cursor cu;
  uint32_t spk;
  struct e2e_replay *e = NULL;
  cursor_init(&cu, (uint8_t *)p, n);
  if (cursor_get_be32(&cu, &spk) != 0) return MOMEDO_E_CORRUPT;
  int rc = e2e_replay_load(&e, p + 4, n - 4);
  if (rc) return rc == MOMEDO_E_NOMEM ? rc : MOMEDO_E_CORRUPT;
  struct e2e_replay **v = realloc(r->v, (r->n + 1) * sizeof *v);
  uint32_t *ids = v ? realloc(r->spk, (r->n + 1) * sizeof *ids) : NULL;
  if (v) r->v = v;
  if (ids) r->spk = ids;
  if (!v || !ids) {
    e2e_replay_free(e);
    return MOMEDO_E_NOMEM;
  }
  r->v[r->n] = e;
  r->spk[r->n++] = spk;
  return 0;
}
static int rp_save_one(const void *src, size_t i, uint8_t **out, size_t *n) {
  const struct eng_replays *r = src;
  uint8_t *p = NULL;
  size_t pn = 0;
  int rc = e2e_replay_save(r->v[i], &p, &pn);
  if (rc) return rc;
  *out = malloc(pn + 4);
  if (!*out) {
    free(p);
    return MOMEDO_E_NOMEM;
  }
  be32_put(*out, r->spk[i]);
  memcpy(*out + 4, p, pn);
  *n = pn + 4;
  free(p);
  return 0;
}

#define GIDX_FORMAT 2 /* 1: groups before records v2 (dropped on load) */

/* ---- groups: an index file plus one sealed state per group -------------------------------------------------------------------- */

static int state_name(const struct vault *v, const uint8_t id[static GROUP_ID_LEN],
                      char name[static VAULT_NAME_MAX]) {
  return vault_name(v, "grp", id, GROUP_ID_LEN, name);
}

void eng__gpending_clear(struct eng_gpending *p) {
  if (p->body) crypto_wipe(p->body, p->len);
  free(p->body);
  p->body = NULL;
  p->len = 0;
}

void eng_groups_free(struct eng_groups *gs) {
  for (size_t i = 0; i < gs->n; i++) {
    group_free(gs->v[i].g);
    free(gs->v[i].need);
  }
  free(gs->v);
  for (size_t i = 0; i < gs->n_p; i++) eng__gpending_clear(&gs->p[i]);
  free(gs->p);
  for (size_t i = 0; i < gs->n_held; i++) free(gs->held[i].wire);
  free(gs->held);
  gs->v = NULL;
  gs->p = NULL;
  gs->held = NULL;
  gs->n = gs->n_p = gs->n_held = 0;
  gs->dirty = gs->touched = 0;
}

static int load_state(const struct vault *v, struct eng_group *cg) {
  char name[VAULT_NAME_MAX];
  uint8_t *d = NULL;
  size_t n = 0;
  struct group_info gi;
  int rc = state_name(v, cg->id, name);
  if (rc == 0) rc = vault_read(v, name, &d, &n);
  if (rc == 0) rc = group_load(&cg->g, d, n);
  if (d) crypto_wipe(d, n);
  free(d);
  if (rc == MOMEDO_E_NOMEM || rc == MOMEDO_E_IO) return rc;
  if (rc) return MOMEDO_E_CORRUPT;
  group_get_info(cg->g, &gi);
  return memcmp(gi.group_id, cg->id, GROUP_ID_LEN) == 0 ? 0 : MOMEDO_E_CORRUPT;
}

static int load_group(struct cursor *cu, const struct vault *v, struct eng_group *cg) {
  uint32_t n_need;
  if (vrd_fixed(cu, cg->id, GROUP_ID_LEN) || cursor_get_be32(cu, &n_need) ||
      n_need > GROUP_DEVICES_MAX)
    return MOMEDO_E_CORRUPT;
  cg->need = calloc(n_need ? n_need : 1, sizeof *cg->need);
  if (!cg->need) return MOMEDO_E_NOMEM;
  for (uint32_t k = 0; k < n_need; k++) {
    if (vrd_fixed(cu, cg->need[k].identity, 32) || vrd_fixed(cu, cg->need[k].device, 32) ||
        cursor_get_be64(cu, &cg->need[k].from))
      return MOMEDO_E_CORRUPT;
    cg->n_need++;
  }
  return load_state(v, cg);
}

static int load_pending(struct cursor *cu, struct eng_groups *gs) {
  uint32_t n_p;
  if (cursor_get_be32(cu, &n_p) || n_p > ENG_GROUP_PENDING_MAX) return MOMEDO_E_CORRUPT;
  gs->p = calloc(n_p ? n_p : 1, sizeof *gs->p);
  if (!gs->p) return MOMEDO_E_NOMEM;
  for (uint32_t i = 0; i < n_p; i++) {
    struct eng_gpending *p = &gs->p[i];
    const uint8_t *b;
    size_t bl;
    if (vrd_fixed(cu, p->from_id, 32) || vrd_fixed(cu, p->from_dev, 32) ||
        cursor_get_be64(cu, &p->received_ms) || vrd_bytes(cu, &b, &bl, CONTENT_BYTES_MAX) ||
        bl == 0)
      return MOMEDO_E_CORRUPT;
    if (!(p->body = malloc(bl))) return MOMEDO_E_NOMEM;
    memcpy(p->body, b, bl);
    p->len = bl;
    gs->n_p++;
  }
  return 0;
}

static int load_held(struct cursor *cu, struct eng_groups *gs) {
  uint32_t n;
  size_t bytes = 0;
  if (cursor_get_be32(cu, &n) || n > ENG_GROUP_HELD_MAX) return MOMEDO_E_CORRUPT;
  gs->held = calloc(n ? n : 1, sizeof *gs->held);
  if (!gs->held) return MOMEDO_E_NOMEM;
  for (uint32_t i = 0; i < n; i++) {
    struct eng_gheld *h = &gs->held[i];
    const uint8_t *b;
    size_t bl;
    if (vrd_fixed(cu, h->gid, GROUP_ID_LEN) || vrd_fixed(cu, h->mb, OBJ_MAILBOX_LEN) ||
        cursor_get_be64(cu, &h->created_ms) || vrd_bytes(cu, &b, &bl, GROUP_WIRE_MAX) || bl == 0 ||
        (bytes += bl) > ENG_GROUP_HELD_BYTES_MAX)
      return MOMEDO_E_CORRUPT;
    if (!(h->wire = malloc(bl))) return MOMEDO_E_NOMEM;
    memcpy(h->wire, b, bl);
    h->len = bl;
    gs->n_held++;
  }
  return 0;
}

int eng_groups_load(struct eng_groups *gs, const struct vault *v) {
  uint8_t *d = NULL, f;
  size_t n = 0;
  uint32_t count;
  struct cursor cu;
  int rc = vault_read(v, ENG_GROUPS_FILE, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  cursor_init(&cu, d, n);
  if (n > 0 && d[0] == 1) { /* groups of an older momedo: their records cannot be judged */
    gs->dropped_old = 1; /* load_all tells the front-end */
    crypto_wipe(d, n);
    free(d);
    gs->dirty = 1;
    return 0;
  }
  if (cursor_get_u8(&cu, &f) || f != GIDX_FORMAT || cursor_get_be32(&cu, &count) ||
      count > ENG_GROUPS_MAX)
    rc = MOMEDO_E_CORRUPT;
  if (rc == 0 && !(gs->v = calloc(count ? count : 1, sizeof *gs->v))) rc = MOMEDO_E_NOMEM;
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    rc = load_group(&cu, v, &gs->v[i]);
    gs->n = i + 1; /* freed by eng_groups_free even when half loaded */
  }
  if (rc == 0) rc = load_pending(&cu, gs);
  if (rc == 0) rc = load_held(&cu, gs);
  if (rc == 0 && cursor_left(&cu) != 0) rc = MOMEDO_E_CORRUPT;
  crypto_wipe(d, n);
  free(d);
  return rc;
}

static int save_state(const struct vault *v, struct eng_group *cg) {
  char name[VAULT_NAME_MAX];
  uint8_t *d = NULL;
  size_t n = 0;
  int rc = state_name(v, cg->id, name);
  if (rc == 0) rc = group_save(cg->g, &d, &n);
  if (rc == 0) rc = vault_write(v, name, d, n);
  if (d) crypto_wipe(d, n);
  free(d);
  if (rc == 0) cg->dirty = 0;
  return rc;
}

int eng_groups_save(struct eng_groups *gs, const struct vault *v) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < gs->n; i++)
    if (gs->v[i].dirty) rc = save_state(v, &gs->v[i]);
  if (rc || !gs->dirty) return rc;
  struct vbuf b = {0};
  vbuf_u8(&b, GIDX_FORMAT);
  vbuf_be32(&b, (uint32_t)gs->n);
  for (size_t i = 0; i < gs->n; i++) {
    vbuf_raw(&b, gs->v[i].id, GROUP_ID_LEN);
    vbuf_be32(&b, (uint32_t)gs->v[i].n_need);
    for (size_t k = 0; k < gs->v[i].n_need; k++) {
      vbuf_raw(&b, gs->v[i].need[k].identity, 32);
      vbuf_raw(&b, gs->v[i].need[k].device, 32);
      vbuf_be64(&b, gs->v[i].need[k].from);
    }
  }
  vbuf_be32(&b, (uint32_t)gs->n_p);
  for (size_t i = 0; i < gs->n_p; i++) {
    vbuf_raw(&b, gs->p[i].from_id, 32);
    vbuf_raw(&b, gs->p[i].from_dev, 32);
    vbuf_be64(&b, gs->p[i].received_ms);
    vbuf_bytes(&b, gs->p[i].body, gs->p[i].len);
  }
  vbuf_be32(&b, (uint32_t)gs->n_held);
  for (size_t i = 0; i < gs->n_held; i++) {
    vbuf_raw(&b, gs->held[i].gid, GROUP_ID_LEN);
    vbuf_raw(&b, gs->held[i].mb, OBJ_MAILBOX_LEN);
    vbuf_be64(&b, gs->held[i].created_ms);
    vbuf_bytes(&b, gs->held[i].wire, gs->held[i].len);
  }
  rc = b.err ? b.err : vault_write(v, ENG_GROUPS_FILE, b.p, b.len);
  vbuf_free(&b);
  if (rc == 0) gs->dirty = 0;
  return rc;
}

/* ---- open / save ---------------------------------------------------------------- */

static int load_all(struct eng *c, struct eng_state *st) {
  int rc = account_load(&st->acct, &st->vault);
  if (rc == MOMEDO_E_NOTFOUND)
    return eng_fail(c, rc, "%s has a vault but no account: run `momedo init` again in an "
                    "empty directory", st->home.dir);
  if (rc) return eng_fail(c, rc, "cannot read the account: %s", momedo_strerror(rc));
  st->have_acct = 1;
  if ((rc = contacts_load(&st->contacts, &st->vault)) != 0 ||
      (rc = tl_seen_load(&st->seen, &st->vault)) != 0 ||
      (rc = list_load(&st->vault, ENG_SESSIONS_FILE, &st->sess, sess_load_one)) != 0 ||
      (rc = list_load(&st->vault, ENG_REPLAY_FILE, &st->rp, rp_load_one)) != 0 ||
      (rc = eng_groups_load(&st->gr, &st->vault)) != 0 ||
      (rc = eng_channels_load(&st->gr, &st->vault)) != 0 ||
      (rc = otpks_load(&st->otpk, &st->vault)) != 0 ||
      (rc = counter_load(&st->vault, &st->counter)) != 0)
    return eng_fail(c, rc, "cannot read the local state in %s: %s", st->home.dir,
                    momedo_strerror(rc));
  for (; st->sess.dropped_old; st->sess.dropped_old--)
    eng__note(c, "momedo: note: dropped a session that had not been answered yet and was "
              "started by an older version (the next message starts a new one)\n");
  if (st->gr.dropped_old)
    eng__note(c, "momedo: note: groups made by an older momedo are dropped; ask their "
              "admins to add you again\n");
  st->gr.dropped_old = 0;
  st->counter_disk = st->counter;
  return 0;
}

static void unload_all(struct eng_state *st) {
  if (st->have_acct) account_wipe(&st->acct);
  st->have_acct = 0;
  contacts_free(&st->contacts);
  tl_seen_free(&st->seen);
  sessions_free(&st->sess);
  replays_free(&st->rp);
  eng_groups_free(&st->gr);
  eng_channels_free(&st->gr);
  otpks_wipe(&st->otpk);
}

/* ---- history.db ----------------------------------------------------------------- */

static void src_add(struct hist_src *src, size_t *k, enum hist_conv_kind kind,
                    const uint8_t key[static 32]) {
  src[*k].kind = kind;
  memcpy(src[*k].key, key, 32);
  (*k)++;
}

/* Open the home's history.db and, the first time, take in the timeline files an older
 * momedo wrote (history_import.c): every contact's, group's and channel's. */
int eng__history_open(struct eng *c, struct eng_state *st) {
  char path[HOME_PATH_MAX + sizeof HIST_FILE + 1], why[512] = "";
  struct hist_import_stats is;
  size_t n = st->contacts.n + st->gr.n + st->gr.n_ch, k = 0;
  int w = snprintf(path, sizeof path, "%s/%s", st->home.dir, HIST_FILE);
  if (w < 0 || (size_t)w >= sizeof path) return eng_fail(c, MOMEDO_E_NOSPACE, "path too long");
  int rc = hist_open_keys(&st->hist, path, st->vault.data_key, st->vault.name_key, why,
                          sizeof why);
  if (rc) return eng_fail(c, rc, "%s", why[0] ? why : momedo_strerror(rc));
  st->have_hist = 1;
  struct hist_src *src = calloc(n ? n : 1, sizeof *src);
  if (!src) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  for (size_t i = 0; i < st->contacts.n; i++) src_add(src, &k, HIST_CONTACT, st->contacts.v[i].key);
  for (size_t i = 0; i < st->gr.n; i++) src_add(src, &k, HIST_GROUP, st->gr.v[i].id);
  for (size_t i = 0; i < st->gr.n_ch; i++) src_add(src, &k, HIST_CHANNEL, st->gr.ch[i].k.mailbox);
  rc = hist_import(&st->hist, &st->vault, src, n, &is, NULL);
  free(src);
  if (rc) return eng_fail(c, rc, "cannot move the conversations into %s: %s", path,
                          momedo_strerror(rc));
  if (is.ran && is.files)
    eng__note(c, "momedo: note: moved %zu message(s) of %zu conversation(s) into %s\n",
            is.added + is.existing, is.files, HIST_FILE);
  if (is.damaged)
    eng__note(c, "momedo: note: %zu old conversation file(s) did not open and were left "
            "as they are\n", is.damaged);
  return 0;
}

int eng_open_pass(struct eng *c, struct eng_state *st, const char *pass, size_t pl,
                  int need_joined) {
  memset(st, 0, sizeof *st);
  st->home.lock_fd = -1;
  st->save_dir = c->save_dir;
  st->ctx = c;
  int fin = 0, rc = eng_home(c, st, 0);
  if (rc) return rc;
  /* Locked before the vault opens: a key rotation another process committed is finished
   * (or one it did not commit dropped) before anything reads the files. */
  if ((rc = home_lock(&st->home)) != 0)
    return eng_fail(c, rc, "cannot lock %s", st->home.dir);
  if ((rc = vault_rotate_recover(st->home.dir, &fin)) != 0) {
    home_unlock(&st->home);
    return eng_fail(c, rc, "cannot finish the key rotation in %s: %s", st->home.dir,
                    momedo_strerror(rc));
  }
  rc = vault_open(&st->vault, st->home.dir, pass, pl);
  if (rc) home_unlock(&st->home);
  if (rc == MOMEDO_E_AUTH)
    return eng_fail(c, rc, "wrong passphrase for %s (nothing was changed)%s", st->home.dir,
                    fin ? "; a key rotation was finished: the new passphrase opens it" : "");
  if (rc) return eng_fail(c, rc, "cannot open the vault in %s: %s", st->home.dir,
                          momedo_strerror(rc));
  vault_cache_clear(&st->vault);
  if ((rc = load_all(c, st)) != 0) return rc;
  if ((rc = eng__history_open(c, st)) != 0) return rc;
  if (need_joined && !st->acct.joined)
    return eng_fail(c, MOMEDO_E_UNEXPECTED,
                    "this device has not joined a node yet: run `momedo join INVITE`");
  return 0;
}

int eng_save(struct eng *c, struct eng_state *st) {
  /* The history first: the sessions and the seen set never move past a message that
   * is not on disk. Then every record and the count in one vault transaction: a crash
   * leaves all of them as they were or all of them new. A save that changes no record
   * (the vault skips those it holds already) raises no count and writes nothing. */
  int rc = eng__hist_commit(c, st);
  if (rc) return rc;
  uint64_t count = st->counter, writes = st->vault.writes;
  rc = vault_begin(&st->vault);
  if (rc == 0) rc = account_save(&st->acct, &st->vault);
  if (rc == 0) rc = contacts_save(&st->contacts, &st->vault);
  if (rc == 0) rc = tl_seen_save(&st->seen, &st->vault);
  if (rc == 0) rc = list_save(&st->vault, ENG_SESSIONS_FILE, &st->sess, st->sess.n, sess_save_one);
  if (rc == 0) rc = list_save(&st->vault, ENG_REPLAY_FILE, &st->rp, st->rp.n, rp_save_one);
  if (rc == 0) rc = eng_groups_save(&st->gr, &st->vault);
  if (rc == 0) rc = eng_channels_save(&st->gr, &st->vault);
  if (rc == 0) rc = otpks_save(&st->otpk, &st->vault);
  /* A count set in memory (recover: past the nodes') is saved whatever else changed. */
  if (rc == 0 && (st->vault.writes != writes || st->counter != st->counter_disk))
    rc = counter_bump(&st->vault, &st->counter);
  if (rc == 0) rc = vault_commit(&st->vault);
  if (rc == 0) st->counter_disk = st->counter;
  if (rc) {
    vault_rollback(&st->vault);
    st->counter = count;
    return eng_fail(c, rc, "cannot write the local state: %s", momedo_strerror(rc));
  }
  return 0;
}

void eng_release(struct eng_state *st) {
  if (st->have_hist) hist_rollback(&st->hist); /* what was not saved goes with the state */
  home_unlock(&st->home);
}

int eng_reacquire(struct eng *c, struct eng_state *st) {
  int rc = home_lock(&st->home);
  if (rc) return eng_fail(c, rc, "cannot lock %s", st->home.dir);
  if (st->have_hist) hist_rollback(&st->hist);
  unload_all(st);
  vault_cache_clear(&st->vault); /* others may have written while we did not hold it */
  return load_all(c, st);
}

void eng_close(struct eng_state *st) {
  if (st->have_hist) hist_close(&st->hist); /* an open transaction is rolled back */
  st->have_hist = 0;
  unload_all(st);
  free(st->rc);
  st->rc = NULL;
  st->n_rc = 0;
  vault_close(&st->vault);
  home_unlock(&st->home);
}
