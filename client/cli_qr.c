/* client/cli_qr.c — a small QR code encoder (ISO/IEC 18004): byte mode, error
 * correction level M (L when M does not fit), versions 1..10, all eight masks scored
 * with the standard penalty rules; and drawing it in a terminal with half-block
 * characters. Enough for a momedo QR payload (89 bytes: version 6-M) and link codes. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct qr_ver {
  uint16_t total;          /* codewords */
  uint8_t ec[2];           /* EC codewords per block: [L, M] */
  uint8_t b1[2], d1[2];    /* group 1: blocks, data codewords per block */
  uint8_t b2[2], d2[2];    /* group 2 */
  uint8_t align[3];        /* alignment pattern centres (0 = none) */
};

/* Index 0 unused; values from ISO/IEC 18004 tables 9 and E.1. */
static const struct qr_ver qr_vers[QR_VERSION_MAX + 1] = {
    {0},
    {26, {7, 10}, {1, 1}, {19, 16}, {0, 0}, {0, 0}, {0}},
    {44, {10, 16}, {1, 1}, {34, 28}, {0, 0}, {0, 0}, {6, 18}},
    {70, {15, 26}, {1, 2}, {55, 22}, {0, 0}, {0, 0}, {6, 22}},
    {100, {20, 18}, {1, 2}, {80, 32}, {0, 0}, {0, 0}, {6, 26}},
    {134, {26, 24}, {1, 2}, {108, 43}, {0, 0}, {0, 0}, {6, 30}},
    {172, {18, 16}, {2, 4}, {68, 27}, {0, 0}, {0, 0}, {6, 34}},
    {196, {20, 18}, {2, 4}, {78, 31}, {0, 0}, {0, 0}, {6, 22, 38}},
    {242, {24, 22}, {2, 2}, {97, 38}, {0, 2}, {0, 39}, {6, 24, 42}},
    {292, {30, 22}, {2, 3}, {116, 36}, {0, 2}, {0, 37}, {6, 26, 46}},
    {346, {18, 26}, {2, 4}, {68, 43}, {2, 1}, {69, 44}, {6, 28, 50}},
};

/* ---- Reed-Solomon over GF(256), polynomial 0x11D --------------------------------- */

static uint8_t gf_mul(uint8_t x, uint8_t y) {
  unsigned z = 0;
  for (int i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >> 7) * 0x11D);
    z ^= ((y >> i) & 1u) * x;
  }
  return (uint8_t)z;
}

void cli__qr_rs(const uint8_t *data, size_t n, uint8_t *ec, size_t degree) {
  uint8_t gen[QR_EC_MAX];
  memset(gen, 0, sizeof gen);
  gen[degree - 1] = 1;
  uint8_t root = 1;
  for (size_t i = 0; i < degree; i++) {
    for (size_t j = 0; j < degree; j++) {
      gen[j] = gf_mul(gen[j], root);
      if (j + 1 < degree) gen[j] ^= gen[j + 1];
    }
    root = gf_mul(root, 0x02);
  }
  memset(ec, 0, degree);
  for (size_t i = 0; i < n; i++) {
    uint8_t factor = data[i] ^ ec[0];
    memmove(ec, ec + 1, degree - 1);
    ec[degree - 1] = 0;
    for (size_t j = 0; j < degree; j++) ec[j] ^= gf_mul(gen[j], factor);
  }
}

unsigned cli__qr_format_bits(int ecl_m, int mask) {
  unsigned data = (unsigned)((ecl_m ? 0 : 1) << 3 | mask), rem = data;
  for (int i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
  return ((data << 10) | rem) ^ 0x5412;
}

unsigned long cli__qr_version_bits(int version) {
  unsigned long rem = (unsigned long)version;
  for (int i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
  return (unsigned long)version << 12 | rem;
}

/* ---- the symbol -------------------------------------------------------------------- */

struct qr_work {
  struct cli_qr q;
  uint8_t fn[QR_SIZE_MAX][QR_SIZE_MAX];  /* 1 = function module (not data) */
};

static void set_fn(struct qr_work *w, int x, int y, int dark) {
  w->q.dark[y][x] = (uint8_t)(dark != 0);
  w->fn[y][x] = 1;
}

static void draw_format(struct qr_work *w, int mask) {
  unsigned b = cli__qr_format_bits(w->q.ecl_m, mask);
  int s = w->q.size;
#define BIT(i) ((int)((b >> (i)) & 1u))
  for (int i = 0; i <= 5; i++) set_fn(w, 8, i, BIT(i));
  set_fn(w, 8, 7, BIT(6));
  set_fn(w, 8, 8, BIT(7));
  set_fn(w, 7, 8, BIT(8));
  for (int i = 9; i < 15; i++) set_fn(w, 14 - i, 8, BIT(i));
  for (int i = 0; i < 8; i++) set_fn(w, s - 1 - i, 8, BIT(i));
  for (int i = 8; i < 15; i++) set_fn(w, 8, s - 15 + i, BIT(i));
#undef BIT
  set_fn(w, 8, s - 8, 1); /* the dark module */
}

static void draw_finder(struct qr_work *w, int cx, int cy) {
  for (int dy = -4; dy <= 4; dy++)
    for (int dx = -4; dx <= 4; dx++) {
      int x = cx + dx, y = cy + dy, d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
      if (x >= 0 && y >= 0 && x < w->q.size && y < w->q.size) set_fn(w, x, y, d != 2 && d != 4);
    }
}

static void draw_functions(struct qr_work *w) {
  const struct qr_ver *v = &qr_vers[w->q.version];
  int s = w->q.size, n = 0;
  for (int i = 0; i < s; i++) {
    set_fn(w, 6, i, i % 2 == 0);
    set_fn(w, i, 6, i % 2 == 0);
  }
  draw_finder(w, 3, 3);
  draw_finder(w, s - 4, 3);
  draw_finder(w, 3, s - 4);
  int pos[4];
  for (int i = 0; i < 3 && v->align[i]; i++) pos[n++] = v->align[i];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      if ((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0)) continue;
      for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++)
          set_fn(w, pos[i] + dx, pos[j] + dy, (abs(dx) > abs(dy) ? abs(dx) : abs(dy)) != 1);
    }
  draw_format(w, 0); /* reserves the area; redrawn with the chosen mask */
  if (w->q.version >= 7) {
    unsigned long b = cli__qr_version_bits(w->q.version);
    for (int i = 0; i < 18; i++) {
      int bit = (int)((b >> i) & 1u), a = s - 11 + i % 3, c = i / 3;
      set_fn(w, a, c, bit);
      set_fn(w, c, a, bit);
    }
  }
}

static void place_data(struct qr_work *w, const uint8_t *cw, size_t n) {
  int s = w->q.size;
  size_t i = 0;
  for (int right = s - 1; right >= 1; right -= 2) {
    if (right == 6) right = 5;
    for (int vert = 0; vert < s; vert++)
      for (int j = 0; j < 2; j++) {
        int x = right - j, up = ((right + 1) & 2) == 0, y = up ? s - 1 - vert : vert;
        if (w->fn[y][x] || i >= n * 8) continue;
        w->q.dark[y][x] = (uint8_t)((cw[i >> 3] >> (7 - (i & 7))) & 1);
        i++;
      }
  }
}

static int mask_bit(int mask, int x, int y) {
  switch (mask) {
    case 0: return (x + y) % 2 == 0;
    case 1: return y % 2 == 0;
    case 2: return x % 3 == 0;
    case 3: return (x + y) % 3 == 0;
    case 4: return (x / 3 + y / 2) % 2 == 0;
    case 5: return x * y % 2 + x * y % 3 == 0;
    case 6: return (x * y % 2 + x * y % 3) % 2 == 0;
    default: return ((x + y) % 2 + x * y % 3) % 2 == 0;
  }
}

static void apply_mask(struct qr_work *w, int mask) {
  for (int y = 0; y < w->q.size; y++)
    for (int x = 0; x < w->q.size; x++)
      if (!w->fn[y][x] && mask_bit(mask, x, y)) w->q.dark[y][x] ^= 1;
}

/* ---- penalty (ISO/IEC 18004 7.8.3) ------------------------------------------------- */

static int at(const struct cli_qr *q, int x, int y, int transpose) {
  return transpose ? q->dark[x][y] : q->dark[y][x];
}

static long penalty_lines(const struct cli_qr *q, int transpose) {
  static const uint8_t f1[11] = {1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0};
  static const uint8_t f2[11] = {0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1};
  long p = 0;
  int s = q->size;
  for (int y = 0; y < s; y++) {
    int run = 1;
    for (int x = 1; x <= s; x++) {
      if (x < s && at(q, x, y, transpose) == at(q, x - 1, y, transpose)) {
        run++;
        continue;
      }
      if (run >= 5) p += 3 + (run - 5);
      run = 1;
    }
    for (int x = 0; x + 11 <= s; x++) {
      int m1 = 1, m2 = 1;
      for (int k = 0; k < 11; k++) {
        m1 &= at(q, x + k, y, transpose) == f1[k];
        m2 &= at(q, x + k, y, transpose) == f2[k];
      }
      p += 40 * (m1 + m2);
    }
  }
  return p;
}

static long penalty(const struct cli_qr *q) {
  int s = q->size;
  long p = penalty_lines(q, 0) + penalty_lines(q, 1), dark = 0;
  for (int y = 0; y < s; y++)
    for (int x = 0; x < s; x++) {
      dark += q->dark[y][x];
      if (x + 1 < s && y + 1 < s && q->dark[y][x] == q->dark[y][x + 1] &&
          q->dark[y][x] == q->dark[y + 1][x] && q->dark[y][x] == q->dark[y + 1][x + 1])
        p += 3;
    }
  long total = (long)s * s, k = (labs(dark * 20 - total * 10) + total - 1) / total - 1;
  return p + 10 * k;
}

/* ---- encoding ---------------------------------------------------------------------- */

static size_t data_codewords(const struct qr_ver *v, int m) {
  return (size_t)v->b1[m] * v->d1[m] + (size_t)v->b2[m] * v->d2[m];
}

static void put_bits(uint8_t *buf, size_t *bit, unsigned long v, int n) {
  for (int i = n - 1; i >= 0; i--, (*bit)++)
    if ((v >> i) & 1u) buf[*bit >> 3] |= (uint8_t)(0x80 >> (*bit & 7));
}

/* Data codewords with mode, count, terminator and padding; then RS and interleaving. */
static void build_codewords(const struct cli_qr *q, const uint8_t *data, size_t len, uint8_t *out) {
  const struct qr_ver *v = &qr_vers[q->version];
  int m = q->ecl_m;
  size_t nd = data_codewords(v, m), bit = 0;
  uint8_t d[400], ec[5][QR_EC_MAX];
  memset(d, 0, sizeof d);
  put_bits(d, &bit, 4, 4);
  put_bits(d, &bit, len, q->version < 10 ? 8 : 16);
  for (size_t i = 0; i < len; i++) put_bits(d, &bit, data[i], 8);
  size_t term = nd * 8 - bit < 4 ? nd * 8 - bit : 4;
  bit += term;
  bit = (bit + 7) & ~(size_t)7;
  for (uint8_t pad = 0xEC; bit < nd * 8; pad ^= 0xEC ^ 0x11) put_bits(d, &bit, pad, 8);
  int nb = v->b1[m] + v->b2[m];
  size_t off[5], dl[5], o = 0, k = 0;
  for (int b = 0; b < nb; b++) {
    dl[b] = b < v->b1[m] ? v->d1[m] : v->d2[m];
    off[b] = o;
    cli__qr_rs(d + o, dl[b], ec[b], v->ec[m]);
    o += dl[b];
  }
  size_t maxd = v->d2[m] > v->d1[m] ? v->d2[m] : v->d1[m];
  for (size_t i = 0; i < maxd; i++)
    for (int b = 0; b < nb; b++)
      if (i < dl[b]) out[k++] = d[off[b] + i];
  for (size_t i = 0; i < v->ec[m]; i++)
    for (int b = 0; b < nb; b++) out[k++] = ec[b][i];
}

int cli_qr_encode(struct cli_qr *q, const uint8_t *data, size_t len) {
  struct qr_work *w = calloc(1, sizeof *w), *best = calloc(1, sizeof *best);
  uint8_t cw[400];
  int rc = w && best ? MOMEDO_E_TOOBIG : MOMEDO_E_NOMEM;
  for (int m = 1; rc == MOMEDO_E_TOOBIG && m >= 0; m--)
    for (int ver = 1; ver <= QR_VERSION_MAX; ver++) {
      size_t cap = data_codewords(&qr_vers[ver], m) * 8;
      if (4 + (ver < 10 ? 8 : 16) + 8 * len > cap) continue;
      w->q.version = ver;
      w->q.size = 17 + 4 * ver;
      w->q.ecl_m = m;
      rc = 0;
      break;
    }
  if (rc == 0) {
    draw_functions(w);
    build_codewords(&w->q, data, len, cw);
    place_data(w, cw, qr_vers[w->q.version].total);
    long best_p = -1;
    for (int mask = 0; mask < 8; mask++) {
      struct qr_work t = *w;
      apply_mask(&t, mask);
      draw_format(&t, mask);
      t.q.mask = mask;
      long p = penalty(&t.q);
      if (best_p < 0 || p < best_p) {
        best_p = p;
        *best = t;
      }
    }
    *q = best->q;
  }
  free(w);
  free(best);
  return rc;
}

int cli_qr_print(FILE *f, const char *text) {
  struct cli_qr *q = malloc(sizeof *q);
  if (!q) return MOMEDO_E_NOMEM;
  int rc = cli_qr_encode(q, (const uint8_t *)text, strlen(text));
  const int quiet = 2;
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
