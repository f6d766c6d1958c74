/* SPDX-License-Identifier: MIT */
#ifndef CFW_WATCH_H
#define CFW_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "log.h"
#include "tree.h"

/* Follows a directory tree and reports paths that may have changed: the
 * paths a full scan (tree_walk) would list, so symlinks inside the root
 * are followed as the scan follows them.
 *
 * On Linux it reads inotify itself (libuv's uv_fs_event is not recursive
 * there, drops IN_Q_OVERFLOW and goes deaf when a watched directory is
 * deleted and recreated): one watch per directory, added before the
 * directory is listed so nothing created in between is missed.  The
 * listing is never done on the loop thread: a new root, a directory
 * created or moved in, the rescan after a queue overflow are walked on
 * libuv's thread pool, and events wait in the kernel's queue until the
 * walk's watches are in (so none is lost or taken for an unknown watch).
 *
 *  - Symlinks: a directory reached through a link is reported under
 *    every path that reaches it (inotify has one watch per inode), a file
 *    changed under every link to it; a link that is removed or re-pointed
 *    is reported by its own path, which stands for everything behind it.
 *  - Hard links: a write through one name reports the file's other names
 *    in the tree too (found by a walk, see hardlinks.h).
 *  - Writes are seen at close, and also while the writer keeps the file
 *    open or without any close (truncate(2)): IN_MODIFY and IN_ATTRIB are
 *    coalesced per file, at most one report per 250 ms (watch_hold.h).
 *  - The root: it may be a symlink (the resolved directory is watched,
 *    and the link itself in its parent), it may be removed and rebuilt,
 *    renamed, swapped (renameat2 RENAME_EXCHANGE), a mount point
 *    unmounted and mounted again (the mount table is followed): each time
 *    the watch looks at what the root path leads to now.
 *
 * Not seen, so left to the next full rescan: writes through a shared
 * mmap(2) that no write(2) or close follows, a hard link's name outside
 * the tree, a file system mounted inside the tree after start, and the
 * re-pointing of a symlink among the root's ancestors (only the root's
 * own link is watched).
 *
 * Events only say where to look; what changed is decided by content. */
struct watch;

struct watch_opts {
  const char *root; /* absolute; borrowed; need not exist yet */
  struct log *log;  /* borrowed */
  /* Excludes: a skipped directory is not watched.  Called on the loop
   * thread and, at the same time, on the thread pool (the watch's
   * walks), never once watch_close has returned.  May be NULL. */
  bool (*skip)(void *ctx, const char *relpath, bool is_dir);
  void *skip_ctx;
  /* How often to rescan when watches could not be added (ENOSPC).  A
   * root left without a watch of its own is still the same root (no
   * new generation).  Each rescan walks what could not be watched
   * again; once every directory is watched, the rescans stop. */
  uint64_t fallback_rescan_ms;
  /* Leave the start-up walk to the caller's (watch_deferred). */
  bool deferred;
  /* Runs once, on the loop, when the start's look at the root is back:
   * watch_deferred and watch_root_present tell from then on what it
   * found.  err is NULL, or why nothing can be watched (the root's
   * parent cannot be).  Never from within watch_start (the look is
   * taken off the loop thread: a root on a hung mount would hold the
   * loop), nor once watch_close has returned.  arg is watch_start's.
   * May be NULL. */
  void (*started)(struct watch *w, const struct cfw_err *err, void *arg);
};

/* rel is a file or directory, relative to the root, that may have
 * changed, appeared or vanished; a directory (or a symlink to one)
 * stands for everything under it.  rel == NULL means anything may have
 * changed: rescan everything (queue overflow, an unknown watch, the root
 * gone, back or replaced: see watch_root_gen). */
typedef void (*watch_cb)(struct watch *w, const char *rel, void *arg);

/* Starts watching; cb runs on the loop thread for each event.  On error
 * nothing is left open and neither cb nor o->started ever runs.  The
 * root is looked at off the loop thread: o->started says when. */
int watch_start(struct watch **out, uv_loop_t *loop, const struct watch_opts *o,
                watch_cb cb, void *arg, struct cfw_err *err);

/* Stops watching; done runs once every handle is closed, after which w
 * is freed.  NULL w is fine (done is not called then). */
void watch_close(struct watch *w, void (*done)(void *arg), void *arg);

/* Directories watched now. */
size_t watch_dir_count(const struct watch *w);

/* One walk at start-up.  With o->deferred, the watch watches the
 * root's parents but does not list the tree: the caller's walk does,
 * through the visitor returned here (tree_walk_opts.visit), which adds
 * each directory's watch just before the walk reads it.  Events are
 * read once the walk is over (its done): until then they wait in the
 * kernel's queue, so none is lost, and the reports start then.  If the
 * walk failed, or read another root than the one watched by then, the
 * watch lists the tree itself.
 *
 * Valid once o->started ran.  NULL when there is nothing to walk (the
 * root is absent; then watching has begun), and before that.
 * Otherwise the caller must make sure done runs once:
 * hand the visitor to a walk, or call done with -ECANCELED when it
 * gives up (the tree then stays unwatched: for a caller that closes).
 * It stays valid until done, even past watch_close. */
const struct tree_visit *watch_deferred(const struct watch *w);

/* Directories the watch listed itself (at start, after a rescan, for a
 * new directory), each by a walk on the thread pool: 0 after a seeded
 * start-up. */
size_t watch_listed_count(const struct watch *w);

/* True when the start's look at the root is back and no walk of the
 * watch's (the start-up one, or one of its own) is in flight or being
 * taken in: every directory it knows of is
 * watched, and its events are read.  A walk's reports, and those made
 * while it ran, come before this turns true.  For tests and logs. */
bool watch_settled(const struct watch *w);

/* The root, for a consumer that must tell "the root is gone, or is not
 * the directory it was" apart from "files were deleted": a scan of a
 * missing, unmounted or swapped root would otherwise read as every file
 * deleted.
 *
 * watch_root_present: the root path leads to a directory the watch
 * follows.  False while there is nothing there (removed, renamed away, a
 * dangling symlink, not a directory) and while the root is an unmounted
 * mount point (what lies beneath a mount point is not the site): until
 * a file system is mounted there again, or the directory is replaced.
 *
 * watch_root_gen: how many times the watch took a directory as the
 * root: 1 for a root present at start, one more each time the root path
 * leads to a directory other than the one followed just before (the
 * root recreated or returned, a re-pointed root symlink, an exchange, a
 * mount or remount).  It never changes when the root merely goes away.
 *
 * Each change of either is followed by a report with rel == NULL: in the
 * same loop turn when the root goes, once the new root's directories
 * are watched (a walk on the thread pool) when one is taken.  A consumer notes
 * the generation when it starts a scan; if at the end the root is not present
 * or the generation moved, the scan saw a root that is gone or not the one
 * watched now: drop its result and wait for the rescan already reported.  To
 * refuse reading a replaced root as "every file deleted", compare the
 * generation of the last committed scan with the current one. */
bool watch_root_present(const struct watch *w);
uint64_t watch_root_gen(const struct watch *w);

#endif
