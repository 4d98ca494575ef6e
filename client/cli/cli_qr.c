/* client/cli/cli_qr.c — QR codes through libqrencode (byte mode, error correction level M,
 * or L when M does not fit, versions 1..QR_VERSION_MAX), drawn in a terminal with
 * half-block characters. Enough for a momedo QR payload (89 bytes: version 6-M) and
 * device link codes; test_client_qr_scan decodes what `momedo` draws with zbarimg. */
#include <errno.h>
#include <limits.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define QR_QUIET_MODULES 2 /* light border drawn around the symbol */

/* The symbol libqrencode made, into q; E_TOOBIG beyond QR_VERSION_MAX. */
static int qr_take(struct cli_qr *q, const QRcode *c, int ecl_m) {
  if (c->version < 1 || c->version > QR_VERSION_MAX || c->width != 17 + 4 * c->version)
    return MOMEDO_E_TOOBIG;
  memset(q, 0, sizeof *q);
  q->version = c->version;
  q->size = c->width;
  q->ecl_m = ecl_m;
  for (int y = 0; y < c->width; y++)
    for (int x = 0; x < c->width; x++) q->dark[y][x] = c->data[y * c->width + x] & 1u;
  return 0;
}

int cli_qr_encode(struct cli_qr *q, const uint8_t *data, size_t len) {
  if (!q || !data || len == 0 || len > INT_MAX) return MOMEDO_E_INVAL;
  for (int ecl_m = 1; ecl_m >= 0; ecl_m--) {
    errno = 0;
    QRcode *c = QRcode_encodeData((int)len, data, 0, ecl_m ? QR_ECLEVEL_M : QR_ECLEVEL_L);
    if (!c) {
      if (errno == ERANGE) continue; /* beyond version 40 */
      return errno == ENOMEM ? MOMEDO_E_NOMEM : MOMEDO_E_INTERNAL;
    }
    int rc = qr_take(q, c, ecl_m);
    QRcode_free(c);
    if (rc != MOMEDO_E_TOOBIG) return rc;
  }
  return MOMEDO_E_TOOBIG;
}

int cli_qr_print(FILE *f, const char *text) {
  struct cli_qr *q = malloc(sizeof *q);
  if (!q) return MOMEDO_E_NOMEM;
  int rc = cli_qr_encode(q, (const uint8_t *)text, strlen(text));
  const int quiet = QR_QUIET_MODULES;
  for (int y = -quiet; rc == 0 && y < q->size + quiet; y += 2) {
    for (int x = -quiet; x < q->size + quiet; x++) {
      int in1 = x >= 0 && y >= 0 && x < q->size && y < q->size;
      int in2 = x >= 0 && y + 1 >= 0 && x < q->size && y + 1 < q->size;
      int top = !(in1 && q->dark[y][x]), bot = !(in2 && q->dark[y + 1][x]);
      fputs(top && bot ? "\u2588" : top ? "\u2580" : bot ? "\u2584" : " ", f);
    }
    fputc('\n', f);
  }
  free(q);
  return rc;
}
