/* SPDX-License-Identifier: MIT */
/* The start-up walk, done once: the scan's walk adds the watch of each
 * directory just before it reads it, so the watch need not list the
 * tree itself (watch.h, watch_deferred).
 *
 * Nothing is missed in between, for the reason the watch's own walk
 * misses nothing: a directory is watched before its first entry is
 * read, so whatever is created in it after the read has its event
 * queued, and whatever was created before is read.  The events wait in
 * the kernel's queue until the walk is over and its watches are in the
 * map (the poll starts only then), so none is taken for an unknown
 * watch; a queue that overflows meanwhile asks for a rescan as always. */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strlist.h"
#include "tree.h"
#include "util.h"
#include "watch_linux.h"

/* Through the walk's open fd, so the watch is on the very directory it
 * reads, even if a name on its path is swapped meanwhile; the magic
 * link must be followed, so no IN_DONT_FOLLOW here. */
#define WATCH_SEED_MASK (WATCH_DIR_MASK & ~(uint32_t)IN_DONT_FOLLOW)

/* Written by the walk's thread only until its done runs on the loop. */
struct watch_seed {
  struct tree_visit visit;
  struct watch *w; /* borrowed; NULL once the watch is closing */
  int fd;          /* owned: a dup of the inotify fd, for the walk */
  int *wds;        /* owned: the watch of each dirs.v[i] */
  size_t cap_wds;
  struct strlist dirs;  /* the walk's directories, in walk order */
  struct strlist links; /* the symlinks it met */
  struct watch_id root; /* what the walk read as the root */
  bool root_seen;
  bool enospc;
  int failed; /* 0, or why the seed cannot be used: -ENOMEM... */
  uint64_t gen;
};

static void seed_on_dir(void *ctx, const char *rel, int fd,
                        const struct stat *st)
{
  struct watch_seed *sd = ctx;
  char proc[64];
  int *v;
  int wd;
  int n;

  if (sd->failed != 0)
    return;
  if (rel[0] == '\0') {
    sd->root.dev = (uint64_t)st->st_dev;
    sd->root.ino = (uint64_t)st->st_ino;
    sd->root_seen = true;
  }
  n = snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  if (n < 0 || (size_t)n >= sizeof(proc)) {
    sd->failed = -ENAMETOOLONG;
    return;
  }
  wd = inotify_add_watch(sd->fd, proc, WATCH_SEED_MASK);
  if (wd < 0) {
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
    return;
  }
  sd->wds = v;
  sd->wds[sd->dirs.n - 1] = wd;
}

static void seed_on_link(void *ctx, const char *rel)
{
  struct watch_seed *sd = ctx;

  if (sd->failed == 0 && strlist_push(&sd->links, rel) < 0)
    sd->failed = -ENOMEM;
}

static void seed_free(struct watch_seed *sd)
{
  if (sd == NULL)
    return;
  if (sd->fd >= 0)
    (void)close(sd->fd); /* the watch's own fd keeps the instance */
  strlist_free(&sd->dirs);
  strlist_free(&sd->links);
  free(sd->wds);
  free(sd);
}

/* Whether the walk read the directory the watch follows now. */
static bool seed_fits(const struct watch *w, const struct watch_seed *sd)
{
  return w->root_present && w->root_gen == sd->gen && sd->root_seen &&
         sd->root.dev == w->root_id.dev && sd->root.ino == w->root_id.ino;
}

static void seed_apply(struct watch *w, const struct watch_seed *sd)
{
  size_t i;
  int wd;

  for (i = 0; i < sd->dirs.n; i++) {
    wd = watch_adopt_dir(w, sd->wds[i], sd->dirs.v[i]);
    if (sd->dirs.v[i][0] == '\0')
      w->root_wd = wd;
  }
  if (sd->enospc)
    watch_enospc(w, "");
  for (i = 0; i < sd->links.n; i++)
    watch_link_seed(w, sd->links.v[i]);
}

/* The seed cannot be used: its watches go, and the watch lists the
 * tree itself, as without a seed. */
static void seed_discard(struct watch *w, const struct watch_seed *sd,
                         int status)
{
  size_t i;

  for (i = 0; i < sd->dirs.n; i++)
    (void)inotify_rm_watch(w->fd, sd->wds[i]); /* IN_IGNORED is dropped */
  if (status == -ECANCELED)
    return; /* the caller gave up: it is closing */
  log_msg(w->opts.log, LOG_DEBUG, "%s: start-up walk not used (%s)%s", w->root,
          strerror(-(status < 0 ? status : sd->failed)),
          sd->failed == 0 && status == 0 ? "; the root changed" : "");
  if (w->root_present)
    w->root_wd = watch_add_tree(w, "", w->real, false);
}

static void seed_on_done(void *ctx, int status)
{
  struct watch_seed *sd = ctx;
  struct watch *w = sd->w;
  int rc;

  if (w == NULL) { /* closed meanwhile */
    seed_free(sd);
    return;
  }
  w->seed = NULL;
  if (status == 0 && sd->failed == 0 && seed_fits(w, sd))
    seed_apply(w, sd);
  else
    seed_discard(w, sd, status);
  seed_free(sd);
  rc = watch_poll_start(w);
  if (rc < 0)
    log_msg(w->opts.log, LOG_ERROR, "%s: inotify: %s; not watching", w->root,
            uv_strerror(rc));
  if (w->recheck) {
    w->recheck = false;
    watch_root_check(w, true);
  }
}

int watch_seed_new(struct watch *w)
{
  struct watch_seed *sd = calloc(1, sizeof(*sd));

  if (sd == NULL)
    return -ENOMEM;
  sd->fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
  if (sd->fd < 0) {
    free(sd);
    return -errno;
  }
  strlist_init(&sd->dirs);
  strlist_init(&sd->links);
  sd->w = w;
  sd->gen = w->root_gen;
  sd->visit.dir = seed_on_dir;
  sd->visit.link = seed_on_link;
  sd->visit.done = seed_on_done;
  sd->visit.ctx = sd;
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
