/* SPDX-License-Identifier: MIT */
#include "statesync.h"

#include "s3_fixture.h"
#include "s3state.h"
#include "state.h"
#include "test.h"

/* Two state dirs (two machines' caches) sharing one state in S3 on the
 * stand-in, written by state.c itself. */

#define ROOT "/srv/site"
#define DIST "E2EXAMPLE"

struct sync_run {
  struct s3fx f;
  struct s3state *remote;
  struct statesync *ss[2];
  char dir[2][300];
  struct statesync_result r;
};

static void sync_on_result(const struct statesync_result *r, void *arg)
{
  struct sync_run *run = arg;

  run->r = *r;
  run->f.n_done++;
}

static void sync_new(struct sync_run *run, int i)
{
  struct statesync_opts o = {0};
  struct cfw_err err = {0};
  int n;

  n = snprintf(run->dir[i], sizeof(run->dir[i]), "%s/cache%d", run->f.tmp, i);
  REQUIRE(n > 0 && (size_t)n < sizeof(run->dir[i]));
  o.loop = &run->f.loop;
  o.remote = run->remote;
  o.dir = run->dir[i];
  REQUIRE(statesync_new(&run->ss[i], &o, &err) == 0);
}

static void sync_init(struct sync_run *run)
{
  struct s3state_opts so = {0};
  struct cfw_err err = {0};

  memset(run, 0, sizeof(*run));
  s3fx_init(&run->f, NULL, NULL);
  so.s3 = run->f.s3;
  so.prefix = "state/site";
  so.host = "ci-1";
  REQUIRE(s3state_new(&run->remote, &so, &err) == 0);
  sync_new(run, 0);
  sync_new(run, 1);
}

static void sync_done(struct sync_run *run)
{
  statesync_destroy(run->ss[0]);
  statesync_destroy(run->ss[1]);
  s3state_destroy(run->remote);
  s3fx_done(&run->f);
}

static enum statesync_outcome sync_call(struct sync_run *run, int i, bool push)
{
  struct cfw_err err = {0};

  run->f.n_done = 0;
  memset(&run->r, 0, sizeof(run->r));
  if (push)
    REQUIRE(statesync_push(run->ss[i], sync_on_result, run, &err) == 0);
  else
    REQUIRE(statesync_pull(run->ss[i], sync_on_result, run, &err) == 0);
  s3fx_run(&run->f, 1);
  if (run->r.outcome == STATESYNC_FAILED)
    (void)fprintf(stderr, "sync: %s\n", run->r.err.msg); /* context only */
  return run->r.outcome;
}

/* Records one added file, path, in dir's state. */
static void write_entry(const char *dir, const char *path, unsigned seed)
{
  struct cfw_err err = {0};
  struct change c;
  struct state *s;

  memset(&c, 0, sizeof(c));
  change_set_kind(&c, CHANGE_ADDED);
  c.entry.path = (char *)path; /* borrowed: state_record copies it */
  c.entry.size = seed;
  c.entry.flags = TREE_HASHED;
  memset(c.entry.hash, (int)seed, sizeof(c.entry.hash));
  REQUIRE(state_open(&s, dir, ROOT, DIST, 0, &err) == 0);
  REQUIRE(state_record(s, &c, 1, &err) == 0);
  state_close(s);
}

/* The size dir's state records for path, or 0 if none. */
static uint64_t read_entry(const char *dir, const char *path)
{
  const struct tree_entry *e;
  struct cfw_err err = {0};
  struct state *s;
  uint64_t size;

  REQUIRE(state_open(&s, dir, ROOT, DIST, STATE_READONLY, &err) == 0);
  e = manifest_find(state_manifest(s), path);
  size = e != NULL ? e->size : 0;
  state_close(s);
  return size;
}

static void test_first_writer_creates_the_state_others_read_it(void)
{
  struct sync_run run;

  sync_init(&run);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  CHECK(run.r.remote_empty);
  CHECK_EQ_INT(run.r.requests, 1);
  write_entry(run.dir[0], "a.html", 11);
  CHECK_EQ_INT(sync_call(&run, 0, true), STATESYNC_OK);
  CHECK_EQ_INT(run.r.objects, 2); /* the snapshot, record 1 */
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET, "state/site/manifest"));
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET,
                    "state/site/journal/00000000000000000001"));
  CHECK_EQ_INT(sync_call(&run, 1, false), STATESYNC_OK);
  CHECK(!run.r.remote_empty);
  CHECK_EQ_INT(read_entry(run.dir[1], "a.html"), 11);
  /* Nothing moved: one request. */
  CHECK_EQ_INT(sync_call(&run, 1, false), STATESYNC_OK);
  CHECK_EQ_INT(run.r.requests, 1);
  CHECK_EQ_INT(run.r.objects, 0);
  CHECK_EQ_INT(read_entry(run.dir[1], "a.html"), 11);
  /* One more record: one small object. */
  write_entry(run.dir[1], "b.html", 12);
  CHECK_EQ_INT(sync_call(&run, 1, true), STATESYNC_OK);
  CHECK_EQ_INT(run.r.objects, 1);
  CHECK_EQ_INT(run.r.requests, 1);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  CHECK_EQ_INT(run.r.requests, 2); /* the list, record 2 */
  CHECK_EQ_INT(read_entry(run.dir[0], "b.html"), 12);
  sync_done(&run);
}

/* Both wrote record 2: the second is told, and its pull drops its own
 * record for the winner's. */
static void test_second_writer_conflicts_and_takes_the_winner(void)
{
  struct sync_run run;

  sync_init(&run);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  write_entry(run.dir[0], "a.html", 1);
  CHECK_EQ_INT(sync_call(&run, 0, true), STATESYNC_OK);
  CHECK_EQ_INT(sync_call(&run, 1, false), STATESYNC_OK);
  write_entry(run.dir[0], "x.html", 2);
  write_entry(run.dir[1], "y.html", 3);
  CHECK_EQ_INT(sync_call(&run, 0, true), STATESYNC_OK);
  CHECK_EQ_INT(sync_call(&run, 1, true), STATESYNC_CONFLICT);
  CHECK_EQ_INT(sync_call(&run, 1, false), STATESYNC_OK);
  CHECK_EQ_INT(read_entry(run.dir[1], "x.html"), 2);
  CHECK_EQ_INT(read_entry(run.dir[1], "y.html"), 0);
  /* Written again after the pull, it goes in as record 3. */
  write_entry(run.dir[1], "y.html", 3);
  CHECK_EQ_INT(sync_call(&run, 1, true), STATESYNC_OK);
  CHECK(standin_has(&run.f.si, STANDIN_BUCKET,
                    "state/site/journal/00000000000000000003"));
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  CHECK_EQ_INT(read_entry(run.dir[0], "y.html"), 3);
  sync_done(&run);
}

/* A push whose answers are lost is still ours, once. */
static void test_lost_reply_is_not_a_conflict(void)
{
  struct sync_run run;

  sync_init(&run);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  write_entry(run.dir[0], "a.html", 1);
  standin_inject(&run.f.si, "[\"lost\", \"503\", \"lost\"]", "s3:put");
  CHECK_EQ_INT(sync_call(&run, 0, true), STATESYNC_OK);
  CHECK_EQ_INT(run.r.objects, 2);
  CHECK_EQ_INT(standin_count(&run.f.si, STANDIN_BUCKET), 2);
  CHECK_EQ_INT(sync_call(&run, 1, false), STATESYNC_OK);
  CHECK_EQ_INT(read_entry(run.dir[1], "a.html"), 1);
  sync_done(&run);
}

static void test_lost_cache_is_pulled_whole(void)
{
  struct sync_run run;

  sync_init(&run);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  write_entry(run.dir[0], "a.html", 1);
  write_entry(run.dir[0], "b.html", 2);
  CHECK_EQ_INT(sync_call(&run, 0, true), STATESYNC_OK);
  CHECK_EQ_INT(run.r.objects, 3);
  test_rmtree(run.dir[0]);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  CHECK_EQ_INT(run.r.objects, 2);
  CHECK_EQ_INT(run.r.requests, 4); /* list, snapshot, two records */
  CHECK_EQ_INT(read_entry(run.dir[0], "a.html"), 1);
  CHECK_EQ_INT(read_entry(run.dir[0], "b.html"), 2);
  sync_done(&run);
}

/* S3 lost the state: the cache is not taken for it. */
static void test_lost_remote_empties_the_cache(void)
{
  struct cfw_err err = {0};
  struct sync_run run;
  struct state *s;

  sync_init(&run);
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  write_entry(run.dir[0], "a.html", 1);
  CHECK_EQ_INT(sync_call(&run, 0, true), STATESYNC_OK);
  standin_post(&run.f.si, "reset", "{\"config\": false}");
  CHECK_EQ_INT(sync_call(&run, 0, false), STATESYNC_OK);
  CHECK(run.r.remote_empty);
  REQUIRE(state_open(&s, run.dir[0], ROOT, DIST, STATE_READONLY, &err) == 0);
  CHECK(state_fresh(s));
  state_close(s);
  sync_done(&run);
}

TEST_MAIN(TEST(test_first_writer_creates_the_state_others_read_it),
          TEST(test_second_writer_conflicts_and_takes_the_winner),
          TEST(test_lost_reply_is_not_a_conflict),
          TEST(test_lost_cache_is_pulled_whole),
          TEST(test_lost_remote_empties_the_cache))
