/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFACACHE_H
#define CFW_CFACACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The path counts of invalidations already read, kept in the state dir
 * so that counting the account's month again reads only the lists.  An
 * invalidation's batch never changes once CloudFront made it (only its
 * Status does), so a count read once holds for good.
 *
 * <state_dir>/account-paths is a small text file, "cfwatch-account 1"
 * then one "ID PATHS CREATED" line per invalidation, sorted by id,
 * rewritten atomically under an flock on <state_dir>/account-paths.lock
 * (two `status --account` may run at once).  Bookkeeping only: a damaged
 * file is reported and counts nothing. */

#define CFACACHE_MAX_ENTRIES 1000000

struct cfacache_entry {
  char id[64];
  uint32_t paths;    /* the batch's Quantity */
  int64_t created_s; /* its CreateTime */
};

struct cfacache {
  struct cfacache_entry *v; /* owned; sorted by id, no duplicates */
  size_t n;
  size_t cap;
};

void cfacache_init(struct cfacache *c);
void cfacache_free(struct cfacache *c); /* NULL is fine */

/* Reads <state_dir>/account-paths into c (initialised); a missing file
 * gives an empty cache.  -EBADMSG for a damaged one (c is then empty);
 * another negative errno if it cannot be read. */
int cfacache_load(struct cfacache *c, const char *state_dir,
                  struct cfw_err *err);

/* The entry for id, or NULL.  O(log n). */
const struct cfacache_entry *cfacache_find(const struct cfacache *c,
                                           const char *id);

/* Adds (or replaces) id's count.  0, -EINVAL (an id that is empty, too
 * long or not A-Z 0-9) or -ENOMEM.  O(n) for the insertion. */
int cfacache_add(struct cfacache *c, const char *id, uint32_t paths,
                 int64_t created_s);

/* Writes the entries created at or after since_s (the month counted:
 * older ones are never asked for again), creating the state dir if
 * needed.  0 or a negative errno. */
int cfacache_save(const struct cfacache *c, const char *state_dir,
                  int64_t since_s, struct cfw_err *err);

#endif
