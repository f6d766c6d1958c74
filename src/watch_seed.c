/* SPDX-License-Identifier: MIT */
/* A walk that watches what it reads: its visitor adds the watch of each
 * directory just before the walk reads it, through a dup of the inotify
 * fd, and records (wd, path) pairs, the links met and, if asked, the
 * files, which the loop then takes in (watch_seed_apply).  Two walks
 * use it: the start-up one, done once by the scan (watch.h,
 * watch_deferred), so that the tree is read once; and the watch's own
 * on the thread pool (watch_walk.c), whose paths start at a prefix.
 *
 * Nothing is missed in between, for the reason a listing misses
 * nothing: a directory is watched before its first entry is read, so
 * whatever is created in it after the read has its event queued, and
 * whatever was created before is read.  The events wait in the kernel's
 * queue until the walk is over and its watches are in the map (the
 * poll starts only then), so none is taken for an unknown watch; a
 * queue that overflows meanwhile asks for a rescan as always. */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "strlist.h"
#include "tree.h"
#include "util.h"
#include "watch_linux.h"

/* Through the walk's open fd, so the watch is on the very directory it
 * reads, even if a name on its path is swapped meanwhile; the magic
 * link must be followed, so no IN_DONT_FOLLOW here. */
#define WATCH_SEED_MASK (WATCH_DIR_MASK & ~(uint32_t)IN_DONT_FOLLOW)

/* Written by the walk's threads only (one call at a time: tree.h) until
 * its end is seen on the loop (the start-up walk's done, or
 * uv_queue_work's after_work). */
struct watch_seed {
  struct tree_visit visit;
  struct watch *w; /* borrowed; NULL once the watch is closing */
  int fd;          /* owned: a dup of the inotify fd, for the walk */
  char *prefix;    /* owned: where the walk's root is; "" the root */
  struct buf full; /* the walk's threads': prefix/relpath */
  int *wds;        /* owned: the watch of each dirs.v[i] */
  size_t cap_wds;
  struct strlist dirs;  /* the walk's directories, each after its parent */
  struct strlist links; /* the symlinks it met */
  /* Where each of links leads (res, res_rc, res_st), resolved by the
   * walk's thread as it met the link: the loop never resolves one. */
  struct lstatq_batch *link_to; /* owned */
  char *within;                 /* owned: the resolved root, then */
  struct strlist files;         /* the files it met, when asked to */
  struct strlist refused;       /* directories the watch would not take */
  size_t at_dir;                /* how far the loop has taken them in */
  size_t at_link;
  size_t at_file;
  struct watch_id root; /* what the walk read as the root */
  bool root_seen;
  bool own; /* a walk of the watch's own: it counts as listed */
  bool enospc;
  bool root_unwatched; /* the watch's root could not be watched */
  int failed;          /* 0, or why the seed cannot be used: -ENOMEM... */
  uint64_t gen;
};

/* relpath (from the walk's root) as a path from the watch's root, in a
 * buffer of the walk's; NULL on ENOMEM. */
static const char *seed_full(struct watch_seed *sd, const char *relpath)
{
  if (sd->prefix[0] == '\0')
    return relpath;
  buf_reset(&sd->full);
  if (buf_adds(&sd->full, sd->prefix) < 0 ||
      (relpath[0] != '\0' &&
       (buf_addc(&sd->full, '/') < 0 || buf_adds(&sd->full, relpath) < 0)))
    return NULL;
  return buf_str(&sd->full);
}

static void seed_on_dir(void *ctx, const char *relpath, int fd,
                        const struct stat *st)
{
  struct watch_seed *sd = ctx;
  const char *rel = seed_full(sd, relpath);
  char proc[64];
  int *v;
  int wd;
  int n;

  if (sd->failed != 0)
    return;
  if (relpath[0] == '\0') {
    sd->root.dev = (uint64_t)st->st_dev;
    sd->root.ino = (uint64_t)st->st_ino;
    sd->root_seen = true;
  }
  n = snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  if (rel == NULL || n < 0 || (size_t)n >= sizeof(proc)) {
    sd->failed = rel == NULL ? -ENOMEM : -ENAMETOOLONG;
    return;
  }
  wd = inotify_add_watch(sd->fd, proc, WATCH_SEED_MASK);
  if (wd < 0) {
    if (rel[0] == '\0')
      sd->root_unwatched = true;
    /* Out of watches: the walk reads it anyway, rescans cover it. */
    if (errno == ENOSPC)
      sd->enospc = true;
    else
      sd->failed = -errno; /* no /proc? the watch walks for itself */
    return;
  }
  v = array_grow(sd->wds, sd->dirs.n, &sd->cap_wds, sizeof(*v));
  if (v == NULL || strlist_push(&sd->dirs, rel) < 0) {
    sd->wds = v != NULL ? v : sd->wds;
    sd->failed = -ENOMEM;
    (void)inotify_rm_watch(sd->fd, wd); /* unknown to the watch */
    return;
  }
  sd->wds = v;
  sd->wds[sd->dirs.n - 1] = wd;
}

static void seed_push(struct watch_seed *sd, struct strlist *l,
                      const char *relpath)
{
  const char *rel = seed_full(sd, relpath);

  if (sd->failed == 0 && (rel == NULL || strlist_push(l, rel) < 0))
    sd->failed = -ENOMEM;
}

/* On the walk's thread: records the link and where it leads now.  The
 * loop checks every link again once the walk is in (watch_seed_apply):
 * what the link leads to may change before its directory is watched. */
static void seed_on_link(void *ctx, const char *relpath)
{
  struct watch_seed *sd = ctx;
  const char *rel = seed_full(sd, relpath);
  char *abs;

  if (sd->failed != 0)
    return;
  abs = rel != NULL ? watch_join(sd->within, rel) : NULL;
  if (abs == NULL || strlist_push(&sd->links, rel) < 0) {
    free(abs);
    sd->failed = -ENOMEM;
    return;
  }
  if (lstatq_batch_add(sd->link_to, abs) < 0) { /* abs taken */
    sd->failed = -ENOMEM;
    return;
  }
  lstatq_resolve(&sd->link_to->v[sd->link_to->n - 1], sd->within, sd->fd,
                 WATCH_DIR_MASK);
}

static void seed_on_file(void *ctx, const char *relpath)
{
  struct watch_seed *sd = ctx;

  seed_push(sd, &sd->files, relpath);
}

void watch_seed_free(struct watch_seed *sd)
{
  if (sd == NULL)
    return;
  if (sd->fd >= 0)
    (void)close(sd->fd); /* the watch's own fd keeps the instance */
  free(sd->prefix);
  buf_free(&sd->full);
  strlist_free(&sd->dirs);
  strlist_free(&sd->links);
  lstatq_batch_free(sd->link_to);
  free(sd->within);
  strlist_free(&sd->files);
  strlist_free(&sd->refused);
  free(sd->wds);
  free(sd);
}

static struct watch_seed *seed_alloc(const struct watch *w, const char *rel)
{
  struct watch_seed *sd = calloc(1, sizeof(*sd));

  if (sd == NULL)
    return NULL;
  sd->fd = -1;
  strlist_init(&sd->dirs);
  strlist_init(&sd->links);
  strlist_init(&sd->files);
  strlist_init(&sd->refused);
  buf_init(&sd->full, PATH_MAX);
  sd->prefix = strdup(rel);
  sd->within = strdup(w->real);
  sd->link_to = lstatq_batch_new();
  sd->fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
  if (sd->prefix == NULL || sd->within == NULL || sd->link_to == NULL ||
      sd->fd < 0) {
    watch_seed_free(sd);
    return NULL;
  }
  sd->gen = w->root_gen;
  sd->visit.dir = seed_on_dir;
  sd->visit.link = seed_on_link;
  sd->visit.ctx = sd;
  return sd;
}

struct watch_seed *watch_seed_make(const struct watch *w, const char *rel,
                                   bool files)
{
  struct watch_seed *sd = seed_alloc(w, rel);

  if (sd != NULL && files)
    sd->visit.file = seed_on_file;
  if (sd != NULL)
    sd->own = true;
  return sd;
}

bool watch_seed_short(const struct watch_seed *sd)
{
  return sd->enospc;
}

const struct tree_visit *watch_seed_visit(const struct watch_seed *sd)
{
  return &sd->visit;
}

/* Whether the walk read the directory the watch follows now. */
static bool seed_fits(const struct watch *w, const struct watch_seed *sd)
{
  return w->root_present && w->root_gen == sd->gen && sd->root_seen &&
         sd->root.dev == w->root_id.dev && sd->root.ino == w->root_id.ino;
}

/* Whether rel lies at or under a directory the watch refused. */
static bool seed_refused(const struct watch_seed *sd, const char *rel)
{
  size_t i;

  for (i = 0; i < sd->refused.n; i++)
    if (wdmap_covers(sd->refused.v[i], rel))
      return true;
  return false;
}

/* A watch the walk added that the watch does not take (a directory
 * refused, a walk of an older root): its events, queued since the walk
 * added it, are dropped with it. */
static void seed_unwatch(struct watch *w, int wd)
{
  if (wdmap_get(&w->dirs, wd) == NULL)
    watch_retire(w, wd);
}

/* Takes directory i in.  A loop (a link up to an ancestor, which a walk
 * of a subtree cannot see from its start) or ENOMEM refuses it and all
 * below it, as a full scan does not enter it. */
static void seed_adopt(struct watch *w, struct watch_seed *sd, size_t i)
{
  const char *rel = sd->dirs.v[i];
  int wd;

  if (seed_refused(sd, rel)) {
    seed_unwatch(w, sd->wds[i]);
    return;
  }
  wd = watch_adopt_dir(w, sd->wds[i], rel);
  if (wd < 0) {
    if (strlist_push(&sd->refused, rel) < 0)
      sd->failed = -ENOMEM;
    seed_unwatch(w, sd->wds[i]);
    return;
  }
  if (rel[0] == '\0') {
    w->root_wd = wd;
    w->root_unwatched = false;
  }
  if (sd->own)
    w->n_listed++;
}

/* Takes the next thing found in; false when there is nothing left. */
static bool seed_apply_one(struct watch *w, struct watch_seed *sd)
{
  const char *rel;

  if (sd->at_dir < sd->dirs.n) {
    seed_adopt(w, sd, sd->at_dir++);
    return true;
  }
  /* Out of memory, the last link met may have no resolution. */
  if (sd->at_link < sd->link_to->n) {
    rel = sd->links.v[sd->at_link];
    if (!seed_refused(sd, rel)) {
      watch_link_seed(w, rel, &sd->link_to->v[sd->at_link]);
      /* A link found stands for what is behind it, as a file would. */
      if (sd->visit.file != NULL && !watch_skip(w, rel, false))
        watch_report_now(w, rel);
    }
    sd->at_link++;
    return true;
  }
  if (sd->at_file < sd->files.n) {
    rel = sd->files.v[sd->at_file++];
    if (!seed_refused(sd, rel))
      watch_report_now(w, rel);
    return true;
  }
  return false;
}

bool watch_seed_apply(struct watch *w, struct watch_seed *sd, size_t budget)
{
  size_t i;

  for (i = 0; i < budget && !w->closing; i++)
    if (!seed_apply_one(w, sd))
      break;
  if (i == budget || w->closing)
    return w->closing;
  watch_pins_leftover(w, sd->link_to);
  /* The same root, rescanned (below) rather than taken again at each
   * root check; each rescan tries its watch again (watch_fallback.c). */
  if (sd->root_unwatched)
    w->root_unwatched = true;
  /* Resolved before their targets' directories were all watched: looked
   * at again (watch_links_settle, on the lstatq thread) now they are. */
  if (sd->links.n > 0)
    w->links_stale = true;
  if (sd->enospc)
    watch_fallback(w, sd->prefix, -ENOSPC);
  else if (sd->failed != 0)
    watch_fallback(w, sd->prefix, sd->failed);
  return true;
}

void watch_seed_drop(struct watch *w, struct watch_seed *sd)
{
  for (; sd->at_dir < sd->dirs.n; sd->at_dir++)
    seed_unwatch(w, sd->wds[sd->at_dir]);
  watch_pins_leftover(w, sd->link_to);
}

/* The start-up walk's seed cannot be used: its watches go, and the
 * watch walks the tree itself, as without a seed. */
static void seed_discard(struct watch *w, struct watch_seed *sd, int status)
{
  watch_seed_drop(w, sd);
  if (status == -ECANCELED)
    return; /* the caller gave up: it is closing */
  log_msg(w->opts.log, LOG_DEBUG, "%s: start-up walk not used (%s)%s", w->root,
          strerror(-(status < 0 ? status : sd->failed)),
          sd->failed == 0 && status == 0 ? "; the root changed" : "");
  if (!w->root_present)
    return;
  /* The caller's walk read the tree before these watches are in: what
   * changed in between is found by a rescan once they are. */
  if (watch_walk_push(w, "", w->real, WALK_ROOT) == 0)
    watch_report(w, NULL);
}

static void seed_on_done(void *ctx, int status)
{
  struct watch_seed *sd = ctx;
  struct watch *w = sd->w;

  if (w == NULL) { /* closed meanwhile */
    watch_seed_free(sd);
    return;
  }
  w->seed = NULL;
  if (status == 0 && sd->failed == 0 && seed_fits(w, sd)) {
    watch_walk_adopt(w, sd); /* taken in a slice per loop turn */
  } else {
    seed_discard(w, sd, status);
    watch_seed_free(sd);
  }
  if (w->recheck) {
    w->recheck = false;
    watch_root_check(w, true);
  }
  watch_events_resume(w);
}

int watch_seed_new(struct watch *w)
{
  struct watch_seed *sd = seed_alloc(w, "");

  if (sd == NULL)
    return -ENOMEM;
  sd->w = w;
  sd->visit.done = seed_on_done;
  w->seed = sd;
  return 0;
}

void watch_seed_orphan(struct watch *w)
{
  if (w->seed != NULL)
    w->seed->w = NULL;
  w->seed = NULL;
}

const struct tree_visit *watch_deferred(const struct watch *w)
{
  return w->seed != NULL ? &w->seed->visit : NULL;
}

size_t watch_listed_count(const struct watch *w)
{
  return w->n_listed;
}

#endif /* __linux__ */
