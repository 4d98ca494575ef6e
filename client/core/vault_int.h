/* client/core/vault_int.h — between vault.c (sealing, names, the key file) and vault_db.c
 * (the table of sealed records in vault.db). Not for callers of the vault. */
#ifndef MOMEDO_CLIENT_VAULT_INT_H
#define MOMEDO_CLIENT_VAULT_INT_H

#include "vault.h"

/* vault.c */
int vault__name_ok(const char *name);
/* 1 if data starts like a sealed record of this format (magic, format, room for nonce
 * and tag), else 0. */
int vault__sealed_header(const uint8_t *data, size_t len);

/* Wrap v's data key (and its name key when they differ: format 2) under pass into file
 * (a name in v->dir), atomically. E_INVAL, E_IO. */
MOMEDO_WUR int vault__wrap_at(const struct vault *v, const char *file, const char *pass,
                              size_t pass_len, unsigned log2_n);
/* The sealed record name (f, n bytes) opened with old_key and sealed anew under new_key
 * with a fresh nonce: *out (malloc'ed, n bytes). E_CORRUPT (does not open), E_NOMEM. */
MOMEDO_WUR int vault__reseal(const uint8_t old_key[static CRYPTO_AEAD_KEY_LEN],
                             const uint8_t new_key[static CRYPTO_AEAD_KEY_LEN],
                             const char *name, const uint8_t *f, size_t n, uint8_t **out);

/* vault_db.c: an SQLite result code as a status (busy E_BUSY, damaged E_CORRUPT, E_IO). */
int vdb_status(int src);
/* vault_db.c: 0 or MOMEDO_E_*; vdb_get's *data is malloc'ed (E_NOTFOUND without a row). */
MOMEDO_WUR int vdb_open(struct vault *v);
void vdb_close(struct vault *v);
MOMEDO_WUR int vdb_remove_orphan(const char *dir);
MOMEDO_WUR int vdb_get(const struct vault *v, const char *name, uint8_t **data, size_t *len);
MOMEDO_WUR int vdb_put(const struct vault *v, const char *name, const uint8_t *data, size_t len);
MOMEDO_WUR int vdb_del(const struct vault *v, const char *name);
/* Move every sealed file of an older momedo in dir into the table (one transaction),
 * then remove the files; *moved counts the files removed. */
MOMEDO_WUR int vdb_migrate(struct vault *v, size_t *moved);

#endif
