/* SPDX-License-Identifier: MIT */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "s3_int.h"
#include "util.h"

/* The S3 client: its bucket, region and endpoint (s3call.c runs the
 * calls). */

#define S3_BASE_MS      200
#define S3_CAP_MS       20000
#define S3_FOREVER_CAP  (5 * 60 * 1000)
#define S3_TIMEOUT_MS   60000
#define S3_ENDPOINT_FMT "https://s3.%s.amazonaws.com"

const char *s3_outcome_str(enum s3_outcome o)
{
  static const char *const names[] = {
      "ok",      "changed", "precondition failed", "not found",
      "refused", "gave up", "cancelled",           "failed"};

  return (unsigned)o < ARRAY_SIZE(names) ? names[o] : "?";
}

const char *s3_client_bucket(const struct s3_client *c)
{
  return c->bucket;
}

const char *s3_client_region(const struct s3_client *c)
{
  return c->region;
}

/* ---- Regions ---- */

static bool s3_region_ok(const char *r)
{
  size_t n = strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-");

  return n > 0 && n < S3_REGION_MAX && r[n] == '\0';
}

int s3_client_set_region(struct s3_client *c, const char *region,
                         struct cfw_err *err)
{
  struct aws_endpoint ep;
  char url[128];
  int rc;

  if (!s3_region_ok(region))
    return cfw_err_set(err, -EINVAL, "region \"%.64s\" is not a region",
                       region);
  if (c->default_endpoint) {
    (void)snprintf(url, sizeof(url), S3_ENDPOINT_FMT, region); /* fits */
    rc = aws_endpoint_parse(&ep, url, err);
    if (rc < 0)
      return rc;
    aws_endpoint_free(&c->ep);
    c->ep = ep;
  }
  str_copy(c->region, sizeof(c->region), region);
  return 0;
}

static int s3_client_check(const struct s3_client_opts *o, struct cfw_err *err)
{
  struct s3url u;
  char url[S3URL_BUCKET_MAX + 8];
  const char *region = o->region ? o->region : S3_DEFAULT_REGION;

  if (o->bucket == NULL || strlen(o->bucket) > S3URL_BUCKET_MAX)
    return cfw_err_set(err, -EINVAL, "S3: no bucket, or a name too long");
  (void)snprintf(url, sizeof(url), "s3://%s", o->bucket); /* fits */
  if (s3url_parse(url, &u, err) < 0)
    return err != NULL ? err->code : -EINVAL;
  if (!s3_region_ok(region))
    return cfw_err_set(err, -EINVAL, "S3: region \"%.64s\" is not a region",
                       region);
  return 0;
}

static int s3_client_setup(struct s3_client *c, const struct s3_client_opts *o,
                           struct cfw_err *err)
{
  int rc;

  str_copy(c->bucket, sizeof(c->bucket), o->bucket);
  c->default_endpoint = o->endpoint == NULL;
  if (o->endpoint != NULL) {
    rc = aws_endpoint_parse(&c->ep, o->endpoint, err);
    if (rc < 0)
      return rc;
    if (!c->ep.https && !c->ep.loopback)
      return cfw_err_set(err, -EPERM,
                         "S3 endpoint %s: plain http is only for loopback "
                         "hosts; use https",
                         o->endpoint);
  }
  c->retry_for_ms = o->retry_for_ms;
  c->base_ms = o->backoff_base_ms ? o->backoff_base_ms : S3_BASE_MS;
  c->cap_ms = o->backoff_cap_ms      ? o->backoff_cap_ms
              : o->retry_for_ms == 0 ? S3_FOREVER_CAP
                                     : S3_CAP_MS;
  c->timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : S3_TIMEOUT_MS;
  c->rng = (uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)c) | 1;
  if (o->region_source != NULL)
    str_copy(c->region_source, sizeof(c->region_source), o->region_source);
  else
    str_copy(c->region_source, sizeof(c->region_source),
             o->region != NULL ? "region" : "the default");
  rc = s3_client_set_region(c, o->region ? o->region : S3_DEFAULT_REGION, err);
  if (rc == 0)
    log_msg(c->log, LOG_DEBUG, "S3 bucket %s: region %s (from %s)", c->bucket,
            c->region, c->region_source);
  return rc;
}

int s3_client_new(struct s3_client **out, uv_loop_t *loop,
                  const struct s3_client_opts *o, struct cfw_err *err)
{
  struct s3_client *c;
  int rc = s3_client_check(o, err);

  if (rc < 0)
    return rc;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  c->loop = loop;
  c->aws = o->aws;
  c->log = o->log;
  rc = s3_client_setup(c, o, err);
  if (rc < 0) {
    aws_endpoint_free(&c->ep);
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void s3_client_destroy(struct s3_client *c)
{
  if (c == NULL)
    return;
  while (c->ops != NULL)
    s3_cancel(c->ops); /* its callback unlinks it */
  aws_endpoint_free(&c->ep);
  free(c);
}
