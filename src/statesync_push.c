/* SPDX-License-Identifier: MIT */
/* A state dir as the cache of a state in S3, the push (statesync.h):
 * what state.c wrote since the last push is created in S3 in order,
 * the snapshot first (If-Match), then each record (If-None-Match: *);
 * a snapshot that replaced another deletes the records made old. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "s3state.h"
#include "statecache.h"
#include "statefmt.h"
#include "statesync.h"
#include "statesync_int.h"
#include "util.h"
#include "wire.h"

static void statesync_push_next(struct statesync *ss);

static void statesync_job_push_load(struct statesync *ss)
{
  ss->job_rc =
      statecache_load(&ss->c, ss->dir, STATECACHE_SNAPSHOT, &ss->res.err);
}

static void statesync_job_push_save(struct statesync *ss)
{
  ss->job_rc =
      statesync_save_mark(ss, ss->confirmed, ss->c.snap_ns, &ss->res.err);
}

static void statesync_pushed(struct statesync *ss)
{
  log_msg(ss->log, LOG_DEBUG,
          "state in %s: pushed %u object(s) in %u request(s)%s",
          s3state_where(ss->remote), ss->res.objects, ss->res.requests,
          ss->wipe ? "; another writer moved it" : "");
  statesync_done(ss, ss->wipe ? STATESYNC_CONFLICT : STATESYNC_OK);
}

static void statesync_push_loaded(struct statesync *ss)
{
  const struct statecache *c = &ss->c;
  struct cfw_err err = {0};

  str_copy(ss->etag, sizeof(ss->etag), c->synced ? c->etag : "");
  ss->confirmed = c->synced ? c->confirmed : 1;
  ss->snap_next = c->synced ? c->mark.snap_next : 0;
  str_copy(ss->who, sizeof(ss->who), c->mark.who);
  str_copy(ss->at, sizeof(ss->at), c->mark.at);
  ss->trim_below = 0;
  ss->i = 0;
  if (c->snap == NULL || !c->have_snapshot) {
    statesync_push_next(ss);
    return;
  }
  ss->snap_pending = true;
  ss->ph = PH_PUT;
  if (c->snap_next > ss->confirmed) {
    statesync_fail(ss, -EBADMSG, "the snapshot covers records not in S3");
    return;
  }
  if (s3state_put_snapshot(ss->remote, ss->etag, c->snap, c->snap_len,
                           statesync_on_remote, ss, &err) < 0)
    statesync_remote_failed(ss, &err);
}

/* A new snapshot replaced one: the records before the replaced one's
 * next_seq go.  Those between it and the new one stay until the next
 * compaction, so a reader that listed records against the replaced
 * snapshot finds every one it needs; a reader slower than two
 * compactions finds one gone and reads the snapshot again
 * (statesync_on_gone).  A failed delete costs storage only: warned. */
static void statesync_trim(struct statesync *ss)
{
  struct cfw_err err = {0};

  ss->ph = PH_TRIM;
  if (s3state_trim(ss->remote, ss->trim_below, statesync_on_remote, ss, &err) <
      0)
    statesync_push_trimmed(ss, S3STATE_FAILED, &err, 0);
}

void statesync_push_trimmed(struct statesync *ss, enum s3state_outcome o,
                            const struct cfw_err *err, size_t n)
{
  if (o != S3STATE_OK)
    log_msg(ss->log, LOG_WARN,
            "state in %s: the records before %llu stay (%s); they cost "
            "storage only, and the next compaction deletes them",
            s3state_where(ss->remote), (unsigned long long)ss->trim_below,
            err->msg);
  else
    log_msg(ss->log, LOG_DEBUG,
            "state in %s: deleted %zu record(s) before %llu",
            s3state_where(ss->remote), n, (unsigned long long)ss->trim_below);
  ss->trim_below = 0;
  statesync_queue(ss, statesync_job_push_save, statesync_pushed);
}

static void statesync_push_next(struct statesync *ss)
{
  const struct statecache *c = &ss->c;
  const struct statecache_rec *rec;
  struct cfw_err err = {0};
  struct wire_out w;
  int rc;

  while (ss->i < c->n_recs && c->recs[ss->i].seq < ss->confirmed)
    ss->i++;
  if (ss->i == c->n_recs) {
    if (ss->res.objects == 0) {
      statesync_done(ss, STATESYNC_OK);
      return;
    }
    if (ss->trim_below > 1) {
      statesync_trim(ss);
      return;
    }
    statesync_queue(ss, statesync_job_push_save, statesync_pushed);
    return;
  }
  rec = &c->recs[ss->i];
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_journal_header(&w, c->id);
  wire_put_bytes(&w, c->journal + rec->off, rec->len);
  rc = w.rc < 0 ? cfw_err_set(&err, w.rc, "out of memory") : 0;
  ss->ph = PH_PUT;
  if (rc == 0)
    rc = s3state_put_record(ss->remote, rec->seq, w.b.data, w.b.len,
                            statesync_on_remote, ss, &err);
  wire_out_free(&w);
  if (rc < 0)
    statesync_remote_failed(ss, &err);
}

void statesync_push_on_put(struct statesync *ss, struct s3state_result *r)
{
  if (r->outcome == S3STATE_CONFLICT) {
    ss->wipe = true; /* here: the outcome */
    statesync_queue(ss, statesync_job_push_save, statesync_pushed);
    return;
  }
  ss->res.objects++;
  statesync_saw(ss, r);
  if (ss->snap_pending) {
    if (ss->etag[0] != '\0') /* replaced: see statesync_trim */
      ss->trim_below = ss->snap_next;
    str_copy(ss->etag, sizeof(ss->etag), r->etag);
    ss->snap_next = ss->c.snap_next;
    ss->snap_pending = false;
  } else {
    ss->confirmed = ss->c.recs[ss->i].seq + 1;
    ss->i++;
  }
  statesync_push_next(ss);
}

int statesync_push(struct statesync *ss, statesync_cb cb, void *arg,
                   struct cfw_err *err)
{
  int rc = statesync_begin(ss, cb, arg, err);

  if (rc == 0)
    statesync_queue(ss, statesync_job_push_load, statesync_push_loaded);
  return rc;
}
