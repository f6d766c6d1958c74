/* SPDX-License-Identifier: MIT */
/* A state dir as the cache of a state in S3 (statesync.h): pull before
 * a pass, push after each write.  The S3 calls are s3state.c's; the
 * files are statecache.c's, on the threadpool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "buf.h"
#include "ledgerpull.h"
#include "log.h"
#include "s3state.h"
#include "statecache.h"
#include "statefile.h"
#include "statefmt.h"
#include "statesync.h"
#include "statesync_int.h"
#include "util.h"
#include "wire.h"

static void statesync_pull_next(struct statesync *ss);

int statesync_new(struct statesync **out, const struct statesync_opts *o,
                  struct cfw_err *err)
{
  struct statesync *ss = calloc(1, sizeof(*ss));

  *out = NULL;
  if (ss == NULL || (ss->dir = strdup(o->dir)) == NULL) {
    free(ss);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  ss->loop = o->loop;
  ss->remote = o->remote;
  ss->log = o->log;
  *out = ss;
  return 0;
}

static void statesync_reset(struct statesync *ss)
{
  statecache_free(&ss->c);
  free(ss->seqs);
  ss->seqs = NULL;
  ss->n_seqs = 0;
  free(ss->snap);
  ss->snap = NULL;
  ss->snap_len = 0;
  buf_free(&ss->frames);
  buf_free(&ss->part);
  ss->snap_file = false;
  ss->part_off = 0;
  ss->part_restarts = 0;
}

void statesync_destroy(struct statesync *ss)
{
  if (ss == NULL)
    return;
  statesync_reset(ss);
  free(ss->dir);
  free(ss);
}

bool statesync_busy(const struct statesync *ss)
{
  return ss->busy;
}

void statesync_done(struct statesync *ss, enum statesync_outcome o)
{
  struct statesync_result res = ss->res;

  res.outcome = o;
  statesync_reset(ss);
  ss->busy = false;
  ss->cb(&res, ss->arg);
}

void statesync_fail(struct statesync *ss, int rc, const char *what)
{
  if (ss->res.err.code == 0)
    (void)cfw_err_set(&ss->res.err, rc, "%s", what);
  cfw_err_prefix(&ss->res.err, "state in %s", s3state_where(ss->remote));
  if (ss->res.err.cls == CFW_CLASS_NONE)
    cfw_err_class(&ss->res.err, CFW_CLASS_STATE);
  statesync_done(ss, STATESYNC_FAILED);
}

static void statesync_on_work(uv_work_t *w)
{
  struct statesync *ss = container_of(w, struct statesync, work);

  ss->job(ss);
}

static void statesync_on_work_done(uv_work_t *w, int status)
{
  struct statesync *ss = container_of(w, struct statesync, work);

  if (status < 0)
    statesync_fail(ss, status, "threadpool cancelled");
  else if (ss->job_rc < 0)
    statesync_fail(ss, ss->job_rc, "cache");
  else
    ss->after(ss);
}

void statesync_queue(struct statesync *ss, void (*job)(struct statesync *),
                     void (*after)(struct statesync *))
{
  int rc;

  ss->job = job;
  ss->after = after;
  ss->job_rc = 0;
  rc = uv_queue_work(ss->loop, &ss->work, statesync_on_work,
                     statesync_on_work_done);
  if (rc < 0)
    statesync_fail(ss, rc, uv_strerror(rc));
}

int statesync_begin(struct statesync *ss, statesync_cb cb, void *arg,
                    struct cfw_err *err)
{
  if (ss->busy)
    return cfw_err_set(err, -EBUSY, "state sync: a call is in flight");
  memset(&ss->res, 0, sizeof(ss->res));
  statesync_reset(ss);
  buf_init(&ss->frames, STATEFMT_MAX_BYTES);
  ss->busy = true;
  ss->cb = cb;
  ss->arg = arg;
  ss->wipe = false;
  ss->gone = 0;
  ss->valid = false;
  ss->snap_pending = false;
  cfw_err_clear(&ss->ledger_err);
  return 0;
}

/* An S3 call that could not start, or ended badly. */
void statesync_remote_failed(struct statesync *ss, const struct cfw_err *err)
{
  ss->res.err = *err;
  statesync_fail(ss, err->code < 0 ? err->code : -EIO, "S3");
}

/* The last writer seen: the object just read or written. */
void statesync_saw(struct statesync *ss, const struct s3state_result *r)
{
  if (r->who[0] == '\0')
    return;
  str_copy(ss->who, sizeof(ss->who), r->who);
  str_copy(ss->at, sizeof(ss->at), r->at);
}

int statesync_save_mark(struct statesync *ss, uint64_t confirmed,
                        int64_t snap_ns, struct cfw_err *err)
{
  struct statecache_mark m;

  memset(&m, 0, sizeof(m));
  str_copy(m.etag, sizeof(m.etag), ss->etag);
  m.confirmed = confirmed;
  m.snap_ns = snap_ns;
  m.snap_next = ss->snap_next;
  str_copy(m.who, sizeof(m.who), ss->who);
  str_copy(m.at, sizeof(m.at), ss->at);
  return statecache_save_sync(ss->dir, &m, err);
}

/* ---- Pull ---- */

static void statesync_job_load(struct statesync *ss)
{
  ss->job_rc = statecache_load(&ss->c, ss->dir, 0, &ss->res.err);
}

static void statesync_list(struct statesync *ss, uint64_t after)
{
  struct cfw_err err = {0};

  ss->list_after = after;
  free(ss->seqs);
  ss->seqs = NULL;
  ss->n_seqs = 0;
  ss->ph = PH_LIST;
  if (s3state_list(ss->remote, after, statesync_on_remote, ss, &err) < 0)
    statesync_remote_failed(ss, &err);
}

static void statesync_pull_loaded(struct statesync *ss)
{
  const struct statecache *c = &ss->c;

  ss->valid = c->have_snapshot && c->synced && c->synced_ns == c->snap_ns &&
              c->confirmed >= c->snap_next;
  ss->next = 0;
  if (ss->valid) {
    ss->next = c->next < c->confirmed ? c->next : c->confirmed;
    memcpy(ss->id, c->id, STATE_ID_LEN);
    ss->snap_ns = c->snap_ns;
  }
  ss->keep_below = ss->next;
  ss->snap_next = ss->valid ? c->snap_next : 0;
  str_copy(ss->who, sizeof(ss->who), c->mark.who);
  str_copy(ss->at, sizeof(ss->at), c->mark.at);
  statesync_list(ss, ss->next > 1 ? ss->next - 1 : 0);
}

/* Where the records the dir keeps end in its journal: those before
 * keep_below, as S3 has them too. */
static size_t statesync_kept(const struct statesync *ss)
{
  const struct statecache *c = &ss->c;
  size_t keep = STATEFMT_JOURNAL_HEADER_LEN;
  size_t i;

  for (i = 0; i < c->n_recs; i++)
    if (c->recs[i].seq < ss->keep_below)
      keep = c->recs[i].off + c->recs[i].len;
  return keep;
}

/* The invalidations in the records pulled, other machines' (ours are
 * counted already, and the ledger drops them), go to the dir's ledger
 * (ledgerpull.h): each machine's month then counts every machine's.
 * The intents they name are in the records, those the dir kept before
 * them, or the snapshot.  Only the statistics suffer if that fails. */
static void statesync_count(struct statesync *ss, bool replaced)
{
  const unsigned char *kept = NULL;
  size_t end = replaced ? 0 : statesync_kept(ss);
  size_t len = 0;

  if (ss->frames.len == 0)
    return;
  if (end > STATEFMT_JOURNAL_HEADER_LEN) {
    kept = ss->c.journal + STATEFMT_JOURNAL_HEADER_LEN;
    len = end - STATEFMT_JOURNAL_HEADER_LEN;
  }
  if (ledgerpull_count(ss->dir, kept, len,
                       (const unsigned char *)ss->frames.data, ss->frames.len,
                       &ss->ledger_err) < 0)
    cfw_err_prefix(&ss->ledger_err, "ledger");
}

/* Writes what was pulled: the snapshot if S3's replaces ours, the
 * journal's confirmed records and the new ones, the sync file. */
static int statesync_save(struct statesync *ss, struct cfw_err *err)
{
  const struct statecache *c = &ss->c;
  size_t keep = STATEFMT_JOURNAL_HEADER_LEN;
  struct wire_out w;
  int rc;

  bool replaced = ss->snap != NULL || ss->snap_file;

  rc = atomicfile_mkdirs(ss->dir, 0700, err);
  if (rc == 0 && ss->snap != NULL)
    rc = atomicfile_write(ss->dir, STATEFMT_SNAPSHOT_FILE, ss->snap,
                          ss->snap_len, err);
  else if (rc == 0 && ss->snap_file) /* checked: statesync_snap.c */
    rc = statecache_part_commit(ss->dir, err);
  if (!replaced)
    keep = statesync_kept(ss);
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  if (replaced || c->journal == NULL)
    statefmt_put_journal_header(&w, ss->id);
  else
    wire_put_bytes(&w, c->journal, keep);
  wire_put_bytes(&w, ss->frames.data, ss->frames.len);
  if (rc == 0 && w.rc < 0)
    rc = cfw_err_set(err, w.rc, "out of memory");
  if (rc == 0 && w.b.len == STATEFMT_JOURNAL_HEADER_LEN)
    rc = statefile_remove(ss->dir, STATEFMT_JOURNAL_FILE, err);
  else if (rc == 0 && (w.b.len != c->journal_len || ss->frames.len > 0))
    rc = atomicfile_write(ss->dir, STATEFMT_JOURNAL_FILE, w.b.data, w.b.len,
                          err);
  wire_out_free(&w);
  if (rc == 0)
    rc = statesync_save_mark(ss, ss->next, ss->snap_ns, err);
  return rc;
}

static void statesync_job_save(struct statesync *ss)
{
  struct snapshot snap;

  if (ss->wipe) {
    ss->job_rc = statecache_forget(ss->dir, &ss->res.err);
    return;
  }
  /* S3's snapshot is checked whole before it becomes ours. */
  if (ss->snap != NULL) {
    ss->job_rc = statefmt_get_snapshot(ss->snap, ss->snap_len, "snapshot",
                                       &snap, &ss->res.err);
    snapshot_free(&snap);
    if (ss->job_rc < 0)
      return;
  }
  ss->job_rc = statesync_save(ss, &ss->res.err);
  if (ss->job_rc == 0)
    statesync_count(ss, ss->snap != NULL || ss->snap_file);
}

static void statesync_saved(struct statesync *ss)
{
  if (ss->ledger_err.code < 0)
    log_msg(ss->log, LOG_WARN, "%s (only the statistics suffer)",
            ss->ledger_err.msg);
  log_msg(ss->log, LOG_DEBUG,
          "state in %s: pulled %u object(s) in %u request(s)%s",
          s3state_where(ss->remote), ss->res.objects, ss->res.requests,
          ss->res.remote_empty ? "; S3 holds no state" : "");
  statesync_done(ss, STATESYNC_OK);
}

static void statesync_on_list(struct statesync *ss, struct s3state_result *r)
{
  str_copy(ss->etag, sizeof(ss->etag), r->snapshot_etag);
  ss->seqs = r->seqs; /* taken */
  ss->n_seqs = r->n_seqs;
  r->seqs = NULL;
  ss->i = 0;
  /* No snapshot and nothing after ours: S3 lost the state (every state
   * in S3 starts with its snapshot), and the cache must not stand in
   * for it. */
  if (ss->etag[0] == '\0' && ss->n_seqs == 0) {
    ss->wipe = true;
    ss->res.remote_empty = true;
    statesync_queue(ss, statesync_job_save, statesync_saved);
    return;
  }
  if (ss->etag[0] == '\0') {
    statesync_fail(ss, -EBADMSG, "records but no snapshot: damaged");
    return;
  }
  if (!ss->valid || strcmp(ss->etag, ss->c.etag) != 0) {
    statesync_snap_get(ss);
    return;
  }
  statesync_pull_next(ss);
}

/* A listed record that is gone was deleted by a writer's compaction
 * (statesync.h) after our list: the snapshot now covers it.  Read it
 * again and go on from it. */
static void statesync_on_gone(struct statesync *ss)
{
  log_msg(ss->log, LOG_DEBUG,
          "state in %s: record %llu went while being read; reading the "
          "snapshot again",
          s3state_where(ss->remote), (unsigned long long)ss->next);
  ss->gone = ss->next;
  statesync_snap_get(ss);
}

/* S3's snapshot: ours, or newer than what we hold: it replaces ours. */
static void statesync_on_snapshot(struct statesync *ss,
                                  struct s3state_result *r)
{
  unsigned char id[STATE_ID_LEN];
  uint64_t next;
  int64_t ns;

  if (ss->part_off > 0 || r->outcome == S3STATE_CONFLICT) {
    statesync_snap_on_part(ss, r); /* a later part */
    return;
  }
  if (statecache_snapshot_header((const unsigned char *)r->body.data,
                                 r->body.len, id, &next, &ns) < 0) {
    statesync_fail(ss, -EBADMSG, "snapshot: not one cfwatch can read");
    return;
  }
  str_copy(ss->etag, sizeof(ss->etag), r->etag);
  if (ss->gone != 0 && next <= ss->gone) {
    statesync_fail(ss, -EBADMSG,
                   "a record went, and no snapshot covers it: damaged");
    return;
  }
  if (ss->valid && memcmp(id, ss->id, STATE_ID_LEN) == 0 && next <= ss->next) {
    statesync_pull_next(ss);
    return;
  }
  statesync_saw(ss, r);
  if (r->total > r->body.len) { /* the first of several parts */
    memcpy(ss->part_id, id, STATE_ID_LEN);
    ss->part_next = next;
    ss->part_ns = ns;
    statesync_snap_on_part(ss, r);
    return;
  }
  free(ss->snap);
  ss->snap_len = r->body.len;
  ss->snap = (unsigned char *)buf_take(&r->body);
  statesync_snap_taken(ss, id, next, ns);
}

void statesync_snap_taken(struct statesync *ss,
                          const unsigned char id[STATE_ID_LEN], uint64_t next,
                          int64_t ns)
{
  /* The records pulled so far are older than this snapshot. */
  buf_reset(&ss->frames);
  memcpy(ss->id, id, STATE_ID_LEN);
  ss->snap_ns = ns;
  ss->next = next;
  ss->snap_next = next;
  ss->valid = true;
  if (ss->list_after != 0 && ss->list_after + 1 > next) {
    statesync_list(ss, next > 1 ? next - 1 : 0);
    return;
  }
  statesync_pull_next(ss);
}

static void statesync_pull_next(struct statesync *ss)
{
  struct cfw_err err = {0};

  while (ss->i < ss->n_seqs && ss->seqs[ss->i] < ss->next)
    ss->i++;
  if (ss->i == ss->n_seqs) {
    statesync_queue(ss, statesync_job_save, statesync_saved);
    return;
  }
  if (ss->seqs[ss->i] != ss->next) {
    statesync_fail(ss, -EBADMSG, "a record is missing: damaged");
    return;
  }
  ss->ph = PH_RECORD;
  if (s3state_get(ss->remote, ss->next, 0, statesync_on_remote, ss, &err) < 0)
    statesync_remote_failed(ss, &err);
}

static void statesync_on_record(struct statesync *ss, struct s3state_result *r)
{
  const unsigned char *p = (const unsigned char *)r->body.data;
  size_t off;

  if (statecache_check_object(p, r->body.len, ss->id, ss->next, &off) < 0) {
    statesync_fail(ss, -EBADMSG, "a record that does not follow: damaged");
    return;
  }
  if (buf_add(&ss->frames, p + off, r->body.len - off) < 0) {
    statesync_fail(ss, -ENOMEM, "out of memory");
    return;
  }
  ss->res.objects++;
  ss->next++;
  ss->i++;
  statesync_saw(ss, r);
  statesync_pull_next(ss);
}

int statesync_pull(struct statesync *ss, statesync_cb cb, void *arg,
                   struct cfw_err *err)
{
  int rc = statesync_begin(ss, cb, arg, err);

  if (rc == 0)
    statesync_queue(ss, statesync_job_load, statesync_pull_loaded);
  return rc;
}

/* ---- Both ---- */

void statesync_on_remote(struct s3state_result *r, void *arg)
{
  struct statesync *ss = arg;

  ss->res.requests += r->requests;
  if (ss->ph == PH_TRIM) {
    statesync_push_trimmed(ss, r->outcome, &r->err, r->n_seqs);
    return;
  }
  if (r->outcome == S3STATE_NOT_FOUND && ss->ph == PH_RECORD) {
    statesync_on_gone(ss);
    return;
  }
  if (r->outcome == S3STATE_FAILED ||
      (r->outcome == S3STATE_NOT_FOUND && ss->ph != PH_PUT)) {
    if (r->outcome == S3STATE_NOT_FOUND)
      (void)cfw_err_set(&r->err, -EAGAIN,
                        "an object went while being read; run again");
    statesync_remote_failed(ss, &r->err);
    return;
  }
  switch (ss->ph) {
  case PH_LIST:
    statesync_on_list(ss, r);
    return;
  case PH_SNAPSHOT:
    statesync_on_snapshot(ss, r);
    return;
  case PH_RECORD:
    statesync_on_record(ss, r);
    return;
  case PH_PUT:
    statesync_push_on_put(ss, r);
    return;
  case PH_TRIM: /* above */
    return;
  }
}
