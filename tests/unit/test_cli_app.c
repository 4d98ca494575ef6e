/* Unit tests for `momedo app`'s request checks and routing (client/cli/cli_app_req.c)
 * and the loopback helpers under them (protocol/web/loopweb*.c): a Host that is not a
 * loopback name is refused before the token is looked at (DNS rebinding); the token is
 * taken from the header, from the app's own cookie (not another port's), and from ?t=
 * only on a GET, then reported so the server trades it for the cookie; a POST must be
 * same-origin JSON; routes match exactly (prefix routes need a rest), and the other
 * method is told apart from an unknown path. A non-loopback --listen is refused.
 * Attachments' base64 (RFC 4648 test vectors; bad characters, lengths, padding and
 * trailing bits refused; the output bound kept). */
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "cli_app.h"
#include "loopweb.h"
#include "vault.h" /* VAULT_PASS_MAX: momedo_client.h no longer declares the vault */

#define TOK "0123456789abcdef0123456789abcdef"

static enum app_verdict check(struct app_hdrs h, int post, int *fq) {
  return app_req_check(&h, TOK, "momedo_app_9473", post, fq);
}

static void test_host_and_token(void) {
  int fq = 0;
  struct app_hdrs ok = {.host = "127.0.0.1:9473", .token_header = TOK};
  CHECK_EQ(check(ok, 0, &fq), APP_OK);
  CHECK_EQ(fq, 0);
  const char *hosts_ok[] = {"127.0.0.1", "localhost:1", "[::1]:9473", "LOCALHOST:80"};
  for (size_t i = 0; i < sizeof hosts_ok / sizeof hosts_ok[0]; i++) {
    ok.host = hosts_ok[i];
    CHECK_EQ(check(ok, 0, &fq), APP_OK);
  }
  const char *hosts_bad[] = {NULL, "", "evil.example", "evil.example:9473", "127.0.0.1.evil:1",
                             "localhost.evil", "127.0.0.2:9473", "[::1]x", "localhost:",
                             "localhost:123456", "0.0.0.0:9473"};
  for (size_t i = 0; i < sizeof hosts_bad / sizeof hosts_bad[0]; i++) {
    ok.host = hosts_bad[i];
    CHECK_EQ(check(ok, 0, &fq), APP_BAD_HOST);
  }
  struct app_hdrs h = {.host = "127.0.0.1:9473"};
  CHECK_EQ(check(h, 0, &fq), APP_NO_TOKEN);
  h.token_header = TOK "0"; /* longer */
  CHECK_EQ(check(h, 0, &fq), APP_NO_TOKEN);
  h.token_header = "0123456789abcdef0123456789abcdeF";
  CHECK_EQ(check(h, 0, &fq), APP_NO_TOKEN);
  h.token_header = NULL;
  h.cookie = "a=b; momedo_app_9473=" TOK "; c=d";
  CHECK_EQ(check(h, 0, &fq), APP_OK);
  CHECK_EQ(fq, 0);
  h.cookie = "momedo_app_9474=" TOK; /* another app's cookie on this host */
  CHECK_EQ(check(h, 0, &fq), APP_NO_TOKEN);
  h.cookie = "xmomedo_app_9473=" TOK;
  CHECK_EQ(check(h, 0, &fq), APP_NO_TOKEN);
  h.cookie = NULL;
  h.query_token = TOK;
  CHECK_EQ(check(h, 0, &fq), APP_OK);
  CHECK_EQ(fq, 1);
  h.content_type = "application/json";
  CHECK_EQ(check(h, 1, &fq), APP_NO_TOKEN); /* ?t= never authorises a change */
}

static void test_post(void) {
  int fq = 0;
  struct app_hdrs h = {.host = "127.0.0.1:9473", .cookie = "momedo_app_9473=" TOK,
                       .content_type = "application/json; charset=utf-8",
                       .origin = "http://127.0.0.1:9473", .fetch_site = "same-origin"};
  CHECK_EQ(check(h, 1, &fq), APP_OK);
  h.origin = "http://evil.example";
  CHECK_EQ(check(h, 1, &fq), APP_CROSS_ORIGIN);
  h.origin = "http://127.0.0.1:9474";
  CHECK_EQ(check(h, 1, &fq), APP_CROSS_ORIGIN);
  h.origin = NULL;
  h.fetch_site = "cross-site";
  CHECK_EQ(check(h, 1, &fq), APP_CROSS_ORIGIN);
  h.fetch_site = "same-site"; /* another port of 127.0.0.1 is same-site, not same-origin */
  CHECK_EQ(check(h, 1, &fq), APP_CROSS_ORIGIN);
  h.fetch_site = NULL;
  h.content_type = "text/plain";
  CHECK_EQ(check(h, 1, &fq), APP_NOT_JSON);
  h.content_type = NULL;
  CHECK_EQ(check(h, 1, &fq), APP_NOT_JSON);
}

static void test_cookie(void) {
  char v[40];
  CHECK(app_cookie_get("a=1; b=2", "b", v, sizeof v) && strcmp(v, "2") == 0);
  CHECK(app_cookie_get("a=1;b=22", "b", v, sizeof v) && strcmp(v, "22") == 0);
  CHECK(app_cookie_get("ab=1", "b", v, sizeof v) == NULL);
  CHECK(app_cookie_get("b", "b", v, sizeof v) == NULL);
  CHECK(app_cookie_get(NULL, "b", v, sizeof v) == NULL);
  CHECK(app_cookie_get("b=0123456789", "b", v, 5) == NULL); /* too long: not cut */
}

static void test_routes(void) {
  int wrong = 0;
  const struct app_route *r = app_route_find("GET", "/api/conversations", &wrong);
  CHECK(r && r->needs_unlock && !wrong);
  r = app_route_find("HEAD", "/api/state", &wrong);
  CHECK(r && !r->needs_unlock);
  CHECK(app_route_find("POST", "/api/unlock", &wrong) != NULL);
  CHECK(app_route_find("GET", "/api/unlock", &wrong) == NULL);
  CHECK_EQ(wrong, 1);
  CHECK(app_route_find("GET", "/api/send", &wrong) == NULL);
  CHECK_EQ(wrong, 1);
  CHECK(app_route_find("GET", "/api/conversations/x", &wrong) == NULL);
  CHECK_EQ(wrong, 0);
  CHECK(app_route_find("GET", "/index.html", &wrong) == NULL);
  CHECK_EQ(wrong, 0);
  for (size_t i = 0; i < app_routes_n; i++) /* every change needs a POST */
    CHECK(strcmp(app_routes[i].method, "POST") == 0 || strcmp(app_routes[i].method, "GET") == 0);
}

/* The account pages' routes, the rules of a passphrase chosen in the page, and which
 * pasted codes are meant as link codes (cli_app_manage.c, cli_app_link.c). */
static void test_manage(void) {
  int wrong = 0;
  const struct app_route *r = app_route_find("POST", "/api/setup", &wrong);
  CHECK(r && !r->needs_unlock); /* the first run has nothing to unlock */
  CHECK(app_route_find("GET", "/api/setup", &wrong) == NULL);
  CHECK_EQ(wrong, 1);
  r = app_route_find("POST", "/api/group", &wrong);
  CHECK(r && r->needs_unlock && strcmp(r->method, "POST") == 0);
  r = app_route_find("GET", "/api/group", &wrong);
  CHECK(r && r->needs_unlock && strcmp(r->method, "GET") == 0);
  static const char *const locked[] = {"/api/group-add", "/api/verify", "/api/device-remove"};
  for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++) {
    r = app_route_find("POST", locked[i], &wrong);
    CHECK(r && r->needs_unlock);
    CHECK(app_route_find("GET", locked[i], &wrong) == NULL && wrong == 1);
  }
  CHECK((r = app_route_find("GET", "/api/devices", &wrong)) != NULL && r->needs_unlock);
  CHECK((r = app_route_find("GET", "/api/contact", &wrong)) != NULL && r->needs_unlock);
  CHECK(app_pass_weak(NULL, NULL) != NULL);
  CHECK(strstr(app_pass_weak("1234567", "1234567"), "too short") != NULL);
  CHECK(strstr(app_pass_weak("12345678", "12345679"), "differ") != NULL);
  CHECK(strstr(app_pass_weak("12345678", NULL), "differ") != NULL);
  CHECK(app_pass_weak("12345678", "12345678") == NULL);
  char big[VAULT_PASS_MAX + 2];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  CHECK(strstr(app_pass_weak(big, big), "longer") != NULL);
  CHECK(app_is_link_code("momedo-link2:0000"));    /* damaged, but meant as one */
  CHECK(app_is_link_code("momedo-link1:0000"));    /* another version */
  CHECK(!app_is_link_code("momedo2:0000"));        /* an invite */
  CHECK(!app_is_link_code("hello"));
}

static void test_listen_and_token(void) {
  char host[LOOPWEB_HOST_MAX], why[512] = "", t1[APP_TOKEN_HEX + 1], t2[APP_TOKEN_HEX + 1];
  int fd = -1;
  unsigned port = 0;
  CHECK_EQ(loopweb_listen("0.0.0.0:0", "x", host, sizeof host, &fd, &port, why, sizeof why),
           MOMEDO_E_DENIED);
  CHECK(strstr(why, "loopback only") != NULL);
  CHECK_EQ(loopweb_listen("127.0.0.1", "x", host, sizeof host, &fd, &port, why, sizeof why),
           MOMEDO_E_INVAL);
  CHECK_EQ(loopweb_listen("127.0.0.1:99999", "x", host, sizeof host, &fd, &port, why,
                          sizeof why), MOMEDO_E_INVAL);
  CHECK_EQ(loopweb_listen("127.0.0.1:0", "x", host, sizeof host, &fd, &port, why, sizeof why), 0);
  CHECK(fd >= 0 && port > 0);
  CHECK_EQ(strcmp(host, "127.0.0.1"), 0);
  if (fd >= 0) close(fd);
  CHECK_EQ(loopweb_token_make(t1, APP_TOKEN_BYTES), 0);
  CHECK_EQ(loopweb_token_make(t2, APP_TOKEN_BYTES), 0);
  CHECK_EQ(strlen(t1), APP_TOKEN_HEX);
  CHECK(strcmp(t1, t2) != 0);
  CHECK_EQ(loopweb_token_make(t1, LOOPWEB_TOKEN_BYTES_MAX + 1), MOMEDO_E_INVAL);
}

static void test_base64(void) {
  static const char *const vec[][2] = {{"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"},
                                       {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
                                       {"Zm9vYmFy", "foobar"}}; /* RFC 4648 section 10 */
  uint8_t out[16];
  size_t n = 0;
  for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
    CHECK_EQ(app_b64_decode(vec[i][0], strlen(vec[i][0]), out, sizeof out, &n), 0);
    CHECK_EQ(n, strlen(vec[i][1]));
    CHECK_MEM(out, vec[i][1], n);
  }
  CHECK_EQ(app_b64_decode("/+8=", 4, out, sizeof out, &n), 0);
  CHECK(n == 2 && out[0] == 0xff && out[1] == 0xef);
  const char *bad[] = {"Zg=", "Zg", "Z===", "====", "Zg=a", "Zh==", "Zm9=", "Zm9v\n", "Zm 9",
                       "Zm-_", "Zg==Zg=="};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_EQ(app_b64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n), MOMEDO_E_INVAL);
  CHECK_EQ(app_b64_decode("Zm9vYmFy", 8, out, 5, &n), MOMEDO_E_TOOBIG);
  CHECK_EQ(app_b64_decode("Zm9vYmFy", 8, out, 6, &n), 0);
}

/* Passphrase channels (cli_app_channel.c): the join derives outside the app's lock and
 * refuses out-of-bounds names, passphrases and display names before deriving anything. */
static void test_channel(void) {
  int wrong = 0;
  char big[CHANNEL_PASS_BYTES_MAX + 2];
  const struct app_route *r = app_route_find("POST", "/api/channel-join", &wrong);
  CHECK(r && r->needs_unlock == APP_ROUTE_OWN_LOCK);
  r = app_route_find("POST", "/api/channel-leave", &wrong);
  CHECK(r && r->needs_unlock == 1);
  r = app_route_find("GET", "/api/channel", &wrong);
  CHECK(r && r->needs_unlock == 1);
  CHECK(app_route_find("GET", "/api/channel-join", &wrong) == NULL && wrong == 1);
  r = app_route_find("POST", "/api/send", &wrong); /* the others run under the lock */
  CHECK(r && r->needs_unlock == 1);
  CHECK(app_channel_args_bad("Krisenstab", "orbit velvet", NULL) == NULL);
  CHECK(app_channel_args_bad("Krisenstab", "x", "Ann") == NULL);
  CHECK(app_channel_args_bad("", "orbit velvet", NULL) != NULL);
  CHECK(app_channel_args_bad(NULL, "orbit velvet", NULL) != NULL);
  CHECK(app_channel_args_bad("Krisen\nstab", "orbit velvet", NULL) != NULL);
  CHECK(app_channel_args_bad("Krisenstab", "", NULL) != NULL);
  CHECK(app_channel_args_bad("Krisenstab", NULL, NULL) != NULL);
  CHECK(app_channel_args_bad("Krisenstab", "orbit velvet", "") != NULL);
  CHECK(app_channel_args_bad("Krisenstab", "orbit velvet", "A\x7f") != NULL);
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;                 /* 1025 bytes */
  CHECK(strstr(app_channel_args_bad("Krisenstab", big, NULL), "passphrase") != NULL);
  big[CHANNEL_PASS_BYTES_MAX] = 0;         /* 1024: the limit */
  CHECK(app_channel_args_bad("Krisenstab", big, NULL) == NULL);
  big[CHANNEL_NAME_BYTES_MAX + 1] = 0;     /* 129 */
  CHECK(strstr(app_channel_args_bad(big, "p", NULL), "name") != NULL);
  big[CHANNEL_NAME_BYTES_MAX] = 0;
  CHECK(app_channel_args_bad(big, "p", NULL) == NULL);
  big[CHANNEL_DISPLAY_NAME_BYTES_MAX + 1] = 0;
  CHECK(app_channel_args_bad("c", "p", big) != NULL);
  big[CHANNEL_DISPLAY_NAME_BYTES_MAX] = 0;
  CHECK(app_channel_args_bad("c", "p", big) == NULL);
}

int main(void) {
  RUN(test_host_and_token);
  RUN(test_post);
  RUN(test_cookie);
  RUN(test_routes);
  RUN(test_manage);
  RUN(test_listen_and_token);
  RUN(test_base64);
  RUN(test_channel);
  TEST_MAIN_END();
}
