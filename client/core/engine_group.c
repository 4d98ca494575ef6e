/* client/core/engine_group.c — groups and announcement channels in the engine: finding a
 * group by name, ID prefix or mailbox, and posting a message once to the group mailbox.
 * Every membership and key decision is the group core's (group.h); this file never
 * judges a record. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"
#include "hex.h"


int eng__group_add(struct eng_groups *gs, struct group *g, struct eng_group **out) {
  if (gs->n >= ENG_GROUPS_MAX) return MOMEDO_E_QUOTA;
  struct eng_group *v = realloc(gs->v, (gs->n + 1) * sizeof *v);
  if (!v) return MOMEDO_E_NOMEM;
  gs->v = v;
  struct eng_group *cg = &gs->v[gs->n++];
  struct group_info gi;
  memset(cg, 0, sizeof *cg);
  group_get_info(g, &gi);
  memcpy(cg->id, gi.group_id, GROUP_ID_LEN);
  cg->g = g;
  cg->dirty = 1;
  gs->dirty = 1;
  *out = cg;
  return 0;
}

/* ---- names ---------------------------------------------------------------------- */

const char *eng_group_name(const struct eng_group *cg) {
  static struct group_info gi;
  group_get_info(cg->g, &gi);
  return gi.name[0] ? gi.name : "(unnamed)";
}

struct eng_group *eng_group_by_id(struct eng_state *st, const uint8_t id[static 32]) {
  for (size_t i = 0; i < st->gr.n; i++)
    if (memcmp(st->gr.v[i].id, id, GROUP_ID_LEN) == 0) return &st->gr.v[i];
  return NULL;
}

struct eng_group *eng_group_by_mailbox(struct eng_state *st, const uint8_t mb[static 32]) {
  uint8_t mbs[GROUP_EPOCHS_MAX][OBJ_MAILBOX_LEN];
  for (size_t i = 0; i < st->gr.n; i++) {
    size_t n = group_mailboxes(st->gr.v[i].g, mbs, GROUP_EPOCHS_MAX);
    for (size_t k = 0; k < n; k++)
      if (memcmp(mbs[k], mb, OBJ_MAILBOX_LEN) == 0) return &st->gr.v[i];
  }
  return NULL;
}

static int hex_prefix_of(const char *ref, const uint8_t id[static GROUP_ID_LEN]) {
  size_t n = strlen(ref);
  if (n < ENG_GROUP_REF_HEX_MIN || n > 2 * GROUP_ID_LEN) return 0;
  return hex_has_prefix(id, GROUP_ID_LEN, ref);
}

struct eng_group *eng_group_lookup(struct eng_state *st, const char *ref, int *ambiguous) {
  struct eng_group *found = NULL;
  struct group_info gi;
  *ambiguous = 0;
  for (size_t i = 0; i < st->gr.n; i++) {
    group_get_info(st->gr.v[i].g, &gi);
    if (strcmp(gi.name, ref) != 0 && !hex_prefix_of(ref, st->gr.v[i].id)) continue;
    if (found) *ambiguous = 1;
    found = &st->gr.v[i];
  }
  return found;
}

int eng_group_find(struct eng *c, struct eng_state *st, const char *ref, struct eng_group **out) {
  int amb = 0;
  *out = eng_group_lookup(st, ref, &amb);
  if (amb)
    return eng_fail(c, MOMEDO_E_EXISTS, "'%s' matches several groups: give a longer prefix of "
                    "the group ID (see `momedo groups`)", ref);
  if (!*out)
    return eng_fail(c, MOMEDO_E_NOTFOUND, "no group '%s' on this device (see `momedo groups`)",
                    ref);
  return 0;
}

static void uid_of(char out[static IDS_USER_ID_STR_MAX], const uint8_t key[static 32]) {
  if (ids_user_id(out, key) != 0) out[0] = '\0';
}

/* ---- posting ---------------------------------------------------------------------- */

static int group_body_ok(struct eng *c, const Momedo__Content *m) {
  if (eng__group_body_ok(m)) return 0;
  return eng_fail(c, MOMEDO_E_INVAL, "a group takes text, files, locations, tasks, their "
                  "accept / done and approval decisions");
}

static int attach_file(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                       struct eng_group *cg, Momedo__Content *m, const uint8_t *file,
                       size_t file_len,
                       struct eng_blob *blob, char vname[static VAULT_NAME_MAX]) {
  static struct eng_dests d;
  int rc = eng__dests_group(c, st, cg, &d);
  if (rc == 0) rc = eng_upload_file(c, cn, file, file_len, &d, blob);
  if (rc) return rc;
  Momedo__File *f = m->file;
  f->blob_id = (ProtobufCBinaryData){OBJ_ID_LEN, blob->id};
  f->blob_key = (ProtobufCBinaryData){CONTENT_KEY_LEN, blob->key};
  f->sha256 = (ProtobufCBinaryData){CRYPTO_HASH_LEN, blob->sha};
  f->chunk_count = blob->count;
  f->chunk_bytes = blob->chunk_bytes;
  if (vault_name(&st->vault, "att", blob->id, OBJ_ID_LEN, vname) != 0 ||
      vault_write(&st->vault, vname, file, file_len) != 0)
    vname[0] = '\0';
  return 0;
}

int eng_group_send(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                   struct eng_group *cg, Momedo__Content *m, const uint8_t *file,
                   size_t file_len, uint8_t id[static TL_ID_LEN]) {
  static uint8_t mid[CONTENT_ID_LEN];
  static char me[IDS_USER_ID_STR_MAX];
  struct group_info gi;
  struct group_post p;
  struct eng_group_sent fs = {0, 0};
  struct eng_blob blob;
  char vname[VAULT_NAME_MAX] = "";
  uint8_t oid[OBJ_ID_LEN];
  group_get_info(cg->g, &gi);
  int rc = group_body_ok(c, m);
  if (rc) return rc;
  if (gi.removed)
    return eng_fail(c, MOMEDO_E_DENIED, "you are no longer a member of group %s", gi.name);
  if (!gi.can_post)
    return eng_fail(c, MOMEDO_E_DENIED, "only admins post in the announcement channel %s",
                    gi.name);
  eng__recorded_notice(st, cg); /* before anything is posted */
  if ((rc = eng__group_flush(c, st, cn, cg, &fs)) != 0) return rc;
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE &&
      (rc = attach_file(c, st, cn, cg, m, file, file_len, &blob, vname)) != 0)
    return rc;
  if (eng__content_head(st, m, mid) != 0) return eng_fail(c, MOMEDO_E_RNG, "no randomness");
  rc = group_post_prepare(cg->g, m, 0, &p);
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE) crypto_wipe(blob.key, sizeof blob.key);
  if (rc) return eng_fail(c, rc, "cannot encrypt for group %s: %s", gi.name,
                          group_reason(cg->g)[0] ? group_reason(cg->g) : momedo_strerror(rc));
  cg->dirty = 1; /* the chain advanced: save even if the post fails */
  static struct eng_dests d;
  rc = eng__dests_group(c, st, cg, &d);
  if (rc) {
    group_post_clear(&p);
    return rc;
  }
  p.req.dest_nodes = d.k;
  p.req.n_dest_nodes = d.n;
  /* As pairwise posts (eng__outbox_post): the advanced chain saved and its count known
   * to the node before the post leaves, so a restored older vault cannot reuse it. */
  if ((rc = eng_save(c, st)) != 0 || (rc = eng_counter_sync(c, st, cn)) != 0) {
    group_post_clear(&p);
    return rc;
  }
  rc = nodeapi_post(&cn->api, &p.req, oid, NULL);
  group_post_clear(&p);
  if (rc) return eng_api_fail(c, cn, rc, "posting to the group failed");
  memcpy(id, mid, TL_ID_LEN);
  struct tl_entry e;
  int added = 0;
  eng__entry_of(m, 1, &e);
  uid_of(me, st->acct.identity.pub);
  eng__group_row(&e, me);
  e.path = vname[0] ? vname : NULL;
  return eng__timeline_put(c, st, HIST_GROUP, cg->id, &e, &added);
}
