/* fuzz_obj — object validation over arbitrary bytes. Input: [kind byte][object bytes],
 * validated at a fixed now_ms (the seeds are valid at that time). An accepted object
 * must have a stable ID equal to obj_id, validate again identically, and unpack;
 * obj_check agrees with obj_validate, and with obj_id when its dedup question says
 * "known" (E_EXISTS exactly when obj_id succeeds, with the same ID). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "obj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_MS 1700000000000ull

static int seen_all(void *ctx, const uint8_t id[static OBJ_ID_LEN]) {
  (void)ctx, (void)id;
  return 1;
}

static void check_agrees(Momedo__ObjectKind kind, const uint8_t *data, size_t size, int rc,
                         const struct obj_info *info, int rc_id, const uint8_t *id) {
  struct obj_checked ck;
  int rc_ck = obj_check(kind, data, size, FUZZ_NOW_MS, NULL, NULL, &ck);
  if (rc_ck != rc || (rc == 0 && memcmp(&ck.info, info, sizeof *info) != 0)) abort();
  rc_ck = obj_check(kind, data, size, FUZZ_NOW_MS, seen_all, NULL, &ck);
  if (rc_id == 0 && (rc_ck != MOMEDO_E_EXISTS || memcmp(ck.info.id, id, OBJ_ID_LEN) != 0))
    abort();
  if (rc_id != 0 && rc_ck != rc_id) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  Momedo__ObjectKind kind = (Momedo__ObjectKind)(data[0] % 8); /* includes 0 and 7 */
  struct obj_info info, again;
  int rc = obj_validate(kind, data + 1, size - 1, FUZZ_NOW_MS, &info);
  uint8_t id[OBJ_ID_LEN];
  int rc_id = obj_id(kind, data + 1, size - 1, id);
  check_agrees(kind, data + 1, size - 1, rc, &info, rc_id, id);
  if (rc == 0) {
    if (rc_id != 0 || memcmp(id, info.id, OBJ_ID_LEN) != 0) abort();
    if (info.kind != kind) abort();
    if (obj_validate(kind, data + 1, size - 1, FUZZ_NOW_MS, &again) != 0) abort();
    if (memcmp(info.id, again.id, OBJ_ID_LEN) != 0 || info.created_ms != again.created_ms ||
        info.expires_ms != again.expires_ms || memcmp(info.key, again.key, OBJ_KEY_LEN) != 0)
      abort();
    if (info.expires_ms != 0 && info.expires_ms <= FUZZ_NOW_MS) abort();
    if (info.created_ms > FUZZ_NOW_MS + OBJ_CLOCK_SKEW_MS_MAX) abort();
    struct arena a;
    arena_init(&a, OBJ_DECODE_BYTES_MAX);
    ProtobufCMessage *m = NULL;
    if (obj_unpack(kind, data + 1, size - 1, &a, &m) != 0) abort();
    arena_close(&a);
  } else if (rc > 0 || rc == MOMEDO_E_INTERNAL || rc == MOMEDO_E_INVAL) {
    abort();
  }
  return 0;
}
