/* SPDX-License-Identifier: MIT */
#ifndef CFW_SUBSCAN_H
#define CFW_SUBSCAN_H

#include "err.h"
#include "manifest.h"
#include "strlist.h"
#include "tree.h"

/* The part of the tree a batch of watch events points at.  Diffing just
 * these paths against just the matching manifest entries finds the same
 * changes a full walk would find there, at a cost proportional to what
 * changed rather than to the site. */

/* Sorts and dedupes paths and drops those under another one in the list
 * ("a" covers "a/b", also with "a.html" between them).  Out of memory,
 * it keeps them all: a path listed twice is walked twice, which the
 * caller's sort and dedupe absorb. */
void subscan_normalise(struct strlist *paths);

/* Lists the regular files at or under each of the (normalised) paths,
 * relative to root, into the empty tree t, sorted by path.  A path that
 * is gone lists nothing.  o's skip and warn see whole relative paths. */
int subscan_tree(struct tree *t, const char *root, const struct strlist *paths,
                 const struct tree_scan_opts *o, struct cfw_err *err);

/* Copies the entries of m at or under each of the (normalised) paths
 * into a new manifest *out.  O(k log n) for k entries copied. */
int subscan_manifest(struct manifest **out, const struct manifest *m,
                     const struct strlist *paths, struct cfw_err *err);

#endif
