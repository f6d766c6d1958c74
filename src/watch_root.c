/* SPDX-License-Identifier: MIT */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"
#include "watch_linux.h"

/* A root check that could not be sent is tried again this much later. */
#define WATCH_PROBE_RETRY_MS 1000

/* What the root path leads to now: looked at on the lstatq thread, as
 * the events' stats are, since realpath(3) and statx(2) of a root on a
 * slow or hung mount (NFS, FUSE) would hold the loop.  So are the
 * watches added by path (the parents'): a path lookup is disk work. */
struct watch_probe {
  char *root;   /* owned: the path to look at (a copy: the watch may be
                   freed while the thread looks) */
  bool present; /* a directory */
  bool mount;   /* the root of a mounted file system */
  struct watch_id id;
  char *real;    /* owned: realpath, or NULL */
  int fd;        /* owned: a dup of the inotify fd, or -1 */
  char *parent;  /* owned: the configured root's parent to watch (at
                    start), or NULL */
  int parent_wd; /* its watch, or -errno */
  int real_wd;   /* the watch of real's parent, or -errno; -1 until
                    added, and once the loop took it */
};

static struct watch_id watch_id_of(const struct statx *stx)
{
  struct watch_id id;

  id.dev = (uint64_t)makedev(stx->stx_dev_major, stx->stx_dev_minor);
  id.ino = stx->stx_ino;
  return id;
}

/* Whether real is a mount point: statx says so since Linux 5.8; before,
 * a device other than its parent's does (missing bind mounts within one
 * file system). */
static bool watch_is_mount(const char *real, const struct statx *stx)
{
  struct stat up;
  char *parent;
  bool mount;

  if (stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    return (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  parent = watch_join(real, "..");
  mount = parent != NULL && stat(parent, &up) == 0 &&
          (uint64_t)up.st_dev != watch_id_of(stx).dev;
  free(parent);
  return mount;
}

/* Watches the directory holding real, a resolved root, through p's fd:
 * `rm -rf releases/5 && mkdir releases/5` under a link is seen there. */
static void watch_probe_real_parent(struct watch_probe *p)
{
  const char *slash = strrchr(p->real, '/');
  char *dir;

  if (p->fd < 0)
    return;
  dir = slash == NULL || slash == p->real
            ? strdup("/")
            : strndup(p->real, (size_t)(slash - p->real));
  if (dir == NULL) {
    p->real_wd = -ENOMEM;
    return;
  }
  p->real_wd = inotify_add_watch(p->fd, dir, WATCH_PARENT_MASK);
  if (p->real_wd < 0)
    p->real_wd = -errno;
  free(dir);
}

/* Fills p from what p->root leads to now; on the lstatq thread, never
 * the loop's. */
static void watch_probe_run(void *data)
{
  struct watch_probe *p = data;
  struct statx stx;

  if (p->parent != NULL && p->fd >= 0) {
    p->parent_wd = inotify_add_watch(p->fd, p->parent, WATCH_PARENT_MASK);
    if (p->parent_wd < 0)
      p->parent_wd = -errno;
  }
  /* Resolved first, then looked at without following: the id is the
   * resolved directory's even if the link is re-pointed in between. */
  p->real = realpath(p->root, NULL);
  if (p->real == NULL)
    return;
  if (statx(AT_FDCWD, p->real, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
            STATX_TYPE | STATX_INO, &stx) < 0 ||
      !S_ISDIR(stx.stx_mode)) {
    free(p->real);
    p->real = NULL;
    return;
  }
  p->present = true;
  p->id = watch_id_of(&stx);
  p->mount = watch_is_mount(p->real, &stx);
  watch_probe_real_parent(p);
}

static void watch_probe_free(void *data)
{
  struct watch_probe *p = data;

  if (p == NULL)
    return;
  if (p->fd >= 0)
    (void)close(p->fd); /* the watch's own fd keeps the instance */
  free(p->root);
  free(p->parent);
  free(p->real);
  free(p);
}

/* A probe of w's root, not yet run (at start, of its parent too); NULL
 * on ENOMEM. */
static struct watch_probe *watch_probe_new(const struct watch *w, bool start)
{
  struct watch_probe *p = calloc(1, sizeof(*p));

  if (p == NULL)
    return NULL;
  p->real_wd = -1;
  p->parent_wd = -1;
  /* Its own fd: the watch may be closed, and its fd with it, while the
   * thread looks. */
  p->fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
  p->root = strdup(w->root);
  p->parent = start ? strdup(w->parent) : NULL;
  if (p->fd < 0 || p->root == NULL || (start && p->parent == NULL)) {
    watch_probe_free(p);
    return NULL;
  }
  return p;
}

static bool watch_id_eq(const struct watch_id *a, const struct watch_id *b)
{
  return a->dev == b->dev && a->ino == b->ino;
}

/* Stops watching everything but the parents. */
static void watch_drop_all(struct watch *w)
{
  watch_forget_tree(w, "");
  hold_clear(&w->hold);
  w->root_wd = -1;
  w->root_unwatched = false;
  watch_fallback_reset(w); /* a new root's walk says what it cannot watch */
}

static void watch_root_lost(struct watch *w, const char *what, bool announce)
{
  if (!w->root_present)
    return;
  watch_drop_all(w);
  w->root_present = false;
  watch_fallback_settle(w); /* nothing to rescan until it is back */
  log_msg(w->opts.log, LOG_INFO, "%s %s", w->root, what);
  if (announce) /* now: there is nothing to watch first */
    watch_report_now(w, NULL);
}

/* Watches the resolved root's parent too, when it is not the configured
 * root's: `rm -rf releases/5 && mkdir releases/5` under a link.  The
 * probe p added its watch (taken here). */
static void watch_real_parent(struct watch *w, struct watch_probe *p)
{
  const char *slash = strrchr(w->real, '/');
  int wd = p->real_wd >= 0 ? p->real_wd : -1;

  p->real_wd = -1;
  free(w->real_base);
  w->real_base = strdup(slash != NULL ? slash + 1 : w->real);
  if (w->real_parent_wd >= 0 && w->real_parent_wd != wd)
    watch_retire(w, w->real_parent_wd);
  w->real_parent_wd = wd == w->parent_wd ? -1 : wd;
}

/* The probe's watch of real's parent, when not taken (the root is the
 * same, or not a root to take): one the watch does not know is removed,
 * and its events, queued since the probe added it, are dropped. */
static void watch_probe_leftover(struct watch *w, struct watch_probe *p)
{
  int wd = p->real_wd;

  p->real_wd = -1;
  if (wd < 0 || wd == w->parent_wd || wd == w->real_parent_wd ||
      wdmap_get(&w->dirs, wd) != NULL)
    return;
  watch_retire(w, wd);
}

/* Follows the directory p found at the root: a new one, or the one we
 * knew under a new path, or one whose watch was lost. */
static void watch_root_take(struct watch *w, struct watch_probe *p,
                            bool announce)
{
  bool was = w->root_present;
  bool moved = w->real != NULL && strcmp(w->real, p->real) != 0;

  if (was)
    watch_drop_all(w);
  free(w->real);
  w->real = p->real; /* taken */
  p->real = NULL;
  w->root_id = p->id;
  w->root_mount = p->mount;
  w->unmounted = false;
  w->root_present = true;
  w->root_gen++;
  if (hardlinks_reset(w->hl, w->real) < 0)
    log_msg(w->opts.log, LOG_WARN,
            "out of memory: hard links of %s are "
            "seen at the next full rescan only",
            w->root);
  watch_real_parent(w, p);
  /* Seeded: the start-up walk watches the tree as it reads it; else a
   * walk of the watch's own does, on the pool (watch_walk.c), and the
   * report below waits for it. */
  w->root_wd = -1;
  if (!w->defer_walk || watch_seed_new(w) < 0)
    (void)watch_walk_push(w, "", w->real, WALK_ROOT);
  if (!announce)
    return;
  if (!was)
    log_msg(w->opts.log, LOG_INFO, "%s is back; watching it again", w->root);
  else if (moved)
    log_msg(w->opts.log, LOG_INFO, "%s now leads to %s; watching it instead",
            w->root, w->real);
  else
    log_msg(w->opts.log, LOG_INFO,
            "%s was replaced by another directory; watching that one", w->root);
  watch_report(w, NULL);
}

/* Whether p is what the watch follows now: the directory it watches
 * (or rescans, when its watch could not be added), or the bare mount
 * point it waits on.  A root whose watch was lost is taken again. */
static bool watch_root_same(const struct watch *w, const struct watch_probe *p)
{
  if (w->unmounted && !p->mount && watch_id_eq(&p->id, &w->unmounted_id))
    return true;
  return w->root_present &&
         (w->root_wd >= 0 || w->root_unwatched || watch_root_walking(w)) &&
         watch_id_eq(&p->id, &w->root_id) && strcmp(p->real, w->real) == 0;
}

/* Follows what the probe p found at the root path. */
static void watch_root_apply(struct watch *w, struct watch_probe *p,
                             bool announce)
{
  if (!p->present) {
    watch_root_lost(w, "was removed; waiting for it to return", announce);
  } else if (watch_root_same(w, p)) {
    /* Nothing changed. */
  } else if (w->root_present && w->root_mount && !p->mount) {
    /* What lies beneath a mount point is not the site: an unmounted
     * root is a gone root, not an empty one. */
    watch_root_lost(w,
                    "was unmounted; waiting for a file system to be "
                    "mounted there again",
                    announce);
    w->unmounted = true;
    w->unmounted_id = p->id;
  } else {
    watch_root_take(w, p, announce);
  }
}

/* The start's probe is back: the configured parent's watch is in, or
 * nothing can be watched.  Tells the caller, who may close the watch. */
static void watch_root_started(struct watch *w, const struct watch_probe *p)
{
  struct cfw_err err = {0};
  bool failed = p->parent_wd < 0;

  w->defer_walk = false;
  if (failed) {
    (void)cfw_err_set(&err, p->parent_wd, "%s: cannot watch: %s", w->parent,
                      strerror(-p->parent_wd));
    if (w->opts.started == NULL)
      log_msg(w->opts.log, LOG_ERROR, "%s; not watching", err.msg);
  }
  if (w->opts.started != NULL)
    w->opts.started(w, failed ? &err : NULL, w->arg);
}

/* Follows what the probe p found: the start's, once its parent's watch
 * is in. */
static void watch_root_found(struct watch *w, struct watch_probe *p,
                             bool announce)
{
  bool start = w->starting;

  w->starting = false;
  if (start)
    w->parent_wd = p->parent_wd >= 0 ? p->parent_wd : -1;
  if (!start || w->parent_wd >= 0)
    watch_root_apply(w, p, announce);
  watch_probe_leftover(w, p);
  if (start)
    watch_root_started(w, p);
}

/* Sends p's look at the root to the lstatq thread. */
static int watch_probe_send(struct watch *w, struct watch_probe *p,
                            bool announce)
{
  struct lstatq_batch *b = lstatq_batch_new();
  int rc = -ENOMEM;

  if (b != NULL) {
    b->job = watch_probe_run;
    b->job_free = watch_probe_free;
    b->job_data = p; /* taken */
    p = NULL;
    w->probe_sent_announce = announce;
    rc = watch_lstat_send(w, b, WATCH_BATCH_ROOT);
  }
  if (rc < 0)
    lstatq_batch_free(b);
  watch_probe_free(p);
  return rc;
}

int watch_root_start(struct watch *w)
{
  struct watch_probe *p = watch_probe_new(w, true);
  int rc;

  if (p == NULL)
    return -ENOMEM;
  w->starting = true;
  rc = watch_probe_send(w, p, false);
  if (rc < 0)
    w->starting = false;
  return rc;
}

static void watch_on_probe_retry(uv_timer_t *t)
{
  watch_root_check_pending(container_of(t, struct watch, probe_retry));
}

/* The look could not be sent (out of memory, or no fd left for the
 * probe's copy of the inotify one): it is tried again later, never
 * taken on the loop, where a root on a hung mount would hold it.  Till
 * then the watch follows the root as it was, as while a look is out. */
static void watch_root_check_later(struct watch *w, bool announce)
{
  w->probe_wanted = true;
  w->probe_announce = w->probe_announce || announce;
  if (!w->probe_failed)
    log_msg(w->opts.log, LOG_WARN,
            "%s: out of memory or file descriptors: looking at the root "
            "again every %d s until it can",
            w->root, WATCH_PROBE_RETRY_MS / 1000);
  w->probe_failed = true;
  (void)uv_timer_start(&w->probe_retry, watch_on_probe_retry,
                       WATCH_PROBE_RETRY_MS, 0); /* live handle */
}

void watch_root_check_pending(struct watch *w)
{
  struct watch_probe *p;
  bool announce = w->probe_announce;

  if (!w->probe_wanted || w->stat_wait || w->seed != NULL || w->closing)
    return;
  w->probe_wanted = false;
  w->probe_announce = false;
  p = watch_probe_new(w, false);
  if (p != NULL && watch_probe_send(w, p, announce) == 0) {
    w->probe_failed = false;
    return;
  }
  watch_root_check_later(w, announce);
}

void watch_root_probed(struct watch *w, const struct lstatq_batch *b)
{
  watch_root_found(w, b->job_data, w->probe_sent_announce);
}

void watch_root_check(struct watch *w, bool announce)
{
  if (w->seed != NULL) {
    w->recheck = true; /* once the walk's watches are in */
    return;
  }
  /* One probe out at a time: a check asked for meanwhile (a second
   * mount change) is sent once it is back, so none is lost, and many
   * make one. */
  w->probe_wanted = true;
  w->probe_announce = w->probe_announce || announce;
  watch_root_check_pending(w);
}

bool watch_parent_event(struct watch *w, const struct inotify_event *ev)
{
  bool in_parent = ev->wd == w->parent_wd;
  bool in_real =
      ev->wd == w->real_parent_wd || (in_parent && w->real_parent_wd < 0);

  if (!in_parent && ev->wd != w->real_parent_wd)
    return false;
  if (ev->mask & IN_IGNORED) {
    if (ev->wd == w->real_parent_wd)
      w->real_parent_wd = -1;
    else
      w->parent_wd = -1;
    return true;
  }
  if (ev->len == 0)
    return true;
  /* Event order does not matter: what the root path leads to now does.
   * (renameat2's RENAME_EXCHANGE reports the root's name moved in, then
   * moved out, when the root is its second argument.) */
  if ((in_parent && strcmp(ev->name, w->base) == 0) ||
      (in_real && w->real_base != NULL && strcmp(ev->name, w->real_base) == 0))
    watch_root_check(w, true);
  return true;
}

static void watch_on_mounts(uv_poll_t *poll, int status, int events)
{
  struct watch *w = container_of(poll, struct watch, mounts);

  (void)events; /* only UV_PRIORITIZED was asked for */
  if (status < 0) {
    log_msg(w->opts.log, LOG_WARN,
            "/proc/self/mountinfo: %s; no longer following mounts",
            uv_strerror(status));
    (void)uv_poll_stop(poll); /* stopping cannot fail on a live handle */
    return;
  }
  watch_root_check(w, true);
}

/* The loop adds the mount table's fd to its epoll set in the first poll
 * phase after watch_start, and the kernel's poll of it then takes every
 * change since the open as seen: epoll reports none (fs/proc_namespace.c
 * mounts_poll; measured on Linux 6.18).  A mount onto the root after
 * watch_start's root check would go unnoticed until the mount table
 * changed again.  So the root is looked at once more after that phase.
 * An idle handle runs before each poll phase and keeps it from
 * blocking: its first run comes before the poll phase that adds the fd,
 * wherever in a loop turn watch_start ran, so its second run comes
 * after it. */
static void watch_on_mounts_polled(uv_idle_t *idle)
{
  struct watch *w = container_of(idle, struct watch, mounts_first);

  if (w->mounts_turns++ == 0)
    return;
  (void)uv_idle_stop(idle); /* stopping cannot fail */
  watch_root_check(w, true);
}

/* The kernel marks /proc/self/mountinfo with POLLPRI when the mount
 * table changes (proc(5): "/proc/pid/mountinfo ... poll"); inotify says
 * nothing of a mount on the root, and IN_UNMOUNT comes only when the
 * file system itself goes, not when one of its mounts does. */
void watch_mounts_start(struct watch *w)
{
  int rc;

  w->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (w->mounts_fd < 0) {
    log_msg(w->opts.log, LOG_DEBUG,
            "/proc/self/mountinfo: %s; not "
            "following mounts",
            strerror(errno));
    return;
  }
  rc = uv_poll_init(w->loop, &w->mounts, w->mounts_fd);
  if (rc == 0) {
    rc = uv_poll_start(&w->mounts, UV_PRIORITIZED, watch_on_mounts);
    if (rc < 0)
      uv_close((uv_handle_t *)&w->mounts, NULL); /* never started */
  }
  if (rc < 0) {
    log_msg(w->opts.log, LOG_DEBUG,
            "/proc/self/mountinfo: %s; not "
            "following mounts",
            uv_strerror(rc));
    (void)close(w->mounts_fd); /* read-only, never read */
    w->mounts_fd = -1;
    return;
  }
  (void)uv_idle_init(w->loop, &w->mounts_first); /* cannot fail */
  /* Cannot fail: the callback is not NULL. */
  (void)uv_idle_start(&w->mounts_first, watch_on_mounts_polled);
}

int watch_split_root(struct watch *w, const char *root)
{
  const char *slash;

  w->root = strdup(root);
  if (w->root == NULL)
    return -ENOMEM;
  /* Trailing slashes would hide the base name. */
  while (strlen(w->root) > 1 && w->root[strlen(w->root) - 1] == '/')
    w->root[strlen(w->root) - 1] = '\0';
  slash = strrchr(w->root, '/');
  if (slash == NULL || slash[1] == '\0')
    return -EINVAL; /* not absolute, or "/": no parent to watch */
  w->parent = slash == w->root ? strdup("/")
                               : strndup(w->root, (size_t)(slash - w->root));
  w->base = strdup(slash + 1);
  return w->parent && w->base ? 0 : -ENOMEM;
}

#endif /* __linux__ */
