/* SPDX-License-Identifier: MIT */
#ifndef CFW_LEDGERPULL_H
#define CFW_LEDGERPULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ledger.h"
#include "state.h"
#include "statefmt.h"

/* The invalidations that journal records pulled from a state in S3
 * show accepted, for the ledger of the machine that pulled them
 * (ledger.h): without them, each machine's `status` and planner would
 * count only the invalidations it sent itself.
 *
 * A COMMIT names its intent's invalidation, whose paths the INTENT
 * holds; a site of several distributions writes an ACCEPTED record for
 * each one's, and its COMMIT (which repeats the last one's) is not
 * counted.  Records of any other type only pass by.  The ledger drops
 * an id it knows at the same distribution, so a record pulled twice,
 * or one this machine wrote and counted itself, counts once.
 *
 * A lower bound: records that a compaction folded into the snapshot
 * before this machine pulled them (it was offline across two
 * compactions, or its cache began after one) are not counted, since a
 * snapshot keeps no invalidation ids.  `status --account` counts the
 * account exactly. */

struct ledgerpull_intent {
  char ref[STATE_REF_LEN];
  bool several;     /* its distribution is a set: ACCEPTED records count */
  uint32_t n_paths; /* wildcards included */
  uint32_t n_wildcards;
  int64_t created_ns;
};

struct ledgerpull_inv {
  char ref[STATE_REF_LEN]; /* its intent */
  char id[STATEFMT_ID_MAX];
  char dist[STATEFMT_ID_MAX]; /* ACCEPTED's; "" for a COMMIT */
  int64_t at_ns;              /* COMMIT's; 0 for ACCEPTED */
};

/* Plain: ledgerpull_init, then the scans, then ledgerpull_recs. */
struct ledgerpull {
  struct ledgerpull_intent *intents; /* owned */
  size_t n_intents;
  size_t cap_intents;
  struct ledgerpull_inv *invs; /* owned; in journal order */
  size_t n_invs;
  size_t cap_invs;
};

void ledgerpull_init(struct ledgerpull *lp);
void ledgerpull_free(struct ledgerpull *lp); /* NULL is fine */

/* Reads the framed records p[0..len) (a journal without its header):
 * each INTENT is remembered, and with count each COMMIT and ACCEPTED
 * that names an invalidation too.  0, -EBADMSG or -ENOMEM. */
int ledgerpull_scan(struct ledgerpull *lp, const unsigned char *p, size_t len,
                    bool count);
/* Remembers the intents v[0..n) (a snapshot's open ones): 0 or
 * -ENOMEM. */
int ledgerpull_add_intents(struct ledgerpull *lp, const struct intent *v,
                           size_t n);
/* True if an invalidation's intent is not known yet. */
bool ledgerpull_missing(const struct ledgerpull *lp);

/* The ledger records of the invalidations whose intents are known, in
 * *out (free() it; its strings point into lp, which must outlive it)
 * and *n.  An ACCEPTED record is dated by its intent's COMMIT when one
 * was read, else by the intent.  0 or -ENOMEM. */
int ledgerpull_recs(const struct ledgerpull *lp, struct ledger_rec **out,
                    size_t *n);

/* All of it, for a state dir dir that a pull just wrote: scans kept
 * (the records the dir held before the pull, for their intents) and
 * pulled (the new records), reads the dir's snapshot only if an intent
 * is in neither, and records what was found in dir's ledger.  Blocking:
 * call it off the loop.  0, or a negative errno with err set. */
int ledgerpull_count(const char *dir, const unsigned char *kept,
                     size_t kept_len, const unsigned char *pulled,
                     size_t pulled_len, struct cfw_err *err);

#endif
