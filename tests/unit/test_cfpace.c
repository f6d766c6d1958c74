/* SPDX-License-Identifier: MIT */
/* The pacing, budget and retry rule of the account's requests
 * (cfpace.h), on a real loop. */
#include <errno.h>
#include <stdint.h>
#include <uv.h>

#include "cfpace.h"
#include "test.h"

struct fx {
  uv_loop_t loop;
  struct cfpace *p;
  uint64_t at[4];
  int n;
};

static void on_go(void *arg)
{
  struct fx *f = arg;

  f->at[f->n++] = uv_now(&f->loop);
}

static void fx_start(struct fx *f, uint64_t pace_ms, uint64_t retry_for_ms,
                     size_t budget)
{
  struct cfpace_opts o = {pace_ms, retry_for_ms, budget};

  memset(f, 0, sizeof(*f));
  REQUIRE(uv_loop_init(&f->loop) == 0);
  REQUIRE(cfpace_new(&f->p, &f->loop, &o) == 0);
}

static void fx_stop(struct fx *f)
{
  cfpace_close(f->p, NULL, NULL);
  REQUIRE(uv_run(&f->loop, UV_RUN_DEFAULT) == 0);
  CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
}

static void test_requests_start_a_pace_apart(void)
{
  struct fx f;

  fx_start(&f, 50, 1000, 0);
  CHECK_EQ_INT(cfpace_go(f.p, 0, on_go, &f), 0);
  CHECK_EQ_INT(cfpace_go(f.p, 0, on_go, &f), -EBUSY);
  CHECK_EQ_INT(f.n, 0); /* never from inside the call */
  REQUIRE(uv_run(&f.loop, UV_RUN_DEFAULT) == 0);
  CHECK_EQ_INT(cfpace_go(f.p, 0, on_go, &f), 0);
  REQUIRE(uv_run(&f.loop, UV_RUN_DEFAULT) == 0);
  REQUIRE(f.n == 2);
  CHECK(f.at[1] - f.at[0] >= 50);
  CHECK_EQ_INT(cfpace_requests(f.p), 2);
  fx_stop(&f);
}

static void test_spent_budget_refuses_the_next(void)
{
  struct fx f;

  fx_start(&f, 0, 1000, 1);
  CHECK_EQ_INT(cfpace_go(f.p, 0, on_go, &f), 0);
  REQUIRE(uv_run(&f.loop, UV_RUN_DEFAULT) == 0);
  CHECK(cfpace_spent(f.p));
  CHECK_EQ_INT(cfpace_go(f.p, 0, on_go, &f), -EDQUOT);
  CHECK(cfpace_retry_ms(f.p, CF_RETRY, 0, uv_now(&f.loop)) == UINT64_MAX);
  fx_stop(&f);
}

static void test_only_transient_failures_are_retried(void)
{
  uint64_t now;
  uint64_t ms;
  struct fx f;

  fx_start(&f, 0, 60000, 0);
  now = uv_now(&f.loop);
  ms = cfpace_retry_ms(f.p, CF_RETRY, 0, now);
  CHECK(ms >= CFPACE_BACKOFF_BASE_MS && ms <= 2 * CFPACE_BACKOFF_BASE_MS);
  CHECK(cfpace_retry_ms(f.p, CF_FATAL, 0, now) == UINT64_MAX);
  CHECK(cfpace_retry_ms(f.p, CF_CONFLICT, 0, now) == UINT64_MAX);
  CHECK_EQ_INT(cfpace_retry_ms(f.p, CF_REFRESH, 0, now), 0);
  CHECK(cfpace_retry_ms(f.p, CF_REFRESH, 1, now) == UINT64_MAX);
  /* Past retry_for, nothing more. */
  CHECK(cfpace_retry_ms(f.p, CF_RETRY, 3, now - 60000) == UINT64_MAX);
  fx_stop(&f);
}

TEST_MAIN(TEST(test_requests_start_a_pace_apart),
          TEST(test_spent_budget_refuses_the_next),
          TEST(test_only_transient_failures_are_retried))
