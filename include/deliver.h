/* SPDX-License-Identifier: MIT */
#ifndef CFW_DELIVER_H
#define CFW_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cloudfront.h"
#include "diff.h"
#include "err.h"
#include "inflight.h"
#include "log.h"
#include "manifest.h"
#include "planner.h"
#include "strlist.h"

/* Delivers a plan, batch after batch, on the loop: a queued batch waits
 * until what is in progress leaves room for it (asking CloudFront again
 * every so often), each batch is sent with cfsend's retries, and the
 * changes a batch covers are recorded in the manifest as soon as
 * CloudFront accepted it, so a crash between batches loses nothing and
 * resends nothing accepted.  In a dry run each batch is printed instead.
 * With an upload command, it runs first and must succeed (retried with
 * backoff within the deadline) before anything is invalidated.
 * `once` and the daemon share it. */
struct deliver;

struct deliver_opts {
  uv_loop_t *loop;
  struct log *log;            /* borrowed */
  struct cf_client *cf;       /* borrowed; NULL: dry run, print */
  struct inflight *inflight;  /* borrowed; NULL in a dry run */
  struct manifest *m;         /* borrowed; advanced batch by batch */
  const struct change *changes; /* borrowed: what the plan indexes */
  const struct planner_plan *plan; /* borrowed */
  const char *root;            /* for messages */
  const char *state_dir;       /* manifest and ledger */
  const char *distribution_id; /* for CallerReferences */
  uint64_t retry_for_ms;       /* per batch and per wait; 0: never give up */
  bool wait_complete;          /* follow each invalidation to Completed */
  uint64_t settled_ms;         /* uv_now() when the changes settled */
  /* Run once before the first batch, so the origin has the new bytes
   * before CloudFront is told to fetch them (upload.h); NULL: none.
   * Never in a dry run. */
  const char *upload_cmd;
  uint64_t upload_timeout_ms;
  void (*print)(const struct strlist *paths, void *arg);
  void *print_arg;
};

struct deliver_result {
  /* 0: every batch accepted; else as cfsend (-ETIMEDOUT gave up,
   * -EREMOTEIO refused, -ECANCELED) or a state error recording one. */
  int status;
  struct cfw_err err;
  size_t accepted; /* batches accepted (or printed) */
};

typedef void (*deliver_cb)(struct deliver *d, struct deliver_result *r,
                           void *arg);

/* Starts; cb runs once, from the loop, unless this fails; d is freed
 * after cb returns.  The borrowed inputs must live until then. */
int deliver_start(struct deliver **out, const struct deliver_opts *o,
                  deliver_cb cb, void *arg, struct cfw_err *err);

/* Stops after the request in flight (whose acceptance is still
 * recorded); cb then runs with -ECANCELED unless all was done. */
void deliver_cancel(struct deliver *d);

#endif
