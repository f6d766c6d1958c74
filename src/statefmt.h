/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATEFMT_H
#define CFW_STATEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "manifest.h"
#include "state.h"
#include "wire.h"

/* The byte layout of a state dir's files (state.h says what they are
 * for), to and from memory; nothing here touches the file system.
 * Integers, strings and entries are laid out as wire.h says.
 *
 * manifest (the snapshot), format 4:
 *   "CFWMANI\n"  u32 version (4)  u32 flags (0)  u64 file length
 *   i64 written_at_ns  16-byte state id  u64 next journal sequence
 *   str root  str distribution ("" if none yet)
 *   str tag header (cache_tag_header the TREE_TAGGED flags refer to,
 *   "" if none)
 *   str URL mapping the invalidations were made under (urlmapdesc.h's
 *   text, "" if none recorded)
 *   u64 entry count, entries (sorted by path, unique)
 *   u32 open intent count, intents (u64 seq, then as in an INTENT, then
 *   u8 uploaded, u32 k, k u32 stale indices as in UPLOADED)
 *   32-byte SHA-256 of everything before it
 * Format 3 is format 4 without the URL mapping; it is still read (as
 * mapping "", which the site takes for its current one: state.h).
 * The mapping changes only with a snapshot, never in a journal record:
 * it changes seldom, and a record type of its own would make every
 * journal after it unreadable to an older cfwatch.
 * Format 2 is format 3 without the tag header, and its entries never
 * hold TREE_TAGGED; it is still read (as tag header "").  A state read
 * from format 1 or 2 is written as format 3 before its first journal
 * record (state.c), so a journal record holding TREE_TAGGED never
 * follows a snapshot an older cfwatch would read.
 * Format 1 (cfwatch 0.1: no id, no distribution, no intents) is still
 * read: "CFWMANI\n" u32 1, u32 flags, u64 length, i64 written_at_ns,
 * u64 count, str root, entries, SHA-256.
 *
 * journal:
 *   "CFWJRNL\n"  u32 version (1)  16-byte state id
 *   records, each: u32 body length, body, 32-byte SHA-256 of the
 *   length and the body; a body is u64 seq, u8 type, then
 *     INTENT   str ref, str distribution, i64 created_ns,
 *              u32 n, n path strings, u32 m, m changes
 *     COMMIT   str ref, str invalidation id, i64 at_ns, u32 k, k u32
 *              indices of the intent's changes found stale (TREE_STALE)
 *     ENTRIES  u32 m, m changes
 *     UPLOADED str ref, u32 k, k u32 indices of the intent's changes S3
 *              refused as changed
 *     ACCEPTED str ref, str distribution, str invalidation id: one of an
 *              intent's several distributions accepted it (written only
 *              for a set of distributions, so a journal of one
 *              distribution is what it always was; an older cfwatch
 *              refuses a journal holding one as damaged)
 *   a change being u8 kind (enum change_kind) and an entry. */

/* A snapshot's magic and the newest version written (statefmt.c reads
 * every older one).  A state in S3 began at version 2, so its cache
 * takes 2 up to this one (statecache.c). */
#define STATEFMT_SNAPSHOT_MAGIC     "CFWMANI\n"
#define STATEFMT_SNAPSHOT_VERSION   4
#define STATEFMT_SHARED_VERSION_MIN 2
/* The journal's magic and its one version. */
#define STATEFMT_JOURNAL_MAGIC   "CFWJRNL\n"
#define STATEFMT_JOURNAL_VERSION 1

#define STATEFMT_SNAPSHOT_FILE      "manifest"
#define STATEFMT_JOURNAL_FILE       "journal"
#define STATEFMT_JOURNAL_HEADER_LEN (8 + 4 + STATE_ID_LEN)
/* Bigger files and records are refused rather than read. */
#define STATEFMT_MAX_BYTES  (UINT64_C(1) << 32)
#define STATEFMT_ID_MAX     128  /* distribution ids, invalidation ids */
#define STATEFMT_HEADER_MAX 256  /* the cache tag header */
#define STATEFMT_URLMAP_MAX 8192 /* the URL mapping's text */
/* A URL path: a file path, each byte percent-encoded at worst. */
#define STATEFMT_URL_MAX ((size_t)MANIFEST_PATH_MAX * 4)

struct snapshot {
  int version;
  int64_t written_at_ns;
  unsigned char id[STATE_ID_LEN]; /* all zero in format 1 */
  uint64_t next_seq;
  char *root;           /* owned */
  char *distribution;   /* owned; "" if none */
  char *tag_header;     /* owned; "" if none (format 3) */
  char *urlmap;         /* owned; "" if none (format 4) */
  struct tree_entry *v; /* owned, sorted; with each path */
  size_t n;
  struct intent *intents; /* owned */
  size_t n_intents;
};

void snapshot_free(struct snapshot *s); /* NULL is fine; leaves it empty */

/* Encodes a format-4 snapshot of hdr's header fields, m's entries and
 * the intents v[0..n) into w (which must be empty).  0, -EFBIG or
 * -ENOMEM. */
int statefmt_put_snapshot(struct wire_out *w, const struct snapshot *hdr,
                          const struct manifest *m, const struct intent *v,
                          size_t n);

/* The length of statefmt_put_snapshot's output, in *len: 0, -EFBIG or
 * -E2BIG (too large), computed without keeping a byte. */
int statefmt_snapshot_size(const struct snapshot *hdr, const struct manifest *m,
                           const struct intent *v, size_t n, uint64_t *len);

/* Hands sink the bytes statefmt_put_snapshot would encode, the same
 * ones in the same order, about chunk bytes at a time (as
 * statefmt_stream_intent does), with their number in *len first.  0,
 * -EFBIG or -E2BIG (too large: nothing handed on), -ENOMEM or the
 * sink's error. */
int statefmt_stream_snapshot(const struct snapshot *hdr,
                             const struct manifest *m, const struct intent *v,
                             size_t n, size_t chunk,
                             int (*sink)(void *arg, const void *p, size_t n),
                             void *arg, uint64_t *len);

/* Where a snapshot's len bytes come from, in order: read puts up to n
 * of them at p and their number in *got (0 only past the end), and
 * returns 0 or a negative errno. */
struct statefmt_src {
  int (*read)(void *arg, void *p, size_t n, size_t *got);
  void *arg; /* borrowed */
  size_t len;
};

/* The most a snapshot's decoder holds of its input at once: more than
 * any one field (a path, STATEFMT_URL_MAX), few enough that the load of
 * a big state costs the state and not its file too. */
#define STATEFMT_READ_BUF ((size_t)256 << 10)

/* Decodes a snapshot as its bytes are read, trusting no length in
 * them: magic, version and length first, then the body, then the
 * checksum over every byte, which wins over what the body said (out is
 * then freed): the outcome is that of checking the sum first.  Holds
 * out and at most STATEFMT_READ_BUF bytes of input.  0, -EBADMSG (the
 * message names file, what is wrong and how to start over; also for
 * an input that ends before len), -EPROTO (unknown version), -ENOMEM
 * or the source's error ("file: why"). */
int statefmt_read_snapshot(const struct statefmt_src *src, const char *file,
                           struct snapshot *out, struct cfw_err *err);

/* statefmt_read_snapshot over the bytes p[0..len). */
int statefmt_get_snapshot(const unsigned char *p, size_t len, const char *file,
                          struct snapshot *out, struct cfw_err *err);

/* The journal's header. */
void statefmt_put_journal_header(struct wire_out *w,
                                 const unsigned char id[STATE_ID_LEN]);
/* 0, or -EBADMSG / -EPROTO with a message naming file. */
int statefmt_get_journal_header(struct wire_in *r, const char *file,
                                unsigned char id[STATE_ID_LEN],
                                struct cfw_err *err);

enum record_type {
  RECORD_INTENT = 1,
  RECORD_COMMIT = 2,
  RECORD_ENTRIES = 3,
  RECORD_UPLOADED = 4,
  RECORD_ACCEPTED = 5
};

struct record {
  uint64_t seq;
  enum record_type type;
  struct intent intent;         /* INTENT; intent.seq == seq */
  char ref[STATE_REF_LEN];      /* COMMIT, UPLOADED, ACCEPTED */
  char inv_id[STATEFMT_ID_MAX]; /* COMMIT, ACCEPTED */
  char dist[STATEFMT_ID_MAX];   /* ACCEPTED */
  int64_t at_ns;                /* COMMIT */
  uint32_t *stale;              /* COMMIT; owned */
  size_t n_stale;
  struct change *changes; /* ENTRIES; owned */
  size_t n_changes;
};

void record_free(struct record *r); /* NULL is fine; leaves it empty */

/* Appends one framed record to w. */
void statefmt_put_intent(struct wire_out *w, const struct intent *in);
void statefmt_put_commit(struct wire_out *w, uint64_t seq, const char *ref,
                         const char *inv_id, int64_t at_ns,
                         const uint32_t *stale, size_t n_stale);
void statefmt_put_entries(struct wire_out *w, uint64_t seq,
                          const struct change *v, size_t n);
void statefmt_put_uploaded(struct wire_out *w, uint64_t seq, const char *ref,
                           const uint32_t *stale, size_t n_stale);
void statefmt_put_accepted(struct wire_out *w, uint64_t seq, const char *ref,
                           const char *dist, const char *inv_id);

/* The bytes statefmt_put_intent appends for in: the framed record's
 * length, body and sum.  0, -EFBIG (a field too long) or -E2BIG (the
 * record would pass STATEFMT_MAX_BYTES), as statefmt_put_intent's. */
int statefmt_intent_size(const struct intent *in, uint64_t *out);

/* Hands sink the bytes statefmt_put_intent would append for in, the
 * same ones in the same order, about chunk bytes at a time, so a record
 * of any size takes O(chunk) memory: the length is counted first (an
 * encoding pass that keeps nothing), the SHA-256 runs over the pieces as
 * they go, the sum comes last.  0, statefmt_intent_size's errors,
 * -ENOMEM or the sink's error (then some bytes may have been handed
 * on: the caller discards them). */
int statefmt_stream_intent(const struct intent *in, size_t chunk,
                           int (*sink)(void *arg, const void *p, size_t n),
                           void *arg);

/* Reads the next framed record from r into *out (empty on entry).
 * Returns 0 with a record, STATEFMT_TORN if what is left is a record
 * cut short or damaged at the very end of the input (a crash
 * mid-append: r is left at its start), -EBADMSG for damage with more
 * after it or a checksummed body that does not parse, or -ENOMEM. */
#define STATEFMT_TORN 1
int statefmt_get_record(struct wire_in *r, struct record *out);

#endif
