/* client/core/engine_prekey.c — signed prekey rotation on every device (docs/e2e.md,
 * "Keys"). Only the first device holds the identity key that signs the key bundle, so a
 * linked device makes its new prekey, saves it and announces it to the user's other
 * devices (DevicePrekey, end-to-end); the first device checks it (one of its listed
 * devices, signed by that device's key, newer than the listed one) and publishes it at
 * its next sync at home. Nodes and other users cannot put a prekey into the bundle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The rotation interval: ACCOUNT_PREKEY_ROTATE_MS, or shorter when the test variable
 * asks (never longer: it cannot make a prekey outlive its schedule). */
static uint64_t rotate_ms(void) {
  const char *v = getenv(ENG_PREKEY_ROTATE_ENV);
  if (!v || !*v) return ACCOUNT_PREKEY_ROTATE_MS;
  char *end = NULL;
  errno = 0;
  unsigned long long ms = strtoull(v, &end, 10);
  if (errno || *end || v[0] == '-' || ms > ACCOUNT_PREKEY_ROTATE_MS) return ACCOUNT_PREKEY_ROTATE_MS;
  return ms;
}

static int rotation_due(const struct account *a, uint64_t now) {
  return now >= a->prekeys[0].created_ms && now - a->prekeys[0].created_ms >= rotate_ms();
}

static int self_listed(const struct account *a) {
  for (size_t i = 0; i < a->n_devices; i++)
    if (memcmp(a->devices[i].device_key, a->device.pub, 32) == 0) return 1;
  return 0;
}

/* Learn the bundle the home node serves for our identity (a stale one is ignored). */
static int learn_own(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  struct nodeapi_lookup_q q = {.identity_key = st->acct.identity.pub};
  struct nodeapi_bundle b;
  uint8_t key[32];
  int rc = eng_lookup(c, cn, &q, key, &b);
  if (rc) return rc;
  rc = account_learn_bundle(&st->acct, b.bundle);
  if (rc == MOMEDO_E_SUPERSEDED) return 0;
  return rc ? eng_fail(c, rc, "your key bundle is unusable: %s", momedo_strerror(rc)) : 0;
}

/* Send prekeys[0] to the user's other devices (the first device publishes it). */
static int announce(struct eng *c, struct eng_state *st, struct eng_conn *cn, uint64_t now) {
  struct account_prekey_pub p;
  Momedo__Content m = MOMEDO__CONTENT__INIT;
  Momedo__DevicePrekey dp = MOMEDO__DEVICE_PREKEY__INIT;
  size_t n = 0;
  account_prekey_pub(&st->acct, &p);
  dp.signed_prekey = (ProtobufCBinaryData){sizeof p.pub, p.pub};
  dp.prekey_id = p.id;
  dp.prekey_expires_ms = p.expires_ms;
  dp.prekey_signature = (ProtobufCBinaryData){sizeof p.sig, p.sig};
  m.body_case = MOMEDO__CONTENT__BODY_DEVICE_PREKEY;
  m.device_prekey = &dp;
  int rc = eng_send_own(c, st, cn, &m, &n);
  if (rc) return rc; /* tried again at the next sync */
  st->acct.prekey_announced_ms = now;
  return eng_save(c, st);
}

/* A linked device: rotate when due and the bundle lists the current prekey (so at most
 * one is ever waiting and the one senders use is always kept as the previous); while
 * one waits, announce it again once a day. */
static int linked_rotate(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  uint64_t now = os_wall_ms();
  int due = rotation_due(&st->acct, now), rotated = 0;
  if (!due && !account_prekey_pending(&st->acct)) return 0;
  uint64_t version = st->acct.bundle_version;
  int rc = learn_own(c, st, cn);
  if (rc) return rc;
  int learned = st->acct.bundle_version != version;
  if (!self_listed(&st->acct)) return learned ? eng_save(c, st) : 0; /* removed */
  if (account_prekey_pending(&st->acct)) {
    uint64_t last = st->acct.prekey_announced_ms;
    if (last <= now && now - last < ACCOUNT_PREKEY_ANNOUNCE_MS) return learned ? eng_save(c, st) : 0;
    return announce(c, st, cn, now);
  }
  if (!due) return learned ? eng_save(c, st) : 0; /* published: keep knowing it */
  if ((rc = account_rotate_prekey(&st->acct, now, 1, &rotated)) != 0)
    return eng_fail(c, rc, "cannot make a new signed prekey: %s", momedo_strerror(rc));
  /* The secret is saved before its public half leaves; the listed one stays the previous. */
  if ((rc = eng_save(c, st)) != 0) return rc;
  return announce(c, st, cn, now);
}

int eng__prekey_rotate(struct eng *c, struct eng_state *st, struct eng_conn *cn) {
  int rotated = 0;
  if (cn->node != 0) return 0; /* bundles are published and looked up at home */
  if (!st->acct.has_identity) return linked_rotate(c, st, cn);
  uint64_t now = os_wall_ms();
  int rc = account_rotate_prekey(&st->acct, now, rotation_due(&st->acct, now), &rotated);
  if (rc) return eng_fail(c, rc, "cannot make a new signed prekey: %s", momedo_strerror(rc));
  if (!rotated && !st->acct.bundle_due) return 0;
  /* The secret is saved before its public half leaves; the one published so far stays
   * the previous prekey, so first messages made with it still open. */
  if ((rc = eng_save(c, st)) != 0) return rc;
  if ((rc = eng_publish(c, st, cn)) != 0) return rc;
  return eng_save(c, st); /* the bundle version, and nothing due any more */
}

int eng__prekey_take(struct eng *c, struct eng_state *st, const uint8_t from[static 32],
                     const uint8_t device[static 32], const Momedo__Content *m) {
  (void)c;
  const Momedo__DevicePrekey *dp = m->device_prekey;
  struct account_prekey_pub p;
  int changed = 0, rc;
  if (memcmp(from, st->acct.identity.pub, 32) != 0 || m->sync_copy) {
    eng__note(c, "momedo: refused a device prekey: %s\n",
            m->sync_copy ? "marked as a sync copy" : "sent by another user");
    return 0;
  }
  if (!st->acct.has_identity) return 0; /* the first device publishes it */
  memcpy(p.pub, dp->signed_prekey.data, sizeof p.pub);
  p.id = dp->prekey_id;
  p.expires_ms = dp->prekey_expires_ms;
  memcpy(p.sig, dp->prekey_signature.data, sizeof p.sig);
  rc = account_take_prekey(&st->acct, device, &p, os_wall_ms(), &changed);
  if (rc)
    eng__note(c, "momedo: refused a device prekey from one of your devices: %s (%s)\n",
            momedo_strerror(rc), momedo_status_name(rc));
  else if (changed)
    eng__note(c, "momedo: note: a linked device's new signed prekey goes into your key "
            "bundle at this sync\n");
  return 0;
}
