/* SPDX-License-Identifier: MIT */
#ifndef CFW_PENDING_H
#define CFW_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "batch.h"
#include "planner.h"
#include "config.h"
#include "diff.h"
#include "err.h"
#include "log.h"
#include "manifest.h"
#include "urlmap.h"

/* The work a site has pending: diff(tree on disk, manifest), mapped to
 * URL paths.  Nothing here writes state until pending_commit, so `plan`
 * can run as often as it likes. */
struct pending {
  struct manifest *manifest; /* owned */
  struct urlmap *urlmap;     /* owned */
  struct change *changes;    /* owned */
  size_t n_changes;
  struct planner_plan plan; /* the batches, as once would send them */
  bool first_run; /* there was no manifest */
  bool baseline;  /* first run without --all: record, send nothing */
  size_t n_files;
  size_t n_hashed;
  uint64_t scan_ms;
};

struct pending_opts {
  const struct site_config *site; /* borrowed */
  bool all; /* on a first run, plan every file instead of a baseline */
  struct log *log;
  uv_loop_t *loop; /* run until the scan is done */
  /* In progress at the distribution now; NULL: nothing (plan, dry run). */
  const struct planner_inflight *inflight;
};

void pending_init(struct pending *p);
void pending_free(struct pending *p); /* NULL is fine */

/* Loads the manifest (a missing one means first run; a corrupt one is an
 * error, never an empty manifest), scans the root and fills p. */
int pending_load(struct pending *p, const struct pending_opts *o,
                 struct cfw_err *err);

/* Records every change in p as acknowledged and saves the manifest
 * atomically: for a baseline. */
int pending_commit(struct pending *p, const char *state_dir,
                   struct cfw_err *err);

/* Records the changes v[idx[0..n)] in m and saves m atomically (unless
 * state_dir is NULL: the caller saves).  Call only once CloudFront
 * accepted the batch that covers them (or, in a dry run, once it was
 * printed).  n == 0 saves nothing. */
int pending_apply(struct manifest *m, const struct change *v,
                  const size_t *idx, size_t n, const char *state_dir,
                  struct cfw_err *err);

/* Plans changes v[0..n) of site s against m (as it was before them),
 * with what is in progress (NULL: nothing) and the month's paths from
 * the state dir's ledger. */
int pending_plan(struct planner_plan *out, const struct manifest *m,
                 const struct change *v, size_t n, const struct urlmap *um,
                 const struct site_config *s,
                 const struct planner_inflight *inflight, struct log *log,
                 struct cfw_err *err);

/* Saves the manifest as loaded (empty on a first run), so that what is
 * sent next has a manifest identity that survives a crash. */
int pending_save_empty(struct pending *p, const char *state_dir,
                       struct cfw_err *err);

/* Builds the URL mapper a site's options describe. */
int pending_urlmap_new(struct urlmap **out, const struct site_config *site,
                       struct cfw_err *err);

#endif
