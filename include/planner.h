/* SPDX-License-Identifier: MIT */
#ifndef CFW_PLANNER_H
#define CFW_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "diff.h"
#include "err.h"
#include "manifest.h"
#include "s3url.h"
#include "urlmap.h"

/* Turns a change set into the invalidation batches to send, as a pure
 * function of the manifest (as it was before the changes), the changes,
 * the URL map, what is in progress at CloudFront now, the paths sent
 * this month and the options.  It reads no clock, file or network.
 *
 * What it guarantees, for every plan it returns:
 *   - Every URL of every planned file is in that file's batch, or under a
 *     wildcard of that batch.  A file is never split across batches, so
 *     the manifest can be updated per accepted batch for exactly the
 *     changes the batch lists.
 *   - A batch holds no duplicate and no path that one of its wildcards
 *     covers; its paths are sorted bytewise, so equal work gives equal
 *     batches.  "/x/" and "/x/index.html" are different cache keys and
 *     both stay.
 *   - No batch holds more than CF_MAX_WILDCARDS_IN_PROGRESS wildcards or
 *     more file paths than max_paths_per_batch (itself at most
 *     CF_MAX_FILE_PATHS_IN_PROGRESS).  The batches marked ready fit
 *     together with what is in progress now; the others are queued: send
 *     each once inflight_fits() says it fits.
 *   - With a budget and without allow_over_budget, the month's estimated
 *     cost never exceeds monthly_budget_usd.
 *
 * Wildcards ("collapse").  The planner knows the whole tree (manifest
 * plus added files), so it counts exactly how many unchanged files a
 * directory wildcard ("<prefix>/dir/" and a star) would evict.  A directory is
 * a candidate if its wildcard is a valid CloudFront path (no '*' or '~' in its
 * name, short enough) and the unchanged share of the files under it is at most
 * max_evict_ratio.  Three passes choose the wildcards:
 *   1. threshold: top down, the highest candidate whose changes need more
 *      than wildcard_threshold paths is collapsed, on the deepest
 *      directory that still holds all of those changes;
 *   2. pressure: while the plan needs more file paths or wildcards than
 *      are free in progress now, or more paths than are left free this
 *      month (or under the budget), the candidate that saves the most
 *      paths per unchanged file evicted is collapsed (a parent replaces
 *      the wildcards below it).  A new wildcard must save at least two
 *      paths and is taken only while the plan's wildcards fit what is
 *      free in progress now (one batch's worth if none is);
 *   3. budget: if a hard budget is still exceeded, the same greedy runs
 *      without max_evict_ratio (the wildcard cap still holds), up to the
 *      site's top wildcard, which costs one path; the plan then has
 *      evict_forced set.  Skipped with strict_evict_ratio.
 * Ties go to the deeper directory.  Wildcard URLs are built like urlmap
 * builds file URLs: its prefix, then the percent-encoded directory.
 * never_wildcard skips all three.  URLs that urlmap itself turns into
 * wildcards (names holding '*' or '~', or too long) are kept either way.
 *
 * Budget policy.  A wildcard costs one path.  Without a budget nothing is
 * ever left out, and cost_usd is an estimate.  With a budget and without
 * allow_over_budget, fresh content comes first: the planner evicts more
 * than max_evict_ratio (pass 3, evict_forced) rather than leave a change
 * stale, since an evicted object costs one origin fetch and a stale one
 * stays wrong.  If even the cheapest cover does not fit (or
 * never_wildcard or strict_evict_ratio forbid it), the plan holds what
 * fits, in change order, and lists the rest in left with over_budget
 * set: those changes stay pending (the manifest keeps them) until the
 * month turns or the budget is raised.  With allow_over_budget nothing is
 * left out and over_budget only reports that the estimate passes the
 * budget.  Cost is estimated per batch in plan order; a wildcard costs
 * one path. */

#define PLANNER_DEFAULT_WILDCARD_THRESHOLD 100
#define PLANNER_DEFAULT_MAX_EVICT_RATIO    0.25

struct planner_opts {
  /* File (non-wildcard) paths per batch, in
   * [URLMAP_MAX_PATHS_PER_FILE, CF_MAX_FILE_PATHS_IN_PROGRESS]. */
  size_t max_paths_per_batch;
  /* Collapse a directory whose changed files need more paths than this
   * (SIZE_MAX: never for this reason alone). */
  size_t wildcard_threshold;
  bool never_wildcard;
  /* In [0, 1]: the largest share of unchanged files among those a
   * wildcard evicts. */
  double max_evict_ratio;
  /* Never break max_evict_ratio, not even for the budget: what the
   * budget cannot take within it is left pending (over_budget). */
  bool strict_evict_ratio;
  uint64_t monthly_free_paths; /* CF_FREE_PATHS_PER_MONTH */
  bool has_budget;
  double monthly_budget_usd; /* >= 0; the month's total, free tier aside */
  bool allow_over_budget;
};

/* Fills o with the defaults: full-size batches, the threshold and ratio
 * above, wildcards allowed, CloudFront's free tier, no budget. */
void planner_opts_init(struct planner_opts *o);

/* Paths in invalidations in progress at the distribution right now. */
struct planner_inflight {
  size_t file_paths;
  size_t wildcards;
};

struct planner_input {
  /* As before the changes: what CloudFront caches now.  NULL is an
   * empty manifest.  Borrowed. */
  const struct manifest *manifest;
  const struct change *changes; /* borrowed; n_changes of them */
  size_t n_changes;
  /* The manifest's entries a bounded pass left for a later one (scan.h),
   * or NULL: none.  They may have changed, so they are not simply
   * unchanged files a wildcard would evict: the share of the pass's
   * hashed known files that changed (MODIFIED against TOUCHED) is taken
   * to hold for them too.  So a rewrite of every file, sent in bounded
   * passes, still collapses as it would in one; and a build that
   * rewrote every file with the same bytes does not.  Borrowed. */
  const struct seenset *deferred;
  /* The manifest's entries that the earlier passes of a run of bounded
   * passes sent (passrun.h), or NULL: none.  Invalidated moments ago,
   * they are not files a wildcard would evict from warm caches, so they
   * do not count against max_evict_ratio: each pass of a rewrite of
   * every file collapses as the first one did.  None of them is in
   * deferred too.  Borrowed. */
  const struct seenset *fresh;
  const struct urlmap *urlmap; /* borrowed */
  struct planner_inflight inflight;
  uint64_t month_paths; /* paths (wildcards included) sent this month */
  /* The distributions each batch goes to; 0 means 1.  AWS bills the
   * paths of each distribution's request (Developer Guide, "Pay for
   * file invalidation": 600 paths "for each distribution" of three
   * make "a total of 1,800 invalidation paths"), so the cost and the
   * budget count a path once per distribution. */
  size_t copies;
  /* Cache tags (cachetag.h): with tag_origin, a MODIFIED or DELETED
   * change whose manifest entry is TREE_TAGGED (every copy the edges
   * may hold carries its tag) is invalidated by one item, '#' and the
   * tag of its object key on tag_origin, instead of its URL paths.  A
   * tag item counts as one file path, for the bill and against the
   * paths in progress, and is not a wildcard ("Pay for file
   * invalidation": "a single tag invalidation item ... counts as one
   * path").  NULL (the default): URL paths only.  Borrowed. */
  const struct s3url *tag_origin;
  /* URL paths owed whatever the changes (a changed URL mapping's flush,
   * urlmapdesc_flush), or NULL: none.  They go in a batch of their own
   * with no change, first (ready if it fits what is in progress now),
   * and are priced and counted with the rest.  The budget does not
   * leave them out: without them the old URLs stay stale however the
   * files change, and they are one or two paths.  Borrowed. */
  const struct strlist *flush;
};

struct planner_batch {
  /* paths: sorted, unique, none covered by one of its wildcards;
   * n_files: changes covered (== n_changes); n_wildcards: paths ending
   * in '*'. */
  struct batch b;
  /* Owned; ascending indices into the input changes, 32-bit as the
   * planner takes fewer than 2^32 changes: half the room a rewrite's
   * plan would take otherwise (issue 13). */
  uint32_t *changes;
  size_t n_changes;
  /* Fits with what is in progress now (and with the ready batches before
   * it).  A queued batch fits an idle distribution. */
  bool ready;
  double cost_usd; /* after the month's paths and the batches before */
};

struct planner_plan {
  struct planner_batch *v; /* owned; ready batches first */
  size_t n;
  /* TOUCHED changes: same bytes, nothing to invalidate; apply them to
   * the manifest without sending anything.  Owned, ascending. */
  uint32_t *no_send;
  size_t n_no_send;
  /* Changes not planned because of the budget: they stay pending.
   * Owned, ascending. */
  uint32_t *left;
  size_t n_left;
  size_t n_paths;     /* over all batches, wildcards included */
  size_t n_wildcards; /* over all batches */
  size_t n_evicted;   /* unchanged files under the planner's wildcards */
  size_t n_by_tag;    /* changes sent as one cache tag item each */
  size_t n_by_path;   /* changes sent as URL paths (TOUCHED aside) */
  size_t tag_saved;   /* URL paths the tag items replace, less the tags */
  double cost_usd;    /* the estimate for all batches */
  bool over_budget;   /* changes left out, or the estimate passes it */
  bool evict_forced;  /* the budget overrode max_evict_ratio */
};

void planner_plan_init(struct planner_plan *p);
void planner_plan_free(struct planner_plan *p); /* NULL is fine */

/* Plans in->changes (and in->flush) into out (initialised; emptied
 * first).  Returns 0,
 * -EINVAL (bad options, or a change whose path urlmap refuses; err
 * names it), -ENAMETOOLONG or -ENOMEM; on failure out is empty.  Cost:
 * O(files * depth) to build the tree, plus O(d log d) per round of the
 * pressure passes for d directories, and rounds are few: each takes every
 * independent best collapse (about 0.2 s for 100,000 files).  Memory,
 * beside the plan it returns (8 bytes per change in its index arrays,
 * and the paths of its batches): 8 bytes per change (its directory and
 * how to build its URLs again, which are built when needed, never kept
 * for all changes), 12 per unit (a file, or all the changes under one
 * wildcard), and about 90 per directory (a site of one directory per
 * page has one per change), plus the text of the directory's wildcard
 * only if it differs from the path (an encoded byte); -ENOMEM also for
 * more than 2^32 - 2 changes or directories. */
int planner_plan(struct planner_plan *out, const struct planner_input *in,
                 const struct planner_opts *o, struct cfw_err *err);

/* Copies the changes a batch covers from the input array v into out,
 * which has room for b->n_changes, for manifest_apply() and
 * batch_caller_ref().  The copy is shallow: the paths stay borrowed from
 * v, so never changes_free() out. */
void planner_batch_gather(const struct planner_batch *b, const struct change *v,
                          struct change *out);

/* The estimated price of adding n paths to a month that already counts
 * month_paths, the first free_paths of which are free. */
double planner_cost_usd(uint64_t month_paths, uint64_t n, uint64_t free_paths);

#endif
