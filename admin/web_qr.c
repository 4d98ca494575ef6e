/* admin/web_qr.c — QR codes for the console as SVG: libqrencode makes the symbol (byte
 * mode, level M, L when M does not fit), this file draws it as one path of horizontal
 * runs with a 4-module quiet zone, so a phone scans it from the screen or from paper.
 * No I/O; test_admin_web decodes what it draws with zbarimg. */
#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define WEB_QR_QUIET 4 /* modules of light border, as ISO/IEC 18004 asks */
#define WEB_QR_TEXT_MAX 1024

struct svg_buf {
  char *p;
  size_t len, cap;
  int failed;
};

static void svg_put(struct svg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void svg_put(struct svg_buf *b, const char *fmt, ...) {
  va_list ap;
  if (b->failed) return;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= b->cap - b->len) {
    b->failed = 1;
    return;
  }
  b->len += (size_t)n;
}

static QRcode *qr_make(const char *text) {
  QRcode *c = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
  if (!c && errno == ERANGE) c = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
  return c;
}

int web_qr_svg(const char *text, char **svg, size_t *len) {
  *svg = NULL;
  *len = 0;
  if (!text || !*text || strlen(text) > WEB_QR_TEXT_MAX) return MOMEDO_E_INVAL;
  errno = 0;
  QRcode *c = qr_make(text);
  if (!c) return errno == ENOMEM ? MOMEDO_E_NOMEM : MOMEDO_E_TOOBIG;
  struct svg_buf b = {.p = malloc(WEB_QR_SVG_BYTES_MAX), .cap = WEB_QR_SVG_BYTES_MAX};
  if (!b.p) {
    QRcode_free(c);
    return MOMEDO_E_NOMEM;
  }
  int w = c->width, side = w + 2 * WEB_QR_QUIET;
  svg_put(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
              "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
              "<path fill=\"#000\" d=\"", side, side, side, side);
  for (int y = 0; y < w; y++) {
    for (int x = 0; x < w;) {
      if (!(c->data[y * w + x] & 1u)) {
        x++;
        continue;
      }
      int run = 1;
      while (x + run < w && (c->data[y * w + x + run] & 1u)) run++;
      svg_put(&b, "M%d %dh%dv1h-%dz", x + WEB_QR_QUIET, y + WEB_QR_QUIET, run, run);
      x += run;
    }
  }
  svg_put(&b, "\"/></svg>\n");
  QRcode_free(c);
  if (b.failed) {
    free(b.p);
    return MOMEDO_E_TOOBIG;
  }
  *svg = b.p;
  *len = b.len;
  return 0;
}
