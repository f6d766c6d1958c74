/* SPDX-License-Identifier: MIT */
#include "deliver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomicfile.h"
#include "batch.h"
#include "manifest.h"
#include "cfsend.h"
#include "ledger.h"
#include "pending.h"
#include "retry.h"
#include "upload.h"
#include "util.h"

/* How long a queued batch waits between looks at what is in progress:
 * 2 s, then doubling up to 20 s (invalidations take seconds to minutes). */
#define DELIVER_CAPACITY_FIRST_MS 2000
#define DELIVER_CAPACITY_POLL_MS  20000
/* A failed upload_cmd is tried again after 2 s, 4 s, ... up to 5 min. */
#define DELIVER_UPLOAD_BASE_MS 2000
#define DELIVER_UPLOAD_CAP_MS  (UINT64_C(5) * 60 * 1000)

struct deliver {
  struct deliver_opts o;
  uv_timer_t timer; /* capacity and upload waits; its close ends it */
  struct cfsend *send;
  struct upload *upload;   /* running upload_cmd, or NULL */
  bool uploaded;           /* upload_cmd succeeded (or there is none) */
  unsigned upload_tries;
  uint64_t rng;            /* jitter for the upload backoff */
  size_t next;        /* the batch to deliver next */
  uint64_t wait_start; /* uv_now() when the current wait began */
  unsigned wait_tries; /* looks at what is in progress in this wait */
  uv_work_t save;       /* the manifest is written off the loop thread */
  int save_rc;
  struct cfw_err save_err;
  bool saving;
  bool refreshing;
  bool cancelled;
  bool finished;
  deliver_cb cb;
  void *arg;
  struct deliver_result r;
};

static void deliver_next(struct deliver *d);

static void deliver_on_close(uv_handle_t *h)
{
  struct deliver *d = container_of((uv_timer_t *)h, struct deliver, timer);

  d->cb(d, &d->r, d->arg);
  free(d);
}

static void deliver_finish(struct deliver *d, int status)
{
  if (d->finished)
    return;
  d->finished = true;
  d->r.status = status;
  (void)uv_timer_stop(&d->timer); /* live handle: cannot fail */
  uv_close((uv_handle_t *)&d->timer, deliver_on_close);
}

static void deliver_on_save(uv_work_t *w)
{
  struct deliver *d = container_of(w, struct deliver, save);

  d->save_rc = atomicfile_mkdirs(d->o.state_dir, 0700, &d->save_err);
  if (d->save_rc == 0)
    d->save_rc = manifest_save(d->o.m, d->o.state_dir, &d->save_err);
}

static void deliver_on_saved(uv_work_t *w, int status)
{
  struct deliver *d = container_of(w, struct deliver, save);

  d->saving = false;
  if (status < 0 && d->save_rc == 0)
    d->save_rc = cfw_err_set(&d->save_err, status, "saving manifest: %s",
                             uv_strerror(status));
  if (d->save_rc < 0) {
    d->r.err = d->save_err;
    deliver_finish(d, d->save_rc);
    return;
  }
  deliver_next(d);
}

/* Records a batch's changes; the manifest saved is the acknowledgement
 * that survives a crash.  Writing it (a large file at 100k files, and an
 * fsync) runs on the threadpool; nothing touches the manifest meanwhile,
 * since the next batch waits for it. */
static int deliver_record(struct deliver *d, const struct planner_batch *pb)
{
  int rc;

  rc = pending_apply(d->o.m, d->o.changes, pb->changes, pb->n_changes, NULL,
                     &d->r.err);
  if (rc < 0)
    return rc;
  d->r.accepted++;
  d->next++;
  rc = uv_queue_work(d->o.loop, &d->save, deliver_on_save, deliver_on_saved);
  if (rc < 0)
    return cfw_err_set(&d->r.err, rc, "saving manifest: %s", uv_strerror(rc));
  d->saving = true;
  return 0;
}

static void deliver_counted(struct deliver *d, const struct batch *b,
                            const struct cfsend_result *r)
{
  struct cfw_err err = {0, ""};
  int64_t now = (int64_t)time(NULL);

  if (ledger_record(d->o.state_dir, r->id, (uint32_t)b->paths.n,
                    (uint32_t)b->n_wildcards, r->inv_status, now, &err) < 0)
    log_msg(d->o.log, LOG_WARN, "%s (only the statistics suffer)", err.msg);
  /* Out of memory here only makes the next look at CloudFront count it. */
  if (strcmp(r->inv_status, "Completed") != 0)
    (void)inflight_add(d->o.inflight, r->id, b->paths.n - b->n_wildcards,
                       b->n_wildcards, now);
}

static void deliver_on_sent(struct cfsend *send, struct cfsend_result *r,
                            void *arg)
{
  struct deliver *d = arg;
  const struct planner_batch *pb = &d->o.plan->v[d->next];

  (void)send; /* frees itself after this */
  d->send = NULL;
  if (r->status < 0) {
    d->r.err = r->err;
    deliver_finish(d, r->status);
    return;
  }
  deliver_counted(d, &pb->b, r);
  log_msg(d->o.log, LOG_INFO,
          "%s: batch: %zu files, %zu paths, invalidation %s (%s) after %u "
          "request%s, %llu ms after the changes settled",
          d->o.root, pb->n_changes, pb->b.paths.n, r->id, r->inv_status,
          r->attempts, r->attempts == 1 ? "" : "s",
          (unsigned long long)(uv_now(d->o.loop) - d->o.settled_ms));
  if (deliver_record(d, pb) < 0)
    deliver_finish(d, d->r.err.code);
}

/* The batch's CallerReference: its changes and the manifest's version,
 * which every accepted batch advances. */
static int deliver_ref(const struct deliver *d, const struct planner_batch *pb,
                       char *ref, struct cfw_err *err)
{
  struct change *sel;
  int rc;

  sel = calloc(pb->n_changes ? pb->n_changes : 1, sizeof(*sel));
  if (sel == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  planner_batch_gather(pb, d->o.changes, sel);
  rc = batch_caller_ref(d->o.distribution_id, manifest_written_at_ns(d->o.m),
                        sel, pb->n_changes, ref, err);
  free(sel); /* shallow copies: the paths stay the caller's */
  return rc;
}

static void deliver_send(struct deliver *d, const struct planner_batch *pb)
{
  struct cfsend_opts so = {0};
  char ref[BATCH_REF_LEN];
  int rc;

  so.cf = d->o.cf;
  so.log = d->o.log;
  so.retry_for_ms = d->o.retry_for_ms;
  so.wait_complete = d->o.wait_complete;
  rc = deliver_ref(d, pb, ref, &d->r.err);
  if (rc == 0)
    rc = cfsend_start(&d->send, d->o.loop, &so, ref,
                      (const char *const *)pb->b.paths.v, pb->b.paths.n,
                      deliver_on_sent, d, &d->r.err);
  if (rc < 0)
    deliver_finish(d, rc);
}

static void deliver_on_timer(uv_timer_t *t);

static void deliver_on_refresh(struct inflight *f,
                               const struct inflight_result *r, void *arg)
{
  struct deliver *d = arg;

  (void)f; /* the table is updated already */
  d->refreshing = false;
  if (r->status < 0)
    log_msg(d->o.log, LOG_WARN,
            "could not list the invalidations in progress (%s); going by "
            "what cfwatch sent itself",
            r->err.msg);
  if (d->cancelled) {
    deliver_finish(d, -ECANCELED);
    return;
  }
  deliver_next(d);
}

static void deliver_upload(struct deliver *d);

static void deliver_on_timer(uv_timer_t *t)
{
  struct deliver *d = container_of(t, struct deliver, timer);
  struct cfw_err err = {0, ""};

  if (!d->uploaded) {
    deliver_upload(d);
    return;
  }

  d->refreshing = true;
  if (inflight_refresh(d->o.inflight, d->o.cf, (int64_t)time(NULL),
                       deliver_on_refresh, d, &err) < 0) {
    d->refreshing = false;
    log_msg(d->o.log, LOG_WARN, "could not list the invalidations in "
                                "progress (%s)", err.msg);
    deliver_next(d);
  }
}

/* A batch that does not fit what is in progress waits; false if the
 * wait outlasted the deadline (then the delivery has finished). */
static bool deliver_wait(struct deliver *d, const struct planner_batch *pb)
{
  size_t files = pb->b.paths.n - pb->b.n_wildcards;
  uint64_t now = uv_now(d->o.loop);

  if (inflight_fits(d->o.inflight, files, pb->b.n_wildcards)) {
    d->wait_start = 0;
    d->wait_tries = 0;
    return true;
  }
  if (d->wait_start == 0)
    d->wait_start = now;
  if (d->o.retry_for_ms != 0 && now - d->wait_start >= d->o.retry_for_ms) {
    cfw_err_set(&d->r.err, -ETIMEDOUT,
                "gave up waiting for in-progress invalidations to complete; "
                "the rest stays pending");
    deliver_finish(d, -ETIMEDOUT);
    return false;
  }
  log_msg(d->o.log, LOG_INFO,
          "%s: batch %zu/%zu waits for in-progress invalidations to complete",
          d->o.root, d->next + 1, d->o.plan->n);
  (void)uv_timer_start(&d->timer, deliver_on_timer,
                       retry_backoff_ms(d->wait_tries++,
                                        DELIVER_CAPACITY_FIRST_MS,
                                        DELIVER_CAPACITY_POLL_MS, UINT32_MAX),
                       0); /* live handle: cannot fail */
  return false;
}

static void deliver_print(struct deliver *d, const struct planner_batch *pb)
{
  if (pb->b.n_wildcards == 0)
    log_msg(d->o.log, LOG_INFO, "%s: batch: %zu files, %zu paths (dry run)",
            d->o.root, pb->n_changes, pb->b.paths.n);
  else
    log_msg(d->o.log, LOG_INFO,
            "%s: batch: %zu files, %zu paths (dry run; %zu wildcard%s)",
            d->o.root, pb->n_changes, pb->b.paths.n, pb->b.n_wildcards,
            pb->b.n_wildcards == 1 ? "" : "s");
  d->o.print(&pb->b.paths, d->o.print_arg);
}

/* Delivers batches until one has to wait for the network or a timer. */
static void deliver_next(struct deliver *d)
{
  const struct planner_batch *pb;

  while (!d->cancelled && d->next < d->o.plan->n) {
    pb = &d->o.plan->v[d->next];
    if (d->o.cf != NULL) {
      if (deliver_wait(d, pb))
        deliver_send(d, pb);
      return;
    }
    deliver_print(d, pb);
    if (deliver_record(d, pb) < 0)
      deliver_finish(d, d->r.err.code);
    return; /* deliver_on_saved goes on */
  }
  deliver_finish(d, d->cancelled && d->next < d->o.plan->n ? -ECANCELED : 0);
}

static void deliver_on_uploaded(struct upload *u, int status,
                                const struct cfw_err *err, void *arg)
{
  struct deliver *d = arg;
  uint64_t wait;

  (void)u; /* frees itself after this */
  d->upload = NULL;
  if (status == 0) {
    d->uploaded = true;
    deliver_next(d);
    return;
  }
  d->r.err = *err;
  if (status == -ECANCELED || d->cancelled) {
    deliver_finish(d, -ECANCELED);
    return;
  }
  d->rng ^= d->rng << 13;
  d->rng ^= d->rng >> 7;
  d->rng ^= d->rng << 17;
  wait = retry_backoff_ms(d->upload_tries++, DELIVER_UPLOAD_BASE_MS,
                          DELIVER_UPLOAD_CAP_MS, (uint32_t)(d->rng >> 32));
  if (d->o.retry_for_ms != 0 &&
      uv_now(d->o.loop) - d->o.settled_ms + wait > d->o.retry_for_ms) {
    cfw_err_prefix(&d->r.err, "%s: gave up on upload_cmd", d->o.root);
    deliver_finish(d, -ETIMEDOUT);
    return;
  }
  log_msg(d->o.log, LOG_WARN, "%s: %s; nothing invalidated, trying again in "
                              "%llu s",
          d->o.root, err->msg, (unsigned long long)(wait / 1000));
  (void)uv_timer_start(&d->timer, deliver_on_timer, wait, 0); /* live */
}

/* Runs upload_cmd with every file the plan's batches cover. */
static void deliver_upload(struct deliver *d)
{
  struct upload_opts uo = {0};
  const char **paths;
  size_t n = 0;
  size_t i;
  size_t k;
  int rc;

  for (i = 0; i < d->o.plan->n; i++)
    n += d->o.plan->v[i].n_changes;
  paths = calloc(n ? n : 1, sizeof(*paths));
  if (paths == NULL) {
    deliver_finish(d, cfw_err_set(&d->r.err, -ENOMEM, "out of memory"));
    return;
  }
  for (i = 0, n = 0; i < d->o.plan->n; i++)
    for (k = 0; k < d->o.plan->v[i].n_changes; k++)
      paths[n++] = d->o.changes[d->o.plan->v[i].changes[k]].entry.path;
  uo.cmd = d->o.upload_cmd;
  uo.root = d->o.root;
  uo.state_dir = d->o.state_dir;
  uo.paths = paths;
  uo.n = n;
  uo.timeout_ms = d->o.upload_timeout_ms;
  uo.log = d->o.log;
  rc = upload_start(&d->upload, d->o.loop, &uo, deliver_on_uploaded, d,
                    &d->r.err);
  free(paths); /* upload_start copied what it needs */
  if (rc < 0)
    deliver_finish(d, rc);
}

int deliver_start(struct deliver **out, const struct deliver_opts *o,
                  deliver_cb cb, void *arg, struct cfw_err *err)
{
  struct deliver *d;
  int rc;

  /* Same bytes, new stat: refreshing the shortcut needs no CloudFront.
   * With batches to send it is saved along with the first one: saving it
   * now would give the manifest a new version, and so the batches new
   * CallerReferences, and a batch whose 201 was lost before a crash must
   * get its old one back to be replayed rather than sent twice. */
  rc = pending_apply(o->m, o->changes, o->plan->no_send, o->plan->n_no_send,
                     o->plan->n == 0 ? o->state_dir : NULL, err);
  if (rc < 0)
    return rc;
  d = calloc(1, sizeof(*d));
  if (d == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  d->o = *o;
  d->cb = cb;
  d->arg = arg;
  (void)uv_timer_init(o->loop, &d->timer); /* cannot fail */
  d->rng = uv_hrtime() | 1; /* xorshift must not start at zero */
  *out = d;
  /* The origin first: invalidating before it has the new bytes makes
   * CloudFront fetch the old ones again. */
  d->uploaded = o->upload_cmd == NULL || o->cf == NULL || o->plan->n == 0;
  if (d->uploaded)
    deliver_next(d);
  else
    deliver_upload(d);
  return 0;
}

void deliver_cancel(struct deliver *d)
{
  if (d == NULL || d->finished)
    return;
  d->cancelled = true;
  if (d->upload != NULL) {
    upload_cancel(d->upload); /* its callback ends the delivery */
    return;
  }
  if (d->send != NULL) {
    cfsend_cancel(d->send); /* its callback ends the delivery */
    return;
  }
  if (!d->refreshing && !d->saving)
    deliver_finish(d, -ECANCELED);
}
