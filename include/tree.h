/* SPDX-License-Identifier: MIT */
#ifndef CFW_TREE_H
#define CFW_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The entry's hash holds the SHA-256 of its content. */
#define TREE_HASHED 0x1u
/* The entry was stat'ed within TREE_RACY_WINDOW_NS of its last change, so
 * a later write in the same timestamp tick could leave every stat field
 * as it was: the (size, mtime, ctime, ino) shortcut must not be trusted
 * for it, and it is hashed again next time (git's "racy index"). */
#define TREE_RACY 0x2u
/* The file changed between the scan that read it and the invalidation
 * that covered it, so the edges may cache bytes other than those the
 * entry names (it was written after CloudFront had evicted it).  The
 * next diff sends it again even if its bytes are the recorded ones. */
#define TREE_STALE 0x4u
/* With cache_tag_header (cachetag.h): the object at the origin carries
 * this file's cache tag, and an invalidation that followed its upload
 * was accepted, so every copy the edges may cache carries the tag and
 * one '#tag' item invalidates them all.  Set by the commit of a batch
 * whose upload carried the tag; cleared by one that did not, and when
 * the tag's header changes (state.h).  Snapshot format 3 and later. */
#define TREE_TAGGED      0x8u
#define TREE_FLAGS_KNOWN (TREE_HASHED | TREE_RACY | TREE_STALE | TREE_TAGGED)

/* Two seconds covers the coarsest common timestamp (FAT) and the lag of
 * the kernel's coarse clock behind CLOCK_REALTIME. */
#define TREE_RACY_WINDOW_NS (2 * INT64_C(1000000000))

/* One regular file (or symlink to one: then the stat is the target's). */
struct tree_entry {
  /* Held (pathref.h: made by pathref_new or pathref_dup, shared with
   * other entries of the same path); relative to the root, '/'-separated,
   * raw bytes. */
  char *path;
  uint64_t size;
  int64_t mtime_ns;
  int64_t ctime_ns;
  uint64_t ino;
  uint64_t dev;
  unsigned char hash[32]; /* SHA-256 of the content if TREE_HASHED */
  uint32_t flags;         /* TREE_* */
  /* Not the tree's: 32 bits its user keeps with the entry, in room the
   * struct's padding takes anyway.  A change keeps its kind here
   * (change.h), so that it costs no more than its entry (issue 13).
   * Whoever writes a whole entry (a copy, a decode) writes this too;
   * trees, the manifest and the state files neither read nor store it. */
  uint32_t user;
};

/* The regular files under a root, sorted by strcmp(path) after a scan. */
struct tree {
  struct tree_entry *v; /* owned, and each entry's path */
  size_t n;
  size_t cap;
  int64_t scanned_at_ns; /* CLOCK_REALTIME when the scan began */
  size_t n_dirs;         /* directories read (listed) by the scan */
  /* Files the walk met but left out: its known hook had them as they
   * are, or left them for a later walk (TREE_KNOWN_SAME).  The files on
   * disk are n + n_same. */
  size_t n_same;
};

/* What a walk's known hook (tree_walk_opts) says of a file. */
enum tree_known {
  TREE_KNOWN_NONE, /* record it, with a path of its own */
  TREE_KNOWN_PATH, /* record it, holding the path the hook gave */
  TREE_KNOWN_SAME  /* leave it out: the caller has it as it is, or will
                      look at it in a later walk */
};

/* Lets the caller see each directory as the walk reads it: the daemon's
 * watch adds its inotify watches this way, so start-up is one walk
 * (watch.h).  dir, link and file run on a walking thread, one call at a
 * time even when several threads walk, and must only touch what ctx
 * owns; a directory is told before anything under it, though
 * directories of different branches may come in any order.  done runs on the
 * loop thread once the walk has ended, whatever its outcome (status 0 or a
 * negative errno), and is called by whoever drives the walk (scan.c), never by
 * tree_walk. */
struct stat;
struct timespec;
struct tree_visit {
  /* A directory about to be read: open as fd (borrowed: not to be
   * closed), st its fstat, relpath "" for the root.  A directory the
   * walk skips (excluded, a loop, unreadable) is not told. */
  void (*dir)(void *ctx, const char *relpath, int fd, const struct stat *st);
  /* A symlink met at relpath, followed or not. */
  void (*link)(void *ctx, const char *relpath);
  /* With this set, the walk records no file in its tree: it tells each
   * regular file (or link to one) it would record here instead, without
   * a stat(2) when the directory entry says it is one.  For a visitor
   * that wants names, not a tree (the watch's own walks).  May be NULL. */
  void (*file)(void *ctx, const char *relpath);
  void (*done)(void *ctx, int status);
  void *ctx; /* borrowed; passed to all three */
};

struct tree_walk_opts {
  /* Returns true to leave relpath out; for a directory, its whole
   * subtree is pruned before it is opened.  May be NULL. */
  bool (*skip)(void *ctx, const char *relpath, bool is_dir);
  /* Told about what was left out and why, as a negative errno: -EACCES
   * (unreadable subtree), -ENOENT (vanished, or a dangling symlink),
   * -ELOOP (symlinked directory loop), -ENAMETOOLONG, -EMFILE...  The
   * scan goes on.  May be NULL. */
  void (*warn)(void *ctx, const char *relpath, int err);
  /* What the caller already has of the regular file at relpath, which
   * st describes (issue 13).  TREE_KNOWN_SAME leaves it out of the tree,
   * counted in n_same: so the walk of a tree that did not change records
   * nothing, and one that did records only what the caller must look
   * at.  TREE_KNOWN_PATH records it with *path, the path another entry
   * already holds (the manifest's), held once more for the walk's
   * entry, so that it allocates no path.  TREE_KNOWN_NONE records it
   * with a path of its own.  Called from the walk's threads at once,
   * like skip.  May be NULL: every file is recorded. */
  enum tree_known (*known)(void *ctx, const char *relpath,
                           const struct stat *st, char **path);
  void *ctx; /* borrowed; passed to all three */
  /* A symlink whose target resolves (realpath) outside the root is left
   * out with -EXDEV unless this is set: a build folder must not make
   * cfwatch read /etc or a home directory.  Links that stay inside, by
   * any route, are followed either way.  Default false. */
  bool follow_outside;
  /* The directory symlinks must stay inside, when it is not the root
   * itself: a partial scan of ROOT/sub passes ROOT, so sub's links to
   * elsewhere in the site count as inside.  Borrowed; NULL: the root. */
  const char *contain;
  /* Told of each directory and symlink as the walk meets it; NULL:
   * nobody.  Borrowed. */
  const struct tree_visit *visit;
  /* Up to this many threads walk at once (the caller's included), each
   * starting only when a directory can be handed to it; 0 or 1: the
   * caller's alone.  With several, skip and known are called from any
   * of them at once (so must be safe to), warn and the visitor's calls
   * from one at a time. */
  size_t threads;
};

void tree_init(struct tree *t);
void tree_free(struct tree *t); /* NULL is fine; leaves t empty */

/* Lists the regular files under root into t (overwritten, not freed: free
 * an old tree first).  Symlinks to files and directories are followed
 * while they stay inside (see follow_outside); FIFOs, sockets and devices
 * are skipped without being opened.  Only the root failing fails the scan
 * (-ENOENT, -ENOTDIR, -EACCES..., -EXDEV if root lies outside
 * o->contain), and -ENOMEM; then t is left empty.  o may be NULL (links
 * stay inside).  Cost: one fstatat per file, one open+fstat per
 * directory, a realpath per symlink unless follow_outside, then a sort. */
int tree_walk(struct tree *t, const char *root, const struct tree_walk_opts *o,
              struct cfw_err *err);

/* True if path is base or lies under it; both are absolute and
 * canonical (realpath results). */
bool tree_path_within(const char *base, const char *path);

/* Resolves path with realpath(3) and checks that the result lies within
 * base (a realpath result).  0 with the result in *out (the caller frees
 * it), -EXDEV if it lies outside, or realpath's error as a negative errno
 * (-ENOENT for a dangling link, -ELOOP, -EACCES, -ENAMETOOLONG, -ENOMEM);
 * then *out is NULL. */
int tree_resolve_within(const char *base, const char *path, char **out);

/* Appends the file at path (relative) with st's size, times, inode and
 * device.  0 or -ENOMEM. */
int tree_add(struct tree *t, const char *path, const struct stat *st);

/* The same with a path already made (a pathref, taken: dropped on
 * -ENOMEM). */
int tree_add_held(struct tree *t, char *path, const struct stat *st);

/* Records the file at path as o's known hook says (tree_walk_opts): for
 * whoever walks part of a tree by other means (partwalk.h).  o may be
 * NULL.  0 or -ENOMEM. */
int tree_add_known(struct tree *t, const char *path, const struct stat *st,
                   const struct tree_walk_opts *o);

/* A timestamp as entries keep them: nanoseconds since the epoch. */
int64_t tree_ts_ns(const struct timespec *ts);

/* Sets e's size, times, inode and device from st. */
void tree_entry_set_stat(struct tree_entry *e, const struct stat *st);

/* True if a and b have the same size, mtime, ctime and inode: the
 * shortcut for "certainly unchanged" (diff.h says when it may be used). */
bool tree_entry_same_stat(const struct tree_entry *a,
                          const struct tree_entry *b);

/* Appends *e, taking its path (freed on -ENOMEM). */
int tree_append(struct tree *t, struct tree_entry *e);

/* Appends src's entries to t's, leaving src without entries (its
 * scanned_at_ns, n_dirs and n_same as they were): t's array grows once, then
 * src's shrinks as its entries move, a slice at a time, so that the
 * two hold the same entries for at most a slice (1 MiB) beyond the
 * room t needs (issue 13).  0, or -ENOMEM with both as they were. */
int tree_move_all(struct tree *t, struct tree *src);

/* Copies src into dst with a fresh path.  0 or -ENOMEM (dst untouched).
 * src's path may be any string, not only a pathref. */
int tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src);

/* Copies src into dst holding src's own path, which must be a pathref
 * (a manifest's or a walk's entry): what a change of a file the
 * manifest knows keeps, rather than a copy (issue 13). */
void tree_entry_share(struct tree_entry *dst, const struct tree_entry *src);

/* Drops e's path (NULL is fine). */
void tree_entry_free(struct tree_entry *e);

/* qsort/bsearch comparator on path. */
int tree_entry_cmp(const void *a, const void *b);

#endif
