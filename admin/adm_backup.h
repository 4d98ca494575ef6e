/* admin/adm_backup.h — a backup directory as files, shared by `backup` and `restore`:
 * copying files durably, and the MANIFEST that lists every file of a backup with its
 * size (written last, so a backup without one is incomplete; read with hard bounds).
 * Layout of a backup: MANIFEST, node.key, momedo.conf, neighbors.conf (when the node
 * had one), store/ (a RocksDB checkpoint: a flat directory of files). */
#ifndef MOMEDO_ADM_BACKUP_H
#define MOMEDO_ADM_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "nodedir.h"

#define ADM_MANIFEST_FILE "MANIFEST"
#define ADM_MANIFEST_MAGIC "momedo-backup 1"
#define ADM_BACKUP_FILES_MAX 100000   /* files in one backup (its store's table files) */
#define ADM_BACKUP_NAME_MAX 255       /* one file name, without "store/" */
#define ADM_MANIFEST_BYTES_MAX (ADM_BACKUP_FILES_MAX * (ADM_BACKUP_NAME_MAX + 40))
#define ADM_VERSION_CHARS_MAX 31

struct adm_backup_file {
  char name[ADM_BACKUP_NAME_MAX + 8]; /* "node.key", "store/000012.sst", ... */
  uint64_t size;
};

struct adm_manifest {
  char version[ADM_VERSION_CHARS_MAX + 1]; /* of the momedo-admin that wrote it */
  char fingerprint[IDS_NODE_FP_STR_MAX];
  uint64_t created_ms;                       /* when the node took the checkpoint */
  uint64_t objects;
  size_t n, cap;
  struct adm_backup_file *files;             /* malloc'ed */
};

/* Copy the regular file src to dst (created, never replaced: E_EXISTS), fsync'ed, with
 * mode; *bytes gets its size. src may be a symlink (momedo.conf in the package) only when
 * follow is set. err (REASON_MAX) names the file on failure. */
MOMEDO_WUR int adm_copy_file(const char *src, const char *dst, unsigned mode, int follow,
                             uint64_t *bytes, char *why, size_t why_cap);

/* Append a file to m (E_BOUNDS beyond ADM_BACKUP_FILES_MAX). */
MOMEDO_WUR int adm_manifest_add(struct adm_manifest *m, const char *name, uint64_t size);
/* Write dir/MANIFEST (0600, fsync'ed, never over an existing one). */
MOMEDO_WUR int adm_manifest_write(const char *dir, const struct adm_manifest *m, char *why,
                                  size_t why_cap);
/* Read and check dir/MANIFEST: its first line, bounds, names (no "..", no other
 * directories), the "end" line; E_CORRUPT with "MANIFEST:LINE: why" otherwise. */
MOMEDO_WUR int adm_manifest_read(const char *dir, struct adm_manifest *m, char *why,
                                 size_t why_cap);
void adm_manifest_free(struct adm_manifest *m);

#endif
