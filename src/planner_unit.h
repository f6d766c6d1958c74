/* SPDX-License-Identifier: MIT */
#ifndef CFW_PLANNER_UNIT_H
#define CFW_PLANNER_UNIT_H

/* The units the planner packs into batches (planner_unit.c), built over
 * its tree once the wildcards are chosen; private to planner.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "planner_tree.h"

/* What goes into one batch together: one file's URLs, or a collapsed
 * directory's wildcard with the changes under it (and the few URLs of
 * theirs the wildcard does not cover).  12 bytes: a unit's path counts
 * come from its node when it has one, and which changes it holds, its
 * first one among them, is found again by planner_unit_of, so a full
 * rewrite under one wildcard costs one unit, not one per change. */
struct planner_unit {
  uint32_t node; /* the collapsed node, or PLANNER_NONE32 for one file */
  uint32_t seq;  /* the batch, counted among ready or queued ones */
  uint8_t nf;    /* one file's file paths (URLMAP_MAX_PATHS_PER_FILE) */
  uint8_t nw;    /* one file's wildcards */
  bool left;     /* over the budget: not planned */
  bool ready;    /* placed in a ready batch */
};

/* Everything planner_plan works with; freed as one. */
struct planner_work {
  struct planner_tree pt;
  struct planner_unit *units; /* owned; n_units of them */
  size_t n_units;
  uint32_t *unit_of_node; /* owned; per node, PLANNER_NONE32 if none */
};

/* File paths and wildcards in unit u, before the batch drops
 * duplicates. */
size_t planner_unit_nf(const struct planner_work *w,
                       const struct planner_unit *u);
size_t planner_unit_nw(const struct planner_work *w,
                       const struct planner_unit *u);

/* The unit of change i, or PLANNER_NONE if it is TOUCHED, for a caller
 * walking the changes in order from *next = 0 (see planner_unit.c).
 * O(depth). */
size_t planner_unit_of(const struct planner_work *w, size_t i, size_t *next);

/* Groups in's changes into w->units, in change order, once
 * planner_cover_choose has run.  0, or what planner_items_count returns. */
int planner_make_units(struct planner_work *w, const struct planner_input *in,
                       struct cfw_err *err);

/* Frees the tree, the units and unit_of_node.  NULL is fine. */
void planner_work_free(struct planner_work *w);

#endif
