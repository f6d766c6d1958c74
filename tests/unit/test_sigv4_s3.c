/* SPDX-License-Identifier: MIT */
#include "sigv4.h"
#include "test.h"
#include "util.h"

/* S3's flavour of SigV4: the path encoded once (s3_style_path), and the
 * payload hash given by the caller (x-amz-content-sha256) instead of
 * computed from a body in memory.  The four examples are the ones in the
 * S3 API reference, "Signature Calculations for the Authorization
 * Header: Transferring Payload in a Single Chunk"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html),
 * with AWS's published example credentials. */

#define DOC_KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_DATE   "20130524T000000Z"
#define DOC_HOST   "examplebucket.s3.amazonaws.com"
#define EMPTY_SHA256                                                           \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PUT_BODY "Welcome to Amazon S3."
#define PUT_SHA256                                                             \
  "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"

struct doc_case {
  const char *method;
  const char *path;
  const char *query;
  const struct sigv4_header *headers;
  size_t n_headers;
  const char *payload;      /* or NULL */
  const char *payload_hash; /* or NULL */
};

static int sign_doc(const struct doc_case *dc, struct sigv4_result *r,
                    struct cfw_err *err)
{
  struct sigv4_creds c = {DOC_KEY_ID, DOC_SECRET, NULL};
  struct sigv4_params p = {"us-east-1", "s3", DOC_DATE, true};
  struct sigv4_request req = {0};

  req.method = dc->method;
  req.path = dc->path;
  req.query = dc->query;
  req.headers = dc->headers;
  req.n_headers = dc->n_headers;
  req.payload = dc->payload;
  req.payload_len = dc->payload ? strlen(dc->payload) : 0;
  req.payload_hash = dc->payload_hash;
  return sigv4_sign(&req, &c, &p, r, err);
}

static void check_doc(const struct doc_case *dc, const char *signature)
{
  struct sigv4_result r;
  struct cfw_err err = {0};

  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_doc(dc, &r, &err), 0);
  CHECK_EQ_STR(err.msg, "");
  CHECK_EQ_STR(r.signature, signature);
  sigv4_result_free(&r);
}

static void test_doc_get_object_with_range(void)
{
  static const struct sigv4_header h[] = {
      {"Host", DOC_HOST},
      {"Range", "bytes=0-9"},
      {"x-amz-content-sha256", EMPTY_SHA256},
      {"x-amz-date", DOC_DATE},
  };
  struct doc_case dc = {"GET",         "/test.txt", NULL,        h,
                        ARRAY_SIZE(h), NULL,        EMPTY_SHA256};
  struct sigv4_result r;

  check_doc(&dc, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036"
                 "bdb41");
  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_doc(&dc, &r, NULL), 0);
  CHECK_EQ_STR(buf_str(&r.canonical_request),
               "GET\n/test.txt\n\nhost:" DOC_HOST "\nrange:bytes=0-9\n"
               "x-amz-content-sha256:" EMPTY_SHA256 "\n"
               "x-amz-date:" DOC_DATE "\n\n"
               "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
  sigv4_result_free(&r);
}

/* The '$' in the key is encoded once: "/test%24file.text". */
static void test_doc_put_object_encodes_key_once(void)
{
  static const struct sigv4_header h[] = {
      {"Host", DOC_HOST},
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", DOC_DATE},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", PUT_SHA256},
  };
  struct doc_case dc = {"PUT",         "/test$file.text", NULL, h,
                        ARRAY_SIZE(h), PUT_BODY,          NULL};
  struct sigv4_result r;

  check_doc(&dc, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece"
                 "108bd");
  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_doc(&dc, &r, NULL), 0);
  CHECK(strncmp(buf_str(&r.canonical_request), "PUT\n/test%24file.text\n",
                22) == 0);
  sigv4_result_free(&r);
}

static void test_doc_get_bucket_lifecycle(void)
{
  static const struct sigv4_header h[] = {
      {"Host", DOC_HOST},
      {"x-amz-date", DOC_DATE},
      {"x-amz-content-sha256", EMPTY_SHA256},
  };
  struct doc_case dc = {"GET", "/", "lifecycle", h, ARRAY_SIZE(h), NULL, NULL};

  check_doc(&dc, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a01367"
                 "83543");
}

static void test_doc_list_objects_sorts_query(void)
{
  static const struct sigv4_header h[] = {
      {"Host", DOC_HOST},
      {"x-amz-date", DOC_DATE},
      {"x-amz-content-sha256", EMPTY_SHA256},
  };
  struct doc_case dc = {"GET", "/", "prefix=J&max-keys=2", h, ARRAY_SIZE(h),
                        NULL,  NULL};

  check_doc(&dc, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69"
                 "dc6f7");
}

/* A body streamed from a file is never in memory: its known hash signs
 * exactly as the bytes would. */
static void test_given_payload_hash_signs_as_the_body(void)
{
  static const struct sigv4_header h[] = {
      {"Host", DOC_HOST},
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", DOC_DATE},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", PUT_SHA256},
  };
  struct doc_case dc = {"PUT", "/test$file.text", NULL, h, ARRAY_SIZE(h),
                        NULL,  PUT_SHA256};

  check_doc(&dc, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece"
                 "108bd");
}

static void test_unsigned_payload_is_accepted(void)
{
  static const struct sigv4_header h[] = {
      {"Host", DOC_HOST},
      {"x-amz-date", DOC_DATE},
      {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
  };
  struct doc_case dc = {
      "GET", "/k", NULL, h, ARRAY_SIZE(h), NULL, "UNSIGNED-PAYLOAD"};
  struct sigv4_result r;

  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_doc(&dc, &r, NULL), 0);
  CHECK_CONTAINS(buf_str(&r.canonical_request), "\nUNSIGNED-PAYLOAD");
  sigv4_result_free(&r);
}

static void test_bad_payload_hash_is_einval(void)
{
  static const char *const bad[] = {
      "", "e3b0", EMPTY_SHA256 "0",
      "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
      "unsigned-payload"};
  static const struct sigv4_header h[] = {{"Host", DOC_HOST}};
  struct doc_case dc = {"GET", "/k", NULL, h, ARRAY_SIZE(h), NULL, NULL};
  struct sigv4_result r;
  struct cfw_err err = {0};
  size_t i;

  sigv4_result_init(&r);
  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    dc.payload_hash = bad[i];
    CHECK_EQ_INT(sign_doc(&dc, &r, &err), -EINVAL);
    CHECK_CONTAINS(err.msg, "payload hash");
    CHECK_EQ_STR(r.signature, "");
  }
  sigv4_result_free(&r);
}

/* Dot segments and repeated slashes are part of an S3 key. */
static void test_s3_path_keeps_dots_and_slashes(void)
{
  static const struct sigv4_header h[] = {{"Host", DOC_HOST}};
  struct doc_case dc = {"GET", "/b//a/./../c d+é~?#", NULL, h, ARRAY_SIZE(h),
                        NULL,  EMPTY_SHA256};
  struct sigv4_result r;

  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_doc(&dc, &r, NULL), 0);
  CHECK(strncmp(buf_str(&r.canonical_request),
                "GET\n/b//a/./../c%20d%2B%C3%A9~%3F%23\n", 37) == 0);
  sigv4_result_free(&r);
}

/* The URL path must be exactly what was signed. */
static void test_uri_encode_matches_signed_path(void)
{
  struct buf b;

  buf_init(&b, 1024);
  CHECK_EQ_INT(sigv4_uri_encode(&b, "/bkt/a b/ü/x$y%z?#&=+~._-", true), 0);
  CHECK_EQ_STR(buf_str(&b), "/bkt/a%20b/%C3%BC/x%24y%25z%3F%23%26%3D%2B~._-");
  buf_reset(&b);
  CHECK_EQ_INT(sigv4_uri_encode(&b, "/test$file.text", true), 0);
  CHECK_EQ_STR(buf_str(&b), "/test%24file.text");
  buf_reset(&b);
  CHECK_EQ_INT(sigv4_uri_encode(&b, "a/b c+d", false), 0);
  CHECK_EQ_STR(buf_str(&b), "a%2Fb%20c%2Bd");
  buf_free(&b);
  buf_init(&b, 4);
  CHECK_EQ_INT(sigv4_uri_encode(&b, "/a b", true), -E2BIG);
  buf_free(&b);
}

TEST_MAIN(TEST(test_doc_get_object_with_range),
          TEST(test_doc_put_object_encodes_key_once),
          TEST(test_doc_get_bucket_lifecycle),
          TEST(test_doc_list_objects_sorts_query),
          TEST(test_given_payload_hash_signs_as_the_body),
          TEST(test_unsigned_payload_is_accepted),
          TEST(test_bad_payload_hash_is_einval),
          TEST(test_s3_path_keeps_dots_and_slashes),
          TEST(test_uri_encode_matches_signed_path))
