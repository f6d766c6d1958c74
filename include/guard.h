/* SPDX-License-Identifier: MIT */
#ifndef CFW_GUARD_H
#define CFW_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The mass-deletion guard.  `rm -rf public && slow build` (or a build
 * that empties its folder first) shows a tree with most files gone for
 * a while; sending that would invalidate every page twice, and an
 * upload step that mirrors deletions would empty the origin.  So a pass
 * whose deletions are "mass" is held whole until the tree has settled
 * or the user allows it.
 *
 * Deletions are mass when there are more than max_delete of them, or
 * when they are more than max_share of the files the state knows and at
 * least GUARD_SHARE_FLOOR (deleting 3 of a 4-page site is an edit, not
 * a rebuild in progress).  Pure: no clock, no I/O. */

#define GUARD_SHARE_FLOOR 10

bool guard_mass_deletion(size_t n_deleted, size_t n_known, uint64_t max_delete,
                         double max_share);

#endif
