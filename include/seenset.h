/* SPDX-License-Identifier: MIT */
#ifndef CFW_SEENSET_H
#define CFW_SEENSET_H

#include <stdbool.h>

#include "manifest.h"
#include "tree.h"

/* The manifest entries a walk met with their recorded stat, so that it
 * left them out of its tree (TREE_KNOWN_SAME, tree.h): one bit an entry
 * (125 KB for a million files), where a recorded entry costs 88 bytes
 * and a path (issue 13).  The diff reads them to tell a file left out
 * as unchanged from one that is gone (diff.h).
 *
 *   seenset_new(&s, m);
 *   seenset_mark(s, e);   on the walk's threads, several at once
 *   seenset_has(s, e);    once the walk is over (its threads joined)
 *
 * m is borrowed and must not change while the set is in use: each entry
 * is known by its place in m's array. */

struct seenset; /* opaque */

/* A set of none of m's entries.  0 or -ENOMEM. */
int seenset_new(struct seenset **out, const struct manifest *m);

/* Marks e, one of m's entries (else nothing happens).  Safe from several
 * threads at once. */
void seenset_mark(struct seenset *s, const struct tree_entry *e);

/* True if e, one of m's entries, was marked. */
bool seenset_has(const struct seenset *s, const struct tree_entry *e);

/* How many of m's entries first.. first + n - 1 are marked (those past
 * m's end count as not). */
size_t seenset_count(const struct seenset *s, size_t first, size_t n);

void seenset_destroy(struct seenset *s); /* NULL is fine */

#endif
