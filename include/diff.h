/* SPDX-License-Identifier: MIT */
#ifndef CFW_DIFF_H
#define CFW_DIFF_H

#include <stddef.h>

#include "change.h"
#include "err.h"
#include "manifest.h"
#include "seenset.h"
#include "tree.h"

/* Pending work is diff(tree on disk, manifest), in three steps so that
 * hashing can run on worker threads:
 *
 *   diff_begin(&d, &tree, m, err);          decide what needs hashing
 *   diff_hash_range(d, root, 0, diff_hash_count(d));   any split, any thread
 *   diff_finish(d, &v, &n, err);            the changes, sorted by path
 *   ... invalidate them; once CloudFront acknowledged:
 *   manifest_apply(m, v, n, err); manifest_save(m, state_dir, err);
 *
 * A baseline (first run) is the same walk against an empty manifest
 * (manifest_new): every file comes out ADDED and hashed, and applying the
 * changes records them without invalidating anything.
 *
 * A file is taken as unchanged without hashing only if size, mtime_ns,
 * ctime_ns and ino all equal the manifest's and the manifest's entry is
 * not TREE_RACY.  Otherwise it is hashed and compared by content.
 *
 * The walk may apply that rule as it goes (diff_unchanged_stat), leaving
 * each unchanged file out of its tree and marking its manifest entry in
 * a seenset: then the tree holds only what the rule could not rule out,
 * and the diff, given the set, takes a marked entry missing from the
 * tree as unchanged, not deleted (issue 13). */

struct diff; /* opaque */
struct stat;

/* The shortcut's rule, its one home: true if a file that st describes
 * is certainly what old recorded, so that it needs no hashing. */
bool diff_unchanged_stat(const struct stat *st, const struct tree_entry *old);

/* True if the only reason such a file needs hashing is that old was
 * recorded within the racy window: its stat is as recorded. */
bool diff_racy_same(const struct stat *st, const struct tree_entry *old);

/* What a walk that compared as it went tells the diff. */
struct diff_walked {
  /* The entries of m the walk left out of t, as unchanged or for a
   * later diff, borrowed until diff_begin_take returns; NULL: none.  Any
   * other entry of m missing from t is deleted. */
  const struct seenset *seen;
  /* At most this many candidates, the first in path order (a racy file
   * as recorded, diff_racy_same, does not count): the others are left
   * for a later diff, neither changed nor deleted, and counted
   * (diff_deferred_count).  0: no bound. */
  size_t bound;
  /* NULL, or a set of m's entries where each one the bound leaves is
   * marked too (borrowed until diff_begin_take returns). */
  struct seenset *deferred;
};

/* Compares t with m and records, in path order, which tree entries need
 * hashing.  It takes t's entries over (t is left empty, also on error):
 * t's array is resized in place to become the change array, each
 * unchanged entry is freed at once, and the array shrinks to the files
 * to hash, which cost a byte more until diff_finish; so a full tree's
 * array and a full change array never exist at once (issue 13).  m's
 * entries are referred to until diff_finish, so m must not change until
 * then.  An entry is marked TREE_RACY if its mtime or ctime lies within
 * TREE_RACY_WINDOW_NS of t->scanned_at_ns (or after it).  t must be
 * sorted by path with no duplicates, as tree_walk leaves it (else
 * -EINVAL).  w (NULL: nothing) says what the walk left out and the
 * bound.  0, -EINVAL or -ENOMEM.  O(n + m). */
int diff_begin_take(struct diff **out, struct tree *t, const struct manifest *m,
                    const struct diff_walked *w, struct cfw_err *err);

/* The same against old[0, n_old) instead of a whole manifest: the
 * manifest entries a partial walk covers (partwalk_entries), borrowed until
 * diff_finish, sorted by path with no duplicates (else -EINVAL, like an
 * unsorted t).  A view costs 8 bytes an entry where a sub-manifest
 * copied each (issue 13). */
int diff_begin_take_view(struct diff **out, struct tree *t,
                         const struct tree_entry *const *old, size_t n_old,
                         const struct diff_walked *w, struct cfw_err *err);

/* The same as diff_begin_take with a copy of t, which is not referenced
 * afterwards. */
int diff_begin(struct diff **out, const struct tree *t,
               const struct manifest *m, struct cfw_err *err);

/* Entries still to hash: items [0, count) for diff_hash_range. */
size_t diff_hash_count(const struct diff *d);

/* Candidates left for a later diff by the bound (struct diff_walked). */
size_t diff_deferred_count(const struct diff *d);

/* Hashes items [from, to) of the files under root.  Safe to call from
 * several threads at once for disjoint ranges.  A file that vanished (or
 * is no longer a regular file) is recorded as gone; one that cannot be
 * read is recorded as failed and reported by diff_failed_*; neither stops
 * the range.  Returns 0, -EINVAL for a bad range, or the error opening
 * root (then every item in the range is recorded as failed). */
int diff_hash_range(struct diff *d, const char *root, size_t from, size_t to);

/* Hands over the changes, sorted by path, in *out (free with
 * changes_free; NULL when n is 0): the array diff_begin_take made,
 * compacted in place and shrunk, so it allocates only the failure
 * records and, if files were deleted, their room.  A file that could
 * not be hashed is left out, so it stays pending; see diff_failed_*.
 * Call once, after every item was hashed (else -EINVAL).  0, -EINVAL or
 * -ENOMEM; on an error the diff is as it was. */
int diff_finish(struct diff *d, struct change **out, size_t *n_out,
                struct cfw_err *err);

/* Files that could not be hashed, valid until diff_destroy: the i-th
 * path (borrowed) and its negative errno in *code. */
size_t diff_failed_count(const struct diff *d);
const char *diff_failed_at(const struct diff *d, size_t i, int *code);

void diff_destroy(struct diff *d);             /* NULL is fine */
void changes_free(struct change *v, size_t n); /* NULL is fine */

#endif
