/* SPDX-License-Identifier: MIT */
#ifndef CFW_SCAN_H
#define CFW_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "diff.h"
#include "err.h"
#include "log.h"
#include "manifest.h"
#include "strlist.h"
#include "tree.h"
#include "urlmap.h"

/* Walks a root and diffs it against a manifest off the loop thread: the
 * walk runs on the libuv threadpool, comparing each file's stat with the
 * manifest as it goes (diff.h), so that it keeps only what the stat
 * shortcut cannot rule out; those files are then hashed in parallel
 * chunks, so both cores work and the loop stays free. */
struct scan;

struct scan_opts {
  const char *root; /* borrowed */
  /* Borrowed; must not change until cb.  NULL: the walk starts now and
   * the diff waits for scan_diff, so a manifest still loading costs
   * max(load, walk), not the sum. */
  const struct manifest *manifest;
  /* Borrowed; its excludes prune the walk, and a file the manifest
   * has that they cover (an exclude added since) is no deletion: the
   * manifest keeps it, as it keeps an unreadable directory's files. */
  const struct urlmap *urlmap;
  struct log *log; /* borrowed */
  /* Only these paths (relative; normalised with partwalk_normalise) and
   * what lies under them; NULL for the whole tree.  Borrowed. */
  const struct strlist *paths;
  /* Told of each directory of a whole-tree walk as it is read, and of
   * the walk's end (tree.h); its done runs on the loop thread before the
   * hashing starts, whether the walk succeeded or not.  Borrowed; NULL:
   * nobody. */
  const struct tree_visit *visit;
  /* The most files the walk takes in to hash, once it compares with a
   * manifest (issue 13): past it, a file that needs hashing is left for
   * a later scan, counted in n_deferred, neither changed nor deleted in
   * this one, so that a scan's memory is bounded whatever the change.
   * The diff applies it again, in path order, to the files walked
   * before a late manifest came.  0: no bound.  A manifest without
   * entries (a first run, which must see the whole tree at once) is
   * never bounded. */
  size_t bound;
};

struct scan_result {
  int status; /* 0 or a negative errno; err says more */
  struct cfw_err err;
  struct change *changes; /* owned by the result: take it or scan_destroy
                             frees it */
  size_t n_changes;
  size_t n_files; /* files on disk after excludes */
  size_t n_same;  /* of those, the ones the walk ruled out by their stat */
  /* Of those, the ones left for a later scan by opts.bound: they may
   * have changed, so a scan must follow that walks them again. */
  size_t n_deferred;
  /* The manifest entries among them, marked in a set of its entries
   * (seenset.h) for the planner; NULL if none.  Owned by the result:
   * take it or scan_destroy frees it. */
  struct seenset *deferred;
  size_t n_dirs;   /* directories the walk read */
  size_t n_hashed; /* files the shortcut could not rule out */
  size_t n_failed; /* of those, the ones that could not be read: pending */
  uint64_t elapsed_ms;
};

typedef void (*scan_cb)(struct scan *s, struct scan_result *r, void *arg);

/* Starts a scan; cb runs once on the loop thread unless this fails.  The
 * caller destroys s after (or inside) cb. */
int scan_start(struct scan **out, uv_loop_t *loop, const struct scan_opts *o,
               scan_cb cb, void *arg, struct cfw_err *err);

/* Gives a scan started without a manifest the one to diff against
 * (borrowed until cb); if the walk is still running, it compares with m
 * from then on.  NULL drops the diff: cb then runs once the walk is
 * over, with -ECANCELED.  Call once, on the loop thread. */
void scan_diff(struct scan *s, const struct manifest *m);

/* Frees the scan and any changes not taken from its result.  Only after
 * cb ran: work queued on the threadpool cannot be recalled. */
void scan_destroy(struct scan *s);

#endif
