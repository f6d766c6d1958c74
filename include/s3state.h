/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3STATE_H
#define CFW_S3STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "s3.h"

/* A site's state (state.h) kept as S3 objects, under a prefix P of one
 * bucket, through an s3_client on its loop:
 *
 *   P/manifest              the snapshot's bytes (statefmt.h)
 *   P/journal/SEQ           one journal record: the journal's header
 *                           (the state's id) and the framed record, SEQ
 *                           its sequence number in 20 digits, so keys
 *                           sort as numbers
 *
 * Each object carries who wrote it, as user metadata, which costs no
 * request of its own (a GET returns it with the bytes):
 * x-amz-meta-cfw-host, cfw-pid and cfw-at (UTC, RFC 3339).  A record is created
 * with If-None-Match: *, so creating record N is the compare-and-swap of the
 * whole state: of two writers that read the state up to N-1, one creates N and
 * the other is told (S3's "How to prevent object overwrites with conditional
 * writes": 412 PreconditionFailed when the key exists; 409
 * ConditionalRequestConflict, retried by the client, when two writes
 * overlap).  The snapshot is created the same way and then replaced
 * with If-Match: the ETag read with it.
 *
 * A write retried after a lost answer finds its own object and gets
 * 412 too: a 412 is therefore followed by a GET of the object, and only
 * an object whose bytes differ from ours is someone else's
 * (S3STATE_CONFLICT); the same bytes are ours (S3STATE_OK, with
 * lost_reply set).
 *
 * One call at a time per s3state: each returns 0 and runs its callback
 * once, from the loop, or returns a negative errno with err set and the
 * callback never run. */

#define S3STATE_SNAPSHOT "manifest"
#define S3STATE_JOURNAL  "journal/"
#define S3STATE_WHO_MAX  128
#define S3STATE_AT_MAX   31

struct s3state; /* opaque */

struct s3state_opts {
  struct s3_client *s3; /* borrowed */
  const char *prefix;   /* copied; "" or "a/b" (a trailing '/' is dropped) */
  const char *host;     /* copied: who writes; NULL: gethostname() */
};

enum s3state_outcome {
  S3STATE_OK = 0,
  S3STATE_CONFLICT,  /* another writer holds the key (or moved the ETag) */
  S3STATE_NOT_FOUND, /* get: no such object */
  S3STATE_FAILED     /* err says why; its class is the S3 client's */
};

struct s3state_result {
  enum s3state_outcome outcome;
  struct cfw_err err;         /* unless S3STATE_OK */
  unsigned requests;          /* sent for this call, retries included */
  bool lost_reply;            /* put: a 412 that was our own write */
  char etag[S3_ETAG_MAX + 1]; /* put, get: the object's ETag */
  /* get: who wrote the object ("host pid 12", or "" if unknown) and
   * when ("2026-12-06T11:40:00Z"); put: ourselves, now. */
  char who[S3STATE_WHO_MAX + 1];
  char at[S3STATE_AT_MAX + 1];
  struct buf body; /* get: the bytes; may be taken */
  uint64_t total;  /* get: the object's whole size */
  /* list: the records after the one asked, ascending, and the
   * snapshot's ETag ("" if there is none). */
  uint64_t *seqs; /* owned by the call */
  size_t n_seqs;
  char snapshot_etag[S3_ETAG_MAX + 1];
};

/* r is valid during the call only (its body may be taken). */
typedef void (*s3state_cb)(struct s3state_result *r, void *arg);

/* 0, -EINVAL (no client, a prefix too long for a key) or -ENOMEM. */
int s3state_new(struct s3state **out, const struct s3state_opts *o,
                struct cfw_err *err);
/* Ends the call in flight (its callback runs, S3STATE_FAILED), then
 * frees.  NULL is fine. */
void s3state_destroy(struct s3state *st);

/* The total of requests sent by every call so far. */
unsigned s3state_requests(const struct s3state *st);
/* "s3://BUCKET/P" for messages. */
const char *s3state_where(const struct s3state *st);

/* Creates record seq with data[0..len) (copied): S3STATE_OK or
 * S3STATE_CONFLICT. */
int s3state_put_record(struct s3state *st, uint64_t seq, const void *data,
                       size_t len, s3state_cb cb, void *arg,
                       struct cfw_err *err);

/* Writes the snapshot: created if etag is NULL or "", else replacing
 * the object with that ETag.  S3STATE_OK (r->etag: the new ETag) or
 * S3STATE_CONFLICT (it exists, or holds other bytes than etag's). */
int s3state_put_snapshot(struct s3state *st, const char *etag, const void *data,
                         size_t len, s3state_cb cb, void *arg,
                         struct cfw_err *err);

/* Reads record seq (seq > 0) or, with seq == 0, the snapshot: r->body,
 * r->etag, r->who and r->at; S3STATE_NOT_FOUND if absent.  Objects over max
 * bytes (at most S3_GET_MAX; 0: that) fail. */
int s3state_get(struct s3state *st, uint64_t seq, size_t max, s3state_cb cb,
                void *arg, struct cfw_err *err);

/* As s3state_get, bytes [offset, offset + len) of it only (len at most
 * S3_GET_MAX), so that an object of any size is read in bounded memory;
 * r->total is its whole size.  With etag (not NULL), only that version:
 * S3STATE_CONFLICT once the object was replaced. */
int s3state_get_part(struct s3state *st, uint64_t seq, uint64_t offset,
                     size_t len, const char *etag, s3state_cb cb, void *arg,
                     struct cfw_err *err);

/* Lists the records after record after (0: all) and whether there is a
 * snapshot: one ListObjectsV2 request per 1,000 keys, starting after
 * the key of after. */
int s3state_list(struct s3state *st, uint64_t after, s3state_cb cb, void *arg,
                 struct cfw_err *err);

/* Deletes the records before record below (below > 1), as a writer
 * does once a snapshot replaced the one that covers them: one
 * ListObjectsV2 from the first key (per 1,000 keys, stopping at the
 * first record kept), then one DeleteObjects per S3_DELETE_MAX records.
 * r->n_seqs: the records deleted (absent ones count, as S3 says). */
int s3state_trim(struct s3state *st, uint64_t below, s3state_cb cb, void *arg,
                 struct cfw_err *err);

#endif
