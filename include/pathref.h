/* SPDX-License-Identifier: MIT */
#ifndef CFW_PATHREF_H
#define CFW_PATHREF_H

#include <stddef.h>

/* A tree entry's path (tree.h): a string that several entries may hold
 * at once, freed with the last of them.  The manifest holds one for each
 * file of the site, and a pass's walk and changes hold the manifest's
 * own instead of copies: a full rewrite otherwise kept every path twice,
 * a third of the pass's memory (issue 13).
 *
 * It reads as a plain NUL-terminated string, but it is not malloc'd
 * where it starts: release it with pathref_drop, never free, and make
 * every tree_entry path with pathref_new or pathref_dup.  Its bytes
 * never change once made, so holders on several threads may read it;
 * the count is atomic, so they may also hold and drop it. */

/* A new path of the len bytes at s (which need no NUL), held once.
 * NULL when out of memory. */
char *pathref_new(const char *s, size_t len);

/* The same for the string s. */
char *pathref_dup(const char *s);

/* Holds p once more and returns it; NULL stays NULL. */
char *pathref_hold(char *p);

/* Drops one hold on p, freeing it with the last; NULL is ignored. */
void pathref_drop(char *p);

#endif
