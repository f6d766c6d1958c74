/* SPDX-License-Identifier: MIT */
#ifndef CFW_WATCH_LINUX_H
#define CFW_WATCH_LINUX_H

/* The inotify watch's state, shared by its three files: watch_linux.c
 * (reading and dispatching events), watch_tree.c (which directories are
 * watched under which paths, and the symlinks that lead to them) and
 * watch_root.c (what the root is: its identity, its parents, mounts). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hardlinks.h"
#include "lstatq.h"
#include "strlist.h"
#include "watch.h"
#include "watch_hold.h"
#include "wdmap.h"

/* A symlink inside the tree, found by listing or by an event.  A full
 * scan follows it while it resolves inside the root, so the watch does
 * too: a link to a directory adds its path to that directory's watch
 * (and below), a link to a file pins the watch of the file's directory,
 * so that events there are reported under the link's path as well. */
struct wlink {
  char *path;   /* owned: where the link is, relative to the root */
  char *target; /* owned: where it resolves, relative to the resolved
                   root; NULL when it does not resolve inside */
  int err;      /* 0, or why not: -ENOENT dangling (looked at again when
                   something appears), -EXDEV outside, -ELOOP... */
  int wd;       /* a link to a file: its directory's watch, else -1 */
  bool is_dir;
};

/* Directories only, never through a symlink (a link's target is watched
 * by its resolved path), and no events for files already unlinked but
 * still open.  IN_CLOSE_WRITE says a writer is done; IN_MODIFY and
 * IN_ATTRIB catch what never closes (truncate(2), a writer that keeps
 * its file open), coalesced by watch_hold. */
#define WATCH_DIR_MASK                                                         \
  (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM |        \
   IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |      \
   IN_DONT_FOLLOW | IN_EXCL_UNLINK)

/* What a file's name can go through; the rest is its content. */
#define WATCH_NAME_EVENTS (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)
/* Events after which the file is looked at: a symlink that appeared, a
 * hard-linked file named or written.  Not IN_MODIFY or IN_ATTRIB alone:
 * watch_hold holds those, and its report looks (as an IN_MODIFY). */
#define WATCH_STAT_EVENTS (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY)
#define WATCH_HELD_EVENTS (IN_MODIFY | IN_ATTRIB)

/* The parents only say when the root's name comes or goes. */
#define WATCH_PARENT_MASK                                                      \
  (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR |          \
   IN_EXCL_UNLINK)

struct watch_id {
  uint64_t dev;
  uint64_t ino;
};

/* What the batch out on the lstatq thread is for. */
enum watch_batch {
  WATCH_BATCH_EVENTS, /* the stats events and held names' reports need */
  WATCH_BATCH_SETTLE, /* watch_links_settle's */
  WATCH_BATCH_ROOT,   /* a root check (watch_root_check) */
};

struct watch {
  uv_loop_t *loop;
  uv_poll_t poll;         /* the inotify fd */
  uv_poll_t mounts;       /* /proc/self/mountinfo: POLLPRI when mounts change */
  uv_idle_t mounts_first; /* one root check once mounts is polled */
  uv_timer_t fallback;    /* periodic rescans after ENOSPC */
  uv_timer_t probe_retry; /* a root check that could not be sent */
  struct watch_hold hold;
  struct hardlinks *hl; /* owned */
  /* The stat each name event needs, taken off the loop (watch_lstat.c):
   * while a batch is out, events wait as they do for a walk. */
  struct lstatq *statq;         /* owned */
  struct lstatq_batch *stats;   /* owned: the last batch stated, or NULL */
  bool stat_wait;               /* a batch is out */
  bool settling;                /* it is watch_links_settle's */
  enum watch_batch batch;       /* what it is for */
  uint64_t batch_sent_ms;       /* when it was sent (uv_now) */
  uint64_t settle_gen;          /* the root generation it was sent for */
  struct strlist settle_paths;  /* its links' paths, in its order */
  struct watch_hold_key *fires; /* owned: held names to report, in order */
  size_t n_fires;
  size_t cap_fires;
  int fd;
  int mounts_fd;      /* -1 when mounts are not followed */
  int mounts_turns;   /* runs of mounts_first so far */
  int parent_wd;      /* the configured root's parent */
  int real_parent_wd; /* the resolved root's parent; -1 if it is parent_wd's */
  int root_wd;        /* the resolved root's own watch, or -1 */
  char *root;         /* owned: as configured */
  char *parent;       /* owned */
  char *base;         /* owned: the root's name in its parent */
  char *real;         /* owned: the root resolved (realpath) when watched */
  char *real_base;    /* owned: its name in its parent */
  struct watch_id root_id;      /* what real was when watched */
  struct watch_id unmounted_id; /* the bare mount point, while unmounted */
  bool root_mount;              /* the root was a mount point when watched */
  bool unmounted;               /* the root's file system was unmounted */
  bool root_present;
  /* The root's own watch could not be added (out of inotify watches):
   * periodic rescans cover it, and each tries it again. */
  bool root_unwatched;
  uint64_t root_gen;
  struct watch_opts opts;
  watch_cb cb;
  void *arg;
  struct wdmap dirs;
  size_t n_removing;    /* entries in dirs waiting for their IN_IGNORED */
  struct wlink **links; /* owned: sorted by path */
  size_t n_links;
  size_t cap_links;
  size_t n_dangling; /* links with err -ENOENT */
  bool links_stale;  /* the tree's shape changed: check every link */
  /* Out of watches (watch_fallback.c): the directories whose walk could
   * not watch everything, none under another; a linked file's directory
   * not pinned; directory links not followed; and out of memory even to
   * say which (the rescans never stop then). */
  struct strlist unwatched;
  bool pins_short;
  bool links_unfollowed;
  bool fallback_stuck;
  bool dangling_stale; /* something appeared: check the dangling links */
  bool fallback_on;
  /* The watch's own walks (watch_walk.c): the first one is on the thread
   * pool or being taken in, a slice per loop turn, by apply.  While any
   * is queued the inotify fd is not read, events read but not run wait
   * in held, and reports wait in later. */
  uv_idle_t apply;
  struct watch_walk *walks; /* owned: a queue */
  struct watch_walk *walks_tail;
  char *held; /* owned: inotify events, from held_off to held_len */
  size_t held_off;
  size_t held_len;
  struct strlist later; /* reports made while walks were queued */
  bool later_all;       /* and a rescan of everything among them */
  bool applying;        /* a walk's findings are being taken in */
  /* The start-up walk is someone else's (watch_deferred): until it ends,
   * events wait in the kernel's queue and root checks wait too. */
  bool defer_walk;         /* the first root taken is seeded */
  struct watch_seed *seed; /* shared with the walk; freed by its end */
  bool recheck;            /* a root check waited for the seed */
  /* A root check asked for, not sent yet (a batch was out), and whether
   * it is to announce a change; and the one sent's announce. */
  bool probe_wanted;
  bool probe_announce;
  bool probe_sent_announce;
  bool probe_failed; /* the last root check could not be sent: said */
  /* The start's root check is out (watch_root_start): it watches the
   * parent too, then opts.started runs. */
  bool starting;
  size_t n_listed; /* directories the watch listed itself */
  int closing;
  void (*done)(void *arg);
  void *done_arg;
};

/* watch_linux.c */
/* Reports rel (NULL: everything) to the consumer; while walks are
 * queued, once they are all taken in (watch_walk.c says why). */
void watch_report(struct watch *w, const char *rel);
/* Reports rel at once: a file a walk found, in a directory watched. */
void watch_report_now(struct watch *w, const char *rel);
/* Runs the events that waited for the walks or their stats, then reads
 * the inotify fd again, unless a walk is queued (again), a batch of
 * stats is out or the start-up walk is on. */
void watch_events_resume(struct watch *w);
bool watch_skip(const struct watch *w, const char *rel, bool is_dir);
char *watch_join(const char *a, const char *b);

/* watch_tree.c */
/* Records that the directory rel is watched as wd (inotify_add_watch
 * done); returns wd, or -1 if it is not to be listed (a loop, ENOMEM). */
int watch_adopt_dir(struct watch *w, int wd, const char *rel);
/* Removes the watch wd, which no path of the tree holds (a parent's old
 * watch, one a walk added that the watch does not take).  Events of it
 * may be queued still: an entry marked removing drops them until its
 * IN_IGNORED, so none is taken for an unknown watch's (a rescan).  Out
 * of memory for the entry, they are; nothing else is lost. */
void watch_retire(struct watch *w, int wd);
/* watch_fallback.c */
/* The walk of rel could not watch everything under it (-ENOSPC: out
 * of inotify watches; -ENOMEM...): periodic rescans instead, each of
 * which walks rel again. */
void watch_fallback(struct watch *w, const char *rel, int code);
/* A linked file's directory, rel, could not be watched (pinned): the
 * same, each rescan pins again. */
void watch_fallback_pins(struct watch *w, const char *rel);
/* The rescan is due: queues the retry walks (a bounded number) and
 * pins.  Nothing while walks are queued. */
void watch_fallback_retry(struct watch *w);
/* Every walk is in: stops the rescans if nothing is left unwatched. */
void watch_fallback_settle(struct watch *w);
/* The root is dropped: nothing of it is left to retry. */
void watch_fallback_reset(struct watch *w);

/* watch_tree.c */
/* Stops watching rel and everything below it ("" is everything), links
 * included. */
void watch_forget_tree(struct watch *w, const char *rel);
/* rel is a symlink: follows it as a scan would.  it is where the lstatq
 * thread found rel leads (its res, res_rc and res_st). */
void watch_link_add(struct watch *w, const char *rel,
                    const struct lstatq_item *it);
/* rel is a symlink a walk met (and followed, if a directory, as the
 * watch would), which leads where it says (its res, res_rc and res_st,
 * resolved by the walk's thread): records it, and pins a linked file's
 * directory. */
void watch_link_seed(struct watch *w, const char *rel,
                     const struct lstatq_item *it);
struct wlink *watch_link_find(const struct watch *w, const char *rel);
/* Follows l, a link to a directory left unfollowed while watches were
 * short; nothing for a link to a file. */
void watch_link_refollow(struct watch *w, struct wlink *l);
/* The watches b's thread added to pin links' files (pin_wd) that the
 * watch did not take (a link skipped, a guess no event asked for):
 * removed, and their events, queued since, dropped.  Before b is
 * freed, while the watch is open. */
void watch_pins_leftover(struct watch *w, const struct lstatq_batch *b);
/* Reports the links to the file name in wd's directory. */
void watch_report_link_targets(struct watch *w, int wd, const char *name);
/* Resolves links again after the tree's shape changed (every link if
 * links_stale, the dangling ones if dangling_stale): sends their paths
 * to the lstatq thread, and events and reports wait, as for a walk,
 * until watch_links_settled has followed anew and reported each one
 * that now leads elsewhere, and pinned anew a linked file whose pin
 * could not be added.  Nothing while a batch is out already. */
void watch_links_settle(struct watch *w);
void watch_links_settled(struct watch *w, const struct lstatq_batch *b);
void watch_links_free(struct watch *w);

/* watch_seed.c: what a walk that watches as it reads found. */
struct watch_seed;
/* Makes w->seed for the root just taken: its directories are watched by
 * the walk watch_deferred hands out.  0 or -ENOMEM (then nothing). */
int watch_seed_new(struct watch *w);
/* A seed for a walk of the watch's own, of the directory at rel: its
 * visitor adds each directory's watch as the walk reaches it, and
 * records what it met under rel's paths (and the files, with files).
 * NULL on ENOMEM. */
struct watch_seed *watch_seed_make(const struct watch *w, const char *rel,
                                   bool files);
const struct tree_visit *watch_seed_visit(const struct watch_seed *sd);
/* Takes up to budget of what sd found into the watch (directories, then
 * links, then files reported); true once all of it is in. */
bool watch_seed_apply(struct watch *w, struct watch_seed *sd, size_t budget);
/* sd is not to be used: removes the watches it added that the watch
 * does not know. */
void watch_seed_drop(struct watch *w, struct watch_seed *sd);
void watch_seed_free(struct watch_seed *sd); /* NULL is fine */
/* Whether the walk met a directory it could not watch (out of watches);
 * on the walk's thread. */
bool watch_seed_short(const struct watch_seed *sd);

/* watch_lstat.c */
/* A report of a held name waits its turn, as an event: queues it. */
void watch_fire_push(struct watch *w, int wd, const char *name);
/* Forgets the stats of the last batch: they are older than what comes
 * now (a new read, a held name's report). */
void watch_lstat_drop(struct watch *w);
/* Sends a batch: the stat of every name the held reports queued, then
 * the n bytes of events at evs, will ask for (a guess: see
 * watch_lstat_take).  Events wait until it is stated (stat_wait), then
 * watch_events_resume runs them.  0, or -ENOMEM (nothing sent). */
int watch_lstat_fetch(struct watch *w, const char *evs, size_t n);
/* Sends b (taken) to the lstatq thread for what kind says, and stops
 * reading events until it is back.  0, or -ENOMEM (then b is still the
 * caller's). */
int watch_lstat_send(struct watch *w, struct lstatq_batch *b,
                     enum watch_batch kind);
/* The stat of abs from the last batch, for a held name's report (fire)
 * or an event, borrowed until the next batch; NULL if the batch has none
 * for it (then fetch one). */
const struct lstatq_item *watch_lstat_take(struct watch *w, bool fire,
                                           const char *abs);
void watch_lstat_done(void *arg, struct lstatq_batch *b); /* lstatq's */
/* The watch closes: a batch out for WATCH_STUCK_S or more is said to be
 * left behind (lstatq_close waits for no thread). */
void watch_lstat_orphan(struct watch *w);
#define WATCH_STUCK_S 2

/* watch_walk.c */
#define WALK_REPORT 0x1u /* report each file found */
#define WALK_ROOT   0x2u /* the root's: it sets root_wd (watch_root_walking) */
#define WALK_RESYNC 0x4u /* then look at every link again */
#define WALK_RETRY  0x8u /* stop at a directory it cannot watch */
/* Queues a walk, on the thread pool, of the directory at rel (at abs, or
 * under the resolved root if abs is NULL) and everything below it,
 * adding each directory's watch before reading it.  Until it is taken
 * in, events wait (the inotify fd is not read) and so do reports.
 * 0, or -ENOMEM (said, and periodic rescans cover rel). */
int watch_walk_push(struct watch *w, const char *rel, const char *abs,
                    unsigned flags);
/* Queues what the start-up walk found (sd, taken) to be taken in. */
void watch_walk_adopt(struct watch *w, struct watch_seed *sd);
/* Defers a report until the walks are taken in. */
void watch_report_later(struct watch *w, const char *rel);
/* The watch closes: a walk on the pool frees itself when it ends and
 * calls skip no more; the others go now. */
void watch_walks_orphan(struct watch *w);
/* The watch closes: a walk in flight frees the seed when it ends. */
void watch_seed_orphan(struct watch *w);
/* Whether the root the watch follows now (this generation) is being
 * walked: the start-up walk, or a walk of the root's queued, on the pool
 * or being taken in.  Until it is in, root_wd is -1 and the root is
 * still the one taken, not a lost or replaced one.  Read from the queue
 * itself, so a walk dropped, done or of an older root never counts.
 * Cost: O(walks queued). */
bool watch_root_walking(const struct watch *w);
/* After watch_links_settled: the next walk, or with none queued, the
 * reports and events that waited. */
void watch_walks_resume(struct watch *w);
/* Reads the inotify fd from now on. */
int watch_poll_start(struct watch *w);

/* watch_root.c */
/* Looks at what the root path leads to now and follows it: watches a
 * root that appeared or changed (and, with announce, reports a rescan),
 * drops the watches of one that is gone.  The look is taken on the
 * lstatq thread, in the order of its batches: until it is back, events
 * wait as for their stats, so it is followed where it was asked for
 * among them.  Asked for while one is out, it is sent once that one is
 * back (several make one). */
void watch_root_check(struct watch *w, bool announce);
/* watch_start's: the same, which also watches the configured root's
 * parent; events wait for it, and opts.started runs once it is back.
 * 0, or -ENOMEM (nothing sent). */
int watch_root_start(struct watch *w);
/* Sends the root check asked for, if one is and the thread is free. */
void watch_root_check_pending(struct watch *w);
/* b, a WATCH_BATCH_ROOT batch, is back: follows what it found. */
void watch_root_probed(struct watch *w, const struct lstatq_batch *b);
/* Handles an event of a parent's watch; false if ev is not one. */
struct inotify_event;
bool watch_parent_event(struct watch *w, const struct inotify_event *ev);
/* Follows the mount table, when the system allows. */
void watch_mounts_start(struct watch *w);
int watch_split_root(struct watch *w, const char *root);

#endif
