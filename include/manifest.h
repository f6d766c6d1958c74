/* SPDX-License-Identifier: MIT */
#ifndef CFW_MANIFEST_H
#define CFW_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tree.h"

/* What CloudFront has been told: for each relative path, the content hash
 * it was last invalidated with, plus the stat fields that let an untouched
 * file skip hashing.  Entries are kept sorted by strcmp(path).
 *
 * On disk it is <state_dir>/manifest, a versioned binary file (all
 * integers little-endian):
 *
 *   header   "CFWMANI\n"  u32 version (1)  u32 flags (0)
 *            u64 file length, trailer included
 *            i64 written_at_ns  u64 entry count
 *            u32 root length, root bytes
 *   entries  u32 path length, path bytes (sorted, unique), u64 size,
 *            i64 mtime_ns, i64 ctime_ns, u64 ino, u64 dev, u32 flags,
 *            32-byte SHA-256 of the content
 *   trailer  32-byte SHA-256 of everything before it
 *
 * No length in the file is trusted: the load checks magic, version and
 * length, then the checksum, then parses with bounds checks. */
struct manifest;

#define MANIFEST_FILE    "manifest"
#define MANIFEST_VERSION 1
/* Longest path an entry may hold (a root-relative path longer than this
 * cannot be opened anyway). */
#define MANIFEST_PATH_MAX 4096
/* Larger files are refused rather than read (100k files take ~10 MB). */
#define MANIFEST_MAX_BYTES (UINT64_C(1) << 30)

/* An empty manifest with root "".  0 or -ENOMEM. */
int manifest_new(struct manifest **out);
void manifest_destroy(struct manifest *m); /* NULL is fine */

/* Reads <state_dir>/manifest.  -ENOENT if there is none (first run: the
 * message says so too).  A damaged file is never taken as empty: a wrong
 * magic, a wrong length (truncated or extended), a checksum mismatch or a
 * malformed body give -EBADMSG, an unknown version -EPROTO, each with a
 * message naming the file and how to start over.  A leftover
 * manifest.tmp is ignored (the next save replaces it).  Cost: one read,
 * one SHA-256 pass, one allocation per entry. */
int manifest_load(struct manifest **out, const char *state_dir,
                  struct cfw_err *err);

/* Writes m to <state_dir>/manifest atomically (see atomicfile.h),
 * creating state_dir with mode 0700 if needed; the file is 0600.  On
 * success m's written time becomes the one saved, and it only grows, so
 * every saved version of the manifest has its own identity. */
int manifest_save(struct manifest *m, const char *state_dir,
                  struct cfw_err *err);

/* The entry for path, borrowed from m until it changes; NULL if none.
 * O(log n). */
const struct tree_entry *manifest_find(const struct manifest *m,
                                       const char *path);
size_t manifest_count(const struct manifest *m);
/* The i-th entry in path order (i < count), borrowed. */
const struct tree_entry *manifest_at(const struct manifest *m, size_t i);

/* The build folder the manifest belongs to ("" if never set). */
const char *manifest_root(const struct manifest *m);
int manifest_set_root(struct manifest *m, const char *root); /* -ENOMEM */
/* When the loaded file was written (0 for a new manifest). */
int64_t manifest_written_at_ns(const struct manifest *m);

/* True if path may be stored: non-empty, at most MANIFEST_PATH_MAX
 * bytes, relative, without empty, "." or ".." components. */
bool manifest_path_ok(const char *path, size_t len);

/* Inserts a copy of e, or replaces the entry with its path.  e must be
 * TREE_HASHED with a valid path (-EINVAL).  0, -EINVAL or -ENOMEM.  O(n)
 * for the move; batch with manifest_edit. */
int manifest_put(struct manifest *m, const struct tree_entry *e);
/* Removes path.  0 or -ENOENT.  O(n). */
int manifest_remove(struct manifest *m, const char *path);

/* One edit of a batch: put a copy of *entry, or remove entry->path. */
struct manifest_edit {
  const struct tree_entry *entry; /* borrowed */
  bool remove;
};

/* Applies n edits at once, in any order, by one merge: O(n log n + size).
 * Removing an absent path is fine.  All or nothing: on -EINVAL (two edits
 * of one path, a put that is not hashed or has a bad path) or -ENOMEM, m
 * is unchanged. */
int manifest_edit(struct manifest *m, const struct manifest_edit *ed, size_t n,
                  struct cfw_err *err);

#endif
