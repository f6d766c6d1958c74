/* SPDX-License-Identifier: MIT */
#include "s3del.h"

#include "s3_fixture.h"
#include "test.h"

/* Deleting many keys, a thousand per DeleteObjects call. */

#define N_KEYS 2500

struct del_run {
  struct s3fx f;
  char names[N_KEYS][16];
  const char *keys[N_KEYS];
  int seen[N_KEYS];
  size_t kept;
  char kept_code[64];
  bool done;
  struct s3del_result r;
};

static void del_on_key(size_t index, const struct s3_delete_error *e, void *arg)
{
  struct del_run *run = arg;

  REQUIRE(index < N_KEYS);
  run->seen[index]++;
  if (e != NULL) {
    run->kept++;
    str_copy(run->kept_code, sizeof(run->kept_code), e->code);
  }
}

static void del_on_done(struct s3del *d, const struct s3del_result *r,
                        void *arg)
{
  struct del_run *run = arg;

  (void)d; /* freed after this returns */
  run->done = true;
  run->r = *r;
  run->f.n_done++;
}

/* Stores the keys p/00000... (the last ten under keep/ instead). */
static void del_init(struct del_run *run)
{
  struct buf b;
  size_t i;

  memset(run, 0, sizeof(*run));
  s3fx_init(&run->f, NULL, NULL);
  buf_init(&b, (size_t)16 << 20);
  CHECK_EQ_INT(
      buf_adds(&b, "{\"bucket\": \"" STANDIN_BUCKET "\", \"objects\": ["), 0);
  for (i = 0; i < N_KEYS; i++) {
    (void)snprintf(run->names[i], sizeof(run->names[i]), "%s/%05zu",
                   i < N_KEYS - 10 ? "p" : "keep", i);
    run->keys[i] = run->names[i];
    CHECK_EQ_INT(buf_addf(&b, "%s{\"key\": \"%s\", \"text\": \"x\"}",
                          i ? ", " : "", run->names[i]),
                 0);
  }
  CHECK_EQ_INT(buf_adds(&b, "]}"), 0);
  standin_post(&run->f.si, "s3/objects", buf_str(&b));
  buf_free(&b);
}

static void del_start(struct del_run *run)
{
  struct s3del_opts o = {0};
  struct cfw_err err = {0};
  struct s3del *d;

  o.s3 = run->f.s3;
  o.keys = run->keys;
  o.n = N_KEYS;
  o.on_key = del_on_key;
  o.on_done = del_on_done;
  o.arg = run;
  CHECK_EQ_INT(s3del_start(&d, &o, &err), 0);
  CHECK(!run->done);
  s3fx_run(&run->f, 1);
}

/* The number of keys in each DeleteObjects the stand-in saw. */
static void delete_calls(const struct standin *si, char *out, size_t n)
{
  json_t *log = standin_s3_log(si);
  json_t *e;
  size_t used = 0;
  size_t i;

  out[0] = '\0';
  json_array_foreach(log, i, e)
  {
    used +=
        (size_t)snprintf(out + used, n - used, "%s%s:%d", i ? " " : "",
                         json_string_value(json_object_get(e, "action")),
                         (int)json_integer_value(json_object_get(e, "status")));
    if (used >= n)
      break;
  }
  json_decref(log);
}

static void test_2500_keys_in_three_calls(void)
{
  struct del_run *run = calloc(1, sizeof(*run));
  char calls[512];
  size_t i;

  REQUIRE(run != NULL);
  del_init(run);
  standin_post(&run->f.si, "s3/buckets",
               "{\"name\": \"" STANDIN_BUCKET "\", \"refuse_delete\": "
               "[\"keep/\"]}");
  del_start(run);
  CHECK_EQ_INT(run->r.outcome, S3_OK);
  CHECK_EQ_INT(run->r.calls, 3);
  CHECK_EQ_INT(run->r.deleted, N_KEYS - 10);
  CHECK_EQ_INT(run->r.kept, 10);
  CHECK_EQ_INT(run->kept, 10);
  CHECK_EQ_STR(run->kept_code, "AccessDenied");
  for (i = 0; i < N_KEYS; i++)
    CHECK_EQ_INT(run->seen[i], 1);
  delete_calls(&run->f.si, calls, sizeof(calls));
  CHECK_EQ_STR(calls, "DeleteObjects:200 DeleteObjects:200 DeleteObjects:200");
  CHECK_EQ_INT(standin_count(&run->f.si, STANDIN_BUCKET), 10);
  s3fx_done(&run->f);
  free(run);
}

/* The second call is refused (the fault is queued as the first call's
 * last key is reported): the first thousand keys are reported deleted,
 * the rest not at all, and no third call is made. */
static void on_key_then_refuse(size_t index, const struct s3_delete_error *e,
                               void *arg)
{
  struct del_run *run = arg;

  del_on_key(index, e, arg);
  if (index == S3_DELETE_MAX - 1)
    standin_inject(&run->f.si, "[\"access_denied\"]", "s3:delete");
}

static void test_refused_call_stops_the_rest(void)
{
  struct del_run *run = calloc(1, sizeof(*run));
  struct s3del_opts o = {0};
  struct cfw_err err = {0};
  struct s3del *d;
  char calls[512];
  size_t i;

  REQUIRE(run != NULL);
  del_init(run);
  o.s3 = run->f.s3;
  o.keys = run->keys;
  o.n = N_KEYS;
  o.on_key = on_key_then_refuse;
  o.on_done = del_on_done;
  o.arg = run;
  CHECK_EQ_INT(s3del_start(&d, &o, &err), 0);
  s3fx_run(&run->f, 1);
  CHECK_EQ_INT(run->r.outcome, S3_REFUSED);
  CHECK_CONTAINS(run->r.err.msg, "AccessDenied");
  CHECK_EQ_INT(run->r.calls, 1);
  CHECK_EQ_INT(run->r.deleted, S3_DELETE_MAX);
  for (i = 0; i < N_KEYS; i++)
    CHECK_EQ_INT(run->seen[i], i < S3_DELETE_MAX ? 1 : 0);
  delete_calls(&run->f.si, calls, sizeof(calls));
  CHECK_EQ_STR(calls, "DeleteObjects:200 DeleteObjects:403");
  CHECK_EQ_INT(standin_count(&run->f.si, STANDIN_BUCKET),
               N_KEYS - S3_DELETE_MAX);
  s3fx_done(&run->f);
  free(run);
}

static void test_no_keys_is_refused(void)
{
  struct s3del_opts o = {0};
  struct cfw_err err = {0};
  struct s3del *d = NULL;
  struct s3fx f;

  s3fx_init(&f, NULL, NULL);
  o.s3 = f.s3;
  o.on_done = del_on_done;
  CHECK_EQ_INT(s3del_start(&d, &o, &err), -EINVAL);
  CHECK(d == NULL);
  s3fx_done(&f);
}

TEST_MAIN(TEST(test_2500_keys_in_three_calls),
          TEST(test_refused_call_stops_the_rest), TEST(test_no_keys_is_refused))
