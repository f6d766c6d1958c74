/* SPDX-License-Identifier: MIT */
#ifndef CFW_HARDLINKS_H
#define CFW_HARDLINKS_H

#include <sys/stat.h>
#include <uv.h>

/* The other names of hard-linked files in a tree.  inotify reports a
 * write under the name it was made through; another name of the same
 * inode in the tree hears nothing, yet its content changed too.  The
 * kernel cannot tell us the other names, so they are found by a walk of
 * the tree (on the threadpool), started the first time a file with more
 * than one link changes and again when a name appears whose inode the
 * last walk did not see.  Until a walk is needed, nothing is kept: a tree
 * without hard links costs nothing here.
 *
 * The walk is the scan's own (tree_walk): symlinks inside the tree are
 * followed as a scan follows them, so the names found are the paths a
 * full scan lists.  Names that vanish since the last walk may still be
 * reported; a path reported in vain costs the consumer a stat. */
struct hardlinks;

/* report(ctx, rel): rel, relative to the root, names a file whose content
 * may have changed.  It runs on the loop thread. */
int hardlinks_new(struct hardlinks **out, uv_loop_t *loop,
                  void (*report)(void *ctx, const char *rel), void *ctx);

/* Frees h; NULL is fine.  A walk in flight ends first, unreported. */
void hardlinks_destroy(struct hardlinks *h);

/* Names are relative to root (absolute, without symlinks: a realpath
 * result; copied).  Forgets what was known, and drops a walk in flight.
 * 0 or -ENOMEM. */
int hardlinks_reset(struct hardlinks *h, const char *root);

/* rel (relative to the root) changed, and lstat(2) found st there: the
 * other names of its inode are reported, now if they are known, else
 * once a walk has found them. */
void hardlinks_changed(struct hardlinks *h, const char *rel,
                       const struct stat *st);

/* rel is a new name (created or moved in) of the file st describes. */
void hardlinks_named(struct hardlinks *h, const char *rel,
                     const struct stat *st);

#endif
