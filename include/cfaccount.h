/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFACCOUNT_H
#define CFW_CFACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cloudfront.h"
#include "err.h"
#include "log.h"

/* Counts the invalidation paths the whole AWS account sent this calendar
 * month (UTC), over all its distributions: CloudFront's free tier is
 * "the total number of invalidation paths across all of the
 * distributions that you create with one AWS account" (Developer Guide,
 * "Pay for file invalidation"), so one site's ledger only bounds it from
 * below.  Every item counts one path: a wildcard and a cache tag as much
 * as a file (the same page).
 *
 * How: ListDistributions, page by page; then ListInvalidations of each,
 * newest first (botocore's model: "the results are returned in
 * decreasing order from most recent to oldest"), stopping at the first
 * invalidation older than the month; then GetInvalidation for each one
 * of this month whose count is not in the cache (cfacache.h), whose
 * Paths/Quantity is its count.  A second run in the month reads only the
 * lists.  Requests go one at a time, paced and retried by cfpace.h,
 * within max_requests: past it the count is a lower bound and the result
 * says how much was not read.
 *
 * IAM: cloudfront:ListDistributions, and cloudfront:ListInvalidations
 * and cloudfront:GetInvalidation on every distribution.  A distribution
 * whose invalidations are refused is reported as not read, not as a
 * failure; a refused ListDistributions fails the count. */

#define CFACCOUNT_DEFAULT_BUDGET 200 /* requests */
#define CFACCOUNT_PAGE_ITEMS     100 /* MaxItems per list page */
#define CFACCOUNT_PACE_MS        100 /* between two requests: 10 a second */

struct cfaccount_opts {
  uv_loop_t *loop;
  struct log *log;       /* borrowed */
  struct cf_client *cf;  /* borrowed until cb; may name no distribution */
  const char *state_dir; /* the cache's home; NULL: no cache */
  size_t max_requests;   /* the budget, >= 1 */
  uint64_t pace_ms;      /* CFACCOUNT_PACE_MS */
  uint64_t retry_for_ms; /* how long one request keeps retrying */
  int64_t now_s;         /* the wall clock: its month is counted */
};

struct cfaccount_result {
  int status;                  /* 0, or a negative errno with err set */
  struct cfw_err err;          /* also set (status 0) for a cache that failed */
  char month[8];               /* "2026-05" */
  uint64_t month_paths;        /* counted; a lower bound unless complete */
  size_t distributions;        /* listed */
  size_t invalidations;        /* of this month, counted */
  size_t from_cache;           /* of those, counted from the cache */
  size_t requests;             /* sent, retries included */
  size_t max_requests;         /* the budget */
  bool complete;               /* everything of the month was read */
  bool more_distributions;     /* the distribution list was not read whole */
  size_t unread_distributions; /* listed, invalidations not all listed */
  size_t unread_invalidations; /* listed, paths not read */
};

/* Runs once, from the loop, unless cfaccount_start fails; r is valid
 * only during the call. */
typedef void (*cfaccount_cb)(const struct cfaccount_result *r, void *arg);

/* Starts a count.  0, or -ENOMEM / the threadpool's error (cb never
 * runs). */
int cfaccount_start(const struct cfaccount_opts *o, cfaccount_cb cb, void *arg,
                    struct cfw_err *err);

/* The UTC month of now_s: its first second, and "YYYY-MM" into out. */
int64_t cfaccount_month_start(int64_t now_s, char out[8]);

#endif
