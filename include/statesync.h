/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATESYNC_H
#define CFW_STATESYNC_H

#include <stdbool.h>
#include <uv.h>

#include "err.h"

struct s3state;
struct log;

/* A state dir that is the cache of a state kept in S3 (s3state.h):
 * pull brings the dir up to what S3 holds before state_open reads it;
 * push creates in S3, in order, what state.c wrote to the dir since
 * (a new snapshot with If-Match, each new record with If-None-Match).
 *
 * Pull: one ListObjectsV2 after the last record the dir knows to be in
 * S3 (so a state that did not move costs one request), then the
 * snapshot if S3's is not the dir's (a first run, a lost cache, another
 * writer's compaction) and each new record.  Records the dir holds but
 * S3 does not (a run that stopped between writing and pushing) are
 * dropped: none was acted on (an intent is pushed before its batch is
 * sent; a lost commit leaves its intent open, and it is sent again with
 * its reference).  If S3 holds no state at all, neither does the dir
 * afterwards: a cache is never taken for the state.  The invalidations
 * in the records a pull brought go to the dir's ledger (ledgerpull.h);
 * a failure there is logged, and the pull still succeeds.
 *
 * Push ends STATESYNC_CONFLICT when another writer created the record
 * or replaced the snapshot first: pull again and redo the pass.
 *
 * The disk work runs on the loop's threadpool; one call at a time, and
 * nothing else may write the dir meanwhile (hold its lock; close the
 * state before a pull). */

struct statesync; /* opaque */

struct statesync_opts {
  uv_loop_t *loop;        /* borrowed */
  struct s3state *remote; /* borrowed */
  struct log *log;        /* borrowed; NULL is fine */
  const char *dir;        /* copied: the cache */
};

enum statesync_outcome {
  STATESYNC_OK = 0,
  STATESYNC_CONFLICT, /* push: another writer moved the state */
  STATESYNC_FAILED    /* err says why */
};

struct statesync_result {
  enum statesync_outcome outcome;
  struct cfw_err err;
  bool remote_empty; /* pull: S3 holds no state */
  unsigned requests; /* this call's */
  unsigned objects;  /* pulled or pushed */
};

typedef void (*statesync_cb)(const struct statesync_result *r, void *arg);

int statesync_new(struct statesync **out, const struct statesync_opts *o,
                  struct cfw_err *err);
/* Must not be called with a call in flight but from its callback or
 * after it; NULL is fine. */
void statesync_destroy(struct statesync *ss);
bool statesync_busy(const struct statesync *ss);

/* Each returns 0 and runs cb once, from the loop, or a negative errno
 * with err set and cb never run. */
int statesync_pull(struct statesync *ss, statesync_cb cb, void *arg,
                   struct cfw_err *err);
int statesync_push(struct statesync *ss, statesync_cb cb, void *arg,
                   struct cfw_err *err);

#endif
