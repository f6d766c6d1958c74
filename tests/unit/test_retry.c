/* SPDX-License-Identifier: MIT */
#include "retry.h"
#include "test.h"

static void test_2xx_is_done(void)
{
  CHECK_EQ_INT(retry_classify(1, 0, 201, "", ""), CF_DONE);
  CHECK_EQ_INT(retry_classify(1, 0, 200, "", ""), CF_DONE);
}

static void test_transport_failures_retry_except_tls(void)
{
  CHECK_EQ_INT(retry_classify(0, 0, 0, "", ""), CF_RETRY);
  CHECK_EQ_INT(retry_classify(0, 1, 0, "", ""), CF_FATAL);
}

static void test_server_errors_and_throttling_retry(void)
{
  CHECK_EQ_INT(retry_classify(1, 0, 503, "ServiceUnavailable", ""), CF_RETRY);
  CHECK_EQ_INT(retry_classify(1, 0, 500, "InternalError", ""), CF_RETRY);
  CHECK_EQ_INT(retry_classify(1, 0, 502, "", ""), CF_RETRY);
  CHECK_EQ_INT(retry_classify(1, 0, 400, "Throttling", "Rate exceeded"),
               CF_RETRY);
  CHECK_EQ_INT(retry_classify(1, 0, 400, "RequestLimitExceeded", ""), CF_RETRY);
  CHECK_EQ_INT(retry_classify(1, 0, 429, "", ""), CF_RETRY);
}

static void test_too_many_in_progress_waits(void)
{
  CHECK_EQ_INT(retry_classify(1, 0, 400, "TooManyInvalidationsInProgress", ""),
               CF_WAIT);
}

static void test_caller_reference_reuse_is_a_conflict(void)
{
  CHECK_EQ_INT(retry_classify(1, 0, 409, "InvalidationBatchAlreadyExists", ""),
               CF_CONFLICT);
  CHECK_EQ_INT(retry_classify(1, 0, 400, "InvalidArgument",
                              "Your request contains a caller reference "
                              "that was used for a previous invalidation "
                              "batch for the same distribution."),
               CF_CONFLICT);
  CHECK_EQ_INT(retry_classify(1, 0, 400, "InvalidArgument", "bad path"),
               CF_FATAL);
}

static void test_stopping_errors_are_fatal(void)
{
  static const char *const codes[] = {"AccessDenied",
                                      "NoSuchDistribution",
                                      "InvalidArgument",
                                      "SignatureDoesNotMatch",
                                      "InvalidClientTokenId",
                                      "RequestTimeTooSkewed",
                                      "MissingAuthenticationToken"};
  size_t i;

  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    CHECK_EQ_INT(retry_classify(1, 0, 403, codes[i], ""), CF_FATAL);
    CHECK(strcmp(retry_hint(codes[i], 403), "see the message above") != 0);
  }
}

static void test_expired_token_refreshes(void)
{
  CHECK_EQ_INT(retry_classify(1, 0, 403, "ExpiredToken", ""), CF_REFRESH);
}

static void test_backoff_stays_within_bounds_and_grows(void)
{
  unsigned a;
  uint32_t r;
  uint64_t d;

  for (a = 0; a < 40; a++) {
    for (r = 0; r < 100000; r += 997) {
      d = retry_backoff_ms(a, 500, 60000, r * 2654435761u);
      CHECK(d >= 500 && d <= 60000);
    }
  }
  CHECK_EQ_INT(retry_backoff_ms(0, 500, 60000, 12345), 500);
  CHECK_EQ_INT(retry_backoff_ms(3, 500, 60000, UINT32_MAX) <= 4000, 1);
  CHECK_EQ_INT(retry_backoff_ms(30, 500, 60000, 0xffffffffu) <= 60000, 1);
}

static void test_s3_transient_answers_retry(void)
{
  CHECK_EQ_INT(retry_classify_s3(1, 0, 500, "InternalError", 0), S3V_RETRY);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 503, "SlowDown", 0), S3V_RETRY);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "RequestTimeout", 0), S3V_RETRY);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 409, "ConditionalRequestConflict", 0),
               S3V_RETRY);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 502, "", 0), S3V_RETRY);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 503, "", 0), S3V_RETRY); /* HEAD */
  CHECK_EQ_INT(retry_classify_s3(0, 0, 0, "", 0), S3V_RETRY);
  CHECK_EQ_INT(retry_classify_s3(0, 1, 0, "", 0), S3V_FATAL);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 200, "", 0), S3V_DONE);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 204, "", 0), S3V_DONE);
}

static void test_s3_refusals_are_fatal_with_a_hint(void)
{
  static const char *const codes[] = {
      "AccessDenied",          "NoSuchBucket", "InvalidAccessKeyId",
      "SignatureDoesNotMatch", "InvalidToken", "RequestTimeTooSkewed"};
  size_t i;

  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    CHECK_EQ_INT(retry_classify_s3(1, 0, 403, codes[i], 0), S3V_FATAL);
    CHECK(strcmp(retry_hint_s3(codes[i], 403), "see the message above") != 0);
  }
  CHECK_EQ_INT(retry_classify_s3(1, 0, 404, "NoSuchBucket", 0), S3V_FATAL);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 403, "", 0), S3V_FATAL);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "InvalidArgument", 0), S3V_FATAL);
}

static void test_s3_outcomes_of_their_own(void)
{
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "XAmzContentSHA256Mismatch", 0),
               S3V_CHANGED);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "BadDigest", 0), S3V_CHANGED);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 412, "PreconditionFailed", 0),
               S3V_PRECONDITION);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 412, "", 0), S3V_PRECONDITION);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 404, "NoSuchKey", 0), S3V_NOT_FOUND);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 404, "", 0), S3V_NOT_FOUND);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "ExpiredToken", 0), S3V_REFRESH);
}

/* A wrong region: 301, or a 400 that names the bucket's region. */
static void test_s3_wrong_region_redirects(void)
{
  CHECK_EQ_INT(retry_classify_s3(1, 0, 301, "PermanentRedirect", 1),
               S3V_REDIRECT);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 301, "", 0), S3V_REDIRECT);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "AuthorizationHeaderMalformed", 1),
               S3V_REDIRECT);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "AuthorizationHeaderMalformed", 0),
               S3V_FATAL);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "", 1), S3V_REDIRECT);
  CHECK_EQ_INT(retry_classify_s3(1, 0, 400, "", 0), S3V_FATAL);
  CHECK_CONTAINS(retry_hint_s3("PermanentRedirect", 301), "region");
  CHECK_CONTAINS(retry_hint_s3("", 400), "check region");
}

/* The IAM actions behind every S3 request cfwatch sends (s3ops.c):
 * PutObject, CreateMultipartUpload, UploadPart and
 * CompleteMultipartUpload, conditional or not, need s3:PutObject;
 * AbortMultipartUpload s3:AbortMultipartUpload; GetObject s3:GetObject;
 * ListObjectsV2 s3:ListBucket; DeleteObjects s3:DeleteObject per key.
 * The AccessDenied hint names exactly those. */
static void test_s3_access_denied_hint_lists_every_action_used(void)
{
  static const char *const used[] = {"s3:PutObject", "s3:AbortMultipartUpload",
                                     "s3:GetObject", "s3:ListBucket",
                                     "s3:DeleteObject"};
  const char *hint = retry_hint_s3("AccessDenied", 403);
  const char *p;
  size_t named = 0;
  size_t i;
  size_t n;
  bool known;

  for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
    CHECK_CONTAINS(hint, used[i]);
  for (p = strstr(hint, "s3:"); p != NULL; p = strstr(p + 3, "s3:")) {
    n = strspn(p + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    known = false;
    for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
      known = known ||
              (strlen(used[i]) == n + 3 && strncmp(p, used[i], n + 3) == 0);
    if (!known)
      TEST_FAIL_("the hint names %.*s, which cfwatch does not use: %s",
                 (int)n + 3, p, hint);
    named++;
  }
  CHECK(named >= sizeof(used) / sizeof(used[0]));
}

TEST_MAIN(TEST(test_2xx_is_done),
          TEST(test_transport_failures_retry_except_tls),
          TEST(test_server_errors_and_throttling_retry),
          TEST(test_too_many_in_progress_waits),
          TEST(test_caller_reference_reuse_is_a_conflict),
          TEST(test_stopping_errors_are_fatal),
          TEST(test_expired_token_refreshes),
          TEST(test_backoff_stays_within_bounds_and_grows),
          TEST(test_s3_transient_answers_retry),
          TEST(test_s3_refusals_are_fatal_with_a_hint),
          TEST(test_s3_outcomes_of_their_own),
          TEST(test_s3_wrong_region_redirects),
          TEST(test_s3_access_denied_hint_lists_every_action_used))
