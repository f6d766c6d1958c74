/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_WATCHRUN_H
#define CFW_TEST_WATCHRUN_H

/* A watch on a fresh root (TMP/public), a loop to run it on, what it
 * reported, and how busy the loop thread was: the harness of the tests
 * of the watch's walks on the thread pool (test_watch_walk.c,
 * test_watch_rootcheck.c). */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "strlist.h"
#include "test.h"
#include "watch.h"

/* A 1 ms timer: the most CPU time the loop thread spent between two of
 * its ticks, and the most wall time between them. */
struct lag {
  uv_timer_t timer;
  uint64_t last_cpu_ns;
  uint64_t last_ns;
  uint64_t max_cpu_ns;
  uint64_t max_gap_ns;
};

struct run {
  struct lag lag;
  uv_loop_t loop;
  uv_timer_t timer;
  struct watch *w;
  struct strlist seen; /* reported paths; "*" for a rescan */
  char tmp[4096];
  char root[4200];
  /* Told of each report too, after seen has it; may be NULL. */
  void (*tap)(struct run *r, const char *rel);
  bool started; /* the watch's look at the root at start is back */
  /* Told then, after started is set; may be NULL. */
  void (*on_started)(struct run *r);
};

static inline void run_on_event(struct watch *w, const char *rel, void *arg)
{
  struct run *r = arg;

  (void)w;
  CHECK_EQ_INT(strlist_push(&r->seen, rel ? rel : "*"), 0);
  if (r->tap != NULL)
    r->tap(r, rel);
}

/* The watch's opts.started. */
static inline void run_on_started(struct watch *w, const struct cfw_err *err,
                                  void *arg)
{
  struct run *r = arg;

  (void)w;
  CHECK(err == NULL);
  r->started = true;
  if (r->on_started != NULL)
    r->on_started(r);
}

static inline bool run_started(const struct run *r)
{
  return r->started;
}

static inline uint64_t thread_cpu_ns(void)
{
  struct timespec ts;

  REQUIRE(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void lag_on_tick(uv_timer_t *t)
{
  struct lag *l = (struct lag *)(void *)t;
  uint64_t cpu = thread_cpu_ns();
  uint64_t now = uv_hrtime();

  if (cpu - l->last_cpu_ns > l->max_cpu_ns)
    l->max_cpu_ns = cpu - l->last_cpu_ns;
  if (now - l->last_ns > l->max_gap_ns)
    l->max_gap_ns = now - l->last_ns;
  l->last_cpu_ns = cpu;
  l->last_ns = now;
}

/* Starts measuring afresh: what the test did outside the loop (making
 * changes) is no time the loop was busy. */
static inline void lag_reset(struct run *r)
{
  r->lag.max_cpu_ns = 0;
  r->lag.max_gap_ns = 0;
  r->lag.last_cpu_ns = thread_cpu_ns();
  r->lag.last_ns = uv_hrtime();
}

static inline void run_on_timer(uv_timer_t *t)
{
  uv_stop(t->loop);
}

/* Runs the loop for up to ms, or until done(r) holds. */
static inline bool run_until(struct run *r, bool (*done)(const struct run *r),
                             uint64_t ms)
{
  uint64_t end;

  uv_update_time(&r->loop); /* the test may have been busy meanwhile */
  end = uv_now(&r->loop) + ms;
  while (!done(r) && uv_now(&r->loop) < end) {
    CHECK_EQ_INT(uv_timer_start(&r->timer, run_on_timer, 20, 0), 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  }
  return done(r);
}

static inline bool run_settled(const struct run *r)
{
  return watch_settled(r->w);
}

/* For run_until(r, run_never, ms): run the loop the whole ms. */
static inline bool run_never(const struct run *r)
{
  (void)r;
  return false;
}

/* How many times the watch reported rel. */
static inline size_t run_seen_count(const struct run *r, const char *rel)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < r->seen.n; i++)
    n += strcmp(r->seen.v[i], rel) == 0;
  return n;
}

/* A fresh temp dir with an empty root in it, and a loop; no watch yet. */
static inline void run_init(struct run *r)
{
  memset(r, 0, sizeof(*r));
  strlist_init(&r->seen);
  test_tmpdir(r->tmp, sizeof(r->tmp));
  snprintf(r->root, sizeof(r->root), "%s/public", r->tmp);
  CHECK_EQ_INT(mkdir(r->root, 0755), 0);
  CHECK_EQ_INT(uv_loop_init(&r->loop), 0);
  CHECK_EQ_INT(uv_timer_init(&r->loop, &r->lag.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&r->lag.timer, lag_on_tick, 1, 1), 0);
  CHECK_EQ_INT(uv_timer_init(&r->loop, &r->timer), 0);
}

static inline void run_watch(struct run *r)
{
  struct watch_opts o = {0};
  struct cfw_err err;

  o.root = r->root;
  o.started = run_on_started;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
}

static inline void run_stop(struct run *r)
{
  watch_close(r->w, NULL, NULL);
  uv_close((uv_handle_t *)&r->lag.timer, NULL);
  uv_close((uv_handle_t *)&r->timer, NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  CHECK_EQ_INT(uv_loop_close(&r->loop), 0);
  strlist_free(&r->seen);
  test_rmtree(r->tmp);
}

#endif
