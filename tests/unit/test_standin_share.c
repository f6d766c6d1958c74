/* SPDX-License-Identifier: MIT */
/* The stand-in shared by the cases of a test binary (standin.h): one
 * case changes every piece of state the stand-in keeps, and the case
 * after it, which finds the same stand-in, sees none of it.  The cases
 * run in the order listed. */
#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "standin.h"
#include "test.h"

#define DIST         "EDFDVBD6EXAMPLE"
#define OTHER_BUCKET "other-demo-bucket"

/* A CloudFront request with no signature: the stand-in logs it and
 * answers 403.  Returns the status. */
static long unsigned_request(const struct standin *s)
{
  char url[256];
  CURL *e = curl_easy_init();
  struct buf body;
  long status = 0;

  buf_init(&body, 65536);
  REQUIRE(e != NULL);
  REQUIRE(snprintf(url, sizeof(url),
                   "%s/2020-05-31/distribution/" DIST "/invalidation",
                   s->endpoint) < (int)sizeof(url));
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CAINFO, s->ca);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, standin_on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  REQUIRE(curl_easy_perform(e) == CURLE_OK);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(e);
  buf_free(&body);
  return status;
}

/* A client that trusts another CA fails its handshake, which the
 * stand-in lists among its TLS errors. */
static void failed_handshake(const struct standin *s)
{
  CURL *e = curl_easy_init();

  REQUIRE(e != NULL);
  curl_easy_setopt(e, CURLOPT_URL, s->endpoint);
  curl_easy_setopt(e, CURLOPT_CAINFO, "/dev/null");
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  CHECK(curl_easy_perform(e) != CURLE_OK);
  curl_easy_cleanup(e);
}

/* The size of the array under key in the answer to GET path. */
static size_t count_of(const struct standin *s, const char *path,
                       const char *key)
{
  json_t *j = standin_json(s, "GET", path, NULL);
  size_t n = json_array_size(json_object_get(j, key));

  json_decref(j);
  return n;
}

static void seed_invalidation(const struct standin *s)
{
  standin_post(s, "seed",
               "{\"distribution\": \"" DIST "\", \"invalidations\": "
               "[{\"paths\": [\"/a\", \"/b\"], \"status\": \"InProgress\", "
               "\"create_time\": \"2026-01-02T03:04:05.000Z\"}]}");
}

/* Every kind of state; the logged request before the chaos, which
 * could answer it. */
static void put_state(const struct standin *s)
{
  CHECK_EQ_INT(unsigned_request(s), 403);
  failed_handshake(s);
  standin_inject(s, "[\"503\", {\"fault\": \"hold\", \"seconds\": 30}]",
                 "s3:put");
  standin_post(s, "chaos", "{\"rate\": 0.5, \"seed\": 7}");
  seed_invalidation(s);
  standin_post(s, "s3/buckets", "{\"name\": \"" OTHER_BUCKET "\"}");
  standin_post(s, "s3/object",
               "{\"bucket\": \"" STANDIN_BUCKET "\", \"key\": \"k\", "
               "\"text\": \"x\"}");
  standin_post(s, "clock", "{\"offset\": 86400}");
  standin_post(s, "config", "{\"max_skew\": 5, \"completion_delay\": null}");
}

/* The stand-in's TLS errors, once there are want of them or after 10
 * s: it notes a failed handshake after the client gave up. */
static size_t tls_errors(const struct standin *s, size_t want)
{
  struct timespec ts = {0, 20L * 1000 * 1000};
  size_t n = count_of(s, "log", "tls_errors");
  int i;

  for (i = 0; i < 500 && n < want; i++) {
    nanosleep(&ts, NULL);
    n = count_of(s, "log", "tls_errors");
  }
  return n;
}

static void test_case_changes_every_piece_of_state(void)
{
  struct standin s;
  json_t *j;

  REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  standin_start(&s, "{\"list_max_items\": 7}");
  put_state(&s);
  CHECK_EQ_INT(count_of(&s, "faults", "faults"), 2);
  CHECK_EQ_INT(count_of(&s, "invalidations", "invalidations"), 1);
  CHECK_EQ_INT(standin_count(&s, STANDIN_BUCKET), 1);
  CHECK_EQ_INT(count_of(&s, "s3/buckets", "buckets"), 2);
  CHECK(count_of(&s, "log", "requests") >= 1);
  CHECK_EQ_INT(tls_errors(&s, 1), 1);
  j = standin_json(&s, "GET", "config", NULL);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "list_max_items")), 7);
  CHECK_EQ_DBL(json_number_value(json_object_get(j, "clock_offset")), 86400);
  json_decref(j);
  standin_stop(&s);
  curl_global_cleanup();
}

/* After the case above, in the same stand-in: nothing of it is left,
 * and the config is a fresh stand-in's. */
static void test_next_case_sees_none_of_it(void)
{
  struct standin s;
  struct standin fresh;
  json_t *cfg;
  json_t *want;
  json_t *log;
  json_t *chaos;
  char home[256];

  REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  standin_start(&s, NULL);
  REQUIRE(snprintf(home, sizeof(home), "/cfwstandin.%ld", (long)test_main_pid) <
          (int)sizeof(home));
  CHECK_CONTAINS(s.home, home); /* the binary's, not the case's */
  CHECK_EQ_INT(count_of(&s, "faults", "faults"), 0);
  chaos = standin_json(&s, "GET", "chaos", NULL);
  CHECK(json_is_null(json_object_get(chaos, "chaos")));
  json_decref(chaos);
  CHECK_EQ_INT(count_of(&s, "invalidations", "invalidations"), 0);
  CHECK_EQ_INT(standin_count(&s, STANDIN_BUCKET), 0);
  CHECK_EQ_INT(count_of(&s, "s3/uploads?bucket=" STANDIN_BUCKET, "uploads"), 0);
  CHECK_EQ_INT(count_of(&s, "s3/buckets", "buckets"), 1);
  CHECK_EQ_INT(count_of(&s, "log", "requests"), 0);
  CHECK_EQ_INT(count_of(&s, "log", "tls_errors"), 0);
  standin_start_private(&fresh, NULL);
  cfg = standin_json(&s, "GET", "config", NULL);
  want = standin_json(&fresh, "GET", "config", NULL);
  CHECK(json_equal(cfg, want));
  json_decref(cfg);
  json_decref(want);
  CHECK_EQ_INT(unsigned_request(&s), 403); /* numbered from 1 again */
  log = standin_json(&s, "GET", "log", NULL);
  CHECK_EQ_INT(json_integer_value(json_object_get(
                   json_array_get(json_object_get(log, "requests"), 0), "seq")),
               1);
  json_decref(log);
  failed_handshake(&s);
  CHECK_EQ_INT(tls_errors(&s, 1), 1);
  standin_stop(&fresh);
  standin_stop(&s);
  curl_global_cleanup();
}

TEST_MAIN(TEST(test_case_changes_every_piece_of_state),
          TEST(test_next_case_sees_none_of_it))
