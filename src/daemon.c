/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "inflight.h"
#include "cloudfront.h"
#include "debounce.h"
#include "diff.h"
#include "ledger.h"
#include "manifest.h"
#include "once.h"
#include "pending.h"
#include "scan.h"
#include "statelock.h"
#include "subscan.h"
#include "urlmap.h"
#include "util.h"
#include "watch.h"

/* Past this many dirty paths a full walk is cheaper than the list. */
#define SITE_DIRTY_MAX 20000
/* After a refusal or a failed scan, try again this much later (or at the
 * next change, whichever is first). */
#define SITE_RETRY_MS (UINT64_C(5) * 60 * 1000)
/* Where inotify watches ran out, rescan this often. */
#define SITE_FALLBACK_RESCAN_MS 30000

struct site {
  struct daemon *d;              /* borrowed */
  const struct site_config *cfg; /* borrowed */
  int lock_fd;
  struct manifest *m;   /* owned */
  struct urlmap *um;    /* owned */
  struct watch *w;      /* owned; closed by site_close */
  struct cf_client *cf; /* owned; NULL in a dry run */
  struct debounce deb;
  uv_timer_t timer;
  struct strlist dirty; /* paths events pointed at since the last flush */
  bool dirty_all;
  bool first_run;
  bool busy; /* a scan or a send is running */
  bool scanned_once; /* the first diff has finished */
  bool stopping;
  struct strlist scan_paths; /* what the running scan looks at */
  uint64_t scan_gen;         /* the watch's root generation at its start */
  struct scan *scan;
  struct inflight *inflight; /* owned; NULL in a dry run */
  struct deliver *deliver;   /* the plan being delivered, or NULL */
  struct change *changes;    /* owned: the changes being delivered */
  size_t n_changes;
  struct planner_plan plan;
  uint64_t flush_ms;    /* when the batch in flight was flushed */
  uint64_t retry_at_ms; /* after a failure: no flush before this */
  int closing;          /* handles still to close */
  bool closed;
};

struct daemon {
  struct daemon_opts o;
  struct site *sites; /* owned */
  size_t n;
  size_t open;      /* sites not yet fully closed */
  size_t unscanned; /* sites whose first diff has not finished */
  void (*done)(void *arg);
  void *done_arg;
};

static void site_arm(struct site *s);

/* A scan frees a tree's worth of small blocks; glibc keeps them unless
 * asked, which a long-running daemon pays for in resident memory. */
static void site_trim(void)
{
#ifdef __GLIBC__
  (void)malloc_trim(0); /* returns whether memory was released */
#endif
}
static void site_flush(struct site *s);

static bool site_skip(void *ctx, const char *rel, bool is_dir)
{
  const struct site *s = ctx;

  return urlmap_excluded(s->um, rel, is_dir);
}

static void site_on_event(struct watch *w, const char *rel, void *arg)
{
  struct site *s = arg;

  (void)w;
  if (s->stopping)
    return;
  if (rel == NULL || s->dirty.n >= SITE_DIRTY_MAX) {
    s->dirty_all = true;
    strlist_free(&s->dirty);
  } else if (!s->dirty_all && strlist_push(&s->dirty, rel) < 0) {
    s->dirty_all = true; /* out of memory: a full walk needs no list */
  }
  s->retry_at_ms = 0; /* a new change is worth a new try at once */
  debounce_event(&s->deb, uv_now(s->d->o.loop));
  site_arm(s);
}

static void site_on_timer(uv_timer_t *t)
{
  struct site *s = container_of(t, struct site, timer);

  uint64_t now = uv_now(s->d->o.loop);

  if (s->busy || s->stopping)
    return;
  if (debounce_due(&s->deb, now) && now >= s->retry_at_ms)
    site_flush(s);
  else
    site_arm(s);
}

/* Arms the timer for the next flush; nothing when idle (no wakeups). */
static void site_arm(struct site *s)
{
  uint64_t now = uv_now(s->d->o.loop);
  uint64_t wait = debounce_wait_ms(&s->deb, now);

  if (s->busy || s->stopping || wait == UINT64_MAX)
    return;
  if (s->retry_at_ms > now && s->retry_at_ms - now > wait)
    wait = s->retry_at_ms - now;
  (void)uv_timer_start(&s->timer, site_on_timer, wait, 0); /* live handle */
}

/* Keeps the work of a batch that did not go through for a later flush. */
static void site_retry_later(struct site *s, uint64_t ms)
{
  size_t i;

  for (i = 0; i < s->n_changes && !s->dirty_all; i++)
    if (strlist_push(&s->dirty, s->changes[i].entry.path) < 0)
      s->dirty_all = true;
  if (s->scan_paths.n == 0 && s->n_changes == 0)
    s->dirty_all = true;
  debounce_event(&s->deb, uv_now(s->d->o.loop));
  s->retry_at_ms = uv_now(s->d->o.loop) + ms;
}

static void site_batch_free(struct site *s)
{
  changes_free(s->changes, s->n_changes);
  s->changes = NULL;
  s->n_changes = 0;
  planner_plan_free(&s->plan);
  strlist_free(&s->scan_paths);
}

static void site_close(struct site *s);

static void site_idle(struct site *s)
{
  site_batch_free(s);
  s->busy = false;
  if (s->stopping) {
    site_close(s);
    return;
  }
  site_arm(s);
}

/* A state dir deleted under us took our lock with it: take it again
 * before writing, or another cfwatch could write the same manifest. */
static int site_relock(struct site *s)
{
  struct cfw_err err = {0, ""};
  int rc;

  rc = statelock_renew(&s->lock_fd, s->cfg->state_dir, &err);
  if (rc == 1)
    log_msg(s->d->o.log, LOG_WARN, "%s: the state dir %s was removed or "
                                   "replaced; it is locked again",
            s->cfg->root, s->cfg->state_dir);
  else if (rc < 0)
    log_msg(s->d->o.log, LOG_ERROR, "%s; not writing the manifest",
            err.msg);
  return rc < 0 ? rc : 0;
}

static int site_save(struct site *s)
{
  struct cfw_err err = {0, ""};
  int rc;

  rc = site_relock(s);
  if (rc < 0)
    return rc;
  rc = manifest_save(s->m, s->cfg->state_dir, &err);
  if (rc < 0)
    log_msg(s->d->o.log, LOG_ERROR,
            "%s; the next batch saves it again (nothing is lost: a restart "
            "sends the changes again)",
            err.msg);
  return rc;
}

/* Records the changes of the batch as what CloudFront has been told. */
static void site_commit(struct site *s)
{
  struct cfw_err err = {0, ""};

  if (manifest_apply(s->m, s->changes, s->n_changes, &err) < 0) {
    log_msg(s->d->o.log, LOG_ERROR, "%s", err.msg);
    return;
  }
  (void)site_save(s); /* logged inside; retried with the next batch */
}

static void site_on_delivered(struct deliver *del, struct deliver_result *r,
                              void *arg)
{
  struct site *s = arg;

  (void)del; /* frees itself after this */
  s->deliver = NULL;
  if (r->status < 0 && r->status != -ECANCELED) {
    log_msg(s->d->o.log, LOG_ERROR,
            "%s: %s; keeping the changes, trying again in %llu min or at the "
            "next change",
            s->cfg->root, r->err.msg,
            (unsigned long long)(SITE_RETRY_MS / 60000));
    site_retry_later(s, SITE_RETRY_MS);
  }
  site_idle(s);
}

static void site_deliver(struct site *s)
{
  struct deliver_opts d = {0};
  struct cfw_err err = {0, ""};

  d.loop = s->d->o.loop;
  d.log = s->d->o.log;
  d.cf = s->cf;
  d.inflight = s->inflight;
  d.m = s->m;
  d.changes = s->changes;
  d.plan = &s->plan;
  d.root = s->cfg->root;
  d.state_dir = s->cfg->state_dir;
  d.distribution_id = s->cfg->distribution_id;
  d.retry_for_ms = 0; /* the daemon never gives up */
  d.settled_ms = s->flush_ms;
  d.print = s->d->o.print;
  d.print_arg = s->d->o.print_arg;
  d.upload_cmd = s->cfg->upload_cmd;
  d.upload_timeout_ms = s->cfg->upload_timeout_s * 1000;
  if (deliver_start(&s->deliver, &d, site_on_delivered, s, &err) < 0) {
    log_msg(s->d->o.log, LOG_ERROR, "%s: %s", s->cfg->root, err.msg);
    site_retry_later(s, SITE_RETRY_MS);
    site_idle(s);
  }
}

/* Plans the changes against what is in progress and delivers them. */
static void site_plan(struct site *s)
{
  struct planner_inflight now = {0, 0};
  struct cfw_err err = {0, ""};

  if (s->inflight != NULL)
    inflight_counts(s->inflight, &now.file_paths, &now.wildcards);
  if (pending_plan(&s->plan, s->m, s->changes, s->n_changes, s->um, s->cfg,
                   &now, s->d->o.log, &err) < 0) {
    log_msg(s->d->o.log, LOG_ERROR, "%s: %s", s->cfg->root, err.msg);
    site_idle(s);
    return;
  }
  if (s->plan.n_left > 0)
    log_msg(s->d->o.log, LOG_WARN,
            "%s: %zu changed files held back by the monthly budget; they "
            "stay pending",
            s->cfg->root, s->plan.n_left);
  site_deliver(s);
}

static void site_on_refresh(struct inflight *f, const struct inflight_result *r,
                            void *arg)
{
  struct site *s = arg;

  (void)f; /* the table is updated already */
  if (r->status < 0)
    log_msg(s->d->o.log, LOG_WARN,
            "could not list the invalidations in progress (%s); going by "
            "what cfwatch sent itself",
            r->err.msg);
  if (s->stopping) {
    site_idle(s);
    return;
  }
  site_plan(s);
}

/* What is in progress changes without us (completions, other tools), so
 * each plan starts from a fresh look when there is anything to send. */
static void site_refresh_then_plan(struct site *s)
{
  struct cfw_err err = {0, ""};

  if (s->inflight == NULL || inflight_refresh(s->inflight, s->cf,
                                              (int64_t)time(NULL),
                                              site_on_refresh, s, &err) < 0)
    site_plan(s);
}

static void site_baseline(struct site *s)
{
  log_msg(s->d->o.log, LOG_INFO,
          "%s: no manifest in %s yet: recording a baseline of %zu files and "
          "invalidating nothing (start with --all to invalidate every file)",
          s->cfg->root, s->cfg->state_dir, s->n_changes);
  s->first_run = false;
  site_commit(s);
  site_idle(s);
}

static bool site_only_touched(const struct site *s)
{
  size_t i;

  for (i = 0; i < s->n_changes; i++)
    if (s->changes[i].kind != CHANGE_TOUCHED)
      return false;
  return true;
}

static void site_scanned(struct site *s, struct scan_result *r)
{
  s->changes = r->changes;
  s->n_changes = r->n_changes;
  r->changes = NULL; /* taken */
  r->n_changes = 0;
  if (s->first_run && !s->d->o.all) {
    site_baseline(s);
    return;
  }
  s->first_run = false;
  if (site_only_touched(s)) {
    if (s->n_changes > 0) /* same bytes, new stat: refresh the shortcut */
      site_commit(s);
    site_idle(s);
    return;
  }
  site_refresh_then_plan(s);
}

/* Counts a site's first diff; the last one makes the daemon ready. */
static void site_first_scan_done(struct site *s)
{
  struct daemon *d = s->d;

  if (s->scanned_once)
    return;
  s->scanned_once = true;
  if (--d->unscanned == 0 && d->o.on_ready != NULL)
    d->o.on_ready(d->o.ready_arg);
}

static void site_on_scan(struct scan *scan, struct scan_result *r, void *arg)
{
  struct site *s = arg;

  s->scan = NULL;
  site_first_scan_done(s);
  log_msg(s->d->o.log, LOG_DEBUG,
          "%s: scanned %zu files, hashed %zu, %zu "
          "changes in %llu ms",
          s->cfg->root, r->n_files, r->n_hashed, r->n_changes,
          (unsigned long long)r->elapsed_ms);
  /* A root gone (an unmounted mount point reads as empty) or replaced
   * during the scan is not the site we watch: no diff of it.  The watch
   * has reported a rescan, to run once it is back (watch.h). */
  if (r->status == 0 && s->w != NULL &&
      (!watch_root_present(s->w) || watch_root_gen(s->w) != s->scan_gen))
    r->status =
        cfw_err_set(&r->err, -ENOENT,
                    "%s is gone or was replaced; not diffing it", s->cfg->root);
  if (r->status == 0 && !s->stopping) {
    site_scanned(s, r);
  } else {
    if (r->status < 0 && !s->stopping)
      log_msg(s->d->o.log, r->status == -ENOENT ? LOG_INFO : LOG_WARN, "%s%s",
              r->err.msg,
              r->status == -ENOENT ? "; waiting for it" : "; will retry");
    s->dirty_all = true;
    if (r->status != -ENOENT && !s->stopping)
      site_retry_later(s, SITE_FALLBACK_RESCAN_MS);
    site_idle(s);
  }
  scan_destroy(scan);
  site_trim();
}

static void site_flush(struct site *s)
{
  struct scan_opts so = {0};
  struct cfw_err err = {0, ""};

  debounce_flushed(&s->deb);
  s->busy = true;
  /* Whatever this flush sends is recorded in the state dir: make sure
   * it is still ours.  On failure site_relock logged why; the flush goes
   * on and its saves fail, keeping the changes pending. */
  (void)site_relock(s);
  s->flush_ms = uv_now(s->d->o.loop);
  s->scan_gen = s->w != NULL ? watch_root_gen(s->w) : 0;
  so.root = s->cfg->root;
  so.manifest = s->m;
  so.urlmap = s->um;
  so.log = s->d->o.log;
  if (!s->dirty_all) {
    s->scan_paths = s->dirty; /* moved */
    strlist_init(&s->dirty);
    subscan_normalise(&s->scan_paths);
    so.paths = &s->scan_paths;
  }
  s->dirty_all = false;
  strlist_free(&s->dirty);
  if (scan_start(&s->scan, s->d->o.loop, &so, site_on_scan, s, &err) < 0) {
    log_msg(s->d->o.log, LOG_ERROR, "%s: %s", s->cfg->root, err.msg);
    site_first_scan_done(s);
    s->dirty_all = true;
    site_retry_later(s, SITE_FALLBACK_RESCAN_MS);
    site_idle(s);
  }
}

static void site_on_closed(void *arg)
{
  struct site *s = arg;
  struct daemon *d = s->d;

  if (--s->closing > 0)
    return;
  site_batch_free(s);
  strlist_free(&s->dirty);
  inflight_destroy(s->inflight);
  s->inflight = NULL;
  cf_client_destroy(s->cf);
  s->cf = NULL;
  urlmap_destroy(s->um);
  manifest_destroy(s->m);
  statelock_release(s->lock_fd);
  s->lock_fd = -1;
  if (--d->open > 0)
    return;
  if (d->done != NULL)
    d->done(d->done_arg);
  free(d->sites);
  free(d);
}

static void site_on_timer_closed(uv_handle_t *h)
{
  site_on_closed(container_of((uv_timer_t *)h, struct site, timer));
}

/* Closes what a site holds.  A running scan or send ends first: its
 * callback sees `stopping` and the site closes once it returned. */
static void site_close(struct site *s)
{
  if (s->closed)
    return;
  s->stopping = true;
  if (s->deliver != NULL)
    deliver_cancel(s->deliver);
  if (s->busy) {
    /* site_idle runs from the scan or send callback; close then. */
    return;
  }
  s->closed = true;
  s->closing = 2;
  uv_close((uv_handle_t *)&s->timer, site_on_timer_closed);
  watch_close(s->w, site_on_closed, s);
  if (s->w == NULL)
    site_on_closed(s);
  s->w = NULL;
}

static int site_open_state(struct site *s, struct cfw_err *err)
{
  int rc;

  s->lock_fd = statelock_acquire(s->cfg->state_dir, err);
  if (s->lock_fd < 0)
    return s->lock_fd;
  rc = manifest_load(&s->m, s->cfg->state_dir, err);
  if (rc == -ENOENT) {
    s->first_run = true;
    rc = manifest_new(&s->m);
    if (rc < 0)
      return cfw_err_set(err, rc, "out of memory");
  }
  if (rc == 0)
    rc = manifest_set_root(s->m, s->cfg->root);
  return rc;
}

static int site_open_cf(struct site *s, struct cfw_err *err)
{
  struct once_opts oo = {0};

  if (s->cfg->dry_run || s->cfg->distribution_id == NULL) {
    log_msg(s->d->o.log, LOG_INFO, "%s: %s: dry run, printing batches",
            s->cfg->root,
            s->cfg->dry_run ? "--dry-run" : "no distribution configured");
    return 0;
  }
  oo.loop = s->d->o.loop;
  oo.log = s->d->o.log;
  oo.http = s->d->o.http;
  oo.getenv = s->d->o.getenv;
  if (inflight_new(&s->inflight) < 0)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return once_client_new(&s->cf, &oo, s->cfg, err);
}

static int site_start(struct site *s, struct cfw_err *err)
{
  struct watch_opts wo = {0};
  int rc;

  rc = site_open_state(s, err);
  if (rc == 0)
    rc = pending_urlmap_new(&s->um, s->cfg, err);
  if (rc == 0)
    rc = site_open_cf(s, err);
  if (rc < 0)
    return rc;
  wo.root = s->cfg->root;
  wo.log = s->d->o.log;
  wo.skip = site_skip;
  wo.skip_ctx = s;
  wo.fallback_rescan_ms = SITE_FALLBACK_RESCAN_MS;
  rc = watch_start(&s->w, s->d->o.loop, &wo, site_on_event, s, err);
  if (rc < 0)
    return rc;
  log_msg(s->d->o.log, LOG_INFO, "%s: watching %zu directories%s", s->cfg->root,
          watch_dir_count(s->w),
          watch_root_present(s->w) ? "" : " (the root does not exist yet)");
  /* Whatever changed while cfwatch was not running is sent first. */
  s->dirty_all = true;
  site_flush(s);
  return 0;
}

static void site_init(struct site *s, struct daemon *d,
                      const struct site_config *cfg)
{
  memset(s, 0, sizeof(*s));
  s->d = d;
  s->cfg = cfg;
  s->lock_fd = -1;
  strlist_init(&s->dirty);
  strlist_init(&s->scan_paths);
  planner_plan_init(&s->plan);
  debounce_init(&s->deb, cfg->quiet_ms, cfg->max_delay_ms);
  (void)uv_timer_init(d->o.loop, &s->timer); /* cannot fail */
}

int daemon_start(struct daemon **out, const struct daemon_opts *o,
                 const struct site_config *sites, size_t n, struct cfw_err *err)
{
  struct daemon *d;
  size_t i;
  int rc = 0;

  d = calloc(1, sizeof(*d));
  if (d == NULL || n == 0 ||
      (d->sites = calloc(n, sizeof(*d->sites))) == NULL) {
    free(d);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  d->o = *o;
  d->n = n;
  d->open = n;
  d->unscanned = n;
  for (i = 0; i < n; i++)
    site_init(&d->sites[i], d, &sites[i]);
  for (i = 0; i < n && rc == 0; i++) {
    rc = site_start(&d->sites[i], err);
    if (rc < 0)
      cfw_err_prefix(err, "%s", sites[i].root);
  }
  if (rc < 0) {
    daemon_stop(d, NULL, NULL); /* frees d once the handles are closed */
    return rc;
  }
  *out = d;
  return 0;
}

void daemon_stop(struct daemon *d, void (*done)(void *arg), void *arg)
{
  size_t i;

  if (d == NULL)
    return;
  d->done = done;
  d->done_arg = arg;
  for (i = 0; i < d->n; i++)
    site_close(&d->sites[i]);
}
