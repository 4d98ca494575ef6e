/* The validation hook in repl_config: the engine calls it instead of obj_validate
 * and honours its verdict (the simulator's memoising validator relies on both). */
#include "harness.h"
#include "test_repl_net.h"

struct hook_ctx {
  int calls;
  int refuse;
};

static int hook_validate(void *ctx, Momedo__ObjectKind kind, const uint8_t *data, size_t len,
                         uint64_t now_ms, struct obj_info *info) {
  struct hook_ctx *h = ctx;
  h->calls++;
  if (h->refuse) return MOMEDO_E_BADSIG;
  return obj_validate(kind, data, len, now_ms, info);
}

static void test_hook_used_and_obeyed(void) {
  struct hook_ctx h = {0, 0};
  struct repl_config cfg;
  repl_config_default(&cfg);
  cfg.validate = hook_validate;
  cfg.validate_ctx = &h;
  struct tn t;
  tn_init(&t, 2, &cfg);
  tn_connect(&t, 0, 1);
  struct crypto_sign_keypair node;
  tn_keypair(&node, 7);
  uint8_t mbox[OBJ_MAILBOX_LEN] = {1};
  size_t len;
  uint8_t *item = tn_item(&node, mbox, t.now, t.now + 60000, 1, 32, &len);
  struct obj_info info;
  CHECK_EQ(repl_insert_local(t.n[0].r, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, item, len, t.now,
                             &info), 0);
  CHECK_EQ(h.calls, 1);
  tn_run_until(&t, t.now + 5000);
  CHECK(repl_has(t.n[1].r, info.id)); /* pushed and accepted through the hook */
  CHECK_EQ(h.calls, 2);

  h.refuse = 1;
  size_t len2;
  uint8_t *item2 = tn_item(&node, mbox, t.now, t.now + 60000, 2, 32, &len2);
  CHECK_EQ(repl_insert_local(t.n[0].r, MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, item2, len2, t.now,
                             &info), MOMEDO_E_BADSIG);
  uint8_t id2[OBJ_ID_LEN];
  tn_id(MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM, item2, len2, id2);
  CHECK(!repl_has(t.n[0].r, id2));
  free(item);
  free(item2);
  tn_free(&t);
}

int main(void) {
  RUN(test_hook_used_and_obeyed);
  TEST_MAIN_END();
}
