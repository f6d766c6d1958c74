/* SPDX-License-Identifier: MIT */
/* The planner's directory tree: nodes for every directory of the site,
 * each change's node, and the counts planner_cover.c chooses wildcards
 * from.  See planner_tree.h. */
#include "planner_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "urlmap.h"
#include "util.h"

/* The directory hash starts with this many slots and is kept at most
 * half full. */
#define PLANNER_SLOTS_MIN 64

/* FNV-1a: short keys, no adversary (the paths are the user's own). */
static size_t planner_hash(const char *s, size_t len)
{
  uint64_t h = UINT64_C(14695981039346656037);
  size_t i;

  for (i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= UINT64_C(1099511628211);
  }
  return (size_t)h;
}

static bool planner_dir_is(const struct planner_tree *pt,
                           const struct planner_node *n, const char *dir,
                           size_t len)
{
  return n->dir_len == len && memcmp(planner_dir(pt, n), dir, len) == 0;
}

/* The slot holding dir[0..len), or the empty slot where it would go. */
static size_t planner_slot(const struct planner_tree *pt, const char *dir,
                           size_t len)
{
  size_t mask = pt->n_slots - 1;
  size_t i = planner_hash(dir, len) & mask;

  while (pt->slots[i] != 0 &&
         !planner_dir_is(pt, &pt->nodes[pt->slots[i] - 1], dir, len))
    i = (i + 1) & mask;
  return i;
}

static int planner_grow_slots(struct planner_tree *pt)
{
  uint32_t *old = pt->slots;
  size_t old_n = pt->n_slots;
  size_t n = old_n > 0 ? old_n * 2 : PLANNER_SLOTS_MIN;
  const struct planner_node *nd;
  size_t i;

  if (n > SIZE_MAX / sizeof(*old))
    return -ENOMEM;
  pt->slots = calloc(n, sizeof(*pt->slots));
  if (pt->slots == NULL) {
    pt->slots = old;
    return -ENOMEM;
  }
  pt->n_slots = n;
  for (i = 0; i < old_n; i++) {
    if (old[i] == 0)
      continue;
    nd = &pt->nodes[old[i] - 1];
    pt->slots[planner_slot(pt, planner_dir(pt, nd), nd->dir_len)] = old[i];
  }
  free(old);
  return 0;
}

static int planner_reserve_node(struct planner_tree *pt)
{
  struct planner_node *v;

  if (pt->n_nodes >= PLANNER_MAX_INDEX)
    return -ENOMEM; /* file_node holds 32-bit node indices */
  if (pt->n_nodes + 1 > pt->n_slots / 2 && planner_grow_slots(pt) < 0)
    return -ENOMEM;
  v = array_grow(pt->nodes, pt->n_nodes, &pt->cap_nodes, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  pt->nodes = v;
  return 0;
}

/* Adds the node of dir[0..len), dir being the path of change c (any,
 * for the root). */
static int planner_add_node(struct planner_tree *pt, const char *dir,
                            size_t len, uint32_t c, size_t parent, size_t *out)
{
  struct planner_node *n;
  size_t i;

  if (len > PLANNER_MAX_DIR_LEN)
    return -ENAMETOOLONG;
  if (planner_reserve_node(pt) < 0)
    return -ENOMEM;
  i = pt->n_nodes;
  n = &pt->nodes[i];
  memset(n, 0, sizeof(*n));
  n->dir_of = c;
  n->dir_len = (uint32_t)len;
  /* i and parent are below PLANNER_MAX_INDEX (planner_reserve_node). */
  n->parent = parent != PLANNER_NONE ? (uint32_t)parent : PLANNER_NONE32;
  n->first_child = PLANNER_NONE32;
  n->next_sibling = PLANNER_NONE32;
  if (parent != PLANNER_NONE) {
    n->next_sibling = pt->nodes[parent].first_child;
    pt->nodes[parent].first_child = (uint32_t)i;
  }
  pt->slots[planner_slot(pt, dir, len)] = (uint32_t)(i + 1);
  pt->n_nodes++;
  *out = i;
  return 0;
}

/* The node of dir[0..len), the start of change c's path, created with
 * its parents if need be.  Parents get smaller indices than their
 * children. */
static int planner_node_of(struct planner_tree *pt, const char *dir, size_t len,
                           uint32_t c, size_t *out)
{
  size_t i = planner_slot(pt, dir, len);
  size_t parent = PLANNER_NONE;
  const char *slash;
  int rc;

  if (pt->slots[i] != 0) {
    *out = pt->slots[i] - 1;
    return 0;
  }
  if (len > 0) {
    slash = memrchr(dir, '/', len);
    rc = planner_node_of(pt, dir, slash != NULL ? (size_t)(slash - dir) : 0, c,
                         &parent);
    if (rc < 0)
      return rc;
  }
  return planner_add_node(pt, dir, len, c, parent, out);
}

static int planner_node_of_file(struct planner_tree *pt, size_t c, size_t *out)
{
  const char *path = pt->changes[c].entry.path;
  const char *slash = strrchr(path, '/');

  /* c < PLANNER_MAX_INDEX (planner_tree_alloc). */
  return planner_node_of(pt, path, slash != NULL ? (size_t)(slash - path) : 0,
                         (uint32_t)c, out);
}

static int planner_take_prefix(struct planner_tree *pt, const struct urlmap *m)
{
  pt->prefix = strdup(urlmap_prefix(m));
  return pt->prefix != NULL ? 0 : -ENOMEM;
}

/* The share of the changes' known files, hashed again, that did change:
 * what a bounded pass takes to hold for the ones it left for later
 * (planner_input.deferred); 0 if it hashed none. */
static double planner_changed_share(const struct planner_input *in)
{
  size_t modified = 0;
  size_t touched = 0;
  size_t i;

  for (i = 0; i < in->n_changes; i++) {
    if (change_kind(&in->changes[i]) == CHANGE_MODIFIED)
      modified++;
    else if (change_kind(&in->changes[i]) == CHANGE_TOUCHED)
      touched++;
  }
  return modified + touched > 0
             ? (double)modified / (double)(modified + touched)
             : 0.0;
}

/* How many known files each node's wildcard would reach, but those a
 * bounded pass left for later that likely changed and those the run's
 * earlier passes sent (planner_input.fresh, which has none of the
 * former).  Only the directories of changes are nodes (a wildcard is
 * built on nothing else), and each counts its subtree by a range search
 * of the sorted manifest: a one-file batch costs O(depth log n), not a
 * walk of the whole manifest (issue 13: 180 ms a batch at a million
 * files). */
static int planner_count_manifest(struct planner_tree *pt,
                                  const struct planner_input *in)
{
  const struct planner_node *n;
  double share = in->deferred != NULL ? planner_changed_share(in) : 0.0;
  size_t first;
  size_t count;
  size_t left;
  struct buf b;
  size_t i;
  int rc = 0;

  buf_init(&b, SIZE_MAX / 2);
  for (i = 0; in->manifest != NULL && i < pt->n_nodes && rc == 0; i++) {
    n = &pt->nodes[i];
    buf_reset(&b);
    rc = buf_add(&b, planner_dir(pt, n), n->dir_len);
    if (rc < 0)
      break;
    count = manifest_range_under(in->manifest, buf_str(&b), &first);
    left = share > 0 ? seenset_count(in->deferred, first, count) : 0;
    left = (size_t)((double)left * share + 0.5);
    if (in->fresh != NULL)
      left += seenset_count(in->fresh, first, count);
    pt->nodes[i].m_files = count - (left < count ? left : count);
  }
  buf_free(&b);
  return rc;
}

/* Maps every change but the TOUCHED ones to its directory's node. */
static int planner_add_files(struct planner_tree *pt, size_t n_changes)
{
  size_t node;
  size_t i;
  int rc;

  for (i = 0; i < n_changes; i++) {
    pt->file_node[i] = PLANNER_NONE32;
    if (change_kind(&pt->changes[i]) == CHANGE_TOUCHED)
      continue;
    rc = planner_node_of_file(pt, i, &node);
    if (rc < 0)
      return rc;
    pt->file_node[i] = (uint32_t)node; /* below PLANNER_MAX_INDEX */
  }
  return 0;
}

size_t planner_file_node(const struct planner_tree *pt, size_t i)
{
  return pt->file_node[i] == PLANNER_NONE32 ? PLANNER_NONE
                                            : (size_t)pt->file_node[i];
}

/* The deepest node from i up whose wildcard covers url, or PLANNER_NONE.
 * Stems of ancestors are prefixes of each other, so every node above the
 * answer covers url too. */
static size_t planner_covering(const struct planner_tree *pt, size_t i,
                               const char *url)
{
  for (; i != PLANNER_NONE; i = planner_idx(pt->nodes[i].parent))
    if (planner_stem_covers(pt, i, url))
      return i;
  return PLANNER_NONE;
}

/* Counts change i, whose items start at g, on its own node.  ef/ew first
 * count, on the node that covers it, each URL some wildcard covers;
 * planner_sum_up turns that into what the node's own wildcard leaves
 * uncovered. */
static void planner_count_change(struct planner_tree *pt,
                                 const struct planner_input *in, size_t i,
                                 const char *g)
{
  size_t node = planner_file_node(pt, i);
  struct planner_node *n = &pt->nodes[node];
  const char *url;
  size_t cov;
  bool wild;

  n->c_files++;
  if (in->manifest != NULL &&
      manifest_find(in->manifest, in->changes[i].entry.path) != NULL)
    n->c_in_m++;
  for (url = g; *url != '\0'; url += strlen(url) + 1) {
    wild = urlmap_is_wildcard(url);
    n->xf += wild ? 0 : 1;
    n->xw += wild ? 1 : 0;
    cov = planner_covering(pt, node, url);
    if (cov != PLANNER_NONE && wild)
      pt->nodes[cov].ew++;
    else if (cov != PLANNER_NONE)
      pt->nodes[cov].ef++;
  }
}

/* Counts every change's items, built one change at a time in a buffer
 * that never holds more than one change's. */
static int planner_count_changes(struct planner_tree *pt,
                                 const struct planner_input *in,
                                 struct cfw_err *err)
{
  struct buf b;
  size_t i;
  int rc = 0;

  buf_init(&b, SIZE_MAX / 2);
  for (i = 0; i < in->n_changes && rc == 0; i++) {
    if (pt->file_node[i] == PLANNER_NONE32)
      continue;
    rc = planner_items_first(pt, in, i, &b, err);
    if (rc < 0)
      rc = cfw_err_wrap(err, rc, "%s", in->changes[i].entry.path);
    else
      planner_count_change(pt, in, i, b.data);
  }
  buf_free(&b);
  return rc;
}

/* Adds every node's change counts into its parent's (children come after
 * parents; m_files counts the subtree already), then derives what each wildcard
 * would leave uncovered: the subtree's URLs minus those covered at or below the
 * node. */
static void planner_sum_up(struct planner_tree *pt)
{
  struct planner_node *n;
  struct planner_node *p;
  size_t i;

  for (i = pt->n_nodes; i-- > 1;) {
    n = &pt->nodes[i];
    p = &pt->nodes[n->parent];
    p->c_files += n->c_files;
    p->c_in_m += n->c_in_m;
    p->xf += n->xf;
    p->xw += n->xw;
    p->ef += n->ef;
    p->ew += n->ew;
  }
  for (i = 0; i < pt->n_nodes; i++) {
    n = &pt->nodes[i];
    n->ef = n->xf - n->ef;
    n->ew = n->xw - n->ew;
    n->cf = n->xf;
    n->cw = n->xw;
  }
}

static int planner_tree_alloc(struct planner_tree *pt,
                              const struct planner_input *in)
{
  size_t root;

  if (in->n_changes > PLANNER_MAX_INDEX)
    return -ENOMEM; /* the units hold 32-bit change indices */
  pt->changes = in->changes;
  pt->file_node = calloc(in->n_changes + 1, sizeof(*pt->file_node));
  pt->recipes = calloc(in->n_changes + 1, sizeof(*pt->recipes));
  if (pt->file_node == NULL || pt->recipes == NULL ||
      planner_grow_slots(pt) < 0)
    return -ENOMEM;
  return planner_add_node(pt, "", 0, 0, PLANNER_NONE, &root);
}

/* Once every node is made: the hash that found them goes, and the nodes
 * keep no room to grow, as both would outlast their use by the whole
 * planning (issue 13: a site of one directory per page has a node per
 * change). */
static void planner_tree_settle(struct planner_tree *pt)
{
  struct planner_node *v;

  free(pt->slots);
  pt->slots = NULL;
  pt->n_slots = 0;
  if (pt->cap_nodes > pt->n_nodes) {
    v = realloc(pt->nodes, pt->n_nodes * sizeof(*v));
    if (v != NULL) { /* else the larger block serves as well */
      pt->nodes = v;
      pt->cap_nodes = pt->n_nodes;
    }
  }
}

int planner_tree_build(struct planner_tree *pt, const struct planner_input *in,
                       struct cfw_err *err)
{
  int rc;

  memset(pt, 0, sizeof(*pt));
  rc = planner_tree_alloc(pt, in);
  if (rc == 0)
    rc = planner_take_prefix(pt, in->urlmap);
  if (rc == 0)
    rc = planner_add_files(pt, in->n_changes);
  if (rc == 0) {
    planner_tree_settle(pt);
    rc = planner_make_stems(pt);
  }
  if (rc == 0)
    rc = planner_count_manifest(pt, in);
  if (rc == 0)
    rc = planner_count_changes(pt, in, err);
  if (rc == 0) {
    pt->cands = calloc(pt->n_nodes + 1, sizeof(*pt->cands));
    rc = pt->cands != NULL ? 0 : -ENOMEM;
  }
  if (rc < 0) {
    planner_tree_free(pt);
    if (err != NULL && err->code == 0)
      cfw_err_set(err, rc, "planner: %s", strerror(-rc));
    return rc;
  }
  planner_sum_up(pt);
  return 0;
}

void planner_tree_free(struct planner_tree *pt)
{
  size_t i;

  if (pt == NULL)
    return;
  for (i = 0; i < pt->n_stems; i++)
    free(pt->stems[i]);
  free(pt->stems);
  free(pt->nodes);
  free(pt->slots);
  free(pt->file_node);
  free(pt->recipes);
  free(pt->prefix);
  free(pt->cands);
  memset(pt, 0, sizeof(*pt));
}
