/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFDISCOVER_H
#define CFW_CFDISCOVER_H

#include <stdbool.h>

#include "cfdistxml.h"
#include "strlist.h"

/* Compares a distribution's own settings (GetDistributionConfig) with a
 * site's, read-only, and says in sentences what would break.  Pure: no
 * clock, file or network.
 *
 * The origin serving the site: with an S3 origin configured, the
 * distribution's origin whose DomainName names the bucket (an S3 REST
 * or website endpoint, "BUCKET.s3..." or "BUCKET.s3-website..."); else
 * the default cache behavior's TargetOriginId.
 *
 * CloudFront asks an origin for OriginPath followed by the viewer's URL
 * path (API Reference, Origin: "An optional path that CloudFront appends
 * to the origin domain name when CloudFront requests content"), and
 * invalidation paths are the viewer's ("relative to the distribution",
 * Developer Guide).  So:
 *   - with an S3 origin, the object s3://B/P/x is served at the URL
 *     /x' where OriginPath + /x' = /P/x; cfwatch invalidates url_prefix
 *     + /x, so OriginPath + url_prefix must equal "/" P;
 *   - without one, a url_prefix that repeats the OriginPath is the
 *     mistake of s3_website #207: every invalidation misses.
 * The default root object is what CloudFront serves for "/" (Developer
 * Guide, "Specify a default root object"); cfwatch invalidates "/" when
 * index_name at the root changes, so they must name the same file.
 * Without one, an S3 REST origin answers "/" with an error. */

struct cfdiscover_site {
  const char *url_prefix; /* "" or "/x" */
  const char *index_name; /* "index.html" */
  const char *origin;     /* "s3://bucket/prefix", or NULL */
};

struct cfdiscover_report {
  bool found;                    /* the origin serving the site */
  bool by_bucket;                /* found by its bucket, not the behavior */
  struct cf_origin origin;       /* that origin, if found */
  char default_root_object[256]; /* "" if none */
  bool has_cache_tags;
  char cache_tag_header[256];
  struct strlist warnings; /* owned: one sentence each */
};

void cfdiscover_report_init(struct cfdiscover_report *r);
void cfdiscover_report_free(struct cfdiscover_report *r); /* NULL is fine */

/* Fills out (initialised; emptied first) from dc and site.  0, -EINVAL
 * (site->origin is not an s3:// location) or -ENOMEM. */
int cfdiscover_check(const struct cf_distribution_config *dc,
                     const struct cfdiscover_site *site,
                     struct cfdiscover_report *out);

#endif
