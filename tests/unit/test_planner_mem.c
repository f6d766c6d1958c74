/* SPDX-License-Identifier: MIT */
/* The planner's compact bookkeeping (issue 13): units counted before they
 * are made, a change's unit found again in change order, index lists of
 * exactly their size, and a clean failure when memory runs out. */
#include "planner.h"

#include "buf.h"
#include "plannerfx.h"
#include "strlist.h"

#include <stdbool.h>

#include "aslimit.h"

/* n changes of kind: file i is "d<i/per_dir>/f<i>.html", in the
 * manifest unless ADDED. */
static void fx_init(struct plannerfx *f, size_t n, size_t per_dir,
                    enum change_kind kind)
{
  char path[64];
  size_t i;

  plannerfx_init(f, n);
  for (i = 0; i < n; i++) {
    (void)snprintf(path, sizeof(path), "d%zu/f%zu.html", i / per_dir, i);
    plannerfx_change(f, kind, path);
  }
}

static int fx_plan(struct plannerfx *f, struct cfw_err *err)
{
  return planner_plan(&f->p, &f->in, &f->o, err);
}

static void check_all(const uint32_t *v, size_t n, size_t want)
{
  size_t i;

  CHECK_EQ_INT(n, want);
  for (i = 0; i < n && i < want; i++)
    CHECK_EQ_INT(v[i], i);
}

static void test_only_touched_changes_fill_no_send(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;

  fx_init(&f, 500, 10, CHANGE_TOUCHED);
  CHECK_EQ_INT(fx_plan(&f, &err), 0);
  CHECK_EQ_INT(f.p.n, 0);
  CHECK_EQ_INT(f.p.n_left, 0);
  check_all(f.p.no_send, f.p.n_no_send, 500);
  plannerfx_free(&f);
}

static void test_one_change_is_one_unit(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;

  fx_init(&f, 1, 1, CHANGE_MODIFIED);
  CHECK_EQ_INT(fx_plan(&f, &err), 0);
  REQUIRE(f.p.n == 1);
  check_all(f.p.v[0].changes, f.p.v[0].n_changes, 1);
  REQUIRE(f.p.v[0].b.paths.n == 1);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/d0/f0.html");
  CHECK_EQ_INT(f.p.n_no_send, 0);
  plannerfx_free(&f);
}

/* Every file rewritten: one unit, the site's wildcard, holds them all. */
static void test_full_rewrite_is_one_unit_of_every_change(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;

  fx_init(&f, 20000, 100, CHANGE_MODIFIED);
  CHECK_EQ_INT(fx_plan(&f, &err), 0);
  REQUIRE(f.p.n == 1);
  REQUIRE(f.p.v[0].b.paths.n == 1);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/*");
  check_all(f.p.v[0].changes, f.p.v[0].n_changes, 20000);
  plannerfx_free(&f);
}

/* Units are numbered in change order, whether a wildcard's (started by
 * its first change) or a file's: with a budget for half of them, the
 * first units in change order are planned and the rest left. */
static void test_units_follow_change_order(void)
{
  struct cfw_err err = {0};
  struct plannerfx f;
  size_t i;

  fx_init(&f, 40, 1, CHANGE_ADDED);
  f.o.never_wildcard = true;
  f.o.has_budget = true;
  f.o.monthly_free_paths = 20;
  f.o.monthly_budget_usd = 0;
  CHECK_EQ_INT(fx_plan(&f, &err), 0);
  REQUIRE(f.p.n == 1);
  check_all(f.p.v[0].changes, f.p.v[0].n_changes, 20);
  CHECK_EQ_INT(f.p.n_left, 20);
  for (i = 0; i < f.p.n_left && i < 20; i++)
    CHECK_EQ_INT(f.p.left[i], 20 + i);
  CHECK(f.p.over_budget);
  plannerfx_free(&f);
}

/* One plan under an address space of what is used now plus margin: a
 * clean -ENOMEM with an empty plan, or the plan want describes. */
static bool plan_within(struct plannerfx *f, size_t margin, size_t want_changes)
{
  struct cfw_err err = {0};
  int rc;

#if AS_LIMIT_USABLE
  struct rlimit old;

  as_cap(margin, &old);
  rc = fx_plan(f, &err);
  as_restore(&old);
#else
  (void)margin; /* no cap: the plan must simply succeed */
  rc = fx_plan(f, &err);
#endif
  if (rc < 0) {
    CHECK_EQ_INT(rc, -ENOMEM);
    CHECK_EQ_INT(err.code, -ENOMEM);
    CHECK_EQ_INT(f->p.n, 0);
    CHECK(f->p.v == NULL && f->p.no_send == NULL && f->p.left == NULL);
    return false;
  }
  REQUIRE(f->p.n > 0);
  CHECK_EQ_INT(f->p.n_paths, 2 * want_changes);
  return true;
}

/* Out of memory at any step, the planner fails with -ENOMEM, leaves the
 * plan empty and frees what it took (ASan checks that part). */
static void test_out_of_memory_fails_cleanly(void)
{
  static const size_t margins[] = {0,       1 << 16, 1 << 18, 1 << 20, 1 << 21,
                                   1 << 22, 1 << 23, 1 << 25, 1 << 28};
  size_t ok = 0;
  size_t i;
  struct plannerfx f;

  /* An index file per directory, never collapsed: two paths each. */
  fx_init(&f, 30000, 1, CHANGE_MODIFIED);
  for (i = 0; i < f.n; i++) {
    char name[64];

    (void)snprintf(name, sizeof(name), "n%zu/index.html", i);
    pathref_drop(f.v[i].entry.path);
    f.v[i].entry.path = pathref_dup(name);
    REQUIRE(f.v[i].entry.path != NULL);
  }
  f.o.never_wildcard = true;
#if !AS_LIMIT_USABLE
  CHECK(plan_within(&f, 0, f.n));
  plannerfx_free(&f);
  return;
#endif
  for (i = 0; i < sizeof(margins) / sizeof(margins[0]); i++)
    ok += plan_within(&f, margins[i], f.n) ? 1 : 0;
  CHECK(ok < sizeof(margins) / sizeof(margins[0])); /* some failed */
  CHECK(ok > 0);                                    /* and some did not */
  plannerfx_free(&f);
}

/* Each case alone (test.h): a case caps its address space (aslimit.h). */
TEST_MAIN_ALONE(TEST(test_only_touched_changes_fill_no_send),
                TEST(test_one_change_is_one_unit),
                TEST(test_full_rewrite_is_one_unit_of_every_change),
                TEST(test_units_follow_change_order),
                TEST(test_out_of_memory_fails_cleanly))
