/* SPDX-License-Identifier: MIT */
#ifndef CFW_PARTWALK_H
#define CFW_PARTWALK_H

#include "err.h"
#include "manifest.h"
#include "strlist.h"
#include "tree.h"

/* The partial walk: the part of the tree a batch of watch events points
 * at (a whole walk is tree_walk, tree.h).  Diffing just
 * these paths against just the matching manifest entries finds the same
 * changes a full walk would find there, at a cost proportional to what
 * changed rather than to the site. */

/* Sorts and dedupes paths and drops those under another one in the list
 * ("a" covers "a/b", also with "a.html" between them).  Out of memory,
 * it keeps them all: a path listed twice is walked twice, which the
 * caller's sort and dedupe absorb. */
void partwalk_normalise(struct strlist *paths);

/* Lists the regular files at or under each of the (normalised) paths,
 * relative to root, into the empty tree t, sorted by path.  A path that
 * is gone lists nothing.  o's skip and warn see whole relative paths. */
int partwalk_tree(struct tree *t, const char *root, const struct strlist *paths,
                  const struct tree_walk_opts *o, struct cfw_err *err);

/* Lists the entries of m at or under each of the (normalised) paths in
 * *out (the caller frees the array; the entries stay m's, borrowed until
 * m changes), sorted by path with none twice: the view
 * diff_begin_take_view compares a partial walk's tree with, 8 bytes an entry
 * where a copy of each cost its entry and path (issue 13).  NULL when
 * *n_out is 0.  0 or -ENOMEM.  O(k log n) for k entries. */
int partwalk_entries(const struct tree_entry ***out, size_t *n_out,
                     const struct manifest *m, const struct strlist *paths,
                     struct cfw_err *err);

#endif
