/* fuzz_admin_manifest — the backup MANIFEST reader of `momedo-admin restore`
 * (adm_manifest_read, admin/adm_backup.c): the input is the file's content. Accepted:
 * at most ADM_BACKUP_FILES_MAX files, each name a plain node file or store/NAME (no
 * "..", no other directory), none twice. Refused: an error naming MANIFEST and a line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adm_backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024)

static char dir[64];

static void cleanup(void) { rmdir(dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128], err[REASON_MAX];
  if (size > INPUT_MAX) return 0;
  if (!dir[0]) {
    /* The reader takes a directory, so each input is written as a file: on tmpfs
     * (/dev/shm) where there is one, not through the disk file system's journal. */
    snprintf(dir, sizeof dir, "/dev/shm/fuzz-manifest-XXXXXX");
    if (!mkdtemp(dir)) {
      snprintf(dir, sizeof dir, "/tmp/fuzz-manifest-XXXXXX");
      if (!mkdtemp(dir)) abort();
    }
    atexit(cleanup);
  }
  snprintf(path, sizeof path, "%s/%s", dir, ADM_MANIFEST_FILE);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
  struct adm_manifest m;
  memset(err, 'x', sizeof err);
  int rc = adm_manifest_read(dir, &m, err, sizeof err);
  if (rc == 0) {
    if (m.n > ADM_BACKUP_FILES_MAX) abort();
    for (size_t i = 0; i < m.n; i++) {
      const char *name = m.files[i].name;
      if (strstr(name, "..") || (strchr(name, '/') && strncmp(name, "store/", 6) != 0) ||
          strchr(name + (strncmp(name, "store/", 6) == 0 ? 6 : 0), '/'))
        abort();
      for (size_t k = 0; k < i; k++)
        if (strcmp(m.files[k].name, name) == 0) abort();
    }
    adm_manifest_free(&m);
  } else if (!memchr(err, '\0', sizeof err) || !strstr(err, ADM_MANIFEST_FILE)) {
    abort();
  }
  unlink(path);
  return 0;
}
