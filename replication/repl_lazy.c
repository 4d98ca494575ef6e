/* replication/repl_lazy.c — lazy push of node records (scoped mode, record_push =
 * lazy): a record accepted from a neighbor is announced to the others by (node key,
 * seq, ID) instead of being pushed whole; a neighbor that lacks it pulls it from the
 * first announcer and, if that one does not serve within record_pull_timeout_ms, from
 * the next. Each node then receives each record body about once instead of once per
 * link. Reconciliation (scope 2) still repairs whatever this misses. No I/O. */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "repl_int.h"

#define REF_LEN (OBJ_KEY_LEN + 8 + OBJ_ID_LEN)

static bool lazy(const struct repl *r) {
  return repl__scoped(r) && r->cfg.record_push == REPL_RECORD_PUSH_LAZY;
}

static bool relayed_record(const struct repl_fresh *f) {
  return f->kind == MOMEDO__OBJECT_KIND__OBJ_NODE_RECORD && !f->from_local;
}

/* Send m (an announce or a pull of n records) and count it as record traffic. */
static int send_record_msg(struct repl *r, struct repl_peer *p, Momedo__ReplMsg *m,
                           uint64_t *counter, size_t n) {
  size_t bytes = momedo__repl_msg__get_packed_size(m);
  int rc = repl__send(r, p, m, false);
  if (rc == 0) {
    p->st.record_bytes_sent += bytes, r->st.record_bytes_sent += bytes;
    *counter += n;
  }
  return rc;
}

static int send_announce(struct repl *r, struct repl_peer *p, uint8_t *refs, size_t n) {
  Momedo__RecordAnnounce a = MOMEDO__RECORD_ANNOUNCE__INIT;
  a.refs = (ProtobufCBinaryData){n * REF_LEN, refs};
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_ANNOUNCE;
  m.announce = &a;
  return send_record_msg(r, p, &m, &r->st.records_announced, n);
}

/* The relayed records to one peer (all but those it sent us), in messages of at most
 * REPL_ANNOUNCE_REFS_MAX refs. */
static int announce_to(struct repl *r, struct repl_peer *p, uint8_t *refs) {
  size_t n = 0;
  int rc = 0;
  for (size_t j = 0; j < r->nfresh && rc == 0; j++) {
    const struct repl_fresh *f = &r->fresh[j];
    if (!relayed_record(f) || f->from_peer == p->id) continue;
    uint8_t *ref = refs + n * REF_LEN;
    memcpy(ref, f->key, OBJ_KEY_LEN);
    be64_put(ref + OBJ_KEY_LEN, f->version);
    memcpy(ref + OBJ_KEY_LEN + 8, f->id, OBJ_ID_LEN);
    if (++n == REPL_ANNOUNCE_REFS_MAX) rc = send_announce(r, p, refs, n), n = 0;
  }
  if (rc == 0 && n) rc = send_announce(r, p, refs, n);
  return rc;
}

int repl__announce_fresh(struct repl *r) {
  size_t nrel = 0;
  if (!lazy(r)) return 0;
  for (size_t j = 0; j < r->nfresh; j++) nrel += relayed_record(&r->fresh[j]);
  if (!nrel) return 0;
  size_t cap = nrel < REPL_ANNOUNCE_REFS_MAX ? nrel : REPL_ANNOUNCE_REFS_MAX;
  uint8_t *refs = malloc(cap * REF_LEN);
  if (!refs) return MOMEDO_E_NOMEM;
  int rc = 0;
  for (size_t i = 0; i < r->npeers && rc == 0; i++) {
    struct repl_peer *p = &r->peers[i];
    if (!p->up) continue;
    if (!repl__can_send(r, p)) {
      p->withheld = true, p->st.withheld++; /* reconciliation repairs it */
      continue;
    }
    rc = announce_to(r, p, refs);
  }
  free(refs);
  /* What is left is pushed whole (own records, other objects). */
  size_t w = 0;
  for (size_t j = 0; j < r->nfresh; j++)
    if (!relayed_record(&r->fresh[j])) r->fresh[w++] = r->fresh[j];
  r->nfresh = w;
  return rc;
}

/* ---- receiving announcements ------------------------------------------------------ */

/* Would this engine take a record of key with seq and id (newer than what it holds)? */
static bool ref_wanted(struct repl *r, const uint8_t *key, uint64_t seq, const uint8_t *id) {
  if (memcmp(key, r->cfg.self_key, OBJ_KEY_LEN) == 0 && seq <= r->own_seq) return false;
  if (r->rec_mem) {
    /* The key's slot says it all: the record held (live or not) is the newest seen, and
     * the one named is wanted only if newer (the same one is not). */
    uint32_t g = repl__key_gid(r->shared, key, false);
    const struct repl_srec *s = g < r->nnodes ? r->nodes[g].rec : NULL;
    if (!s) return !repl__ridx_has(r, id) && repl__ridx_count(r) < REPL_RECORDS_MAX;
    return seq > s->seq || (seq == s->seq && memcmp(id, s->id, OBJ_ID_LEN) > 0);
  }
  if (repl__ridx_has(r, id)) return false;
  struct obj_info i;
  uint8_t old[OBJ_ID_LEN];
  bool has_old;
  memset(&i, 0, sizeof i);
  memcpy(i.key, key, OBJ_KEY_LEN);
  memcpy(i.id, id, OBJ_ID_LEN);
  i.version = seq;
  return repl__record_decide(r, &i, old, &has_old) == 0;
}

static struct repl_pull *pull_find(struct repl *r, const uint8_t *key) {
  for (size_t i = 0; i < r->npulls; i++)
    if (memcmp(r->pulls[i].key, key, OBJ_KEY_LEN) == 0) return &r->pulls[i];
  return NULL;
}

static void pull_note_alt(struct repl_pull *e, uint64_t peer) {
  if (e->peer == peer) return;
  for (uint32_t k = 0; k < e->nalt; k++)
    if (e->alt[k] == peer) return;
  if (e->nalt < REPL_PULL_ALTS) e->alt[e->nalt++] = peer;
}

/* Remember a pull of (key, seq, id) from peer. False: already awaited from another
 * peer (peer noted as an alternative). Untracked when the table is full. */
static bool pull_start(struct repl *r, const uint8_t *key, uint64_t seq, const uint8_t *id,
                       uint64_t peer, uint64_t now_ms) {
  struct repl_pull *e = pull_find(r, key);
  if (e && e->seq >= seq && now_ms < e->until_ms) {
    if (e->seq == seq) pull_note_alt(e, peer);
    return false;
  }
  if (!e && r->npulls == REPL_PULLS_MAX) return true;
  if (!e && r->npulls == r->pulls_cap) {
    size_t ncap = r->pulls_cap ? r->pulls_cap * 2 : 8;
    struct repl_pull *np = realloc(r->pulls, ncap * sizeof *np);
    if (!np) return true;
    r->pulls = np, r->pulls_cap = ncap;
  }
  if (!e) e = &r->pulls[r->npulls++];
  memset(e, 0, sizeof *e);
  memcpy(e->key, key, OBJ_KEY_LEN);
  memcpy(e->id, id, OBJ_ID_LEN);
  e->seq = seq;
  e->peer = peer;
  e->until_ms = now_ms + r->cfg.record_pull_timeout_ms;
  if (e->until_ms < r->pull_next_ms) r->pull_next_ms = e->until_ms;
  return true;
}

static int send_pull(struct repl *r, struct repl_peer *p, uint8_t *ids, size_t n) {
  Momedo__RecordPull q = MOMEDO__RECORD_PULL__INIT;
  q.ids = (ProtobufCBinaryData){n * OBJ_ID_LEN, ids};
  Momedo__ReplMsg m = MOMEDO__REPL_MSG__INIT;
  m.body_case = MOMEDO__REPL_MSG__BODY_PULL;
  m.pull = &q;
  return send_record_msg(r, p, &m, &r->st.records_pulled, n);
}

int repl__on_announce(struct repl *r, struct repl_peer *p, const Momedo__RecordAnnounce *m,
                      uint64_t now_ms) {
  size_t len = m->refs.len;
  if (len % REF_LEN || len / REF_LEN > REPL_ANNOUNCE_REFS_MAX) return MOMEDO_E_BOUNDS;
  if (!repl__scoped(r)) return 0; /* flood mode has no records: nothing to want */
  size_t n = len / REF_LEN, k = 0;
  uint8_t *ids = malloc(n ? n * OBJ_ID_LEN : 1);
  if (!ids) return MOMEDO_E_NOMEM;
  for (size_t i = 0; i < n && k < REPL_WANT_IDS_MAX; i++) {
    const uint8_t *ref = m->refs.data + i * REF_LEN, *id = ref + OBJ_KEY_LEN + 8;
    uint64_t seq = be64_get(ref + OBJ_KEY_LEN);
    if (!ref_wanted(r, ref, seq, id) || !pull_start(r, ref, seq, id, p->id, now_ms)) continue;
    memcpy(ids + k++ * OBJ_ID_LEN, id, OBJ_ID_LEN);
  }
  int rc = k && repl__can_send(r, p) ? send_pull(r, p, ids, k) : 0;
  free(ids);
  return rc;
}

int repl__on_pull(struct repl *r, struct repl_peer *p, const Momedo__RecordPull *m,
                  uint64_t now_ms) {
  if (m->ids.len % OBJ_ID_LEN || m->ids.len / OBJ_ID_LEN > REPL_WANT_IDS_MAX)
    return MOMEDO_E_BOUNDS;
  size_t n = m->ids.len / OBJ_ID_LEN, k = 0;
  uint8_t *ok = malloc(n ? n * OBJ_ID_LEN : 1);
  if (!ok) return MOMEDO_E_NOMEM;
  /* Only live records: a pull is no way to fetch anything else. */
  for (size_t i = 0; i < n; i++) {
    const uint8_t *id = m->ids.data + i * OBJ_ID_LEN;
    if (repl__ridx_has(r, id)) memcpy(ok + k++ * OBJ_ID_LEN, id, OBJ_ID_LEN);
  }
  int rc = k ? repl__push_ids(r, p, ok, k, now_ms) : 0;
  free(ok);
  return rc;
}

/* ---- awaited records ------------------------------------------------------------- */

void repl__pull_done(struct repl *r, const uint8_t key[static OBJ_KEY_LEN], uint64_t seq) {
  struct repl_pull *e = pull_find(r, key);
  if (e && e->seq <= seq) *e = r->pulls[--r->npulls];
}

/* The next announcer of e that is up, asked now; false when none is left. */
static bool pull_retry(struct repl *r, struct repl_pull *e, uint64_t now_ms, int *rc) {
  while (e->nalt) {
    uint64_t peer = e->alt[0];
    memmove(e->alt, e->alt + 1, --e->nalt * sizeof e->alt[0]);
    struct repl_peer *p = repl__peer(r, peer);
    if (!p || !p->up || !repl__can_send(r, p)) continue;
    e->peer = peer;
    e->until_ms = now_ms + r->cfg.record_pull_timeout_ms;
    *rc = send_pull(r, p, e->id, 1);
    return true;
  }
  return false;
}

int repl__pulls_tick(struct repl *r, uint64_t now_ms) {
  int rc = 0;
  if (now_ms < r->pull_next_ms) return 0;
  r->pull_next_ms = UINT64_MAX;
  for (size_t i = 0; i < r->npulls && rc == 0;) {
    struct repl_pull *e = &r->pulls[i];
    if (now_ms >= e->until_ms && !pull_retry(r, e, now_ms, &rc)) {
      /* Nobody left to ask: reconciliation brings it. */
      r->st.record_pulls_failed++;
      *e = r->pulls[--r->npulls];
      continue;
    }
    if (e->until_ms < r->pull_next_ms) r->pull_next_ms = e->until_ms;
    i++;
  }
  return rc;
}
