/* SPDX-License-Identifier: MIT */
#ifndef CFW_LSTATQ_H
#define CFW_LSTATQ_H

/* lstat(2) of a batch of paths on a thread of its own, for a loop that
 * must not touch the disk (the watch: one stat per inotify event; and a
 * batch's job, its root check, in the same order).  Not
 * libuv's thread pool: a big pass queues its hashing there in chunks,
 * and a batch queued behind them would keep the watch from reading its
 * inotify fd for the whole pass (the kernel's queue then overflows).
 * One batch at a time; the thread sleeps on a condition variable in
 * between. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <uv.h>

struct lstatq_item {
  char *abs;      /* owned: an absolute path */
  struct stat st; /* what lstat found, when rc is 0 */
  int rc;         /* 0, or lstat's -errno */
  /* A symlink, with the batch's within: where it leads. */
  char *res;          /* owned: tree_resolve_within's result, or NULL */
  struct stat res_st; /* lstat of res, when res_rc is 0 */
  int res_rc;         /* 0, or why not: tree_resolve_within's or lstat's */
  /* A link to a regular file, with a pin_fd: the inotify watch of the
   * file's directory, added there (a watch added by path is a path
   * lookup: disk work), or -errno; 0 when none was added. */
  int pin_wd;
};

/* Plain: the caller fills v with paths, the thread fills in the rest. */
struct lstatq_batch {
  struct lstatq_item *v; /* owned */
  size_t n;
  size_t cap;
  char *within; /* owned: resolve symlinks within this (a realpath),
                   as a scan follows them; NULL: do not */
  int pin_fd;   /* owned: an inotify fd to pin links' files through
                   (pin_wd), with pin_mask; -1: none */
  uint32_t pin_mask;
  /* For the caller: v[0, split) and v[split, n) are looked up apart,
   * each section from its own cursor. */
  size_t split;
  size_t next[2];
  /* Other work for the thread, run after the paths are stated, in the
   * batch's turn (the watch's root check: a realpath(3) that a hung
   * mount may keep waiting).  job_data is owned: job_free frees it
   * with the batch, whether job ran or not. */
  void (*job)(void *job_data);
  void (*job_free)(void *job_data);
  void *job_data;
};

/* A new empty batch (pin_fd -1), or NULL on ENOMEM. */
struct lstatq_batch *lstatq_batch_new(void);
void lstatq_batch_free(struct lstatq_batch *b); /* NULL is fine */
/* Appends abs (taken, even on failure).  0 or -ENOMEM. */
int lstatq_batch_add(struct lstatq_batch *b, char *abs);

/* Fills it's res, res_rc and res_st: where the symlink it->abs leads,
 * resolved within within as a scan follows it; and, with pin_fd >= 0,
 * pin_wd.  For a thread of the caller's own (a walk's), as the lstatq
 * thread does for a batch. */
void lstatq_resolve(struct lstatq_item *it, const char *within, int pin_fd,
                    uint32_t pin_mask);

struct lstatq;
/* done(arg, b) runs on the loop thread when b's paths are stated, and
 * hands b back. */
typedef void (*lstatq_done_cb)(void *arg, struct lstatq_batch *b);

/* Starts the thread.  0, or a negative errno (nothing left behind). */
int lstatq_new(struct lstatq **out, uv_loop_t *loop, lstatq_done_cb done,
               void *arg);

/* Hands b (taken) to the thread; done runs once it is stated.  -EBUSY
 * while a batch is out (then b is still the caller's). */
int lstatq_submit(struct lstatq *q, struct lstatq_batch *b);

/* Stops: done never runs again, a batch out is dropped.  Nothing waits
 * for the thread, neither the loop nor the process's exit: it ends, and
 * q is freed, once a stat in flight returns, which on a hung mount may
 * be never (then the process's exit ends the thread).  NULL is fine. */
void lstatq_close(struct lstatq *q);

#endif
