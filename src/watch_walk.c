/* SPDX-License-Identifier: MIT */
/* The watch's own walks: a new root, a directory created or moved in, a
 * directory a symlink now leads to, the rescan after a queue overflow.
 * The loop thread never lists a directory (issue 13): each walk is
 * tree_walk on libuv's thread pool, whose visitor (watch_seed.c) adds
 * every directory's watch, through a dup of the inotify fd, just before
 * the walk reads it, and hands back (wd, path) pairs, the links met and,
 * for a new directory, the files, which the loop takes in a slice per
 * loop turn.  One walk at a time, in the order they were asked for.
 *
 * Why nothing is missed, as when the loop listed the tree itself:
 *  - A directory is watched before its first entry is read, so what is
 *    created in it after the read has its event queued, and what was
 *    created before is read.
 *  - While a walk is queued, on the pool or being taken in, the inotify
 *    fd is not read: its events wait in the kernel's queue, and the
 *    events already read but not yet run wait in w->held.  So every
 *    event is run after the walk's watches are in the map, in the
 *    order the kernel gave: none is for a watch the map does not know
 *    yet (which would ask for a rescan, and that one for another...),
 *    and one that moves or deletes a directory is run after the walk
 *    that watched it, as with a listing on the loop.  A queue that
 *    overflows meanwhile asks for a rescan, as it always did.
 *  - Reports made meanwhile (a new directory's own path, the rescan's
 *    NULL, what a hold or a timer reports) wait too, in w->later, until
 *    every queued walk is in: a consumer that reads a reported path
 *    does so after the watches under it exist, so a change it does not
 *    read has an event.  The files a walk found are reported as it is
 *    taken in, their directories watched already.
 *  - The root may change while a walk runs (the mount table, read
 *    meanwhile): a walk of an older root generation is dropped, and its
 *    watches that the map does not know are retired (watch_retire): the
 *    events queued on them are dropped, not taken for an unknown
 *    watch's.
 *  - Until the root's walk (WALK_ROOT: a new root's, or the start-up
 *    walk's findings handed over) is in, root_wd is -1: a root check
 *    meanwhile finds the root being walked (watch_root_walking), not a
 *    lost or replaced one.
 *
 * Costs: one uv_queue_work per walk; the loop spends about a microsecond
 * per directory and per file reported, WATCH_WALK_SLICE of them a turn. */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tree.h"
#include "util.h"
#include "watch_linux.h"

/* What the loop takes in per turn: well under a millisecond. */
#define WATCH_WALK_SLICE 256

struct watch_walk {
  uv_work_t req;
  struct watch_walk *next;
  struct watch *w;       /* borrowed; NULL once the watch closed */
  struct watch_seed *sd; /* owned */
  char *abs;             /* owned: what to walk; NULL: walked already */
  char *contain;         /* owned: the resolved root, links stay inside */
  char *prefix;          /* owned: where abs is, relative to the root */
  struct buf full;       /* the pool's: prefix/relpath for skip */
  uv_mutex_t mu;         /* skip is not called once the watch closed */
  bool (*skip)(void *ctx, const char *rel, bool is_dir); /* under mu */
  void *skip_ctx;
  bool gone;    /* under mu: the watch closed */
  bool on_pool; /* between uv_queue_work and its after_work */
  unsigned flags;
  uint64_t gen; /* the root generation it belongs to */
  int status;
};

static void walk_free(struct watch_walk *wk)
{
  if (wk == NULL)
    return;
  watch_seed_free(wk->sd);
  free(wk->abs);
  free(wk->contain);
  free(wk->prefix);
  buf_free(&wk->full);
  uv_mutex_destroy(&wk->mu);
  free(wk);
}

/* tree_walk's skip, on the pool: the consumer's, with the path from the
 * root, until the watch closes (then everything, to end the walk). */
static bool walk_skip(void *ctx, const char *relpath, bool is_dir)
{
  struct watch_walk *wk = ctx;
  const char *rel = relpath;
  bool skip = true;

  /* A retry, still short of watches, ends here: the next rescan tries
   * again (watch_fallback.c).  The visitor's calls and skip run on the
   * walk's one thread. */
  if ((wk->flags & WALK_RETRY) && watch_seed_short(wk->sd))
    return true;
  if (wk->prefix[0] != '\0') {
    buf_reset(&wk->full);
    if (buf_addf(&wk->full, "%s/%s", wk->prefix, relpath) < 0)
      return true; /* too long for a path */
    rel = buf_str(&wk->full);
  }
  uv_mutex_lock(&wk->mu);
  if (!wk->gone)
    skip = wk->skip != NULL && wk->skip(wk->skip_ctx, rel, is_dir);
  uv_mutex_unlock(&wk->mu);
  return skip;
}

static void walk_on_work(uv_work_t *req)
{
  struct watch_walk *wk = container_of(req, struct watch_walk, req);
  struct tree_walk_opts o = {0};
  struct cfw_err err;
  struct tree t;

  o.skip = walk_skip;
  o.ctx = wk;
  o.contain = wk->contain;
  o.visit = watch_seed_visit(wk->sd);
  /* The visitor takes the files: the tree stays empty. */
  wk->status = tree_walk(&t, wk->abs, &o, &err);
  tree_free(&t);
}

static void walk_next(struct watch *w);
static void walk_on_apply(uv_idle_t *idle);

static void walk_on_walked(uv_work_t *req, int status)
{
  struct watch_walk *wk = container_of(req, struct watch_walk, req);
  struct watch *w = wk->w;

  wk->on_pool = false;
  if (w == NULL) { /* the watch closed meanwhile */
    walk_free(wk);
    return;
  }
  if (status < 0)
    wk->status = status;
  (void)uv_idle_start(&w->apply, walk_on_apply); /* cannot fail */
}

/* The walk belongs to the root the watch follows now. */
static bool walk_current(const struct watch *w, const struct watch_walk *wk)
{
  return w->root_present && w->root_gen == wk->gen;
}

/* Starts the first queued walk, dropping those of an older root. */
static void walk_start(struct watch *w)
{
  struct watch_walk *wk;
  int rc;

  while ((wk = w->walks) != NULL && !walk_current(w, wk) && wk->abs != NULL) {
    w->walks = wk->next;
    walk_free(wk);
  }
  if (wk == NULL) {
    w->walks_tail = NULL;
    walk_next(w);
    return;
  }
  rc = wk->abs != NULL
           ? uv_queue_work(w->loop, &wk->req, walk_on_work, walk_on_walked)
           : 0;
  if (rc < 0)
    wk->status = rc; /* taken in as it is: nothing found */
  wk->on_pool = rc == 0 && wk->abs != NULL;
  if (!wk->on_pool)
    (void)uv_idle_start(&w->apply, walk_on_apply); /* cannot fail */
}

/* Reports what waited for the walks, in order; a rescan covers all. */
static void walk_flush_later(struct watch *w)
{
  struct strlist later = w->later;
  bool all = w->later_all;
  size_t i;

  strlist_init(&w->later);
  w->later_all = false;
  if (all)
    watch_report(w, NULL);
  for (i = 0; i < later.n && !all && !w->closing; i++)
    watch_report(w, later.v[i]);
  strlist_free(&later);
}

/* The first walk is in: what it asked to do next, then the next walk,
 * or, with none left, the reports and events that waited. */
static void walk_done(struct watch *w, struct watch_walk *wk)
{
  bool current = walk_current(w, wk);
  bool resync = current && (wk->flags & WALK_RESYNC);

  w->walks = wk->next;
  if (w->walks == NULL)
    w->walks_tail = NULL;
  /* A directory gone, unreadable or leading outside has nothing to
   * watch, as a listing found; out of memory, rescans cover it. */
  if (current && wk->status == -ENOMEM)
    watch_fallback(w, wk->prefix, wk->status);
  walk_free(wk);
  if (resync) {
    /* Links re-pointed while events were lost: followed anew (queued
     * behind this walk, and the rescan's report behind them).  With a
     * batch of stats out, the links wait for it, and the rescan's
     * report and the events that waited for the walk go first.  No
     * change is lost that way: a link found re-pointed then is
     * reported by its own path once its new target is watched
     * (watch_link_redo, whose report waits for that walk), so what the
     * early rescan read there before the watch existed is read again;
     * the events run meanwhile are reported under the paths the map
     * had, as they would have been a moment earlier. */
    w->links_stale = true;
    watch_links_settle(w);
  }
  walk_next(w);
}

static void walk_next(struct watch *w)
{
  if (w->closing)
    return;
  if (w->walks != NULL) {
    walk_start(w);
    return;
  }
  watch_fallback_settle(w); /* may queue walks: links to follow */
  if (w->settling)
    return; /* the links' batch ends with watch_walks_resume */
  walk_flush_later(w);
  watch_events_resume(w);
}

static void walk_on_apply(uv_idle_t *idle)
{
  struct watch *w = container_of(idle, struct watch, apply);
  struct watch_walk *wk = w->walks;
  bool done = true;

  if (!walk_current(w, wk)) {
    watch_seed_drop(w, wk->sd);
  } else {
    /* The consumer may close the watch from a report: wk is then left
     * to us (watch_walks_orphan). */
    w->applying = true;
    done = watch_seed_apply(w, wk->sd, WATCH_WALK_SLICE);
    w->applying = false;
  }
  if (w->closing) {
    walk_free(wk);
    return;
  }
  if (!done)
    return;                 /* more at the next turn */
  (void)uv_idle_stop(idle); /* cannot fail */
  walk_done(w, wk);
}

/* Appends wk to the queue; the first one stops the reading of events. */
static void walk_enqueue(struct watch *w, struct watch_walk *wk)
{
  if (w->walks_tail != NULL)
    w->walks_tail->next = wk;
  else
    w->walks = wk;
  w->walks_tail = wk;
  if (w->walks != wk)
    return;
  (void)uv_poll_stop(&w->poll); /* cannot fail on a live handle */
  walk_start(w);
}

static struct watch_walk *walk_new(const struct watch *w, const char *rel,
                                   unsigned flags)
{
  struct watch_walk *wk = calloc(1, sizeof(*wk));

  if (wk == NULL)
    return NULL;
  if (uv_mutex_init(&wk->mu) < 0) {
    free(wk);
    return NULL;
  }
  buf_init(&wk->full, PATH_MAX);
  wk->w = (struct watch *)w;
  wk->flags = flags;
  wk->gen = w->root_gen;
  wk->skip = w->opts.skip;
  wk->skip_ctx = w->opts.skip_ctx;
  wk->prefix = strdup(rel);
  if (wk->prefix == NULL) {
    walk_free(wk);
    return NULL;
  }
  return wk;
}

int watch_walk_push(struct watch *w, const char *rel, const char *abs,
                    unsigned flags)
{
  struct watch_walk *wk = walk_new(w, rel, flags);

  if (wk != NULL) {
    wk->abs = abs != NULL      ? strdup(abs)
              : rel[0] != '\0' ? watch_join(w->real, rel)
                               : strdup(w->real);
    wk->contain = strdup(w->real);
    wk->sd = watch_seed_make(w, rel, (flags & WALK_REPORT) != 0);
  }
  if (wk == NULL || wk->abs == NULL || wk->contain == NULL || wk->sd == NULL) {
    walk_free(wk);
    watch_fallback(w, rel, -ENOMEM);
    return -ENOMEM;
  }
  walk_enqueue(w, wk);
  return 0;
}

void watch_walk_adopt(struct watch *w, struct watch_seed *sd)
{
  /* The root's: until its first slice is in, root_wd is -1. */
  struct watch_walk *wk = walk_new(w, "", WALK_ROOT);

  if (wk == NULL) {
    watch_seed_drop(w, sd);
    watch_seed_free(sd);
    watch_fallback(w, "", -ENOMEM);
    return;
  }
  wk->sd = sd;
  walk_enqueue(w, wk);
}

void watch_report_later(struct watch *w, const char *rel)
{
  /* A rescan covers every path; out of memory, one is asked for. */
  if (rel == NULL || (!w->later_all && strlist_push(&w->later, rel) < 0)) {
    w->later_all = true;
    strlist_free(&w->later);
  }
}

void watch_walks_orphan(struct watch *w)
{
  struct watch_walk *head = w->walks;
  struct watch_walk *wk;

  (void)uv_idle_stop(&w->apply); /* cannot fail */
  while ((wk = w->walks) != NULL) {
    w->walks = wk->next;
    if (wk == head && w->applying)
      continue; /* being taken in: walk_on_apply frees it */
    if (!wk->on_pool) {
      walk_free(wk);
      continue;
    }
    /* It ends on the pool and frees itself; skip is not called after
     * this: the consumer may free what it reads. */
    uv_mutex_lock(&wk->mu);
    wk->gone = true;
    uv_mutex_unlock(&wk->mu);
    wk->w = NULL;
  }
  w->walks_tail = NULL;
}

void watch_walks_resume(struct watch *w)
{
  if (w->walks == NULL)
    walk_next(w);
}

bool watch_root_walking(const struct watch *w)
{
  const struct watch_walk *wk;

  if (w->seed != NULL)
    return true;
  for (wk = w->walks; wk != NULL; wk = wk->next)
    if ((wk->flags & WALK_ROOT) && wk->gen == w->root_gen)
      return true;
  return false;
}

bool watch_settled(const struct watch *w)
{
  return !w->starting && w->seed == NULL && w->walks == NULL;
}

#endif /* __linux__ */
