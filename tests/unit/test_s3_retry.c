/* SPDX-License-Identifier: MIT */
#include "s3.h"

#include "s3_fixture.h"
#include "test.h"

/* How the S3 client meets each class of failure the stand-in can play:
 * transient ones retried with backoff until the deadline, refusals ended
 * at once with a hint, a wrong region followed, cancellation. */

static void put_buf(struct s3fx *f, const char *key, struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(
      s3_put_buf(f->s3, key, "body", 4, NULL, s3got_on_result, g, NULL, &err),
      0);
  s3fx_run(f, f->n_done + 1);
}

/* The S3 log's entries, as "fault/status" strings joined by spaces. */
static void log_summary(const struct standin *si, char *out, size_t n)
{
  json_t *log = standin_s3_log(si);
  const json_t *st;
  json_t *e;
  size_t used = 0;
  size_t i;

  out[0] = '\0';
  json_array_foreach(log, i, e)
  {
    st = json_object_get(e, "status");
    used += (size_t)snprintf(
        out + used, n - used, "%s%s/%s", i ? " " : "",
        json_is_string(json_object_get(e, "fault"))
            ? json_string_value(json_object_get(e, "fault"))
            : "-",
        json_is_integer(st) ? (json_integer_value(st) == 200 ? "200" : "err")
                            : json_string_value(st));
    if (used >= n)
      break;
  }
  json_decref(log);
}

/* faults: a JSON array for the stand-in's queue. */
static void check_retried_once(const char *faults, const char *want_log)
{
  char got[256];
  struct s3fx f;
  struct s3got g;

  s3fx_init(&f, NULL, NULL);
  standin_inject(&f.si, faults, "s3:put");
  put_buf(&f, "k", &g);
  if (g.outcome != S3_OK)
    fprintf(stderr, "%s: %s\n", faults, g.err.msg);
  CHECK_EQ_INT(g.outcome, S3_OK);
  CHECK_EQ_INT(g.attempts, 2);
  log_summary(&f.si, got, sizeof(got));
  CHECK_EQ_STR(got, want_log);
  CHECK(standin_has(&f.si, STANDIN_BUCKET, "k"));
  s3got_free(&g);
  s3fx_done(&f);
}

static void test_slow_down_is_retried(void)
{
  check_retried_once("[\"503\"]", "503/err -/200");
}

static void test_internal_error_is_retried(void)
{
  check_retried_once("[\"500\"]", "500/err -/200");
}

static void test_request_timeout_is_retried(void)
{
  check_retried_once("[\"request_timeout\"]", "request_timeout/err -/200");
}

static void test_reset_is_retried(void)
{
  check_retried_once("[\"reset\"]", "reset/reset -/200");
}

/* The write happened but its answer was lost: PutObject is idempotent,
 * so the retry writes the same bytes again. */
static void test_lost_response_is_retried(void)
{
  check_retried_once("[\"lost\"]", "lost/reset -/200");
}

static void test_conditional_conflict_is_retried(void)
{
  check_retried_once("[\"conflict\"]", "conflict/err -/200");
}

static void test_expired_token_gets_new_credentials(void)
{
  check_retried_once("[{\"fault\": \"error\", \"status\": 400, \"code\": "
                     "\"ExpiredToken\", \"message\": \"expired\"}]",
                     "error/err -/200");
}

/* If-None-Match whose first answer is lost: the retry finds the
 * object it wrote itself, and the result says it is unsure. */
static void test_lost_conditional_write_is_unsure(void)
{
  struct s3_put_opts po = {0};
  struct cfw_err err = {0};
  struct s3fx f;
  struct s3got g = {0};

  s3fx_init(&f, NULL, NULL);
  standin_inject(&f.si, "[\"lost\"]", "s3:put");
  po.if_none_match = true;
  g.f = &f;
  CHECK_EQ_INT(s3_put_buf(f.s3, "state/lock", "mine", 4, &po, s3got_on_result,
                          &g, NULL, &err),
               0);
  s3fx_run(&f, 1);
  CHECK_EQ_INT(g.outcome, S3_PRECONDITION);
  CHECK(g.unsure);
  CHECK_EQ_INT(g.attempts, 2);
  s3got_free(&g);
  memset(&g, 0, sizeof(g));
  g.f = &f;
  CHECK_EQ_INT(s3_put_buf(f.s3, "state/lock", "again", 5, &po, s3got_on_result,
                          &g, NULL, &err),
               0);
  s3fx_run(&f, 2);
  CHECK_EQ_INT(g.outcome, S3_PRECONDITION);
  CHECK(!g.unsure);
  s3got_free(&g);
  s3fx_done(&f);
}

static void test_hang_times_out_and_is_retried(void)
{
  struct s3_client_opts o = {0};
  struct s3fx f;
  struct s3got g;

  /* Long enough for a loaded stand-in to answer the retry in time;
   * the hang outlasts it threefold. */
  o.request_timeout_ms = 2000;
  s3fx_init(&f, NULL, &o);
  standin_inject(&f.si, "[{\"fault\": \"hang\", \"seconds\": 6}]", "s3:put");
  put_buf(&f, "k", &g);
  CHECK_EQ_INT(g.outcome, S3_OK);
  CHECK_EQ_INT(g.attempts, 2);
  s3got_free(&g);
  s3fx_done(&f);
}

/* A 2xx whose document cannot be read is asked again. */
static void test_garbled_answer_is_retried(void)
{
  struct cfw_err err = {0};
  struct s3fx f;
  struct s3got g = {0};

  s3fx_init(&f, NULL, NULL);
  standin_inject(&f.si, "[\"garbage\"]", "s3:list");
  g.f = &f;
  CHECK_EQ_INT(s3_list(f.s3, NULL, NULL, s3got_on_result, &g, NULL, &err), 0);
  s3fx_run(&f, 1);
  CHECK_EQ_INT(g.outcome, S3_OK);
  CHECK_EQ_INT(g.attempts, 2);
  s3got_free(&g);
  s3fx_done(&f);
}

static void test_transient_errors_give_up_at_the_deadline(void)
{
  struct s3_client_opts o = {0};
  struct s3fx f;
  struct s3got g;

  o.retry_for_ms = 700;
  o.backoff_base_ms = 50;
  o.backoff_cap_ms = 100;
  s3fx_init(&f, NULL, &o);
  standin_inject(&f.si, "[{\"fault\": \"503\", \"count\": 1000}]", "s3:put");
  put_buf(&f, "k", &g);
  CHECK_EQ_INT(g.outcome, S3_GAVE_UP);
  CHECK_EQ_INT(g.err.cls, CFW_CLASS_TRANSIENT);
  CHECK_EQ_INT(g.err.code, -ETIMEDOUT);
  /* 1 s, rounded up, unless the machine is loaded enough to make the
   * last attempt itself slow; a give-up long after the deadline is not. */
  CHECK(strstr(g.err.msg, "gave up after 1 s") != NULL ||
        strstr(g.err.msg, "gave up after 2 s") != NULL);
  CHECK_CONTAINS(g.err.msg, "503 SlowDown");
  CHECK(g.attempts >= 2);
  s3got_free(&g);
  s3fx_done(&f);
}

static void check_refused(struct s3fx *f, const char *code, const char *hint)
{
  struct s3got g;

  put_buf(f, "k", &g);
  CHECK_EQ_INT(g.outcome, S3_REFUSED);
  CHECK_EQ_INT(g.err.cls, CFW_CLASS_REFUSED);
  CHECK_EQ_INT(g.attempts, 1);
  CHECK_EQ_STR(g.code, code);
  CHECK_CONTAINS(g.err.msg, code);
  CHECK_CONTAINS(g.err.msg, hint);
  s3got_free(&g);
}

static void test_access_denied_is_refused(void)
{
  struct s3fx f;

  s3fx_init(&f, NULL, NULL);
  standin_inject(&f.si, "[\"access_denied\"]", "s3:put");
  check_refused(&f, "AccessDenied", "s3:PutObject");
  s3fx_done(&f);
}

static void test_no_such_bucket_is_refused(void)
{
  struct s3_client_opts o = {0};
  struct s3fx f;

  o.bucket = "no-such-bucket";
  s3fx_init(&f, NULL, &o);
  check_refused(&f, "NoSuchBucket", "check the bucket name");
  s3fx_done(&f);
}

static void test_unknown_key_id_is_refused(void)
{
  struct s3fx f;

  s3fx_init(&f, "{\"credentials\": {\"AKIDOTHER\": \"secret\"}}", NULL);
  check_refused(&f, "InvalidAccessKeyId", "check the access key id");
  s3fx_done(&f);
}

static void test_wrong_secret_is_refused(void)
{
  struct s3fx f;

  s3fx_init(&f, "{\"credentials\": {\"" STANDIN_KEY_ID "\": \"other\"}}", NULL);
  check_refused(&f, "SignatureDoesNotMatch", "secret access key");
  s3fx_done(&f);
}

/* The bucket is in eu-west-1; the client was told us-east-1.  It
 * follows the region S3 names, and signs for it from then on. */
static void test_wrong_region_is_followed(void)
{
  struct s3_client_opts o = {0};
  struct s3fx f;
  struct s3got g;
  json_t *log;

  o.bucket = "eu-site";
  s3fx_init(&f, NULL, &o);
  standin_post(&f.si, "s3/buckets",
               "{\"name\": \"eu-site\", \"region\": \"eu-west-1\"}");
  put_buf(&f, "k", &g);
  CHECK_EQ_INT(g.outcome, S3_OK);
  CHECK_EQ_INT(g.attempts, 2);
  CHECK_EQ_STR(s3_client_region(f.s3), "eu-west-1");
  s3got_free(&g);
  put_buf(&f, "k2", &g);
  CHECK_EQ_INT(g.attempts, 1);
  log = standin_s3_log(&f.si);
  REQUIRE(json_array_size(log) == 3);
  CHECK_EQ_STR(
      json_string_value(json_object_get(json_array_get(log, 0), "auth_error")),
      "AuthorizationHeaderMalformed");
  json_decref(log);
  CHECK(standin_has(&f.si, "eu-site", "k2"));
  s3got_free(&g);
  s3fx_done(&f);
}

/* A 301 that names no region cannot be followed: the user is told to
 * set it. */
static void test_redirect_without_region_is_refused(void)
{
  struct s3fx f;

  s3fx_init(&f, NULL, NULL);
  standin_inject(&f.si,
                 "[{\"fault\": \"error\", \"status\": 301, \"code\": "
                 "\"PermanentRedirect\", \"message\": \"The bucket you are "
                 "attempting to access must be addressed using the "
                 "specified endpoint.\"}]",
                 "s3:put");
  check_refused(&f, "PermanentRedirect", "set region");
  s3fx_done(&f);
}

struct cancel_run {
  struct s3fx *f;
  struct s3_op *op;
  uv_timer_t timer;
  struct s3got g;
};

static void cancel_on_timer(uv_timer_t *t)
{
  struct cancel_run *c = container_of(t, struct cancel_run, timer);

  s3_cancel(c->op);
  CHECK(c->g.called); /* inside s3_cancel */
  uv_close((uv_handle_t *)&c->timer, NULL);
}

static void run_cancel(const char *faults, uint64_t base_ms)
{
  struct s3_client_opts o = {0};
  struct cfw_err err = {0};
  struct cancel_run c = {0};
  struct s3fx f;

  o.backoff_base_ms = base_ms;
  o.backoff_cap_ms = base_ms;
  s3fx_init(&f, NULL, &o);
  standin_inject(&f.si, faults, "s3:put");
  c.f = &f;
  c.g.f = &f;
  CHECK_EQ_INT(
      s3_put_buf(f.s3, "k", "x", 1, NULL, s3got_on_result, &c.g, &c.op, &err),
      0);
  CHECK_EQ_INT(uv_timer_init(&f.loop, &c.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&c.timer, cancel_on_timer, 300, 0), 0);
  s3fx_run(&f, 1);
  CHECK_EQ_INT(c.g.outcome, S3_CANCELLED);
  CHECK_EQ_INT(c.g.err.code, -ECANCELED);
  CHECK_EQ_INT(c.g.err.cls, CFW_CLASS_TRANSIENT);
  s3got_free(&c.g);
  s3fx_done(&f);
}

static void test_cancel_aborts_a_request_in_flight(void)
{
  run_cancel("[{\"fault\": \"hold\", \"seconds\": 5}]", 0);
}

static void test_cancel_stops_a_backoff(void)
{
  run_cancel("[\"503\"]", 10000);
}

/* Destroying the client ends every call it still has. */
static void test_destroy_ends_pending_calls(void)
{
  struct cfw_err err = {0};
  struct s3got g[2] = {{0}};
  struct s3fx f;

  s3fx_init(&f, NULL, NULL);
  standin_inject(&f.si, "[{\"fault\": \"hold\", \"seconds\": 5}]", "s3:put");
  CHECK_EQ_INT(
      s3_put_buf(f.s3, "a", "x", 1, NULL, s3got_on_result, &g[0], NULL, &err),
      0);
  CHECK_EQ_INT(s3_head(f.s3, "b", s3got_on_result, &g[1], NULL, &err), 0);
  s3_client_destroy(f.s3);
  f.s3 = NULL;
  CHECK(g[0].called && g[1].called);
  CHECK_EQ_INT(g[0].outcome, S3_CANCELLED);
  CHECK_EQ_INT(g[1].outcome, S3_CANCELLED);
  s3got_free(&g[0]);
  s3got_free(&g[1]);
  s3fx_done(&f);
}

TEST_MAIN(TEST(test_slow_down_is_retried), TEST(test_internal_error_is_retried),
          TEST(test_request_timeout_is_retried), TEST(test_reset_is_retried),
          TEST(test_lost_response_is_retried),
          TEST(test_conditional_conflict_is_retried),
          TEST(test_expired_token_gets_new_credentials),
          TEST(test_lost_conditional_write_is_unsure),
          TEST(test_hang_times_out_and_is_retried),
          TEST(test_garbled_answer_is_retried),
          TEST(test_transient_errors_give_up_at_the_deadline),
          TEST(test_access_denied_is_refused),
          TEST(test_no_such_bucket_is_refused),
          TEST(test_unknown_key_id_is_refused),
          TEST(test_wrong_secret_is_refused),
          TEST(test_wrong_region_is_followed),
          TEST(test_redirect_without_region_is_refused),
          TEST(test_cancel_aborts_a_request_in_flight),
          TEST(test_cancel_stops_a_backoff),
          TEST(test_destroy_ends_pending_calls))
