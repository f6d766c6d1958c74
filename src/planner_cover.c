/* SPDX-License-Identifier: MIT */
/* The planner's choice of wildcards over the tree planner_tree.c built.
 * See planner_tree.h and the passes in planner.h. */
#include "planner_tree.h"

#include <stdlib.h>

#include "cflimits.h"

/* Paths a new wildcard must save in the pressure pass; see
 * planner_score. */
#define PLANNER_NEW_WILDCARD_SAVING 2

size_t planner_node_evicted(const struct planner_node *n)
{
  return n->m_files > n->c_in_m ? n->m_files - n->c_in_m : 0;
}

bool planner_node_ratio_ok(const struct planner_node *n, double max_ratio)
{
  size_t evicted = planner_node_evicted(n);

  return (double)evicted <= max_ratio * (double)(evicted + n->c_files);
}

/* The node after i in preorder within the subtree of top, skipping i's
 * children if asked; PLANNER_NONE at the end. */
static size_t planner_next_in(const struct planner_tree *pt, size_t i,
                              size_t top, bool skip_children)
{
  if (!skip_children && pt->nodes[i].first_child != PLANNER_NONE32)
    return pt->nodes[i].first_child;
  for (; i != top; i = planner_idx(pt->nodes[i].parent))
    if (pt->nodes[i].next_sibling != PLANNER_NONE32)
      return pt->nodes[i].next_sibling;
  return PLANNER_NONE;
}

/* Marks d collapsed: its wildcard replaces those below it, and every
 * ancestor's running totals follow. */
static void planner_collapse(struct planner_tree *pt, size_t d)
{
  struct planner_node *n = &pt->nodes[d];
  size_t old_f = n->cf;
  size_t old_w = n->cw;
  size_t i;

  for (i = d; i != PLANNER_NONE;
       i = planner_next_in(pt, i, d, pt->nodes[i].c_files == 0))
    pt->nodes[i].collapsed = false;
  n->collapsed = true;
  n->cf = n->ef;
  n->cw = n->ew + 1;
  for (i = planner_idx(n->parent); i != PLANNER_NONE;
       i = planner_idx(pt->nodes[i].parent)) {
    pt->nodes[i].cf = pt->nodes[i].cf - old_f + n->cf;
    pt->nodes[i].cw = pt->nodes[i].cw - old_w + n->cw;
  }
}

/* True if node i may get a wildcard: a valid stem, changes under it, a
 * unit that fits one batch, and (unless forced) few unchanged files. */
static bool planner_can_collapse(const struct planner_tree *pt, size_t i,
                                 const struct planner_goal *g, bool forced)
{
  const struct planner_node *n = &pt->nodes[i];

  return n->stem != PLANNER_STEM_NONE && n->c_files > 0 &&
         n->ef <= g->batch_files && n->ew + 1 <= CF_MAX_WILDCARDS_IN_PROGRESS &&
         (forced || planner_node_ratio_ok(n, g->max_ratio));
}

/* The child holding all of i's changes, or PLANNER_NONE. */
static size_t planner_only_child(const struct planner_tree *pt, size_t i)
{
  size_t c;

  for (c = planner_idx(pt->nodes[i].first_child); c != PLANNER_NONE;
       c = planner_idx(pt->nodes[c].next_sibling)) {
    if (pt->nodes[c].c_files == pt->nodes[i].c_files)
      return c;
    if (pt->nodes[c].c_files > 0)
      return PLANNER_NONE;
  }
  return PLANNER_NONE;
}

/* The deepest common prefix: down from i while one child holds all of
 * its changes, since that child's wildcard evicts no more. */
static size_t planner_deepest(const struct planner_tree *pt, size_t i,
                              const struct planner_goal *g)
{
  size_t c = planner_only_child(pt, i);

  while (c != PLANNER_NONE && planner_can_collapse(pt, c, g, false)) {
    i = c;
    c = planner_only_child(pt, i);
  }
  return i;
}

/* Pass 1: top down, the highest directory over the threshold. */
static void planner_threshold(struct planner_tree *pt,
                              const struct planner_goal *g)
{
  const struct planner_node *n;
  size_t i = 0;
  bool skip;

  while (i != PLANNER_NONE) {
    n = &pt->nodes[i];
    skip = n->c_files == 0;
    if (!skip && n->xf + n->xw > g->threshold &&
        planner_can_collapse(pt, i, g, false)) {
      planner_collapse(pt, planner_deepest(pt, i, g));
      skip = true;
    }
    i = planner_next_in(pt, i, 0, skip);
  }
}

static bool planner_pressed(const struct planner_tree *pt,
                            const struct planner_goal *g, bool forced)
{
  const struct planner_node *r = &pt->nodes[0];
  size_t total = r->cf + r->cw;

  if (forced)
    return total > g->hard_paths;
  return total > g->soft_paths || total > g->hard_paths ||
         r->cf > g->cap_files || r->cw > g->cap_wild;
}

/* Paths saved per unchanged file evicted by collapsing i; 0 if it saves
 * nothing.  A collapse that adds a wildcard must find one free (see
 * cap_wild), even when forced: thousands of small wildcards would queue
 * hundreds of batches, while merging them upwards always ends at the
 * site's top wildcard.  Unless forced, it must also save
 * PLANNER_NEW_WILDCARD_SAVING paths: a slot spent to cover just "/a/" and
 * "/a/index.html" is missed by the next build for the minutes the
 * invalidation takes. */
static double planner_score(const struct planner_tree *pt, size_t i,
                            const struct planner_goal *g, bool forced)
{
  const struct planner_node *n = &pt->nodes[i];
  const struct planner_node *r = &pt->nodes[0];
  size_t now = n->cf + n->cw;
  size_t after = n->ef + n->ew + 1;
  bool adds = n->ew + 1 > n->cw;

  if (after >= now)
    return 0;
  if (adds && r->cw + (n->ew + 1 - n->cw) > g->cap_wild)
    return 0;
  if (adds && !forced && now - after < PLANNER_NEW_WILDCARD_SAVING)
    return 0;
  return (double)(now - after) / (double)(1 + planner_node_evicted(n));
}

/* Best score first.  Ties go to the later node: a child comes after its
 * parent, so of two equal covers the deeper prefix wins ("/posts/" over
 * the root when the root holds nothing else), and the order depends only
 * on the input. */
static int planner_cand_cmp(const void *a, const void *b)
{
  const struct planner_cand *x = a;
  const struct planner_cand *y = b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->node > y->node ? -1 : x->node < y->node;
}

/* Fills pt->cands with every collapse that would help, best first. */
static size_t planner_candidates(struct planner_tree *pt,
                                 const struct planner_goal *g, bool forced)
{
  size_t n = 0;
  size_t i = 0;
  double score;
  bool skip;

  while (i != PLANNER_NONE) {
    skip = pt->nodes[i].c_files == 0 || pt->nodes[i].collapsed;
    if (!skip && planner_can_collapse(pt, i, g, forced)) {
      score = planner_score(pt, i, g, forced);
      if (score > 0)
        pt->cands[n++] = (struct planner_cand){i, score};
    }
    i = planner_next_in(pt, i, 0, skip);
  }
  qsort(pt->cands, n, sizeof(*pt->cands), planner_cand_cmp);
  return n;
}

static bool planner_under_collapsed(const struct planner_tree *pt, size_t i)
{
  for (i = planner_idx(pt->nodes[i].parent); i != PLANNER_NONE;
       i = planner_idx(pt->nodes[i].parent))
    if (pt->nodes[i].collapsed)
      return true;
  return false;
}

/* Takes the candidates in order while the pressure lasts, skipping those
 * an earlier one of this round changed (its ancestors and descendants):
 * their new score waits for the next round.  The first is always taken,
 * so each round saves paths. */
static void planner_round(struct planner_tree *pt, const struct planner_goal *g,
                          bool forced, size_t n)
{
  const struct planner_cand *c;
  size_t k;

  for (k = 0; k < n && planner_pressed(pt, g, forced); k++) {
    c = &pt->cands[k];
    if (pt->nodes[c->node].collapsed || planner_under_collapsed(pt, c->node))
      continue;
    if (planner_score(pt, c->node, g, forced) != c->score)
      continue;
    planner_collapse(pt, c->node);
  }
}

/* Passes 2 and 3.  Each round saves at least one path, so they end. */
static void planner_relieve(struct planner_tree *pt,
                            const struct planner_goal *g, bool forced)
{
  size_t n;

  while (planner_pressed(pt, g, forced)) {
    n = planner_candidates(pt, g, forced);
    if (n == 0)
      return;
    planner_round(pt, g, forced, n);
  }
}

void planner_cover_choose(struct planner_tree *pt, const struct planner_goal *g)
{
  if (!g->never && pt->n_nodes > 0) {
    planner_threshold(pt, g);
    planner_relieve(pt, g, false);
    if (g->hard_paths != SIZE_MAX && !g->strict)
      planner_relieve(pt, g, true);
  }
  /* The candidates outlive no choice: their room goes before the units
   * and the plan take theirs. */
  free(pt->cands);
  pt->cands = NULL;
}

size_t planner_cover_unit(const struct planner_tree *pt, size_t i)
{
  size_t top = PLANNER_NONE;
  size_t n;

  for (n = planner_file_node(pt, i); n != PLANNER_NONE;
       n = planner_idx(pt->nodes[n].parent))
    if (pt->nodes[n].collapsed)
      top = n;
  return top;
}
