/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATESYNC_INT_H
#define CFW_STATESYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "err.h"
#include "s3state.h"
#include "statecache.h"
#include "statesync.h"

/* Internal to statesync.c (the call, the pull) and statesync_push.c. */

struct statesync {
  uv_loop_t *loop;        /* borrowed */
  struct s3state *remote; /* borrowed */
  struct log *log;        /* borrowed */
  char *dir;              /* owned */
  uv_work_t work;
  void (*job)(struct statesync *ss); /* on the threadpool */
  void (*after)(struct statesync *ss);
  int job_rc;
  bool busy;
  statesync_cb cb;
  void *arg;
  struct statesync_result res;
  struct statecache c;
  enum { PH_LIST, PH_SNAPSHOT, PH_RECORD, PH_PUT, PH_TRIM } ph; /* S3 call */
  bool snap_pending; /* push: the snapshot goes first */

  /* pull */
  uint64_t keep_below; /* the dir's records before it stay */
  bool valid;          /* the dir's state agrees with what S3 had */
  uint64_t next;
  uint64_t list_after;
  uint64_t *seqs; /* owned */
  size_t n_seqs;
  size_t i;
  char etag[S3_ETAG_MAX + 1]; /* the snapshot's in S3 */
  unsigned char *snap;        /* owned: S3's snapshot, to replace ours */
  size_t snap_len;
  unsigned char id[STATE_ID_LEN];
  int64_t snap_ns;
  bool wipe;
  struct buf frames;         /* the records pulled */
  uint64_t gone;             /* a listed record found deleted (0: none) */
  struct cfw_err ledger_err; /* the pulled records' count (ledgerpull.h) */
  /* A snapshot over one GET (statesync_snap.c): read in parts into
   * STATECACHE_PART, then checked; snap_file once it is whole. */
  bool snap_file;
  uint64_t part_off;
  uint64_t part_total;
  struct buf part; /* the part being written */
  unsigned part_restarts;
  unsigned char part_id[STATE_ID_LEN]; /* the first part's header */
  uint64_t part_next;
  int64_t part_ns;
  /* Both: what STATECACHE_FILE will say of the snapshot's next_seq and
   * of the last writer seen. */
  uint64_t snap_next;
  char who[S3STATE_WHO_MAX + 1];
  char at[S3STATE_AT_MAX + 1];

  /* push */
  uint64_t confirmed;
  uint64_t trim_below; /* the replaced snapshot's next_seq, or 0 */
};

/* Starts a call: -EBUSY if one is in flight. */
int statesync_begin(struct statesync *ss, statesync_cb cb, void *arg,
                    struct cfw_err *err);
/* Ends the call: its callback runs. */
void statesync_done(struct statesync *ss, enum statesync_outcome o);
void statesync_fail(struct statesync *ss, int rc, const char *what);
/* An S3 call that could not start, or ended badly: the call fails. */
void statesync_remote_failed(struct statesync *ss, const struct cfw_err *err);
/* Runs job on the threadpool, then after on the loop (or fails). */
void statesync_queue(struct statesync *ss, void (*job)(struct statesync *),
                     void (*after)(struct statesync *));
/* The last writer seen: the object just read or written. */
void statesync_saw(struct statesync *ss, const struct s3state_result *r);
/* Writes STATECACHE_FILE (on the threadpool). */
int statesync_save_mark(struct statesync *ss, uint64_t confirmed,
                        int64_t snap_ns, struct cfw_err *err);
/* Every s3state call's callback; dispatches on ss->ph. */
void statesync_on_remote(struct s3state_result *r, void *arg);

/* statesync.c: a snapshot read (whole, or in parts) and checked,
 * whose header is id, next and ns: the pull goes on from it. */
void statesync_snap_taken(struct statesync *ss,
                          const unsigned char id[STATE_ID_LEN], uint64_t next,
                          int64_t ns);

/* statesync_snap.c: S3's snapshot in parts of STATESYNC_PART bytes, in
 * bounded memory.  get starts it; on_part takes each answer (r: the
 * first part, after its header was judged, or a later one). */
#define STATESYNC_PART S3_GET_MAX
void statesync_snap_get(struct statesync *ss);
void statesync_snap_on_part(struct statesync *ss, struct s3state_result *r);

/* statesync_push.c: a put's answer, and the trim's. */
void statesync_push_on_put(struct statesync *ss, struct s3state_result *r);
void statesync_push_trimmed(struct statesync *ss, enum s3state_outcome o,
                            const struct cfw_err *err, size_t n);

#endif
