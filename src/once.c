#include "once.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cfsend.h"
#include "cloudfront.h"
#include "ledger.h"
#include "manifest.h"
#include "pending.h"
#include "statelock.h"

/* What cfsend's callback hands back to the uv_run in once_send. */
struct once_wait {
  bool done;
  struct cfsend_result r;
};

bool once_is_dry(const struct site_config *s)
{
  return s->dry_run || s->distribution_id == NULL;
}

static void once_report(const struct once_opts *o, const struct site_config *s,
                        const struct pending *p)
{
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
  log_msg(o->log, LOG_INFO, "%s: %zu files changed, %zu paths%s", s->root,
          p->batch.n_files, p->batch.paths.n,
          p->batch.paths.n == 0 ? ": nothing to invalidate" : "");
}

static void once_on_sent(struct cfsend *s, struct cfsend_result *r, void *arg)
{
  struct once_wait *w = arg;

  (void)s; /* frees itself after this */
  w->r = *r;
  w->done = true;
}

/* Counts the accepted batch for `status` and the month's cost. */
static void once_ledger(const struct once_opts *o, const char *state_dir,
                        const struct batch *b, const struct cfsend_result *r)
{
  struct cfw_err err = {0, ""};

  if (ledger_record(state_dir, r->id, (uint32_t)b->paths.n,
                    (uint32_t)b->n_wildcards, r->inv_status,
                    (int64_t)time(NULL), &err) < 0)
    log_msg(o->log, LOG_WARN, "%s (only the statistics suffer)", err.msg);
}

static int once_send(const struct once_opts *o, const struct site_config *s,
                     struct cf_client *cf, const struct pending *p,
                     struct cfw_err *err)
{
  struct cfsend_opts so = {0};
  struct once_wait w = {0};
  char ref[BATCH_REF_LEN];
  struct cfsend *send;
  int rc;

  rc = batch_caller_ref(s->distribution_id, manifest_written_at_ns(p->manifest),
                        p->changes, p->n_changes, ref, err);
  if (rc < 0)
    return rc;
  so.cf = cf;
  so.log = o->log;
  so.retry_for_ms = s->retry_for_s * 1000;
  so.wait_complete = o->wait;
  rc = cfsend_start(&send, o->loop, &so, ref,
                    (const char *const *)p->batch.paths.v, p->batch.paths.n,
                    once_on_sent, &w, err);
  if (rc < 0)
    return rc;
  while (!w.done && uv_run(o->loop, UV_RUN_ONCE) != 0)
    ;
  if (!w.done || w.r.status < 0) {
    *err = w.r.err;
    return w.done ? w.r.status : -EIO;
  }
  once_ledger(o, s->state_dir, &p->batch, &w.r);
  log_msg(o->log, LOG_INFO,
          "batch: %zu files, %zu paths, invalidation %s (%s) after %u "
          "request%s in %llu ms",
          p->batch.n_files, p->batch.paths.n, w.r.id, w.r.inv_status,
          w.r.attempts, w.r.attempts == 1 ? "" : "s",
          (unsigned long long)w.r.elapsed_ms);
  return 0;
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

/* Sends (or prints) the batch, then records it. */
static int once_deliver(const struct once_opts *o, const struct site_config *s,
                        struct pending *p, struct cfw_err *err)
{
  struct cf_client *cf = NULL;
  int rc = 0;

  if (once_is_dry(s) || p->batch.paths.n == 0) {
    if (p->batch.paths.n > 0)
      o->print(&p->batch.paths, o->print_arg);
    return pending_commit(p, s->state_dir, err);
  }
  /* A first run with --all has no manifest yet; writing an empty one
   * first gives the batch a stable identity across a crash. */
  if (p->first_run)
    rc = pending_save_empty(p, s->state_dir, err);
  if (rc == 0)
    rc = once_client_new(&cf, o, s, err);
  if (rc == 0)
    rc = once_send(o, s, cf, p, err);
  cf_client_destroy(cf);
  if (rc < 0)
    return rc;
  return pending_commit(p, s->state_dir, err);
}

int once_site(const struct once_opts *o, const struct site_config *s,
              struct cfw_err *err)
{
  struct pending_opts po = {s, o->all, o->log, o->loop};
  struct pending p;
  int lock = -1;
  int rc;

  if (!o->plan_only && s->distribution_id == NULL)
    log_msg(o->log, LOG_INFO, "%s: no distribution configured: dry run",
            s->root);
  /* `once` writes the manifest: never next to a running daemon. */
  if (!o->plan_only) {
    lock = statelock_acquire(s->state_dir, err);
    if (lock < 0)
      return lock;
  }
  pending_init(&p);
  rc = pending_load(&p, &po, err);
  if (rc == 0) {
    once_report(o, s, &p);
    if (o->plan_only && !p.baseline && p.batch.paths.n > 0)
      o->print(&p.batch.paths, o->print_arg);
    else if (!o->plan_only)
      rc = once_deliver(o, s, &p, err);
  }
  pending_free(&p);
  statelock_release(lock);
  return rc;
}
