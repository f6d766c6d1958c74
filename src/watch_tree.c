/* SPDX-License-Identifier: MIT */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strlist.h"
#include "tree.h"
#include "util.h"
#include "watch_linux.h"

/* Where rel lies on disk: under the resolved root.  NULL on ENOMEM. */
static char *watch_abs(const struct watch *w, const char *rel)
{
  return rel[0] != '\0' ? watch_join(w->real, rel) : strdup(w->real);
}

/* A full scan does not enter a directory it is already inside (tree.c's
 * loop check): neither does the watch.  Every directory on the way to
 * rel was watched before rel, under the paths that reach it, so rel's
 * directory is its own ancestor iff one of its paths covers rel. */
static bool watch_loops(const struct wdmap_entry *e, const char *rel)
{
  size_t i;

  for (i = 0; i < e->n_rels; i++)
    if (strcmp(e->rels[i], rel) != 0 && wdmap_covers(e->rels[i], rel))
      return true;
  return false;
}

static void watch_unwatch(struct watch *w, struct wdmap_entry *e)
{
  /* An IN_IGNORED for this wd is queued now, either caused by this call
   * or, when it fails, by the directory's deletion: it deletes the
   * entry.  Until then events for this wd are stale and dropped. */
  (void)inotify_rm_watch(w->fd, e->wd);
  e->removing = true;
  w->n_removing++;
}

void watch_retire(struct watch *w, int wd)
{
  struct wdmap_entry *e;

  (void)inotify_rm_watch(w->fd, wd); /* fails only if it is gone already */
  e = wdmap_add(&w->dirs, wd, NULL);
  if (e != NULL && !e->removing) {
    e->removing = true;
    w->n_removing++;
  }
}

int watch_adopt_dir(struct watch *w, int wd, const char *rel)
{
  struct wdmap_entry *e;

  e = wdmap_get(&w->dirs, wd);
  if (e != NULL && e->removing) {
    e->removing = false; /* watched anew before its IN_IGNORED came */
    w->n_removing--;
  }
  if (e != NULL && watch_loops(e, rel))
    return -1;
  if (wdmap_add(&w->dirs, wd, rel) == NULL) {
    log_msg(w->opts.log, LOG_ERROR, "out of memory watching %s/%s", w->root,
            rel);
    return -1;
  }
  return wd;
}

/* ---- symlinks ---- */

/* The index of the first link at or after path in the sorted table. */
static size_t watch_link_pos(const struct watch *w, const char *path)
{
  size_t lo = 0;
  size_t hi = w->n_links;
  size_t mid;

  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    if (strcmp(w->links[mid]->path, path) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct wlink *watch_link_find(const struct watch *w, const char *rel)
{
  size_t i = watch_link_pos(w, rel);

  return i < w->n_links && strcmp(w->links[i]->path, rel) == 0 ? w->links[i]
                                                               : NULL;
}

static void watch_link_free(struct wlink *l)
{
  if (l == NULL)
    return;
  free(l->path);
  free(l->target);
  free(l);
}

/* Drops link i: its file's directory is unpinned (and unwatched when
 * nothing else needs it). */
static void watch_link_drop(struct watch *w, size_t i)
{
  struct wlink *l = w->links[i];
  struct wdmap_entry *e = l->wd > 0 ? wdmap_get(&w->dirs, l->wd) : NULL;
  size_t tail;

  if (e != NULL && e->pins > 0 && --e->pins == 0 && e->n_rels == 0 &&
      !e->removing)
    watch_unwatch(w, e);
  if (l->err == -ENOENT)
    w->n_dangling--;
  /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
  tail = (w->n_links - i - 1) * sizeof(*w->links);
  memmove(&w->links[i], &w->links[i + 1], tail);
  w->n_links--;
  watch_link_free(l);
}

void watch_links_free(struct watch *w)
{
  while (w->n_links > 0)
    watch_link_drop(w, w->n_links - 1);
  free(w->links);
  w->links = NULL;
  w->cap_links = 0;
}

void watch_forget_tree(struct watch *w, const char *rel)
{
  struct wdmap_entry *e;
  size_t i = watch_link_pos(w, rel);

  /* Links under rel sort right after it ("a" < "a/b"), though not always
   * contiguously ("a" < "a-b" < "a/b"): go on while the prefix matches. */
  while (i < w->n_links && strncmp(w->links[i]->path, rel, strlen(rel)) == 0) {
    if (wdmap_covers(rel, w->links[i]->path))
      watch_link_drop(w, i);
    else
      i++;
  }
  for (i = 0; i < w->dirs.cap; i++) {
    e = &w->dirs.v[i];
    if (e->wd <= 0 || e->removing || e->n_rels == 0)
      continue;
    if (wdmap_drop_under(e, rel) == 0 && e->pins == 0)
      watch_unwatch(w, e);
  }
}

/* Where the resolved path res lies, relative to the resolved root. */
static const char *watch_rel_of(const struct watch *w, const char *res)
{
  size_t n = strlen(w->real);

  if (n == 1)
    return res + 1; /* the root is "/" */
  return res[n] == '\0' ? "" : res + n + 1;
}

/* Pins l's file's directory with wd, its watch as the thread that
 * resolved the link added it (lstatq_item.pin_wd); returns the wd
 * pinned, or -1. */
static int watch_pin(struct watch *w, const struct wlink *l, int wd)
{
  const char *slash = strrchr(l->target, '/');
  struct wdmap_entry *e;
  char *dir;

  if (wd == -ENOSPC) {
    dir = slash != NULL ? strndup(l->target, (size_t)(slash - l->target))
                        : strdup("");
    watch_fallback_pins(w, dir != NULL ? dir : "");
    free(dir);
  }
  e = wd > 0 ? wdmap_add(&w->dirs, wd, NULL) : NULL;
  if (e == NULL)
    return -1;
  if (e->removing) {
    e->removing = false;
    w->n_removing--;
  }
  e->pins++;
  return wd;
}

void watch_pins_leftover(struct watch *w, const struct lstatq_batch *b)
{
  size_t i;
  int wd;

  for (i = 0; b != NULL && i < b->n; i++) {
    wd = b->v[i].pin_wd;
    if (wd > 0 && wd != w->parent_wd && wd != w->real_parent_wd &&
        wdmap_get(&w->dirs, wd) == NULL)
      watch_retire(w, wd);
  }
}

/* Fills l from where its link leads: rc 0 and the resolved path res,
 * what is there (st), or why it leads nowhere in the tree. */
static void watch_link_fill(const struct watch *w, struct wlink *l, int rc,
                            const char *res, const struct stat *st)
{
  l->err = rc;
  if (l->err == 0 && !S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode))
    l->err = -EINVAL; /* FIFOs, sockets, devices: never files of a site */
  if (l->err == 0) {
    l->is_dir = S_ISDIR(st->st_mode);
    l->target = strdup(watch_rel_of(w, res));
    if (l->target == NULL)
      l->err = -ENOMEM;
  }
}

static bool watch_link_same(const struct wlink *a, const struct wlink *b)
{
  if (a->err != b->err || a->is_dir != b->is_dir)
    return false;
  if (a->target == NULL || b->target == NULL)
    return a->target == b->target;
  return strcmp(a->target, b->target) == 0;
}

static int watch_link_insert(struct watch *w, struct wlink *l)
{
  struct wlink **v;
  size_t i = watch_link_pos(w, l->path);

  /* The links are kept by pointer: following one adds others. */
  /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
  v = array_grow(w->links, w->n_links, &w->cap_links, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  w->links = v;
  /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
  memmove(&v[i + 1], &v[i], (w->n_links - i) * sizeof(*v));
  v[i] = l;
  w->n_links++;
  if (l->err == -ENOENT)
    w->n_dangling++;
  return 0;
}

/* Follows l, which is in the table: watches what it leads to (a file's
 * directory: pin_wd, its watch, lstatq_item's). */
static void watch_link_follow(struct watch *w, struct wlink *l, int pin_wd)
{
  char *res;

  if (l->err != 0 || watch_skip(w, l->path, l->is_dir))
    return;
  /* Without watches, loops among links go unnoticed (watch_loops): the
   * periodic rescans cover what lies behind directory links then, and
   * the link is followed once they stop (watch_fallback.c). */
  if (l->is_dir && w->fallback_on) {
    w->links_unfollowed = true;
    return;
  }
  if (!l->is_dir) {
    l->wd = watch_pin(w, l, pin_wd);
    return;
  }
  res = l->target[0] != '\0' ? watch_join(w->real, l->target) : strdup(w->real);
  if (res != NULL)
    (void)watch_walk_push(w, l->path, res, 0); /* on the pool */
  free(res);
}

void watch_link_refollow(struct watch *w, struct wlink *l)
{
  if (l->is_dir)
    watch_link_follow(w, l, 0);
}

/* l, a link to a file whose pin could not be added (out of watches),
 * was resolved again, and it is where it leads now: pins with it's. */
static void watch_link_repin(struct watch *w, struct wlink *l,
                             const struct lstatq_item *it)
{
  if (l->is_dir || l->err != 0 || l->wd >= 0 || watch_skip(w, l->path, false))
    return;
  l->wd = watch_pin(w, l, it->pin_wd);
}

/* A link at rel, which leads where it says (resolved on another
 * thread: the lstatq thread's or a walk's); NULL on ENOMEM. */
static struct wlink *watch_link_make(const struct watch *w, const char *rel,
                                     const struct lstatq_item *it)
{
  struct wlink *l = calloc(1, sizeof(*l));

  if (l == NULL || (l->path = strdup(rel)) == NULL) {
    free(l);
    return NULL;
  }
  l->wd = -1;
  watch_link_fill(w, l, it->res_rc, it->res, &it->res_st);
  return l;
}

void watch_link_add(struct watch *w, const char *rel,
                    const struct lstatq_item *it)
{
  struct wlink *l = watch_link_make(w, rel, it);
  struct wlink *old;

  if (l == NULL)
    return;
  old = watch_link_find(w, rel);
  if (old != NULL && watch_link_same(old, l)) {
    /* Listed again (a rescan): what a linked directory holds may have
     * grown meanwhile; a linked file's directory is pinned already. */
    watch_link_free(l);
    if (old->is_dir)
      watch_link_follow(w, old, 0);
    return;
  }
  if (old != NULL)
    watch_forget_tree(w, rel);
  if (watch_link_insert(w, l) < 0) {
    watch_link_free(l);
    return;
  }
  watch_link_follow(w, l, it->pin_wd);
}

void watch_link_seed(struct watch *w, const char *rel,
                     const struct lstatq_item *it)
{
  struct wlink *l;

  if (watch_link_find(w, rel) != NULL)
    return; /* met twice: a link reached through a linked directory */
  l = watch_link_make(w, rel, it);
  if (l == NULL)
    return;
  if (watch_link_insert(w, l) < 0) {
    watch_link_free(l);
    return;
  }
  if (!l->is_dir)
    watch_link_follow(w, l, it->pin_wd); /* a directory: walked */
}

void watch_report_link_targets(struct watch *w, int wd, const char *name)
{
  const struct wdmap_entry *e = wdmap_get(&w->dirs, wd);
  const struct wlink *l;
  const char *slash;
  size_t i;

  /* O(links) for an event in a directory some link leads into; none
   * for every other directory. */
  if (e == NULL || e->pins == 0)
    return;
  for (i = 0; i < w->n_links; i++) {
    l = w->links[i];
    if (l->is_dir || l->wd != wd || l->target == NULL)
      continue;
    slash = strrchr(l->target, '/');
    if (strcmp(slash != NULL ? slash + 1 : l->target, name) == 0 &&
        !watch_skip(w, l->path, false))
      watch_report(w, l->path);
  }
}

/* Whether it (the link at its path now) is a symlink. */
static bool watch_item_is_link(const struct lstatq_item *it)
{
  return it->rc == 0 && S_ISLNK(it->st.st_mode);
}

/* Whether link l leads elsewhere than it did: it is what its path is. */
static bool watch_link_moved(const struct watch *w, const struct wlink *l,
                             const struct lstatq_item *it)
{
  struct wlink now = {0};
  bool moved;

  if (!watch_item_is_link(it))
    return true; /* gone or replaced: its own event may have been lost */
  watch_link_fill(w, &now, it->res_rc, it->res, &it->res_st);
  moved = !watch_link_same(l, &now);
  free(now.target);
  return moved;
}

/* Follows the link at path anew (or forgets it if it is no link now). */
static void watch_link_redo(struct watch *w, const char *path,
                            const struct lstatq_item *it)
{
  watch_forget_tree(w, path);
  if (watch_item_is_link(it))
    watch_link_add(w, path, it);
  if (!watch_skip(w, path, false))
    watch_report(w, path);
}

void watch_links_settle(struct watch *w)
{
  struct lstatq_batch *b;
  bool all = w->links_stale;
  char *abs;
  size_t i;
  int rc = 0;

  if (w->stat_wait ||
      (!w->links_stale && !(w->dangling_stale && w->n_dangling > 0)))
    return;
  b = lstatq_batch_new();
  strlist_free(&w->settle_paths);
  for (i = 0; b != NULL && rc == 0 && i < w->n_links; i++) {
    if (!all && w->links[i]->err != -ENOENT)
      continue;
    rc = strlist_push(&w->settle_paths, w->links[i]->path);
    abs = rc == 0 ? watch_abs(w, w->links[i]->path) : NULL;
    rc = abs != NULL ? lstatq_batch_add(b, abs) : -ENOMEM;
  }
  if (b != NULL && rc == 0 && b->n == 0) {
    rc = 1; /* no link to look at */
    w->links_stale = false;
    w->dangling_stale = false;
  }
  if (b == NULL || rc != 0 || watch_lstat_send(w, b, WATCH_BATCH_SETTLE) < 0) {
    lstatq_batch_free(b); /* out of memory: the next change tries again */
    strlist_free(&w->settle_paths);
    return;
  }
  w->links_stale = false;
  w->dangling_stale = false;
}

void watch_links_settled(struct watch *w, const struct lstatq_batch *b)
{
  const struct strlist *paths = &w->settle_paths;
  struct wlink *l;
  size_t *moved = calloc(b->n > 0 ? b->n : 1, sizeof(*moved));
  size_t n = 0;
  size_t last;
  size_t i;

  if (moved == NULL || !w->root_present || w->root_gen != w->settle_gen) {
    /* Out of memory, the next change tries again; another root, its own
     * walk has met its links. */
    w->links_stale = moved == NULL;
    free(moved);
    return;
  }
  for (i = 0; i < b->n && i < paths->n; i++) {
    l = watch_link_find(w, paths->v[i]);
    if (l != NULL && watch_link_moved(w, l, &b->v[i]))
      moved[n++] = i;
    else if (l != NULL)
      watch_link_repin(w, l, &b->v[i]);
  }
  /* Sorted, a link under another one that moved comes after it and was
   * followed anew with it. */
  for (i = 0, last = 0; i < n && !w->closing; i++) {
    if (i > 0 && wdmap_covers(paths->v[moved[last]], paths->v[moved[i]]))
      continue;
    last = i;
    watch_link_redo(w, paths->v[moved[i]], &b->v[moved[i]]);
  }
  free(moved);
}

#endif /* __linux__ */
