/* SPDX-License-Identifier: MIT */
#ifndef CFW_PLANNER_CONFIG_H
#define CFW_PLANNER_CONFIG_H

#include "config.h"
#include "planner.h"

/* The bridge from a resolved site's configuration to the planner's
 * options, kept apart so that config needs nothing of the planner. */

/* Fills o from s, starting from planner_opts_init(): every planner key
 * of the site (its default, [cfwatch], [site] or the command line), and
 * no budget unless s->has_budget.  Both are borrowed; cannot fail. */
void config_planner_opts(const struct site_config *s, struct planner_opts *o);

#endif
