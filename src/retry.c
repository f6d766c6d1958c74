/* SPDX-License-Identifier: MIT */
#include "retry.h"

#include <string.h>
#include <strings.h>

#include "util.h"

static int retry_code_in(const char *code, const char *const *list, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(code, list[i]) == 0)
      return 1;
  return 0;
}

/* botocore's transient and throttling codes, for every service. */
static const char *const retry_transient[] = {
    "Throttling",      "ThrottlingException",  "RequestLimitExceeded",
    "TooManyRequests", "ServiceUnavailable",   "InternalError",
    "InternalFailure", "RequestTimeout",       "PriorRequestNotComplete",
    "SlowDown",        "EC2ThrottledException"};

static enum cf_verdict retry_classify_code(int status, const char *code,
                                           const char *message)
{
  if (retry_code_in(code, retry_transient, ARRAY_SIZE(retry_transient)))
    return CF_RETRY;
  if (strcmp(code, "TooManyInvalidationsInProgress") == 0)
    return CF_WAIT;
  if (strcmp(code, "InvalidationBatchAlreadyExists") == 0)
    return CF_CONFLICT;
  /* What users see for a reused CallerReference (vectors README). */
  if (strcmp(code, "InvalidArgument") == 0 && message != NULL &&
      strcasestr(message, "caller reference") != NULL)
    return CF_CONFLICT;
  if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "RequestExpired") == 0)
    return CF_REFRESH;
  return status >= 500 ? CF_RETRY : CF_FATAL;
}

enum cf_verdict retry_classify(int transport_ok, int tls_failed, int status,
                               const char *code, const char *message)
{
  if (!transport_ok)
    return tls_failed ? CF_FATAL : CF_RETRY;
  if (status >= 200 && status < 300)
    return CF_DONE;
  if (code != NULL && code[0] != '\0')
    return retry_classify_code(status, code, message);
  /* No error document (a proxy, a load balancer): go by status alone. */
  if (status >= 500 || status == 429 || status == 408)
    return CF_RETRY;
  return CF_FATAL;
}

const char *retry_hint(const char *code, int status)
{
  static const struct {
    const char *code;
    const char *hint;
  } hints[] = {
      {"AccessDenied", "check that these credentials may call "
                       "cloudfront:CreateInvalidation on this distribution"},
      {"NoSuchDistribution", "check the distribution id"},
      {"InvalidArgument", "CloudFront refused an argument, usually a path: "
                          "see its message"},
      {"SignatureDoesNotMatch", "check the secret access key, and that the "
                                "clock is right (within 5 minutes)"},
      {"InvalidClientTokenId", "check the access key id (is it active?)"},
      {"RequestTimeTooSkewed", "this machine's clock is off: sync it (NTP)"},
      {"MissingAuthenticationToken", "no credentials were sent"},
      {"ExpiredToken", "the session token expired: refresh the credentials"},
      {"TLS", "the endpoint's certificate could not be verified: check "
              "--ca-file and --endpoint"},
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(hints); i++)
    if (code != NULL && strcmp(code, hints[i].code) == 0)
      return hints[i].hint;
  if (status == 403)
    return "check the credentials and their permissions";
  return "see the message above";
}

uint64_t retry_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms,
                          uint32_t rand)
{
  uint64_t top = base_ms;

  while (attempt-- > 0 && top < cap_ms)
    top *= 2;
  if (top > cap_ms)
    top = cap_ms;
  if (top <= base_ms)
    return top;
  return base_ms + (uint64_t)rand % (top - base_ms + 1);
}

const char *retry_verdict_str(enum cf_verdict v)
{
  static const char *const names[] = {"done",     "retry",   "wait",
                                      "conflict", "refresh", "fatal"};

  return (unsigned)v < ARRAY_SIZE(names) ? names[v] : "?";
}

uint32_t retry_jitter(uint64_t *state)
{
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return (uint32_t)(*state >> 32);
}

/* ---- S3 ---- */

static enum s3_verdict retry_s3_code(int status, const char *code,
                                     int region_named)
{
  static const char *const changed[] = {"XAmzContentSHA256Mismatch",
                                        "BadDigest"};
  static const char *const conflict[] = {"ConditionalRequestConflict",
                                         "OperationAborted"};
  static const char *const refresh[] = {"ExpiredToken", "TokenRefreshRequired"};

  if (retry_code_in(code, retry_transient, ARRAY_SIZE(retry_transient)) ||
      retry_code_in(code, conflict, ARRAY_SIZE(conflict)))
    return S3V_RETRY;
  if (retry_code_in(code, changed, ARRAY_SIZE(changed)))
    return S3V_CHANGED;
  if (retry_code_in(code, refresh, ARRAY_SIZE(refresh)))
    return S3V_REFRESH;
  if (strcmp(code, "PreconditionFailed") == 0)
    return S3V_PRECONDITION;
  if (strcmp(code, "PermanentRedirect") == 0 ||
      strcmp(code, "TemporaryRedirect") == 0 ||
      (strcmp(code, "AuthorizationHeaderMalformed") == 0 && region_named))
    return S3V_REDIRECT;
  if (strcmp(code, "NoSuchBucket") == 0)
    return S3V_FATAL;
  if (status == 404)
    return S3V_NOT_FOUND;
  return status >= 500 ? S3V_RETRY : S3V_FATAL;
}

/* An answer without an error document: a HEAD, a proxy. */
static enum s3_verdict retry_s3_status(int status, int region_named)
{
  if (status == 301 || status == 307 || (status == 400 && region_named))
    return S3V_REDIRECT;
  if (status == 412)
    return S3V_PRECONDITION;
  if (status == 404)
    return S3V_NOT_FOUND;
  if (status >= 500 || status == 429 || status == 408 || status == 409)
    return S3V_RETRY;
  return S3V_FATAL;
}

enum s3_verdict retry_classify_s3(int transport_ok, int tls_failed, int status,
                                  const char *code, int region_named)
{
  if (!transport_ok)
    return tls_failed ? S3V_FATAL : S3V_RETRY;
  if (status >= 200 && status < 300)
    return S3V_DONE;
  if (code != NULL && code[0] != '\0')
    return retry_s3_code(status, code, region_named);
  return retry_s3_status(status, region_named);
}

const char *retry_hint_s3(const char *code, int status)
{
  static const struct {
    const char *code;
    const char *hint;
  } hints[] = {
      /* The actions of the requests s3ops.c sends: multipart uploads and
       * conditional writes need s3:PutObject, their abort
       * s3:AbortMultipartUpload (S3 User Guide, "Multipart upload API and
       * permissions"); DeleteObjects needs s3:DeleteObject per key. */
      {"AccessDenied", "check the credentials' and the bucket's policies: "
                       "an origin needs s3:PutObject, "
                       "s3:AbortMultipartUpload, s3:DeleteObject and "
                       "s3:ListBucket; a state in S3 s3:GetObject, "
                       "s3:PutObject, s3:DeleteObject and s3:ListBucket"},
      {"NoSuchBucket", "check the bucket name in origin (s3://BUCKET/...) "
                       "and s3_endpoint"},
      {"InvalidAccessKeyId", "check the access key id: is it active, and "
                             "known to this endpoint?"},
      {"SignatureDoesNotMatch", "check the secret access key, and that the "
                                "clock is right"},
      {"InvalidToken", "the session token is malformed: refresh the "
                       "credentials"},
      {"ExpiredToken", "the session token expired: refresh the credentials"},
      {"RequestTimeTooSkewed", "this machine's clock is off: sync it (NTP)"},
      {"AuthorizationHeaderMalformed", "set region to the bucket's region"},
      {"PermanentRedirect", "the bucket is in another region: set region to "
                            "it (or s3_endpoint to its endpoint)"},
      {"AccountProblem", "the AWS account has a problem: see the console"},
      {"TLS", "the endpoint's certificate could not be verified: check "
              "--ca-file and s3_endpoint"},
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(hints); i++)
    if (code != NULL && strcmp(code, hints[i].code) == 0)
      return hints[i].hint;
  if (status == 403)
    return "check the credentials and their permissions on the bucket";
  if (status == 301 || status == 307)
    return "the bucket is in another region: set region to it";
  if (status == 400 && (code == NULL || code[0] == '\0'))
    return "a 400 without a reason (a HEAD has no body) usually means the "
           "bucket is in another region: check region";
  return "see the message above";
}

const char *retry_s3_verdict_str(enum s3_verdict v)
{
  static const char *const names[] = {
      "done",    "retry",     "refresh", "redirect", "precondition failed",
      "changed", "not found", "fatal"};

  return (unsigned)v < ARRAY_SIZE(names) ? names[v] : "?";
}
