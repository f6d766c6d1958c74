/* SPDX-License-Identifier: MIT */
/* Writing a site's state (state.h): records appended to the journal and
 * synced, snapshots written atomically.  Loading and the records' effects
 * are state.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "batch.h"
#include "state_int.h"
#include "statefile.h"
#include "statefmt.h"
#include "util.h"

static int64_t state_now_ns(void)
{
  struct timespec ts;

  if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
    return 0;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The snapshot is streamed into the temp file in pieces of this size
 * (issue 13): compaction runs right after a large batch, and the whole
 * encoded manifest beside the manifest itself would double it. */
#define STATE_STREAM_CHUNK ((size_t)256 * 1024)

struct snapshot_job {
  struct snapshot hdr;
  const struct state *s;
  uint64_t len;
};

static int state_on_snapshot_chunk(void *arg, const void *p, size_t n)
{
  return atomicfile_put(arg, p, n);
}

static int state_fill_snapshot(void *arg, struct atomicfile_out *o)
{
  struct snapshot_job *job = arg;

  return statefmt_stream_snapshot(&job->hdr, job->s->m, job->s->open,
                                  job->s->n_open, STATE_STREAM_CHUNK,
                                  state_on_snapshot_chunk, o, &job->len);
}

static int state_write_snapshot(struct state *s, struct cfw_err *err)
{
  struct snapshot_job job;
  int rc;

  memset(&job, 0, sizeof(job));
  job.s = s;
  /* Strictly increasing, even if the clock steps back. */
  job.hdr.written_at_ns = state_now_ns();
  if (job.hdr.written_at_ns <= s->snapshot_ns)
    job.hdr.written_at_ns = s->snapshot_ns + 1;
  memcpy(job.hdr.id, s->id, STATE_ID_LEN);
  job.hdr.next_seq = s->next_seq;
  job.hdr.root = s->root;
  job.hdr.distribution = s->distribution;
  job.hdr.tag_header = s->tag_header;
  job.hdr.urlmap = s->urlmap;
  /* What cannot be encoded fails before the temp file is made. */
  rc = statefmt_snapshot_size(&job.hdr, s->m, s->open, s->n_open, &job.len);
  if (rc == -EFBIG || rc == -E2BIG)
    rc = cfw_err_set(err, -EFBIG, "%s/%s: too large to save", s->dir,
                     STATEFMT_SNAPSHOT_FILE);
  else if (rc < 0)
    rc = cfw_err_set(err, rc, "saving the manifest: out of memory");
  if (rc == 0)
    rc = atomicfile_mkdirs(s->dir, 0700, err);
  if (rc == 0)
    rc = atomicfile_write_from(s->dir, STATEFMT_SNAPSHOT_FILE,
                               state_fill_snapshot, &job, err);
  if (rc == 0) {
    s->snapshot_ns = job.hdr.written_at_ns;
    s->snapshot_bytes = job.len;
  }
  return rc;
}

int state_compact(struct state *s, struct cfw_err *err)
{
  int rc;

  if (s->readonly)
    return cfw_err_set(err, -EROFS, "%s: opened read-only", s->dir);
  rc = state_write_snapshot(s, err);
  if (rc < 0)
    return rc;
  s->fresh = false;
  s->snapshot_due = false;
  /* Every record is in the snapshot now.  If the journal cannot go, its
   * records are skipped at load (their sequence numbers come before the
   * snapshot's) and new ones follow them. */
  rc = statefile_remove(s->dir, STATEFMT_JOURNAL_FILE, err);
  if (rc < 0)
    return rc;
  if (s->jfd >= 0)
    (void)close(s->jfd); /* every append was synced */
  s->jfd = -1;
  s->journal_bytes = 0;
  return 0;
}

void state_relocated(struct state *s)
{
  if (s->jfd >= 0)
    (void)close(s->jfd); /* every append was synced */
  s->jfd = -1;
  s->journal_bytes = 0;
  s->snapshot_due = true;
}

bool state_compact_due(const struct state *s)
{
  uint64_t limit = s->snapshot_bytes / STATE_COMPACT_RATIO;

  if (limit < s->compact_min)
    limit = s->compact_min;
  return !s->readonly && (s->snapshot_due || s->journal_bytes > limit);
}

/* The most entries state_record puts in one journal record: about half
 * a megabyte encoded. */
#define STATE_RECORD_ENTRIES 4096

/* Opens the journal, which must hold exactly what this process knows it
 * wrote: the file is opened by name, so one that is gone (removed by a
 * failed append that had made it, or by hand) is made again rather than
 * written on through a descriptor no load would read.  A journal of
 * another length (a torn tail that could not be cut, a file changed by
 * hand) is not appended to: a snapshot of the state goes first. */
static int state_journal_open(struct state *s, int *created,
                              struct cfw_err *err)
{
  struct stat st;
  int fd;

  fd = statefile_open_append(s->dir, STATEFMT_JOURNAL_FILE, created, err);
  if (fd < 0)
    return fd;
  if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == s->journal_bytes) {
    s->jfd = fd;
    return 0;
  }
  (void)close(fd); /* nothing written through it */
  if (*created)
    (void)statefile_remove(s->dir, STATEFMT_JOURNAL_FILE, NULL);
  *created = 0;
  s->snapshot_due = true;
  return 1;
}

/* Makes ready for an append: a due snapshot first, then the journal
 * open (*created if this made it). */
static int state_append_open(struct state *s, int *created, struct cfw_err *err)
{
  int rc = 0;
  int tries;

  *created = 0;
  for (tries = 0; tries < 2; tries++) {
    if (s->snapshot_due)
      rc = state_compact(s, err);
    if (rc < 0 || s->jfd >= 0)
      return rc;
    rc = state_journal_open(s, created, err);
    if (rc <= 0)
      return rc;
    rc = 0;
  }
  return cfw_err_set(err, -EIO, "%s/%s: its length keeps changing", s->dir,
                     STATEFMT_JOURNAL_FILE);
}

/* After an append failed: the next one opens the journal again (see
 * state_journal_open). */
static void state_append_failed(struct state *s)
{
  if (s->jfd >= 0)
    (void)close(s->jfd); /* the failed record was cut off, or is torn */
  s->jfd = -1;
}

static int state_record_error(int rc, struct cfw_err *err)
{
  return cfw_err_set(err, rc, "recording: %s",
                     rc == -ENOMEM ? "out of memory" : "too large");
}

/* Appends one encoded record; the first one after a snapshot carries
 * the journal's header. */
static int state_append(struct state *s, const struct wire_out *rec,
                        struct cfw_err *err)
{
  struct wire_out w;
  struct iovec iov[2];
  int created = 0;
  int rc;

  if (s->readonly)
    return cfw_err_set(err, -EROFS, "%s: opened read-only", s->dir);
  if (rec->rc != 0)
    return state_record_error(rec->rc, err);
  rc = state_append_open(s, &created, err);
  if (rc < 0)
    return rc;
  /* The header goes in front of the record as a piece of its own: a
   * batch of a whole-site rewrite is megabytes, not to be copied. */
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  if (s->journal_bytes == 0)
    statefmt_put_journal_header(&w, s->id);
  iov[0].iov_base = w.b.data;
  iov[0].iov_len = w.b.len;
  iov[1].iov_base = rec->b.data;
  iov[1].iov_len = rec->b.len;
  rc = w.rc;
  if (rc == 0)
    rc = statefile_append(s->jfd, s->dir, STATEFMT_JOURNAL_FILE,
                          s->journal_bytes, iov, 2, created, err);
  else
    (void)cfw_err_set(err, rc, "recording: out of memory");
  if (rc == 0)
    s->journal_bytes += w.b.len + rec->b.len;
  else
    state_append_failed(s);
  wire_out_free(&w);
  return rc;
}

/* An intent's record is streamed to the journal in pieces of
 * STATE_STREAM_CHUNK too: a whole-site rewrite's is tens of megabytes. */
static int state_on_chunk(void *arg, const void *p, size_t n)
{
  return statefile_stream_write(arg, p, n);
}

/* The journal's header, if the record is its first, then the record. */
static int state_stream_intent(struct state *s, struct statefile_stream *st,
                               const struct intent *in)
{
  struct wire_out w;
  int rc;

  wire_out_init(&w, STATEFMT_JOURNAL_HEADER_LEN);
  if (s->journal_bytes == 0)
    statefmt_put_journal_header(&w, s->id);
  rc = w.rc;
  if (rc == 0)
    rc = statefile_stream_write(st, w.b.data, w.b.len);
  wire_out_free(&w);
  if (rc == 0)
    rc = statefmt_stream_intent(in, STATE_STREAM_CHUNK, state_on_chunk, st);
  return rc;
}

/* state_append for an intent, without its record whole in memory: the
 * same bytes, sync and failure handling (statefile_stream_end). */
static int state_append_intent(struct state *s, const struct intent *in,
                               struct cfw_err *err)
{
  struct statefile_stream st;
  uint64_t len;
  int created = 0;
  int rc;

  if (s->readonly)
    return cfw_err_set(err, -EROFS, "%s: opened read-only", s->dir);
  /* What cannot be encoded fails before anything is written, as it
   * does for the other records. */
  rc = statefmt_intent_size(in, &len);
  if (rc < 0)
    return state_record_error(rc, err);
  rc = state_append_open(s, &created, err);
  if (rc < 0)
    return rc;
  statefile_stream_begin(&st, s->jfd, s->dir, STATEFMT_JOURNAL_FILE,
                         s->journal_bytes, created);
  rc = state_stream_intent(s, &st, in);
  rc = statefile_stream_end(&st, rc, err);
  if (rc == 0)
    s->journal_bytes += st.written;
  else
    state_append_failed(s);
  return rc;
}

/* Where an intent's changes come from: the caller's v[idx[i]] (idx
 * NULL: v[i]), i < n, moved.  A move makes a shallow array first (the
 * paths still the caller's) and hands the paths over only once the
 * record is durable (intent_src_commit); a batch that is the whole of
 * the caller's array, in order, takes the array itself, so a whole-site
 * rewrite is never held twice. */
struct intent_src {
  struct change *v;
  const uint32_t *idx;
  size_t n;
  struct change **whole; /* the caller's array, which may go whole */
  size_t *n_whole;
  bool took_whole; /* set by intent_src_changes */
};

static bool intent_src_is_whole(const struct intent_src *src)
{
  size_t i;

  if (*src->whole != src->v || src->n != *src->n_whole)
    return false;
  for (i = 0; src->idx != NULL && i < src->n; i++)
    if (src->idx[i] != i)
      return false;
  return true;
}

static int intent_src_changes(struct intent_src *src, struct change **out)
{
  struct change *c;
  size_t i;

  src->took_whole = intent_src_is_whole(src);
  if (src->took_whole) {
    *out = src->v;
    return 0;
  }
  c = calloc(src->n + 1, sizeof(*c));
  if (c == NULL)
    return -ENOMEM;
  for (i = 0; i < src->n; i++)
    c[i] = src->v[src->idx != NULL ? src->idx[i] : i]; /* borrowed paths */
  *out = c;
  return 0;
}

/* Undoes intent_src_changes: the caller keeps what it had. */
static void intent_src_drop(const struct intent_src *src, struct change *c)
{
  if (!src->took_whole)
    free(c); /* the paths are still the caller's */
}

/* The record is durable: a move hands the paths (or the array) over. */
static void intent_src_commit(const struct intent_src *src)
{
  size_t i;

  if (src->took_whole) {
    *src->whole = NULL;
    *src->n_whole = 0;
    return;
  }
  for (i = 0; i < src->n; i++)
    src->v[src->idx != NULL ? src->idx[i] : i].entry.path = NULL;
}

/* Builds the intent for a batch of s: copies of paths, the changes
 * (src), the next sequence number and the reference (from the intent's
 * changes, which hold the batch in order however the caller's are laid
 * out).  On failure nothing is left and the caller's changes are as
 * they were. */
static int intent_fill(struct intent *out, const struct state *s,
                       const char *dist, const struct strlist *paths,
                       struct intent_src *src, struct cfw_err *err)
{
  struct change *c = NULL;
  struct intent in;
  size_t i;
  int rc = 0;

  memset(&in, 0, sizeof(in));
  in.seq = s->next_seq;
  in.created_ns = state_now_ns();
  in.distribution = strdup(dist != NULL ? dist : "");
  if (in.distribution == NULL)
    rc = -ENOMEM;
  for (i = 0; rc == 0 && i < paths->n; i++)
    rc = strlist_push(&in.paths, paths->v[i]);
  if (rc == 0)
    rc = intent_src_changes(src, &c);
  if (rc < 0) {
    intent_free(&in);
    return cfw_err_set(err, rc, "out of memory");
  }
  rc = batch_caller_ref(dist, s->id, STATE_ID_LEN, in.seq, c, src->n, in.ref,
                        err);
  if (rc < 0) {
    intent_src_drop(src, c);
    intent_free(&in);
    return rc;
  }
  in.changes = c;
  in.n_changes = src->n;
  *out = in;
  return 0;
}

static int state_intend_from(struct state *s, const char *distribution,
                             const struct strlist *paths,
                             struct intent_src *src, const struct intent **out,
                             struct cfw_err *err)
{
  struct intent in;
  struct intent *grown;
  int rc;

  memset(&in, 0, sizeof(in));
  /* Room first: once the record is durable, nothing may fail. */
  grown = array_grow(s->open, s->n_open, &s->cap_open, sizeof(*grown));
  if (grown == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  s->open = grown;
  rc = intent_fill(&in, s, distribution, paths, src, err);
  if (rc < 0)
    return rc;
  rc = state_append_intent(s, &in, err);
  if (rc < 0) {
    intent_src_drop(src, in.changes);
    in.changes = NULL;
    in.n_changes = 0;
    intent_free(&in);
    return rc;
  }
  intent_src_commit(src);
  s->next_seq++;
  s->open[s->n_open++] = in;
  *out = &s->open[s->n_open - 1];
  return 0;
}

int state_intend_take(struct state *s, const char *distribution,
                      const struct strlist *paths, struct change **v,
                      size_t *n_v, const uint32_t *idx, size_t n,
                      const struct intent **out, struct cfw_err *err)
{
  struct intent_src src = {
      .v = *v, .idx = idx, .n = n, .whole = v, .n_whole = n_v};

  return state_intend_from(s, distribution, paths, &src, out, err);
}

int state_commit(struct state *s, const char *ref, const char *inv_id,
                 const uint32_t *stale, size_t n_stale, struct cfw_err *err)
{
  struct wire_out w;
  size_t i;
  int rc;

  i = state_find_intent(s, ref);
  if (i == SIZE_MAX)
    return cfw_err_set(err, -ENOENT, "no open batch %s", ref);
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_commit(&w, s->next_seq, ref, inv_id ? inv_id : "",
                      state_now_ns(), stale, n_stale);
  rc = state_append(s, &w, err);
  wire_out_free(&w);
  if (rc < 0)
    return rc;
  s->next_seq++;
  return state_close_intent(s, i, stale, n_stale, err);
}

/* Whether to journal each distribution's acceptance is a choice.  An
 * intent's one CallerReference goes to each distribution, and CloudFront
 * checks references per distribution (API Reference, InvalidationBatch:
 * "If you make a second invalidation request with the same value for
 * CallerReference, and if the rest of the request is the same,
 * CloudFront doesn't create a new invalidation request"; its refusal of
 * a reused reference reads "a caller reference that was used for a
 * previous invalidation batch for the same distribution", as quoted in
 * aws/aws-cdk#3878), so re-sending an intent to a distribution that
 * accepted it already is a replay: no second invalidation, no second
 * bill, one request.  The record is kept
 * anyway, because it is cheap (one small append per distribution) and
 * because `status` can then say which distribution still lacks a batch,
 * and the next run sends it only there.  It is not in the snapshot (a
 * compaction forgets it; the replay covers that). */
int state_accepted(struct state *s, const char *ref, const char *dist,
                   const char *inv_id, struct cfw_err *err)
{
  struct wire_out w;
  size_t i;
  int rc;

  i = state_find_intent(s, ref);
  if (i == SIZE_MAX)
    return cfw_err_set(err, -ENOENT, "no open batch %s", ref);
  if (intent_accepted_by(&s->open[i], dist))
    return 0;
  /* Room first: once the record is durable, nothing may fail. */
  rc = strlist_push(&s->open[i].accepted, dist);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_accepted(&w, s->next_seq, ref, dist, inv_id ? inv_id : "");
  rc = state_append(s, &w, err);
  wire_out_free(&w);
  if (rc < 0) {
    free(s->open[i].accepted.v[--s->open[i].accepted.n]);
    return rc;
  }
  s->next_seq++;
  return 0;
}

int state_uploaded(struct state *s, const char *ref, const uint32_t *stale,
                   size_t n_stale, struct cfw_err *err)
{
  struct wire_out w;
  uint32_t *copy;
  size_t i;
  int rc;

  i = state_find_intent(s, ref);
  if (i == SIZE_MAX)
    return cfw_err_set(err, -ENOENT, "no open batch %s", ref);
  copy = calloc(n_stale + 1, sizeof(*copy));
  if (copy == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  if (n_stale > 0)
    memcpy(copy, stale, n_stale * sizeof(*copy));
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_uploaded(&w, s->next_seq, ref, stale, n_stale);
  rc = state_append(s, &w, err);
  wire_out_free(&w);
  if (rc < 0) {
    free(copy);
    return rc;
  }
  s->next_seq++;
  state_mark_uploaded(&s->open[i], &copy, &n_stale);
  return 0;
}

/* One record of entries, appended then applied. */
static int state_record_one(struct state *s, const struct change *v, size_t n,
                            struct cfw_err *err)
{
  struct wire_out w;
  int rc;

  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_entries(&w, s->next_seq, v, n);
  rc = state_append(s, &w, err);
  wire_out_free(&w);
  if (rc < 0)
    return rc;
  s->next_seq++;
  return state_apply_entries(s, v, n, err);
}

int state_record(struct state *s, const struct change *v, size_t n,
                 struct cfw_err *err)
{
  size_t i;
  size_t k;
  int rc = 0;

  /* Each of these changes stands on its own (none is an intent to keep
   * whole), so a rewrite of the whole site is recorded a bounded
   * record at a time, not encoded at once (issue 13); a crash between
   * two records leaves the rest to be found again. */
  for (i = 0; i < n && rc == 0; i += k) {
    k = n - i < STATE_RECORD_ENTRIES ? n - i : STATE_RECORD_ENTRIES;
    rc = state_record_one(s, v + i, k, err);
  }
  return rc;
}

int state_baseline(struct state *s, const struct change *v, size_t n,
                   struct cfw_err *err)
{
  int rc;

  rc = manifest_apply(s->m, v, n, err);
  if (rc < 0)
    return rc;
  /* Until the snapshot is written the baseline lives in memory only;
   * snapshot_due stays set, so the next write tries again. */
  s->snapshot_due = true;
  return state_compact(s, err);
}
