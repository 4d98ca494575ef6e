/* tests/bench/peers/test_xmpp_xml.c — the peers benchmark driver's XML cutter: a stream
 * fed whole and byte by byte gives the same header, stanzas and end; quoted '>' and '/',
 * self-closing tags, nesting, comments and CDATA are cut right; attributes and child text
 * are read; malformed input and excessive nesting are errors, never a crash. */
#include <stdio.h>
#include <string.h>

#include "xmpp_xml.h"

static int failures;
#define CHECK(c)                                                  \
  do {                                                            \
    if (!(c)) {                                                   \
      fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); \
      failures++;                                                 \
    }                                                             \
  } while (0)

static const char stream_[] =
    "<?xml version='1.0'?>\n<!-- hi --><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id=\"a>b\" version='1.0'>"
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>PLAIN</mechanism></mechanisms><sm xmlns='urn:xmpp:sm:3'/></stream:features>"
    " \n<a xmlns='urn:xmpp:sm:3' h='4294967295'/>"
    "<message from='s1@localhost/x' to=\"r7@localhost\" type='chat' id='m/1>'>"
    "<body>hello &amp; <![CDATA[<not a tag>]]> bye</body><!-- <x> -->"
    "<delay xmlns='urn:xmpp:delay' stamp='2026'/></message>"
    "</stream:stream>";

struct cut {
  int kinds[16];
  char names[16][32];
  int n;
};

/* Feed `in` to the cutter `step` bytes at a time (0: all at once), as a socket would. */
static int cut_stream(const char *in, size_t total, size_t step, struct cut *out) {
  struct xx_stream s = {0};
  char buf[2048];
  size_t have = 0, fed = 0;
  memset(out, 0, sizeof *out);
  while (fed < total || have) {
    size_t add = step ? step : total;
    if (add > total - fed) add = total - fed;
    memcpy(buf + have, in + fed, add);
    have += add;
    fed += add;
    for (;;) {
      size_t used = 0, start = 0;
      int k = xx_next(&s, buf, have, &used, &start);
      if (k == XX_ERROR) return -1;
      if (k == XX_MORE) break;
      if (out->n < 16) {
        out->kinds[out->n] = k;
        if (k == XX_STANZA) xx_name(buf + start, used - start, out->names[out->n], 32);
        out->n++;
      }
      memmove(buf, buf + used, have - used);
      have -= used;
    }
    if (fed == total) break;
  }
  return (int)have;
}

static void test_cutting(void) {
  struct cut whole, bytes, sevens;
  size_t len = strlen(stream_);
  CHECK(cut_stream(stream_, len, 0, &whole) == 0);
  CHECK(cut_stream(stream_, len, 1, &bytes) == 0);
  CHECK(cut_stream(stream_, len, 7, &sevens) == 0);
  CHECK(whole.n == 5);
  CHECK(whole.kinds[0] == XX_HEADER);
  CHECK(whole.kinds[1] == XX_STANZA && !strcmp(whole.names[1], "stream:features"));
  CHECK(whole.kinds[2] == XX_STANZA && !strcmp(whole.names[2], "a"));
  CHECK(whole.kinds[3] == XX_STANZA && !strcmp(whole.names[3], "message"));
  CHECK(whole.kinds[4] == XX_END);
  CHECK(memcmp(&whole, &bytes, sizeof whole) == 0);
  CHECK(memcmp(&whole, &sevens, sizeof whole) == 0);
}

static void test_reading(void) {
  const char *m =
      "<message from='s1@localhost/x' to=\"r7@localhost\" type = 'chat' id='m/1>'>"
      "<body>hello</body><delay xmlns='urn:xmpp:delay' stamp='2026'/></message>";
  size_t len = strlen(m);
  char v[64];
  const char *t = NULL;
  size_t tl = 0;
  CHECK(xx_name(m, len, v, sizeof v) == 0 && !strcmp(v, "message"));
  CHECK(xx_attr(m, len, "to", v, sizeof v) == 0 && !strcmp(v, "r7@localhost"));
  CHECK(xx_attr(m, len, "type", v, sizeof v) == 0 && !strcmp(v, "chat"));
  CHECK(xx_attr(m, len, "id", v, sizeof v) == 0 && !strcmp(v, "m/1>"));
  CHECK(xx_attr(m, len, "stamp", v, sizeof v) != 0); /* a child's, not the top's */
  CHECK(xx_attr(m, len, "from", v, 4) != 0);         /* does not fit */
  CHECK(xx_has(m, len, "body") && xx_has(m, len, "delay") && xx_has(m, len, "message"));
  CHECK(!xx_has(m, len, "bod") && !xx_has(m, len, "subject"));
  CHECK(xx_text(m, len, "body", &t, &tl) == 0 && tl == 5 && !memcmp(t, "hello", 5));
  CHECK(xx_text(m, len, "delay", &t, &tl) == 0 && tl == 0);
  CHECK(xx_text(m, len, "subject", &t, &tl) != 0);
  const char *a = "<a xmlns='urn:xmpp:sm:3' h='17'/>";
  CHECK(xx_attr(a, strlen(a), "h", v, sizeof v) == 0 && !strcmp(v, "17"));
  CHECK(xx_name("<", 1, v, sizeof v) != 0);
  CHECK(xx_attr("<a h=17/>", 9, "h", v, sizeof v) != 0); /* unquoted */
}

static int one(const char *in) {
  struct xx_stream s = {1};
  size_t used, start;
  return xx_next(&s, in, strlen(in), &used, &start);
}

static void test_errors(void) {
  struct xx_stream s = {0};
  size_t used, start;
  CHECK(xx_next(&s, "hello", 5, &used, &start) == XX_ERROR);       /* text before header */
  CHECK(xx_next(&s, "<html>", 6, &used, &start) == XX_ERROR);      /* not a stream */
  CHECK(xx_next(&s, "<stream:stream/>", 16, &used, &start) == XX_ERROR);
  CHECK(xx_next(&s, "<?xml version='1.0'", 19, &used, &start) == XX_MORE && used == 0);
  CHECK(one("</message>") == XX_ERROR);                            /* end of no stanza */
  CHECK(one("<a <b>") == XX_ERROR);
  CHECK(one("<a><?pi?></a>") == XX_ERROR);
  CHECK(one("<a><!DOCTYPE x></a>") == XX_ERROR);
  CHECK(one("<a x='1>") == XX_MORE);                               /* quote still open */
  CHECK(one("<a><b></b>") == XX_MORE);
  CHECK(one("<a/>") == XX_STANZA);
  char deep[8 * (XX_DEPTH_MAX + 2)];
  size_t n = 0;
  for (int i = 0; i < XX_DEPTH_MAX + 2; i++) n += (size_t)sprintf(deep + n, "<x>");
  CHECK(one(deep) == XX_ERROR);                                    /* nesting bound */
  n = 0;
  for (int i = 0; i < XX_DEPTH_MAX; i++) n += (size_t)sprintf(deep + n, "<x>");
  for (int i = 0; i < XX_DEPTH_MAX; i++) n += (size_t)sprintf(deep + n, "</x>");
  CHECK(one(deep) == XX_STANZA);
}

int main(void) {
  test_cutting();
  test_reading();
  test_errors();
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("test_bench_xmpp_xml: all checks passed\n");
  return failures ? 1 : 0;
}
