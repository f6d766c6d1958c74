/* SPDX-License-Identifier: MIT */
#ifndef CFW_MANIFEST_H
#define CFW_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "change.h"
#include "err.h"
#include "tree.h"

/* What CloudFront has been told: for each relative path, the content hash
 * it was last invalidated with, plus the stat fields that let an untouched
 * file skip hashing.  Entries are kept sorted by strcmp(path).  This is
 * the in-memory table; state.h keeps it on disk. */
struct manifest;

/* Longest path an entry may hold (a root-relative path longer than this
 * cannot be opened anyway). */
#define MANIFEST_PATH_MAX 4096

/* An empty manifest.  0 or -ENOMEM. */
int manifest_new(struct manifest **out);

/* A manifest holding v[0..n), which it takes over (v and each path):
 * the entries must be valid, sorted by path and unique (statefmt.h
 * checks what it decodes).  0, or -ENOMEM with v still the caller's. */
int manifest_adopt(struct manifest **out, struct tree_entry *v, size_t n);
void manifest_destroy(struct manifest *m); /* NULL is fine */

/* Clears flags (TREE_*, not TREE_HASHED) in every entry.  O(n). */
void manifest_clear_flags(struct manifest *m, uint32_t flags);

/* Clears flags in the entry for path, if there is one.  O(log n). */
void manifest_unflag(struct manifest *m, const char *path, uint32_t flags);

/* A deep copy of m.  0 or -ENOMEM.  O(n). */
int manifest_copy(struct manifest **out, const struct manifest *m);

/* The entry for path, borrowed from m until it changes; NULL if none.
 * O(log n). */
const struct tree_entry *manifest_find(const struct manifest *m,
                                       const char *path);
size_t manifest_count(const struct manifest *m);
/* How many entries lie under the directory dir, at any depth: those whose
 * path begins with dir and a '/' ("" counts them all).  O(log n). */
size_t manifest_count_under(const struct manifest *m, const char *dir);
/* The same, with the index of the first of them in *first (entries
 * first.. first + count - 1 in path order). */
size_t manifest_range_under(const struct manifest *m, const char *dir,
                            size_t *first);
/* The i-th entry in path order (i < count), borrowed. */
const struct tree_entry *manifest_at(const struct manifest *m, size_t i);

/* True if path may be stored: non-empty, at most MANIFEST_PATH_MAX
 * bytes, relative, without empty, "." or ".." components. */
bool manifest_path_ok(const char *path, size_t len);

/* Inserts a copy of e, or replaces the entry with its path.  e must be
 * TREE_HASHED with a valid path (-EINVAL).  0, -EINVAL or -ENOMEM.  O(n)
 * for the move; batch with manifest_apply. */
int manifest_put(struct manifest *m, const struct tree_entry *e);
/* Removes path.  0 or -ENOENT.  O(n). */
int manifest_remove(struct manifest *m, const char *path);

/* Records acknowledged changes: ADDED, MODIFIED and TOUCHED are put,
 * DELETED removed (an absent path is fine), in any order, in one pass
 * over m, in place: m's entries and path strings stay where they are,
 * removals close up, and adds grow the array once, so a batch costs no
 * second manifest (issue 13).  v is read where it lies when sorted by
 * path, as a diff's changes are, and through a sorted array of pointers
 * otherwise.  O(k log(size / k) + moved entries) for k changes (plus
 * O(k log k) to sort them).  All or nothing: on -EINVAL (two changes of
 * one path, a put that is not hashed or has a bad path) or -ENOMEM, m
 * holds what it held (perhaps with more room). */
int manifest_apply(struct manifest *m, const struct change *v, size_t n,
                   struct cfw_err *err);

/* The same, but m takes the path string of each entry it adds rather
 * than copying it (that change's entry.path is left NULL; changes_free
 * still frees v), for a caller about to free v: a commit (issue 13).
 * On failure v is unchanged. */
int manifest_apply_take(struct manifest *m, struct change *v, size_t n,
                        struct cfw_err *err);

#endif
