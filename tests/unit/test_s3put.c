/* SPDX-License-Identifier: MIT */
#include "s3put.h"

#include "looplag.h"
#include "s3_fixture.h"
#include "s3mpu.h"
#include "test.h"

/* The bounded-parallel uploader against the stand-in. */

#define MIB      ((uint64_t)1 << 20)
#define MAX_OBJS 16

struct put_run {
  struct s3fx f;
  struct s3put_object objs[MAX_OBJS];
  char keys[MAX_OBJS][64];
  char paths[MAX_OBJS][512];
  char hex[MAX_OBJS][65];
  size_t n;
  struct s3put_report reps[MAX_OBJS];
  int reported[MAX_OBJS];
  bool done;
  struct s3put_summary sum;
  struct s3put *p;
};

static void run_on_object(size_t index, const struct s3put_report *rep,
                          void *arg)
{
  struct put_run *run = arg;

  REQUIRE(index < run->n);
  run->reported[index]++;
  run->reps[index] = *rep;
}

static void run_on_done(struct s3put *p, const struct s3put_summary *s,
                        void *arg)
{
  struct put_run *run = arg;

  (void)p; /* freed after this returns */
  CHECK(!run->done);
  run->done = true;
  run->sum = *s;
  run->f.n_done++;
}

/* Adds a file of size bytes as object "o/NN". */
static void add_file(struct put_run *run, uint64_t size)
{
  size_t i = run->n++;
  char name[32];

  REQUIRE(i < MAX_OBJS);
  (void)snprintf(name, sizeof(name), "f%02zu", i);
  (void)snprintf(run->keys[i], sizeof(run->keys[i]), "o/%02zu", i);
  (void)snprintf(run->paths[i], sizeof(run->paths[i]), "%s/%s", run->f.tmp,
                 name);
  close(s3fx_file(&run->f, name, size, run->objs[i].sha256, run->hex[i]));
  run->objs[i].key = run->keys[i];
  run->objs[i].path = run->paths[i];
  run->objs[i].size = size;
}

static void run_start(struct put_run *run, unsigned parallel,
                      uint64_t threshold)
{
  struct s3put_opts o = {0};
  struct cfw_err err = {0};

  o.s3 = run->f.s3;
  o.loop = &run->f.loop;
  o.parallel = parallel;
  o.multipart_threshold = threshold;
  o.part_size = threshold != 0 ? 5 * MIB : 0;
  o.objs = run->objs;
  o.n = run->n;
  o.on_object = run_on_object;
  o.on_done = run_on_done;
  o.arg = run;
  CHECK_EQ_INT(s3put_start(&run->p, &o, &err), 0);
}

static void check_each_reported_once(const struct put_run *run)
{
  size_t i;

  for (i = 0; i < run->n; i++)
    CHECK_EQ_INT(run->reported[i], 1);
}

static void test_uploads_every_object_and_reports_each(void)
{
  struct put_run run = {0};
  json_t *o;
  size_t i;

  s3fx_init(&run.f, NULL, NULL);
  for (i = 0; i < 9; i++)
    add_file(&run, 1000 * i);
  add_file(&run, 11 * MIB);
  run_start(&run, 3, 6 * MIB);
  s3fx_run(&run.f, 1);
  check_each_reported_once(&run);
  CHECK_EQ_INT(run.sum.outcome, S3_OK);
  CHECK_EQ_INT(run.sum.uploaded, 10);
  CHECK_EQ_INT(run.sum.failed + run.sum.changed + run.sum.cancelled, 0);
  CHECK_EQ_INT(run.sum.bytes, 36000 + 11 * MIB);
  CHECK(run.reps[9].multipart);
  CHECK(!run.reps[8].multipart);
  for (i = 0; i < run.n; i++) {
    CHECK_EQ_INT(run.reps[i].outcome, S3_OK);
    o = standin_object(&run.f.si, STANDIN_BUCKET, run.keys[i]);
    REQUIRE(o != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "sha256")), run.hex[i]);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "etag")),
                 run.reps[i].etag);
    json_decref(o);
  }
  s3fx_done(&run.f);
}

/* Milliseconds of the day of a log entry's "time" (...THH:MM:SS.mmmZ). */
static int64_t entry_ms(const json_t *e)
{
  const char *t = json_string_value(json_object_get(e, "time"));
  int h = 0;
  int m = 0;
  int s = 0;
  int ms = 0;

  REQUIRE(t != NULL && strlen(t) >= 23);
  REQUIRE(sscanf(t + 11, "%2d:%2d:%2d.%3d", &h, &m, &s, &ms) == 4);
  return ((int64_t)h * 3600 + m * 60 + s) * 1000 + ms;
}

/* The most requests the stand-in was handling at once, from each
 * request's arrival and duration. */
static int max_overlap(const struct standin *si)
{
  json_t *log = standin_s3_log(si);
  int64_t start[64];
  int64_t end[64];
  size_t n = json_array_size(log);
  size_t i;
  size_t j;
  int most = 0;
  int now;

  REQUIRE(n <= 64);
  for (i = 0; i < n; i++) {
    start[i] = entry_ms(json_array_get(log, i));
    end[i] = start[i] + json_integer_value(json_object_get(
                            json_array_get(log, i), "duration_ms"));
  }
  for (i = 0; i < n; i++) {
    for (now = 0, j = 0; j < n; j++)
      now += start[j] <= start[i] && start[i] < end[j];
    most = now > most ? now : most;
  }
  json_decref(log);
  return most;
}

static void test_never_more_than_n_in_flight(void)
{
  struct put_run run = {0};
  size_t i;

  s3fx_init(&run.f, NULL, NULL);
  for (i = 0; i < 12; i++)
    add_file(&run, 100 + i);
  standin_inject(&run.f.si,
                 "[{\"fault\": \"hold\", \"seconds\": 0.3, \"count\": 12}]",
                 "s3:put");
  run_start(&run, 3, 0);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.sum.uploaded, 12);
  CHECK_EQ_INT(run.sum.peak, 3);
  CHECK_EQ_INT(max_overlap(&run.f.si), 3);
  /* 12 held 0.3 s each, three at a time: four rounds. */
  CHECK(run.sum.elapsed_ms >= 1200);
  s3fx_done(&run.f);
}

/* Gone, resized, or rewritten with the same size: each is "changed",
 * the first two without a request. */
static void test_changed_files_are_reported_changed(void)
{
  struct put_run run = {0};
  json_t *log;
  int fd;

  s3fx_init(&run.f, NULL, NULL);
  add_file(&run, 100);
  add_file(&run, 100);
  add_file(&run, 100);
  add_file(&run, 100);
  REQUIRE(unlink(run.paths[0]) == 0);
  run.objs[1].size = 99;
  fd = open(run.paths[2], O_WRONLY);
  REQUIRE(fd >= 0 && pwrite(fd, "zz", 2, 10) == 2 && close(fd) == 0);
  run_start(&run, 2, 0);
  s3fx_run(&run.f, 1);
  check_each_reported_once(&run);
  CHECK_EQ_INT(run.reps[0].outcome, S3_CHANGED);
  CHECK_CONTAINS(run.reps[0].err.msg, "gone since it was hashed");
  CHECK_EQ_INT(run.reps[1].outcome, S3_CHANGED);
  CHECK_CONTAINS(run.reps[1].err.msg, "size changed");
  CHECK_EQ_INT(run.reps[2].outcome, S3_CHANGED);
  CHECK_EQ_INT(run.reps[3].outcome, S3_OK);
  CHECK_EQ_INT(run.sum.outcome, S3_OK);
  CHECK_EQ_INT(run.sum.changed, 3);
  CHECK_EQ_INT(run.sum.uploaded, 1);
  log = standin_s3_log(&run.f.si);
  CHECK_EQ_INT(json_array_size(log), 2);
  json_decref(log);
  s3fx_done(&run.f);
}

static void test_refusal_stops_new_uploads(void)
{
  struct put_run run = {0};
  size_t i;

  s3fx_init(&run.f, NULL, NULL);
  standin_post(&run.f.si, "s3/buckets",
               "{\"name\": \"" STANDIN_BUCKET "\", \"refuse\": [\"s3:put\"]}");
  for (i = 0; i < 8; i++)
    add_file(&run, 10);
  run_start(&run, 2, 0);
  s3fx_run(&run.f, 1);
  check_each_reported_once(&run);
  CHECK_EQ_INT(run.sum.outcome, S3_REFUSED);
  CHECK_CONTAINS(run.sum.err.msg, "AccessDenied");
  CHECK_EQ_INT(run.sum.err.cls, CFW_CLASS_REFUSED);
  CHECK(run.sum.failed >= 1 && run.sum.failed <= 2);
  CHECK_EQ_INT(run.sum.failed + run.sum.cancelled, 8);
  CHECK_EQ_INT(run.reps[7].outcome, S3_CANCELLED);
  CHECK_CONTAINS(run.reps[7].err.msg, "not sent");
  s3fx_done(&run.f);
}

static void cancel_now(void *arg)
{
  s3put_cancel(arg);
}

/* Cancelled with puts in flight (held by the stand-in for 8 s) and a
 * multipart upload created: everything ends at once, well before the
 * holds would, the multipart upload is aborted before on_done, the rest
 * is never sent. */
static void test_cancel_ends_everything(void)
{
  struct put_run run = {0};
  struct s3fx_when w;
  json_t *j;
  size_t i;

  s3fx_init(&run.f, NULL, NULL);
  add_file(&run, 11 * MIB);
  for (i = 0; i < 5; i++)
    add_file(&run, 10);
  standin_inject(&run.f.si,
                 "[{\"fault\": \"hold\", \"seconds\": 8, \"action\": "
                 "\"UploadPart\"}]",
                 "s3:multipart");
  standin_inject(&run.f.si,
                 "[{\"fault\": \"hold\", \"seconds\": 8, \"count\": 5}]",
                 "s3:put");
  run_start(&run, 2, 6 * MIB);
  s3fx_when_uploading(&run.f, &w, false, cancel_now, run.p);
  s3fx_run(&run.f, 1);
  check_each_reported_once(&run);
  CHECK_EQ_INT(run.sum.outcome, S3_CANCELLED);
  CHECK_EQ_INT(run.sum.cancelled, 6);
  CHECK(run.sum.elapsed_ms < 6000);
  j = standin_json(&run.f.si, "GET", "s3/uploads?bucket=" STANDIN_BUCKET, NULL);
  CHECK_EQ_INT(json_array_size(json_object_get(j, "uploads")), 0);
  json_decref(j);
  CHECK(run.reps[0].multipart);
  CHECK_EQ_INT(run.reps[0].outcome, S3_CANCELLED);
  CHECK_EQ_INT(run.reps[1].outcome, S3_CANCELLED);
  CHECK_CONTAINS(run.reps[5].err.msg, "not sent: cancelled");
  s3fx_done(&run.f);
}

static void test_empty_list_is_done_at_once(void)
{
  struct put_run run = {0};

  s3fx_init(&run.f, NULL, NULL);
  run_start(&run, 0, 0);
  CHECK(!run.done); /* never from inside s3put_start */
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.sum.outcome, S3_OK);
  CHECK_EQ_INT(run.sum.uploaded, 0);
  s3fx_done(&run.f);
}

/* A 10 ms timer keeps ticking on time while 200 MiB go up (multipart,
 * the default threshold and part size): reading, hashing and TLS never
 * hold the loop. */
static void test_loop_never_stalls_during_a_large_upload(void)
{
  struct put_run run = {0};
  struct looplag l = {0};

  s3fx_init(&run.f, NULL, NULL);
  add_file(&run, 200 * MIB);
  CHECK_EQ_INT(looplag_start(&l, &run.f.loop), 0);
  run_start(&run, 0, 0);
  s3fx_run(&run.f, 1);
  looplag_stop(&l);
  CHECK(fprintf(stderr,
                "200 MiB in %llu ms (%u requests); loop lag: max gap "
                "%.1f ms, of which outside the poll %.1f ms, over %u "
                "ticks\n",
                (unsigned long long)run.sum.elapsed_ms, run.sum.requests,
                (double)l.max_gap_ns / 1e6, (double)l.max_busy_ns / 1e6,
                l.ticks) > 0);
  CHECK_EQ_INT(run.sum.outcome, S3_OK);
  CHECK(run.reps[0].multipart);
  CHECK_EQ_INT(run.sum.requests,
               2 + (200 * MIB + S3MPU_PART_SIZE - 1) / S3MPU_PART_SIZE);
  CHECK(l.max_busy_ns < 100 * 1000000ULL);
  s3fx_done(&run.f);
}

TEST_MAIN(TEST(test_uploads_every_object_and_reports_each),
          TEST(test_never_more_than_n_in_flight),
          TEST(test_changed_files_are_reported_changed),
          TEST(test_refusal_stops_new_uploads),
          TEST(test_cancel_ends_everything),
          TEST(test_empty_list_is_done_at_once),
          TEST(test_loop_never_stalls_during_a_large_upload))
