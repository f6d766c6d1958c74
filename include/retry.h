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

/* What to do after an S3 call, from the same inputs and the error
 * document's Code, following botocore's retry and region-redirect rules
 * and the S3 error-code list. */
enum s3_verdict {
  S3V_DONE = 0,
  /* Transient: 5xx (500 InternalError, 503 SlowDown), 400
   * RequestTimeout, throttling, 409 ConditionalRequestConflict (two
   * conditional writes raced), resets and timeouts. */
  S3V_RETRY,
  S3V_REFRESH,      /* ExpiredToken: new credentials, then retry */
  S3V_REDIRECT,     /* the bucket is in another region (301/307, or 400
                     * AuthorizationHeaderMalformed naming the region) */
  S3V_PRECONDITION, /* 412: If-Match or If-None-Match did not hold */
  S3V_CHANGED,      /* the bytes sent are not the ones hashed:
                     * XAmzContentSHA256Mismatch, BadDigest */
  S3V_NOT_FOUND,    /* 404 other than NoSuchBucket: no such key, upload */
  S3V_FATAL         /* refused for good: tell the user what to check */
};

/* region_named is true when the answer names the bucket's region (an
 * x-amz-bucket-region header or a <Region> element), which makes a 400
 * a wrong-region answer. */
enum s3_verdict retry_classify_s3(int transport_ok, int tls_failed, int status,
                                  const char *code, int region_named);

/* A one-line hint for an S3 error that retrying will not fix: what the
 * user should check.  Never NULL. */
const char *retry_hint_s3(const char *code, int status);

const char *retry_s3_verdict_str(enum s3_verdict v);

#endif
