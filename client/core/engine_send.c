/* client/core/engine_send.c — sending to a name: a contact, a group or a passphrase
 * channel (eng_send_any), an attachment read from a file, the parsers of a location and
 * a due date, and a message found by ID prefix. Prints nothing: what the send did is
 * returned. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine_int.h"

#define SEND_TEXT_MAX CONTENT_TEXT_BYTES_MAX


int eng_parse_location(struct eng *c, const char *s, Momedo__Location *l) {
  double v[3] = {0, 0, 0};
  int n = 0;
  const char *p = s;
  while (n < 3) {
    char *end = NULL;
    errno = 0;
    v[n] = strtod(p, &end);
    if (end == p || errno || !isfinite(v[n])) break;
    n++;
    if (*end == '\0') {
      p = end;
      break;
    }
    if (*end != ',') {
      n = -1;
      break;
    }
    p = end + 1;
  }
  if (n < 2 || *p != '\0' || v[0] < -90 || v[0] > 90 || v[1] < -180 || v[1] > 180 || v[2] < 0 ||
      v[2] > CONTENT_ACCURACY_M_MAX)
    return eng_fail(c, MOMEDO_E_INVAL, "--location must be LAT,LON[,ACCURACY_M] with latitude "
                    "-90..90, longitude -180..180, accuracy 0..1e7 (got '%s')", s);
  l->lat = v[0];
  l->lon = v[1];
  l->accuracy_m = v[2];
  return 0;
}

/* "YYYY-MM-DD" (end of that day) or "YYYY-MM-DDTHH:MM", local time. */
int eng_parse_due(struct eng *c, const char *s, uint64_t *ms) {
  struct tm tm;
  int y, mo, d, h = 23, mi = 59, sec = 59;
  char tail;
  memset(&tm, 0, sizeof tm);
  int n = sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail);
  if (n == 4 && tail == 'T') {
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%c", &y, &mo, &d, &h, &mi, &tail) != 5)
      n = -1;
    sec = 0;
  } else if (n != 3) {
    n = -1;
  }
  if (n < 0 || y < 2000 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
    return eng_fail(c, MOMEDO_E_INVAL, "--due must be YYYY-MM-DD or YYYY-MM-DDTHH:MM (got '%s')", s);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  if (t == (time_t)-1 || tm.tm_mday != d)
    return eng_fail(c, MOMEDO_E_INVAL, "--due: no such date '%s'", s);
  *ms = (uint64_t)t * 1000u;
  return 0;
}

static const char *guess_mime(const char *name) {
  static const struct {
    const char *ext, *mime;
  } t[] = {{".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".png", "image/png"},
           {".gif", "image/gif"},  {".webp", "image/webp"}, {".heic", "image/heic"},
           {".pdf", "application/pdf"}, {".txt", "text/plain"}, {".csv", "text/csv"},
           {".mp4", "video/mp4"},  {".json", "application/json"}};
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof t / sizeof t[0]; i++)
    if (strcasecmp(dot, t[i].ext) == 0) return t[i].mime;
  return "application/octet-stream";
}

int eng_read_attachment(struct eng *c, const char *path, const char *mime, Momedo__File *f,
                        uint8_t **data, size_t *len) {
  static char name[CONTENT_NAME_BYTES_MAX + 1];
  int rc = vault_read_file(path, CONTENT_FILE_BYTES_DEFAULT_MAX, data, len);
  if (rc == MOMEDO_E_TOOBIG)
    return eng_fail(c, rc, "%s is larger than %llu bytes (the attachment limit)", path,
                    (unsigned long long)CONTENT_FILE_BYTES_DEFAULT_MAX);
  if (rc == MOMEDO_E_NOTFOUND) return eng_fail(c, rc, "no such file: %s", path);
  if (rc) return eng_fail(c, rc, "cannot read %s", path);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(name, sizeof name, "%s", base[0] ? base : "attachment");
  if (mime && (strlen(mime) > CONTENT_MIME_BYTES_MAX || !strchr(mime, '/'))) {
    free(*data);
    *data = NULL;
    return eng_fail(c, MOMEDO_E_INVAL, "--mime must look like type/subtype");
  }
  f->name = name;
  f->mime = (char *)(mime ? mime : guess_mime(name));
  f->size = *len;
  f->photo = strncmp(f->mime, "image/", 6) == 0;
  return 0;
}

int eng_deliver(struct eng *c, struct eng_state *st, struct eng_conn *cn, const char *to,
                Momedo__Content *m, const uint8_t *file, size_t file_len,
                uint8_t id[static TL_ID_LEN], size_t *n_env) {
  struct contact *ct;
  struct eng_blob blob;
  char vname[VAULT_NAME_MAX];
  const char *path = NULL;
  int rc = eng_contact_for(c, st, to, &ct);
  if (rc) return rc;
  if ((rc = eng_refresh_contact(c, st, cn, ct)) != 0) {
    if (ct->n_devices == 0) return rc;
    eng__note(c, "momedo: note: using the cached key bundle of %s (%s)\n", contact_label(ct),
            c->why);
  }
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE) {
    /* The blob is read by the contact's devices and by our own (sync copy). */
    static struct eng_dests d;
    eng_dests_clear(&d);
    eng_dests_self(st, &d);
    if (eng__dests_contact(ct, &d) != 0) eng_dests_clear(&d); /* unknown: every node */
    if ((rc = eng_upload_file(c, cn, file, file_len, &d, &blob)) != 0) return rc;
    Momedo__File *f = m->file;
    f->blob_id = (ProtobufCBinaryData){OBJ_ID_LEN, blob.id};
    f->blob_key = (ProtobufCBinaryData){CONTENT_KEY_LEN, blob.key};
    f->sha256 = (ProtobufCBinaryData){CRYPTO_HASH_LEN, blob.sha};
    f->chunk_count = blob.count;
    f->chunk_bytes = blob.chunk_bytes;
    if (vault_name(&st->vault, "att", blob.id, OBJ_ID_LEN, vname) == 0 &&
        vault_write(&st->vault, vname, file, file_len) == 0)
      path = vname;
  }
  m->message_id = (ProtobufCBinaryData){0, NULL};
  rc = eng_send_content(c, st, cn, ct, m, 0, n_env);
  if (m->body_case == MOMEDO__CONTENT__BODY_FILE) crypto_wipe(blob.key, sizeof blob.key);
  if (rc) return rc;
  memcpy(id, m->message_id.data, TL_ID_LEN);
  return eng_store_outgoing(c, st, ct, m, path);
}

int eng_send_any(struct eng *c, struct eng_state *st, struct eng_conn *cn, const char *to,
                 Momedo__Content *m, const uint8_t *file, size_t file_len,
                 uint8_t id[static TL_ID_LEN], size_t *n_env, int *kind) {
  size_t pl = strlen(ENG_CHANNEL_PREFIX);
  int amb = 0, rc;
  *kind = 0;
  *n_env = 0;
  if (!strncmp(to, ENG_CHANNEL_PREFIX, pl)) {
    struct eng_channel *ch = eng_channel_find(st, to + pl);
    if (!ch)
      return eng_fail(c, MOMEDO_E_NOTFOUND, "not in channel '%s': `momedo channel join %s` "
                      "first", to + pl, to + pl);
    *kind = 2;
    if ((rc = eng_channel_send(c, st, cn, ch, m, id)) == 0) *n_env = 1;
    return rc;
  }
  struct eng_group *cg = eng_group_lookup(st, to, &amb);
  if ((cg || amb) && contacts_resolve(&st->contacts, to))
    return eng_fail(c, MOMEDO_E_EXISTS, "'%s' names both a contact and a group: give the group "
                    "ID prefix (`momedo groups`) or the contact's user ID", to);
  if (amb)
    return eng_fail(c, MOMEDO_E_EXISTS, "'%s' matches several groups: give a longer prefix of "
                    "the group ID", to);
  if (!cg) return eng_deliver(c, st, cn, to, m, file, file_len, id, n_env);
  *kind = 1;
  if ((rc = eng_group_send(c, st, cn, cg, m, file, file_len, id)) == 0) *n_env = 1;
  return rc;
}

/* Find a message by ID prefix in any conversation with a contact (and in groups and
 * channels too when with_groups; *ct stays NULL for those). tl_entry_clear(&f->e). */
int eng_find_any(struct eng *c, struct eng_state *st, const char *hex, struct contact **ct,
                 int with_groups, struct hist_found *f) {
  unsigned kinds = with_groups ? HIST_KINDS_ALL : 1u << HIST_CONTACT;
  *ct = NULL;
  int rc = hist_find_prefix(&st->hist, hex, kinds, f);
  if (rc == MOMEDO_E_INVAL)
    return eng_fail(c, rc, "MSGID must be at least 6 hex digits (as shown in brackets)");
  if (rc == MOMEDO_E_EXISTS)
    return eng_fail(c, rc, "%s matches several messages: give more digits", hex);
  if (rc == MOMEDO_E_NOTFOUND) return eng_fail(c, rc, "no message %s", hex);
  if (rc) return eng_fail(c, rc, "cannot read the history: %s", momedo_strerror(rc));
  if (f->kind == HIST_CONTACT && !(*ct = contacts_find_key(&st->contacts, f->key))) {
    tl_entry_clear(&f->e);
    return eng_fail(c, MOMEDO_E_NOTFOUND, "message %s is with a contact this device no "
                    "longer has", hex);
  }
  return 0;
}
