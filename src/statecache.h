/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATECACHE_H
#define CFW_STATECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "s3state.h"
#include "s3xml.h"
#include "state.h"

/* The local copy of a state kept in S3 (statesync.h): the state dir's
 * own files (statefmt.h) plus STATECACHE_FILE, which says how far they
 * are known to be in S3 (struct statecache_mark): the snapshot's ETag,
 * the written_at and next_seq of the snapshot that ETag names, the
 * first record S3 does not hold from us, and who wrote the last object
 * read or written.  Blocking file work: call it off the loop. */

#define STATECACHE_FILE "s3sync"

/* STATECACHE_FILE's contents. */
struct statecache_mark {
  char etag[S3_ETAG_MAX + 1];    /* "" if none */
  uint64_t confirmed;            /* records before it are in S3 */
  int64_t snap_ns;               /* the ETag's snapshot's written_at */
  uint64_t snap_next;            /* and its next_seq; 0 if unknown */
  char who[S3STATE_WHO_MAX + 1]; /* the last writer seen; "" if unknown */
  char at[S3STATE_AT_MAX + 1];   /* when it wrote */
};

struct statecache_rec {
  uint64_t seq;
  size_t off; /* its frame in journal */
  size_t len;
};

struct statecache {
  bool have_snapshot;
  unsigned char id[STATE_ID_LEN];
  uint64_t snap_next;  /* the snapshot's next_seq */
  int64_t snap_ns;     /* its written_at */
  unsigned char *snap; /* owned; with STATECACHE_SNAPSHOT, if it changed */
  size_t snap_len;
  unsigned char *journal; /* owned: the journal file, or NULL */
  size_t journal_len;
  struct statecache_rec *recs; /* owned: the journal's records */
  size_t n_recs;
  uint64_t next; /* the next sequence number */
  /* STATECACHE_FILE: false if absent or not about this snapshot. */
  bool synced;
  char etag[S3_ETAG_MAX + 1];
  uint64_t confirmed; /* records before it are in S3 */
  int64_t synced_ns;
  struct statecache_mark mark; /* all of STATECACHE_FILE */
};

#define STATECACHE_SNAPSHOT 0x1u /* read the snapshot if not synced */

/* Reads what dir holds.  A missing dir or file is not an error.  0,
 * -EBADMSG (damage, named in the message) or -ENOMEM. */
int statecache_load(struct statecache *c, const char *dir, unsigned flags,
                    struct cfw_err *err);
void statecache_free(struct statecache *c); /* NULL is fine */

/* Writes STATECACHE_FILE. */
int statecache_save_sync(const char *dir, const struct statecache_mark *m,
                         struct cfw_err *err);

/* Reads STATECACHE_FILE alone (status): 0, or -ENOENT if there is none
 * or it cannot be read. */
int statecache_read_mark(const char *dir, struct statecache_mark *m);

/* A snapshot too big for one GET is written to STATECACHE_PART, part
 * by part, and becomes the state dir's snapshot only once checked
 * whole: its header's length and its SHA-256 trailer (statefmt.h),
 * read back a chunk at a time, never all in memory. */
#define STATECACHE_PART "manifest.part"

/* Writes len bytes at offset at of STATECACHE_PART (at 0: a new file),
 * synced. */
int statecache_part_write(const char *dir, uint64_t at, const void *p,
                          size_t len, struct cfw_err *err);
/* Checks STATECACHE_PART as a whole snapshot of size bytes: 0 or
 * -EBADMSG. */
int statecache_part_check(const char *dir, uint64_t size, struct cfw_err *err);
/* Renames it over the state dir's snapshot. */
int statecache_part_commit(const char *dir, struct cfw_err *err);

/* Removes the state's files and STATECACHE_FILE from dir. */
int statecache_forget(const char *dir, struct cfw_err *err);

/* Reads a snapshot's header fields from its bytes (format 2 only). */
int statecache_snapshot_header(const unsigned char *p, size_t len,
                               unsigned char id[STATE_ID_LEN],
                               uint64_t *next_seq, int64_t *written_ns);

/* Checks an S3 record object (a journal header naming id, then one
 * framed record numbered seq) and gives its frame: *frame_off. */
int statecache_check_object(const unsigned char *p, size_t len,
                            const unsigned char id[STATE_ID_LEN], uint64_t seq,
                            size_t *frame_off);

#endif
