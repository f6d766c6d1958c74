/* SPDX-License-Identifier: MIT */
#ifndef CFW_WDMAP_H
#define CFW_WDMAP_H

#include <stdbool.h>
#include <stddef.h>

/* inotify watch descriptor -> the directory it watches.  inotify gives
 * one wd per inode, so a directory that symlinks also lead to is one
 * entry with several paths.  Open addressing keyed by wd: wds only grow,
 * so an array indexed by wd would grow without bound while directories
 * come and go. */
struct wdmap_entry {
  int wd;      /* 0 = empty slot, -1 = deleted slot */
  char **rels; /* owned, each owned: the paths (relative to the root)
                  that reach this directory; "" is the root */
  size_t n_rels;
  size_t pins;   /* symlinked files in this directory: it stays watched
                    for them even when no path of the tree reaches it */
  bool removing; /* inotify_rm_watch sent, IN_IGNORED not yet seen */
};

struct wdmap {
  struct wdmap_entry *v; /* owned */
  size_t cap;            /* a power of two, or 0 */
  size_t used;           /* live entries */
  size_t filled;         /* live + deleted slots */
};

void wdmap_init(struct wdmap *m);
void wdmap_free(struct wdmap *m);

/* Adds a copy of rel to wd's paths (nothing if it is there already),
 * making the entry if needed; rel NULL only makes the entry.  Returns
 * the entry, or NULL on ENOMEM (then nothing changed but maybe a new
 * entry without paths). */
struct wdmap_entry *wdmap_add(struct wdmap *m, int wd, const char *rel);
struct wdmap_entry *wdmap_get(const struct wdmap *m, int wd);
void wdmap_del(struct wdmap *m, int wd);

/* True if path is prefix or lies under it; "" covers every path. */
bool wdmap_covers(const char *prefix, const char *path);

/* Removes e's paths that prefix covers; returns how many are left. */
size_t wdmap_drop_under(struct wdmap_entry *e, const char *prefix);

#endif
