/* SPDX-License-Identifier: MIT */
#include "watch.h"

/* The watch for systems without inotify: libuv's uv_fs_event, which is
 * FSEvents on macOS (recursive) and kqueue on the BSDs.  Built instead
 * of watch_linux.c off Linux, or on Linux with -DCFW_WATCH_LIBUV (to
 * compile-check it; Linux's uv_fs_event is not recursive, which is why
 * watch_linux.c exists).
 *
 * FSEvents coalesces and may drop events, so a status error or an event
 * without a name asks for a full rescan; the root's parent is watched
 * too, so a root deleted and rebuilt is picked up again.  A symlinked
 * root is watched resolved, and looked at again whenever its name in the
 * parent changes: a re-pointed link or a swapped directory is a new
 * root generation (watch.h).  Symlinks inside the tree, hard links,
 * mounts and open writers get none of watch_linux.c's care: FSEvents
 * reports what it reports, and full rescans do the rest. */
#if !defined(__linux__) || defined(CFW_WATCH_LIBUV)

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

struct watch {
  uv_fs_event_t root_ev;
  uv_fs_event_t parent_ev;
  uv_timer_t fallback; /* rescans when the root cannot be watched */
  uv_idle_t started;   /* opts.started, in the loop's first turn */
  char *root;          /* owned */
  char *parent;        /* owned */
  char *base;          /* owned: the root's name in its parent */
  char *real;          /* owned: the root resolved when watched, or NULL */
  uint64_t dev;        /* what real was when watched */
  uint64_t ino;
  uint64_t gen;
  struct watch_opts opts;
  watch_cb cb;
  void *arg;
  bool root_present;
  int closing;
  void (*done)(void *arg);
  void *done_arg;
};

static void watch_on_root(uv_fs_event_t *h, const char *name, int events,
                          int status);

static void watch_report(struct watch *w, const char *rel)
{
  w->cb(w, rel, w->arg);
}

static void watch_on_fallback(uv_timer_t *t)
{
  struct watch *w = container_of(t, struct watch, fallback);

  watch_report(w, NULL);
}

/* Whether the root leads to the directory watched now; if not, real
 * (owned by the caller) and st say where it leads. */
static bool watch_root_same(const struct watch *w, const char *real,
                            const struct stat *st)
{
  return w->root_present && w->real != NULL && strcmp(w->real, real) == 0 &&
         w->dev == (uint64_t)st->st_dev && w->ino == (uint64_t)st->st_ino;
}

/* (Re)starts the recursive watch on the root if it leads elsewhere than
 * before; a failure falls back to periodic rescans, as ENOSPC does on
 * Linux.  Returns whether the root changed. */
static bool watch_root_start(struct watch *w)
{
  struct stat st;
  char *real = realpath(w->root, NULL);
  bool was = w->root_present;
  int rc;

  if (real == NULL || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
    free(real);
    w->root_present = false;
    return was;
  }
  if (watch_root_same(w, real, &st)) {
    free(real);
    return false;
  }
  free(w->real);
  w->real = real;
  w->dev = (uint64_t)st.st_dev;
  w->ino = (uint64_t)st.st_ino;
  w->root_present = true;
  w->gen++;
  (void)uv_fs_event_stop(&w->root_ev); /* restarting: harmless if idle */
  rc = uv_fs_event_start(&w->root_ev, watch_on_root, w->real,
                         UV_FS_EVENT_RECURSIVE);
  if (rc == 0)
    return true;
  log_msg(w->opts.log, LOG_WARN,
          "%s: cannot watch: %s; rescanning every "
          "%llu s instead",
          w->root, uv_strerror(rc),
          (unsigned long long)(w->opts.fallback_rescan_ms / 1000));
  (void)uv_timer_start(&w->fallback, watch_on_fallback,
                       w->opts.fallback_rescan_ms, w->opts.fallback_rescan_ms);
  return true;
}

static void watch_on_root(uv_fs_event_t *h, const char *name, int events,
                          int status)
{
  struct watch *w = container_of(h, struct watch, root_ev);

  (void)events; /* rename or change: either way, look at the path */
  if (status < 0 || name == NULL || name[0] == '\0') {
    watch_report(w, NULL);
    return;
  }
  if (w->opts.skip == NULL || !w->opts.skip(w->opts.skip_ctx, name, false))
    watch_report(w, name);
}

static void watch_on_parent(uv_fs_event_t *h, const char *name, int events,
                            int status)
{
  struct watch *w = container_of(h, struct watch, parent_ev);

  (void)events;
  if (status == 0 && name != NULL && strcmp(name, w->base) != 0)
    return; /* a sibling of the root */
  if (watch_root_start(w) || !w->root_present)
    watch_report(w, NULL);
}

static int watch_split_root(struct watch *w, const char *root)
{
  const char *slash;
  size_t len = strlen(root);

  while (len > 1 && root[len - 1] == '/')
    len--;
  w->root = strndup(root, len);
  if (w->root == NULL)
    return -ENOMEM;
  slash = strrchr(w->root, '/');
  if (slash == NULL || slash[1] == '\0')
    return -EINVAL;
  w->parent = slash == w->root ? strdup("/")
                               : strndup(w->root, (size_t)(slash - w->root));
  w->base = strdup(slash + 1);
  return w->parent != NULL && w->base != NULL ? 0 : -ENOMEM;
}

static void watch_free(struct watch *w)
{
  free(w->root);
  free(w->parent);
  free(w->base);
  free(w->real);
  free(w);
}

/* The root was looked at in watch_start (FSEvents has no thread of the
 * watch's to look from); the caller learns it as on Linux: never from
 * within watch_start. */
static void watch_on_started(uv_idle_t *idle)
{
  struct watch *w = container_of(idle, struct watch, started);

  (void)uv_idle_stop(idle); /* cannot fail */
  if (w->opts.started != NULL)
    w->opts.started(w, NULL, w->arg);
}

int watch_start(struct watch **out, uv_loop_t *loop, const struct watch_opts *o,
                watch_cb cb, void *arg, struct cfw_err *err)
{
  struct watch *w;
  int rc;

  w = calloc(1, sizeof(*w));
  if (w == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  w->opts = *o;
  if (w->opts.fallback_rescan_ms == 0)
    w->opts.fallback_rescan_ms = 30000;
  w->cb = cb;
  w->arg = arg;
  rc = watch_split_root(w, o->root);
  if (rc < 0) {
    watch_free(w);
    return cfw_err_set(err, rc, "%s: not an absolute directory path", o->root);
  }
  /* Initialising these four handles cannot fail on a live loop. */
  (void)uv_fs_event_init(loop, &w->root_ev);
  (void)uv_fs_event_init(loop, &w->parent_ev);
  (void)uv_timer_init(loop, &w->fallback);
  (void)uv_idle_init(loop, &w->started);
  rc = uv_fs_event_start(&w->parent_ev, watch_on_parent, w->parent, 0);
  if (rc < 0) {
    watch_close(w, NULL, NULL); /* freed once its handles are closed */
    return cfw_err_set(err, rc, "%s: cannot watch: %s", w->parent,
                       uv_strerror(rc));
  }
  (void)watch_root_start(w); /* at start the caller scans anyway */
  (void)uv_idle_start(&w->started, watch_on_started); /* cannot fail */
  *out = w;
  return 0;
}

static void watch_on_close(uv_handle_t *h)
{
  struct watch *w = h->data;

  if (--w->closing > 0)
    return;
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
  w->closing = 4;
  w->root_ev.data = w;
  w->parent_ev.data = w;
  w->fallback.data = w;
  w->started.data = w;
  uv_close((uv_handle_t *)&w->root_ev, watch_on_close);
  uv_close((uv_handle_t *)&w->parent_ev, watch_on_close);
  uv_close((uv_handle_t *)&w->fallback, watch_on_close);
  uv_close((uv_handle_t *)&w->started, watch_on_close);
}

size_t watch_dir_count(const struct watch *w)
{
  return w->root_present ? 1 : 0; /* one recursive watch */
}

const struct tree_visit *watch_deferred(const struct watch *w)
{
  (void)w; /* FSEvents lists nothing: there is no walk to share */
  return NULL;
}

size_t watch_listed_count(const struct watch *w)
{
  (void)w; /* as above */
  return 0;
}

bool watch_settled(const struct watch *w)
{
  (void)w; /* FSEvents watches the tree whole from the start */
  return true;
}

bool watch_root_present(const struct watch *w)
{
  return w->root_present;
}

uint64_t watch_root_gen(const struct watch *w)
{
  return w->gen;
}

#endif
