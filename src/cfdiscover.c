/* SPDX-License-Identifier: MIT */
#include "cfdiscover.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "s3url.h"
#include "util.h"

#define CFDISCOVER_SENTENCE_MAX 2048

void cfdiscover_report_init(struct cfdiscover_report *r)
{
  memset(r, 0, sizeof(*r));
  strlist_init(&r->warnings);
}

void cfdiscover_report_free(struct cfdiscover_report *r)
{
  if (r == NULL)
    return;
  strlist_free(&r->warnings);
  cfdiscover_report_init(r);
}

/* Appends one warning, formatted. */
static int cfdiscover_warn(struct cfdiscover_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int cfdiscover_warn(struct cfdiscover_report *r, const char *fmt, ...)
{
  struct buf b;
  va_list ap;
  int rc;

  buf_init(&b, CFDISCOVER_SENTENCE_MAX);
  va_start(ap, fmt);
  rc = buf_vaddf(&b, fmt, ap);
  va_end(ap);
  if (rc == 0)
    rc = strlist_push(&r->warnings, buf_str(&b));
  buf_free(&b);
  return rc == -E2BIG ? 0 : rc; /* a cut sentence is dropped, not fatal */
}

/* True if an origin's DomainName is an endpoint of bucket: the REST one
 * ("B.s3.amazonaws.com", "B.s3.REGION.amazonaws.com",
 * "B.s3.dualstack.REGION...") or a website one ("B.s3-website-REGION..."
 * or "B.s3-website.REGION..."). */
static bool cfdiscover_names_bucket(const char *domain, const char *bucket)
{
  size_t n = strlen(bucket);

  return strncmp(domain, bucket, n) == 0 &&
         strncmp(domain + n, ".s3", 3) == 0 &&
         (domain[n + 3] == '.' || domain[n + 3] == '-');
}

/* The origin naming the bucket: the default cache behavior's target if
 * it does (two origins may name one bucket with other origin paths),
 * else the first that does. */
static const struct cf_origin *
cfdiscover_by_bucket(const struct cf_distribution_config *dc,
                     const char *bucket)
{
  const struct cf_origin *o = cf_distribution_origin(dc, dc->target_origin_id);
  size_t i;

  if (o != NULL && cfdiscover_names_bucket(o->domain_name, bucket))
    return o;
  for (i = 0; i < dc->n_origins; i++)
    if (cfdiscover_names_bucket(dc->origins[i].domain_name, bucket))
      return &dc->origins[i];
  return NULL;
}

/* With an S3 origin: OriginPath + url_prefix must be "/" + the key
 * prefix, or the URL cfwatch invalidates is not where viewers get the
 * object it uploaded. */
static int cfdiscover_s3_path(struct cfdiscover_report *r,
                              const struct s3url *u, const char *url_prefix)
{
  const char *op = r->origin.origin_path;
  char want[S3URL_PREFIX_MAX + 2]; /* fits: '/', the prefix, NUL */
  size_t n = strlen(op);
  bool under;

  (void)snprintf(want, sizeof(want), "%s%s", u->prefix[0] ? "/" : "",
                 u->prefix);
  under = strncmp(want, op, n) == 0;
  if (under && strcmp(want + n, url_prefix) == 0)
    return 0;
  if (under && (want[n] == '/' || want[n] == '\0'))
    return cfdiscover_warn(
        r,
        "origin %s has the origin path \"%s\" and url_prefix is \"%s\", so "
        "the object s3://%s%s/x is served at %s/x while cfwatch invalidates "
        "%s/x: every invalidation misses (s3_website #207). Set url_prefix "
        "to \"%s\"",
        r->origin.id, op, url_prefix, u->bucket, want, want + n, url_prefix,
        want + n);
  return cfdiscover_warn(
      r,
      "origin %s has the origin path \"%s\", which is not where the origin "
      "= s3://%s/%s puts the site: CloudFront asks the bucket for \"%s\" "
      "followed by the URL path, so it never serves what cfwatch uploads",
      r->origin.id, op, u->bucket, u->prefix, op);
}

/* Without one, cfwatch cannot see where the origin keeps the files, but a
 * url_prefix that repeats the origin path is s3_website #207. */
static int cfdiscover_custom_path(struct cfdiscover_report *r,
                                  const char *url_prefix)
{
  const char *op = r->origin.origin_path;
  size_t n = strlen(op);

  if (n == 0 || strncmp(url_prefix, op, n) != 0 ||
      (url_prefix[n] != '/' && url_prefix[n] != '\0'))
    return 0;
  return cfdiscover_warn(
      r,
      "url_prefix \"%s\" repeats the origin path \"%s\" of origin %s: "
      "CloudFront adds the origin path when it asks the origin, and viewers' "
      "URLs do not hold it, so invalidating %s/x misses the cached %s/x "
      "(s3_website #207). Set url_prefix to \"%s\"",
      url_prefix, op, r->origin.id, url_prefix, url_prefix + n, url_prefix + n);
}

/* The default root object is what CloudFront serves for "/"; it matters
 * when the site is the distribution's root. */
static int cfdiscover_root(struct cfdiscover_report *r,
                           const struct cfdiscover_site *site)
{
  const char *dro = r->default_root_object;

  if (site->url_prefix[0] != '\0' || strcmp(dro, site->index_name) == 0)
    return 0;
  if (dro[0] == '\0' && (!r->found || !r->origin.s3))
    return 0; /* a custom origin (an S3 website) serves its own index;
                 an origin not found is not known to be S3's REST API */
  if (dro[0] == '\0')
    return cfdiscover_warn(
        r,
        "the distribution has no default root object and its origin is an "
        "S3 REST endpoint: a request for / gets the bucket's error, not "
        "%s. Set DefaultRootObject to %s",
        site->index_name, site->index_name);
  return cfdiscover_warn(
      r,
      "the default root object is \"%s\" but index_name is \"%s\": "
      "CloudFront serves / from %s, while cfwatch invalidates / when %s "
      "changes, so a change to %s leaves / stale",
      dro, site->index_name, dro, site->index_name, dro);
}

/* Finds the origin serving the site; with an S3 origin configured, says
 * so if none names its bucket. */
static int cfdiscover_find(const struct cf_distribution_config *dc,
                           const struct s3url *u, struct cfdiscover_report *r)
{
  const struct cf_origin *o;

  if (u != NULL) {
    o = cfdiscover_by_bucket(dc, u->bucket);
    r->by_bucket = o != NULL;
  } else {
    o = cf_distribution_origin(dc, dc->target_origin_id);
  }
  if (o != NULL) {
    r->found = true;
    r->origin = *o;
    return 0;
  }
  if (u != NULL)
    return cfdiscover_warn(r,
                           "no origin of the distribution names the bucket "
                           "%s: viewers get another origin's objects, not "
                           "what cfwatch uploads to s3://%s",
                           u->bucket, u->bucket);
  return cfdiscover_warn(r,
                         "the default cache behavior's target %s is not one "
                         "of the distribution's origins (an origin group?): "
                         "its origin path is not checked",
                         dc->target_origin_id);
}

int cfdiscover_check(const struct cf_distribution_config *dc,
                     const struct cfdiscover_site *site,
                     struct cfdiscover_report *out)
{
  struct s3url u;
  int rc;

  cfdiscover_report_free(out);
  if (site->origin != NULL && s3url_parse(site->origin, &u, NULL) < 0)
    return -EINVAL;
  (void)str_copy(out->default_root_object, sizeof(out->default_root_object),
                 dc->default_root_object);
  out->has_cache_tags = dc->has_cache_tags;
  (void)str_copy(out->cache_tag_header, sizeof(out->cache_tag_header),
                 dc->cache_tag_header);
  rc = cfdiscover_find(dc, site->origin != NULL ? &u : NULL, out);
  if (rc == 0 && out->found)
    rc = site->origin != NULL ? cfdiscover_s3_path(out, &u, site->url_prefix)
                              : cfdiscover_custom_path(out, site->url_prefix);
  if (rc == 0)
    rc = cfdiscover_root(out, site);
  if (rc < 0)
    cfdiscover_report_free(out);
  return rc;
}
