/* SPDX-License-Identifier: MIT */
/* The planner's flush (planner.h, in->flush): a batch of its own with
 * no change, first when it fits, priced and counted with the rest. */
#include "plannerfx.h"

#include "cflimits.h"

static void flush_of(struct strlist *l, const char *p)
{
  strlist_init(l);
  REQUIRE(strlist_push(l, p) == 0);
}

static void test_flush_alone_is_one_batch(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;
  struct strlist flush;

  plannerfx_init(&f, 0);
  flush_of(&flush, "/*");
  f.in.flush = &flush;
  REQUIRE(planner_plan(&f.p, &f.in, &f.o, &err) == 0);
  REQUIRE(f.p.n == 1);
  CHECK_EQ_INT(f.p.v[0].n_changes, 0);
  CHECK(f.p.v[0].ready);
  REQUIRE(f.p.v[0].b.paths.n == 1);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/*");
  CHECK_EQ_INT(f.p.v[0].b.n_wildcards, 1);
  CHECK_EQ_INT(f.p.n_paths, 1);
  CHECK_EQ_INT(f.p.n_wildcards, 1);
  strlist_free(&flush);
  plannerfx_free(&f);
}

static void test_flush_goes_first_and_is_priced(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;
  struct strlist flush;

  plannerfx_init(&f, 1);
  plannerfx_change(&f, CHANGE_MODIFIED, "a/b.html");
  flush_of(&flush, "/old/*");
  f.in.flush = &flush;
  f.in.month_paths = CF_FREE_PATHS_PER_MONTH; /* every path is paid */
  REQUIRE(planner_plan(&f.p, &f.in, &f.o, &err) == 0);
  REQUIRE(f.p.n == 2);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/old/*");
  CHECK_EQ_INT(f.p.v[0].n_changes, 0);
  CHECK_EQ_INT(f.p.v[1].n_changes, 1);
  CHECK_EQ_STR(f.p.v[1].b.paths.v[0], "/a/b.html");
  CHECK_EQ_INT(f.p.n_paths, 2);
  CHECK_EQ_DBL(f.p.v[0].cost_usd, CF_PRICE_PER_PATH_USD);
  CHECK_EQ_DBL(f.p.cost_usd, 2 * CF_PRICE_PER_PATH_USD);
  strlist_free(&flush);
  plannerfx_free(&f);
}

static void test_flush_waits_behind_ready_batches(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;
  struct strlist flush;

  plannerfx_init(&f, 1);
  plannerfx_change(&f, CHANGE_MODIFIED, "a.html");
  flush_of(&flush, "/*");
  f.in.flush = &flush;
  f.in.inflight.wildcards = CF_MAX_WILDCARDS_IN_PROGRESS;
  REQUIRE(planner_plan(&f.p, &f.in, &f.o, &err) == 0);
  REQUIRE(f.p.n == 2);
  CHECK(f.p.v[0].ready);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/a.html");
  CHECK(!f.p.v[1].ready);
  CHECK_EQ_STR(f.p.v[1].b.paths.v[0], "/*");
  strlist_free(&flush);
  plannerfx_free(&f);
}

TEST_MAIN(TEST(test_flush_alone_is_one_batch),
          TEST(test_flush_goes_first_and_is_priced),
          TEST(test_flush_waits_behind_ready_batches))
