/* SPDX-License-Identifier: MIT */
#include "debounce.h"

void debounce_init(struct debounce *d, uint64_t quiet_ms, uint64_t max_delay_ms)
{
  d->quiet_ms = quiet_ms;
  d->max_delay_ms = max_delay_ms;
  d->first_ms = 0;
  d->last_ms = 0;
  d->pending = false;
}

void debounce_event(struct debounce *d, uint64_t now_ms)
{
  if (!d->pending) {
    d->pending = true;
    d->first_ms = now_ms;
  }
  /* The clock is monotonic (uv_now); never move the deadline back. */
  if (now_ms > d->last_ms)
    d->last_ms = now_ms;
}

/* The earlier of "quiet after the last event" and "max after the first". */
static uint64_t debounce_deadline(const struct debounce *d)
{
  uint64_t quiet_at = d->last_ms + d->quiet_ms;
  uint64_t max_at = d->first_ms + d->max_delay_ms;

  return quiet_at < max_at ? quiet_at : max_at;
}

bool debounce_due(const struct debounce *d, uint64_t now_ms)
{
  return d->pending && now_ms >= debounce_deadline(d);
}

uint64_t debounce_wait_ms(const struct debounce *d, uint64_t now_ms)
{
  uint64_t at;

  if (!d->pending)
    return UINT64_MAX;
  at = debounce_deadline(d);
  return now_ms >= at ? 0 : at - now_ms;
}

void debounce_flushed(struct debounce *d)
{
  d->pending = false;
  d->first_ms = 0;
  d->last_ms = 0;
}
