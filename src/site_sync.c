/* SPDX-License-Identifier: MIT */
/* A site whose state lives in S3 (state_dir = s3://BUCKET/PREFIX): the
 * local state dir is a cache (statesync.h).  Each pass starts with a
 * pull, under the cache's lock, and loads the state from it; each job
 * that writes the state is followed by a push before the pipeline goes
 * on, so an intent is in S3 before its batch is sent.  A push that
 * finds another writer first closes the state and reruns the pass from
 * a new pull: what the other one recorded is then not sent again, and
 * an intent of ours already in S3 is sent again with its reference. */
#include <errno.h>
#include <string.h>

#include "site_int.h"

/* A pass that lost the race this many times gives up (the next run, or
 * the daemon's retry, starts afresh). */
#define SITE_SYNC_MAX_RESTARTS 5

int site_sync_init(struct site *s, struct cfw_err *err)
{
  struct s3_client_opts so = {0};
  struct s3state_opts to = {0};
  struct statesync_opts yo = {0};
  struct s3url u;
  int rc;

  if (s->cfg->state_url == NULL || (s->o.mode == SITE_PLAN && s->o.offline))
    return 0;
  rc = s3url_parse(s->cfg->state_url, &u, err);
  if (rc == 0 && s->aws == NULL)
    rc = site_aws_init(s, err);
  if (rc < 0)
    return rc;
  rc = site_s3_opts(s, &so, err);
  so.bucket = u.bucket;
  if (rc == 0)
    rc = s3_client_new(&s->state_s3, s->o.loop, &so, err);
  to.s3 = s->state_s3;
  to.prefix = u.prefix;
  if (rc == 0)
    rc = s3state_new(&s->remote, &to, err);
  yo.loop = s->o.loop;
  yo.remote = s->remote;
  yo.log = s->o.log;
  yo.dir = s->cfg->state_dir;
  if (rc == 0)
    rc = statesync_new(&s->sync, &yo, err);
  return rc;
}

void site_sync_destroy(struct site *s)
{
  statesync_destroy(s->sync);
  s->sync = NULL;
  s3state_destroy(s->remote);
  s->remote = NULL;
  s3_client_destroy(s->state_s3);
  s->state_s3 = NULL;
}

/* True if the pass must pull first: a state in S3 is read afresh for
 * each pass, since another writer may have moved it meanwhile. */
bool site_sync_due(const struct site *s)
{
  return s->sync != NULL && !s->pulled && s->lock_fd >= 0;
}

static void site_sync_on_pull(const struct statesync_result *r, void *arg)
{
  struct site *s = arg;

  if (s->closing) {
    site_advance(s); /* cancels */
    return;
  }
  if (r->outcome != STATESYNC_OK) {
    site_fail(s, r->err.code < 0 ? r->err.code : -EIO, &r->err);
    return;
  }
  s->st = SITE_LOADING;
  site_queue(s, site_job_load);
}

/* Brings the cache up to S3's state, then loads it (site_job_load
 * closes the state it replaces); the pass then starts (site_advance
 * from SITE_LOADING).  Nothing writes the state meanwhile. */
void site_sync_reopen(struct site *s)
{
  struct cfw_err err = {0};
  int rc;

  memset(&s->rep, 0, sizeof(s->rep));
  s->rep.opened = s->sync_opened;
  s->st = SITE_PULLING;
  rc = statesync_pull(s->sync, site_sync_on_pull, s, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
}

/* Another writer moved the state: the pass again, from a new pull. */
static void site_sync_restart(struct site *s)
{
  struct cfw_err err = {0};
  struct strlist paths;

  if (++s->restarts > SITE_SYNC_MAX_RESTARTS) {
    (void)cfw_err_set(&err, -EAGAIN,
                      "%s: the state in %s moved under each of %d tries "
                      "(other writers); nothing is lost: run again",
                      s->cfg->root, s3state_where(s->remote),
                      SITE_SYNC_MAX_RESTARTS);
    cfw_err_class(&err, CFW_CLASS_TRANSIENT);
    site_fail(s, -EAGAIN, &err);
    return;
  }
  log_msg(s->o.log, LOG_INFO,
          "%s: another writer moved the state in %s; diffing again",
          s->cfg->root, s3state_where(s->remote));
  /* The pass's paths and flags go back to be asked for again, beside
   * the paths the watch handed over meanwhile (site_kick), which are
   * nowhere else: dropping them would lose those changes. */
  if (s->paths_set) {
    paths = s->paths; /* moved */
    strlist_init(&s->paths);
  }
  site_queue_paths(s, s->paths_set ? &paths : NULL);
  s->next_flags |= s->flags;
  s->queued = true;
  s->pulled = false;
  site_sync_reopen(s);
}

static void site_sync_on_push(const struct statesync_result *r, void *arg)
{
  struct site *s = arg;

  /* Stopping: a conflict redoes nothing, and site_advance cancels. */
  if (r->outcome == STATESYNC_CONFLICT) {
    if (s->closing)
      site_advance(s);
    else
      site_sync_restart(s);
    return;
  }
  if (r->outcome != STATESYNC_OK) {
    site_fail(s, r->err.code < 0 ? r->err.code : -EIO, &r->err);
    return;
  }
  site_advance(s);
}

/* The jobs that write the state. */
static bool site_job_writes(site_job_fn fn)
{
  return fn == site_job_baseline || fn == site_job_ground ||
         fn == site_job_intend || fn == site_job_mark ||
         fn == site_job_commit || fn == site_job_record ||
         fn == site_job_compact;
}

/* After a job: true if a push runs (site_advance follows it).  A dry
 * run never pushes: another machine would take what it printed as
 * sent.  What it wrote stays in the cache, unconfirmed, and the next
 * pull drops it (statesync.h), as it does a run's that stopped before
 * its push. */
bool site_sync_push(struct site *s)
{
  struct cfw_err err = {0};
  int rc;

  if (s->sync == NULL || s->o.mode == SITE_PLAN || site_is_dry(s->cfg) ||
      !site_job_writes(s->job))
    return false;
  rc = statesync_push(s->sync, site_sync_on_push, s, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
  return true;
}

/* At the end of a pass: its requests to the state, and a pull for the
 * next one. */
void site_sync_finish(struct site *s)
{
  unsigned n;

  if (s->sync == NULL)
    return;
  n = s3state_requests(s->remote) - s->sync_req0;
  log_msg(s->o.log, LOG_DEBUG,
          "%s: %u request(s) to the state in %s this pass (%u restart(s))",
          s->cfg->root, n, s3state_where(s->remote), s->restarts);
  s->sync_req0 = s3state_requests(s->remote);
  s->restarts = 0;
  s->pulled = false;
}
