/* SPDX-License-Identifier: MIT */
#ifndef CFW_PLANNER_TREE_H
#define CFW_PLANNER_TREE_H

/* The planner's directory tree (built by planner_tree.c) and its choice
 * of wildcards (planner_cover.c); private to planner.c.  Each directory of the
 * site (from the manifest and the changes) is a node that knows, for its whole
 * subtree, how many files it holds, how many changed, the URL paths those
 * changes need, and how many of those paths its own wildcard would not cover.
 * Choosing a wildcard marks the node collapsed and updates the running totals
 * of its ancestors, so each step costs O(depth). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "planner.h"

#define PLANNER_NONE SIZE_MAX
/* PLANNER_NONE in the per-change arrays, which hold 32-bit indices: a
 * change costs the planner a few bytes beyond its URLs (issue 13). */
#define PLANNER_NONE32 UINT32_MAX
/* The most changes, and nodes, the 32-bit indices can name. */
#define PLANNER_MAX_INDEX (UINT32_MAX - 1)

struct planner_node {
  char *dir;  /* owned; "" for the root, else "a/b" */
  char *stem; /* owned; "<prefix>/a/b/", or NULL if no wildcard can be
               * built on it ('*' or '~' in a name, too long) */
  size_t parent;
  size_t first_child;
  size_t next_sibling;
  size_t m_files; /* manifest files in the subtree */
  size_t c_files; /* changed files (not TOUCHED) in the subtree */
  size_t c_in_m;  /* those of them in the manifest */
  size_t xf, xw;  /* exact file paths and wildcards the changes need */
  size_t ef, ew;  /* those the node's own wildcard would not cover */
  size_t cf, cw;  /* what the subtree needs with the chosen wildcards */
  bool collapsed;
};

/* What the choice aims at; see the passes in planner.h. */
struct planner_goal {
  size_t threshold;
  double max_ratio;
  bool never;
  bool strict;        /* never break max_ratio, not even for hard_paths */
  size_t soft_paths;  /* aim for at most this many paths (ratio kept) */
  size_t hard_paths;  /* SIZE_MAX, or break the ratio to get below it */
  size_t cap_files;   /* file paths free in progress now */
  size_t cap_wild;    /* wildcards free in progress now */
  size_t batch_files; /* file paths one batch may hold */
};

/* A collapse the pressure passes may take, and how good it is. */
struct planner_cand {
  size_t node;
  double score;
};

struct planner_tree {
  struct planner_node *nodes; /* owned; a parent before its children */
  size_t n_nodes;
  size_t cap_nodes;
  size_t *slots; /* owned; hash of dir -> node index + 1, 0 if empty */
  size_t n_slots;
  /* Owned: every change's items (URL paths or its cache tag) in change
   * order, each NUL-terminated, and after each change's an empty string
   * (none is empty): read them in order with planner_items_end.  One
   * allocation instead of one per URL. */
  char *urls;
  uint32_t *file_node;        /* owned; per change, PLANNER_NONE32 if TOUCHED */
  char *prefix;               /* owned; the urlmap's URL prefix, "" or "/x" */
  size_t by_tag;              /* changes that go as their cache tag */
  size_t by_path;             /* changes that go as URL paths */
  size_t tag_saved;           /* paths the tags stand for, less the tags */
  struct planner_cand *cands; /* owned; room for every node */
};

/* Builds the tree and every change's URLs.  0, -EINVAL (a path urlmap
 * refuses), -ENAMETOOLONG or -ENOMEM, with err set; on failure pt is
 * freed.  O(files * depth). */
int planner_tree_build(struct planner_tree *pt, const struct planner_input *in,
                       struct cfw_err *err);
void planner_tree_free(struct planner_tree *pt); /* NULL is fine */

/* The items of the change whose items start at g are the strings from
 * g up to the first empty one; returns the next change's start.  A
 * TOUCHED change has none. */
const char *planner_items_end(const char *g);

/* The node of change i's directory, or PLANNER_NONE if it is TOUCHED. */
size_t planner_file_node(const struct planner_tree *pt, size_t i);

/* Chooses the wildcards (collapsed nodes) for g.  Cannot fail. */
void planner_cover_choose(struct planner_tree *pt,
                          const struct planner_goal *g);

/* The collapsed node whose wildcard covers change i, or PLANNER_NONE
 * (also for a TOUCHED change).  O(depth). */
size_t planner_cover_unit(const struct planner_tree *pt, size_t i);

/* Unchanged files a node's wildcard evicts, and whether that share is
 * within max_ratio. */
size_t planner_node_evicted(const struct planner_node *n);
bool planner_node_ratio_ok(const struct planner_node *n, double max_ratio);

#endif
