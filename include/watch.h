/* SPDX-License-Identifier: MIT */
#ifndef CFW_WATCH_H
#define CFW_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "log.h"

/* Follows a directory tree and reports paths that may have changed.
 *
 * On Linux it reads inotify itself (libuv's uv_fs_event is not recursive
 * there, drops IN_Q_OVERFLOW and goes deaf when a watched directory is
 * deleted and recreated): one watch per directory, added before the
 * directory is listed so nothing created in between is missed, plus a
 * watch on the root's parent so `rm -rf public && build` is followed.
 *
 * Events only say where to look; what changed is decided by content. */
struct watch;

struct watch_opts {
  const char *root; /* absolute; borrowed; need not exist yet */
  struct log *log;  /* borrowed */
  /* Excludes: a skipped directory is not watched.  May be NULL. */
  bool (*skip)(void *ctx, const char *relpath, bool is_dir);
  void *skip_ctx;
  /* How often to rescan when watches could not be added (ENOSPC). */
  uint64_t fallback_rescan_ms;
};

/* rel is a file or directory, relative to the root, that may have
 * changed, appeared or vanished; a directory stands for everything under
 * it.  rel == NULL means anything may have changed: rescan everything
 * (queue overflow, an unknown watch, the root coming back). */
typedef void (*watch_cb)(struct watch *w, const char *rel, void *arg);

/* Starts watching; cb runs on the loop thread for each event.  On error
 * nothing is left open and cb never runs. */
int watch_start(struct watch **out, uv_loop_t *loop, const struct watch_opts *o,
                watch_cb cb, void *arg, struct cfw_err *err);

/* Stops watching; done runs once every handle is closed, after which w
 * is freed.  NULL w is fine (done is not called then). */
void watch_close(struct watch *w, void (*done)(void *arg), void *arg);

/* Directories watched now, and whether the root exists. */
size_t watch_dir_count(const struct watch *w);
bool watch_root_present(const struct watch *w);

#endif
