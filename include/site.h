/* SPDX-License-Identifier: MIT */
#ifndef CFW_SITE_H
#define CFW_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cloudfront.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "planner.h"
#include "strlist.h"

/* One site's pipeline, the one thing `once`, `plan`, `status` and the
 * daemon drive:
 *
 *   open (lock, load the state)
 *     -> scan (the whole tree, or the paths events named; hash; diff)
 *     -> plan (URL paths, CloudFront's limits, cost)
 *     -> upload (upload_cmd)
 *     -> for each batch: wait for room in progress, record its intent,
 *        invalidate, commit (and count it in the ledger)
 *     -> compact the journal if it outgrew the snapshot
 *     -> idle, reporting what the pass did.
 *
 * Batches recorded by an earlier run and never acknowledged go first, with
 * their recorded references.  A first run on an S3 origin takes the
 * bucket as its baseline and sends what differs from it (ground.h);
 * without one it records a baseline instead of sending (unless `all`;
 * `once` only when asked, see baseline below).  A scan that finds more
 * deletions than the site allows (max_delete, max_delete_share) holds the whole
 * pass: nothing is uploaded or invalidated until the caller passes
 * SITE_ALLOW_DELETE (the daemon does once the tree has been quiet for
 * delete_grace_ms).
 *
 * Everything that may block (the lock, the state, the ledger, planning)
 * runs on the libuv threadpool; HTTP on the loop.  One pass at a time: a
 * kick while busy is refused. */
struct site;

enum site_mode {
  /* plan and status: nothing sent, the state read only; a state in S3
   * is pulled into its cache first, under the cache's lock, unless
   * offline or a cfwatch of this machine holds that lock */
  SITE_PLAN,
  SITE_ONCE, /* once: lock, send, record */
  SITE_WATCH /* the daemon: as once, and never gives up on retries */
};

struct site_opts {
  uv_loop_t *loop;
  struct log *log;               /* borrowed */
  struct http *http;             /* borrowed; NULL when nothing is sent */
  const struct site_config *cfg; /* borrowed; outlives the site */
  /* The [headers GLOB] rules (hdrrule.h) for an S3 origin's objects;
   * borrowed, copied at start; NULL: none. */
  const struct hdrrules *rules;
  enum site_mode mode;
  bool all; /* a first run plans every file instead of a baseline */
  /* A first run of `once` that sends and has no S3 origin to compare
   * with records a baseline only if asked: else it fails with
   * CFW_CLASS_BASELINE and records nothing, since a lost state dir looks
   * just like a first run. */
  bool baseline;
  bool wait; /* follow each invalidation until it completes */
  /* SITE_PLAN: read a state in S3 from its cache as it is (no request;
   * --offline). */
  bool offline;
  /* Credentials and the S3 region; NULL: getenv. */
  const char *(*getenv)(const char *name);
  /* The daemon's watch tells what the root is (watch.h): a number that
   * changes when the root path leads to another directory, or
   * UINT64_MAX while it is absent (an unmounted mount point, a swap in
   * progress).  A scan during which it changed is dropped, reported as
   * root_missing: an absent or replaced root is never read as every file
   * deleted.  NULL: no such check (once, plan). */
  uint64_t (*root_gen)(void *ctx);
  void *root_ctx;
  /* Told of each directory the first pass's walk reads (tree.h): the
   * daemon's watch adds its watches there, so start-up is one walk.
   * Its done runs exactly once if site_start succeeds.  Borrowed; NULL:
   * nobody. */
  const struct tree_visit *first_walk;
  /* Runs once, on the loop, when the first pass's diff is done or has
   * failed, before the pass goes on (the daemon says it is watching
   * then: a change from then on is the next pass's).  NULL: none. */
  void (*first_scanned)(void *ctx);
  void *first_scanned_ctx;
  /* The account's paths this month (--account, cfaccount.h), when
   * counted: the planner's budget and cost start from the larger of it
   * and the site's own ledger. */
  bool has_account_paths;
  uint64_t account_paths;
  /* Prints a batch's paths (plan, dry runs); NULL prints nothing. */
  void (*print)(const struct strlist *paths, void *arg);
  void *print_arg;
};

/* Kick flags. */
#define SITE_ALLOW_DELETE 0x1u /* send a mass deletion now */

/* Past this many paths a whole walk costs less than the list: the
 * daemon's list between two passes, and the site's queue for its next
 * pass, which otherwise grows with every flush while a long pass runs
 * (a generator rewriting its files again and again). */
#define SITE_LIST_MAX 20000

/* What one pass did, handed to the callback when it ends. */
struct site_report {
  int status;         /* 0, or the negative errno of what failed */
  struct cfw_err err; /* with its class (err.h) when status < 0 */
  bool opened;        /* the state was loaded (first pass) */
  bool pulled;        /* a state in S3 was pulled for this pass */
  bool baseline;      /* a first run: recorded (or would record) a baseline */
  bool grounded;      /* a first run took the S3 origin as its baseline */
  bool root_missing;  /* the root is not there: nothing was diffed */
  bool scan_failed;   /* the walk or the hashing failed */
  bool whole;         /* the pass diffed the whole tree, not a path list */
  size_t n_files;     /* files on disk after excludes */
  size_t n_same;      /* of those, ruled out by their stat as walked */
  /* Of those, left for the next pass by pass_files (scan.h's bound). */
  size_t deferred;
  /* That pass follows by itself, over the whole tree: this one went
   * through, so a caller that would close the site waits for it. */
  bool again;
  size_t n_dirs; /* directories the walk read */
  size_t n_hashed;
  size_t n_failed; /* of those, files that could not be read: pending */
  uint64_t scan_ms;
  size_t n_changes; /* added, modified, deleted (not touched) */
  size_t n_deleted;
  size_t held;      /* changes held by the mass-deletion guard */
  size_t kept;      /* objects without a file, not deleted (ground.h) */
  size_t recovered; /* batches of an earlier run sent again */
  size_t batches;   /* batches accepted (or printed) */
  size_t paths;     /* paths in them */
  size_t uploaded;  /* files uploaded to the origin */
  uint64_t uploaded_bytes;
  size_t deleted_objects; /* objects deleted from the origin */
  /* Files committed TREE_STALE (S3 refused their upload as changed
   * since the scan, or they moved before the commit): still pending,
   * and no watch event may come for them (a change made before this
   * process started), so the daemon passes again. */
  size_t stale;
  /* The plan of this pass (borrowed, valid only in the callback); NULL
   * if none was made. */
  const struct planner_plan *plan;
};

typedef void (*site_cb)(struct site *s, const struct site_report *r, void *arg);

/* Opens the site and starts its first pass over the whole tree; cb runs
 * at the end of every pass, from the loop.  The first pass's walk starts
 * at once, beside the loading of the state, and its diff once both are
 * done.  On error nothing is left
 * and cb never runs. */
int site_start(struct site **out, const struct site_opts *o, site_cb cb,
               void *arg, struct cfw_err *err);

/* Starts a pass over paths (relative to the root; NULL: the whole
 * tree), which it takes over (left empty); while a pass runs, or before
 * the first one has begun (its walk may have read them before they
 * changed), the next pass.  A state in S3 that never opened (its cache
 * had no room) is opened again.  -ECANCELED when closing, -ENOTCONN
 * when a local state never opened (paths are left then). */
int site_kick(struct site *s, struct strlist *paths, unsigned flags);
bool site_busy(const struct site *s);

/* Stops: a request in flight finishes (and is recorded) unless http is
 * closed meanwhile; nothing new starts.  done runs once everything is
 * closed, after the pass's callback if one was running; s is freed
 * after it. */
void site_close(struct site *s, void (*done)(void *arg), void *arg);

/* What the site's running step waits for (site_waits.c), for a stop
 * or a reload waiting for site_close's done: nothing (idle or closed),
 * the network (a request to CloudFront or S3, upload_cmd, a backoff),
 * or the disk (work on the thread pool: the walk, the hashing, the
 * state's files), which a file system that does not answer may hold
 * for ever. */
enum site_wait { SITE_WAIT_NONE, SITE_WAIT_NET, SITE_WAIT_DISK };
struct site_wait_info {
  enum site_wait kind;
  bool scan;         /* the step is a scan (the walk, the hashing) */
  const char *step;  /* static: "its walk or its hashing" */
  uint64_t since_ms; /* the pass's start (uv_now); 0 before the first
                        pass began (opening, and its first walk) */
};
void site_waits(const struct site *s, struct site_wait_info *out);

/* True if the site's excludes leave rel out (for its watch). */
bool site_excluded(const struct site *s, const char *rel, bool is_dir);

/* The site's state, for status: borrowed, NULL before it is open. */
const struct state *site_state(const struct site *s);

/* True if the site sends nothing: --dry-run or no distribution. */
bool site_is_dry(const struct site_config *cfg);

/* The CloudFront client a site's options describe. */
int site_client_new(struct cf_client **out, uv_loop_t *loop,
                    const struct site_config *cfg, struct http *http,
                    struct log *log, const char *(*getenv)(const char *),
                    struct cfw_err *err);

/* Builds the URL mapper a site's options describe. */
int site_urlmap_new(struct urlmap **out, const struct site_config *cfg,
                    struct cfw_err *err);

#endif
