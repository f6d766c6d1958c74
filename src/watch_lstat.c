/* SPDX-License-Identifier: MIT */
/* The lstat(2) each name event needs (a new symlink is followed, a
 * hard-linked file's other names are reported), off the loop thread.
 * It was the last disk syscall there: one per event, 2,154 for a burst
 * of 2,000 files.
 *
 * Why the order of events and reports is the one the loop kept when it
 * took each stat itself:
 *  - An event runs only with its stat in hand.  When the next one to run
 *    has none, nothing runs: the rest of the read (and the inotify fd,
 *    whose poll stops) waits, as for a walk (watch_walk.c), while one
 *    batch, the stats of every later event in the read that will want
 *    one, is stated on the lstatq thread.  Then the events run again
 *    from the one that waited, in the kernel's order.
 *  - A held name's report (watch_hold) wants a stat too.  It is queued
 *    (w->fires) and runs before the next event: where the loop ran it
 *    (an eviction between two events, the timer between two reads).
 *  - A batch is a guess, made from the map of directories as it was; an
 *    event run later may be under another path (a directory moved
 *    meanwhile).  A stat is used only for the very path the event asks
 *    about, and only if it was taken after the event was read (a new
 *    read drops the batch; a held name's report queued after it was
 *    sent finds none in it).  Otherwise a new batch is sent from that
 *    event on.  So each event sees a stat of the path
 *    the loop would have stated, taken between its read and its run, as
 *    the loop's was; running events changes nothing on disk.
 *  - Links are resolved there too.  The thread resolves a symlink it
 *    finds (watch_link_add takes where it leads from the batch), and
 *    watch_links_settle sends the links' paths as a batch of their own:
 *    meanwhile events wait, and reports wait in w->later, as for a walk,
 *    so a link re-pointed is followed before anything after it runs.
 *
 * Why a thread of the watch's own (lstatq.c), not libuv's pool: the pool
 * runs a pass's hashing, queued all at once, so a batch behind it could
 * leave the inotify fd unread for the whole pass and the kernel's queue
 * to overflow (a rescan).  Costs: one round trip per read of up to 64 KiB
 * of events that holds a created, moved-in or written file; the loop
 * spends about a microsecond per event on the guess and the lookup. */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "util.h"
#include "watch_linux.h"

void watch_fire_push(struct watch *w, int wd, const char *name)
{
  struct watch_hold_key *v;

  v = array_grow(w->fires, w->n_fires, &w->cap_fires, sizeof(*v));
  if (v == NULL) {
    watch_report(w, NULL); /* out of memory: a rescan covers it */
    return;
  }
  w->fires = v;
  v[w->n_fires].wd = wd;
  (void)str_copy(v[w->n_fires].name, sizeof(v[0].name), name); /* fits */
  w->n_fires++;
}

void watch_lstat_drop(struct watch *w)
{
  watch_pins_leftover(w, w->stats);
  lstatq_batch_free(w->stats);
  w->stats = NULL;
}

/* The absolute path a name event in wd's directory stats (its first
 * path's), or NULL if it stats none.  As watch_name_event does. */
static char *lstat_path(const struct watch *w, int wd, const char *name)
{
  const struct wdmap_entry *e = wdmap_get(&w->dirs, wd);
  char *rel;
  char *abs;

  if (e == NULL || e->removing || e->n_rels == 0)
    return NULL;
  rel = watch_join(e->rels[0], name);
  abs = rel != NULL ? watch_join(w->real, rel) : NULL;
  free(rel);
  return abs;
}

/* Whether ev, run now, would reach watch_name_event with a mask that
 * stats: as watch_event and watch_child_event dispatch it. */
static bool lstat_wanted(const struct watch *w, const struct inotify_event *ev)
{
  if (ev->len == 0 || (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_ISDIR)))
    return false;
  if (ev->wd == w->parent_wd || ev->wd == w->real_parent_wd)
    return false;
  if ((ev->mask & ~(uint32_t)WATCH_HELD_EVENTS) == 0)
    return false; /* held: its report comes later */
  return (ev->mask & WATCH_STAT_EVENTS) != 0;
}

/* Adds the path to b; an event that stats nothing adds nothing. */
static int lstat_add(struct lstatq_batch *b, char *abs)
{
  return abs != NULL ? lstatq_batch_add(b, abs) : 0;
}

int watch_lstat_fetch(struct watch *w, const char *evs, size_t n)
{
  const struct inotify_event *ev;
  struct lstatq_batch *b = lstatq_batch_new();
  size_t off;
  size_t i;
  int rc = b != NULL ? 0 : -ENOMEM;

  for (i = 0; rc == 0 && i < w->n_fires; i++)
    rc = lstat_add(b, lstat_path(w, w->fires[i].wd, w->fires[i].name));
  if (rc == 0)
    b->split = b->n;
  for (off = 0; rc == 0 && off < n; off += sizeof(*ev) + ev->len) {
    ev = (const struct inotify_event *)(const void *)(evs + off);
    if (lstat_wanted(w, ev))
      rc = lstat_add(b, lstat_path(w, ev->wd, ev->name));
  }
  if (rc == 0) {
    b->next[0] = 0;
    b->next[1] = b->split;
    rc = watch_lstat_send(w, b, WATCH_BATCH_EVENTS);
  }
  if (rc < 0)
    lstatq_batch_free(b);
  return rc;
}

int watch_lstat_send(struct watch *w, struct lstatq_batch *b,
                     enum watch_batch kind)
{
  int rc;

  /* A root check resolves no link; there may be no root yet.  A link
   * to a file is pinned there too, through a dup of the inotify fd (the
   * watch's may be closed while the thread runs). */
  if (kind != WATCH_BATCH_ROOT) {
    b->within = strdup(w->real);
    if (b->within == NULL)
      return -ENOMEM;
    b->pin_fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
    if (b->pin_fd < 0)
      return -errno;
    b->pin_mask = WATCH_DIR_MASK;
  }
  rc = lstatq_submit(w->statq, b);
  if (rc < 0)
    return rc; /* -EBUSY: a caller's bug, stat_wait says when */
  if (kind == WATCH_BATCH_EVENTS)
    watch_lstat_drop(w);
  w->stat_wait = true;
  w->settling = kind == WATCH_BATCH_SETTLE;
  w->batch = kind;
  w->batch_sent_ms = uv_now(w->loop);
  w->settle_gen = w->root_gen;
  (void)uv_poll_stop(&w->poll); /* cannot fail on a live handle */
  return 0;
}

const struct lstatq_item *watch_lstat_take(struct watch *w, bool fire,
                                           const char *abs)
{
  struct lstatq_batch *b = w->stats;
  size_t s = fire ? 0 : 1;
  size_t end;
  size_t i;

  if (b == NULL)
    return NULL;
  /* A report queued after the batch was sent finds no stat among those
   * of the reports before it: its own is newer than the batch. */
  end = fire ? b->split : b->n;
  /* The entries skipped were guesses for events that did not ask. */
  for (i = b->next[s]; i < end; i++) {
    if (strcmp(b->v[i].abs, abs) != 0)
      continue;
    b->next[s] = i + 1;
    return &b->v[i];
  }
  return NULL;
}

void watch_lstat_orphan(struct watch *w)
{
  static const char *const what[] = {"the stats of its events",
                                     "its check of the links",
                                     "its look at the root"};
  uint64_t s;

  if (!w->stat_wait)
    return;
  s = (uv_now(w->loop) - w->batch_sent_ms) / 1000;
  if (s < WATCH_STUCK_S)
    return; /* in flight, as most are for microseconds */
  log_msg(w->opts.log, LOG_WARN,
          "%s: %s has been waiting for the disk for %llu s (a file system "
          "that does not answer?); closing without it",
          w->root, what[w->batch], (unsigned long long)s);
}

void watch_lstat_done(void *arg, struct lstatq_batch *b)
{
  struct watch *w = arg;
  enum watch_batch kind = w->batch;

  w->stat_wait = false;
  w->settling = false;
  if (kind == WATCH_BATCH_EVENTS) {
    watch_lstat_drop(w);
    w->stats = b; /* kept through a root check: still newer than reads */
  } else if (kind == WATCH_BATCH_SETTLE) {
    watch_links_settled(w, b);
    strlist_free(&w->settle_paths);
    if (!w->closing)
      watch_pins_leftover(w, b);
  } else {
    watch_root_probed(w, b);
  }
  if (kind != WATCH_BATCH_EVENTS)
    lstatq_batch_free(b);
  if (w->closing)
    return;
  /* A root check asked for while this batch was out goes first: events
   * wait for it as they would have waited at its turn. */
  watch_root_check_pending(w);
  if (kind == WATCH_BATCH_SETTLE)
    watch_walks_resume(w);
  else
    watch_events_resume(w);
}

#endif /* __linux__ */
