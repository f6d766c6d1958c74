/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFPACE_H
#define CFW_CFPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "retry.h"

/* Paces one job's read-only requests to CloudFront (one at a time), keeps
 * their number within a budget, and says when a failed one is worth
 * sending again.
 *
 * AWS documents no request rate for CloudFront's own API (the Developer
 * Guide's "Quotas" page lists rates for viewer traffic only), so the
 * pace is cfwatch's: a request starts at least pace_ms after the one
 * before it.  A Throttling answer, a 5xx or a lost connection is retried
 * with full-jitter exponential backoff (retry.h) for up to retry_for_ms;
 * every try counts against the budget. */

#define CFPACE_BACKOFF_BASE_MS 500
#define CFPACE_BACKOFF_CAP_MS  20000

struct cfpace;

struct cfpace_opts {
  uint64_t pace_ms;      /* least time between two requests' starts */
  uint64_t retry_for_ms; /* how long one call keeps retrying */
  size_t max_requests;   /* the budget; 0 means none */
};

/* 0 or -ENOMEM. */
int cfpace_new(struct cfpace **out, uv_loop_t *loop,
               const struct cfpace_opts *o);

/* Runs go(arg) from the loop (never from inside this call) once the pace
 * allows, and not before delay_ms from now, and counts one request.
 * Returns 0, -EDQUOT when the budget is spent or -EBUSY while another go
 * waits; on failure go never runs. */
int cfpace_go(struct cfpace *p, uint64_t delay_ms, void (*go)(void *arg),
              void *arg);

/* After a call ended with verdict v on its attempt-th try (0 for the
 * first), started first_ms (uv_now) on its first: the delay before the
 * next try, or UINT64_MAX if another is not worth it (the failure is
 * not transient, retry_for_ms has passed, or the budget is spent). */
uint64_t cfpace_retry_ms(struct cfpace *p, enum cf_verdict v, unsigned attempt,
                         uint64_t first_ms);

size_t cfpace_requests(const struct cfpace *p); /* started so far */
bool cfpace_spent(const struct cfpace *p);      /* the budget is used up */

/* Stops a waiting go (it never runs) and frees p once its timer closed;
 * done runs then, from the loop.  NULL p is fine (done is not called). */
void cfpace_close(struct cfpace *p, void (*done)(void *arg), void *arg);

#endif
