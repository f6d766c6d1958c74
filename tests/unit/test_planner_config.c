/* SPDX-License-Identifier: MIT */
#include "planner_config.h"

#include <string.h>

#include "test.h"

/* A site with every planner field off its default, so that a field left
 * unmapped shows. */
static void odd_site(struct site_config *s)
{
  memset(s, 0, sizeof(*s));
  s->max_paths_per_batch = 17;
  s->wildcard_threshold = 9999;
  s->never_wildcard = true;
  s->max_evict_ratio = 0.75;
  s->strict_evict_ratio = true;
  s->monthly_free_paths = 12;
  s->has_budget = true;
  s->monthly_budget_usd = 3.5;
  s->allow_over_budget = true;
}

static void test_every_field_is_mapped(void)
{
  struct site_config s;
  struct planner_opts o;

  odd_site(&s);
  memset(&o, 0xa5, sizeof(o));
  config_planner_opts(&s, &o);
  CHECK_EQ_INT(o.max_paths_per_batch, 17);
  CHECK_EQ_INT(o.wildcard_threshold, 9999);
  CHECK(o.never_wildcard);
  CHECK_EQ_DBL(o.max_evict_ratio, 0.75);
  CHECK(o.strict_evict_ratio);
  CHECK_EQ_INT(o.monthly_free_paths, 12);
  CHECK(o.has_budget);
  CHECK_EQ_DBL(o.monthly_budget_usd, 3.5);
  CHECK(o.allow_over_budget);
}

static void test_flags_off_map_off(void)
{
  struct site_config s;
  struct planner_opts o;

  odd_site(&s);
  s.never_wildcard = false;
  s.strict_evict_ratio = false;
  s.allow_over_budget = false;
  memset(&o, 0xff, sizeof(o));
  config_planner_opts(&s, &o);
  CHECK(!o.never_wildcard);
  CHECK(!o.strict_evict_ratio);
  CHECK(!o.allow_over_budget);
}

static void test_no_budget_maps_to_no_budget(void)
{
  struct site_config s;
  struct planner_opts o;

  odd_site(&s);
  s.has_budget = false;
  config_planner_opts(&s, &o);
  CHECK(!o.has_budget);
  CHECK_EQ_DBL(o.monthly_budget_usd, 0);
}

static void test_zero_budget_stays_a_budget(void)
{
  struct site_config s;
  struct planner_opts o;

  odd_site(&s);
  s.monthly_budget_usd = 0;
  config_planner_opts(&s, &o);
  CHECK(o.has_budget);
  CHECK_EQ_DBL(o.monthly_budget_usd, 0);
}

/* config's defaults and the planner's must not drift apart. */
static void test_config_defaults_are_the_planners(void)
{
  struct config c;
  struct cfw_err err;
  struct planner_opts got;
  struct planner_opts want;

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "root", "/srv/www", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "state_dir", "/tmp/unused", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_INT(c.n_sites, 1);
  if (c.n_sites != 1)
    return;
  config_planner_opts(&c.sites[0], &got);
  planner_opts_init(&want);
  CHECK_EQ_INT(got.max_paths_per_batch, want.max_paths_per_batch);
  CHECK_EQ_INT(got.wildcard_threshold, want.wildcard_threshold);
  CHECK_EQ_INT(got.never_wildcard, want.never_wildcard);
  CHECK_EQ_DBL(got.max_evict_ratio, want.max_evict_ratio);
  CHECK_EQ_INT(got.strict_evict_ratio, want.strict_evict_ratio);
  CHECK_EQ_INT(got.monthly_free_paths, want.monthly_free_paths);
  CHECK_EQ_INT(got.has_budget, want.has_budget);
  CHECK_EQ_DBL(got.monthly_budget_usd, want.monthly_budget_usd);
  CHECK_EQ_INT(got.allow_over_budget, want.allow_over_budget);
  config_free(&c);
}

TEST_MAIN(TEST(test_every_field_is_mapped), TEST(test_flags_off_map_off),
          TEST(test_no_budget_maps_to_no_budget),
          TEST(test_zero_budget_stays_a_budget),
          TEST(test_config_defaults_are_the_planners))
