/* fuzz_content — the two parsers of a message's body: content_decode (the plaintext of
 * an end-to-end envelope from any peer: every kind, a file's place and caption, a
 * task's approval, a reply's decision and comment) and a history row's record
 * (tl_entry_get, then tl_entry_get_ext when bytes are left, as history.c reads a row).
 * Input: [u8 selector: even = content, odd = row][bytes]. Invariants: nothing but 0 or a
 * known negative code; a decoded Content validates and re-encodes, and without unknown
 * fields decodes again to the same bytes (one canonical form); a row read back is
 * written back byte for byte.
 * MOMEDO_FUZZ_SEED_DIR=DIR writes one seed per case there and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "content.h"
#include "cursor.h"
#include "timeline.h"
#include "vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fz_write(const char *dir, const char *name, uint8_t sel, const uint8_t *d, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(&sel, 1, 1, f) != 1 || fwrite(d, 1, n, f) != n) abort();
  fclose(f);
}

static void fz_seed_content(const char *dir, const char *name, Momedo__Content *c) {
  static uint8_t id[16] = {1}, dev[32] = {2};
  uint8_t *buf = NULL;
  size_t len = 0;
  c->format = CONTENT_FORMAT;
  c->message_id = (ProtobufCBinaryData){16, id};
  c->sent_ms = 1700000000000ull;
  c->sender_device = (ProtobufCBinaryData){32, dev};
  if (content_encode(c, &buf, &len) != 0) abort();
  fz_write(dir, name, 0, buf, len);
  free(buf);
}

static void fz_seeds(const char *dir) {
  static uint8_t blob[32] = {3}, key[32] = {4}, sum[32] = {5}, ref[16] = {6};
  Momedo__Content c = MOMEDO__CONTENT__INIT;
  Momedo__File f = MOMEDO__FILE__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  Momedo__Task t = MOMEDO__TASK__INIT;
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  f.name = "lampe.jpg", f.mime = "image/jpeg", f.size = 1000, f.photo = 1;
  f.blob_id = (ProtobufCBinaryData){32, blob};
  f.blob_key = (ProtobufCBinaryData){32, key};
  f.sha256 = (ProtobufCBinaryData){32, sum};
  f.chunk_bytes = CONTENT_CHUNK_BYTES, f.chunk_count = 1;
  l.lat = 50.9375, l.lon = 6.9603, l.accuracy_m = 12;
  f.location = &l, f.caption = "Flur 2";
  c.body_case = MOMEDO__CONTENT__BODY_FILE, c.file = &f;
  fz_seed_content(dir, "file_place", &c);
  t.title = "Reparatur freigeben", t.approval = 1, t.due_ms = 1700086400000ull;
  c.body_case = MOMEDO__CONTENT__BODY_TASK, c.task = &t;
  fz_seed_content(dir, "task_approval", &c);
  r.task_id = (ProtobufCBinaryData){16, ref};
  r.action = MOMEDO__TASK_REPLY__ACTION__DECLINE;
  r.decision = MOMEDO__TASK_REPLY__DECISION__DECLINED, r.comment = "zu teuer";
  c.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY, c.task_reply = &r;
  fz_seed_content(dir, "reply_decision", &c);
  /* A history row of an approval task with one decision. */
  struct tl_entry e;
  struct tl_decision d = {.decision = TL_DEC_APPROVED, .ms = 42, .comment = "ok"};
  struct vbuf b = {0};
  memset(&e, 0, sizeof e);
  e.kind = TL_TASK, e.flags = TL_F_APPROVAL, e.text = "Reparatur", e.acc = -1;
  memset(d.who, 7, sizeof d.who);
  e.dec = &d, e.n_dec = 1;
  tl_entry_put(&b, &e);
  tl_entry_put_ext(&b, &e);
  if (b.err) abort();
  fz_write(dir, "row_task", 1, b.p, b.len);
  vbuf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *dir = getenv("MOMEDO_FUZZ_SEED_DIR");
  if (dir) {
    fz_seeds(dir);
    exit(0);
  }
  return 0;
}

/* Any unknown field in c or the body it holds. */
static int has_unknown(const Momedo__Content *c) {
  if (c->base.n_unknown_fields) return 1;
  const ProtobufCMessage *body = c->body_case == MOMEDO__CONTENT__BODY_FILE ? &c->file->base
      : c->body_case == MOMEDO__CONTENT__BODY_TASK ? &c->task->base
      : c->body_case == MOMEDO__CONTENT__BODY_TASK_REPLY ? &c->task_reply->base
      : c->body_case == MOMEDO__CONTENT__BODY_TEXT ? &c->text->base
      : c->body_case == MOMEDO__CONTENT__BODY_LOCATION ? &c->location->base
      : c->body_case == MOMEDO__CONTENT__BODY_RECEIPT ? &c->receipt->base
      : NULL;
  if (body && body->n_unknown_fields) return 1;
  if (c->body_case == MOMEDO__CONTENT__BODY_FILE && c->file->location &&
      c->file->location->base.n_unknown_fields)
    return 1;
  return c->body_case == MOMEDO__CONTENT__BODY_GROUP || c->body_case ==
         MOMEDO__CONTENT__BODY_DEVICE_PREKEY; /* nested deeper: not checked */
}

static void fz_content(const uint8_t *data, size_t size) {
  struct arena a, b;
  Momedo__Content *c = NULL, *c2 = NULL;
  uint8_t *enc = NULL, *enc2 = NULL;
  size_t n = 0, n2 = 0;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  arena_init(&b, CONTENT_DECODE_BYTES_MAX);
  int rc = content_decode(data, size, &a, &c);
  if (rc > 0) abort();
  if (rc == 0) {
    if (content_validate(c) != 0 || content_encode(c, &enc, &n) != 0) abort();
    /* The client never re-encodes what it received; protobuf-c keeps unknown fields
     * (also a known number with another wire type) and writes them after the known
     * ones, which need not decode again. Only when the input had none must it. */
    if (!has_unknown(c) &&
        (content_decode(enc, n, &b, &c2) != 0 || content_encode(c2, &enc2, &n2) != 0 ||
         n != n2 || memcmp(enc, enc2, n) != 0))
      abort();
  }
  free(enc);
  free(enc2);
  arena_close(&a);
  arena_close(&b);
}

static void fz_row(const uint8_t *in, size_t size) {
  struct tl_entry e;
  struct cursor c;
  uint8_t *data = malloc(size ? size : 1); /* an exact copy: ASan sees every overread */
  if (!data) return;
  memcpy(data, in, size);
  cursor_init(&c, data, size);
  int rc = tl_entry_get(&c, &e), ext = rc == 0 && cursor_left(&c) != 0;
  if (ext) rc = tl_entry_get_ext(&c, &e);
  if (rc > 0) abort();
  if (rc != 0) {
    if (e.text || e.note || e.dec || e.n_dec) abort(); /* cleared on failure */
    free(data);
    return;
  }
  /* One form only: what was read is written back byte for byte. */
  struct vbuf b = {0};
  size_t used = size - cursor_left(&c);
  tl_entry_put(&b, &e);
  if (ext) tl_entry_put_ext(&b, &e);
  if (b.err == 0 && (b.len != used || memcmp(b.p, data, used) != 0)) abort();
  vbuf_free(&b);
  tl_entry_clear(&e);
  free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1) fz_row(data + 1, size - 1);
  else fz_content(data + 1, size - 1);
  return 0;
}
