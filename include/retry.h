/* SPDX-License-Identifier: MIT */
#ifndef CFW_RETRY_H
#define CFW_RETRY_H

#include <stdint.h>

/* What to do after a CloudFront call, from its transport outcome, HTTP
 * status and error code.  The classes follow botocore's retry rules and
 * the CloudFront documentation (see tests/vectors/cloudfront/README.md). */
enum cf_verdict {
  CF_DONE = 0, /* accepted */
  CF_RETRY,    /* transient: 5xx, throttling, reset, timeout */
  CF_WAIT,     /* TooManyInvalidationsInProgress: wait for some to end */
  CF_CONFLICT, /* the CallerReference was used for another batch */
  CF_REFRESH,  /* temporary credentials expired: get new ones, retry */
  CF_FATAL     /* will not succeed by retrying: tell the user */
};

/* Classifies one outcome.  transport_ok is false when no HTTP response
 * arrived; tls_failed marks a certificate problem (never retried: it
 * does not fix itself).  code is the ErrorResponse's Code ("" if none),
 * message its Message (used only to spot CallerReference reuse, which
 * CloudFront reports as InvalidArgument). */
enum cf_verdict retry_classify(int transport_ok, int tls_failed, int status,
                               const char *code, const char *message);

/* A one-line hint for a fatal error code: what the user should check.
 * Never NULL. */
const char *retry_hint(const char *code, int status);

/* 32 random bits for the jitter from a xorshift64 state (never zero:
 * seed it with something | 1), advanced in place.  Not for secrets. */
uint32_t retry_jitter(uint64_t *state);

/* Full-jitter exponential backoff: a delay in [base, min(cap, base *
 * 2^attempt)], picked with rand (any 32 random bits). */
uint64_t retry_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                          uint32_t rand);

const char *retry_verdict_str(enum cf_verdict v);

#endif
