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

#include "buf.h"
#include "planner.h"
#include "strlist.h"
#include "urlmap.h"

#define PLANNER_NONE SIZE_MAX
/* PLANNER_NONE in the per-change arrays, which hold 32-bit indices: a
 * change costs the planner a few bytes (issue 13). */
#define PLANNER_NONE32 UINT32_MAX
/* The most changes, and nodes, the 32-bit indices can name. */
#define PLANNER_MAX_INDEX (UINT32_MAX - 1)

/* A node per directory, which with one directory per page (Hugo,
 * Eleventy) is one per change: what is bounded by PLANNER_MAX_INDEX
 * (node and change counts) takes 32 bits, read through planner_idx
 * (issue 13). */
struct planner_node {
  size_t m_files; /* manifest files in the subtree */
  size_t xf, xw;  /* exact file paths and wildcards the changes need */
  size_t ef, ew;  /* those the node's own wildcard would not cover */
  size_t cf, cw;  /* what the subtree needs with the chosen wildcards */
  /* The directory, "" for the root, else "a/b": the first dir_len bytes
   * of the path of change dir_of, not a copy. */
  uint32_t dir_of;
  uint32_t dir_len : 31;  /* below PLANNER_MAX_DIR_LEN */
  uint32_t collapsed : 1; /* its wildcard is chosen */
  /* Its wildcard stem, "<prefix>/a/b/": PLANNER_STEM_NONE if no
   * wildcard can be built on it ('*' or '~' in a name, too long),
   * PLANNER_STEM_PLAIN if it is the prefix, '/', dir and '/' ("<prefix>/"
   * for the root), else PLANNER_STEM_KEPT + its index in the tree's
   * stems.  88 bytes a node, with no text of its own. */
  uint32_t stem;
  uint32_t parent; /* node indices, or PLANNER_NONE32 */
  uint32_t first_child;
  uint32_t next_sibling;
  uint32_t c_files; /* changed files (not TOUCHED) in the subtree */
  uint32_t c_in_m;  /* those of them in the manifest */
};

#define PLANNER_STEM_NONE  0u
#define PLANNER_STEM_PLAIN 1u
#define PLANNER_STEM_KEPT  2u
/* The longest directory a node names (dir_len's 31 bits). */
#define PLANNER_MAX_DIR_LEN ((UINT32_C(1) << 31) - 1)

/* A 32-bit node index as a size_t one: PLANNER_NONE32 is PLANNER_NONE. */
static inline size_t planner_idx(uint32_t v)
{
  return v == PLANNER_NONE32 ? PLANNER_NONE : (size_t)v;
}

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

/* How to build a change's items again without urlmap: each is the
 * urlmap's prefix, '/', the first len[j] bytes of the change's path and
 * maybe a '*', which is what urlmap makes of a path with nothing to
 * encode.  Else bits say "its cache tag" or "ask urlmap" (planner_items.c
 * holds the bits). */
struct planner_recipe {
  uint8_t len[URLMAP_MAX_PATHS_PER_FILE];
  uint8_t bits;
};

struct planner_tree {
  struct planner_node *nodes; /* owned; a parent before its children */
  size_t n_nodes;
  size_t cap_nodes;
  const struct change *changes; /* borrowed; the input's */
  /* Owned; hash of dir -> node index + 1, 0 if empty.  Only while the
   * nodes are made: NULL once planner_tree_build returns. */
  uint32_t *slots;
  size_t n_slots;
  uint32_t *file_node; /* owned; per change, PLANNER_NONE32 if TOUCHED */
  /* Owned; per change, how its items are built again.  No change's
   * items are kept: 8 bytes a change here and in file_node instead of
   * every URL's text (issue 13). */
  struct planner_recipe *recipes;
  char *prefix; /* owned; the urlmap's URL prefix, "" or "/x" */
  size_t prefix_len;
  char **stems; /* owned; the stems their paths do not spell (encoded) */
  size_t n_stems;
  size_t cap_stems;
  size_t by_tag;    /* changes that go as their cache tag */
  size_t by_path;   /* changes that go as URL paths */
  size_t tag_saved; /* paths the tags stand for, less the tags */
  /* Owned; room for every node, until planner_cover_choose is done. */
  struct planner_cand *cands;
};

/* Node n's directory: the first n->dir_len bytes of this. */
static inline const char *planner_dir(const struct planner_tree *pt,
                                      const struct planner_node *n)
{
  return n->dir_len > 0 ? pt->changes[n->dir_of].entry.path : "";
}

/* Builds the tree and counts every change's items on it.  0, -EINVAL
 * (a path urlmap refuses), -ENAMETOOLONG or -ENOMEM, with err set; on
 * failure pt is freed.  O(files * depth). */
int planner_tree_build(struct planner_tree *pt, const struct planner_input *in,
                       struct cfw_err *err);
void planner_tree_free(struct planner_tree *pt); /* NULL is fine */

/* Change i's invalidation items (not for a TOUCHED change): its URL
 * paths, or its one cache tag item.  planner_items_first puts them into
 * b (emptied first), each NUL-terminated, then an empty string (no item
 * is empty), so they read from b->data up to the first empty string; it
 * counts the change in pt's by_tag, by_path and tag_saved and keeps its
 * recipe.  For a change it took, the others give the same items again,
 * without urlmap unless the recipe says so; b is scratch room.  0,
 * -EINVAL (a path urlmap refuses), -ENAMETOOLONG or -ENOMEM, with err
 * (which may be NULL) set. */
int planner_items_first(struct planner_tree *pt, const struct planner_input *in,
                        size_t i, struct buf *b, struct cfw_err *err);

/* Counts change i's items: *nf file paths and *nw wildcards. */
int planner_items_count(const struct planner_tree *pt,
                        const struct planner_input *in, size_t i, struct buf *b,
                        size_t *nf, size_t *nw, struct cfw_err *err);

/* Appends to l each of change i's items that the stem of node cover
 * (PLANNER_NONE: none) does not cover. */
int planner_items_push(const struct planner_tree *pt,
                       const struct planner_input *in, size_t i, size_t cover,
                       struct buf *b, struct strlist *l);

/* Makes every node's stem (planner_stem.c), parents first.  0 or
 * -ENOMEM. */
int planner_make_stems(struct planner_tree *pt);

/* True if node i (PLANNER_NONE: none) has a stem and url starts with
 * it. */
bool planner_stem_covers(const struct planner_tree *pt, size_t i,
                         const char *url);

/* Node i's wildcard, its stem and '*', in a string of the caller's; NULL
 * if out of memory.  i has a stem. */
char *planner_wildcard(const struct planner_tree *pt, size_t i);

/* The node of change i's directory, or PLANNER_NONE if it is TOUCHED. */
size_t planner_file_node(const struct planner_tree *pt, size_t i);

/* Chooses the wildcards (collapsed nodes) for g, then frees pt->cands.
 * Cannot fail. */
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
