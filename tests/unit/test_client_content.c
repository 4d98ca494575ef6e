/* test_client_content — message content: round trips of every kind with exact field
 * values, every bound refused on both sides of its edge, unknown kinds, bounded
 * decoding, and attachment chunk encryption (round trip, swapped index, wrong blob). */
#include <math.h>

#include "arena.h"
#include "content.h"
#include "harness.h"

static uint8_t g_id[16], g_dev[32], g_peer[32];

static void base(Momedo__Content *c) {
  momedo__content__init(c);
  for (int i = 0; i < 16; i++) g_id[i] = (uint8_t)i;
  memset(g_dev, 0xd1, sizeof g_dev);
  memset(g_peer, 0xe2, sizeof g_peer);
  c->format = CONTENT_FORMAT;
  c->message_id = (ProtobufCBinaryData){16, g_id};
  c->sent_ms = 1700000000123ull;
  c->sender_device = (ProtobufCBinaryData){32, g_dev};
}

/* Encode c, decode it back into a; 0 or the first error. */
static int round_trip(const Momedo__Content *c, struct arena *a, Momedo__Content **out) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = content_encode(c, &buf, &len);
  if (rc == 0) rc = content_decode(buf, len, a, out);
  free(buf);
  return rc;
}

static void test_text(void) {
  Momedo__Content c, *d = NULL;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  struct arena a;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  base(&c);
  t.text = "replace the lamp in building 4 \xe2\x9c\x93";
  c.body_case = MOMEDO__CONTENT__BODY_TEXT;
  c.text = &t;
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_EQ(d->body_case, MOMEDO__CONTENT__BODY_TEXT);
  CHECK_STR(d->text->text, t.text);
  CHECK_MEM(d->message_id.data, g_id, 16);
  CHECK_EQ(d->sent_ms, 1700000000123ull);
  CHECK(!d->sync_copy);
  /* Exactly 64 KiB is fine, one more byte is not; bad UTF-8 and empty are refused. */
  char *big = malloc(CONTENT_TEXT_BYTES_MAX + 2);
  CHECK(big != NULL);
  memset(big, 'x', CONTENT_TEXT_BYTES_MAX + 1);
  big[CONTENT_TEXT_BYTES_MAX] = 0;
  t.text = big;
  arena_reset(&a);
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_EQ(strlen(d->text->text), CONTENT_TEXT_BYTES_MAX);
  big[CONTENT_TEXT_BYTES_MAX] = 'x';
  big[CONTENT_TEXT_BYTES_MAX + 1] = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  free(big);
  char *bad[] = {"", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abc\xe2\x82",
                       "\xff"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    t.text = bad[i];
    CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  }
  t.text = "\xf0\x9f\x98\x80 ok";
  CHECK_EQ(content_validate(&c), 0);
  arena_close(&a);
}

static void test_header_fields(void) {
  Momedo__Content c;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  base(&c);
  t.text = "x";
  c.body_case = MOMEDO__CONTENT__BODY_TEXT;
  c.text = &t;
  CHECK_EQ(content_validate(&c), 0);
  c.format = 2;
  CHECK_EQ(content_validate(&c), MOMEDO_E_VERSION);
  c.format = 1;
  c.message_id.len = 15;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  c.message_id.len = 16;
  c.sender_device.len = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  c.sender_device.len = 32;
  c.sent_ms = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  c.sent_ms = 1;
  c.sync_copy = 1; /* a sync copy must name the conversation */
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  c.sync_peer = (ProtobufCBinaryData){32, g_peer};
  CHECK_EQ(content_validate(&c), 0);
  c.sync_copy = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  c.sync_peer.len = 0;
  c.body_case = MOMEDO__CONTENT__BODY__NOT_SET;
  CHECK_EQ(content_validate(&c), MOMEDO_E_UNKNOWN_KIND);
}

static void test_file(void) {
  Momedo__Content c, *d = NULL;
  Momedo__File f = MOMEDO__FILE__INIT;
  uint8_t blob[32], key[32], sum[32];
  struct arena a;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  memset(blob, 1, 32), memset(key, 2, 32), memset(sum, 3, 32);
  base(&c);
  f.name = "IMG_0001.jpg";
  f.mime = "image/jpeg";
  f.size = 5u * 1024 * 1024;
  f.blob_id = (ProtobufCBinaryData){32, blob};
  f.blob_key = (ProtobufCBinaryData){32, key};
  f.sha256 = (ProtobufCBinaryData){32, sum};
  f.chunk_bytes = CONTENT_CHUNK_BYTES;
  f.chunk_count = 27; /* ceil(5 MiB / 192 KiB) = 26.67 */
  f.photo = 1;
  c.body_case = MOMEDO__CONTENT__BODY_FILE;
  c.file = &f;
  CHECK_EQ(content_chunk_count(f.size, f.chunk_bytes), 27);
  CHECK_EQ(content_chunk_count(0, 10), 1);
  CHECK_EQ(content_chunk_count(10, 10), 1);
  CHECK_EQ(content_chunk_count(11, 10), 2);
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_STR(d->file->name, "IMG_0001.jpg");
  CHECK_STR(d->file->mime, "image/jpeg");
  CHECK_EQ(d->file->size, 5u * 1024 * 1024);
  CHECK_EQ(d->file->chunk_count, 27);
  CHECK(d->file->photo);
  CHECK_MEM(d->file->blob_key.data, key, 32);
  f.chunk_count = 26;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.chunk_count = 27;
  char *bad_names[] = {"", "a/b", "..", ".", "a\\b", "tab\there", "\xff.jpg"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
    f.name = bad_names[i];
    CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  }
  char name[CONTENT_NAME_BYTES_MAX + 2];
  memset(name, 'n', sizeof name);
  name[CONTENT_NAME_BYTES_MAX] = 0;
  f.name = name;
  CHECK_EQ(content_validate(&c), 0);
  name[CONTENT_NAME_BYTES_MAX] = 'n';
  name[CONTENT_NAME_BYTES_MAX + 1] = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.name = "ok.bin";
  f.mime = "image/jp eg";
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.mime = "";
  CHECK_EQ(content_validate(&c), 0);
  f.blob_key.len = 16;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.blob_key.len = 32;
  f.chunk_bytes = CONTENT_CHUNK_BYTES_MAX + 1;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.chunk_bytes = 1; /* 5 MiB in 1-byte chunks: more than CONTENT_CHUNKS_MAX */
  f.chunk_count = 5u * 1024 * 1024;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  arena_close(&a);
}

static void test_location(void) {
  Momedo__Content c, *d = NULL;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  struct arena a;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  base(&c);
  l.lat = 47.3769;
  l.lon = 8.5417;
  l.accuracy_m = 12.5;
  c.body_case = MOMEDO__CONTENT__BODY_LOCATION;
  c.location = &l;
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK(d->location->lat == 47.3769 && d->location->lon == 8.5417);
  CHECK(d->location->accuracy_m == 12.5);
  struct {
    double lat, lon, acc;
    int ok;
  } cases[] = {{90, 180, 0, 1},        {-90, -180, 1e7, 1},      {90.000001, 0, 0, 0},
               {-90.000001, 0, 0, 0},  {0, 180.000001, 0, 0},    {0, -180.5, 0, 0},
               {0, 0, -0.1, 0},        {0, 0, 1e7 + 1, 0},       {NAN, 0, 0, 0},
               {0, INFINITY, 0, 0},    {0, 0, NAN, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    l.lat = cases[i].lat, l.lon = cases[i].lon, l.accuracy_m = cases[i].acc;
    CHECK_EQ(content_validate(&c), cases[i].ok ? 0 : MOMEDO_E_BOUNDS);
  }
  arena_close(&a);
}

static void test_task_and_reply(void) {
  Momedo__Content c, *d = NULL;
  Momedo__Task t = MOMEDO__TASK__INIT;
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  struct arena a;
  uint8_t ref[16];
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  memset(ref, 0x77, 16);
  base(&c);
  t.title = "replace the lamp in building 4, approved";
  t.due_ms = 1700086400000ull;
  c.body_case = MOMEDO__CONTENT__BODY_TASK;
  c.task = &t;
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_STR(d->task->title, t.title);
  CHECK_EQ(d->task->due_ms, 1700086400000ull);
  t.title = "";
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  c.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY;
  c.task_reply = &r;
  r.task_id = (ProtobufCBinaryData){16, ref};
  r.action = MOMEDO__TASK_REPLY__ACTION__DONE;
  arena_reset(&a);
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_EQ(d->task_reply->action, MOMEDO__TASK_REPLY__ACTION__DONE);
  CHECK_MEM(d->task_reply->task_id.data, ref, 16);
  r.action = MOMEDO__TASK_REPLY__ACTION__ACTION_NONE;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.action = (Momedo__TaskReply__Action)9;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.action = MOMEDO__TASK_REPLY__ACTION__ACCEPT;
  r.task_id.len = 32;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  arena_close(&a);
}

static void test_receipt(void) {
  Momedo__Content c, *d = NULL;
  Momedo__Receipt r = MOMEDO__RECEIPT__INIT;
  static ProtobufCBinaryData ids[CONTENT_RECEIPT_IDS_MAX + 1];
  static uint8_t raw[CONTENT_RECEIPT_IDS_MAX + 1][16];
  struct arena a;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  for (int i = 0; i <= CONTENT_RECEIPT_IDS_MAX; i++) {
    memset(raw[i], i, 16);
    ids[i] = (ProtobufCBinaryData){16, raw[i]};
  }
  base(&c);
  r.kind = MOMEDO__RECEIPT__KIND__READ;
  r.message_ids = ids;
  r.n_message_ids = CONTENT_RECEIPT_IDS_MAX;
  c.body_case = MOMEDO__CONTENT__BODY_RECEIPT;
  c.receipt = &r;
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_EQ(d->receipt->n_message_ids, CONTENT_RECEIPT_IDS_MAX);
  CHECK_MEM(d->receipt->message_ids[200].data, raw[200], 16);
  r.n_message_ids = CONTENT_RECEIPT_IDS_MAX + 1;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.n_message_ids = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.n_message_ids = 1;
  r.kind = MOMEDO__RECEIPT__KIND__KIND_NONE;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.kind = MOMEDO__RECEIPT__KIND__DELIVERED;
  ids[0].len = 17;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  ids[0].len = 16;
  arena_close(&a);
}

/* Bytes from outside: unknown body kind, unknown fields, garbage, truncation, size. */
static void test_decode_from_outside(void) {
  Momedo__Content c, *d = NULL;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  struct arena a;
  uint8_t *buf = NULL;
  size_t len = 0;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  base(&c);
  t.text = "hi";
  c.body_case = MOMEDO__CONTENT__BODY_TEXT;
  c.text = &t;
  CHECK_EQ(content_encode(&c, &buf, &len), 0);
  /* A newer sender's kind (field 20, empty message) instead of text. */
  uint8_t future[256];
  size_t body_at = len - 4; /* text body: tag 0x52, len 2 (0x0a 0x02 'h' 'i' nested) */
  CHECK_EQ(buf[body_at - 2], 0x52); /* field 10, wire type 2 */
  memcpy(future, buf, body_at - 2);
  future[body_at - 2] = 0xa2, future[body_at - 1] = 0x01, future[body_at] = 0x00; /* 20: {} */
  CHECK_EQ(content_decode(future, body_at + 1, &a, &d), MOMEDO_E_UNKNOWN_KIND);
  /* An unknown extra field inside a known message is ignored. */
  memcpy(future, buf, len);
  future[len] = 0xf8, future[len + 1] = 0x01, future[len + 2] = 0x05; /* field 31 = 5 */
  arena_reset(&a);
  CHECK_EQ(content_decode(future, len + 3, &a, &d), 0);
  CHECK_STR(d->text->text, "hi");
  for (size_t n = 0; n < len; n++) {
    arena_reset(&a);
    CHECK(content_decode(buf, n, &a, &d) < 0);
  }
  arena_reset(&a);
  CHECK_EQ(content_decode(buf, CONTENT_BYTES_MAX + 1, &a, &d), MOMEDO_E_TOOBIG);
  free(buf);
  /* The arena cap bounds what a decode may allocate. */
  struct arena tiny;
  arena_init(&tiny, 64);
  base(&c);
  CHECK_EQ(content_encode(&c, &buf, &len), MOMEDO_E_UNKNOWN_KIND);
  c.body_case = MOMEDO__CONTENT__BODY_TEXT;
  c.text = &t;
  CHECK_EQ(content_encode(&c, &buf, &len), 0);
  CHECK_EQ(content_decode(buf, len, &tiny, &d), MOMEDO_E_TOOBIG);
  free(buf);
  arena_close(&tiny);
  arena_close(&a);
}

static void test_chunks(void) {
  uint8_t blob[32], key[32], other[32];
  static uint8_t pt[3][1000], ct[3][1000 + CRYPTO_TAG_LEN], out[1000];
  CHECK_EQ(content_blob_new(blob, key), 0);
  memcpy(other, blob, 32);
  other[31] ^= 1;
  for (int i = 0; i < 3; i++) {
    memset(pt[i], 'a' + i, sizeof pt[i]);
    CHECK_EQ(content_chunk_seal(ct[i], pt[i], i == 2 ? 10 : 1000, key, blob, (uint32_t)i, 3), 0);
  }
  CHECK_EQ(content_chunk_open(out, ct[1], 1000 + CRYPTO_TAG_LEN, key, blob, 1, 3), 0);
  CHECK_MEM(out, pt[1], 1000);
  CHECK_EQ(content_chunk_open(out, ct[2], 10 + CRYPTO_TAG_LEN, key, blob, 2, 3), 0);
  CHECK_MEM(out, pt[2], 10);
  /* Chunk 1 presented as chunk 0, from another blob, with another count, with another
   * key, or with a flipped byte: all refused. */
  CHECK_EQ(content_chunk_open(out, ct[1], 1016, key, blob, 0, 3), MOMEDO_E_DECRYPT);
  CHECK_EQ(content_chunk_open(out, ct[1], 1016, key, other, 1, 3), MOMEDO_E_DECRYPT);
  CHECK_EQ(content_chunk_open(out, ct[1], 1016, key, blob, 1, 2), MOMEDO_E_DECRYPT);
  CHECK_EQ(content_chunk_open(out, ct[1], 1016, other, blob, 1, 3), MOMEDO_E_DECRYPT);
  ct[0][500] ^= 4;
  CHECK_EQ(content_chunk_open(out, ct[0], 1016, key, blob, 0, 3), MOMEDO_E_DECRYPT);
  ct[0][500] ^= 4;
  CHECK_EQ(content_chunk_open(out, ct[0], 1016, key, blob, 0, 3), 0);
  CHECK_EQ(content_chunk_open(out, ct[0], 1015, key, blob, 0, 3), MOMEDO_E_DECRYPT);
  /* Distinct nonces per index: same plaintext, different ciphertext. */
  uint8_t c0[16 + 8], c1[16 + 8];
  CHECK_EQ(content_chunk_seal(c0, pt[0], 8, key, blob, 0, 2), 0);
  CHECK_EQ(content_chunk_seal(c1, pt[0], 8, key, blob, 1, 2), 0);
  CHECK(memcmp(c0, c1, 8) != 0);
  CHECK_EQ(content_chunk_open(out, ct[0], 1016, key, blob, 3, 3), MOMEDO_E_BOUNDS);
  CHECK_EQ(content_chunk_open(out, ct[0], 15, key, blob, 0, 3), MOMEDO_E_BOUNDS);
  CHECK_EQ(content_chunk_seal(c0, pt[0], 8, key, blob, 2, 2), MOMEDO_E_INVAL);
}

/* Attachment chunks are sealed at their bucket (issue 11, finding 9): powers of two from
 * 1 KiB up to the chunk size, so the node sees the bucket, not the size. */
static void test_chunk_padding(void) {
  const size_t C = CONTENT_CHUNK_BYTES;
  CHECK_EQ(content_chunk_padded_len(0, C), 1024);
  CHECK_EQ(content_chunk_padded_len(1, C), 1024);
  CHECK_EQ(content_chunk_padded_len(1024, C), 1024);
  CHECK_EQ(content_chunk_padded_len(1025, C), 2048);
  CHECK_EQ(content_chunk_padded_len(50000, C), 65536);
  CHECK_EQ(content_chunk_padded_len(131073, C), C); /* 256 KiB would pass the chunk */
  CHECK_EQ(content_chunk_padded_len(C, C), C);
  CHECK_EQ(content_chunk_padded_len(700, 512), 700); /* never below the data */
  CHECK_EQ(content_chunk_padded_len(300, 512), 512);
  for (size_t n = 1; n < C; n = n * 3 + 7) { /* every size of one bucket looks the same */
    size_t p = content_chunk_padded_len(n, C);
    CHECK(p >= n && p <= C);
    CHECK(p == C || (p & (p - 1)) == 0);
    CHECK(content_chunk_padded_len(p, C) == p);
  }
}


/* issue 13 part 4: a file's place and caption (one message); their bounds; every
 * truncation of such a message refused; what a client from before sees (the fields
 * are unknown to it: an unknown field inside File is skipped, the file shows). */
static void fill_file(Momedo__File *f, uint8_t *blob, uint8_t *key, uint8_t *sum) {
  memset(blob, 1, 32), memset(key, 2, 32), memset(sum, 3, 32);
  f->name = "lampe.jpg";
  f->mime = "image/jpeg";
  f->size = 1000;
  f->blob_id = (ProtobufCBinaryData){32, blob};
  f->blob_key = (ProtobufCBinaryData){32, key};
  f->sha256 = (ProtobufCBinaryData){32, sum};
  f->chunk_bytes = CONTENT_CHUNK_BYTES;
  f->chunk_count = 1;
  f->photo = 1;
}

static void test_file_place_caption(void) {
  Momedo__Content c, *d = NULL;
  Momedo__File f = MOMEDO__FILE__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  uint8_t blob[32], key[32], sum[32], *buf = NULL;
  size_t len = 0;
  struct arena a;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  base(&c);
  fill_file(&f, blob, key, sum);
  l.lat = 50.9375, l.lon = 6.9603, l.accuracy_m = 12;
  f.location = &l;
  f.caption = "Lampe im Flur 2 defekt \xe2\x9c\x93";
  c.body_case = MOMEDO__CONTENT__BODY_FILE;
  c.file = &f;
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK(d->file->location != NULL);
  CHECK(d->file->location->lat == 50.9375 && d->file->location->lon == 6.9603);
  CHECK(d->file->location->accuracy_m == 12);
  CHECK_STR(d->file->caption, f.caption);
  CHECK_STR(d->file->name, "lampe.jpg");
  /* Every truncation of it is refused. */
  CHECK_EQ(content_encode(&c, &buf, &len), 0);
  for (size_t n = 0; n < len; n++) {
    arena_reset(&a);
    CHECK(content_decode(buf, n, &a, &d) < 0);
  }
  free(buf);
  /* Bounds of the place (as a Location message's) and of the caption. */
  const double bad[][2] = {{90.0000001, 0}, {-90.0000001, 0}, {0, 180.0000001}, {NAN, 0},
                           {0, INFINITY}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    l.lat = bad[i][0], l.lon = bad[i][1];
    CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  }
  l.lat = -90, l.lon = 180, l.accuracy_m = CONTENT_ACCURACY_M_MAX + 1;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  l.accuracy_m = 0;
  CHECK_EQ(content_validate(&c), 0);
  char *cap = malloc(CONTENT_CAPTION_BYTES_MAX + 2);
  CHECK(cap != NULL);
  memset(cap, 'c', CONTENT_CAPTION_BYTES_MAX + 1);
  cap[CONTENT_CAPTION_BYTES_MAX] = 0;
  f.caption = cap;
  CHECK_EQ(content_validate(&c), 0);
  cap[CONTENT_CAPTION_BYTES_MAX] = 'c', cap[CONTENT_CAPTION_BYTES_MAX + 1] = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.caption = "\xc0\xaf"; /* overlong '/' */
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  f.caption = "";
  f.location = NULL;
  CHECK_EQ(content_validate(&c), 0); /* neither: the file as before */
  free(cap);
  /* A client from before: its File has no fields 10 and 11. The same bytes under field
   * numbers this client does not know (28: a packed Location, 29: a string) are what
   * that client meets: skipped, the file still decodes. */
  uint8_t lb[64]; /* protobuf-c keeps a length-prefixed unknown field with its length */
  l.lat = 1, l.lon = 2;
  size_t ll = protobuf_c_message_pack(&l.base, lb + 1);
  lb[0] = (uint8_t)ll;
  ProtobufCMessageUnknownField uf[2] = {
      {.tag = 28, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, .len = ll + 1, .data = lb},
      {.tag = 29, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, .len = 5,
       .data = (uint8_t *)"\x04hier"}};
  f.base.n_unknown_fields = 2;
  f.base.unknown_fields = uf;
  arena_reset(&a);
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_EQ(d->body_case, MOMEDO__CONTENT__BODY_FILE);
  CHECK_STR(d->file->name, "lampe.jpg");
  CHECK(d->file->location == NULL);
  CHECK(d->file->caption == NULL || d->file->caption[0] == 0);
  f.base.n_unknown_fields = 0;
  f.base.unknown_fields = NULL;
  arena_close(&a);
}

/* Approvals: a task asking for one; a reply's decision only with its matching action
 * (what an older client shows: accept / decline), a comment only with a decision. */
static void test_approval(void) {
  Momedo__Content c, *d = NULL;
  Momedo__Task t = MOMEDO__TASK__INIT;
  Momedo__TaskReply r = MOMEDO__TASK_REPLY__INIT;
  uint8_t ref[16], *buf = NULL;
  size_t len = 0;
  struct arena a;
  arena_init(&a, CONTENT_DECODE_BYTES_MAX);
  memset(ref, 0x42, 16);
  base(&c);
  t.title = "Reparatur Dach freigeben";
  t.approval = 1;
  c.body_case = MOMEDO__CONTENT__BODY_TASK;
  c.task = &t;
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK(d->task->approval);
  c.body_case = MOMEDO__CONTENT__BODY_TASK_REPLY;
  c.task_reply = &r;
  r.task_id = (ProtobufCBinaryData){16, ref};
  r.action = MOMEDO__TASK_REPLY__ACTION__ACCEPT;
  r.decision = MOMEDO__TASK_REPLY__DECISION__APPROVED;
  r.comment = "Angebot 2";
  arena_reset(&a);
  CHECK_EQ(round_trip(&c, &a, &d), 0);
  CHECK_EQ(d->task_reply->decision, MOMEDO__TASK_REPLY__DECISION__APPROVED);
  CHECK_EQ(d->task_reply->action, MOMEDO__TASK_REPLY__ACTION__ACCEPT);
  CHECK_STR(d->task_reply->comment, "Angebot 2");
  CHECK_EQ(content_encode(&c, &buf, &len), 0);
  for (size_t n = 0; n < len; n++) {
    arena_reset(&a);
    CHECK(content_decode(buf, n, &a, &d) < 0);
  }
  free(buf);
  r.action = MOMEDO__TASK_REPLY__ACTION__DONE; /* approved, but "done" */
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.action = MOMEDO__TASK_REPLY__ACTION__DECLINE;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.decision = MOMEDO__TASK_REPLY__DECISION__DECLINED;
  CHECK_EQ(content_validate(&c), 0);
  r.action = MOMEDO__TASK_REPLY__ACTION__ACCEPT;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.action = MOMEDO__TASK_REPLY__ACTION__DECLINE;
  r.decision = (Momedo__TaskReply__Decision)3;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.decision = MOMEDO__TASK_REPLY__DECISION__DECISION_NONE; /* a plain decline ... */
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);          /* ... has no comment */
  r.comment = "";
  CHECK_EQ(content_validate(&c), 0);
  r.decision = MOMEDO__TASK_REPLY__DECISION__DECLINED;
  char *cm = malloc(CONTENT_COMMENT_BYTES_MAX + 2);
  CHECK(cm != NULL);
  memset(cm, 'k', CONTENT_COMMENT_BYTES_MAX + 1);
  cm[CONTENT_COMMENT_BYTES_MAX] = 0;
  r.comment = cm;
  CHECK_EQ(content_validate(&c), 0);
  cm[CONTENT_COMMENT_BYTES_MAX] = 'k', cm[CONTENT_COMMENT_BYTES_MAX + 1] = 0;
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  r.comment = "\xed\xa0\x80"; /* a surrogate */
  CHECK_EQ(content_validate(&c), MOMEDO_E_BOUNDS);
  free(cm);
  arena_close(&a);
}

int main(void) {
  RUN(test_text);
  RUN(test_header_fields);
  RUN(test_file);
  RUN(test_location);
  RUN(test_task_and_reply);
  RUN(test_file_place_caption);
  RUN(test_approval);
  RUN(test_receipt);
  RUN(test_decode_from_outside);
  RUN(test_chunks);
  RUN(test_chunk_padding);
  TEST_MAIN_END();
}
