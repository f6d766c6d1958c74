/* SPDX-License-Identifier: MIT */
#include "cfpace.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

struct cfpace {
  uv_timer_t timer;
  struct cfpace_opts o;
  size_t requests;
  bool started;     /* a request has started */
  uint64_t last_ms; /* uv_now when the last one started */
  bool waiting;     /* a go is due */
  void (*go)(void *arg);
  void *go_arg;
  uint64_t rng; /* xorshift state for the jitter */
  void (*done)(void *arg);
  void *done_arg;
};

int cfpace_new(struct cfpace **out, uv_loop_t *loop,
               const struct cfpace_opts *o)
{
  struct cfpace *p = calloc(1, sizeof(*p));

  if (p == NULL)
    return -ENOMEM;
  p->o = *o;
  p->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)p;
  p->rng |= 1;
  (void)uv_timer_init(loop, &p->timer); /* cannot fail */
  *out = p;
  return 0;
}

bool cfpace_spent(const struct cfpace *p)
{
  return p->o.max_requests > 0 && p->requests >= p->o.max_requests;
}

size_t cfpace_requests(const struct cfpace *p)
{
  return p->requests;
}

static void cfpace_on_timer(uv_timer_t *t)
{
  struct cfpace *p = container_of(t, struct cfpace, timer);

  p->waiting = false;
  p->started = true;
  p->last_ms = uv_now(t->loop);
  p->requests++;
  p->go(p->go_arg);
}

int cfpace_go(struct cfpace *p, uint64_t delay_ms, void (*go)(void *arg),
              void *arg)
{
  uint64_t now = uv_now(p->timer.loop);
  uint64_t at = now + delay_ms;

  if (p->waiting)
    return -EBUSY;
  if (cfpace_spent(p))
    return -EDQUOT;
  if (p->started && p->last_ms + p->o.pace_ms > at)
    at = p->last_ms + p->o.pace_ms;
  p->go = go;
  p->go_arg = arg;
  p->waiting = true;
  return uv_timer_start(&p->timer, cfpace_on_timer, at - now, 0);
}

uint64_t cfpace_retry_ms(struct cfpace *p, enum cf_verdict v, unsigned attempt,
                         uint64_t first_ms)
{
  uint64_t now = uv_now(p->timer.loop);
  uint64_t ms;

  if (v != CF_RETRY && !(v == CF_REFRESH && attempt == 0))
    return UINT64_MAX;
  if (cfpace_spent(p) || now - first_ms >= p->o.retry_for_ms)
    return UINT64_MAX;
  /* Fresh credentials need no wait; a throttled service does. */
  if (v == CF_REFRESH)
    return 0;
  ms = retry_backoff_ms(attempt, CFPACE_BACKOFF_BASE_MS, CFPACE_BACKOFF_CAP_MS,
                        retry_jitter(&p->rng));
  return now + ms - first_ms > p->o.retry_for_ms ? UINT64_MAX : ms;
}

static void cfpace_on_close(uv_handle_t *h)
{
  struct cfpace *p = container_of((uv_timer_t *)h, struct cfpace, timer);
  void (*done)(void *arg) = p->done;
  void *arg = p->done_arg;

  free(p);
  if (done != NULL)
    done(arg);
}

void cfpace_close(struct cfpace *p, void (*done)(void *arg), void *arg)
{
  if (p == NULL)
    return;
  p->done = done;
  p->done_arg = arg;
  p->waiting = false;
  uv_close((uv_handle_t *)&p->timer, cfpace_on_close);
}
