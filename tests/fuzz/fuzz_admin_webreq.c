/* fuzz_admin_webreq — the web console's request checks (admin/web_req.c): the first
 * byte picks the body kind, the rest is the POST body for web_req_parse; the same
 * bytes also go through loopweb_host_ok and loopweb_lang_pick as header values. Oracle: an
 * accepted request has every string NUL-terminated within its field, without control
 * characters, and numbers in the field's range; a refusal always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loopweb.h"
#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  if (n >= cap) abort();
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 2 * WEB_BODY_BYTES_MAX) return 0;
  enum web_req_kind kind = (enum web_req_kind)(data[0] % WEB_REQ_KINDS);
  struct web_req r;
  char why[REASON_MAX] = "";
  int rc = web_req_parse(kind, (const char *)data + 1, size - 1, &r, why, sizeof why);
  if (rc == 0) {
    check_str(r.name, sizeof r.name);
    check_str(r.address, sizeof r.address);
    check_str(r.fingerprint, sizeof r.fingerprint);
    check_str(r.id, sizeof r.id);
    check_str(r.device, sizeof r.device);
    if (kind == WEB_REQ_INVITE &&
        (r.uses < 1 || r.uses > WEB_INVITE_USES_MAX || r.expires_s < WEB_INVITE_EXPIRES_S_MIN ||
         r.expires_s > WEB_INVITE_EXPIRES_S_MAX))
      abort();
    if (kind == WEB_REQ_NEIGHBOR_ADD && (!r.name[0] || !r.address[0] || !r.fingerprint[0]))
      abort();
  } else if (rc != MOMEDO_E_INVAL || !why[0]) {
    abort();
  }
  char *s = malloc(size);
  if (!s) return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = 0;
  (void)loopweb_host_ok(s);
  const char *l = loopweb_lang_pick(s);
  if (strcmp(l, "de") != 0 && strcmp(l, "en") != 0) abort();
  char tok[WEB_TOKEN_HEX + 1];
  memset(tok, 'a', WEB_TOKEN_HEX);
  tok[WEB_TOKEN_HEX] = 0;
  if (loopweb_token_eq(s, strlen(s), tok) != (strcmp(s, tok) == 0)) abort();
  free(s);
  return 0;
}
