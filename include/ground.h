/* SPDX-License-Identifier: MIT */
#ifndef CFW_GROUND_H
#define CFW_GROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diff.h"
#include "err.h"
#include "s3url.h"
#include "s3xml.h"

/* A first run on an S3 origin takes the bucket as the ground truth
 * instead of recording a silent baseline: a lost state dir (an evicted
 * CI cache) must not hide the changes made since the last deploy.
 *
 *   ground_init(&g);
 *   ground_add_page(&g, &origin, page, excluded, ctx);   per list page
 *   ground_baseline(&g, root, tree, n, &v, &nv, &stats, err);
 *   state_baseline(state, v, nv, err);  then diff the tree again
 *
 * The baseline names what the bucket holds: a file whose object has its
 * size and its MD5 as ETag (what S3 reports for one PutObject without
 * SSE-KMS) is recorded as on disk, hashed, so it costs nothing; every
 * other object is recorded with no known content (a zero hash, marked
 * TREE_STALE), so the next diff finds it modified, or deleted when no
 * file has its key.  Files without an object are left out, so they come
 * out added.  The diff then sends exactly what differs, through the
 * usual crash-safe steps: after a crash the baseline alone is on disk,
 * and it still says what the bucket holds.
 *
 * An object without a file is deleted only when deletions are allowed
 * (--allow-delete, allow_delete): its bytes were never cfwatch's to
 * know, and it may be another tool's under the same prefix.  Until then
 * it stays pending (ground_unknown_bytes() tells such entries) while the
 * rest of the pass goes out.
 *
 * What a listing cannot show: an object with the right bytes whose
 * invalidation was never accepted (a crash between the upload and the
 * invalidation, and then the state lost too).  --all covers that. */

struct ground_object {
  char *rel; /* owned: the key without the origin's prefix */
  uint64_t size;
  char etag[S3_ETAG_MAX + 1];
};

struct ground {
  struct ground_object *v; /* owned */
  size_t n;
  size_t cap;
  size_t skipped; /* keys that name no file of the site */
};

struct ground_stats {
  size_t same;    /* files whose object holds their bytes */
  size_t differ;  /* files whose object holds other (or unknown) bytes */
  size_t missing; /* files without an object */
  size_t extra;   /* objects without a file */
};

void ground_init(struct ground *g);
void ground_free(struct ground *g); /* NULL is fine */

/* Adds a ListObjectsV2 page's objects under origin's prefix.  Keys that
 * cannot name a file under the root (a folder marker "dir/", "a//b",
 * "..") or that excluded(ctx, rel, is_dir) leaves out are skipped and
 * counted.  0 or -ENOMEM. */
int ground_add_page(struct ground *g, const struct s3url *origin,
                    const struct s3_list_page *p,
                    bool (*excluded)(void *ctx, const char *rel, bool is_dir),
                    void *ctx);

/* The baseline of the tree's files (tree[0..n), sorted by path, hashed:
 * a first run's diff) against the bucket, as ADDED changes sorted by
 * path in *out (changes_free).  Reads the files whose object may hold
 * their bytes (same size, a plain ETag) under root, so it belongs on a
 * worker thread.  A file that cannot be read counts as differing.
 * Sorts g.  0, or -ENOMEM / -EINVAL (root cannot be opened). */
int ground_baseline(struct ground *g, const char *root,
                    const struct change *tree, size_t n, struct change **out,
                    size_t *n_out, struct ground_stats *st,
                    struct cfw_err *err);

/* True for an entry the baseline recorded with unknown bytes. */
bool ground_unknown_bytes(const struct tree_entry *e);

#endif
