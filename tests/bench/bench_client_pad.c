/* bench_client_pad — what padding plaintexts to buckets (docs/e2e.md, "Padding") costs
 * in bytes on the wire: real encoded Content messages of the kinds the client sends
 * (texts of several lengths, receipts, a location, a task, a file announcement), each
 * as a ratchet envelope without and with padding, and a mix weighted like a chat day.
 * Sizes only; no timing. Usage: bench_client_pad. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "x3dh.h"

struct sample {
  const char *name;
  unsigned weight; /* per 1000 envelopes of a chat day (a rough mix, stated openly) */
  size_t bytes;    /* encoded Content */
};

static int encode_len(Momedo__Content *m, size_t *out) {
  static uint8_t id[CONTENT_ID_LEN], dev[32];
  uint8_t *pt = NULL;
  m->format = CONTENT_FORMAT;
  m->message_id = (ProtobufCBinaryData){CONTENT_ID_LEN, id};
  m->sent_ms = 1700000000000ull;
  m->sender_device = (ProtobufCBinaryData){32, dev};
  int rc = content_encode(m, &pt, out);
  free(pt);
  return rc;
}

static int text_len(size_t chars, size_t *out) {
  static char buf[8192];
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Text t = MOMEDO__TEXT__INIT;
  memset(buf, 'a', chars);
  buf[chars] = '\0';
  t.text = buf;
  m.body_case = MOMEDO__CONTENT__BODY_TEXT;
  m.text = &t;
  return encode_len(&m, out);
}

static int receipt_len(size_t ids, size_t *out) {
  static uint8_t id[CONTENT_ID_LEN];
  ProtobufCBinaryData v[64];
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Receipt r = MOMEDO__RECEIPT__INIT;
  for (size_t i = 0; i < ids; i++) v[i] = (ProtobufCBinaryData){CONTENT_ID_LEN, id};
  r.kind = MOMEDO__RECEIPT__KIND__DELIVERED;
  r.n_message_ids = ids;
  r.message_ids = v;
  m.body_case = MOMEDO__CONTENT__BODY_RECEIPT;
  m.receipt = &r;
  return encode_len(&m, out);
}

static int other_lens(size_t *loc, size_t *task, size_t *file) {
  static uint8_t k32[32];
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__Location l = MOMEDO__LOCATION__INIT;
  Momedo__Task t = MOMEDO__TASK__INIT;
  Momedo__File f = MOMEDO__FILE__INIT;
  l.lat = 52.520008, l.lon = 13.404954, l.accuracy_m = 12;
  m.body_case = MOMEDO__CONTENT__BODY_LOCATION;
  m.location = &l;
  int rc = encode_len(&m, loc);
  t.title = "replace the lamp in building 4";
  t.due_ms = 1900000000000ull;
  m.body_case = MOMEDO__CONTENT__BODY_TASK;
  m.task = &t;
  if (rc == 0) rc = encode_len(&m, task);
  f.name = "IMG_20240611_101500.jpg";
  f.mime = "image/jpeg";
  f.size = 2400000;
  f.photo = 1;
  f.blob_id = f.blob_key = f.sha256 = (ProtobufCBinaryData){32, k32};
  f.chunk_bytes = CONTENT_CHUNK_BYTES;
  f.chunk_count = (uint32_t)content_chunk_count(f.size, f.chunk_bytes);
  m.body_case = MOMEDO__CONTENT__BODY_FILE;
  m.file = &f;
  if (rc == 0) rc = encode_len(&m, file);
  return rc;
}

int main(void) {
  struct sample s[] = {
      {"text, 10 chars", 250, 0},  {"text, 40 chars", 250, 0},   {"text, 120 chars", 150, 0},
      {"text, 400 chars", 40, 0},  {"text, 2000 chars", 5, 0},   {"receipt, 1 id", 200, 0},
      {"receipt, 10 ids", 40, 0},  {"location", 20, 0},          {"task", 15, 0},
      {"file announcement", 30, 0},
  };
  size_t n = sizeof s / sizeof s[0];
  static const size_t chars[] = {10, 40, 120, 400, 2000};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < 5; i++) rc = text_len(chars[i], &s[i].bytes);
  if (rc == 0) rc = receipt_len(1, &s[5].bytes);
  if (rc == 0) rc = receipt_len(10, &s[6].bytes);
  if (rc == 0) rc = other_lens(&s[7].bytes, &s[8].bytes, &s[9].bytes);
  if (rc) {
    fprintf(stderr, "bench_client_pad: encoding failed: %s\n", momedo_strerror(rc));
    return 1;
  }
  size_t hdr = E2E_MESSAGE_PREFIX_LEN + E2E_HEADER_LEN + CRYPTO_TAG_LEN;
  double w_plain = 0, w_padded = 0, w_total = 0;
  printf("%-20s %8s %10s %10s %9s\n", "ratchet envelope", "content", "unpadded", "padded",
         "overhead");
  for (size_t i = 0; i < n; i++) {
    size_t plain = hdr + s[i].bytes, padded = hdr + e2e_padded_len(s[i].bytes);
    printf("%-20s %8zu %10zu %10zu %8.0f%%\n", s[i].name, s[i].bytes, plain, padded,
           100.0 * (double)(padded - plain) / (double)plain);
    w_plain += s[i].weight * (double)plain;
    w_padded += s[i].weight * (double)padded;
    w_total += s[i].weight;
  }
  printf("mix (weights per 1000: 250/250/150/40/5 texts, 200/40 receipts, 20 locations, "
         "15 tasks, 30 files):\n");
  printf("  mean envelope %.0f bytes unpadded, %.0f padded: +%.0f bytes (+%.0f%%)\n",
         w_plain / w_total, w_padded / w_total, (w_padded - w_plain) / w_total,
         100.0 * (w_padded - w_plain) / w_plain);
  printf("  (the salt added to every header for finding 6 is 16 of the unpadded bytes)\n");
  return 0;
}
