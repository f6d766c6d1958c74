/* SPDX-License-Identifier: MIT */
#ifndef CFW_DEBOUNCE_H
#define CFW_DEBOUNCE_H

#include <stdbool.h>
#include <stdint.h>

/* When to flush a stream of change events: after a quiet period with no
 * event (restarted by each event), and at the latest max_delay_ms after
 * the first pending event, so a build burst becomes one batch and an
 * endless trickle still flushes.  Pure: the caller passes the time in
 * (uv_now() in the daemon, a fake clock in tests). */
struct debounce {
  uint64_t quiet_ms;
  uint64_t max_delay_ms;
  uint64_t first_ms; /* first event since the last flush */
  uint64_t last_ms;  /* latest event */
  bool pending;
};

void debounce_init(struct debounce *d, uint64_t quiet_ms,
                   uint64_t max_delay_ms);

/* Records an event at now_ms. */
void debounce_event(struct debounce *d, uint64_t now_ms);

/* True if events are pending and it is time to flush them. */
bool debounce_due(const struct debounce *d, uint64_t now_ms);

/* Milliseconds from now_ms until the flush is due: 0 if due now,
 * UINT64_MAX if nothing is pending (arm no timer). */
uint64_t debounce_wait_ms(const struct debounce *d, uint64_t now_ms);

/* Forgets the pending events, after the caller took them. */
void debounce_flushed(struct debounce *d);

#endif
