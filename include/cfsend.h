/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFSEND_H
#define CFW_CFSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cloudfront.h"
#include "err.h"
#include "log.h"

/* Gets one invalidation batch accepted by CloudFront: retries transient
 * failures with jittered exponential backoff, waits out
 * TooManyInvalidationsInProgress, refreshes expired credentials, and
 * (optionally) follows the invalidation until it completes.
 *
 * Every attempt carries the same CallerReference, so an attempt whose
 * 201 was lost makes CloudFront return the invalidation it created
 * instead of creating a second one. */
struct cfsend;

struct cfsend_opts {
  struct cf_client *cf;     /* borrowed */
  struct log *log;          /* borrowed */
  uint64_t retry_for_ms;    /* give up after this long; 0: never (daemon) */
  uint64_t backoff_base_ms; /* 0: 500 */
  uint64_t backoff_cap_ms;  /* 0: 30 s, or 5 min when never giving up */
  uint64_t busy_wait_ms;    /* after TooMany...InProgress; 0: 20 s */
  bool wait_complete;       /* poll GetInvalidation until Completed */
};

struct cfsend_result {
  /* 0 accepted (and completed, if asked); -ETIMEDOUT gave up on
   * transient errors; -EREMOTEIO refused for good (by CloudFront, or
   * for want of credentials); -ECANCELED. */
  int status;
  struct cfw_err err;
  char id[64];          /* the invalidation, once accepted */
  char inv_status[32];  /* its last known Status */
  char caller_ref[256]; /* the one CloudFront accepted */
  char code[64];        /* the last error code, "" if none */
  unsigned attempts;    /* CreateInvalidation requests sent */
  unsigned faults;      /* attempts that failed and were retried */
  uint64_t elapsed_ms;
  uint64_t accepted_ms; /* from the start until the 201 */
};

typedef void (*cfsend_cb)(struct cfsend *s, struct cfsend_result *r, void *arg);

/* Starts sending.  caller_ref and paths are copied.  cb runs once, from
 * the loop, unless this fails; s is freed after cb returns. */
int cfsend_start(struct cfsend **out, uv_loop_t *loop,
                 const struct cfsend_opts *o, const char *caller_ref,
                 const char *const *paths, size_t n, cfsend_cb cb, void *arg,
                 struct cfw_err *err);

/* Stops retrying: a request in flight still finishes (its outcome is
 * reported), but no new one starts; a pending timer ends with
 * -ECANCELED.  For shutdown. */
void cfsend_cancel(struct cfsend *s);

#endif
