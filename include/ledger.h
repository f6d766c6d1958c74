/* SPDX-License-Identifier: MIT */
#ifndef CFW_LEDGER_H
#define CFW_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* What a state dir has sent: the invalidations it created (for `status`
 * and for the in-progress budget) and the paths sent this month (for the
 * cost).  Bookkeeping, not the invariant: the manifest alone decides
 * what is pending, so a damaged ledger is reported and started afresh.
 *
 * <state_dir>/ledger is a small text file, rewritten atomically under an
 * flock on <state_dir>/ledger.lock, so a daemon and `cfwatch invalidate`
 * can both record into it. */

#define LEDGER_KEEP 200 /* invalidations remembered */

struct ledger_entry {
  char id[64];
  int64_t created_s; /* seconds since the epoch */
  uint32_t n_paths;
  uint32_t n_wildcards;
  char status[16]; /* "InProgress" or "Completed", as last seen */
  char dist[64];   /* its distribution; "" if not recorded (one) */
};

struct ledger {
  char month[8]; /* "2026-11": the month month_paths counts */
  uint64_t month_paths;
  struct ledger_entry *v; /* owned; oldest first */
  size_t n;
  size_t cap; /* private: the room v has */
};

void ledger_init(struct ledger *l);
void ledger_free(struct ledger *l);

/* Reads <state_dir>/ledger; a missing file gives an empty ledger.
 * -EBADMSG for a damaged one (l is then empty and usable). */
int ledger_load(struct ledger *l, const char *state_dir, struct cfw_err *err);

/* Records an accepted invalidation (or updates its status if id is
 * known at dist) and adds its paths to the month of now_s, in one
 * locked read-modify-write of the file.  n_paths counts wildcards too:
 * each costs as one path.  dist names the distribution (a site of
 * several records each one's invalidation, and AWS bills each one's
 * paths: planner.h), or is NULL for a site of one, whose ledger stays as it
 * was: an "inv" line gets a seventh field only with dist, which older readers
 * ignore. */
int ledger_record_at(const char *state_dir, const char *id, const char *dist,
                     uint32_t n_paths, uint32_t n_wildcards, const char *status,
                     int64_t now_s, struct cfw_err *err);
/* One invalidation for ledger_record_v; every pointer borrowed. */
struct ledger_rec {
  const char *id;
  const char *dist; /* NULL for a site of one, as in ledger_record_at */
  uint32_t n_paths; /* wildcards included */
  uint32_t n_wildcards;
  /* As CloudFront said; NULL if not known: a known entry keeps its own,
   * a new one reads "InProgress". */
  const char *status;
  int64_t at_s; /* when it was created */
};

/* ledger_record_at for each of v[0..n), in one locked read-modify-write:
 * an id already known at its distribution is not counted again (within
 * the LEDGER_KEEP last), and paths created in a month before the one
 * the ledger counts are not counted.  0, or a negative errno with err
 * set (-EINVAL for an id or distribution that is empty, too long or
 * holds a space; nothing is then written). */
int ledger_record_v(const char *state_dir, const struct ledger_rec *v, size_t n,
                    struct cfw_err *err);
/* ledger_record_at with dist NULL. */
int ledger_record(const char *state_dir, const char *id, uint32_t n_paths,
                  uint32_t n_wildcards, const char *status, int64_t now_s,
                  struct cfw_err *err);

/* Paths sent in the month of now_s (0 if the ledger counts another). */
uint64_t ledger_month_paths(const struct ledger *l, int64_t now_s);

#endif
