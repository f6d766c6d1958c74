/* SPDX-License-Identifier: MIT */
/* Out of inotify watches (ENOSPC from inotify_add_watch), or of memory
 * for a walk: what cannot be watched is rescanned on a timer instead,
 * and watched again once it can be.
 *
 *  - w->unwatched lists the directories whose walk could not watch
 *    everything under it (its start: "" for the root's), none under
 *    another.  Each rescan walks the first WATCH_RETRY_WALKS of them
 *    again, on the pool, and moves them to the end of the list if they
 *    fail again; a retry walk stops at the first directory it still
 *    cannot watch (watch_walk.c).  So a rescan costs the loop a slice
 *    per WATCH_WALK_SLICE directories newly watched, and the pool at
 *    most one listing of each retried subtree.
 *  - A linked file's directory that could not be pinned (pins_short):
 *    each rescan pins the links that lack it, until the first that
 *    still cannot be.
 *  - Once every walk is in and nothing is left to retry, the rescans
 *    stop, and the directory links left unfollowed meanwhile (loops
 *    among them go unnoticed without watches) are followed. */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "watch_linux.h"

/* Retry walks queued per rescan. */
#define WATCH_RETRY_WALKS 4

static uint64_t watch_fallback_ms(const struct watch *w)
{
  return w->opts.fallback_rescan_ms ? w->opts.fallback_rescan_ms : 30000;
}

/* Removes entry i of l, keeping the order. */
static void watch_strlist_del(struct strlist *l, size_t i)
{
  free(l->v[i]);
  /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
  memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
  l->n--;
}

/* Adds rel to the directories to retry, unless one covers it; drops
 * those it covers.  O(entries). */
static void watch_unwatched_add(struct watch *w, const char *rel)
{
  struct strlist *l = &w->unwatched;
  size_t i;

  for (i = 0; i < l->n; i++)
    if (wdmap_covers(l->v[i], rel))
      return;
  for (i = 0; i < l->n;) {
    if (wdmap_covers(rel, l->v[i]))
      watch_strlist_del(l, i);
    else
      i++;
  }
  if (strlist_push(l, rel) < 0) /* out of memory: the root's, then */
    w->fallback_stuck = true;
}

/* The rescan is due: walks again what could not be watched, then asks
 * for the rescan (which waits for the walks). */
static void watch_on_fallback(uv_timer_t *t)
{
  struct watch *w = container_of(t, struct watch, fallback);

  watch_fallback_retry(w);
  watch_report(w, NULL);
}

static void watch_fallback_start(struct watch *w, const char *rel, int code)
{
  uint64_t ms = watch_fallback_ms(w);

  if (w->fallback_on)
    return;
  if (code == -ENOSPC)
    log_msg(w->opts.log, LOG_WARN,
            "%s/%s: out of inotify watches; rescanning every %llu s instead. "
            "Raise the limit with: sysctl fs.inotify.max_user_watches=524288",
            w->root, rel, (unsigned long long)(ms / 1000));
  else
    log_msg(w->opts.log, LOG_WARN,
            "%s/%s: cannot watch: %s; rescanning every %llu s instead", w->root,
            rel, strerror(-code), (unsigned long long)(ms / 1000));
  if (uv_timer_start(&w->fallback, watch_on_fallback, ms, ms) == 0)
    w->fallback_on = true;
}

void watch_fallback(struct watch *w, const char *rel, int code)
{
  watch_unwatched_add(w, rel);
  watch_fallback_start(w, rel, code);
}

void watch_fallback_pins(struct watch *w, const char *rel)
{
  w->pins_short = true;
  watch_fallback_start(w, rel, -ENOSPC);
}

/* Pins the linked files' directories that could not be: their links
 * are resolved again, and pinned, on the lstatq thread (a watch added
 * by path is a lookup on the disk). */
static void watch_retry_pins(struct watch *w)
{
  if (!w->pins_short)
    return;
  w->pins_short = false;
  w->links_stale = true;
  watch_links_settle(w); /* else once the batch out is back */
}

void watch_fallback_retry(struct watch *w)
{
  struct strlist l = w->unwatched;
  size_t i;
  unsigned flags;

  if (!w->root_present || w->walks != NULL)
    return; /* a walk in flight records what it cannot watch */
  watch_retry_pins(w);
  strlist_init(&w->unwatched);
  for (i = 0; i < l.n; i++) {
    if (i >= WATCH_RETRY_WALKS) { /* next time, after those retried now */
      watch_unwatched_add(w, l.v[i]);
      continue;
    }
    flags = WALK_RETRY | (l.v[i][0] == '\0' ? WALK_ROOT | WALK_RESYNC : 0);
    (void)watch_walk_push(w, l.v[i], NULL, flags); /* ENOMEM: listed */
  }
  strlist_free(&l);
  if (w->walks == NULL) /* only pins to retry: no walk ends to settle */
    watch_fallback_settle(w);
}

void watch_fallback_settle(struct watch *w)
{
  size_t i;

  if (!w->fallback_on || w->walks != NULL || w->unwatched.n > 0 ||
      w->root_unwatched || w->pins_short || w->fallback_stuck)
    return;
  (void)uv_timer_stop(&w->fallback); /* cannot fail */
  w->fallback_on = false;
  if (w->root_present)
    log_msg(w->opts.log, LOG_INFO,
            "%s: every directory is watched again; periodic rescans stop",
            w->root);
  if (!w->links_unfollowed)
    return;
  w->links_unfollowed = false;
  for (i = 0; i < w->n_links && !w->fallback_on; i++)
    watch_link_refollow(w, w->links[i]);
}

void watch_fallback_reset(struct watch *w)
{
  strlist_free(&w->unwatched);
  w->pins_short = false;
  w->links_unfollowed = false;
}

#endif /* __linux__ */
