/* SPDX-License-Identifier: MIT */
#include "once.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "cloudfront.h"
#include "inflight.h"
#include "ledger.h"
#include "manifest.h"
#include "pending.h"
#include "statelock.h"

/* What a callback hands back to the uv_run that waits for it. */
struct once_wait {
  bool done;
  int status;
  struct cfw_err err;
};

/* One site's `once`. */
struct once_run {
  const struct site_config *s; /* borrowed */
  struct pending *p;           /* borrowed */
  struct cf_client *cf;        /* owned; NULL in a dry run */
  struct inflight *inflight;   /* owned; NULL in a dry run */
};



bool once_is_dry(const struct site_config *s)
{
  return s->dry_run || s->distribution_id == NULL;
}

static void once_report(const struct once_opts *o, const struct site_config *s,
                        const struct pending *p)
{
  const struct planner_plan *pl = &p->plan;

  log_msg(o->log, LOG_DEBUG, "%s: %zu files, %zu hashed, %llu ms", s->root,
          p->n_files, p->n_hashed, (unsigned long long)p->scan_ms);
  if (p->baseline) {
    log_msg(o->log, LOG_INFO,
            "%s: no manifest in %s yet: %s a baseline of %zu files and "
            "invalidating nothing (use --all to invalidate every file)",
            s->root, s->state_dir, o->plan_only ? "would record" : "recording",
            p->n_changes);
    return;
  }
  if (pl->n == 0 && pl->n_left == 0) {
    log_msg(o->log, LOG_INFO, "%s: nothing to invalidate", s->root);
    return;
  }
  log_msg(o->log, LOG_INFO,
          "%s: %zu batch%s, %zu paths (%zu wildcard%s), estimated $%.2f%s",
          s->root, pl->n, pl->n == 1 ? "" : "es", pl->n_paths, pl->n_wildcards,
          pl->n_wildcards == 1 ? "" : "s", pl->cost_usd,
          pl->evict_forced ? "; the budget forced wider wildcards" : "");
  if (pl->n_left > 0)
    log_msg(o->log, LOG_WARN,
            "%s: %zu changed files held back by the monthly budget; they "
            "stay pending",
            s->root, pl->n_left);
}

/* The header of one batch, on stderr, before its paths on stdout. */
static void once_print_batch(const struct once_opts *o, size_t i,
                             const struct planner_plan *pl)
{
  const struct planner_batch *b = &pl->v[i];

  log_msg(o->log, LOG_INFO,
          "batch %zu/%zu: %zu files, %zu paths (%zu wildcard%s), estimated "
          "$%.2f%s",
          i + 1, pl->n, b->n_changes, b->b.paths.n, b->b.n_wildcards,
          b->b.n_wildcards == 1 ? "" : "s", b->cost_usd,
          b->ready ? "" : ", queued until in-progress ones complete");
  o->print(&b->b.paths, o->print_arg);
}

int once_client_new(struct cf_client **out, const struct once_opts *o,
                    const struct site_config *s, struct cfw_err *err)
{
  struct cf_client_opts co = {0};

  co.endpoint = s->endpoint;
  co.distribution_id = s->distribution_id;
  co.profile = s->profile;
  co.http = o->http;
  co.log = o->log;
  co.getenv = o->getenv;
  return cf_client_new(out, o->loop, &co, err);
}

static void once_on_refresh(struct inflight *f, const struct inflight_result *r,
                            void *arg)
{
  struct once_wait *w = arg;

  (void)f; /* the table is updated already */
  w->status = r->status;
  w->err = r->err;
  w->done = true;
}

/* Asks CloudFront what is in progress; on failure the table keeps what
 * it had, and CloudFront's own TooManyInvalidationsInProgress still
 * guards the limits. */
static void once_refresh(const struct once_opts *o, struct once_run *run)
{
  struct once_wait w = {0};

  if (inflight_refresh(run->inflight, run->cf, (int64_t)time(NULL),
                       once_on_refresh, &w, &w.err) < 0) {
    w.status = w.err.code;
    w.done = true;
  }
  while (!w.done && uv_run(o->loop, UV_RUN_ONCE) != 0)
    ;
  if (w.status < 0)
    log_msg(o->log, LOG_WARN,
            "could not list the invalidations in progress (%s); going by "
            "what cfwatch sent itself",
            w.err.msg);
}

static void once_on_delivered(struct deliver *d, struct deliver_result *r,
                              void *arg)
{
  struct once_wait *w = arg;

  (void)d; /* frees itself after this */
  w->status = r->status;
  w->err = r->err;
  w->done = true;
}

/* Sends (or prints) every batch in order, each recorded once accepted. */
static int once_deliver(const struct once_opts *o, struct once_run *run,
                        struct cfw_err *err)
{
  struct pending *p = run->p;
  struct deliver_opts d = {0};
  struct once_wait w = {0};
  struct deliver *del;
  int rc = 0;

  if (p->baseline)
    return pending_commit(p, run->s->state_dir, err);
  /* A first run with --all has no manifest yet; writing one first gives
   * the batches a stable identity across a crash. */
  if (p->first_run && p->plan.n > 0)
    rc = pending_save_empty(p, run->s->state_dir, err);
  d.loop = o->loop;
  d.log = o->log;
  d.cf = run->cf;
  d.inflight = run->inflight;
  d.m = p->manifest;
  d.changes = p->changes;
  d.plan = &p->plan;
  d.root = run->s->root;
  d.state_dir = run->s->state_dir;
  d.distribution_id = run->s->distribution_id;
  d.retry_for_ms = run->s->retry_for_s * 1000;
  d.wait_complete = o->wait;
  d.settled_ms = uv_now(o->loop);
  d.print = o->print;
  d.print_arg = o->print_arg;
  d.upload_cmd = run->s->upload_cmd;
  d.upload_timeout_ms = run->s->upload_timeout_s * 1000;
  if (rc == 0)
    rc = deliver_start(&del, &d, once_on_delivered, &w, err);
  if (rc < 0)
    return rc;
  while (!w.done && uv_run(o->loop, UV_RUN_ONCE) != 0)
    ;
  if (w.status < 0)
    *err = w.err;
  return w.done ? w.status : -EIO;
}

static void once_plan_print(const struct once_opts *o, const struct pending *p)
{
  size_t i;

  for (i = 0; !p->baseline && i < p->plan.n; i++)
    once_print_batch(o, i, &p->plan);
}

/* For a real send: the client, and what is in progress now. */
static int once_connect(const struct once_opts *o, struct once_run *run,
                        struct planner_inflight *now, struct cfw_err *err)
{
  int rc;

  rc = once_client_new(&run->cf, o, run->s, err);
  if (rc == 0 && inflight_new(&run->inflight) < 0)
    rc = cfw_err_set(err, -ENOMEM, "out of memory");
  if (rc < 0)
    return rc;
  once_refresh(o, run);
  inflight_counts(run->inflight, &now->file_paths, &now->wildcards);
  return 0;
}

/* Only with something to send does `once` talk to CloudFront: what is
 * in progress there shapes the batches, so they are planned again. */
static int once_replan(const struct once_opts *o, struct once_run *run,
                       struct cfw_err *err)
{
  struct planner_inflight now = {0, 0};
  struct pending *p = run->p;
  int rc;

  rc = once_connect(o, run, &now, err);
  if (rc < 0 || (now.file_paths == 0 && now.wildcards == 0))
    return rc;
  planner_plan_free(&p->plan);
  planner_plan_init(&p->plan);
  rc = pending_plan(&p->plan, p->manifest, p->changes, p->n_changes,
                    p->urlmap, run->s, &now, o->log, err);
  if (rc == 0)
    once_report(o, run->s, p);
  return rc;
}

int once_site(const struct once_opts *o, const struct site_config *s,
              struct cfw_err *err)
{
  struct pending_opts po = {s, o->all, o->log, o->loop, NULL};
  struct once_run run = {s, NULL, NULL, NULL};
  struct pending p;
  int lock = -1;
  int rc = 0;

  if (!o->plan_only && s->distribution_id == NULL)
    log_msg(o->log, LOG_INFO, "%s: no distribution configured: dry run",
            s->root);
  /* `once` writes the manifest: never next to a running daemon. */
  if (!o->plan_only)
    rc = lock = statelock_acquire(s->state_dir, err);
  pending_init(&p);
  run.p = &p;
  if (rc >= 0)
    rc = pending_load(&p, &po, err);
  if (rc == 0)
    once_report(o, s, &p);
  if (rc == 0 && !o->plan_only && !once_is_dry(s) && !p.baseline &&
      p.plan.n > 0)
    rc = once_replan(o, &run, err);
  if (rc == 0 && o->plan_only)
    once_plan_print(o, &p);
  else if (rc == 0)
    rc = once_deliver(o, &run, err);
  pending_free(&p);
  inflight_destroy(run.inflight);
  cf_client_destroy(run.cf);
  statelock_release(lock);
  return rc;
}
