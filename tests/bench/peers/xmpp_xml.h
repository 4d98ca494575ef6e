/* tests/bench/peers/xmpp_xml.h — the XMPP benchmark driver's XML: cuts a client stream
 * into its header, top-level stanzas and end, and reads what the driver needs from a
 * stanza (its name, a top-level attribute, a child's text). Not a general XML parser:
 * no namespaces resolved, no DTDs; bounded depth and attribute lengths, errors on
 * anything malformed it meets. Pure functions over caller buffers (unit-tested). */
#ifndef MOMEDO_BENCH_XMPP_XML_H
#define MOMEDO_BENCH_XMPP_XML_H

#include <stddef.h>

#define XX_DEPTH_MAX 64          /* nesting inside one stanza */
#define XX_NAME_MAX 64           /* element and attribute names */

enum xx_kind {
  XX_MORE = 0,                   /* need more input; nothing consumed */
  XX_HEADER = 1,                 /* <stream:stream ...> (and any <?xml?> before it) */
  XX_STANZA = 2,                 /* one complete top-level element */
  XX_END = 3,                    /* </stream:stream> */
  XX_ERROR = -1                  /* malformed or out of bounds */
};

/* The stream cutter: in_stream is 0 until the header was seen (set it back to 0 when a
 * stream restarts after SASL). */
struct xx_stream {
  int in_stream;
};

/* Next item of buf[0..len): returns its kind; *used = bytes it spans (0 for XX_MORE and
 * XX_ERROR). For XX_STANZA and XX_HEADER, buf[0..*used) (after leading whitespace and
 * text, which the stream level ignores) starts at *start. */
int xx_next(struct xx_stream *s, const char *buf, size_t len, size_t *used, size_t *start);

/* The top element's name ("message", "stream:features"); 0, or -1 if it does not fit. */
int xx_name(const char *st, size_t len, char *out, size_t cap);
/* The top element's attribute `name` (raw, entities not decoded); 0 found, -1 not. */
int xx_attr(const char *st, size_t len, const char *name, char *out, size_t cap);
/* Whether an element named `name` (exact, prefix included) starts anywhere in the
 * stanza (the top element included). */
int xx_has(const char *st, size_t len, const char *name);
/* Text of the first element named `name`: *text and *tlen point into st; 0 or -1. */
int xx_text(const char *st, size_t len, const char *name, const char **text, size_t *tlen);

#endif
