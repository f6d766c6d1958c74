/* SPDX-License-Identifier: MIT */
#include "s3state.h"

#include "s3_fixture.h"
#include "test.h"

/* The state's objects in S3, against the stand-in's conditional
 * writes (tests/standin/README.md, "Conditional writes"). */

struct st_run {
  struct s3fx f;
  struct s3state *st;
  struct s3state_result r; /* the last result, body taken */
  char *body;
  size_t body_len;
};

static void st_on_result(struct s3state_result *r, void *arg)
{
  struct st_run *run = arg;

  free(run->body);
  run->r = *r;
  run->body_len = r->body.len;
  run->body = buf_take(&r->body);
  memset(&run->r.body, 0, sizeof(run->r.body));
  /* The seqs are the call's: keep a copy. */
  run->r.seqs = calloc(r->n_seqs + 1, sizeof(*r->seqs));
  REQUIRE(run->r.seqs != NULL);
  if (r->n_seqs > 0)
    memcpy(run->r.seqs, r->seqs, r->n_seqs * sizeof(*r->seqs));
  run->f.n_done++;
}

static void st_init(struct st_run *run, const char *prefix)
{
  struct s3state_opts o = {0};
  struct cfw_err err = {0};

  memset(run, 0, sizeof(*run));
  s3fx_init(&run->f, NULL, NULL);
  o.s3 = run->f.s3;
  o.prefix = prefix;
  o.host = "test-host";
  REQUIRE(s3state_new(&run->st, &o, &err) == 0);
}

static void st_reset(struct st_run *run)
{
  free(run->r.seqs);
  memset(&run->r, 0, sizeof(run->r));
  run->f.n_done = 0;
}

static void st_done(struct st_run *run)
{
  st_reset(run);
  free(run->body);
  s3state_destroy(run->st);
  s3fx_done(&run->f);
}

static enum s3state_outcome st_put(struct st_run *run, uint64_t seq,
                                   const char *data)
{
  struct cfw_err err = {0};

  st_reset(run);
  REQUIRE(s3state_put_record(run->st, seq, data, strlen(data), st_on_result,
                             run, &err) == 0);
  s3fx_run(&run->f, 1);
  return run->r.outcome;
}

static enum s3state_outcome st_snap(struct st_run *run, const char *etag,
                                    const char *data)
{
  struct cfw_err err = {0};

  st_reset(run);
  REQUIRE(s3state_put_snapshot(run->st, etag, data, strlen(data), st_on_result,
                               run, &err) == 0);
  s3fx_run(&run->f, 1);
  return run->r.outcome;
}

static enum s3state_outcome st_get(struct st_run *run, uint64_t seq)
{
  struct cfw_err err = {0};

  st_reset(run);
  REQUIRE(s3state_get(run->st, seq, 0, st_on_result, run, &err) == 0);
  s3fx_run(&run->f, 1);
  return run->r.outcome;
}

static void st_list(struct st_run *run, uint64_t after)
{
  struct cfw_err err = {0};

  st_reset(run);
  REQUIRE(s3state_list(run->st, after, st_on_result, run, &err) == 0);
  s3fx_run(&run->f, 1);
  CHECK_EQ_INT(run->r.outcome, S3STATE_OK);
}

static void test_record_is_created_once_then_conflicts(void)
{
  struct st_run run;

  st_init(&run, "site/a/");
  CHECK_EQ_INT(st_put(&run, 1, "record one"), S3STATE_OK);
  CHECK(!run.r.lost_reply);
  CHECK_EQ_INT(run.r.requests, 1);
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET,
                    "site/a/journal/00000000000000000001"));
  /* Another writer's record 1: a 412, then a GET that shows other bytes. */
  CHECK_EQ_INT(st_put(&run, 1, "someone else"), S3STATE_CONFLICT);
  CHECK_EQ_INT(run.r.requests, 2);
  CHECK_CONTAINS(run.r.err.msg, "another writer");
  CHECK_EQ_INT(st_get(&run, 1), S3STATE_OK);
  CHECK_EQ_INT(run.body_len, strlen("record one"));
  CHECK(memcmp(run.body, "record one", run.body_len) == 0);
  CHECK_CONTAINS(run.r.who, "test-host pid ");
  CHECK(strncmp(run.r.at, "20", 2) == 0);
  st_done(&run);
}

/* The write is done, its answer lost; the retry gets 412 for our own
 * object, which must not look like someone else's. */
static void test_lost_reply_after_create_is_ours(void)
{
  struct st_run run;

  st_init(&run, "p");
  standin_inject(&run.f.si, "[\"lost\"]", "s3:put");
  CHECK_EQ_INT(st_put(&run, 7, "mine"), S3STATE_OK);
  CHECK(run.r.lost_reply);
  CHECK_EQ_INT(run.r.requests, 3); /* lost, 412, GET */
  CHECK(run.r.etag[0] != '\0');
  CHECK_EQ_INT(st_get(&run, 7), S3STATE_OK);
  CHECK(run.body_len == 4 && memcmp(run.body, "mine", 4) == 0);
  st_done(&run);
}

static void test_transient_failures_are_retried(void)
{
  struct st_run run;
  json_t *log;

  st_init(&run, "p");
  standin_inject(&run.f.si, "[\"503\", \"reset\", \"conflict\"]", "s3:put");
  CHECK_EQ_INT(st_put(&run, 1, "r1"), S3STATE_OK);
  CHECK(!run.r.lost_reply);
  /* libcurl resends on a reused connection that was reset without
   * telling us, so the stand-in's log is the one to count. */
  log = standin_s3_log(&run.f.si);
  CHECK_EQ_INT(json_array_size(log), 4);
  json_decref(log);
  CHECK(run.r.requests >= 3);
  st_done(&run);
}

static void test_refusal_fails_with_its_class(void)
{
  struct st_run run;

  st_init(&run, "p");
  standin_inject(&run.f.si, "[\"access_denied\"]", "s3:put");
  CHECK_EQ_INT(st_put(&run, 1, "r1"), S3STATE_FAILED);
  CHECK_EQ_INT(run.r.err.cls, CFW_CLASS_REFUSED);
  CHECK(!standin_has(&run.f.si, STANDIN_BUCKET,
                     "p/journal/00000000000000000001"));
  st_done(&run);
}

static void test_list_gives_records_after_and_snapshot(void)
{
  char etag[S3_ETAG_MAX + 1];
  struct st_run run;

  st_init(&run, "p");
  st_list(&run, 0);
  CHECK_EQ_INT(run.r.n_seqs, 0);
  CHECK_EQ_STR(run.r.snapshot_etag, "");
  CHECK_EQ_INT(st_snap(&run, NULL, "snap"), S3STATE_OK);
  str_copy(etag, sizeof(etag), run.r.etag);
  CHECK_EQ_INT(st_put(&run, 1, "a"), S3STATE_OK);
  CHECK_EQ_INT(st_put(&run, 2, "b"), S3STATE_OK);
  CHECK_EQ_INT(st_put(&run, 10, "c"), S3STATE_OK);
  /* Not ours: ignored. */
  standin_post(&run.f.si, "s3/objects",
               "{\"bucket\": \"" STANDIN_BUCKET "\", \"objects\": "
               "[{\"key\": \"p/other\", \"text\": \"x\"}]}");
  st_list(&run, 1);
  CHECK_EQ_INT(run.r.requests, 1);
  REQUIRE(run.r.n_seqs == 2);
  CHECK_EQ_INT(run.r.seqs[0], 2);
  CHECK_EQ_INT(run.r.seqs[1], 10);
  CHECK_EQ_STR(run.r.snapshot_etag, etag);
  st_list(&run, 0);
  CHECK_EQ_INT(run.r.n_seqs, 3);
  st_list(&run, 10);
  CHECK_EQ_INT(run.r.n_seqs, 0);
  CHECK_EQ_STR(run.r.snapshot_etag, etag);
  st_done(&run);
}

static void test_snapshot_is_replaced_only_over_its_etag(void)
{
  char first[S3_ETAG_MAX + 1];
  char second[S3_ETAG_MAX + 1];
  struct st_run run;

  st_init(&run, "");
  CHECK_EQ_INT(st_snap(&run, NULL, "v1"), S3STATE_OK);
  str_copy(first, sizeof(first), run.r.etag);
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET, "manifest"));
  CHECK_EQ_INT(st_snap(&run, NULL, "v1 again"), S3STATE_CONFLICT);
  CHECK_EQ_INT(st_snap(&run, first, "v2"), S3STATE_OK);
  str_copy(second, sizeof(second), run.r.etag);
  CHECK(strcmp(first, second) != 0);
  /* A writer that read v1 cannot replace v2. */
  CHECK_EQ_INT(st_snap(&run, first, "v2 from a stale writer"),
               S3STATE_CONFLICT);
  /* Replacing v2, the answer lost: the retry's 412 is ours. */
  standin_inject(&run.f.si, "[\"lost\"]", "s3:put");
  CHECK_EQ_INT(st_snap(&run, second, "v3"), S3STATE_OK);
  CHECK(run.r.lost_reply);
  CHECK_EQ_INT(st_get(&run, 0), S3STATE_OK);
  CHECK(run.body_len == 2 && memcmp(run.body, "v3", 2) == 0);
  st_done(&run);
}

static void test_missing_object_is_not_found(void)
{
  struct st_run run;

  st_init(&run, "p");
  CHECK_EQ_INT(st_get(&run, 3), S3STATE_NOT_FOUND);
  CHECK_EQ_INT(st_get(&run, 0), S3STATE_NOT_FOUND);
  /* Replacing a snapshot that was removed: the state moved. */
  CHECK_EQ_INT(st_snap(&run, "\"0123\"", "v"), S3STATE_CONFLICT);
  st_done(&run);
}

static void test_destroy_ends_the_call(void)
{
  struct cfw_err err = {0};
  struct st_run run;

  st_init(&run, "p");
  standin_inject(&run.f.si, "[{\"fault\": \"hold\", \"seconds\": 2}]",
                 "s3:put");
  REQUIRE(s3state_put_record(run.st, 1, "x", 1, st_on_result, &run, &err) == 0);
  s3state_destroy(run.st);
  run.st = NULL;
  CHECK_EQ_INT(run.f.n_done, 1);
  CHECK_EQ_INT(run.r.outcome, S3STATE_FAILED);
  st_done(&run);
}

/* 1,200 records and the snapshot; a trim below 1,101 lists two pages
 * (the second holds a record kept) and deletes in two calls, the
 * second of the 100 past S3_DELETE_MAX. */
static void test_trim_deletes_the_records_before_in_batches(void)
{
  struct cfw_err err = {0};
  struct buf b;
  struct st_run run;
  int i;

  st_init(&run, "p");
  buf_init(&b, (size_t)1 << 20);
  REQUIRE(buf_addf(&b,
                   "{\"bucket\": \"%s\", \"objects\": ["
                   "{\"key\": \"p/manifest\", \"text\": \"s\"}",
                   STANDIN_BUCKET) == 0);
  for (i = 1; i <= 1200; i++)
    REQUIRE(buf_addf(&b, ",{\"key\": \"p/journal/%020d\", \"text\": \"r\"}",
                     i) == 0);
  REQUIRE(buf_adds(&b, "]}") == 0);
  standin_post(&run.f.si, "s3/objects", buf_str(&b));
  buf_free(&b);
  st_reset(&run);
  REQUIRE(s3state_trim(run.st, 1101, st_on_result, &run, &err) == 0);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.r.outcome, S3STATE_OK);
  CHECK_EQ_INT(run.r.n_seqs, 1100);
  CHECK_EQ_INT(run.r.requests, 4); /* 2 lists, 2 deletes */
  CHECK_EQ_INT(standin_count(&run.f.si, STANDIN_BUCKET), 101);
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET, "p/manifest"));
  CHECK(
      standin_has(&run.f.si, STANDIN_BUCKET, "p/journal/00000000000000001101"));
  CHECK(!standin_has(&run.f.si, STANDIN_BUCKET,
                     "p/journal/00000000000000001100"));
  st_done(&run);
}

TEST_MAIN(TEST(test_record_is_created_once_then_conflicts),
          TEST(test_lost_reply_after_create_is_ours),
          TEST(test_transient_failures_are_retried),
          TEST(test_refusal_fails_with_its_class),
          TEST(test_list_gives_records_after_and_snapshot),
          TEST(test_snapshot_is_replaced_only_over_its_etag),
          TEST(test_missing_object_is_not_found),
          TEST(test_destroy_ends_the_call),
          TEST(test_trim_deletes_the_records_before_in_batches))
