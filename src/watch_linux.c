/* SPDX-License-Identifier: MIT */
#include "watch.h"

#if defined(__linux__) && !defined(CFW_WATCH_LIBUV)

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "wdmap.h"

/* Directories only, never through a symlink, and no events for files
 * already unlinked but still open.  Close-write rather than modify: a file
 * is looked at once its writer is done with it. */
#define WATCH_DIR_MASK                                                         \
  (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |      \
   IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |   \
   IN_EXCL_UNLINK)
#define WATCH_PARENT_MASK                                                      \
  (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR |          \
   IN_EXCL_UNLINK)

/* Room for many events per read; the kernel never splits one. */
#define WATCH_READ_BUF (64 * 1024)

struct watch {
  uv_loop_t *loop;
  uv_poll_t poll;
  uv_timer_t fallback; /* periodic rescans after ENOSPC */
  int fd;
  int parent_wd;
  char *root;   /* owned */
  char *parent; /* owned */
  char *base;   /* owned: the root's name in its parent */
  struct watch_opts opts;
  watch_cb cb;
  void *arg;
  struct wdmap dirs;
  size_t n_removing; /* entries in dirs waiting for their IN_IGNORED */
  bool root_present;
  bool fallback_on;
  int closing;
  void (*done)(void *arg);
  void *done_arg;
};

static void watch_add_tree(struct watch *w, const char *rel, bool report);

static bool watch_skip(const struct watch *w, const char *rel, bool is_dir)
{
  return w->opts.skip != NULL && w->opts.skip(w->opts.skip_ctx, rel, is_dir);
}

/* Joins rel and name with '/', rel "" meaning the root.  NULL on ENOMEM
 * or a path too long to be a path. */
static char *watch_join(const char *a, const char *b)
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

static void watch_report(struct watch *w, const char *rel)
{
  w->cb(w, rel, w->arg);
}

static void watch_on_fallback(uv_timer_t *t)
{
  struct watch *w = container_of(t, struct watch, fallback);

  watch_report(w, NULL);
}

/* Running out of inotify watches must not stop the daemon: what cannot
 * be watched is rescanned on a timer instead. */
static void watch_enospc(struct watch *w, const char *rel)
{
  uint64_t ms = w->opts.fallback_rescan_ms ? w->opts.fallback_rescan_ms : 30000;

  if (w->fallback_on)
    return;
  log_msg(w->opts.log, LOG_WARN,
          "%s/%s: out of inotify watches; rescanning every %llu s instead. "
          "Raise the limit with: sysctl fs.inotify.max_user_watches=524288",
          w->root, rel, (unsigned long long)(ms / 1000));
  if (uv_timer_start(&w->fallback, watch_on_fallback, ms, ms) == 0)
    w->fallback_on = true;
}

/* Adds one directory's watch; returns false if it cannot be listed. */
static bool watch_add_dir(struct watch *w, const char *rel, const char *abs)
{
  int wd;

  wd = inotify_add_watch(w->fd, abs, WATCH_DIR_MASK);
  if (wd < 0) {
    if (errno == ENOSPC)
      watch_enospc(w, rel);
    else if (errno != ENOENT && errno != ENOTDIR)
      log_msg(w->opts.log, LOG_WARN, "%s: cannot watch: %s", abs,
              strerror(errno));
    return errno == ENOSPC; /* still list it: its files must be seen */
  }
  if (wdmap_put(&w->dirs, wd, rel) < 0) {
    log_msg(w->opts.log, LOG_ERROR, "out of memory watching %s", abs);
    return false;
  }
  return true;
}

static bool watch_entry_is_dir(int dfd, const struct dirent *de)
{
  struct stat st;

  if (de->d_type != DT_UNKNOWN)
    return de->d_type == DT_DIR;
  return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(st.st_mode);
}

static void watch_list_entry(struct watch *w, int dfd, const char *rel,
                             const struct dirent *de, bool report)
{
  bool is_dir = watch_entry_is_dir(dfd, de);
  char *child;

  child = watch_join(rel, de->d_name);
  if (child == NULL)
    return;
  if (!watch_skip(w, child, is_dir)) {
    if (is_dir)
      watch_add_tree(w, child, report);
    else if (report)
      watch_report(w, child);
  }
  free(child);
}

/* Lists a freshly watched directory.  It runs on the loop thread: the
 * watch-then-list order must hold against the events being read, and a
 * directory listing is short next to what it protects against. */
static void watch_list(struct watch *w, const char *rel, const char *abs,
                       bool report)
{
  struct dirent *de;
  DIR *d;

  d = opendir(abs);
  if (d == NULL)
    return; /* vanished already: its parent's event says so */
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    watch_list_entry(w, dirfd(d), rel, de, report);
  }
  (void)closedir(d); /* read-only: nothing to lose on close */
}

/* Watches rel and everything below it.  With report set (a directory
 * that appeared while we run) every file found is reported, since files
 * created before its watch existed produced no event. */
static void watch_add_tree(struct watch *w, const char *rel, bool report)
{
  char *abs;

  abs = rel[0] != '\0' ? watch_join(w->root, rel) : strdup(w->root);
  if (abs == NULL)
    return;
  if (watch_add_dir(w, rel, abs))
    watch_list(w, rel, abs, report);
  free(abs);
}

/* Stops watching rel and everything below it (rel "" is the root). */
static void watch_forget_tree(struct watch *w, const char *rel)
{
  size_t len = strlen(rel);
  size_t i;
  struct wdmap_entry *e;

  for (i = 0; i < w->dirs.cap; i++) {
    e = &w->dirs.v[i];
    if (e->wd <= 0 || e->removing)
      continue;
    if (len != 0 && (strncmp(e->rel, rel, len) != 0 ||
                     (e->rel[len] != '\0' && e->rel[len] != '/')))
      continue;
    /* An IN_IGNORED for this wd is queued now, either caused by this call
     * or, when it fails, by the directory's deletion: it deletes the
     * entry.  Until then events for this wd are stale and dropped. */
    (void)inotify_rm_watch(w->fd, e->wd);
    e->removing = true;
    w->n_removing++;
  }
}

static void watch_root_gone(struct watch *w)
{
  if (!w->root_present)
    return;
  w->root_present = false;
  watch_forget_tree(w, "");
  log_msg(w->opts.log, LOG_INFO, "%s was removed; waiting for it to return",
          w->root);
  watch_report(w, NULL);
}

/* Watches the root if it exists now; announce for a root that returned
 * (at start the caller scans anyway). */
static void watch_root_back(struct watch *w, bool announce)
{
  struct stat st;

  if (w->root_present || stat(w->root, &st) < 0 || !S_ISDIR(st.st_mode))
    return;
  w->root_present = true;
  watch_add_tree(w, "", false);
  if (!announce)
    return;
  log_msg(w->opts.log, LOG_INFO, "%s is back; watching it again", w->root);
  watch_report(w, NULL);
}

static void watch_parent_event(struct watch *w, const struct inotify_event *ev)
{
  if (ev->len == 0 || strcmp(ev->name, w->base) != 0)
    return;
  if (ev->mask & (IN_CREATE | IN_MOVED_TO))
    watch_root_back(w, true);
  else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
    watch_root_gone(w);
}

/* Overflow or an event we cannot place: re-add every watch (adding an
 * existing one is harmless) and ask for a full rescan. */
static void watch_resync(struct watch *w, const char *why)
{
  log_msg(w->opts.log, LOG_INFO, "%s; rescanning %s", why, w->root);
  if (w->root_present)
    watch_add_tree(w, "", false);
  else
    watch_root_back(w, false);
  watch_report(w, NULL);
}

static void watch_dir_event(struct watch *w, const char *rel, uint32_t mask)
{
  if (mask & (IN_CREATE | IN_MOVED_TO))
    watch_add_tree(w, rel, true);
  else if (mask & (IN_DELETE | IN_MOVED_FROM))
    watch_forget_tree(w, rel);
  else
    return; /* attrib of a directory changes no object */
  watch_report(w, rel);
}

static void watch_child_event(struct watch *w, const struct wdmap_entry *e,
                              const struct inotify_event *ev)
{
  bool is_dir = (ev->mask & IN_ISDIR) != 0;
  char *rel;

  rel = watch_join(e->rel, ev->name);
  if (rel == NULL) {
    watch_resync(w, "out of memory");
    return;
  }
  if (!watch_skip(w, rel, is_dir)) {
    if (is_dir)
      watch_dir_event(w, rel, ev->mask);
    else
      watch_report(w, rel);
  }
  free(rel);
}

static void watch_event(struct watch *w, const struct inotify_event *ev)
{
  struct wdmap_entry *e;

  if (ev->mask & IN_Q_OVERFLOW) {
    watch_resync(w, "inotify queue overflowed");
    return;
  }
  if (ev->wd == w->parent_wd) {
    watch_parent_event(w, ev);
    return;
  }
  e = wdmap_get(&w->dirs, ev->wd);
  if (e == NULL) {
    watch_resync(w, "event for an unknown watch");
    return;
  }
  if (ev->mask & IN_IGNORED) {
    bool was_root = e->rel[0] == '\0' && !e->removing;

    if (e->removing)
      w->n_removing--;
    wdmap_del(&w->dirs, ev->wd);
    if (was_root)
      watch_root_gone(w);
    return;
  }
  if (e->removing || (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
    return; /* the parent directory's event tells where it went */
  if (ev->len > 0)
    watch_child_event(w, e, ev);
}

static void watch_on_readable(uv_poll_t *poll, int status, int events)
{
  struct watch *w = container_of(poll, struct watch, poll);
  char buf[WATCH_READ_BUF]
      __attribute__((aligned(__alignof__(struct inotify_event))));
  const struct inotify_event *ev;
  ssize_t n;
  char *p;

  (void)events; /* only UV_READABLE was asked for */
  if (status < 0) {
    watch_resync(w, uv_strerror(status));
    return;
  }
  for (;;) {
    n = read(w->fd, buf, sizeof(buf));
    if (n <= 0)
      break; /* EAGAIN: drained; EINTR: the poll fires again */
    for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
      ev = (const struct inotify_event *)p;
      watch_event(w, ev);
      if (w->closing)
        return;
    }
  }
}

static int watch_split_root(struct watch *w, const char *root)
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
  /* From here on both handles exist and only watch_close frees w. */
  (void)uv_timer_init(loop, &w->fallback); /* cannot fail */
  rc = uv_poll_start(&w->poll, UV_READABLE, watch_on_readable);
  if (rc < 0)
    return cfw_err_set(err, rc, "inotify: %s", uv_strerror(rc));
  w->parent_wd = inotify_add_watch(w->fd, w->parent, WATCH_PARENT_MASK);
  if (w->parent_wd < 0)
    return cfw_err_set(err, -errno, "%s: cannot watch: %s", w->parent,
                       strerror(errno));
  return 0;
}

static void watch_free(struct watch *w)
{
  wdmap_free(&w->dirs);
  free(w->root);
  free(w->parent);
  free(w->base);
  free(w);
}

static void watch_on_close(uv_handle_t *h)
{
  struct watch *w = h->data;

  if (--w->closing > 0)
    return;
  (void)close(w->fd); /* all watches go with it; nothing to report */
  if (w->done != NULL)
    w->done(w->done_arg);
  watch_free(w);
}

void watch_close(struct watch *w, void (*done)(void *arg), void *arg)
{
  if (w == NULL)
    return;
  w->done = done;
  w->done_arg = arg;
  w->closing = 2;
  w->poll.data = w;
  w->fallback.data = w;
  uv_close((uv_handle_t *)&w->poll, watch_on_close);
  uv_close((uv_handle_t *)&w->fallback, watch_on_close);
}

int watch_start(struct watch **out, uv_loop_t *loop, const struct watch_opts *o,
                watch_cb cb, void *arg, struct cfw_err *err)
{
  struct watch *w;
  int rc;

  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  w->loop = loop;
  w->opts = *o;
  w->cb = cb;
  w->arg = arg;
  w->fd = -1;
  wdmap_init(&w->dirs);
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
  watch_root_back(w, false);
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

#endif /* __linux__ */
