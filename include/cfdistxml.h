/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFDISTXML_H
#define CFW_CFDISTXML_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* CloudFront's distribution documents (API 2020-05-31), read with expat
 * through xmltab.h as cfxml.h reads the invalidation ones, under the same
 * rules: elements match by local name and place, with or without the
 * namespace; unknown elements are skipped; a DOCTYPE, nesting deeper than
 * XMLTAB_MAX_DEPTH, another root, a duplicated or missing required
 * element, a count that disagrees with its items and an identifier
 * longer than its field are refused (-EBADMSG), as is a body over the
 * document's cap (-E2BIG).  Only what cfwatch reads is kept. */

/* A ListDistributions page holds full summaries (origins, behaviors),
 * a few kB each; cfwatch asks for 100 to a page. */
#define CFDISTXML_MAX_LIST_ITEMS 1000
#define CFDISTXML_MAX_LIST_BODY  ((size_t)16 << 20)

/* One distribution's config: 75 cache behaviors and 100 origins at
 * most by default (Developer Guide, "Quotas"), far below this. */
#define CFDISTXML_MAX_CONFIG_BODY ((size_t)4 << 20)
#define CFDISTXML_MAX_ORIGINS     512

struct cf_distribution_summary {
  char id[64];           /* "EDFDVBD632BHDS5" */
  char status[32];       /* "Deployed" or "InProgress" */
  char domain_name[256]; /* "d111111abcdef8.cloudfront.net" */
};

/* A ListDistributions page.  Pair cf_distribution_list_init with
 * cf_distribution_list_free. */
struct cf_distribution_list {
  struct cf_distribution_summary *items; /* owned; n of them */
  size_t n;
  size_t quantity;       /* always equals n after a parse */
  bool is_truncated;     /* pass next_marker as Marker for the next page */
  char next_marker[256]; /* "" unless is_truncated */
};

void cf_distribution_list_init(struct cf_distribution_list *l);
void cf_distribution_list_free(struct cf_distribution_list *l); /* NULL ok */

/* Parses a DistributionList into out (initialised; old contents are
 * released).  Requires IsTruncated and Quantity, Quantity to equal the
 * number of summaries, each summary to have an Id, and a NextMarker when
 * IsTruncated is true.  0, -EBADMSG, -E2BIG or -ENOMEM; on failure out
 * is empty. */
int cfdistxml_parse_list(const char *body, size_t len,
                         struct cf_distribution_list *out, struct cfw_err *err);

/* An origin of a distribution. */
struct cf_origin {
  char id[256];          /* what a cache behavior's TargetOriginId names */
  char domain_name[256]; /* "bucket.s3.us-east-1.amazonaws.com" */
  char origin_path[256]; /* "" or "/dir", prepended to the URL path */
  bool s3;               /* S3OriginConfig: an S3 REST endpoint */
  bool custom;           /* CustomOriginConfig: any other (S3 website) */
};

/* GetDistributionConfig's answer: what cfwatch compares with a site's
 * settings.  Pair cf_distribution_config_init with _free. */
struct cf_distribution_config {
  char default_root_object[256]; /* "" if unset */
  char target_origin_id[256];    /* the default cache behavior's origin */
  bool has_cache_tags;           /* CacheTagConfig is set */
  char cache_tag_header[256];    /* its HeaderName */
  struct cf_origin *origins;     /* owned; n_origins of them */
  size_t n_origins;
};

void cf_distribution_config_init(struct cf_distribution_config *c);
void cf_distribution_config_free(struct cf_distribution_config *c);

/* Parses a DistributionConfig into out (initialised; old contents are
 * released).  Requires Origins with a Quantity equal to its Origin
 * items (at least one, at most CFDISTXML_MAX_ORIGINS), each with an Id
 * and a DomainName, and DefaultCacheBehavior with a TargetOriginId.
 * 0, -EBADMSG, -E2BIG or -ENOMEM; on failure out is empty. */
int cfdistxml_parse_config(const char *body, size_t len,
                           struct cf_distribution_config *out,
                           struct cfw_err *err);

/* The origin whose Id is id, or NULL. */
const struct cf_origin *
cf_distribution_origin(const struct cf_distribution_config *c, const char *id);

#endif
