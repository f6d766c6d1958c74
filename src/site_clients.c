/* SPDX-License-Identifier: MIT */
/* What a site builds from its config: its URL map, and the AWS clients,
 * one credentials chain shared by the CloudFront client, an S3 origin's
 * client and a state in S3's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "site_int.h"

bool site_is_dry(const struct site_config *cfg)
{
  return cfg->dry_run || cfg->distribution_id == NULL;
}

const char *site_state_home(const struct site_config *cfg)
{
  return cfg->state_url != NULL ? cfg->state_url : cfg->state_dir;
}

int site_urlmap_new(struct urlmap **out, const struct site_config *cfg,
                    struct cfw_err *err)
{
  struct urlmap_opts o;

  memset(&o, 0, sizeof(o));
  o.prefix = cfg->url_prefix != NULL ? cfg->url_prefix : "";
  o.index_name = cfg->index_name;
  o.dir_without_slash = cfg->dir_without_slash;
  o.pretty = cfg->pretty_urls;
  o.query_strings = cfg->query_strings;
  o.excludes = (const char *const *)cfg->excludes.v;
  o.n_excludes = cfg->excludes.n;
  o.no_default_excludes = cfg->no_default_excludes;
  return urlmap_new(out, &o, err);
}

int site_client_new(struct cf_client **out, uv_loop_t *loop,
                    const struct site_config *cfg, struct http *http,
                    struct log *log, const char *(*getenv_fn)(const char *),
                    struct cfw_err *err)
{
  struct cf_client_opts co = {0};

  co.endpoint = cfg->endpoint;
  co.distribution_id = cfg->distribution_id;
  co.profile = cfg->profile;
  co.http = http;
  co.log = log;
  co.getenv = getenv_fn;
  return cf_client_new(out, loop, &co, err);
}

/* The credentials chain a site's clients share. */
int site_aws_init(struct site *s, struct cfw_err *err)
{
  struct aws_client_opts ao = {0};

  ao.profile = s->cfg->profile;
  ao.http = s->o.http;
  ao.log = s->o.log;
  ao.getenv = s->o.getenv;
  return aws_client_new(&s->aws, s->o.loop, &ao, err);
}

/* The S3 clients' region, found once (awsregion.h): --region or the
 * config's, else the environment's or the profile's, as the AWS CLI. */
static int site_region(struct site *s, struct cfw_err *err)
{
  struct awsregion_opts ro = {0};

  if (s->region.name[0] != '\0')
    return 0;
  ro.region = s->cfg->region;
  ro.source = s->cfg->region_from;
  ro.profile = s->cfg->profile;
  ro.getenv = s->o.getenv;
  return awsregion_resolve(&ro, &s->region, err);
}

/* An S3 client's options but the bucket: the origin's and the state's
 * share the region, the endpoint and the retries. */
int site_s3_opts(struct site *s, struct s3_client_opts *so, struct cfw_err *err)
{
  const struct site_config *c = s->cfg;
  int rc = site_region(s, err);

  if (rc < 0)
    return rc;
  so->region = s->region.name;
  so->region_source = s->region.source;
  so->endpoint = c->s3_endpoint;
  so->aws = s->aws;
  so->log = s->o.log;
  so->retry_for_ms = s->o.mode == SITE_WATCH ? 0 : c->retry_for_s * 1000;
  return 0;
}

/* One client and one in-progress table per distribution, sharing the
 * credentials chain. */
static int site_init_dists(struct site *s, struct cfw_err *err)
{
  const struct site_config *c = s->cfg;
  struct cf_client_opts co = {0};
  size_t i;
  int rc = 0;

  s->dists = calloc(c->distributions.n, sizeof(*s->dists));
  if (s->dists == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  co.endpoint = c->endpoint;
  co.aws = s->aws;
  co.http = s->o.http;
  co.log = s->o.log;
  for (i = 0; rc == 0 && i < c->distributions.n; i++) {
    s->dists[i].id = c->distributions.v[i];
    co.distribution_id = s->dists[i].id;
    s->n_dists++;
    rc = cf_client_new(&s->dists[i].cf, s->o.loop, &co, err);
    if (rc == 0 && inflight_new(&s->dists[i].inflight) < 0)
      rc = cfw_err_set(err, -ENOMEM, "out of memory");
  }
  return rc;
}

void site_dists_destroy(struct site *s)
{
  size_t i;

  for (i = 0; i < s->n_dists; i++) {
    inflight_destroy(s->dists[i].inflight);
    cf_client_destroy(s->dists[i].cf);
  }
  free(s->dists);
  s->dists = NULL;
  s->n_dists = 0;
}

/* The AWS side of a site that sends: one credentials chain for the
 * CloudFront clients and, with an origin, the S3 client. */
int site_init_clients(struct site *s, struct cfw_err *err)
{
  const struct site_config *c = s->cfg;
  struct s3_client_opts so = {0};
  int rc;

  rc = site_aws_init(s, err);
  if (rc == 0)
    rc = site_init_dists(s, err);
  if (rc < 0 || c->origin == NULL)
    return rc;
  rc = site_s3_opts(s, &so, err);
  so.bucket = s->origin.bucket;
  return rc < 0 ? rc : s3_client_new(&s->s3, s->o.loop, &so, err);
}
