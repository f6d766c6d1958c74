/* SPDX-License-Identifier: MIT */
/* S3's snapshot of a state in S3, read in parts (statesync_int.h): a
 * snapshot of a 100,000-file site is about 11 MB, more than one GET
 * may hold (S3_GET_MAX), so each part is a ranged GET of at most
 * STATESYNC_PART bytes, pinned to the first part's ETag with If-Match
 * (S3's GetObject: "Range" and "If-Match", 412 once the object
 * changed), appended to STATECACHE_PART on the threadpool, and the
 * whole is checked there against its header's length and its SHA-256
 * trailer before the pull saves it as the cache's snapshot.  Memory:
 * one part.  A snapshot replaced mid-read (another writer compacted)
 * is read again from its start, a few times at most. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "s3state.h"
#include "statecache.h"
#include "statesync_int.h"
#include "util.h"

/* Reads of a snapshot that another writer kept replacing. */
#define STATESYNC_PART_RESTARTS 3

static void statesync_snap_ask(struct statesync *ss)
{
  struct cfw_err err = {0};
  uint64_t left = ss->part_total - ss->part_off;
  size_t len = STATESYNC_PART;
  int rc;

  if (ss->part_off > 0 && left < len)
    len = (size_t)left;
  ss->ph = PH_SNAPSHOT;
  rc = s3state_get_part(ss->remote, 0, ss->part_off, len,
                        ss->part_off > 0 ? ss->etag : NULL, statesync_on_remote,
                        ss, &err);
  if (rc < 0)
    statesync_remote_failed(ss, &err);
}

void statesync_snap_get(struct statesync *ss)
{
  ss->part_off = 0;
  ss->part_total = 0;
  statesync_snap_ask(ss);
}

static void statesync_job_part_write(struct statesync *ss)
{
  ss->job_rc = statecache_part_write(ss->dir, ss->part_off, ss->part.data,
                                     ss->part.len, &ss->res.err);
}

static void statesync_job_part_check(struct statesync *ss)
{
  ss->job_rc = statecache_part_check(ss->dir, ss->part_total, &ss->res.err);
}

static void statesync_part_checked(struct statesync *ss)
{
  log_msg(ss->log, LOG_DEBUG, "state in %s: snapshot of %llu bytes read",
          s3state_where(ss->remote), (unsigned long long)ss->part_total);
  ss->snap_file = true;
  statesync_snap_taken(ss, ss->part_id, ss->part_next, ss->part_ns);
}

static void statesync_part_written(struct statesync *ss)
{
  ss->part_off += ss->part.len;
  buf_free(&ss->part);
  if (ss->part_off < ss->part_total)
    statesync_snap_ask(ss);
  else
    statesync_queue(ss, statesync_job_part_check, statesync_part_checked);
}

/* Another writer replaced the snapshot between two parts. */
static void statesync_snap_replaced(struct statesync *ss)
{
  if (++ss->part_restarts > STATESYNC_PART_RESTARTS) {
    (void)cfw_err_set(&ss->res.err, -EAGAIN,
                      "the snapshot was replaced while being read, %d "
                      "times; run again",
                      STATESYNC_PART_RESTARTS);
    cfw_err_class(&ss->res.err, CFW_CLASS_TRANSIENT);
    statesync_fail(ss, -EAGAIN, "snapshot");
    return;
  }
  log_msg(ss->log, LOG_DEBUG,
          "state in %s: the snapshot was replaced while being read; "
          "reading it again",
          s3state_where(ss->remote));
  statesync_snap_get(ss);
}

void statesync_snap_on_part(struct statesync *ss, struct s3state_result *r)
{
  if (r->outcome == S3STATE_CONFLICT) {
    statesync_snap_replaced(ss);
    return;
  }
  if (ss->part_off == 0) {
    ss->part_total = r->total;
    str_copy(ss->etag, sizeof(ss->etag), r->etag);
  }
  if (r->total != ss->part_total || r->body.len == 0 ||
      r->body.len > ss->part_total - ss->part_off) {
    statesync_fail(ss, -EBADMSG, "snapshot: a part that does not fit");
    return;
  }
  buf_free(&ss->part);
  ss->part = r->body; /* taken */
  buf_init(&r->body, S3_GET_MAX);
  statesync_queue(ss, statesync_job_part_write, statesync_part_written);
}
