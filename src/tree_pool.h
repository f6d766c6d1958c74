/* SPDX-License-Identifier: MIT */
/* The parallel part of a walk (tree.c): directories handed between
 * threads.  A walk that opens a subdirectory while another thread waits
 * for work hands it over instead of descending into it: its open fd, its
 * relative path and the directories above it (for loop detection).  The
 * pool knows nothing of what a walk does with a directory; tree.c gives
 * it one function and one context per thread. */
#ifndef CFW_TREE_POOL_H
#define CFW_TREE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* A directory on a descent, for loop detection. */
struct dir_id {
  uint64_t dev;
  uint64_t ino;
};

/* One directory to walk. */
struct tree_job {
  int fd;               /* owned: the open directory */
  struct stat st;       /* its fstat */
  char *path;           /* owned: relative to the root */
  struct dir_id *stack; /* owned: the directories from the root to it */
  size_t depth;
  struct tree_job *next;
};

/* Walks job's directory with the context of one thread; takes job->fd
 * (nothing else).  0, or a negative errno that stops every thread. */
typedef int (*tree_pool_fn)(void *worker, struct tree_job *job);

struct tree_pool;

/* A pool of n threads, the caller's included, which only starts the
 * others as work is handed over; workers[i] is thread i's context (0 is
 * the caller's) and must outlive the pool.  0 or -ENOMEM. */
int tree_pool_new(struct tree_pool **out, size_t n, tree_pool_fn fn,
                  void **workers);

/* True if a thread waits for work or may still be started: only then is
 * a directory worth handing over, since a walk keeps its own near its
 * cache. */
bool tree_pool_hungry(struct tree_pool *p);

/* Queues a copy of *job, taking its fd, path and stack (freed on
 * failure).  0 or -ENOMEM. */
int tree_pool_put(struct tree_pool *p, const struct tree_job *job);

/* Records the first error; the threads stop taking work. */
void tree_pool_fail(struct tree_pool *p, int rc);

/* The caller works through the queue with the others until it is empty
 * and every thread is idle, then joins them.  0 or the first error. */
int tree_pool_finish(struct tree_pool *p);

/* Reports from several threads go one at a time between these. */
void tree_pool_lock(struct tree_pool *p);
void tree_pool_unlock(struct tree_pool *p);

/* Frees p; only after tree_pool_finish. NULL is fine. */
void tree_pool_free(struct tree_pool *p);

#endif
