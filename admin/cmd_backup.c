/* admin/cmd_backup.c — `momedo-admin backup DEST`: an online backup of a running node.
 * The node makes a consistent checkpoint of its store inside its own directory
 * (BackupReq) and keeps serving; this command copies that checkpoint, the node key,
 * momedo.conf and neighbors.conf into DEST, writes the MANIFEST last and deletes the
 * checkpoint. The copying happens here, not in the node, so a large store never slows
 * the node's loop and DEST may be anywhere the operator can write. */
#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adm.h"
#include "adm_backup.h"
#include "version.h"

#define ADM_BACKUP_TIMEOUT_MS (30u * 60 * 1000) /* a checkpoint flushes and links files */

struct copy_job {
  struct adm_ctx *ctx;
  const char *dest;
  struct adm_manifest m;
  uint64_t bytes;
  char err[REASON_MAX];
};

/* Copy dir/name (name as the manifest lists it) to dest/name. */
static int copy_one(struct copy_job *c, const char *from_dir, const char *from, const char *name,
                    int follow) {
  char src[NODE_PATH_BYTES_MAX], dst[NODE_PATH_BYTES_MAX];
  uint64_t n = 0;
  if (snprintf(src, sizeof src, "%s/%s", from_dir, from) >= (int)sizeof src ||
      snprintf(dst, sizeof dst, "%s/%s", c->dest, name) >= (int)sizeof dst)
    return MOMEDO_E_INVAL;
  int rc = adm_copy_file(src, dst, 0600, follow, &n, c->err, sizeof c->err);
  if (!rc) rc = adm_manifest_add(&c->m, name, n);
  c->bytes += n;
  return rc;
}

/* Every file of the checkpoint (a flat directory) into dest/store/. */
static int copy_store(struct copy_job *c, const char *cp) {
  char dst[NODE_PATH_BYTES_MAX], name[ADM_BACKUP_NAME_MAX + 8];
  int rc = 0;
  if (snprintf(dst, sizeof dst, "%s/%s", c->dest, NODE_STORE_DIR) >= (int)sizeof dst ||
      mkdir(dst, 0700) != 0) {
    reason_set(c->err, sizeof c->err, "cannot create %s: %s", dst, strerror(errno));
    return MOMEDO_E_IO;
  }
  DIR *d = opendir(cp);
  if (!d) {
    reason_set(c->err, sizeof c->err, "%s: %s", cp, strerror(errno));
    return MOMEDO_E_IO;
  }
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
      continue;
    if (strlen(e->d_name) > ADM_BACKUP_NAME_MAX) {
      reason_set(c->err, sizeof c->err, "%s/%.40s...: name too long", cp, e->d_name);
      rc = MOMEDO_E_BOUNDS;
      break;
    }
    snprintf(name, sizeof name, "%s/%s", NODE_STORE_DIR, e->d_name);
    rc = copy_one(c, cp, e->d_name, name, 0);
  }
  closedir(d);
  return rc;
}

static int copy_all(struct copy_job *c, const char *cp) {
  int rc = copy_store(c, cp);
  if (!rc) rc = copy_one(c, c->ctx->dir, NODE_KEY_FILE, NODE_KEY_FILE, 0);
  /* momedo.conf may be the package's link to /etc/momedo/momedo.conf: its content. */
  if (!rc) rc = copy_one(c, c->ctx->dir, NODE_CONF_FILE, NODE_CONF_FILE, 1);
  if (!rc) {
    rc = copy_one(c, c->ctx->dir, NODE_NEIGHBORS_FILE, NODE_NEIGHBORS_FILE, 0);
    if (rc == MOMEDO_E_NOTFOUND) rc = 0; /* a node without neighbors */
  }
  if (!rc) rc = adm_manifest_write(c->dest, &c->m, c->err, sizeof c->err);
  return rc;
}

static int ask_checkpoint(struct adm_ctx *ctx, Momedo__BackupResp **out) {
  Momedo__AdminRequest req = MOMEDO__ADMIN_REQUEST__INIT;
  Momedo__BackupReq br = MOMEDO__BACKUP_REQ__INIT;
  Momedo__AdminResponse *resp = NULL;
  req.body_case = MOMEDO__ADMIN_REQUEST__BODY_BACKUP;
  req.backup = &br;
  int rc = adm_call_timeout(ctx, &req, ADM_BACKUP_TIMEOUT_MS, &resp);
  if (rc) return rc;
  if (resp->body_case != MOMEDO__ADMIN_RESPONSE__BODY_BACKUP || !resp->backup->path ||
      strncmp(resp->backup->path, NODE_BACKUP_DIR "/", sizeof NODE_BACKUP_DIR) != 0 ||
      strstr(resp->backup->path, ".."))
    return adm_fail(ctx, ADM_EXIT_FAIL, MOMEDO_E_PROTO, "the node sent no usable checkpoint");
  *out = resp->backup;
  return 0;
}

static void print_done(struct adm_ctx *ctx, const struct copy_job *c, const char *dest) {
  char size[32], when[64] = "?";
  time_t t = (time_t)(c->m.created_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  adm_fmt_bytes(size, sizeof size, c->bytes);
  if (ctx->json) {
    struct jsonw j;
    jsonw_begin(&j, stdout);
    jsonw_bool(&j, "ok", 1);
    jsonw_str(&j, "dest", dest);
    jsonw_str(&j, "fingerprint", c->m.fingerprint);
    jsonw_u64(&j, "created_ms", c->m.created_ms);
    jsonw_u64(&j, "objects", c->m.objects);
    jsonw_u64(&j, "files", c->m.n);
    jsonw_u64(&j, "bytes", c->bytes);
    jsonw_end(&j);
    return;
  }
  printf("Backed up node %s as of %s (%" PRIu64 " objects) into %s: %zu files, %s.\n"
         "It holds the node's secret key: keep it as safe as the node. Restore it with:\n"
         "  momedo-admin --dir DIR restore %s\n",
         c->m.fingerprint, when, c->m.objects, dest, c->m.n, size, dest);
}

int adm_cmd_backup(struct adm_ctx *ctx, int argc, char **argv) {
  static struct copy_job c; /* large; momedo-admin runs one command */
  char cp[NODE_PATH_BYTES_MAX];
  Momedo__BackupResp *b = NULL;
  if (adm_no_options(ctx, argc, argv) != 0) return ADM_EXIT_USAGE;
  if (optind + 1 != argc) return adm_usage(ctx);
  const char *dest = argv[optind];
  int rc = adm_need_dir(ctx);
  if (rc) return rc;
  if (mkdir(dest, 0700) != 0)
    return adm_fail(ctx, ADM_EXIT_FAIL, errno == EEXIST ? MOMEDO_E_EXISTS : MOMEDO_E_IO,
                    "cannot create %s: %s (give a new directory; its parent must exist)", dest,
                    strerror(errno));
  if ((rc = ask_checkpoint(ctx, &b)) != 0) {
    (void)rmdir(dest);
    return rc;
  }
  c = (struct copy_job){.ctx = ctx, .dest = dest};
  snprintf(c.m.version, sizeof c.m.version, "%s", MOMEDO_VERSION);
  snprintf(c.m.fingerprint, sizeof c.m.fingerprint, "%s", b->fingerprint);
  c.m.created_ms = b->created_ms;
  c.m.objects = b->objects;
  if (snprintf(cp, sizeof cp, "%s/%s", ctx->dir, b->path) >= (int)sizeof cp) rc = MOMEDO_E_INVAL;
  if (!rc) rc = copy_all(&c, cp);
  char rmerr[REASON_MAX];
  if (node_rm_rf(cp, rmerr, sizeof rmerr) != 0 && !ctx->json)
    fprintf(stderr, "momedo-admin: %s (the node deletes it at its next start)\n", rmerr);
  if (rc) {
    if (node_rm_rf(dest, NULL, 0) != 0) { /* leave what could not be deleted */
    }
    rc = adm_fail(ctx, ADM_EXIT_FAIL, rc, "backup failed, %s removed: %s", dest,
                  c.err[0] ? c.err : momedo_strerror(rc));
  } else {
    print_done(ctx, &c, dest);
  }
  adm_manifest_free(&c.m);
  return rc;
}
