/* SPDX-License-Identifier: MIT */
/* The AWS clients a site builds: one credentials chain shared by the
 * CloudFront client, an S3 origin's client and a state in S3's. */
#include <errno.h>

#include "site_int.h"

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

/* An S3 client's options but the bucket: the origin's and the state's
 * share the region, the endpoint and the retries. */
void site_s3_opts(const struct site *s, struct s3_client_opts *so)
{
  const struct site_config *c = s->cfg;

  so->region = c->region;
  so->endpoint = c->s3_endpoint;
  so->aws = s->aws;
  so->log = s->o.log;
  so->retry_for_ms = s->o.mode == SITE_WATCH ? 0 : c->retry_for_s * 1000;
}

/* The AWS side of a site that sends: one credentials chain for the
 * CloudFront client and, with an origin, the S3 client. */
int site_init_clients(struct site *s, struct cfw_err *err)
{
  const struct site_config *c = s->cfg;
  struct cf_client_opts co = {0};
  struct s3_client_opts so = {0};
  int rc;

  rc = site_aws_init(s, err);
  co.endpoint = c->endpoint;
  co.distribution_id = c->distribution_id;
  co.aws = s->aws;
  co.http = s->o.http;
  co.log = s->o.log;
  if (rc == 0)
    rc = cf_client_new(&s->cf, s->o.loop, &co, err);
  if (rc == 0 && inflight_new(&s->inflight) < 0)
    rc = cfw_err_set(err, -ENOMEM, "out of memory");
  if (rc < 0 || c->origin == NULL)
    return rc;
  site_s3_opts(s, &so);
  so.bucket = s->origin.bucket;
  return s3_client_new(&s->s3, s->o.loop, &so, err);
}
