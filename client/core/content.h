/* client/core/content.h — the plaintext inside an end-to-end envelope (content.proto):
 * validation with a named bound for every field, encode/decode with bounded memory,
 * and the per-blob encryption of attachment chunks. Pure functions over buffers: no
 * I/O, no clock, no sessions (x3dh.h carries the bytes). */
#ifndef MOMEDO_CLIENT_CONTENT_H
#define MOMEDO_CLIENT_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "content.pb-c.h"
#include "crypto.h"
#include "obj.h"
#include "status.h"

#define CONTENT_FORMAT 1
#define CONTENT_ID_LEN 16
#define CONTENT_KEY_LEN 32
#define CONTENT_BYTES_MAX (128u * 1024)           /* encoded Content (= E2E_PLAINTEXT_MAX) */
#define CONTENT_DECODE_BYTES_MAX (4 * CONTENT_BYTES_MAX) /* arena cap for one decode */
#define CONTENT_TEXT_BYTES_MAX (64u * 1024)
#define CONTENT_NAME_BYTES_MAX 255
#define CONTENT_MIME_BYTES_MAX 127
#define CONTENT_TITLE_BYTES_MAX 1024
#define CONTENT_CAPTION_BYTES_MAX 4096          /* File.caption */
#define CONTENT_COMMENT_BYTES_MAX 1024          /* TaskReply.comment (approvals) */
#define CONTENT_RECEIPT_IDS_MAX 256
#define CONTENT_ACCURACY_M_MAX 1e7
#define CONTENT_CHUNK_BYTES (192u * 1024)         /* default plaintext bytes per chunk */
#define CONTENT_CHUNK_BYTES_MAX (OBJ_CIPHERTEXT_BYTES_MAX - CRYPTO_TAG_LEN)
#define CONTENT_CHUNKS_MAX OBJ_CHUNKS_MAX
#define CONTENT_FILE_BYTES_DEFAULT_MAX (25ull * 1024 * 1024) /* sender policy, not a parser bound */
#define CONTENT_DOMAIN_CHUNK "momedo/blob-chunk/v1"

/* 16 random bytes. E_RNG. */
MOMEDO_WUR int content_new_id(uint8_t id[static CONTENT_ID_LEN]);

/* Check every field of c against its bound. E_VERSION (format), E_UNKNOWN_KIND (no or
 * unknown body), E_BOUNDS (any field out of range or not valid UTF-8). */
MOMEDO_WUR int content_validate(const Momedo__Content *c);

/* Validate then encode into a malloc'ed buffer (*out, caller wipes and frees).
 * E_TOOBIG beyond CONTENT_BYTES_MAX, E_NOMEM. */
MOMEDO_WUR int content_encode(const Momedo__Content *c, uint8_t **out, size_t *out_len);

/* Decode bytes from a peer into arena memory (*out lives until arena_reset; the arena
 * should be capped at CONTENT_DECODE_BYTES_MAX) and validate. Unknown fields inside
 * known messages are ignored (forward compatibility); an unknown body kind is
 * E_UNKNOWN_KIND. E_TOOBIG, E_DECODE, E_VERSION, E_BOUNDS. */
MOMEDO_WUR int content_decode(const uint8_t *buf, size_t len, struct arena *a,
                              Momedo__Content **out);

/* --- attachment blobs --- */

/* A fresh blob: random blob_id (the Chunk objects' blob_id) and random blob_key. */
MOMEDO_WUR int content_blob_new(uint8_t blob_id[static OBJ_ID_LEN],
                                uint8_t blob_key[static CONTENT_KEY_LEN]);

/* Chunks for size bytes at chunk_bytes per chunk (an empty file is one empty chunk). */
uint64_t content_chunk_count(uint64_t size, uint32_t chunk_bytes);

/* Encrypt chunk index of count (XChaCha20-Poly1305 under blob_key; nonce = 20 zero
 * bytes || be32 index, unique per key; AD = domain || blob_id || be32 index || be32
 * count, so a chunk moved to another index, blob or count fails). out receives len +
 * CRYPTO_TAG_LEN bytes. E_INVAL (index >= count, count or len out of bounds). */
MOMEDO_WUR int content_chunk_seal(uint8_t *out, const uint8_t *pt, size_t len,
                                  const uint8_t blob_key[static CONTENT_KEY_LEN],
                                  const uint8_t blob_id[static OBJ_ID_LEN], uint32_t index,
                                  uint32_t count);
/* Inverse; in holds len (>= CRYPTO_TAG_LEN) bytes, out receives len - 16.
 * E_DECRYPT on any mismatch, E_BOUNDS on a bad index/count/length from outside. */
MOMEDO_WUR int content_chunk_open(uint8_t *out, const uint8_t *in, size_t len,
                                  const uint8_t blob_key[static CONTENT_KEY_LEN],
                                  const uint8_t blob_id[static OBJ_ID_LEN], uint32_t index,
                                  uint32_t count);

/* Padding of attachment chunks (issue 11, finding 9; docs/e2e.md): a chunk of len
 * plaintext bytes is sealed as the smallest power of two of at least
 * CONTENT_CHUNK_PAD_MIN bytes that holds it, at most chunk_bytes (len <= chunk_bytes),
 * zeros after the data. The File message's size says where the data ends. */
#define CONTENT_CHUNK_PAD_MIN 1024
size_t content_chunk_padded_len(size_t len, size_t chunk_bytes);

#endif
