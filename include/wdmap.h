/* SPDX-License-Identifier: MIT */
#ifndef CFW_WDMAP_H
#define CFW_WDMAP_H

#include <stdbool.h>
#include <stddef.h>

/* inotify watch descriptor -> the directory it watches (relative path).
 * Open addressing keyed by wd: wds only grow, so an array indexed by wd
 * would grow without bound while directories come and go. */
struct wdmap_entry {
  int wd;        /* 0 = empty slot, -1 = deleted slot */
  char *rel;     /* owned; "" for the root */
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

/* Sets wd -> a copy of rel (replacing an older mapping).  0 or -ENOMEM. */
int wdmap_put(struct wdmap *m, int wd, const char *rel);
struct wdmap_entry *wdmap_get(const struct wdmap *m, int wd);
void wdmap_del(struct wdmap *m, int wd);

#endif
