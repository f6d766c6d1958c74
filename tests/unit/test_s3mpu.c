/* SPDX-License-Identifier: MIT */
#include "s3mpu.h"

#include "s3_fixture.h"
#include "test.h"

/* Multipart uploads against the stand-in, with parts of S3's minimum
 * (5 MiB) so that a file of a few parts stays small. */

#define MIB       ((uint64_t)1 << 20)
#define FILE_SIZE (12 * MIB + 5) /* parts of 5, 5 and 2 MiB + 5 */

struct mpu_got {
  struct s3fx *f;
  bool called;
  struct s3mpu_result r;
};

static void mpu_on_done(struct s3mpu *m, struct s3mpu_result *r, void *arg)
{
  struct mpu_got *g = arg;

  (void)m; /* freed after this returns */
  CHECK(!g->called);
  g->called = true;
  g->r = *r;
  g->f->n_done++;
}

struct mpu_run {
  struct s3fx f;
  unsigned char md[32];
  char hex[65];
  int fd;
  struct s3mpu *m;
  struct mpu_got g;
};

static void run_init(struct mpu_run *run, const char *config)
{
  memset(run, 0, sizeof(*run));
  s3fx_init(&run->f, config, NULL);
  run->fd = s3fx_file(&run->f, "big", FILE_SIZE, run->md, run->hex);
  run->g.f = &run->f;
}

static void run_start(struct mpu_run *run, const struct s3_put_opts *po)
{
  struct s3mpu_opts o = {0};
  struct cfw_err err = {0};

  o.s3 = run->f.s3;
  o.loop = &run->f.loop;
  o.key = "media/big.bin";
  o.fd = run->fd;
  o.size = FILE_SIZE;
  o.sha256 = run->md;
  o.po = po;
  o.part_size = 5 * MIB;
  CHECK_EQ_INT(s3mpu_start(&run->m, &o, mpu_on_done, &run->g, &err), 0);
  CHECK_EQ_STR(err.msg, "");
}

static void run_done(struct mpu_run *run)
{
  close(run->fd);
  s3fx_done(&run->f);
}

/* The S3 actions of the log, one letter each: Create, Part, Complete,
 * Abort; a fault is written in brackets after its request. */
static void actions(const struct standin *si, char *out, size_t n)
{
  json_t *log = standin_s3_log(si);
  const char *a;
  json_t *e;
  size_t used = 0;
  size_t i;

  out[0] = '\0';
  json_array_foreach(log, i, e)
  {
    a = json_string_value(json_object_get(e, "action"));
    used += (size_t)snprintf(out + used, n - used, "%c%s",
                             strcmp(a, "CreateMultipartUpload") == 0     ? 'C'
                             : strcmp(a, "UploadPart") == 0              ? 'P'
                             : strcmp(a, "CompleteMultipartUpload") == 0 ? 'D'
                             : strcmp(a, "AbortMultipartUpload") == 0    ? 'A'
                                                                         : '?',
                             json_is_string(json_object_get(e, "fault")) ? "!"
                                                                         : "");
    if (used >= n)
      break;
  }
  json_decref(log);
}

static size_t uploads_left(const struct standin *si)
{
  json_t *j =
      standin_json(si, "GET", "s3/uploads?bucket=" STANDIN_BUCKET, NULL);
  size_t n = json_array_size(json_object_get(j, "uploads"));

  json_decref(j);
  return n;
}

static void test_parts_checksums_and_whole_file(void)
{
  struct s3_put_opts po = {0};
  struct mpu_run run;
  char got[64];
  json_t *o;

  run_init(&run, NULL);
  po.content_type = "video/mp4";
  run_start(&run, &po);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.g.r.outcome, S3_OK);
  CHECK_EQ_STR(run.g.r.err.msg, "");
  CHECK_EQ_INT(run.g.r.parts, 3);
  CHECK_EQ_INT(run.g.r.requests, 5);
  CHECK_CONTAINS(run.g.r.etag, "-3\"");
  CHECK_CONTAINS(run.g.r.checksum, "-3");
  actions(&run.f.si, got, sizeof(got));
  CHECK_EQ_STR(got, "CPPPD");
  o = standin_object(&run.f.si, STANDIN_BUCKET, "media/big.bin");
  REQUIRE(o != NULL);
  CHECK_EQ_STR(json_string_value(json_object_get(o, "sha256")), run.hex);
  CHECK_EQ_INT(json_integer_value(json_object_get(o, "parts")), 3);
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(o, "checksum"),
                                                 "algorithm")),
               "SHA256");
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(o, "headers"),
                                                 "content-type")),
               "video/mp4");
  json_decref(o);
  CHECK_EQ_INT(uploads_left(&run.f.si), 0);
  run_done(&run);
}

/* The file changed after the caller hashed it (but not while it was
 * sent): every part goes up, the whole-file check fails, and the upload
 * is aborted instead of completed. */
static void test_whole_file_mismatch_aborts_as_changed(void)
{
  struct mpu_run run;
  char got[64];

  run_init(&run, NULL);
  REQUIRE(pwrite(run.fd, "X", 1, 7 * MIB) == 1);
  run_start(&run, NULL);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.g.r.outcome, S3_CHANGED);
  CHECK_CONTAINS(run.g.r.err.msg, "changed since it was hashed");
  CHECK(run.g.r.aborted);
  actions(&run.f.si, got, sizeof(got));
  CHECK_EQ_STR(got, "CPPPA");
  CHECK(!standin_has(&run.f.si, STANDIN_BUCKET, "media/big.bin"));
  CHECK_EQ_INT(uploads_left(&run.f.si), 0);
  run_done(&run);
}

static void test_refused_part_aborts_the_upload(void)
{
  struct mpu_run run;
  char got[64];

  run_init(&run, NULL);
  standin_inject(&run.f.si,
                 "[{\"fault\": \"access_denied\", \"action\": \"UploadPart\"}]",
                 "s3:multipart");
  run_start(&run, NULL);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.g.r.outcome, S3_REFUSED);
  CHECK_EQ_INT(run.g.r.err.cls, CFW_CLASS_REFUSED);
  CHECK_CONTAINS(run.g.r.err.msg, "AccessDenied");
  CHECK(run.g.r.aborted);
  CHECK(!run.g.r.leftover);
  actions(&run.f.si, got, sizeof(got));
  CHECK_EQ_STR(got, "CP!A");
  CHECK_EQ_INT(uploads_left(&run.f.si), 0);
  run_done(&run);
}

/* A part and the completion fail once each; both are sent again. */
static void test_transient_failures_are_retried(void)
{
  struct mpu_run run;
  char got[64];

  run_init(&run, NULL);
  standin_inject(&run.f.si,
                 "[{\"fault\": \"503\", \"action\": \"UploadPart\"}, "
                 "{\"fault\": \"garbage\", \"action\": "
                 "\"CompleteMultipartUpload\"}]",
                 "s3:multipart");
  run_start(&run, NULL);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.g.r.outcome, S3_OK);
  CHECK_EQ_INT(run.g.r.requests, 7);
  actions(&run.f.si, got, sizeof(got));
  CHECK_EQ_STR(got, "CP!PPPD!D");
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET, "media/big.bin"));
  run_done(&run);
}

/* If-None-Match is checked at completion: the key exists, so the
 * upload is aborted. */
static void test_condition_fails_at_completion(void)
{
  struct s3_put_opts po = {0};
  struct mpu_run run;

  run_init(&run, NULL);
  standin_post(&run.f.si, "s3/object",
               "{\"bucket\": \"" STANDIN_BUCKET "\", \"key\": "
               "\"media/big.bin\", \"text\": \"old\"}");
  po.if_none_match = true;
  run_start(&run, &po);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.g.r.outcome, S3_PRECONDITION);
  CHECK(run.g.r.aborted);
  CHECK_EQ_INT(uploads_left(&run.f.si), 0);
  run_done(&run);
}

static void cancel_now(void *arg)
{
  s3mpu_cancel(arg);
}

static void test_cancel_aborts_the_upload(void)
{
  struct s3fx_when w;
  struct mpu_run run;

  run_init(&run, NULL);
  standin_inject(&run.f.si,
                 "[{\"fault\": \"hold\", \"seconds\": 5, \"action\": "
                 "\"UploadPart\"}]",
                 "s3:multipart");
  run_start(&run, NULL);
  s3fx_when_uploading(&run.f, &w, true, cancel_now, run.m);
  s3fx_run(&run.f, 1);
  CHECK_EQ_INT(run.g.r.outcome, S3_CANCELLED);
  CHECK_EQ_INT(run.g.r.err.cls, CFW_CLASS_TRANSIENT);
  CHECK(run.g.r.aborted);
  CHECK_EQ_INT(uploads_left(&run.f.si), 0);
  run_done(&run);
}

static void test_part_size_rules(void)
{
  CHECK_EQ_INT(s3mpu_part_size(100 * MIB, 0), S3MPU_PART_SIZE);
  CHECK_EQ_INT(s3mpu_part_size(100 * MIB, 1), S3MPU_MIN_PART_SIZE);
  /* 200 GiB in 16 MiB parts would be 12,800: 21 MiB parts fit 10,000. */
  CHECK_EQ_INT(s3mpu_part_size(200 * 1024 * MIB, 0), 21 * MIB);
  CHECK(200 * 1024 * MIB / s3mpu_part_size(200 * 1024 * MIB, 0) <= 10000);
}

TEST_MAIN(TEST(test_parts_checksums_and_whole_file),
          TEST(test_whole_file_mismatch_aborts_as_changed),
          TEST(test_refused_part_aborts_the_upload),
          TEST(test_transient_failures_are_retried),
          TEST(test_condition_fails_at_completion),
          TEST(test_cancel_aborts_the_upload), TEST(test_part_size_rules))
