/* client/core/engine_channel.c — passphrase channels: the keys kept in the vault
 * (derived once with scrypt, never the passphrase itself), per-node read cursors,
 * sealing and opening messages. Anyone with the name and the passphrase reads and posts
 * (docs/groups.md). No terminal here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "group_int.h"

#define CHANNELS_FORMAT 1
#define CHANNEL_DISPLAY_DEFAULT "anonymous"


/* ---- storage -------------------------------------------------------------------- */

void eng_channels_free(struct eng_groups *gs) {
  if (gs->ch) crypto_wipe(gs->ch, gs->n_ch * sizeof *gs->ch);
  free(gs->ch);
  gs->ch = NULL;
  gs->n_ch = 0;
  gs->ch_dirty = 0;
}

static int load_one(struct cursor *cu, struct eng_channel *ch) {
  uint32_t n;
  if (vrd_str(cu, ch->name, sizeof ch->name) || vrd_str(cu, ch->display, sizeof ch->display) ||
      vrd_fixed(cu, ch->k.mailbox, OBJ_MAILBOX_LEN) || vrd_fixed(cu, ch->k.key, CHANNEL_KEY_LEN) ||
      vrd_fixed(cu, ch->k.mac_key, CHANNEL_KEY_LEN) || cursor_get_be32(cu, &n) ||
      n > ACCOUNT_NODES_MAX || !ch->name[0])
    return MOMEDO_E_CORRUPT;
  for (uint32_t i = 0; i < n; i++) {
    if (vrd_fixed(cu, ch->cur[i].node, 32) || cursor_get_be64(cu, &ch->cur[i].cursor))
      return MOMEDO_E_CORRUPT;
    ch->n_cur++;
  }
  return 0;
}

int eng_channels_load(struct eng_groups *gs, const struct vault *v) {
  uint8_t *d = NULL, f;
  size_t n = 0;
  uint32_t count;
  struct cursor cu;
  int rc = vault_read(v, ENG_CHANNELS_FILE, &d, &n);
  if (rc == MOMEDO_E_NOTFOUND) return 0;
  if (rc) return rc;
  cursor_init(&cu, d, n);
  if (cursor_get_u8(&cu, &f) || f != CHANNELS_FORMAT || cursor_get_be32(&cu, &count) ||
      count > ENG_CHANNELS_MAX)
    rc = MOMEDO_E_CORRUPT;
  if (rc == 0 && !(gs->ch = calloc(count ? count : 1, sizeof *gs->ch))) rc = MOMEDO_E_NOMEM;
  for (uint32_t i = 0; rc == 0 && i < count; i++) {
    rc = load_one(&cu, &gs->ch[i]);
    gs->n_ch = i + 1;
  }
  if (rc == 0 && cursor_left(&cu) != 0) rc = MOMEDO_E_CORRUPT;
  crypto_wipe(d, n);
  free(d);
  return rc;
}

int eng_channels_save(struct eng_groups *gs, const struct vault *v) {
  if (!gs->ch_dirty) return 0;
  struct vbuf b = {0};
  vbuf_u8(&b, CHANNELS_FORMAT);
  vbuf_be32(&b, (uint32_t)gs->n_ch);
  for (size_t i = 0; i < gs->n_ch; i++) {
    const struct eng_channel *ch = &gs->ch[i];
    vbuf_str(&b, ch->name);
    vbuf_str(&b, ch->display);
    vbuf_raw(&b, ch->k.mailbox, OBJ_MAILBOX_LEN);
    vbuf_raw(&b, ch->k.key, CHANNEL_KEY_LEN);
    vbuf_raw(&b, ch->k.mac_key, CHANNEL_KEY_LEN);
    vbuf_be32(&b, (uint32_t)ch->n_cur);
    for (size_t k = 0; k < ch->n_cur; k++) {
      vbuf_raw(&b, ch->cur[k].node, 32);
      vbuf_be64(&b, ch->cur[k].cursor);
    }
  }
  int rc = b.err ? b.err : vault_write(v, ENG_CHANNELS_FILE, b.p, b.len);
  vbuf_free(&b);
  if (rc == 0) gs->ch_dirty = 0;
  return rc;
}

struct eng_channel *eng_channel_find(struct eng_state *st, const char *name) {
  for (size_t i = 0; i < st->gr.n_ch; i++)
    if (strcmp(st->gr.ch[i].name, name) == 0) return &st->gr.ch[i];
  return NULL;
}

struct eng_channel *eng_channel_by_mailbox(struct eng_state *st, const uint8_t mb[static 32]) {
  for (size_t i = 0; i < st->gr.n_ch; i++)
    if (memcmp(st->gr.ch[i].k.mailbox, mb, OBJ_MAILBOX_LEN) == 0) return &st->gr.ch[i];
  return NULL;
}

uint64_t eng_channel_cursor(const struct eng_channel *ch, const uint8_t node[static 32]) {
  for (size_t i = 0; i < ch->n_cur; i++)
    if (memcmp(ch->cur[i].node, node, 32) == 0) return ch->cur[i].cursor;
  return 0;
}

void eng_channel_set_cursor(struct eng_channel *ch, const uint8_t node[static 32], uint64_t cur) {
  size_t i = 0;
  while (i < ch->n_cur && memcmp(ch->cur[i].node, node, 32) != 0) i++;
  if (i == ch->n_cur) {
    if (ch->n_cur == ACCOUNT_NODES_MAX) { /* the oldest node's cursor goes */
      memmove(ch->cur, ch->cur + 1, (ch->n_cur - 1) * sizeof ch->cur[0]);
      i = --ch->n_cur;
    }
    memcpy(ch->cur[i].node, node, 32);
    ch->n_cur++;
  }
  ch->cur[i].cursor = cur;
}

/* ---- joining and leaving (`channel join|leave`, the page; the passphrase is the
 * front-end's) ------------------------------------------------------------------- */

int eng_channel_may_join(struct eng *c, struct eng_state *st, const char *name) {
  if (eng_channel_find(st, name))
    return eng_fail(c, MOMEDO_E_EXISTS, "already in channel '%s' (`momedo channel leave %s` "
                    "first to change the passphrase)", name, name);
  if (st->gr.n_ch >= ENG_CHANNELS_MAX)
    return eng_fail(c, MOMEDO_E_QUOTA, "at most %d channels", ENG_CHANNELS_MAX);
  return 0;
}

int eng_channel_join(struct eng *c, struct eng_state *st, const char *name, const char *display,
                     const char *pass, struct eng_channel **out) {
  struct channel_keys k;
  if (out) *out = NULL;
  int rc = eng_channel_may_join(c, st, name);
  if (rc) return rc;
  rc = channel_derive(&k, name, pass, CHANNEL_SCRYPT_LOG2_N, CHANNEL_SCRYPT_R, CHANNEL_SCRYPT_P);
  if (rc) return eng_fail(c, rc, "cannot use channel name '%s': %s", name, momedo_strerror(rc));
  rc = eng_channel_join_keys(c, st, name, display, &k, out);
  channel_keys_wipe(&k);
  return rc;
}

int eng_channel_join_keys(struct eng *c, struct eng_state *st, const char *name,
                          const char *display, const struct channel_keys *k,
                          struct eng_channel **out) {
  if (out) *out = NULL;
  if (!display) display = CHANNEL_DISPLAY_DEFAULT;
  if (!name || !group__text_ok(name, 1, CHANNEL_NAME_BYTES_MAX))
    return eng_fail(c, MOMEDO_E_INVAL, "a channel name has 1 to %d bytes of text (no control "
                    "characters)", CHANNEL_NAME_BYTES_MAX);
  if (!group__text_ok(display, 1, CHANNEL_DISPLAY_NAME_BYTES_MAX))
    return eng_fail(c, MOMEDO_E_INVAL, "the name to post as has 1 to %d bytes of text (no "
                    "control characters)", CHANNEL_DISPLAY_NAME_BYTES_MAX);
  if (eng_channel_find(st, name) || eng_channel_by_mailbox(st, k->mailbox))
    return eng_fail(c, MOMEDO_E_EXISTS, "already in channel '%s' (leave it first to change "
                    "the passphrase)", name);
  if (st->gr.n_ch >= ENG_CHANNELS_MAX)
    return eng_fail(c, MOMEDO_E_QUOTA, "at most %d channels", ENG_CHANNELS_MAX);
  struct eng_channel *v = realloc(st->gr.ch, (st->gr.n_ch + 1) * sizeof *v);
  if (!v) return eng_fail(c, MOMEDO_E_NOMEM, "out of memory");
  st->gr.ch = v;
  struct eng_channel *ch = &v[st->gr.n_ch++];
  memset(ch, 0, sizeof *ch);
  snprintf(ch->name, sizeof ch->name, "%s", name);
  snprintf(ch->display, sizeof ch->display, "%s", display);
  ch->k = *k;
  st->gr.ch_dirty = 1;
  int rc = eng_save(c, st);
  if (rc == 0 && out) *out = ch;
  return rc;
}

int eng_channel_leave(struct eng *c, struct eng_state *st, const char *name) {
  struct eng_channel *ch = name ? eng_channel_find(st, name) : NULL;
  if (!ch) return eng_fail(c, MOMEDO_E_NOTFOUND, "not in channel '%s'", name ? name : "");
  size_t i = (size_t)(ch - st->gr.ch);
  crypto_wipe(ch, sizeof *ch);
  memmove(ch, ch + 1, (st->gr.n_ch - i - 1) * sizeof *ch);
  st->gr.n_ch--;
  crypto_wipe(&st->gr.ch[st->gr.n_ch], sizeof *ch); /* the last one's copy left behind */
  st->gr.ch_dirty = 1;
  return eng_save(c, st);
}

/* ---- messages ------------------------------------------------------------------- */

int eng_channel_send(struct eng *c, struct eng_state *st, struct eng_conn *cn,
                     struct eng_channel *ch, const Momedo__Content *m,
                     uint8_t id[static TL_ID_LEN]) {
  static char display[CHANNEL_DISPLAY_NAME_BYTES_MAX + 1];
  uint8_t mid[CHANNEL_ID_LEN], oid[OBJ_ID_LEN], *wire = NULL;
  size_t wl = 0;
  Momedo__ChannelMessage cm = MOMEDO__CHANNEL_MESSAGE__INIT;
  if (m->body_case == MOMEDO__CONTENT__BODY_TEXT) {
    cm.body_case = MOMEDO__CHANNEL_MESSAGE__BODY_TEXT;
    cm.text = m->text;
  } else if (m->body_case == MOMEDO__CONTENT__BODY_LOCATION) {
    cm.body_case = MOMEDO__CHANNEL_MESSAGE__BODY_LOCATION;
    cm.location = m->location;
  } else {
    return eng_fail(c, MOMEDO_E_INVAL, "a passphrase channel takes text and locations");
  }
  if (content_new_id(mid) != 0) return eng_fail(c, MOMEDO_E_RNG, "no randomness");
  cm.format = CHANNEL_FORMAT;
  cm.message_id = (ProtobufCBinaryData){CHANNEL_ID_LEN, mid};
  cm.sent_ms = os_wall_ms();
  cm.display_name = ch->display;
  int rc = channel_seal(&ch->k, &cm, &wire, &wl);
  if (rc == MOMEDO_E_TOOBIG) return eng_fail(c, rc, "the message is too long");
  if (rc) return eng_fail(c, rc, "cannot seal the message: %s", momedo_strerror(rc));
  struct nodeapi_post_req p = {.mailbox = ch->k.mailbox, .ciphertext = wire,
                               .ciphertext_len = wl, .ttl_ms = ENG_ITEM_TTL_MS};
  rc = nodeapi_post(&cn->api, &p, oid, NULL);
  free(wire);
  if (rc) return eng_api_fail(c, cn, rc, "posting to the channel failed");
  memcpy(id, mid, TL_ID_LEN);
  Momedo__Content tmp = *m;
  tmp.message_id = (ProtobufCBinaryData){TL_ID_LEN, mid};
  tmp.sent_ms = cm.sent_ms;
  tmp.sender_device = (ProtobufCBinaryData){32, st->acct.device.pub};
  struct tl_entry e;
  int added = 0;
  eng__entry_of(&tmp, 1, &e);
  snprintf(display, sizeof display, "%s", ch->display);
  e.due = display; /* channel timelines: the sender's display name */
  return eng__timeline_put(c, st, HIST_CHANNEL, ch->k.mailbox, &e, &added);
}
