/* tests/unit/test_inproc_admin.c — the admin socket of a node in this process
 * (tests/inproc/node_harness.h): a frame header no admin request can have (length 0, or
 * more than NODE_ADMIN_FRAME_BYTES_MAX) is answered with its status and a reason, then
 * closed — before, the node closed without a word or a log line and momedo-admin could only
 * say the connection closed (found by fuzz_admin_proto); a whole request is answered with
 * its request_id; part of a frame is not answered and leaves nothing behind. */
#include "cursor.h"
#include "frame.h"
#include "harness.h"
#include "node_harness.h"

static void answer_of(const uint8_t *ans, size_t len, struct arena *a,
                      Momedo__AdminResponse **out) {
  Momedo__Frame *f = NULL;
  *out = NULL;
  CHECK(len > FRAME_HEADER_LEN);
  CHECK_EQ(be32_get(ans), len - FRAME_HEADER_LEN);
  CHECK_EQ(frame_unpack(ans + FRAME_HEADER_LEN, len - FRAME_HEADER_LEN, a, &f), 0);
  CHECK_EQ(f->body_case, MOMEDO__FRAME__BODY_ADMIN_RESPONSE);
  *out = f->admin_response;
}

static void refused(struct node *n, const uint8_t *p, size_t len, int status, const char *says) {
  struct arena a;
  uint8_t *ans;
  size_t alen;
  Momedo__AdminResponse *rs;
  arena_init(&a, 1u << 20);
  fnode_admin_call(n, p, len, 1, &ans, &alen);
  answer_of(ans, alen, &a, &rs);
  if (rs) {
    CHECK_EQ(rs->status, status);
    CHECK_EQ(rs->request_id, 0);
    CHECK(rs->reason && strstr(rs->reason, says));
  }
  free(ans);
  arena_close(&a);
  CHECK(rs != NULL);
}

static void test_bad_headers_answered(void) {
  struct node *n = fnode_get("admin-test", NULL, NULL);
  uint8_t hdr[FRAME_HEADER_LEN + 8] = {0};
  CHECK_CALL(refused(n, hdr, sizeof hdr, MOMEDO_E_PROTO, "admin request"));
  be32_put(hdr, NODE_ADMIN_FRAME_BYTES_MAX + 1);
  CHECK_CALL(refused(n, hdr, sizeof hdr, MOMEDO_E_TOOBIG, "at most"));
  be32_put(hdr, 0xffffffffu);
  CHECK_CALL(refused(n, hdr, FRAME_HEADER_LEN, MOMEDO_E_TOOBIG, "at most"));
}

static void test_request_answered_part_not(void) {
  struct node *n = fnode_get("admin-test", NULL, NULL);
  Momedo__Frame f = MOMEDO__FRAME__INIT;
  Momedo__AdminRequest rq = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__NeighborListReq nl = MOMEDO__NEIGHBOR_LIST_REQ__INIT;
  Momedo__AdminResponse *rs;
  struct arena a;
  uint8_t *buf, *ans;
  size_t len, alen;
  rq.request_id = 42;
  rq.body_case = MOMEDO__ADMIN_REQUEST__BODY_NEIGHBOR_LIST;
  rq.neighbor_list = &nl;
  f.body_case = MOMEDO__FRAME__BODY_ADMIN_REQUEST;
  f.admin_request = &rq;
  CHECK_EQ(frame_encode(&f, FRAME_BYTES_MAX_DEFAULT, &buf, &len), 0);
  arena_init(&a, 1u << 20);
  fnode_admin_call(n, buf, len, 1, &ans, &alen);
  answer_of(ans, alen, &a, &rs);
  int ok = rs && rs->status == 0 && rs->request_id == 42 &&
           rs->body_case == MOMEDO__ADMIN_RESPONSE__BODY_NEIGHBORS;
  free(ans);
  fnode_admin_call(n, buf, len - 1, 0, &ans, &alen); /* the tool went away mid-frame */
  CHECK_EQ(alen, 0);
  free(ans);
  free(buf);
  arena_close(&a);
  CHECK(ok);
}

int main(void) {
  RUN(test_bad_headers_answered);
  RUN(test_request_answered_part_not);
  fnode_close();
  TEST_MAIN_END();
}
