/* tests/tools/probe.c — `momedo-probe`: a low-level tool for integration tests and
 * debugging that speaks the client protocol through client/core/nodeapi: keygen, register,
 * publish, lookup, alias, post (one, or a pipelined burst with --count), fetch, ack,
 * listen, id. Test-grade key file and a
 * simple sealed box (--seal / --open); it is NOT the end-to-end encrypted client and
 * must never print secrets. Commands are dispatched from a table. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "hex.h"
#include "ids.h"
#include "invite.h"
#include "jsonw.h"
#include "momedo_client.h"
#include "nodeapi.h"   /* the node protocol below the engine: this tool tests it */
#include "transport.h"
#include "obj.h"
#include "os.h"
#include "version.h"

#define PROBE_NAME "momedo-probe"
#define PROBE_POSITIONAL_MAX 64           /* arguments after the command */
#define PROBE_KEYS_FILE_BYTES_MAX 4096
#define PROBE_KEYS_HEADER "momedo-probe-keys 1"
#define PROBE_PREKEY_TTL_MS (30ull * 24 * 3600 * 1000)
#define PROBE_SEAL_INFO "momedo/probe-seal/v1"
#define PROBE_SEAL_OVERHEAD (CRYPTO_DH_LEN + CRYPTO_XNONCE_LEN + CRYPTO_TAG_LEN)
#define PROBE_FETCH_PAGES_MAX 1000        /* pages one `fetch` follows */
#define PROBE_REASON_MAX 320
#define PROBE_BURST_MAX 1000000        /* posts in one `post --count` burst */
#define PROBE_BURST_SUFFIX_MAX 24         /* " #" and the item number */
#define PROBE_GRANT_BYTES_MAX 256         /* one packed PartnerGrant (--grants) */
#define PROBE_EXIT_FAIL 1
#define PROBE_EXIT_USAGE 2

/* ---- options ------------------------------------------------------------------- */

enum probe_opt {
  O_INVITE, O_NODE, O_NODE_KEY, O_KEYS, O_JSON, O_TIMEOUT, O_USER_ID, O_SELF, O_ALIAS,
  O_MAILBOX, O_TO_USER, O_TEXT, O_FILE, O_TTL, O_CURSOR, O_LIMIT, O_ACK, O_COUNT, O_SEAL,
  O_OPEN, O_RAW_TEXT, O_WINDOW, O_CLAIM_IDENTITY, O_CLAIM_DEVICE, O_HEX, O_REVOKED, O_AS_USER,
  O_HOMES, O_GRANTS, O__COUNT
};

struct probe_optdef {
  const char *name;
  int takes_value;
};

static const struct probe_optdef probe_opts[O__COUNT] = {
    [O_INVITE] = {"--invite", 1},   [O_NODE] = {"--node", 1},
    [O_NODE_KEY] = {"--node-key", 1}, [O_KEYS] = {"--keys", 1},
    [O_JSON] = {"--json", 0},       [O_TIMEOUT] = {"--timeout-ms", 1},
    [O_USER_ID] = {"--user-id", 1}, [O_SELF] = {"--self", 0},
    [O_ALIAS] = {"--alias", 1},     [O_MAILBOX] = {"--mailbox", 1},
    [O_TO_USER] = {"--to-user", 1}, [O_TEXT] = {"--text", 1},
    [O_FILE] = {"--file", 1},       [O_TTL] = {"--ttl-ms", 1},
    [O_CURSOR] = {"--cursor", 1},   [O_LIMIT] = {"--limit", 1},
    [O_ACK] = {"--ack", 0},         [O_COUNT] = {"--count", 1},
    [O_SEAL] = {"--seal", 0},       [O_OPEN] = {"--open", 0},
    [O_RAW_TEXT] = {"--raw-text", 0}, [O_WINDOW] = {"--window", 1},
    [O_CLAIM_IDENTITY] = {"--claim-identity", 1}, [O_CLAIM_DEVICE] = {"--claim-device", 1},
    [O_HEX] = {"--hex", 0},         [O_REVOKED] = {"--revoked", 0},
    [O_AS_USER] = {"--as-user", 1},
    [O_HOMES] = {"--homes", 1},     [O_GRANTS] = {"--grants", 1},
};

#define BIT(o) (1u << (o))
#define GLOBAL_OPTS (BIT(O_INVITE) | BIT(O_NODE) | BIT(O_NODE_KEY) | BIT(O_KEYS) | \
                     BIT(O_JSON) | BIT(O_TIMEOUT) | BIT(O_AS_USER))

struct probe_keys {
  struct crypto_sign_keypair identity, device;
  uint8_t dh_sec[CRYPTO_DH_LEN], dh_pub[CRYPTO_DH_LEN];
  uint8_t prekey_sec[CRYPTO_DH_LEN], prekey_pub[CRYPTO_DH_LEN];
  uint32_t prekey_id;
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  char user_id[IDS_USER_ID_STR_MAX];
};

struct probe {
  const char *cmd;
  const char *opt[O__COUNT];        /* value, or "" for flags; NULL when absent */
  const char *pos[PROBE_POSITIONAL_MAX];
  int npos;
  int json;
  int timeout_ms;
  struct probe_keys keys;
  char host[TRANSPORT_HOST_CHARS_MAX + 1];
  uint16_t port;
  uint8_t node_key[NODEAPI_KEY_LEN];
  char token[INVITE_TOKEN_HEX_LEN + 1]; /* from --invite */
  struct transport_tls *tls;
  struct transport tr;
  struct nodeapi api;
  int api_open;
  char reason[PROBE_REASON_MAX];
};

/* ---- small helpers ------------------------------------------------------------- */

static int probe_fail(struct probe *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int probe_fail(struct probe *p, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->reason, sizeof p->reason, fmt, ap);
  va_end(ap);
  return rc;
}

/* A failed nodeapi call: keep the session's reason. */
static int probe_api_fail(struct probe *p, int rc) {
  return probe_fail(p, rc, "%s", nodeapi_reason(&p->api));
}

/* Decimal 0..max, digits only. */
static int probe_u64(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0') return MOMEDO_E_INVAL;
  for (const char *c = s; *c; c++) {
    if (*c < '0' || *c > '9') return MOMEDO_E_INVAL;
    unsigned d = (unsigned)(*c - '0');
    if (v > (UINT64_MAX - d) / 10) return MOMEDO_E_INVAL;
    v = v * 10 + d;
  }
  if (v > max) return MOMEDO_E_INVAL;
  *out = v;
  return 0;
}

static int probe_num_opt(struct probe *p, enum probe_opt o, uint64_t max, uint64_t def,
                         uint64_t *out) {
  *out = def;
  if (p->opt[o] == NULL) return 0;
  if (probe_u64(p->opt[o], max, out) < 0)
    return probe_fail(p, MOMEDO_E_INVAL, "%s takes a whole number from 0 to %" PRIu64,
                      probe_opts[o].name, max);
  return 0;
}

/* 1 if the n bytes are well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int probe_utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                               : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > n) return 0;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (s[i + k] & 0x3Fu);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += len;
  }
  return 1;
}

/* Print bytes as the inside of a JSON string (also used for text output: one line). */
static void probe_put_escaped(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c < 0x20 || c == 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
}

/* ---- JSON output: one object per line (protocol/json/jsonw) ------------------------- */

/* Begin one JSON line on stdout: {"ok":ok,"cmd":cmd,...} (cmd NULL: no ok/cmd keys).
 * Built and printed by protocol/json/jsonw (integers exact, never half an object). */
static void pj_begin(struct jsonw *j, int ok, const char *cmd) {
  jsonw_begin(j, stdout);
  if (cmd) {
    jsonw_bool(j, "ok", ok);
    jsonw_str(j, "cmd", cmd);
  }
}

static const char *probe_kind_name(Momedo__ObjectKind k) {
  switch (k) {
  case MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE: return "bundle";
  case MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM: return "item";
  case MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE: return "tombstone";
  case MOMEDO__OBJECT_KIND__OBJ_CHUNK: return "chunk";
  case MOMEDO__OBJECT_KIND__OBJ_ALIAS: return "alias";
  default: return "unknown";
  }
}

/* ---- the key file (test-grade: hex seeds in a 0600 text file) ------------------- */

static int probe_keys_derive(struct probe_keys *k) {
  int rc = crypto_sign_from_seed(&k->identity, k->identity.seed);
  if (rc == 0) rc = crypto_sign_from_seed(&k->device, k->device.seed);
  if (rc == 0) rc = crypto_dh_public(k->dh_pub, k->dh_sec);
  if (rc == 0) rc = crypto_dh_public(k->prekey_pub, k->prekey_sec);
  if (rc == 0) rc = obj_device_mailbox(k->mailbox, k->device.pub);
  if (rc == 0) rc = ids_user_id(k->user_id, k->identity.pub);
  return rc;
}

static int probe_keys_write(struct probe *p, const char *path) {
  struct probe_keys *k = &p->keys;
  char id[65], dev[65], dh[65], pre[65];
  char buf[PROBE_KEYS_FILE_BYTES_MAX];
  hex_encode(id, sizeof id, k->identity.seed, 32);
  hex_encode(dev, sizeof dev, k->device.seed, 32);
  hex_encode(dh, sizeof dh, k->dh_sec, 32);
  hex_encode(pre, sizeof pre, k->prekey_sec, 32);
  int n = snprintf(buf, sizeof buf,
                   "%s\n# test-grade keys for momedo-probe: secrets in the clear, never use "
                   "them for a real identity\nidentity_seed %s\ndevice_seed %s\ndh_secret %s\n"
                   "prekey_secret %s\nprekey_id %" PRIu32 "\n",
                   PROBE_KEYS_HEADER, id, dev, dh, pre, k->prekey_id);
  crypto_wipe(id, sizeof id), crypto_wipe(dev, sizeof dev), crypto_wipe(dh, sizeof dh);
  crypto_wipe(pre, sizeof pre);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc = 0;
  if (fd < 0)
    rc = probe_fail(p, errno == EEXIST ? MOMEDO_E_EXISTS : MOMEDO_E_IO,
                    "cannot create %s: %s", path, strerror(errno));
  else if (write(fd, buf, (size_t)n) != n || fsync(fd) != 0)
    rc = probe_fail(p, MOMEDO_E_IO, "cannot write %s: %s", path, strerror(errno));
  if (fd >= 0 && close(fd) != 0 && rc == 0)
    rc = probe_fail(p, MOMEDO_E_IO, "cannot write %s: %s", path, strerror(errno));
  crypto_wipe(buf, sizeof buf);
  return rc;
}

/* One "name value" line into the keys struct. */
static int probe_keys_line(struct probe_keys *k, const char *name, const char *val,
                           unsigned *seen) {
  struct { const char *name; uint8_t *dst; } hexes[] = {
      {"identity_seed", k->identity.seed}, {"device_seed", k->device.seed},
      {"dh_secret", k->dh_sec}, {"prekey_secret", k->prekey_sec}};
  for (unsigned i = 0; i < 4; i++) {
    if (strcmp(name, hexes[i].name) != 0) continue;
    *seen |= 1u << i;
    return hex_decode_str(hexes[i].dst, 32, val);
  }
  if (strcmp(name, "prekey_id") == 0) {
    uint64_t v;
    *seen |= 1u << 4;
    if (probe_u64(val, UINT32_MAX, &v) < 0) return MOMEDO_E_INVAL;
    k->prekey_id = (uint32_t)v;
    return 0;
  }
  return MOMEDO_E_INVAL;
}

static int probe_keys_parse(struct probe *p, const char *path, char *buf) {
  unsigned seen = 0;
  int lineno = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    if (lineno == 1) {
      if (strcmp(line, PROBE_KEYS_HEADER) != 0)
        return probe_fail(p, MOMEDO_E_VERSION, "%s is not a momedo-probe key file", path);
      continue;
    }
    if (line[0] == '#' || line[0] == '\0') continue;
    char *sp = strchr(line, ' ');
    if (sp == NULL) return probe_fail(p, MOMEDO_E_CORRUPT, "%s:%d: malformed", path, lineno);
    *sp = '\0';
    if (probe_keys_line(&p->keys, line, sp + 1, &seen) < 0)
      return probe_fail(p, MOMEDO_E_CORRUPT, "%s:%d: bad %s", path, lineno, line);
  }
  if (seen != 0x1f) return probe_fail(p, MOMEDO_E_CORRUPT, "%s: a key is missing", path);
  return 0;
}

static int probe_keys_load(struct probe *p, const char *path) {
  char buf[PROBE_KEYS_FILE_BYTES_MAX + 1];
  struct stat st;
  int rc = 0;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return probe_fail(p, errno == ENOENT ? MOMEDO_E_NOTFOUND : MOMEDO_E_IO,
                      "cannot open key file %s: %s (create one with `momedo-probe keygen "
                      "--keys FILE`)", path, strerror(errno));
  ssize_t n = -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    rc = probe_fail(p, MOMEDO_E_DENIED, "%s is not a regular file", path);
  else if (st.st_mode & 077)
    rc = probe_fail(p, MOMEDO_E_DENIED, "%s may be read by others (chmod 600 it)", path);
  else if ((n = read(fd, buf, sizeof buf)) < 0 || n > PROBE_KEYS_FILE_BYTES_MAX)
    rc = probe_fail(p, MOMEDO_E_CORRUPT, "cannot read %s (or it is too long)", path);
  close(fd);
  if (rc == 0) {
    buf[n] = '\0';
    rc = probe_keys_parse(p, path, buf);
  }
  if (rc == 0 && (rc = probe_keys_derive(&p->keys)) < 0)
    probe_fail(p, rc, "%s holds an unusable key", path);
  crypto_wipe(buf, sizeof buf);
  return rc;
}

/* ---- sealed box: eph_pub || nonce || XChaCha20-Poly1305(ct) --------------------- */

static int probe_seal_key(uint8_t key[static CRYPTO_AEAD_KEY_LEN],
                          const uint8_t shared[static CRYPTO_DH_LEN],
                          const uint8_t eph_pub[static CRYPTO_DH_LEN],
                          const uint8_t rcpt_pub[static CRYPTO_DH_LEN]) {
  uint8_t info[sizeof PROBE_SEAL_INFO - 1 + 2 * CRYPTO_DH_LEN];
  size_t il = sizeof PROBE_SEAL_INFO - 1;
  memcpy(info, PROBE_SEAL_INFO, il);
  memcpy(info + il, eph_pub, CRYPTO_DH_LEN);
  memcpy(info + il + CRYPTO_DH_LEN, rcpt_pub, CRYPTO_DH_LEN);
  return crypto_hkdf(key, CRYPTO_AEAD_KEY_LEN, NULL, 0, shared, CRYPTO_DH_LEN, info,
                     sizeof info);
}

/* out holds len + PROBE_SEAL_OVERHEAD bytes. */
static int probe_seal(uint8_t *out, const uint8_t *pt, size_t len,
                      const uint8_t rcpt_pub[static CRYPTO_DH_LEN]) {
  uint8_t eph_sec[CRYPTO_DH_LEN], shared[CRYPTO_DH_LEN], key[CRYPTO_AEAD_KEY_LEN];
  uint8_t *eph_pub = out, *nonce = out + CRYPTO_DH_LEN;
  int rc = crypto_dh_keygen(eph_sec, eph_pub);
  if (rc == 0) rc = crypto_dh(shared, eph_sec, rcpt_pub);
  if (rc == 0) rc = probe_seal_key(key, shared, eph_pub, rcpt_pub);
  if (rc == 0) rc = crypto_random(nonce, CRYPTO_XNONCE_LEN);
  if (rc == 0)
    rc = crypto_aead_seal(out + CRYPTO_DH_LEN + CRYPTO_XNONCE_LEN, pt, len, eph_pub,
                          CRYPTO_DH_LEN, nonce, key);
  crypto_wipe(eph_sec, sizeof eph_sec), crypto_wipe(shared, sizeof shared);
  crypto_wipe(key, sizeof key);
  return rc;
}

/* out holds len - PROBE_SEAL_OVERHEAD bytes. E_DECRYPT if it is not for us. */
static int probe_open(uint8_t *out, const uint8_t *in, size_t len, const struct probe_keys *k) {
  uint8_t shared[CRYPTO_DH_LEN], key[CRYPTO_AEAD_KEY_LEN];
  if (len < PROBE_SEAL_OVERHEAD) return MOMEDO_E_DECRYPT;
  int rc = crypto_dh(shared, k->dh_sec, in);
  if (rc == 0) rc = probe_seal_key(key, shared, in, k->dh_pub);
  if (rc == 0)
    rc = crypto_aead_open(out, in + CRYPTO_DH_LEN + CRYPTO_XNONCE_LEN,
                          len - CRYPTO_DH_LEN - CRYPTO_XNONCE_LEN, in, CRYPTO_DH_LEN,
                          in + CRYPTO_DH_LEN, key);
  crypto_wipe(shared, sizeof shared), crypto_wipe(key, sizeof key);
  return rc < 0 ? MOMEDO_E_DECRYPT : 0;
}

/* ---- connecting ---------------------------------------------------------------- */

static int probe_node_key(struct probe *p, const char *s) {
  if (hex_decode_str(p->node_key, NODEAPI_KEY_LEN, s) == 0) return 0;
  int rc = ids_key_from_b32(p->node_key, s);
  if (rc == MOMEDO_E_CHECKSUM)
    return probe_fail(p, rc, "--node-key has a typo (its check character does not match)");
  if (rc < 0)
    return probe_fail(p, MOMEDO_E_INVAL,
                      "--node-key takes 64 hex digits or the 53-character key string");
  return 0;
}

static int probe_target(struct probe *p) {
  if (p->opt[O_INVITE] != NULL) {
    struct invite inv;
    if (p->opt[O_NODE] || p->opt[O_NODE_KEY])
      return probe_fail(p, MOMEDO_E_INVAL, "give either --invite or --node with --node-key");
    int rc = invite_decode(&inv, p->opt[O_INVITE]);
    if (rc < 0)
      return probe_fail(p, rc, "--invite: %s", rc == MOMEDO_E_CHECKSUM ? "the code has a typo"
                                                : "not a valid momedo1: invite code");
    snprintf(p->host, sizeof p->host, "%s", inv.host);
    p->port = inv.port;
    memcpy(p->node_key, inv.node_key, NODEAPI_KEY_LEN);
    invite_token_to_hex(p->token, inv.token);
    crypto_wipe(&inv, sizeof inv);
    return 0;
  }
  if (p->opt[O_NODE] == NULL || p->opt[O_NODE_KEY] == NULL)
    return probe_fail(p, MOMEDO_E_INVAL, "%s needs --invite CODE or --node HOST:PORT with "
                      "--node-key KEY", p->cmd);
  if (transport_parse_hostport(p->opt[O_NODE], p->host, sizeof p->host, &p->port) < 0)
    return probe_fail(p, MOMEDO_E_INVAL, "--node takes HOST:PORT (or [IPv6]:PORT)");
  return probe_node_key(p, p->opt[O_NODE_KEY]);
}

static int probe_connect(struct probe *p) {
  int rc = probe_target(p);
  if (rc < 0) return rc;
  rc = transport_tls_connect(&p->tls, p->host, p->port, p->node_key, p->timeout_ms, p->reason,
                             sizeof p->reason);
  if (rc < 0) return rc;
  transport_tls_view(p->tls, &p->tr);
  nodeapi_init(&p->api, &p->tr, p->node_key, p->timeout_ms);
  p->api_open = 1;
  if ((rc = nodeapi_hello(&p->api, os_wall_ms())) < 0) return probe_api_fail(p, rc);
  return 0;
}

/* Bundle-based: the key file always holds the identity, so the node also admits the
 * device when a published bundle of that identity lists it and names this node. */
static int probe_auth(struct probe *p) {
  uint8_t as[32]; /* --as-user KEY: name another user's identity key (attack tests) */
  const uint8_t *ik = p->keys.identity.pub;
  if (p->opt[O_AS_USER]) {
    if (hex_decode_str(as, 32, p->opt[O_AS_USER]) < 0)
      return probe_fail(p, MOMEDO_E_INVAL, "--as-user takes 64 hex digits");
    ik = as;
  }
  int rc = nodeapi_auth_user(&p->api, &p->keys.device, ik);
  if (rc == 0) return 0;
  if (nodeapi_reason(&p->api)[0] == '\0' && (rc == MOMEDO_E_AUTH || rc == MOMEDO_E_NOTFOUND))
    return probe_fail(p, rc, "this device is not registered on %s:%u and no key bundle of "
                      "its user admits it there (run `register` or `publish` first)",
                      p->host, (unsigned)p->port);
  return probe_api_fail(p, rc);
}

/* ---- printing objects (fetch and listen) ---------------------------------------- */

struct probe_obj {
  uint64_t seq;
  Momedo__ObjectKind kind;
  const uint8_t *mailbox;
  const uint8_t *data;
  size_t len;
  int err;
  const struct obj_info *info;
};

/* Text to show for an item: the opened plaintext (--open) or the raw ciphertext when it
 * is UTF-8 (--raw-text). *buf is malloc'ed when opening; caller frees. */
static void probe_item_text(struct probe *p, const uint8_t *ct, size_t ct_len, uint8_t **buf,
                            const uint8_t **text, size_t *text_len, int *open_err) {
  *text = NULL;
  *open_err = 0;
  if (p->opt[O_OPEN] != NULL) {
    *buf = malloc(ct_len > PROBE_SEAL_OVERHEAD ? ct_len - PROBE_SEAL_OVERHEAD : 1);
    if (*buf == NULL) {
      *open_err = MOMEDO_E_NOMEM;
      return;
    }
    if ((*open_err = probe_open(*buf, ct, ct_len, &p->keys)) < 0) return;
    *text_len = ct_len - PROBE_SEAL_OVERHEAD;
    if (probe_utf8_ok(*buf, *text_len)) *text = *buf;
    else *open_err = MOMEDO_E_DECODE; /* opened, but not text */
  } else if (p->opt[O_RAW_TEXT] != NULL && probe_utf8_ok(ct, ct_len)) {
    *text = ct;
    *text_len = ct_len;
  }
}

/* One valid object as a JSON line. A text with a NUL byte is shown as open_error
 * E_DECODE: a JSON string through cJSON ends at the first NUL. */
static void probe_json_valid(const struct probe *p, const struct probe_obj *o,
                             const uint8_t *ct, size_t ct_len, const char *id,
                             const uint8_t *text, size_t text_len, int open_err) {
  const struct obj_info *in = o->info;
  struct jsonw j;
  pj_begin(&j, 0, NULL);
  jsonw_u64(&j, "seq", o->seq);
  jsonw_str(&j, "kind", probe_kind_name(o->kind));
  jsonw_str(&j, "id", id);
  jsonw_hex(&j, "mailbox", o->mailbox, OBJ_MAILBOX_LEN);
  jsonw_u64(&j, "ciphertext_len", ct_len);
  jsonw_u64(&j, "created_ms", in->created_ms);
  jsonw_u64(&j, "expires_ms", in->expires_ms);
  jsonw_hex(&j, "signer", in->signer, OBJ_KEY_LEN);
  if (o->kind == MOMEDO__OBJECT_KIND__OBJ_TOMBSTONE) jsonw_hex(&j, "target", in->target_id, 32);
  char *t = NULL;
  if (p->opt[O_HEX] && ct && (t = malloc(2 * ct_len + 1)) != NULL) {
    hex_encode(t, 2 * ct_len + 1, ct, ct_len);
    jsonw_str(&j, "ciphertext", t);
    free(t);
  }
  if (text != NULL && memchr(text, 0, text_len) == NULL && (t = malloc(text_len + 1)) != NULL) {
    memcpy(t, text, text_len);
    t[text_len] = '\0';
    jsonw_str(&j, "text", t);
    free(t);
  } else if (text != NULL || open_err < 0) {
    jsonw_str(&j, "open_error", momedo_status_name(open_err < 0 ? open_err : MOMEDO_E_DECODE));
  }
  jsonw_end(&j);
}

static void probe_print_valid(struct probe *p, const struct probe_obj *o,
                              const uint8_t *ct, size_t ct_len) {
  const struct obj_info *in = o->info;
  uint8_t *buf = NULL;
  const uint8_t *text = NULL;
  size_t text_len = 0;
  int open_err = 0;
  char id[65];
  hex_encode(id, sizeof id, in->id, OBJ_ID_LEN);
  if (o->kind == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM || o->kind == MOMEDO__OBJECT_KIND__OBJ_CHUNK)
    probe_item_text(p, ct, ct_len, &buf, &text, &text_len, &open_err);
  if (p->json) {
    probe_json_valid(p, o, ct, ct_len, id, text, text_len, open_err);
    free(buf);
    return;
  }
  printf("%s seq=%" PRIu64 " id=%s bytes=%zu expires_ms=%" PRIu64, probe_kind_name(o->kind),
         o->seq, id, ct_len, in->expires_ms);
  if (text != NULL) {
    printf(" text=\"");
    probe_put_escaped(text, text_len);
    putchar('"');
  } else if (open_err < 0) {
    printf(" open_error=%s", momedo_status_name(open_err));
  }
  printf("\n");
  free(buf);
}

static void probe_print_obj(struct probe *p, const struct probe_obj *o) {
  if (o->err < 0) {
    if (p->json) {
      struct jsonw j;
      pj_begin(&j, 0, NULL);
      jsonw_u64(&j, "seq", o->seq);
      jsonw_str(&j, "kind", probe_kind_name(o->kind));
      jsonw_str(&j, "error", momedo_status_name(o->err));
      jsonw_str(&j, "reason", momedo_strerror(o->err));
      jsonw_end(&j);
    } else
      printf("invalid %s seq=%" PRIu64 ": %s: %s\n", probe_kind_name(o->kind), o->seq,
             momedo_status_name(o->err), momedo_strerror(o->err));
    return;
  }
  /* The ciphertext of items and chunks, from a decode of the already validated bytes. */
  struct arena a;
  ProtobufCMessage *m = NULL;
  const uint8_t *ct = NULL;
  size_t ct_len = 0;
  arena_init(&a, OBJ_DECODE_BYTES_MAX);
  if (obj_unpack(o->kind, o->data, o->len, &a, &m) == 0) {
    if (o->kind == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) {
      ct = ((Momedo__OzoneItem *)m)->ciphertext.data;
      ct_len = ((Momedo__OzoneItem *)m)->ciphertext.len;
    } else if (o->kind == MOMEDO__OBJECT_KIND__OBJ_CHUNK) {
      ct = ((Momedo__Chunk *)m)->ciphertext.data;
      ct_len = ((Momedo__Chunk *)m)->ciphertext.len;
    }
  }
  probe_print_valid(p, o, ct, ct_len);
  arena_close(&a);
}

/* ---- commands -------------------------------------------------------------------- */

static int cmd_keygen(struct probe *p) {
  struct probe_keys *k = &p->keys;
  int rc = crypto_random(k->identity.seed, 32);
  if (rc == 0) rc = crypto_random(k->device.seed, 32);
  if (rc == 0) rc = crypto_dh_keygen(k->dh_sec, k->dh_pub);
  if (rc == 0) rc = crypto_dh_keygen(k->prekey_sec, k->prekey_pub);
  k->prekey_id = 1;
  if (rc == 0) rc = probe_keys_derive(k);
  if (rc < 0) return probe_fail(p, rc, "cannot generate keys");
  if ((rc = probe_keys_write(p, p->opt[O_KEYS])) < 0) return rc;
  char dev[65], mb[65];
  hex_encode(dev, sizeof dev, k->device.pub, 32);
  hex_encode(mb, sizeof mb, k->mailbox, 32);
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "keygen");
    jsonw_str(&j, "user_id", k->user_id);
    jsonw_str(&j, "device_key", dev);
    jsonw_str(&j, "mailbox", mb);
    jsonw_end(&j);
  } else
    printf("user ID %s\ndevice key %s\nmailbox %s\n", k->user_id, dev, mb);
  return 0;
}

static int cmd_id(struct probe *p) {
  struct probe_keys *k = &p->keys;
  char idk[65], dev[65], mb[65], dh[65];
  hex_encode(idk, sizeof idk, k->identity.pub, 32);
  hex_encode(dev, sizeof dev, k->device.pub, 32);
  hex_encode(mb, sizeof mb, k->mailbox, 32);
  hex_encode(dh, sizeof dh, k->dh_pub, 32);
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "id");
    jsonw_str(&j, "user_id", k->user_id);
    jsonw_str(&j, "identity_key", idk);
    jsonw_str(&j, "device_key", dev);
    jsonw_str(&j, "mailbox", mb);
    jsonw_str(&j, "dh_key", dh);
    jsonw_end(&j);
  } else
    printf("user ID %s\nidentity key %s\ndevice key %s\nmailbox %s\ndh key %s\n", k->user_id,
           idk, dev, mb, dh);
  return 0;
}

static int cmd_register(struct probe *p) {
  const Momedo__RegisterResp *rr = NULL;
  const char *token = p->npos > 0 ? p->pos[0] : p->token;
  if (token[0] == '\0')
    return probe_fail(p, MOMEDO_E_INVAL, "register needs a TOKEN (or --invite CODE)");
  /* --claim-identity / --claim-device: name keys this probe does not hold (attack tests:
   * a node must refuse registering someone else's keys). */
  uint8_t claim_id[32], claim_dev[32];
  const uint8_t *ik = p->keys.identity.pub, *dk = p->keys.device.pub;
  if (p->opt[O_CLAIM_IDENTITY]) {
    if (hex_decode_str(claim_id, 32, p->opt[O_CLAIM_IDENTITY]) < 0)
      return probe_fail(p, MOMEDO_E_INVAL, "--claim-identity takes 64 hex digits");
    ik = claim_id;
  }
  if (p->opt[O_CLAIM_DEVICE]) {
    if (hex_decode_str(claim_dev, 32, p->opt[O_CLAIM_DEVICE]) < 0)
      return probe_fail(p, MOMEDO_E_INVAL, "--claim-device takes 64 hex digits");
    dk = claim_dev;
  }
  int rc;
  if (ik == p->keys.identity.pub && dk == p->keys.device.pub) {
    rc = nodeapi_register(&p->api, token, &p->keys.device, &p->keys.identity, &rr);
  } else { /* signed with our own keys: what an attacker without the secrets can do */
    uint8_t tok[INVITE_TOKEN_LEN], msg[INVITE_REGISTER_MSG_LEN], ds[64], is[64];
    rc = invite_token_parse(tok, token);
    if (rc == 0) rc = invite_register_msg(msg, p->node_key, tok, dk, ik);
    if (rc == 0) rc = crypto_sign(ds, msg, sizeof msg, &p->keys.device);
    if (rc == 0) rc = crypto_sign(is, msg, sizeof msg, &p->keys.identity);
    struct nodeapi_register_req q = {token, dk, ik, ds, is};
    if (rc == 0) rc = nodeapi_register_raw(&p->api, &q, &rr);
  }
  if (rc < 0) return probe_api_fail(p, rc);
  char nk[65], dev[65];
  hex_encode(nk, sizeof nk, rr->node_key.data, 32);
  hex_encode(dev, sizeof dev, p->keys.device.pub, 32);
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "register");
    jsonw_str(&j, "node_key", nk);
    jsonw_str(&j, "device_key", dev);
    jsonw_str(&j, "user_id", p->keys.user_id);
    jsonw_open(&j, "partners", '[');
    for (size_t i = 0; i < rr->n_partners; i++) {
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "address", rr->partners[i]->address);
      jsonw_hex(&j, "node_key", rr->partners[i]->node_key.data, 32);
      const Momedo__PartnerGrant *g = rr->partners[i]->grant;
      uint8_t packed[PROBE_GRANT_BYTES_MAX];
      char gh[2 * PROBE_GRANT_BYTES_MAX + 1]; /* longer than jsonw_hex's keys and IDs */
      if (g && momedo__partner_grant__get_packed_size(g) <= sizeof packed) {
        hex_encode(gh, sizeof gh, packed, momedo__partner_grant__pack(g, packed));
        jsonw_str(&j, "grant", gh);
      }
      jsonw_close(&j);
    }
    jsonw_close(&j);
    jsonw_end(&j);
  } else {
    printf("registered device %s for user %s on node %s\n", dev, p->keys.user_id, nk);
    for (size_t i = 0; i < rr->n_partners; i++) {
      hex_encode(nk, sizeof nk, rr->partners[i]->node_key.data, 32);
      printf("partner %s key %s\n", rr->partners[i]->address, nk);
    }
  }
  return 0;
}

/* A comma-separated list of hex strings, each at most cap bytes, into bufs[max][cap]
 * (lens[i] its length). E_INVAL for bad hex or too many. */
static int probe_hex_list(const char *s, size_t max, size_t cap, uint8_t *bufs, size_t *lens,
                          size_t *n) {
  *n = 0;
  while (s && *s) {
    const char *comma = strchr(s, ',');
    size_t l = comma ? (size_t)(comma - s) : strlen(s);
    if (*n == max || l == 0 || l % 2 || l / 2 > cap ||
        hex_decode(bufs + *n * cap, l / 2, s, l) != 0)
      return MOMEDO_E_INVAL;
    lens[(*n)++] = l / 2;
    s = comma ? comma + 1 : NULL;
  }
  return 0;
}

/* publish --homes / --grants: extra home node keys and partner grants, unpacked into
 * gm (freed by the caller with momedo__partner_grant__free_unpacked). */
struct probe_extras {
  uint8_t homes[OBJ_HOME_NODES_MAX][PROBE_GRANT_BYTES_MAX];
  size_t home_len[OBJ_HOME_NODES_MAX], n_homes;
  uint8_t grants[OBJ_PARTNER_GRANTS_MAX][PROBE_GRANT_BYTES_MAX];
  size_t grant_len[OBJ_PARTNER_GRANTS_MAX], n_grants;
  Momedo__PartnerGrant *gm[OBJ_PARTNER_GRANTS_MAX];
};

static int probe_extras(struct probe *p, struct probe_extras *x) {
  memset(x, 0, sizeof *x);
  if (probe_hex_list(p->opt[O_HOMES], OBJ_HOME_NODES_MAX - 1, PROBE_GRANT_BYTES_MAX,
                     x->homes[0], x->home_len, &x->n_homes) ||
      probe_hex_list(p->opt[O_GRANTS], OBJ_PARTNER_GRANTS_MAX, PROBE_GRANT_BYTES_MAX,
                     x->grants[0], x->grant_len, &x->n_grants))
    return MOMEDO_E_INVAL;
  for (size_t i = 0; i < x->n_homes; i++)
    if (x->home_len[i] != 32) return MOMEDO_E_INVAL;
  for (size_t i = 0; i < x->n_grants; i++)
    if (!(x->gm[i] = momedo__partner_grant__unpack(NULL, x->grant_len[i], x->grants[i])))
      return MOMEDO_E_INVAL;
  return 0;
}

static void probe_extras_free(struct probe_extras *x) {
  for (size_t i = 0; i < x->n_grants; i++)
    if (x->gm[i]) momedo__partner_grant__free_unpacked(x->gm[i], NULL);
}

/* Our signed bundle: one device, this node as home (and --homes, --grants). *out is
 * malloc'ed. */
static int probe_bundle(struct probe *p, uint64_t now, uint8_t **out, size_t *len) {
  struct probe_keys *k = &p->keys;
  Momedo__KeyBundle b = MOMEDO__KEY_BUNDLE__INIT;
  Momedo__DeviceKeys d = MOMEDO__DEVICE_KEYS__INIT, *dp = &d;
  ProtobufCBinaryData home = {NODEAPI_KEY_LEN, p->node_key}, homes[OBJ_HOME_NODES_MAX];
  uint8_t sig[CRYPTO_SIG_LEN];
  uint64_t pre_exp = now + PROBE_PREKEY_TTL_MS;
  struct probe_extras x;
  int rc = probe_extras(p, &x);
  if (rc == 0) rc = obj_prekey_sign(sig, k->prekey_id, pre_exp, k->prekey_pub, &k->device);
  if (rc < 0) goto out;
  d.device_key = (ProtobufCBinaryData){32, k->device.pub};
  d.dh_key = (ProtobufCBinaryData){32, k->dh_pub};
  d.signed_prekey = (ProtobufCBinaryData){32, k->prekey_pub};
  d.prekey_id = k->prekey_id;
  d.prekey_expires_ms = pre_exp;
  d.prekey_signature = (ProtobufCBinaryData){CRYPTO_SIG_LEN, sig};
  d.home_node = home;
  b.format = OBJ_FORMAT;
  b.identity_key = (ProtobufCBinaryData){32, k->identity.pub};
  b.version = now; /* strictly increasing across publishes from this key file */
  b.created_ms = now;
  b.n_devices = 1;
  b.devices = &dp;
  homes[0] = home;
  for (size_t i = 0; i < x.n_homes; i++) homes[1 + i] = (ProtobufCBinaryData){32, x.homes[i]};
  b.n_home_nodes = 1 + x.n_homes;
  b.home_nodes = homes;
  b.n_partner_grants = x.n_grants;
  b.partner_grants = x.gm;
  b.revoked = p->opt[O_REVOKED] != NULL; /* publish --revoked: the identity ends */
  rc = obj_sign_encode(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, &b.base, &k->identity, out, len);
out:
  probe_extras_free(&x);
  return rc;
}

static int cmd_publish(struct probe *p) {
  uint8_t *bundle = NULL, id[OBJ_ID_LEN];
  size_t len = 0;
  struct obj_info info;
  uint64_t now = os_wall_ms();
  int rc = probe_bundle(p, now, &bundle, &len);
  if (rc == 0) rc = obj_validate(MOMEDO__OBJECT_KIND__OBJ_KEY_BUNDLE, bundle, len, now, &info);
  if (rc < 0) {
    free(bundle);
    return probe_fail(p, rc, "cannot build our key bundle");
  }
  rc = nodeapi_publish(&p->api, bundle, len, id);
  free(bundle);
  if (rc < 0) return probe_api_fail(p, rc);
  char hex[65];
  hex_encode(hex, sizeof hex, id, 32);
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "publish");
    jsonw_str(&j, "id", hex);
    jsonw_u64(&j, "version", now);
    jsonw_str(&j, "user_id", p->keys.user_id);
    jsonw_end(&j);
  } else
    printf("published bundle %s version %" PRIu64 " for %s\n", hex, now, p->keys.user_id);
  return 0;
}

static int probe_check_user_id(struct probe *p, const char *opt, const char *s) {
  uint8_t bits[IDS_USER_ID_BYTES];
  int rc = ids_user_id_parse(bits, s);
  if (rc == MOMEDO_E_CHECKSUM)
    return probe_fail(p, rc, "%s %s has a typo (its check character does not match)", opt, s);
  if (rc < 0)
    return probe_fail(p, MOMEDO_E_INVAL, "%s takes a user ID like XXXX-XXXX-XXXX-XXXX-XXXX-C",
                      opt);
  return 0;
}

/* Look up without auth first (any node answers lookups); authenticate and retry once if
 * the node wants it. For user IDs, the returned key must hash to the ID asked for. */
static int probe_lookup(struct probe *p, const struct nodeapi_lookup_q *q,
                        struct nodeapi_bundle *nb) {
  int rc = nodeapi_lookup(&p->api, q, os_wall_ms(), nb);
  if (rc == MOMEDO_E_AUTH && !p->api.authed) {
    if ((rc = probe_auth(p)) < 0) return rc;
    rc = nodeapi_lookup(&p->api, q, os_wall_ms(), nb);
  }
  if (rc < 0) return probe_api_fail(p, rc);
  if (q->user_id != NULL && !ids_user_id_matches(q->user_id, nb->info.key))
    return probe_fail(p, MOMEDO_E_PROTO, "node returned the bundle of another user than %s",
                      q->user_id);
  return 0;
}

static void probe_print_bundle(struct probe *p, const struct nodeapi_bundle *nb) {
  const Momedo__KeyBundle *b = nb->bundle;
  char uid[IDS_USER_ID_STR_MAX] = "?", hex[65];
  if (ids_user_id(uid, nb->info.key) < 0) uid[0] = '\0';
  hex_encode(hex, sizeof hex, nb->info.key, 32);
  struct jsonw j;
  if (!p->json) {
    printf("user %s identity %s version %" PRIu64 "%s\n", uid, hex, nb->info.version,
           nb->info.revoked ? " REVOKED" : "");
    if (nb->has_alias) printf("alias %s\n", nb->alias_info.alias);
  } else {
    pj_begin(&j, 1, "lookup");
    jsonw_str(&j, "user_id", uid);
    jsonw_str(&j, "identity_key", hex);
    jsonw_u64(&j, "version", nb->info.version);
    jsonw_bool(&j, "revoked", nb->info.revoked);
    if (nb->has_alias) jsonw_str(&j, "alias", nb->alias_info.alias);
    jsonw_open(&j, "devices", '[');
  }
  for (size_t i = 0; i < b->n_devices; i++) {
    const Momedo__DeviceKeys *d = b->devices[i];
    uint8_t mb[OBJ_MAILBOX_LEN];
    char dev[65], mbh[65];
    if (obj_device_mailbox(mb, d->device_key.data) < 0) memset(mb, 0, sizeof mb);
    hex_encode(dev, sizeof dev, d->device_key.data, 32);
    hex_encode(mbh, sizeof mbh, mb, 32);
    if (p->json) {
      jsonw_open(&j, NULL, '{');
      jsonw_str(&j, "device_key", dev);
      jsonw_str(&j, "mailbox", mbh);
      jsonw_hex(&j, "dh_key", d->dh_key.data, 32);
      jsonw_hex(&j, "home_node", d->home_node.data, 32);
      jsonw_hex(&j, "signed_prekey", d->signed_prekey.data, 32);
      jsonw_u64(&j, "prekey_id", d->prekey_id);
      jsonw_u64(&j, "pq_kem_alg", d->pq_kem_alg); /* 1 = ML-KEM-768 (docs/crypto.md) */
      uint8_t kh[CRYPTO_HASH_LEN];
      if (crypto_sha256(kh, d->pq_kem_key.len ? d->pq_kem_key.data : kh, d->pq_kem_key.len))
        memset(kh, 0, sizeof kh);
      jsonw_u64(&j, "pq_kem_key_len", d->pq_kem_key.len);
      jsonw_hex(&j, "pq_kem_key_sha256", kh, sizeof kh);
      jsonw_close(&j);
    } else {
      hex_encode(hex, sizeof hex, d->home_node.data, 32);
      printf("device %s mailbox %s home %s\n", dev, mbh, hex);
    }
  }
  if (p->json) {
    jsonw_close(&j);
    jsonw_end(&j);
  }
}

static int cmd_lookup(struct probe *p) {
  struct nodeapi_lookup_q q = {0};
  struct nodeapi_bundle nb;
  int n = (p->opt[O_USER_ID] != NULL) + (p->opt[O_SELF] != NULL) + (p->opt[O_ALIAS] != NULL);
  if (n != 1)
    return probe_fail(p, MOMEDO_E_INVAL, "lookup takes one of --user-id ID, --self, --alias A");
  if (p->opt[O_USER_ID] != NULL) {
    int rc = probe_check_user_id(p, "--user-id", p->opt[O_USER_ID]);
    if (rc < 0) return rc;
    q.user_id = p->opt[O_USER_ID];
  } else if (p->opt[O_SELF] != NULL) {
    q.user_id = p->keys.user_id;
  } else {
    q.alias = p->opt[O_ALIAS];
  }
  int rc = probe_lookup(p, &q, &nb);
  if (rc < 0) return rc;
  probe_print_bundle(p, &nb);
  return 0;
}

static int cmd_alias(struct probe *p) {
  struct obj_info info;
  int rc = nodeapi_alias(&p->api, p->keys.identity.pub, os_wall_ms(), &info);
  if (rc < 0) return probe_api_fail(p, rc);
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "alias");
    jsonw_str(&j, "alias", info.alias);
    jsonw_str(&j, "user_id", p->keys.user_id);
    jsonw_u64(&j, "expires_ms", info.expires_ms);
    jsonw_end(&j);
  } else
    printf("alias %s for %s (expires_ms %" PRIu64 ")\n", info.alias, p->keys.user_id,
           info.expires_ms);
  return 0;
}

/* Where a post goes: mailbox and, when known, the recipient device's X25519 key. */
static int probe_post_target(struct probe *p, uint8_t mailbox[static OBJ_MAILBOX_LEN],
                             uint8_t dh[static CRYPTO_DH_LEN], int *have_dh) {
  int n = (p->opt[O_MAILBOX] != NULL) + (p->opt[O_SELF] != NULL) + (p->opt[O_TO_USER] != NULL);
  *have_dh = 0;
  if (n != 1)
    return probe_fail(p, MOMEDO_E_INVAL, "post takes one of --mailbox HEX, --self, --to-user ID");
  if (p->opt[O_MAILBOX] != NULL) {
    if (hex_decode_str(mailbox, OBJ_MAILBOX_LEN, p->opt[O_MAILBOX]) < 0)
      return probe_fail(p, MOMEDO_E_INVAL, "--mailbox takes 64 hex digits");
    return 0;
  }
  if (p->opt[O_SELF] != NULL) {
    memcpy(mailbox, p->keys.mailbox, OBJ_MAILBOX_LEN);
    memcpy(dh, p->keys.dh_pub, CRYPTO_DH_LEN);
    *have_dh = 1;
    return 0;
  }
  struct nodeapi_lookup_q q = {.user_id = p->opt[O_TO_USER]};
  struct nodeapi_bundle nb;
  int rc = probe_check_user_id(p, "--to-user", q.user_id);
  if (rc == 0) rc = probe_lookup(p, &q, &nb);
  if (rc < 0) return rc;
  if (nb.info.revoked || nb.bundle->n_devices == 0)
    return probe_fail(p, MOMEDO_E_DENIED, "user %s has revoked their key bundle", q.user_id);
  const Momedo__DeviceKeys *d = nb.bundle->devices[0];
  memcpy(dh, d->dh_key.data, CRYPTO_DH_LEN);
  *have_dh = 1;
  return obj_device_mailbox(mailbox, d->device_key.data);
}

/* The payload: --text or --file (bounded, regular file). *out is malloc'ed. */
static int probe_payload(struct probe *p, size_t max, uint8_t **out, size_t *len) {
  if ((p->opt[O_TEXT] != NULL) == (p->opt[O_FILE] != NULL))
    return probe_fail(p, MOMEDO_E_INVAL, "post takes one of --text TEXT, --file PATH");
  if (p->opt[O_TEXT] != NULL) {
    *len = strlen(p->opt[O_TEXT]);
    if (*len == 0 || *len > max)
      return probe_fail(p, MOMEDO_E_INVAL, "--text must be 1..%zu bytes", max);
    *out = malloc(*len);
    if (*out == NULL) return MOMEDO_E_NOMEM;
    memcpy(*out, p->opt[O_TEXT], *len);
    return 0;
  }
  const char *path = p->opt[O_FILE];
  struct stat st;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return probe_fail(p, MOMEDO_E_IO, "cannot open %s: %s", path, strerror(errno));
  int rc = 0;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
    rc = probe_fail(p, MOMEDO_E_INVAL, "%s is not a regular file", path);
  else if (st.st_size <= 0 || (uint64_t)st.st_size > max)
    rc = probe_fail(p, MOMEDO_E_INVAL, "%s must hold 1..%zu bytes", path, max);
  else if ((*out = malloc((size_t)st.st_size)) == NULL)
    rc = MOMEDO_E_NOMEM;
  else if (fread(*out, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
    rc = probe_fail(p, MOMEDO_E_IO, "cannot read %s", path);
  else
    *len = (size_t)st.st_size;
  fclose(f);
  return rc;
}

static int probe_post_send(struct probe *p, const uint8_t mailbox[static OBJ_MAILBOX_LEN],
                           const uint8_t *ct, size_t ct_len, uint64_t ttl) {
  struct nodeapi_post_req req = {.mailbox = mailbox, .ciphertext = ct,
                                 .ciphertext_len = ct_len, .ttl_ms = ttl};
  uint8_t id[OBJ_ID_LEN];
  uint64_t expires = 0;
  int rc = nodeapi_post(&p->api, &req, id, &expires);
  if (rc < 0) return probe_api_fail(p, rc);
  char idh[65], mbh[65];
  hex_encode(idh, sizeof idh, id, 32);
  hex_encode(mbh, sizeof mbh, mailbox, 32);
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "post");
    jsonw_str(&j, "id", idh);
    jsonw_str(&j, "mailbox", mbh);
    jsonw_u64(&j, "expires_ms", expires);
    jsonw_u64(&j, "ciphertext_len", ct_len);
    jsonw_bool(&j, "sealed", p->opt[O_SEAL] != NULL);
    jsonw_end(&j);
  } else
    printf("posted %s to mailbox %s (%zu bytes%s, expires_ms %" PRIu64 ")\n", idh, mbh, ct_len,
           p->opt[O_SEAL] ? ", sealed" : "", expires);
  return 0;
}

/* ---- burst: `post --count N` pipelines N posts on one connection ---------------- */

struct probe_burst {
  const uint8_t *mailbox, *dh;  /* dh: recipient key when sealing */
  const uint8_t *text;
  size_t text_len;
  uint64_t ttl, count, window;
  uint64_t first_rid;           /* request_id of item 0; the node answers in order */
  uint64_t sent, done, acked, refused;
  int first_refusal;
  char first_reason[NODEAPI_REASON_MAX];
};

/* Item i: the text followed by " #i" (identical posts in one millisecond would be one
 * object), sealed when asked. */
static int probe_burst_send(struct probe *p, struct probe_burst *b) {
  size_t pt_len = 0, ct_len = 0;
  uint8_t *pt = malloc(b->text_len + PROBE_BURST_SUFFIX_MAX), *ct = NULL;
  if (pt == NULL) return MOMEDO_E_NOMEM;
  memcpy(pt, b->text, b->text_len);
  pt_len = b->text_len + (size_t)snprintf((char *)pt + b->text_len, PROBE_BURST_SUFFIX_MAX,
                                          " #%" PRIu64, b->sent);
  int rc = 0;
  if (b->dh != NULL) {
    ct_len = pt_len + PROBE_SEAL_OVERHEAD;
    if ((ct = malloc(ct_len)) == NULL) rc = MOMEDO_E_NOMEM;
    else if ((rc = probe_seal(ct, pt, pt_len, b->dh)) < 0) probe_fail(p, rc, "cannot seal");
  }
  struct nodeapi_post_req req = {.mailbox = b->mailbox, .ciphertext = ct ? ct : pt,
                                 .ciphertext_len = ct ? ct_len : pt_len, .ttl_ms = b->ttl};
  uint64_t rid = 0;
  if (rc == 0 && (rc = nodeapi_post_send(&p->api, &req, &rid)) < 0) probe_api_fail(p, rc);
  if (rc == 0 && b->sent == 0) b->first_rid = rid;
  if (rc == 0) b->sent++;
  crypto_wipe(pt, pt_len);
  free(pt);
  free(ct);
  return rc;
}

static void probe_burst_result(struct probe *p, struct probe_burst *b,
                               const struct nodeapi_post_result *r) {
  uint64_t i = r->request_id - b->first_rid;
  char idh[65];
  b->done++;
  if (r->status == 0) {
    b->acked++;
    hex_encode(idh, sizeof idh, r->id, OBJ_ID_LEN);
    if (p->json) {
      struct jsonw j;
      pj_begin(&j, 0, NULL);
      jsonw_u64(&j, "i", i);
      jsonw_str(&j, "id", idh);
      jsonw_end(&j);
    }
    return;
  }
  if (b->refused++ == 0) {
    b->first_refusal = r->status;
    snprintf(b->first_reason, sizeof b->first_reason, "%s", nodeapi_reason(&p->api));
  }
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 0, NULL);
    jsonw_u64(&j, "i", i);
    jsonw_str(&j, "error", momedo_status_name(r->status));
    jsonw_end(&j);
  }
}

/* Send while fewer than window are outstanding, taking whatever answers have arrived
 * after each send (so neither side's buffers fill up); wait only when the window is
 * full or everything is sent. */
static int probe_burst_run(struct probe *p, struct probe_burst *b) {
  while (b->done < b->count) {
    int rc, wait_ms = 0;
    if (b->sent < b->count && b->sent - b->done < b->window) {
      if ((rc = probe_burst_send(p, b)) < 0) return rc;
    } else {
      wait_ms = p->timeout_ms;
    }
    while (b->done < b->sent) {
      struct nodeapi_post_result r;
      rc = nodeapi_post_collect(&p->api, wait_ms, &r);
      if (rc == MOMEDO_E_TIMEOUT && wait_ms == 0) break;
      if (rc == MOMEDO_E_TIMEOUT)
        return probe_fail(p, rc, "no answer within %d ms; %" PRIu64 " of %" PRIu64
                          " posts answered", p->timeout_ms, b->done, b->count);
      if (rc < 0) return probe_api_fail(p, rc);
      if (r.request_id < b->first_rid || r.request_id - b->first_rid >= b->sent)
        return probe_fail(p, MOMEDO_E_PROTO, "node answered an unknown request");
      probe_burst_result(p, b, &r);
      wait_ms = 0;
    }
  }
  return 0;
}

static int probe_burst(struct probe *p, const uint8_t *mailbox, const uint8_t *dh,
                       uint64_t ttl, uint64_t count) {
  struct probe_burst b = {.mailbox = mailbox, .dh = dh, .ttl = ttl, .count = count};
  uint64_t window = 0, t0 = os_mono_ms();
  int rc = probe_num_opt(p, O_WINDOW, PROBE_BURST_MAX, 0, &window);
  if (rc < 0) return rc;
  if (p->opt[O_TEXT] == NULL)
    return probe_fail(p, MOMEDO_E_INVAL, "post --count takes --text (each item gets \" #N\")");
  b.text = (const uint8_t *)p->opt[O_TEXT];
  b.text_len = strlen(p->opt[O_TEXT]);
  if (b.text_len == 0 || b.text_len + PROBE_BURST_SUFFIX_MAX + PROBE_SEAL_OVERHEAD >
                             OBJ_CIPHERTEXT_BYTES_MAX)
    return probe_fail(p, MOMEDO_E_INVAL, "--text is empty or too long for a burst");
  b.window = window == 0 ? count : window; /* 0: everything in flight */
  rc = probe_burst_run(p, &b);
  uint64_t ms = os_mono_ms() - t0;
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, rc == 0 && b.refused == 0, "post");
    jsonw_u64(&j, "count", count);
    jsonw_u64(&j, "sent", b.sent);
    jsonw_u64(&j, "acked", b.acked);
    jsonw_u64(&j, "refused", b.refused);
    jsonw_u64(&j, "elapsed_ms", ms);
    jsonw_end(&j);
  } else
    printf("burst: %" PRIu64 " sent, %" PRIu64 " acknowledged, %" PRIu64 " refused in %"
           PRIu64 " ms\n", b.sent, b.acked, b.refused, ms);
  if (rc == 0 && b.refused > 0)
    rc = probe_fail(p, b.first_refusal, "%" PRIu64 " of %" PRIu64 " posts refused, first: %s",
                    b.refused, count, b.first_reason);
  return rc;
}

static int cmd_post(struct probe *p) {
  uint8_t mailbox[OBJ_MAILBOX_LEN], dh[CRYPTO_DH_LEN], *pt = NULL, *ct = NULL;
  size_t pt_len = 0, ct_len = 0;
  uint64_t ttl = 0, count = 0;
  int have_dh = 0, seal = p->opt[O_SEAL] != NULL;
  int rc = probe_num_opt(p, O_TTL, OBJ_TTL_MS_MAX, 0, &ttl);
  if (rc == 0 && p->opt[O_COUNT] != NULL) {
    if ((rc = probe_num_opt(p, O_COUNT, PROBE_BURST_MAX, 1, &count)) < 0) return rc;
    if (count == 0) return probe_fail(p, MOMEDO_E_INVAL, "post --count takes 1..%d", PROBE_BURST_MAX);
    if (seal && p->opt[O_MAILBOX] != NULL)
      return probe_fail(p, MOMEDO_E_INVAL, "--seal needs --self or --to-user (a recipient key)");
    if ((rc = probe_post_target(p, mailbox, dh, &have_dh)) < 0) return rc;
    return probe_burst(p, mailbox, seal ? dh : NULL, ttl, count);
  }
  if (rc == 0 && p->opt[O_WINDOW] != NULL)
    rc = probe_fail(p, MOMEDO_E_INVAL, "--window applies to post --count only");
  if (rc == 0 && seal && p->opt[O_MAILBOX] != NULL)
    rc = probe_fail(p, MOMEDO_E_INVAL, "--seal needs --self or --to-user (a recipient key)");
  if (rc == 0)
    rc = probe_payload(p, OBJ_CIPHERTEXT_BYTES_MAX - (seal ? PROBE_SEAL_OVERHEAD : 0), &pt,
                       &pt_len);
  if (rc == 0) rc = probe_post_target(p, mailbox, dh, &have_dh);
  if (rc == 0 && seal) {
    ct_len = pt_len + PROBE_SEAL_OVERHEAD;
    if ((ct = malloc(ct_len)) == NULL) rc = MOMEDO_E_NOMEM;
    else if ((rc = probe_seal(ct, pt, pt_len, dh)) < 0)
      probe_fail(p, rc, "cannot seal the message");
  }
  if (rc == 0) rc = probe_post_send(p, mailbox, seal ? ct : pt, seal ? ct_len : pt_len, ttl);
  if (pt != NULL) crypto_wipe(pt, pt_len);
  free(pt);
  free(ct);
  return rc;
}

static int probe_mailbox_opt(struct probe *p, uint8_t mailbox[static OBJ_MAILBOX_LEN]) {
  if (p->opt[O_MAILBOX] == NULL) {
    memcpy(mailbox, p->keys.mailbox, OBJ_MAILBOX_LEN);
    return 0;
  }
  if (hex_decode_str(mailbox, OBJ_MAILBOX_LEN, p->opt[O_MAILBOX]) < 0)
    return probe_fail(p, MOMEDO_E_INVAL, "--mailbox takes 64 hex digits");
  return 0;
}

/* Acknowledge n items in batches of NODEAPI_ACK_MAX; *accepted sums the node's counts. */
static int probe_ack_items(struct probe *p, const struct nodeapi_ack_item *items, size_t n,
                           uint64_t *accepted) {
  for (size_t off = 0; off < n; off += NODEAPI_ACK_MAX) {
    size_t k = n - off < NODEAPI_ACK_MAX ? n - off : NODEAPI_ACK_MAX;
    uint32_t acc = 0;
    int rc = nodeapi_ack(&p->api, &p->keys.device, items + off, k, os_wall_ms(), &acc);
    if (rc < 0) return probe_api_fail(p, rc);
    *accepted += acc;
  }
  return 0;
}

/* Print one fetched page and remember its valid items for --ack. */
static int probe_fetch_page(struct probe *p, const uint8_t *mailbox,
                            const struct nodeapi_fetch *f, uint64_t *count, uint64_t *invalid,
                            uint64_t *accepted) {
  struct nodeapi_ack_item *acks = NULL;
  size_t nacks = 0;
  if (p->opt[O_ACK] != NULL && f->n > 0 && (acks = calloc(f->n, sizeof *acks)) == NULL)
    return MOMEDO_E_NOMEM;
  for (size_t i = 0; i < f->n; i++) {
    const struct nodeapi_obj *o = &f->objs[i];
    struct probe_obj po = {o->seq, o->kind, mailbox, o->data, o->len, o->err, &o->info};
    probe_print_obj(p, &po);
    (*count)++;
    if (o->err < 0) (*invalid)++;
    if (acks != NULL && o->err == 0 && o->kind == MOMEDO__OBJECT_KIND__OBJ_OZONE_ITEM) {
      memcpy(acks[nacks].id, o->info.id, OBJ_ID_LEN);
      acks[nacks++].expires_ms = o->info.expires_ms;
    }
  }
  int rc = nacks > 0 ? probe_ack_items(p, acks, nacks, accepted) : 0;
  free(acks);
  return rc;
}

static int cmd_fetch(struct probe *p) {
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint64_t cursor = 0, limit = 0, count = 0, invalid = 0, accepted = 0;
  struct nodeapi_fetch f;
  int rc = probe_mailbox_opt(p, mailbox);
  if (rc == 0) rc = probe_num_opt(p, O_CURSOR, UINT64_MAX, 0, &cursor);
  if (rc == 0) rc = probe_num_opt(p, O_LIMIT, NODEAPI_FETCH_LIMIT_MAX, 0, &limit);
  if (rc == 0 && p->opt[O_ACK] && memcmp(mailbox, p->keys.mailbox, OBJ_MAILBOX_LEN) != 0)
    rc = probe_fail(p, MOMEDO_E_INVAL, "--ack works only on this device's own mailbox");
  for (int page = 0; rc == 0 && page < PROBE_FETCH_PAGES_MAX; page++) {
    if ((rc = nodeapi_fetch(&p->api, mailbox, cursor, (uint32_t)limit, os_wall_ms(), &f)) < 0)
      return probe_api_fail(p, rc);
    int more = f.more;
    uint64_t next = f.next_cursor;
    if ((rc = probe_fetch_page(p, mailbox, &f, &count, &invalid, &accepted)) < 0) return rc;
    if (more && next <= cursor)
      return probe_fail(p, MOMEDO_E_PROTO, "node says there is more but did not advance the "
                        "cursor (%" PRIu64 ")", next);
    cursor = next;
    if (!more || limit != 0) break; /* with --limit, one page only */
  }
  if (rc < 0) return rc;
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "fetch");
    jsonw_u64(&j, "count", count);
    jsonw_u64(&j, "invalid", invalid);
    jsonw_u64(&j, "next_cursor", cursor);
    jsonw_u64(&j, "acked", accepted);
    jsonw_end(&j);
  } else
    printf("%" PRIu64 " object(s), %" PRIu64 " invalid, next cursor %" PRIu64
           ", %" PRIu64 " acknowledged\n", count, invalid, cursor, accepted);
  return 0;
}

static int cmd_ack(struct probe *p) {
  struct nodeapi_ack_item items[PROBE_POSITIONAL_MAX];
  uint64_t accepted = 0;
  memset(items, 0, sizeof items);
  for (int i = 0; i < p->npos; i++)
    if (hex_decode_str(items[i].id, OBJ_ID_LEN, p->pos[i]) < 0)
      return probe_fail(p, MOMEDO_E_INVAL, "ack: %s is not an object ID (64 hex digits)",
                        p->pos[i]);
  int rc = probe_ack_items(p, items, (size_t)p->npos, &accepted);
  if (rc < 0) return rc;
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 1, "ack");
    jsonw_u64(&j, "sent", (uint64_t)p->npos);
    jsonw_u64(&j, "accepted", accepted);
    jsonw_end(&j);
  } else
    printf("acknowledged %d item(s), node accepted %" PRIu64 "\n", p->npos, accepted);
  return 0;
}

static int cmd_listen(struct probe *p) {
  uint8_t mailbox[OBJ_MAILBOX_LEN];
  uint64_t count = 0, got = 0;
  int rc = probe_mailbox_opt(p, mailbox);
  if (rc == 0) rc = probe_num_opt(p, O_COUNT, 1000000, 1, &count); /* 0 = until timeout */
  if (rc < 0) return rc;
  if ((rc = nodeapi_subscribe(&p->api, (const uint8_t(*)[OBJ_MAILBOX_LEN])mailbox, 1)) < 0)
    return probe_api_fail(p, rc);
  char mbh[65];
  hex_encode(mbh, sizeof mbh, mailbox, OBJ_MAILBOX_LEN);
  if (p->json) { /* scripts wait for this line before producing events */
    struct jsonw j;
    pj_begin(&j, 1, "listen");
    jsonw_str(&j, "subscribed", mbh);
    jsonw_end(&j);
  } else
    printf("subscribed to mailbox %s\n", mbh);
  fflush(stdout);
  uint64_t deadline = os_mono_ms() + (uint64_t)p->timeout_ms;
  while (count == 0 || got < count) {
    uint64_t now = os_mono_ms();
    int left = now >= deadline ? 0 : (int)(deadline - now);
    struct nodeapi_event ev;
    rc = nodeapi_wait_event(&p->api, left, os_wall_ms(), &ev);
    if (rc == MOMEDO_E_TIMEOUT && count == 0) break;
    if (rc == MOMEDO_E_TIMEOUT)
      return probe_fail(p, rc, "received %" PRIu64 " of %" PRIu64 " event(s) within %d ms", got,
                        count, p->timeout_ms);
    if (rc < 0) return probe_api_fail(p, rc);
    struct probe_obj po = {ev.seq, ev.kind, ev.mailbox, ev.data, ev.len, ev.err, &ev.info};
    probe_print_obj(p, &po);
    fflush(stdout);
    nodeapi_event_clear(&ev);
    got++;
  }
  if (!p->json) printf("%" PRIu64 " event(s)\n", got);
  return 0;
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct probe_cmd {
  const char *name;
  int (*run)(struct probe *p);
  unsigned opts;      /* allowed besides GLOBAL_OPTS */
  int pos_min, pos_max;
  int node;           /* connect and Hello first */
  int auth;           /* authenticate first */
};

static const struct probe_cmd probe_cmds[] = {
    {"keygen", cmd_keygen, 0, 0, 0, 0, 0},
    {"id", cmd_id, 0, 0, 0, 0, 0},
    {"register", cmd_register, BIT(O_CLAIM_IDENTITY) | BIT(O_CLAIM_DEVICE), 0, 1, 1, 0},
    {"publish", cmd_publish, BIT(O_REVOKED) | BIT(O_HOMES) | BIT(O_GRANTS), 0, 0, 1, 1},
    {"lookup", cmd_lookup, BIT(O_USER_ID) | BIT(O_SELF) | BIT(O_ALIAS), 0, 0, 1, 0},
    {"alias", cmd_alias, 0, 0, 0, 1, 1},
    {"post", cmd_post,
     BIT(O_MAILBOX) | BIT(O_SELF) | BIT(O_TO_USER) | BIT(O_TEXT) | BIT(O_FILE) | BIT(O_TTL) |
         BIT(O_SEAL) | BIT(O_COUNT) | BIT(O_WINDOW), 0, 0, 1, 1},
    {"fetch", cmd_fetch,
     BIT(O_MAILBOX) | BIT(O_CURSOR) | BIT(O_LIMIT) | BIT(O_ACK) | BIT(O_OPEN) | BIT(O_RAW_TEXT) |
         BIT(O_HEX),
     0, 0, 1, 1},
    {"ack", cmd_ack, 0, 1, PROBE_POSITIONAL_MAX, 1, 1},
    {"listen", cmd_listen, BIT(O_MAILBOX) | BIT(O_COUNT) | BIT(O_OPEN) | BIT(O_RAW_TEXT), 0, 0, 1,
     1},
};

static void probe_usage(FILE *f) {
  fprintf(f,
          "usage: momedo-probe keygen --keys FILE\n"
          "       momedo-probe [--invite CODE | --node HOST:PORT --node-key KEY] --keys FILE\n"
          "                    [--json] [--timeout-ms N] [--as-user IDENTITY_KEY_HEX] COMMAND\n"
          "       momedo-probe --version | --help\n"
          "commands:\n"
          "  register [TOKEN] [--claim-identity HEX] [--claim-device HEX]\n"
          "                                    (TOKEN optional with --invite; --claim-*: name\n"
          "                                    keys the probe does not hold, for attack tests)\n"
          "  publish [--revoked] [--homes HEX,..] [--grants HEX,..]\n"
          "                                    publish this device's key bundle (a revocation;\n"
          "                                    more home node keys; packed partner grants as\n"
          "                                    register prints them, for attack tests)\n"
          "  lookup (--user-id ID | --self | --alias A)\n"
          "  alias                             ask the home node for a short alias\n"
          "  post (--mailbox HEX | --self | --to-user ID) (--text T | --file PATH)\n"
          "       [--ttl-ms N] [--seal]\n"
          "  post ... --text T --count N [--window W]   burst: N posts (\"T #i\") pipelined\n"
          "       on one connection, at most W unanswered (default N); one line per item\n"
          "  fetch [--mailbox HEX] [--cursor N] [--limit N] [--ack] [--open] [--raw-text] [--hex]\n"
          "  ack ID_HEX...\n"
          "  listen [--mailbox HEX] [--count N] [--open] [--raw-text]   (0 = until timeout)\n"
          "  id                                print user ID, keys and mailbox\n");
}

/* Options anywhere; the first other word is the command, the rest are its arguments. */
static int probe_take_pos(struct probe *p, const char *a) {
  if (p->cmd == NULL) p->cmd = a;
  else if (p->npos == PROBE_POSITIONAL_MAX)
    return probe_fail(p, MOMEDO_E_INVAL, "more than %d arguments", PROBE_POSITIONAL_MAX);
  else p->pos[p->npos++] = a;
  return 0;
}

#define PROBE_OPT_VAL0 256 /* getopt_long's val of option 0: above chars, 1, ':' and '?' */

/* getopt_long in order: options anywhere, each once; arguments after "--" are positional. */
static int probe_parse(struct probe *p, int argc, char **argv) {
  struct option lo[O__COUNT + 1];
  for (int i = 0; i < O__COUNT; i++)
    lo[i] = (struct option){probe_opts[i].name + 2,
                            probe_opts[i].takes_value ? required_argument : no_argument, NULL,
                            PROBE_OPT_VAL0 + i};
  memset(&lo[O__COUNT], 0, sizeof lo[0]);
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--json") == 0) p->json = 1; /* errors in options are JSON too */
  optind = 1;
  opterr = 0;
  int ch, rc = 0;
  while (rc == 0 && (ch = getopt_long(argc, argv, "-:", lo, NULL)) != -1) {
    if (ch == 1) rc = probe_take_pos(p, optarg);
    else if (ch == ':') rc = probe_fail(p, MOMEDO_E_INVAL, "%s needs a value", argv[optind - 1]);
    else if (ch == '?' && optopt) rc = probe_fail(p, MOMEDO_E_INVAL, "unknown option -%c", optopt);
    else if (ch == '?') rc = probe_fail(p, MOMEDO_E_INVAL, "unknown option %s", argv[optind - 1]);
    else if (p->opt[ch - PROBE_OPT_VAL0] != NULL)
      rc = probe_fail(p, MOMEDO_E_INVAL, "%s given twice", probe_opts[ch - PROBE_OPT_VAL0].name);
    else p->opt[ch - PROBE_OPT_VAL0] = optarg ? optarg : "";
  }
  for (int i = optind; rc == 0 && i < argc; i++) rc = probe_take_pos(p, argv[i]);
  if (rc == 0 && p->cmd == NULL) return probe_fail(p, MOMEDO_E_INVAL, "no command given");
  return rc;
}

/* Syntax of values that need no keys or node, checked before connecting. */
static int probe_check_values(struct probe *p) {
  uint8_t mb[OBJ_MAILBOX_LEN];
  uint64_t v;
  int rc = 0;
  if (p->opt[O_MAILBOX] != NULL && hex_decode_str(mb, OBJ_MAILBOX_LEN, p->opt[O_MAILBOX]) < 0)
    return probe_fail(p, MOMEDO_E_INVAL, "--mailbox takes 64 hex digits");
  if (p->opt[O_USER_ID] != NULL) rc = probe_check_user_id(p, "--user-id", p->opt[O_USER_ID]);
  if (rc == 0 && p->opt[O_TO_USER] != NULL)
    rc = probe_check_user_id(p, "--to-user", p->opt[O_TO_USER]);
  if (rc == 0) rc = probe_num_opt(p, O_TTL, OBJ_TTL_MS_MAX, 0, &v);
  if (rc == 0) rc = probe_num_opt(p, O_CURSOR, UINT64_MAX, 0, &v);
  if (rc == 0) rc = probe_num_opt(p, O_LIMIT, NODEAPI_FETCH_LIMIT_MAX, 0, &v);
  if (rc == 0) rc = probe_num_opt(p, O_COUNT, PROBE_BURST_MAX, 1, &v);
  if (rc == 0) rc = probe_num_opt(p, O_WINDOW, PROBE_BURST_MAX, 0, &v);
  return rc;
}

static int probe_check_cmd(struct probe *p, const struct probe_cmd *c) {
  uint64_t t;
  for (int o = 0; o < O__COUNT; o++)
    if (p->opt[o] != NULL && !((GLOBAL_OPTS | c->opts) & BIT(o)))
      return probe_fail(p, MOMEDO_E_INVAL, "%s does not apply to %s", probe_opts[o].name, c->name);
  if (p->npos < c->pos_min || p->npos > c->pos_max)
    return probe_fail(p, MOMEDO_E_INVAL, "%s takes %d to %d argument(s), got %d", c->name,
                      c->pos_min, c->pos_max, p->npos);
  if (p->opt[O_KEYS] == NULL) return probe_fail(p, MOMEDO_E_INVAL, "--keys FILE is required");
  if (!c->node && (p->opt[O_INVITE] || p->opt[O_NODE] || p->opt[O_NODE_KEY]))
    return probe_fail(p, MOMEDO_E_INVAL, "%s does not talk to a node", c->name);
  if (probe_num_opt(p, O_TIMEOUT, 86400000, NODEAPI_TIMEOUT_MS_DEFAULT, &t) < 0)
    return MOMEDO_E_INVAL;
  p->timeout_ms = (int)t;
  p->json = p->opt[O_JSON] != NULL;
  return probe_check_values(p);
}

static int probe_run(struct probe *p, const struct probe_cmd *c) {
  int rc = 0;
  if (c->run != cmd_keygen) rc = probe_keys_load(p, p->opt[O_KEYS]);
  if (rc == 0 && c->node) rc = probe_connect(p);
  if (rc == 0 && c->auth) rc = probe_auth(p);
  if (rc == 0) rc = c->run(p);
  return rc;
}

static void probe_report(struct probe *p, const char *cmd, int rc) {
  const char *why = p->reason[0] != '\0' && strcmp(p->reason, momedo_strerror(rc)) != 0
                        ? p->reason : NULL; /* the node may send the bare message */
  fprintf(stderr, "%s: %s: %s: %s%s%s%s\n", PROBE_NAME, cmd, momedo_status_name(rc),
          momedo_strerror(rc), why ? " (" : "", why ? why : "", why ? ")" : "");
  if (p->json) {
    struct jsonw j;
    pj_begin(&j, 0, cmd);
    jsonw_str(&j, "error", momedo_status_name(rc));
    jsonw_str(&j, "reason", why ? why : momedo_strerror(rc));
    jsonw_end(&j);
  }
}

int main(int argc, char **argv) {
  static struct probe p; /* large (nodeapi buffers): not on the stack */
  const struct probe_cmd *c = NULL;
  int rc, usage = 0;
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    probe_usage(stdout);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("momedo-probe %s\n", MOMEDO_VERSION);
    return 0;
  }
  rc = probe_parse(&p, argc, argv);
  for (size_t i = 0; rc == 0 && c == NULL && i < sizeof probe_cmds / sizeof probe_cmds[0]; i++)
    if (strcmp(probe_cmds[i].name, p.cmd) == 0) c = &probe_cmds[i];
  if (rc == 0 && c == NULL) rc = probe_fail(&p, MOMEDO_E_INVAL, "unknown command %s", p.cmd);
  int show_usage = rc < 0; /* the command line did not even name a command */
  if (rc == 0) rc = probe_check_cmd(&p, c);
  usage = rc < 0;
  if (rc == 0) rc = probe_run(&p, c);
  if (rc < 0) {
    probe_report(&p, p.cmd ? p.cmd : "usage", rc);
    if (show_usage) probe_usage(stderr);
  }
  fflush(stdout);
  if (p.api_open) nodeapi_close(&p.api);
  transport_tls_free(p.tls);
  crypto_wipe(&p.keys, sizeof p.keys);
  if (rc < 0) return usage ? PROBE_EXIT_USAGE : PROBE_EXIT_FAIL;
  return 0;
}
