/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATE_H
#define CFW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diff.h"
#include "err.h"
#include "manifest.h"
#include "strlist.h"

/* A site's state: what CloudFront has been told (the manifest), the
 * batches that may have been sent but were not acknowledged yet (the
 * open intents), and whom the state belongs to (root, distribution).
 *
 * On disk, in the state dir, it is a snapshot plus an append-only
 * journal (statefmt.h has the byte layout):
 *
 *   manifest   the snapshot: identity, entries, open intents, and the
 *              sequence number of the first journal record it does not
 *              include; replaced atomically (write, fsync, rename, fsync
 *              the directory).
 *   journal    records appended and fsynced one by one: an INTENT
 *              before a batch is sent, a COMMIT once CloudFront accepted
 *              it, ENTRIES for what needs no invalidation (same bytes
 *              with a new stat, a dry run).  Loading replays the records
 *              the snapshot does not include.
 *
 * So a batch costs a few hundred bytes of journal, not the tree; when
 * the journal outgrows a share of the snapshot, it is compacted into a
 * new snapshot.  A torn last record (a crash mid-append) is discarded;
 * a damaged record followed by more, a gap in the sequence or a damaged
 * snapshot is an error, never an empty state.
 *
 * The write-ahead intent is what keeps a CallerReference for one
 * content only: a batch's reference is derived from the state's random
 * id, the intent's sequence number (unique within the state) and the
 * batch's content, and it is durable before the batch is sent.  A
 * batch that cannot be recorded is not sent; after a crash the open
 * intents are sent again with their recorded references (CloudFront
 * returns what it already made), then committed.
 *
 * For state shared through S3 (DESIGN.md), the same records become one
 * object each, named by sequence number and created with If-None-Match:
 * so creating the next record is the compare-and-swap, and the snapshot
 * is replaced with If-Match.
 *
 * Every call below may block on the disk: call them off the loop thread
 * (uv_queue_work), one at a time per state. */
struct state;

#define STATE_REF_LEN 45 /* "cfw-" + 40 hex digits + NUL */
#define STATE_ID_LEN  16

/* A batch that may have been sent: recorded before sending, closed by
 * its commit. */
struct intent {
  uint64_t seq;            /* its journal record */
  char ref[STATE_REF_LEN]; /* the CallerReference */
  char *distribution;      /* owned */
  int64_t created_ns;      /* when it was recorded */
  struct strlist paths;    /* owned: the URL paths, as sent */
  struct change *changes;  /* owned: what the commit records */
  size_t n_changes;
  /* With an S3 origin: the batch's files were uploaded (the origin holds
   * them), except those at stale[0..n_stale) (indices into changes),
   * which S3 refused as changed since the scan: their commit marks them
   * TREE_STALE. */
  bool uploaded;
  uint32_t *stale; /* owned */
  size_t n_stale;
  /* With several distributions (distribution is their set, "A,B"): the
   * ones that accepted it so far, from ACCEPTED records.  A snapshot
   * does not keep them: after a compaction the intent is sent to each
   * again, a replay that returns the same invalidation (state_accepted
   * says why that is enough). */
  struct strlist accepted; /* owned */
};

void intent_free(struct intent *in); /* NULL is fine; leaves it empty */

/* True if the distribution dist accepted the intent (an ACCEPTED
 * record names it). */
bool intent_accepted_by(const struct intent *in, const char *dist);

/* Opening never writes: read-only callers (plan, status) and fresh
 * states alike leave the disk as it was until the first write. */
#define STATE_READONLY 0x1u
/* A state shared by machines (a state in S3, statesync.h) belongs to
 * its URL: each checks the site out at its own root, so the root it
 * names is not checked (the distribution still is). */
#define STATE_ANY_ROOT 0x2u

/* Loads the state in dir for the site (root, distribution: NULL or ""
 * for a dry run; with several, their sorted set joined with ',').  A
 * state dir without a manifest is a fresh state: state_fresh() says so,
 * and the first write creates it.  A state that names another root, or
 * another distribution or set of them, is refused with
 * -ESTALE and a message saying how to start over (a state first used
 * without a distribution adopts the first one it serves).  Damage is
 * -EBADMSG, an unknown format -EPROTO, each with a message naming the
 * file.  A torn last journal record is dropped (and, unless read-only,
 * cut off the file).  Cost: one read of each file, one pass to check,
 * one allocation per entry. */
int state_open(struct state **out, const char *dir, const char *root,
               const char *distribution, unsigned flags, struct cfw_err *err);
void state_close(struct state *s); /* NULL is fine */

bool state_fresh(const struct state *s);
const struct manifest *state_manifest(const struct state *s);
const char *state_dir(const struct state *s);
/* The distribution the state serves ("" if none yet). */
const char *state_distribution(const struct state *s);
/* When the snapshot was last written (0 for a fresh state). */
int64_t state_snapshot_ns(const struct state *s);
/* Bytes of journal since the snapshot, and of the snapshot. */
uint64_t state_journal_bytes(const struct state *s);
uint64_t state_snapshot_bytes(const struct state *s);

/* The cache_tag_header (cachetag.h) the entries' TREE_TAGGED flags
 * refer to, as recorded: "" if none (and for a state older than
 * snapshot format 3). */
const char *state_tag_header(const struct state *s);

/* The site tags its uploads with header h now (NULL or "": it does not).
 * If h differs from the recorded header (ignoring case), every
 * TREE_TAGGED flag is cleared, in the manifest and in the open intents,
 * and h is recorded; the next write writes a snapshot first, so no
 * record that sets a flag under h precedes it on disk.  Read-only
 * states change in memory only.  0 or -ENOMEM. */
int state_set_tag_header(struct state *s, const char *h, struct cfw_err *err);

/* The URL mapping (urlmapdesc.h's text) the state's invalidations were
 * made under: "" if none is recorded (a state older than snapshot
 * format 4, a fresh one the site has not set it for).  A state without
 * one is taken as made under the site's current mapping, so upgrading
 * costs nothing (site_remap.c). */
const char *state_urlmap(const struct state *s);

/* Records desc as the URL mapping.  If it differs from the recorded
 * one, the next write writes a snapshot first, and state_compact_due()
 * says so once a pass has nothing else to write: a crash before then
 * leaves the old mapping recorded, which costs a second flush at
 * worst, never a lost one.  Call it only once every URL the edges may
 * hold under the old mapping has been invalidated, or when the new one
 * drops none of them (urlmapdesc_compare).  Read-only states change in
 * memory only.  0 or -ENOMEM. */
int state_set_urlmap(struct state *s, const char *desc, struct cfw_err *err);

/* The open intents, oldest first; borrowed until the next write. */
size_t state_intent_count(const struct state *s);
const struct intent *state_intent_at(const struct state *s, size_t i);

/* The manifest as CloudFront may have been told: the committed one with
 * every open intent applied, oldest first (a new copy, *out; destroy it).
 * Diffing against it keeps a change an open intent covers from being
 * planned twice, and a change back to older bytes from being missed.
 * O(entries).  0 or -ENOMEM. */
int state_project(const struct state *s, struct manifest **out,
                  struct cfw_err *err);

/* Records a batch before it is sent: its paths are copied, its changes
 * moved into the intent, its sequence number and reference assigned,
 * the record appended and synced.  The batch's changes are (*v)[idx[0]],
 * ..., (*v)[idx[n - 1]] (idx NULL: (*v)[0..n)), so a caller holding a
 * batch as indices into a larger array need not gather it first.  The
 * record is written in bounded pieces, never whole in memory.
 * On success *out (borrowed from s) is open and each (*v)[idx[i]] is
 * left without its path (entry.path NULL; the intent owns it now); a
 * batch that is all of *v in order (n == *n_v, idx NULL or 0, 1, 2...)
 * takes the array itself (*v NULL, *n_v 0).  On failure nothing was
 * recorded, the batch must not be sent, the message says why (ENOSPC,
 * EROFS...), and *v is as it was. */
int state_intend_take(struct state *s, const char *distribution,
                      const struct strlist *paths, struct change **v,
                      size_t *n_v, const uint32_t *idx, size_t n,
                      const struct intent **out, struct cfw_err *err);

/* Records that the origin holds the files of the open intent with
 * reference ref, but those at stale[0..n_stale), which were not what its
 * scan read: after a crash it is sent again without uploading again.
 * -ENOENT if no open intent has ref. */
int state_uploaded(struct state *s, const char *ref, const uint32_t *stale,
                   size_t n_stale, struct cfw_err *err);

/* Records that the distribution dist, one of the intent's several,
 * accepted the intent with reference ref as invalidation inv_id, so a
 * run after a crash sends it only where it is missing; the intent stays
 * open until every one accepted it (state_commit).  Only a state of
 * several distributions writes these: for one, the COMMIT says it.
 * -ENOENT if no open intent has ref. */
int state_accepted(struct state *s, const char *ref, const char *dist,
                   const char *inv_id, struct cfw_err *err);

/* Records that CloudFront accepted the intent with reference ref (as
 * invalidation inv_id): appends the commit, then applies its changes
 * to the manifest and closes it.  The changes at stale[0..n_stale)
 * (indices into the intent's) are recorded TREE_STALE: their files
 * changed after the scan, so what the edges cache is not known and the
 * next diff sends them again; so are those its upload found stale.
 * -ENOENT if no open intent has ref. */
int state_commit(struct state *s, const char *ref, const char *inv_id,
                 const uint32_t *stale, size_t n_stale, struct cfw_err *err);

/* Records changes that need no invalidation (TOUCHED: same bytes with a
 * new stat) or were only printed (a dry run): appends them and applies
 * them to the manifest.  A TOUCHED change leaves an entry that is
 * TREE_STALE (or holds other bytes) TREE_STALE: the pass diffed against
 * the open intents, and committing them may have found the file stale.
 * n == 0 writes nothing. */
int state_record(struct state *s, const struct change *v, size_t n,
                 struct cfw_err *err);

/* A first run: applies every change to the (fresh) manifest and writes
 * the first snapshot. */
int state_baseline(struct state *s, const struct change *v, size_t n,
                   struct cfw_err *err);

/* The state dir was removed or replaced under a running cfwatch (its
 * lock showed it: statelock_renew): the next write writes the whole
 * state there anew, snapshot first, rather than appending to a journal
 * that is gone. */
void state_relocated(struct state *s);

/* True once the journal has grown past a share of the snapshot
 * (STATE_COMPACT_RATIO, at least STATE_COMPACT_MIN bytes; tests may
 * lower the minimum with CFWATCH_TEST_COMPACT_BYTES). */
#define STATE_COMPACT_RATIO 4 /* journal > snapshot / 4 */
#define STATE_COMPACT_MIN   ((uint64_t)64 * 1024)
bool state_compact_due(const struct state *s);

/* Writes a new snapshot holding everything, then starts an empty
 * journal.  A crash at any point leaves a state that loads to the
 * same content. */
int state_compact(struct state *s, struct cfw_err *err);

#endif
