/* tests/bench/peers/xmpp_xml.c — cuts an XMPP client stream into header, stanzas and
 * end, and reads names, top-level attributes and a child's text from one stanza (the
 * benchmark driver's needs only; see xmpp_xml.h). Scans tags with quoted attribute
 * values, self-closing tags, comments and CDATA; bounded nesting. */
#include "xmpp_xml.h"

#include <string.h>

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int name_end(char c) { return is_ws(c) || c == '/' || c == '>' || c == '='; }

static int starts(const char *b, size_t len, size_t at, const char *lit) {
  size_t n = strlen(lit);
  return at + n <= len && memcmp(b + at, lit, n) == 0;
}

/* The bytes from `at` to the end are a proper start of `lit` (wait for more). */
static int cut_short(const char *b, size_t len, size_t at, const char *lit) {
  size_t n = strlen(lit);
  return len - at < n && memcmp(b + at, lit, len - at) == 0;
}

/* Index just past `lit` at or after `at`; 0 if not (yet) in the buffer. */
static size_t skip_past(const char *b, size_t len, size_t at, const char *lit) {
  size_t n = strlen(lit);
  for (size_t i = at; i + n <= len; i++)
    if (memcmp(b + i, lit, n) == 0) return i + n;
  return 0;
}

/* b[at] == '<': index just past the tag's '>' (quoted values may hold '>'); 0 = more
 * input needed; (size_t)-1 = malformed. *self_closing for "/>". */
static size_t scan_tag(const char *b, size_t len, size_t at, int *self_closing) {
  char q = 0;
  for (size_t i = at + 1; i < len; i++) {
    char c = b[i];
    if (q) {
      if (c == q) q = 0;
    } else if (c == '"' || c == '\'') {
      q = c;
    } else if (c == '<') {
      return (size_t)-1;
    } else if (c == '>') {
      *self_closing = b[i - 1] == '/';
      return i + 1;
    }
  }
  return 0;
}

static int name_is(const char *b, size_t len, size_t at, const char *name) {
  size_t n = strlen(name);
  return at + n < len && memcmp(b + at, name, n) == 0 && name_end(b[at + n]);
}

/* Before the stream header: <?xml ...?>, comments, whitespace, then <stream:stream>. */
static int next_header(struct xx_stream *s, const char *b, size_t len, size_t *used,
                       size_t *start) {
  size_t i = 0;
  for (;;) {
    while (i < len && is_ws(b[i])) i++;
    if (i == len || (b[i] == '<' && i + 1 == len)) return XX_MORE;
    if (b[i] != '<') return XX_ERROR;
    if (cut_short(b, len, i, "<!--")) return XX_MORE;
    if (b[i + 1] == '?' || starts(b, len, i, "<!--")) {
      size_t e = skip_past(b, len, i, b[i + 1] == '?' ? "?>" : "-->");
      if (!e) return XX_MORE;
      i = e;
      continue;
    }
    int sc = 0;
    size_t e = scan_tag(b, len, i, &sc);
    if (e == (size_t)-1) return XX_ERROR;
    if (!e) return XX_MORE;
    if (sc || !name_is(b, len, i + 1, "stream:stream")) return XX_ERROR;
    s->in_stream = 1;
    *start = i;
    *used = e;
    return XX_HEADER;
  }
}

/* One element from b[at] == '<' to its matching end tag. */
static int next_element(const char *b, size_t len, size_t at, size_t *end) {
  size_t i = at;
  int depth = 0;
  while (i < len) {
    if (b[i] != '<') { /* text inside the element */
      while (i < len && b[i] != '<') i++;
      continue;
    }
    if (cut_short(b, len, i, "<!--") || cut_short(b, len, i, "<![CDATA[")) return XX_MORE;
    if (starts(b, len, i, "<!--") || starts(b, len, i, "<![CDATA[")) {
      size_t e = skip_past(b, len, i, b[i + 2] == '-' ? "-->" : "]]>");
      if (!e) return XX_MORE;
      i = e;
      continue;
    }
    if (i + 1 < len && (b[i + 1] == '?' || b[i + 1] == '!')) return XX_ERROR;
    int sc = 0;
    size_t e = scan_tag(b, len, i, &sc);
    if (e == (size_t)-1) return XX_ERROR;
    if (!e) return XX_MORE;
    if (b[i + 1] == '/') depth--;
    else if (!sc && ++depth > XX_DEPTH_MAX) return XX_ERROR;
    i = e;
    if (depth == 0) {
      *end = e;
      return XX_STANZA;
    }
  }
  return XX_MORE;
}

int xx_next(struct xx_stream *s, const char *b, size_t len, size_t *used, size_t *start) {
  size_t i = 0;
  *used = 0;
  *start = 0;
  if (!s->in_stream) return next_header(s, b, len, used, start);
  while (i < len && b[i] != '<') i++; /* whitespace keepalives, stray text */
  if (i + 1 >= len) return XX_MORE;
  if (b[i + 1] == '/') {
    int sc = 0;
    size_t e = scan_tag(b, len, i, &sc);
    if (e == (size_t)-1) return XX_ERROR;
    if (!e) return XX_MORE;
    if (!name_is(b, len, i + 2, "stream:stream")) return XX_ERROR;
    s->in_stream = 0;
    *used = e;
    *start = i;
    return XX_END;
  }
  size_t end = 0;
  int k = next_element(b, len, i, &end);
  if (k != XX_STANZA) return k;
  *used = end;
  *start = i;
  return XX_STANZA;
}

int xx_name(const char *st, size_t len, char *out, size_t cap) {
  size_t i = 1, n = 0;
  if (len < 2 || st[0] != '<') return -1;
  while (i < len && !name_end(st[i])) {
    if (n + 1 >= cap || n >= XX_NAME_MAX) return -1;
    out[n++] = st[i++];
  }
  out[n] = 0;
  return n ? 0 : -1;
}

int xx_attr(const char *st, size_t len, const char *name, char *out, size_t cap) {
  size_t i = 1, nlen = strlen(name);
  if (len < 2 || st[0] != '<') return -1;
  while (i < len && !name_end(st[i])) i++; /* the element's name */
  for (;;) {
    while (i < len && is_ws(st[i])) i++;
    if (i >= len || st[i] == '>' || st[i] == '/') return -1;
    size_t a = i;
    while (i < len && !name_end(st[i])) i++;
    size_t alen = i - a;
    while (i < len && is_ws(st[i])) i++;
    if (i >= len || st[i] != '=') return -1;
    i++;
    while (i < len && is_ws(st[i])) i++;
    if (i >= len || (st[i] != '"' && st[i] != '\'')) return -1;
    char q = st[i++];
    size_t v = i;
    while (i < len && st[i] != q) i++;
    if (i >= len) return -1;
    if (alen == nlen && memcmp(st + a, name, nlen) == 0) {
      if (i - v + 1 > cap) return -1;
      memcpy(out, st + v, i - v);
      out[i - v] = 0;
      return 0;
    }
    i++;
  }
}

/* Offset of the '<' that starts an element named `name`, or -1. */
static long find_elem(const char *st, size_t len, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i + 1 + n < len; i++)
    if (st[i] == '<' && memcmp(st + i + 1, name, n) == 0 && name_end(st[i + 1 + n]))
      return (long)i;
  return -1;
}

int xx_has(const char *st, size_t len, const char *name) {
  return find_elem(st, len, name) >= 0;
}

int xx_text(const char *st, size_t len, const char *name, const char **text, size_t *tlen) {
  long at = find_elem(st, len, name);
  int sc = 0;
  if (at < 0) return -1;
  size_t e = scan_tag(st, len, (size_t)at, &sc);
  if (e == 0 || e == (size_t)-1) return -1;
  *text = st + e;
  *tlen = 0;
  if (sc) return 0;
  size_t i = e;
  while (i < len && st[i] != '<') i++;
  if (i >= len) return -1;
  *tlen = i - e;
  return 0;
}
