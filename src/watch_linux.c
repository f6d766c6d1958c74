/* SPDX-License-Identifier: MIT */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "strlist.h"
#include "util.h"
#include "watch_linux.h"

/* Room for many events per read; the kernel never splits one. */
#define WATCH_READ_BUF (64 * 1024)

bool watch_skip(const struct watch *w, const char *rel, bool is_dir)
{
  return w->opts.skip != NULL && w->opts.skip(w->opts.skip_ctx, rel, is_dir);
}

/* Joins rel and name with '/', rel "" meaning the root.  NULL on ENOMEM
 * or a path too long to be a path. */
char *watch_join(const char *a, const char *b)
{
  struct buf p;

  buf_init(&p, PATH_MAX);
  if (buf_adds(&p, a) < 0 || (a[0] != '\0' && buf_addc(&p, '/') < 0) ||
      buf_adds(&p, b) < 0) {
    buf_free(&p);
    return NULL;
  }
  return buf_take(&p);
}

void watch_report_now(struct watch *w, const char *rel)
{
  if (!w->closing) /* the consumer may close us from its callback */
    w->cb(w, rel, w->arg);
}

void watch_report(struct watch *w, const char *rel)
{
  /* Links being resolved again are followed, walks queued, first. */
  if (w->walks != NULL || w->settling)
    watch_report_later(w, rel);
  else
    watch_report_now(w, rel);
}

/* Overflow or an event we cannot place: look at the root again, re-add
 * every watch by a walk on the pool (adding an existing one is
 * harmless), then check every link and ask for a full rescan, once the
 * walk is in (watch_walk.c). */
static void watch_resync(struct watch *w, const char *why)
{
  log_msg(w->opts.log, LOG_INFO, "%s; rescanning %s", why, w->root);
  watch_root_check(w, false);
  /* A root just taken is walked whole already. */
  if (w->root_present && !watch_root_walking(w))
    (void)watch_walk_push(w, "", w->real, WALK_RESYNC);
  watch_report(w, NULL);
}

/* The paths of wd's directory, copied: reporting and watching may
 * change the map.  0, or -ENOMEM; 1 if wd is not watched (any more). */
static int watch_rels(const struct watch *w, int wd, struct strlist *out)
{
  const struct wdmap_entry *e = wdmap_get(&w->dirs, wd);
  size_t i;

  strlist_init(out);
  if (e == NULL || e->removing)
    return 1;
  for (i = 0; i < e->n_rels; i++)
    if (strlist_push(out, e->rels[i]) < 0) {
      strlist_free(out);
      return -ENOMEM;
    }
  return 0;
}

/* A file name at child (one of the paths of its directory) had the
 * events in mask; it is what lstat found there (and where a symlink
 * leads), or NULL. */
static void watch_name_at(struct watch *w, const char *child, uint32_t mask,
                          const struct lstatq_item *it)
{
  if (mask & WATCH_NAME_EVENTS) {
    if (watch_link_find(w, child) != NULL) {
      /* A link removed, or replaced (`ln -sfn` renames over it): what
       * was behind it changed as a whole. */
      watch_forget_tree(w, child);
      w->links_stale = true; /* others may lead through this one */
    }
    if (w->n_dangling > 0)
      w->dangling_stale = true;
  }
  if ((mask & (IN_CREATE | IN_MOVED_TO)) && it != NULL &&
      S_ISLNK(it->st.st_mode)) {
    watch_link_add(w, child, it);
    w->links_stale = true;
  }
  if (!watch_skip(w, child, false))
    watch_report(w, child);
}

/* The lstat(2) of rel, to tell a new symlink and a hard-linked file,
 * from the last batch (watch_lstat.c): *it, or NULL if it failed.  False
 * if the event must wait for a batch. */
static bool watch_stat_of(struct watch *w, bool fire, const char *rel,
                          const struct lstatq_item **it)
{
  char *abs = watch_join(w->real, rel);
  const struct lstatq_item *got;

  *it = NULL;
  if (abs == NULL)
    return true; /* too long to be stated: as a failed lstat */
  got = watch_lstat_take(w, fire, abs);
  free(abs);
  if (got == NULL)
    return false;
  if (got->rc == 0)
    *it = got;
  return true;
}

/* Tells the hard-link index about a file event at rel. */
static void watch_hardlinks(struct watch *w, const char *rel, uint32_t mask,
                            const struct stat *st)
{
  if (mask & (IN_CREATE | IN_MOVED_TO))
    hardlinks_named(w->hl, rel, st);
  else if (mask & (IN_CLOSE_WRITE | IN_MODIFY))
    hardlinks_changed(w->hl, rel, st);
}

/* A file name in wd's directory had the events in mask (fire: a held
 * name's report): it is reported under every path of the directory and
 * every link to it.  False if it waits for its stat: nothing was done. */
static bool watch_name_event(struct watch *w, int wd, const char *name,
                             uint32_t mask, bool fire)
{
  const struct lstatq_item *it = NULL;
  struct strlist rels;
  char *child;
  size_t i;
  int rc;

  rc = watch_rels(w, wd, &rels);
  if (rc != 0) {
    if (rc < 0)
      watch_resync(w, "out of memory");
    return true;
  }
  for (i = 0; i < rels.n && !w->closing; i++) {
    child = watch_join(rels.v[i], name);
    if (child == NULL)
      continue;
    if (i == 0 && (mask & WATCH_STAT_EVENTS) &&
        !watch_stat_of(w, fire, child, &it)) {
      free(child);
      strlist_free(&rels);
      return false;
    }
    watch_name_at(w, child, mask, it);
    if (i == 0 && it != NULL && !w->closing)
      watch_hardlinks(w, child, mask, &it->st);
    free(child);
  }
  strlist_free(&rels);
  if (!w->closing)
    watch_report_link_targets(w, wd, name);
  return true;
}

static void watch_dir_event(struct watch *w, const char *rel, uint32_t mask)
{
  if (watch_skip(w, rel, true))
    return;
  if (mask & (IN_CREATE | IN_MOVED_TO)) {
    (void)watch_walk_push(w, rel, NULL, WALK_REPORT);
    if (w->n_dangling > 0)
      w->dangling_stale = true;
  } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
    watch_forget_tree(w, rel);
    if (w->n_links > 0)
      w->links_stale = true; /* links into it lead nowhere now */
  } else {
    return; /* attrib of a directory changes no object */
  }
  watch_report(w, rel);
}

/* A directory name in wd's directory had the events in mask. */
static void watch_subdir_event(struct watch *w, int wd, const char *name,
                               uint32_t mask)
{
  struct strlist rels;
  char *child;
  size_t i;
  int rc;

  rc = watch_rels(w, wd, &rels);
  if (rc != 0) {
    if (rc < 0)
      watch_resync(w, "out of memory");
    return;
  }
  for (i = 0; i < rels.n && !w->closing; i++) {
    child = watch_join(rels.v[i], name);
    if (child != NULL)
      watch_dir_event(w, child, mask);
    free(child);
  }
  strlist_free(&rels);
}

/* False if the event waits for its stat. */
static bool watch_child_event(struct watch *w, const struct inotify_event *ev)
{
  if (ev->mask & IN_ISDIR) {
    watch_subdir_event(w, ev->wd, ev->name, ev->mask);
    return true;
  }
  if ((ev->mask & ~(uint32_t)WATCH_HELD_EVENTS) == 0) {
    hold_put(&w->hold, ev->wd, ev->name); /* reported once, soon */
    return true;
  }
  /* This report covers whatever was held for the name (forgetting it
   * twice, when the event waits for its stat, is the same). */
  (void)hold_take(&w->hold, ev->wd, ev->name);
  return watch_name_event(w, ev->wd, ev->name, ev->mask, false);
}

/* A held name is reported in its turn, with a stat (watch_lstat.c). */
static void watch_on_held(void *ctx, int wd, const char *name)
{
  struct watch *w = ctx;

  if (!w->closing && w->root_present)
    watch_fire_push(w, wd, name);
}

/* The hold's timer fired: its reports run now, unless events wait. */
static void watch_on_flushed(void *ctx)
{
  watch_events_resume(ctx);
}

/* Runs the first held name's report; false if it waits for its stat. */
static bool watch_fire_first(struct watch *w)
{
  struct watch_hold_key k = w->fires[0]; /* reporting may queue more */

  if (w->root_present && !watch_name_event(w, k.wd, k.name, IN_MODIFY, true))
    return false;
  w->n_fires--;
  memmove(&w->fires[0], &w->fires[1], w->n_fires * sizeof(*w->fires));
  return true;
}

/* A file system mounted inside the tree went away: its mount point now
 * shows the directory beneath, which is watched and reported whole. */
static void watch_unmounted_below(struct watch *w, int wd)
{
  struct strlist rels;
  size_t i;

  if (watch_rels(w, wd, &rels) != 0) {
    watch_resync(w, "a file system inside the tree was unmounted");
    return;
  }
  for (i = 0; i < rels.n && !w->closing; i++) {
    watch_forget_tree(w, rels.v[i]);
    (void)watch_walk_push(w, rels.v[i], NULL, 0);
    watch_report(w, rels.v[i]);
  }
  w->links_stale = w->n_links > 0;
  strlist_free(&rels);
}

static void watch_ignored(struct watch *w, int wd, struct wdmap_entry *e)
{
  bool lost = !e->removing;

  if (e->removing)
    w->n_removing--;
  if (lost && e->pins > 0)
    w->links_stale = true; /* a linked file's directory is gone */
  wdmap_del(&w->dirs, wd);
  if (wd == w->root_wd) {
    w->root_wd = -1;
    watch_root_check(w, true); /* deleted, unmounted: what is there now? */
  }
}

/* False if the event waits for its stat: then nothing was done. */
static bool watch_event(struct watch *w, const struct inotify_event *ev)
{
  struct wdmap_entry *e;

  if (ev->mask & IN_Q_OVERFLOW) {
    watch_resync(w, "inotify queue overflowed");
    return true;
  }
  if (watch_parent_event(w, ev))
    return true;
  e = wdmap_get(&w->dirs, ev->wd);
  if (e == NULL) {
    if (!(ev->mask & IN_IGNORED))
      watch_resync(w, "event for an unknown watch");
    return true;
  }
  if (ev->mask & IN_IGNORED) {
    watch_ignored(w, ev->wd, e);
    return true;
  }
  if (e->removing)
    return true; /* stale: queued before the watch was removed */
  if (ev->wd == w->root_wd &&
      (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))) {
    watch_root_check(w, true);
    return true;
  }
  if (ev->mask & IN_UNMOUNT) {
    watch_unmounted_below(w, ev->wd);
    return true;
  }
  if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
    return true; /* the parent directory's event tells where it went */
  return ev->len == 0 || watch_child_event(w, ev);
}

/* Whether events wait: for a walk, or for their stats. */
static bool watch_blocked(const struct watch *w)
{
  return w->closing || w->walks != NULL || w->stat_wait;
}

/* The next held name's report or event in buf, run; false if it waits
 * for its stat. */
static bool watch_run_one(struct watch *w, const char *buf, size_t *off)
{
  const struct inotify_event *ev;

  if (w->n_fires > 0)
    return watch_fire_first(w);
  if (buf == NULL)
    return true; /* nothing read: watch_run does not ask then */
  ev = (const struct inotify_event *)(const void *)(buf + *off);
  if (!watch_event(w, ev))
    return false;
  *off += sizeof(*ev) + ev->len;
  return true;
}

/* The report or event that waits gets no stat (out of memory): it is
 * dropped, and a rescan covers it. */
static void watch_run_unstated(struct watch *w, const char *buf, size_t *off)
{
  const struct inotify_event *ev;

  if (w->n_fires > 0) {
    w->n_fires--;
    memmove(&w->fires[0], &w->fires[1], w->n_fires * sizeof(*w->fires));
  } else if (buf != NULL) {
    ev = (const struct inotify_event *)(const void *)(buf + *off);
    *off += sizeof(*ev) + ev->len;
  }
  watch_resync(w, "out of memory");
}

/* Runs the held names' reports, then the events in buf from *off to n,
 * in order.  It stops after one that queued a walk: the rest waits until
 * the walks are in; and before one whose stat is not in: the rest waits
 * for a batch of stats (watch_lstat.c says why the order holds). */
static void watch_run(struct watch *w, const char *buf, size_t n, size_t *off)
{
  while (!watch_blocked(w) && (w->n_fires > 0 || (buf != NULL && *off < n))) {
    if (watch_run_one(w, buf, off) || w->closing)
      continue;
    /* buf is NULL, and n 0, when only held names' reports run. */
    if (watch_lstat_fetch(w, *off < n ? buf + *off : NULL, n - *off) < 0)
      watch_run_unstated(w, buf, off);
  }
}

/* Keeps the n bytes of events at p, read but not run, for
 * watch_events_resume.  Events are padded to their alignment, so a copy
 * from an event's start in fresh memory keeps every one aligned. */
static void watch_keep(struct watch *w, const char *p, size_t n)
{
  w->held = malloc(n);
  if (w->held == NULL) {
    watch_resync(w, "out of memory"); /* as if the queue overflowed */
    return;
  }
  memcpy(w->held, p, n);
  w->held_off = 0;
  w->held_len = n;
}

void watch_events_resume(struct watch *w)
{
  int rc;

  if (watch_blocked(w) || w->seed != NULL)
    return;
  if (w->held != NULL || w->n_fires > 0) {
    watch_run(w, w->held, w->held_len, &w->held_off);
    if (watch_blocked(w))
      return;
    free(w->held);
    w->held = NULL;
    w->held_off = 0;
    w->held_len = 0;
  }
  watch_links_settle(w);
  if (watch_blocked(w))
    return;
  rc = watch_poll_start(w);
  if (rc < 0)
    log_msg(w->opts.log, LOG_ERROR, "%s: inotify: %s; not watching", w->root,
            uv_strerror(rc));
}

static void watch_on_readable(uv_poll_t *poll, int status, int events)
{
  struct watch *w = container_of(poll, struct watch, poll);
  char buf[WATCH_READ_BUF]
      __attribute__((aligned(__alignof__(struct inotify_event))));
  size_t off;
  ssize_t n;

  (void)events; /* only UV_READABLE was asked for */
  if (status < 0) {
    watch_resync(w, uv_strerror(status));
    return;
  }
  for (;;) {
    n = read(w->fd, buf, sizeof(buf));
    if (n <= 0)
      break;             /* EAGAIN: drained; EINTR: the poll fires again */
    watch_lstat_drop(w); /* its stats are older than these events */
    off = 0;
    watch_run(w, buf, (size_t)n, &off);
    if (w->closing)
      return;
    if (watch_blocked(w)) { /* the poll is stopped until they are in */
      if (off < (size_t)n)
        watch_keep(w, buf + off, (size_t)n - off);
      return;
    }
  }
  /* Links are resolved again once per batch of events, not per event:
   * a rebuild moves many things at once. */
  watch_links_settle(w);
}

/* Hard links' other names come from a walk without excludes: drop what
 * the consumer excludes, as a scan would never reach it. */
static void watch_on_hardlink(void *ctx, const char *rel)
{
  struct watch *w = ctx;
  char *dir;
  char *slash;
  bool skip;

  if (w->closing || !w->root_present || watch_skip(w, rel, false))
    return;
  dir = strdup(rel);
  if (dir == NULL)
    return;
  skip = false;
  while (!skip && (slash = strrchr(dir, '/')) != NULL) {
    *slash = '\0';
    skip = watch_skip(w, dir, true);
  }
  free(dir);
  if (!skip)
    watch_report(w, rel);
}

int watch_poll_start(struct watch *w)
{
  return uv_poll_start(&w->poll, UV_READABLE, watch_on_readable);
}

static int watch_open(struct watch *w, uv_loop_t *loop, struct cfw_err *err)
{
  int rc;

  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0)
    return cfw_err_set(err, -errno, "inotify: %s", strerror(errno));
  rc = uv_poll_init(loop, &w->poll, w->fd);
  if (rc < 0) {
    (void)close(w->fd); /* nothing was watched yet */
    w->fd = -1;
    return cfw_err_set(err, rc, "inotify: %s", uv_strerror(rc));
  }
  /* From here on the handles exist and only watch_close frees w. */
  (void)uv_timer_init(loop, &w->fallback);    /* cannot fail */
  (void)uv_timer_init(loop, &w->probe_retry); /* cannot fail */
  (void)uv_idle_init(loop, &w->apply);        /* cannot fail */
  hold_init(&w->hold, loop, watch_on_held, watch_on_flushed, w);
  rc = lstatq_new(&w->statq, loop, watch_lstat_done, w);
  if (rc < 0)
    return cfw_err_set(err, rc, "stat thread: %s", uv_strerror(rc));
  watch_mounts_start(w);
  return 0;
}

static void watch_free(struct watch *w)
{
  watch_links_free(w);
  wdmap_free(&w->dirs);
  free(w->held);
  lstatq_batch_free(w->stats);
  free(w->fires);
  strlist_free(&w->settle_paths);
  strlist_free(&w->later);
  strlist_free(&w->unwatched);
  hardlinks_destroy(w->hl);
  free(w->root);
  free(w->parent);
  free(w->base);
  free(w->real);
  free(w->real_base);
  free(w);
}

static void watch_on_close(uv_handle_t *h)
{
  struct watch *w = h->data;

  if (--w->closing > 0)
    return;
  (void)close(w->fd); /* all watches go with it; nothing to report */
  if (w->mounts_fd >= 0)
    (void)close(w->mounts_fd); /* read-only, never read */
  if (w->done != NULL)
    w->done(w->done_arg);
  watch_free(w);
}

void watch_close(struct watch *w, void (*done)(void *arg), void *arg)
{
  if (w == NULL)
    return;
  watch_seed_orphan(w);
  watch_walks_orphan(w);
  watch_lstat_orphan(w);
  lstatq_close(w->statq); /* its callback never runs again */
  w->statq = NULL;
  w->done = done;
  w->done_arg = arg;
  w->closing = w->mounts_fd >= 0 ? 7 : 5;
  w->poll.data = w;
  w->fallback.data = w;
  w->probe_retry.data = w;
  w->apply.data = w;
  w->hold.timer.data = w;
  uv_close((uv_handle_t *)&w->poll, watch_on_close);
  uv_close((uv_handle_t *)&w->fallback, watch_on_close);
  uv_close((uv_handle_t *)&w->probe_retry, watch_on_close);
  uv_close((uv_handle_t *)&w->apply, watch_on_close);
  hold_close(&w->hold, watch_on_close);
  if (w->mounts_fd >= 0) {
    w->mounts.data = w;
    w->mounts_first.data = w;
    uv_close((uv_handle_t *)&w->mounts, watch_on_close);
    uv_close((uv_handle_t *)&w->mounts_first, watch_on_close);
  }
}

static struct watch *watch_alloc(uv_loop_t *loop, const struct watch_opts *o,
                                 watch_cb cb, void *arg)
{
  struct watch *w = calloc(1, sizeof(*w));

  if (w == NULL)
    return NULL;
  w->loop = loop;
  w->opts = *o;
  w->cb = cb;
  w->arg = arg;
  w->fd = -1;
  w->mounts_fd = -1;
  w->parent_wd = -1;
  w->real_parent_wd = -1;
  w->root_wd = -1;
  wdmap_init(&w->dirs);
  strlist_init(&w->later);
  strlist_init(&w->settle_paths);
  strlist_init(&w->unwatched);
  if (hardlinks_new(&w->hl, loop, watch_on_hardlink, w) < 0) {
    free(w);
    return NULL;
  }
  return w;
}

int watch_start(struct watch **out, uv_loop_t *loop, const struct watch_opts *o,
                watch_cb cb, void *arg, struct cfw_err *err)
{
  struct watch *w;
  int rc;

  w = watch_alloc(loop, o, cb, arg);
  if (w == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = watch_split_root(w, o->root);
  if (rc < 0) {
    watch_free(w);
    return cfw_err_set(err, rc, "%s: not an absolute directory path", o->root);
  }
  rc = watch_open(w, loop, err);
  if (rc < 0 && w->fd < 0) {
    watch_free(w);
    return rc;
  }
  if (rc < 0) {
    watch_close(w, NULL, NULL); /* freed once its handles are closed */
    return rc;
  }
  /* Events are read once the root check is back (watch_lstat.c), a
   * seeded watch's once the walk is over (watch_seed.c), and any
   * watch's once its own walk of the root is in (watch_walk.c). */
  w->defer_walk = o->deferred;
  rc = watch_root_start(w);
  if (rc < 0) {
    watch_close(w, NULL, NULL);
    return cfw_err_set(err, rc, "out of memory");
  }
  *out = w;
  return 0;
}

size_t watch_dir_count(const struct watch *w)
{
  return w->dirs.used - w->n_removing;
}

bool watch_root_present(const struct watch *w)
{
  return w->root_present;
}

uint64_t watch_root_gen(const struct watch *w)
{
  return w->root_gen;
}

#endif /* __linux__ */
