/* SPDX-License-Identifier: MIT */
/* How long the event loop is kept from its timers: a 10 ms timer notes
 * the wall time between its ticks and how much of it the loop spent
 * outside its poll (uv_metrics_idle_time counts the time in epoll_wait):
 * running callbacks, or blocked in one.  On a loaded 2-core machine the
 * scheduler alone can keep the loop thread off a core for 100 ms and
 * more, nearly always while it waits in epoll_wait (counted idle); the
 * busy time is the loop's own, which is what must stay short.  Tests
 * print both and check the busy time.  The busy time leaves out what the
 * thread spent runnable but waiting for a core (the run_delay of
 * /proc/thread-self/schedstat): on a loaded machine that is the
 * scheduler's too, while a loop blocked in a syscall sleeps, which is
 * not run_delay, so it still counts. */
#ifndef CFW_TEST_LOOPLAG_H
#define CFW_TEST_LOOPLAG_H

#include <stdint.h>
#include <uv.h>

#include <stdio.h>

struct looplag {
  uv_timer_t timer; /* first: the tick finds the struct from it */
  uint64_t last_ns;
  uint64_t last_idle_ns;
  uint64_t last_wait_ns;
  uint64_t max_gap_ns;  /* between ticks, wall clock */
  uint64_t max_busy_ns; /* of that, outside the loop's poll */
  unsigned ticks;
};

/* The calling thread's time spent runnable, waiting for a core, in ns;
 * 0 without schedstats (then the wall time counts whole). */
static inline uint64_t looplag_thread_wait_ns(void)
{
  unsigned long long run = 0;
  unsigned long long wait = 0;
  FILE *f = fopen("/proc/thread-self/schedstat", "r");

  if (f == NULL)
    return 0;
  if (fscanf(f, "%llu %llu", &run, &wait) != 2)
    wait = 0;
  (void)fclose(f);
  return wait;
}

static inline void looplag_on_tick(uv_timer_t *t)
{
  struct looplag *l = (struct looplag *)(void *)t;
  uint64_t now = uv_hrtime();
  uint64_t idle = uv_metrics_idle_time(t->loop);
  uint64_t wait = looplag_thread_wait_ns();
  uint64_t waited = wait - l->last_wait_ns;
  uint64_t gap = now - l->last_ns;
  uint64_t busy = gap - (idle - l->last_idle_ns);

  busy = busy > waited ? busy - waited : 0;
  l->last_wait_ns = wait;
  if (gap > l->max_gap_ns)
    l->max_gap_ns = gap;
  if (busy > l->max_busy_ns)
    l->max_busy_ns = busy;
  l->last_ns = now;
  l->last_idle_ns = idle;
  l->ticks++;
}

/* Starts ticking on loop, which must not have run yet (the idle time is
 * only kept once asked for).  0 or a libuv error. */
static inline int looplag_start(struct looplag *l, uv_loop_t *loop)
{
  int rc = uv_loop_configure(loop, UV_METRICS_IDLE_TIME);

  if (rc == 0)
    rc = uv_timer_init(loop, &l->timer);
  if (rc != 0)
    return rc;
  l->last_ns = uv_hrtime();
  l->last_idle_ns = uv_metrics_idle_time(loop);
  l->last_wait_ns = looplag_thread_wait_ns();
  return uv_timer_start(&l->timer, looplag_on_tick, 10, 10);
}

static inline void looplag_stop(struct looplag *l)
{
  (void)uv_timer_stop(&l->timer);
  uv_close((uv_handle_t *)&l->timer, NULL);
}

#endif
