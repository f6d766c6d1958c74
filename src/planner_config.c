/* SPDX-License-Identifier: MIT */
#include "planner_config.h"

#include <stddef.h>

void config_planner_opts(const struct site_config *s, struct planner_opts *o)
{
  planner_opts_init(o);
  /* config's key table bounds both far below SIZE_MAX. */
  o->max_paths_per_batch = (size_t)s->max_paths_per_batch;
  o->wildcard_threshold = (size_t)s->wildcard_threshold;
  o->never_wildcard = s->never_wildcard;
  o->max_evict_ratio = s->max_evict_ratio;
  o->strict_evict_ratio = s->strict_evict_ratio;
  o->monthly_free_paths = s->monthly_free_paths;
  o->has_budget = s->has_budget;
  o->monthly_budget_usd = s->has_budget ? s->monthly_budget_usd : 0;
  o->allow_over_budget = s->allow_over_budget;
}
