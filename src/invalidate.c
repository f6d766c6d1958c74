/* SPDX-License-Identifier: MIT */
#include "invalidate.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cflimits.h"
#include "cfsend.h"
#include "cloudfront.h"
#include "ledger.h"
#include "urlmap.h"
#include "util.h"

/* What cfsend's callback hands back to invalidate_run's uv_run. */
struct invalidate_wait {
  bool done;
  struct cfsend_result r;
};

static bool invalidate_escape_at(const char *p)
{
  return p[0] == '%' && isxdigit((unsigned char)p[1]) &&
         isxdigit((unsigned char)p[2]);
}

int invalidate_check_path(const char *path, struct cfw_err *err)
{
  size_t len = strlen(path);
  struct buf enc;
  size_t i;
  int rc;

  if (path[0] != '/')
    return cfw_err_set(err, -EINVAL, "%s: a path starts with '/'", path);
  if (len > CF_MAX_PATH_LEN)
    return cfw_err_set(err, -EINVAL, "%.40s...: longer than %d characters",
                       path, CF_MAX_PATH_LEN);
  if (strcspn(path, "*") < len - 1)
    return cfw_err_set(err, -EINVAL, "%s: '*' may only come last", path);
  if (strchr(path, '~') != NULL)
    return cfw_err_set(err, -EINVAL,
                       "%s: CloudFront refuses '~' (and %%7E does not "
                       "invalidate): use a wildcard before it",
                       path);
  for (i = 0; i < len; i++) {
    if (invalidate_escape_at(path + i)) {
      i += 2;
      continue;
    }
    buf_init(&enc, 16);
    rc = urlmap_encode(path + i, 1, &enc);
    if (rc == 0 && (enc.len != 1 || path[i] == '%')) {
      rc = cfw_err_set(err, -EINVAL, "%s: byte %zu must be written %s", path, i,
                       buf_str(&enc));
    }
    buf_free(&enc);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* A reference unique to this run: retries within it replay, while the
 * same paths sent again tomorrow make a new invalidation, as asked. */
static int invalidate_ref(const struct strlist *paths, char *out, size_t n,
                          struct cfw_err *err)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned char nonce[8];
  char hex[2 * 12 + 1];
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t i;
  int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL);

  for (i = 0; ok && i < paths->n; i++)
    ok = EVP_DigestUpdate(md, paths->v[i], strlen(paths->v[i]) + 1);
  ok = ok && EVP_DigestFinal_ex(md, digest, NULL) &&
       RAND_bytes(nonce, sizeof(nonce)) == 1;
  EVP_MD_CTX_free(md);
  if (!ok)
    return cfw_err_set(err, -EIO, "could not make a caller reference");
  hex_encode(digest, 12, hex);
  (void)snprintf(out, n, "cfw-inv-%s-", hex); /* fits: n is 64 */
  hex_encode(nonce, sizeof(nonce), out + strlen(out));
  return 0;
}

static void invalidate_on_sent(struct cfsend *s, struct cfsend_result *r,
                               void *arg)
{
  struct invalidate_wait *w = arg;

  (void)s; /* frees itself after this */
  w->r = *r;
  w->done = true;
}

static uint32_t invalidate_wildcards(const struct strlist *paths)
{
  uint32_t n = 0;
  size_t i;

  for (i = 0; i < paths->n; i++)
    n += urlmap_is_wildcard(paths->v[i]);
  return n;
}

static int invalidate_send(const struct once_opts *o,
                           const struct site_config *s, struct cf_client *cf,
                           const struct strlist *paths, struct cfw_err *err)
{
  struct cfsend_opts so = {0};
  struct invalidate_wait w = {0};
  struct cfsend *send;
  char ref[64];
  int rc;

  rc = invalidate_ref(paths, ref, sizeof(ref), err);
  so.cf = cf;
  so.log = o->log;
  so.retry_for_ms = s->retry_for_s * 1000;
  so.wait_complete = o->wait;
  if (rc == 0)
    rc = cfsend_start(&send, o->loop, &so, ref, (const char *const *)paths->v,
                      paths->n, invalidate_on_sent, &w, err);
  if (rc < 0)
    return rc;
  while (!w.done && uv_run(o->loop, UV_RUN_ONCE) != 0)
    ;
  if (!w.done || w.r.status < 0) {
    *err = w.r.err;
    return w.done ? w.r.status : -EIO;
  }
  log_msg(o->log, LOG_INFO, "invalidation %s (%s): %zu paths", w.r.id,
          w.r.inv_status, paths->n);
  if (ledger_record(s->state_dir, w.r.id, (uint32_t)paths->n,
                    invalidate_wildcards(paths), w.r.inv_status,
                    (int64_t)time(NULL), err) < 0)
    log_msg(o->log, LOG_WARN, "%s (only the statistics suffer)", err->msg);
  return 0;
}

static int invalidate_check_all(struct strlist *paths, struct cfw_err *err)
{
  size_t i;
  int rc;

  if (paths->n == 0)
    return cfw_err_set(err, -EINVAL, "invalidate: no paths given");
  for (i = 0; i < paths->n; i++) {
    rc = invalidate_check_path(paths->v[i], err);
    if (rc < 0)
      return rc;
  }
  strlist_sort_unique(paths); /* CloudFront refuses duplicates */
  return 0;
}

int invalidate_run(const struct once_opts *o, const struct site_config *s,
                   struct strlist *paths, struct cfw_err *err)
{
  struct cf_client *cf = NULL;
  int rc;

  rc = invalidate_check_all(paths, err);
  if (rc < 0)
    return rc;
  if (once_is_dry(s)) {
    log_msg(o->log, LOG_INFO, "%s: printing instead of sending",
            s->distribution_id ? "--dry-run" : "no distribution configured");
    o->print(paths, o->print_arg);
    return 0;
  }
  rc = once_client_new(&cf, o, s, err);
  if (rc == 0)
    rc = invalidate_send(o, s, cf, paths, err);
  cf_client_destroy(cf);
  return rc;
}
