/* SPDX-License-Identifier: MIT */
#ifndef CFW_INFLIGHT_H
#define CFW_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloudfront.h"
#include "err.h"
#include "retry.h"

/* What is in progress at one distribution: the invalidations CloudFront
 * reports as InProgress, each with its file and wildcard paths, plus the
 * ones we created ourselves since.  The planner needs the totals, since
 * CloudFront allows CF_MAX_FILE_PATHS_IN_PROGRESS file paths and
 * CF_MAX_WILDCARDS_IN_PROGRESS wildcards in progress at once, counting
 * every client of the distribution, not only us.
 *
 * A refresh asks CloudFront: ListInvalidations, newest first, page by
 * page, then GetInvalidation for each InProgress one (one request at a
 * time) to count its paths.  Paging stops at the last page, after a page
 * whose oldest item is older than INFLIGHT_HORIZON_S, or after
 * INFLIGHT_MAX_PAGES pages: invalidations take minutes, so an older one
 * is almost surely done.  One missed anyway only costs a
 * TooManyInvalidationsInProgress answer, which cfsend waits out.
 *
 * Our own invalidations are added with inflight_add() as soon as
 * CloudFront accepted them.  A refresh replaces the table with what it
 * found, but keeps an own entry it did not see listed if it was added
 * less than INFLIGHT_GRACE_S ago or while the refresh ran: the list may
 * lag a fresh creation.
 *
 * Single-threaded: call everything from the loop thread. */

#define INFLIGHT_PAGE_ITEMS 100 /* MaxItems per ListInvalidations page */
#define INFLIGHT_MAX_PAGES  10
#define INFLIGHT_HORIZON_S  3600
#define INFLIGHT_GRACE_S    300

struct inflight;

/* The two calls a refresh makes, with cloudfront.h's contract: 0 and cb
 * runs exactly once (maybe before the call returns), or < 0 and cb never
 * runs.  inflight_refresh() uses a cf_client's; tests pass fakes. */
struct inflight_calls {
  int (*list)(void *ctx, const char *marker, unsigned max_items, cf_cb cb,
              void *arg, struct cfw_err *err);
  int (*get)(void *ctx, const char *id, cf_cb cb, void *arg,
             struct cfw_err *err);
  void *ctx; /* borrowed; the cf_client */
};

struct inflight_result {
  int status;              /* 0, or the failed call's negative errno */
  enum cf_verdict verdict; /* CF_DONE, or the failed call's verdict */
  struct cfw_err err;      /* set when status < 0 */
  size_t listed;           /* invalidations listed */
  size_t in_progress;      /* of those, InProgress when fetched */
};

/* Runs once per accepted refresh; r is valid only during the call.  The
 * callback may destroy f or start the next refresh. */
typedef void (*inflight_cb)(struct inflight *f, const struct inflight_result *r,
                            void *arg);

/* An empty table.  0 or -ENOMEM. */
int inflight_new(struct inflight **out);

/* Frees f.  If a refresh is running, its callback never runs and the
 * memory goes when the outstanding CloudFront call reports back, which
 * cf_client_destroy() and http_close() guarantee.  NULL is fine. */
void inflight_destroy(struct inflight *f);

/* Starts a refresh through cf (borrowed until cb runs); now_s is the
 * wall clock in seconds since the epoch, for the horizon and the grace
 * period.  0, or -EBUSY (a refresh is running), -ENOMEM or the error of
 * the first call; on failure cb never runs.  On a failed refresh (status
 * < 0 in cb) the table is as it was. */
int inflight_refresh(struct inflight *f, struct cf_client *cf, int64_t now_s,
                     inflight_cb cb, void *arg, struct cfw_err *err);
int inflight_refresh_with(struct inflight *f, const struct inflight_calls *c,
                          int64_t now_s, inflight_cb cb, void *arg,
                          struct cfw_err *err);

/* Records an invalidation we created (or updates one with this id).  0,
 * -EINVAL (empty id, or longer than CloudFront's) or -ENOMEM. */
int inflight_add(struct inflight *f, const char *id, size_t file_paths,
                 size_t wildcards, int64_t now_s);

/* Forgets an invalidation that completed.  0 or -ENOENT. */
int inflight_complete(struct inflight *f, const char *id);

/* Totals over the table. */
void inflight_counts(const struct inflight *f, size_t *file_paths,
                     size_t *wildcards);

/* True if a batch of this many file paths and wildcards may be sent now
 * without passing CloudFront's in-progress limits. */
bool inflight_fits(const struct inflight *f, size_t file_paths,
                   size_t wildcards);

#endif
