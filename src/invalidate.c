/* SPDX-License-Identifier: MIT */
#include "invalidate.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfpath.h"
#include "cfsend.h"
#include "cloudfront.h"
#include "ledger.h"
#include "site.h"
#include "urlmap.h"
#include "util.h"

struct invalidate {
  struct invalidate_opts o;
  const struct site_config *site; /* borrowed */
  struct strlist paths;           /* owned */
  struct cf_client *cf;           /* owned: the current distribution's */
  size_t dist;                    /* which: an index into distributions */
  char ref[64];                   /* the run's CallerReference */
  uv_work_t work;                 /* the ledger, off the loop */
  struct cfsend_result r;
  invalidate_cb cb;
  void *arg;
};

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

static uint32_t invalidate_wildcards(const struct strlist *paths)
{
  uint32_t n = 0;
  size_t i;

  for (i = 0; i < paths->n; i++)
    n += urlmap_is_wildcard(paths->v[i]);
  return n;
}

static void invalidate_end(struct invalidate *inv, int status,
                           const struct cfw_err *err)
{
  inv->cb(status, err, inv->arg);
  cf_client_destroy(inv->cf);
  strlist_free(&inv->paths);
  free(inv);
}

/* The ledger takes an flock and rewrites a file: off the loop. */
static void invalidate_on_count(uv_work_t *w)
{
  struct invalidate *inv = container_of(w, struct invalidate, work);
  struct cfw_err err = {0};

  if (ledger_record_at(
          inv->site->state_dir, inv->r.id,
          inv->site->distributions.n > 1 ? inv->site->distributions.v[inv->dist]
                                         : NULL,
          (uint32_t)inv->paths.n, invalidate_wildcards(&inv->paths),
          inv->r.inv_status, (int64_t)time(NULL), &err) < 0)
    log_msg(inv->o.log, LOG_WARN, "%s (only the statistics suffer)", err.msg);
}

static void invalidate_nothing(uv_work_t *w)
{
  (void)w; /* a dry run only needs its callback to run from the loop */
}

static int invalidate_send(struct invalidate *inv, struct cfw_err *err);

/* With several distributions, the same paths and reference go to each
 * in turn (CallerReference is unique per distribution). */
static void invalidate_on_counted(uv_work_t *w, int status)
{
  struct invalidate *inv = container_of(w, struct invalidate, work);
  struct cfw_err err = {0};

  (void)status; /* only the statistics could suffer; said above */
  if (site_is_dry(inv->site) || ++inv->dist >= inv->site->distributions.n) {
    invalidate_end(inv, 0, NULL);
    return;
  }
  cf_client_destroy(inv->cf);
  inv->cf = NULL;
  if (invalidate_send(inv, &err) < 0)
    invalidate_end(inv, err.code, &err);
}

static void invalidate_on_sent(struct cfsend *s, struct cfsend_result *r,
                               void *arg)
{
  struct invalidate *inv = arg;

  const char *dist = inv->site->distributions.v[inv->dist];

  (void)s; /* frees itself after this */
  if (r->status < 0 && inv->site->distributions.n > 1)
    cfw_err_prefix(&r->err, "distribution %s", dist);
  if (r->status < 0) {
    invalidate_end(inv, r->status, &r->err);
    return;
  }
  inv->r = *r;
  if (inv->site->distributions.n > 1)
    log_msg(inv->o.log, LOG_INFO,
            "invalidation %s (%s): %zu paths at distribution %s", r->id,
            r->inv_status, inv->paths.n, dist);
  else
    log_msg(inv->o.log, LOG_INFO, "invalidation %s (%s): %zu paths", r->id,
            r->inv_status, inv->paths.n);
  if (uv_queue_work(inv->o.loop, &inv->work, invalidate_on_count,
                    invalidate_on_counted) < 0)
    invalidate_end(inv, 0, NULL);
}

/* Drops a cache tag that an earlier item already names in another case:
 * CloudFront compares tags without regard to case, so the second would
 * only cost a path.  Quadratic in the tags given, which are few. */
static void invalidate_dedupe_tags(struct strlist *paths, struct log *log)
{
  size_t i;
  size_t j;
  size_t n = 0;

  for (i = 0; i < paths->n; i++) {
    for (j = 0; j < n; j++)
      if (cfpath_same_tag(paths->v[j], paths->v[i]))
        break;
    if (j < n) {
      log_msg(log, LOG_INFO,
              "%s: the same cache tag as %s (tags ignore case); sent once",
              paths->v[i], paths->v[j]);
      free(paths->v[i]);
      continue;
    }
    paths->v[n++] = paths->v[i];
  }
  paths->n = n;
}

static int invalidate_check_all(struct strlist *paths, struct log *log,
                                struct cfw_err *err)
{
  size_t i;
  int rc;

  if (paths->n == 0)
    return cfw_err_set(err, -EINVAL, "invalidate: no paths given");
  for (i = 0; i < paths->n; i++) {
    rc = cfpath_check(paths->v[i], err);
    if (rc < 0)
      return rc;
  }
  strlist_sort_unique(paths); /* CloudFront refuses duplicates */
  invalidate_dedupe_tags(paths, log);
  for (i = 0; i < paths->n; i++) {
    if (cfpath_is_tag(paths->v[i])) {
      log_msg(log, LOG_INFO,
              "%s: a cache tag; it invalidates only on a distribution "
              "with a CacheTagConfig (status --discover shows it)",
              paths->v[i]);
      break;
    }
  }
  return 0;
}

static int invalidate_send(struct invalidate *inv, struct cfw_err *err)
{
  const struct site_config *c = inv->site;
  struct cf_client_opts co = {0};
  struct cfsend_opts so = {0};
  struct cfsend *send;
  int rc = 0;

  co.endpoint = c->endpoint;
  co.distribution_id = c->distributions.v[inv->dist];
  co.profile = c->profile;
  co.http = inv->o.http;
  co.log = inv->o.log;
  co.getenv = inv->o.getenv;
  if (inv->ref[0] == '\0')
    rc = invalidate_ref(&inv->paths, inv->ref, sizeof(inv->ref), err);
  if (rc == 0)
    rc = cf_client_new(&inv->cf, inv->o.loop, &co, err);
  if (rc < 0)
    return rc;
  so.cf = inv->cf;
  so.log = inv->o.log;
  so.retry_for_ms = inv->site->retry_for_s * 1000;
  so.wait_complete = inv->o.wait;
  return cfsend_start(&send, inv->o.loop, &so, inv->ref,
                      (const char *const *)inv->paths.v, inv->paths.n,
                      invalidate_on_sent, inv, err);
}

int invalidate_start(const struct invalidate_opts *o,
                     const struct site_config *s, struct strlist *paths,
                     invalidate_cb cb, void *arg, struct cfw_err *err)
{
  struct invalidate *inv;
  int rc;

  rc = invalidate_check_all(paths, o->log, err);
  if (rc < 0) {
    cfw_err_class(err, CFW_CLASS_USAGE);
    return rc;
  }
  inv = calloc(1, sizeof(*inv));
  if (inv == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  inv->o = *o;
  inv->site = s;
  inv->paths = *paths; /* taken */
  strlist_init(paths);
  inv->cb = cb;
  inv->arg = arg;
  if (site_is_dry(s)) {
    log_msg(o->log, LOG_INFO, "%s: printing instead of sending",
            s->distribution_id ? "--dry-run" : "no distribution configured");
    o->print(&inv->paths, o->print_arg);
    /* cb runs from the loop, never from here. */
    rc = uv_queue_work(o->loop, &inv->work, invalidate_nothing,
                       invalidate_on_counted);
  } else {
    rc = invalidate_send(inv, err);
  }
  if (rc < 0) {
    cf_client_destroy(inv->cf);
    strlist_free(&inv->paths);
    free(inv);
  }
  return rc;
}
