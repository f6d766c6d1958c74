/* SPDX-License-Identifier: MIT */
/* The planner's units: the changes grouped by what goes into one batch
 * together, each file alone or every change under one chosen wildcard.
 * See planner_unit.h. */
#include "planner_unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* File paths and wildcards in unit u, before the batch drops
 * duplicates. */
size_t planner_unit_nf(const struct planner_work *w,
                       const struct planner_unit *u)
{
  return u->node == PLANNER_NONE32 ? u->nf : w->pt.nodes[u->node].ef;
}

size_t planner_unit_nw(const struct planner_work *w,
                       const struct planner_unit *u)
{
  return u->node == PLANNER_NONE32 ? u->nw : w->pt.nodes[u->node].ew + 1;
}

/* The unit of change i, or PLANNER_NONE if it is TOUCHED, for a caller
 * walking the changes in order from *next = 0: units are numbered in the
 * order their first changes come, so a change starts a new unit exactly
 * when its unit is *next (then counted).  O(depth). */
size_t planner_unit_of(const struct planner_work *w, size_t i, size_t *next)
{
  size_t node;

  if (w->pt.file_node[i] == PLANNER_NONE32)
    return PLANNER_NONE;
  node = planner_cover_unit(&w->pt, i);
  if (node == PLANNER_NONE)
    return (*next)++;
  if (w->unit_of_node[node] == *next)
    (*next)++;
  return w->unit_of_node[node];
}

/* Numbers the units in change order (unit_of_node) and counts them. */
static size_t planner_count_units(struct planner_work *w, size_t n_changes)
{
  size_t n = 0;
  size_t node;
  size_t i;

  for (i = 0; i < w->pt.n_nodes; i++)
    w->unit_of_node[i] = PLANNER_NONE32;
  for (i = 0; i < n_changes; i++) {
    if (w->pt.file_node[i] == PLANNER_NONE32)
      continue;
    node = planner_cover_unit(&w->pt, i);
    if (node == PLANNER_NONE)
      n++;
    else if (w->unit_of_node[node] == PLANNER_NONE32)
      w->unit_of_node[node] = (uint32_t)n++; /* n <= n_changes */
  }
  return n;
}

/* Fills in unit u, started by change i.  Only a file's own unit needs
 * its items, to count its paths; a wildcard's counts are its node's. */
static int planner_unit_start(struct planner_work *w, struct planner_unit *u,
                              const struct planner_input *in, size_t i,
                              struct buf *b, struct cfw_err *err)
{
  size_t node = planner_cover_unit(&w->pt, i);
  size_t nf, nw;
  int rc;

  memset(u, 0, sizeof(*u));
  u->node = node == PLANNER_NONE ? PLANNER_NONE32 : (uint32_t)node;
  if (node != PLANNER_NONE)
    return 0;
  rc = planner_items_count(&w->pt, in, i, b, &nf, &nw, err);
  /* A file has at most URLMAP_MAX_PATHS_PER_FILE items. */
  u->nf = (uint8_t)nf;
  u->nw = (uint8_t)nw;
  return rc;
}

/* Groups the changes into units, in change order: one array of exactly
 * the units there are. */
int planner_make_units(struct planner_work *w, const struct planner_input *in,
                       struct cfw_err *err)
{
  struct buf b;
  size_t next = 0;
  size_t seen;
  size_t i;
  int rc = 0;

  w->unit_of_node = malloc((w->pt.n_nodes + 1) * sizeof(*w->unit_of_node));
  if (w->unit_of_node == NULL)
    return -ENOMEM;
  w->n_units = planner_count_units(w, in->n_changes);
  w->units = calloc(w->n_units + 1, sizeof(*w->units));
  if (w->units == NULL)
    return -ENOMEM;
  buf_init(&b, SIZE_MAX / 2);
  for (i = 0; i < in->n_changes && rc == 0; i++) {
    seen = next;
    (void)planner_unit_of(w, i, &next); /* the unit is units[seen] */
    if (next > seen)
      rc = planner_unit_start(w, &w->units[seen], in, i, &b, err);
  }
  buf_free(&b);
  return rc;
}

void planner_work_free(struct planner_work *w)
{
  if (w == NULL)
    return;
  planner_tree_free(&w->pt);
  free(w->units);
  free(w->unit_of_node);
}
