/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "util.h"

/* After a refusal, try again this much later (or at the next change,
 * whichever is first). */
#define DSITE_RETRY_MS (UINT64_C(5) * 60 * 1000)
/* After a failed scan, and where inotify watches ran out, rescan this
 * often. */
#define DSITE_RESCAN_MS 30000
/* After a failure of this machine's own (the state dir full or
 * unwritable), the first try again comes this soon, then each one twice
 * as late, up to DSITE_RESCAN_MS: room made on a disk is used within
 * seconds, not at the next change or minutes later, and a disk that
 * stays full costs a failed append every 30 s. */
#define DSITE_LOCAL_FIRST_MS 1000
/* The watch's first look at a root that has not answered after this
 * long is said to be stuck (a dead NFS server, a hung FUSE mount). */
#define DSITE_LOOK_SLOW_MS 5000

static void dsite_arm(struct dsite *ds);

static uint64_t dsite_now(const struct dsite *ds)
{
  return uv_now(ds->d->o.loop);
}

/* What the root is now, for the pipeline (site.h): absent, or which
 * directory it leads to. */
static uint64_t dsite_root_gen(void *ctx)
{
  const struct dsite *ds = ctx;

  if (ds->w == NULL || !watch_root_present(ds->w))
    return UINT64_MAX;
  return watch_root_gen(ds->w);
}

/* The watch starts before the site (its first walk is the site's):
 * should it list anything itself meanwhile (it only does when it cannot
 * be seeded), it watches excluded directories too, whose events the
 * scan then ignores. */
static bool dsite_skip(void *ctx, const char *rel, bool is_dir)
{
  const struct dsite *ds = ctx;

  return ds->site != NULL && site_excluded(ds->site, rel, is_dir);
}

/* Generators rewrite a file many times per build; the list keeps each
 * path once, deduped whenever it has doubled. */
static void dsite_mark(struct dsite *ds, const char *rel)
{
  if (rel == NULL || ds->dirty.n >= SITE_LIST_MAX) {
    ds->dirty_all = true;
    strlist_free(&ds->dirty);
    ds->dirty_unique = 0;
    return;
  }
  if (ds->dirty_all)
    return;
  if (strlist_push(&ds->dirty, rel) < 0) {
    ds->dirty_all = true; /* out of memory: a full walk needs no list */
    return;
  }
  if (ds->dirty.n >= 2 * ds->dirty_unique + 64) {
    strlist_sort_unique(&ds->dirty);
    ds->dirty_unique = ds->dirty.n;
  }
}

static void dsite_on_grace(uv_timer_t *t)
{
  struct dsite *ds = container_of(t, struct dsite, grace);

  log_msg(ds->d->o.log, LOG_INFO,
          "%s: quiet for %llu s: sending what the guard held", ds->cfg->root,
          (unsigned long long)(ds->cfg->delete_grace_ms / 1000));
  /* The walk covers every path the hold kept back. */
  strlist_free(&ds->dirty);
  ds->dirty_all = false;
  ds->dirty_unique = 0;
  (void)site_kick(ds->site, NULL, SITE_ALLOW_DELETE); /* only if closing */
}

static void dsite_on_event(struct watch *w, const char *rel, void *arg)
{
  struct dsite *ds = arg;

  (void)w;
  if (ds->d->stopping)
    return;
  dsite_mark(ds, rel);
  ds->retry_at_ms = 0; /* a new change is worth a new try at once */
  debounce_event(&ds->deb, dsite_now(ds));
  if (ds->holding) /* the folder is not quiet yet */
    (void)uv_timer_start(&ds->grace, dsite_on_grace, ds->cfg->delete_grace_ms,
                         0); /* live handle: cannot fail */
  dsite_arm(ds);
}

/* Hands the dirty paths to the pipeline, which runs them now or right
 * after the pass in progress. */
static void dsite_flush(struct dsite *ds)
{
  debounce_flushed(&ds->deb);
  if (ds->holding) {
    /* The tree looks mid-rebuild: a pass over what changed meanwhile
     * would upload a half-built tree and send the files not rebuilt yet
     * as deleted.  The paths wait for the grace's pass over the whole
     * tree; should an earlier one have failed, this starts the next. */
    if (!uv_is_active((const uv_handle_t *)&ds->grace))
      (void)uv_timer_start(&ds->grace, dsite_on_grace, ds->cfg->delete_grace_ms,
                           0); /* live handle */
    return;
  }
  if (ds->dirty_all) {
    strlist_free(&ds->dirty);
    (void)site_kick(ds->site, NULL, 0); /* fails only when closing */
  } else {
    (void)site_kick(ds->site, &ds->dirty, 0); /* takes the list */
  }
  ds->dirty_all = false;
  ds->dirty_unique = 0;
}

static void dsite_on_timer(uv_timer_t *t)
{
  struct dsite *ds = container_of(t, struct dsite, timer);
  uint64_t now = dsite_now(ds);

  if (debounce_due(&ds->deb, now) && now >= ds->retry_at_ms)
    dsite_flush(ds);
  else
    dsite_arm(ds);
}

/* Arms the timer for the next flush; nothing when idle (no wakeups). */
static void dsite_arm(struct dsite *ds)
{
  uint64_t now = dsite_now(ds);
  uint64_t wait = debounce_wait_ms(&ds->deb, now);

  if (ds->d->stopping || wait == UINT64_MAX)
    return;
  if (ds->retry_at_ms > now && ds->retry_at_ms - now > wait)
    wait = ds->retry_at_ms - now;
  (void)uv_timer_start(&ds->timer, dsite_on_timer, wait, 0); /* live */
}

/* After a failure the whole tree is looked at again later. */
static void dsite_retry_later(struct dsite *ds, uint64_t ms)
{
  dsite_mark(ds, NULL);
  debounce_event(&ds->deb, dsite_now(ds));
  ds->retry_at_ms = dsite_now(ds) + ms;
  dsite_arm(ds);
}

/* A state in S3 whose cache had no room (a full disk) is pulled again
 * at the next try, as a pass that met a full disk is made again: the
 * daemon runs on, ready, rather than stopping on its first pass.  A
 * local state opens without writing, so only its passes meet a full
 * disk. */
static bool dsite_waits_for_room(const struct dsite *ds,
                                 const struct site_report *r)
{
  return !r->opened && (r->status == -ENOSPC || r->status == -EDQUOT) &&
         ds->cfg->state_url != NULL;
}

static void dsite_first_report(struct dsite *ds, const struct site_report *r)
{
  struct daemon *d = ds->d;

  ds->reported = true;
  if (!r->opened && r->status < 0 && d->o.on_error != NULL &&
      !dsite_waits_for_room(ds, r)) {
    d->o.on_error(&r->err, d->o.error_arg);
    return;
  }
  if (--d->unreported == 0 && d->o.on_ready != NULL)
    d->o.on_ready(d->o.ready_arg);
}

/* How long after the failure r the pass is tried again (unless a change
 * comes first).  The one home of that rule. */
static uint64_t dsite_retry_ms(struct dsite *ds, const struct site_report *r)
{
  if (r->scan_failed)
    return DSITE_RESCAN_MS;
  if (r->err.cls != CFW_CLASS_STATE && r->err.cls != CFW_CLASS_NONE)
    return DSITE_RETRY_MS; /* AWS refused, or its errors did not pass */
  ds->local_ms = ds->local_ms == 0 ? DSITE_LOCAL_FIRST_MS : ds->local_ms * 2;
  if (ds->local_ms > DSITE_RESCAN_MS)
    ds->local_ms = DSITE_RESCAN_MS;
  return ds->local_ms;
}

/* Tells the caller what the site waits for (systemd's STATUS=): a
 * root that does not exist, or does not answer. */
static void dsite_tell(const struct dsite *ds, const char *why)
{
  const struct daemon *d = ds->d;
  char status[256];
  int n;

  n = snprintf(status, sizeof(status), "waiting for %s, which %s",
               ds->cfg->root, why);
  if (d->o.on_status != NULL && n > 0 && (size_t)n < sizeof(status))
    d->o.on_status(status, d->o.status_arg);
}

static void dsite_failed(struct dsite *ds, const struct site_report *r)
{
  uint64_t ms;

  if (r->root_missing) {
    log_msg(ds->d->o.log, LOG_INFO, "%s; waiting for it", r->err.msg);
    if (!ds->told_missing)
      dsite_tell(ds, "does not exist");
    ds->told_missing = true;
    return;
  }
  if (!r->opened && !dsite_waits_for_room(ds, r))
    return; /* the daemon stops: on_error told main */
  ms = dsite_retry_ms(ds, r);
  log_msg(ds->d->o.log, LOG_ERROR,
          "%s: %s; keeping the changes, trying again in %llu s or at the "
          "next change",
          ds->cfg->root, r->err.msg, (unsigned long long)(ms / 1000));
  dsite_retry_later(ds, ms);
}

/* Files a pass left stale are still pending, and their change may have
 * come before this process watched (a batch an earlier one recorded):
 * the whole tree is looked at again after the quiet period.  As for a
 * new change, an earlier failure's backoff does not apply: this pass
 * went through. */
static void dsite_look_again(struct dsite *ds, size_t n)
{
  log_msg(ds->d->o.log, LOG_INFO,
          "%s: %zu file%s changed while being sent; looking again",
          ds->cfg->root, n, n == 1 ? "" : "s");
  dsite_mark(ds, NULL);
  ds->retry_at_ms = 0;
  debounce_event(&ds->deb, dsite_now(ds));
  dsite_arm(ds);
}

static void dsite_on_pass(struct site *site, const struct site_report *r,
                          void *arg)
{
  struct dsite *ds = arg;

  (void)site;
  log_msg(ds->d->o.log, LOG_DEBUG,
          "%s: scanned %zu files, hashed %zu, %zu changes in %llu ms",
          ds->cfg->root, r->n_files, r->n_hashed, r->n_changes,
          (unsigned long long)r->scan_ms);
  if (!ds->reported && ds->w != NULL)
    log_msg(ds->d->o.log, LOG_DEBUG,
            "%s: start-up read %zu directories once; the watch listed %zu "
            "itself",
            ds->cfg->root, r->n_dirs, watch_listed_count(ds->w));
  if (!ds->reported)
    dsite_first_report(ds, r);
  if (r->status == 0)
    ds->local_ms = 0;
  if (r->status == 0 && ds->told_missing && ds->d->o.on_status != NULL)
    ds->d->o.on_status(NULL, ds->d->o.status_arg); /* the root is back */
  if (r->status == 0)
    ds->told_missing = false;
  if (r->status < 0 && r->status != -ECANCELED)
    dsite_failed(ds, r);
  if (r->status == 0 && r->stale > 0)
    dsite_look_again(ds, r->stale);
  /* Only a pass over the whole tree can say the held deletions are
   * gone: one over a few paths (an edit meanwhile) never looks at them,
   * nor does one that failed, and they stay held until the grace. */
  if (r->status == 0 && r->held > 0) {
    ds->holding = true;
    (void)uv_timer_start(&ds->grace, dsite_on_grace, ds->cfg->delete_grace_ms,
                         0); /* live handle: cannot fail */
  } else if (r->status == 0 && r->whole && ds->holding) {
    ds->holding = false;
    (void)uv_timer_stop(&ds->grace); /* live handle: cannot fail */
    /* Paths that changed during that walk were kept back: flush them. */
    if (ds->dirty_all || ds->dirty.n > 0) {
      debounce_event(&ds->deb, dsite_now(ds));
      dsite_arm(ds);
    }
  }
}

/* Closing. */

static void dsite_closed_one(void *arg)
{
  struct dsite *ds = arg;
  struct daemon *d = ds->d;

  if (--ds->closing > 0)
    return;
  strlist_free(&ds->dirty);
  if (--d->open > 0)
    return;
  if (d->done != NULL)
    d->done(d->done_arg);
  free(d->sites);
  free(d);
}

static void dsite_on_handle_closed(uv_handle_t *h)
{
  dsite_closed_one(h->data);
}

static void dsite_on_site_closed(void *arg)
{
  struct dsite *ds = arg;

  ds->gone = NULL;
  dsite_closed_one(ds);
}

static void dsite_close(struct dsite *ds)
{
  ds->closing = 5; /* three timers, the watch, the site */
  ds->timer.data = ds;
  ds->grace.data = ds;
  ds->look.data = ds;
  uv_close((uv_handle_t *)&ds->timer, dsite_on_handle_closed);
  uv_close((uv_handle_t *)&ds->grace, dsite_on_handle_closed);
  uv_close((uv_handle_t *)&ds->look, dsite_on_handle_closed);
  if (ds->w != NULL)
    watch_close(ds->w, dsite_closed_one, ds);
  else
    dsite_closed_one(ds);
  ds->w = NULL;
  ds->gone = ds->site;
  ds->site = NULL;
  if (ds->gone != NULL)
    site_close(ds->gone, dsite_on_site_closed, ds);
  else
    dsite_closed_one(ds);
}

/* Starting. */

static void dsite_log_watching(const struct dsite *ds)
{
  log_msg(ds->d->o.log, LOG_INFO, "%s: watching %zu directories%s",
          ds->cfg->root, watch_dir_count(ds->w),
          watch_root_present(ds->w) ? "" : " (the root does not exist yet)");
}

/* The walk's thread passes each directory and link on to the watch;
 * ds->seed is set before the walk starts and cleared only after it. */
static void dsite_on_walk_dir(void *ctx, const char *rel, int fd,
                              const struct stat *st)
{
  const struct dsite *ds = ctx;

  ds->seed->dir(ds->seed->ctx, rel, fd, st);
}

static void dsite_on_walk_link(void *ctx, const char *rel)
{
  const struct dsite *ds = ctx;

  ds->seed->link(ds->seed->ctx, rel);
}

/* The first walk is over: the watch takes its watches and reads
 * events. */
static void dsite_on_walked(void *ctx, int status)
{
  struct dsite *ds = ctx;
  const struct tree_visit *seed = ds->seed;

  ds->seed = NULL;
  seed->done(seed->ctx, status);
}

/* The first diff is done: say what is watched.  A change from here on
 * goes to the next pass, as it did when the watch listed the tree before
 * the first walk began. */
static void dsite_on_first_scan(void *ctx)
{
  struct dsite *ds = ctx;

  if (ds->w != NULL)
    dsite_log_watching(ds);
}

/* The site could not start: the daemon stops (on_error tells main). */
static void dsite_start_failed(struct dsite *ds, const struct cfw_err *err)
{
  struct daemon *d = ds->d;

  ds->reported = true; /* it never will */
  if (d->o.on_error != NULL)
    d->o.on_error(err, d->o.error_arg);
  else
    log_msg(d->o.log, LOG_ERROR, "%s", err->msg);
}

static int dsite_site_start(struct dsite *ds, struct cfw_err *err)
{
  struct daemon *d = ds->d;
  struct site_opts so = {0};
  int rc;

  so.loop = d->o.loop;
  so.log = d->o.log;
  so.http = d->o.http;
  so.cfg = ds->cfg;
  so.mode = SITE_WATCH;
  so.all = d->o.all;
  so.rules = d->o.rules;
  so.getenv = d->o.getenv;
  so.print = d->o.print;
  so.print_arg = d->o.print_arg;
  so.root_gen = dsite_root_gen;
  so.root_ctx = ds;
  if (ds->seed != NULL) {
    so.first_walk = &ds->visit;
    so.first_scanned = dsite_on_first_scan;
    so.first_scanned_ctx = ds;
  }
  rc = site_start(&ds->site, &so, dsite_on_pass, ds, err);
  if (rc < 0 && ds->seed != NULL)
    dsite_on_walked(ds, -ECANCELED); /* no walk will tell the watch */
  return rc;
}

/* The watch has looked at the root (off the loop thread: a root on a
 * hung mount would have held the loop): the pipeline starts, and opens
 * and diffs the whole tree first, so what changed while cfwatch was
 * not running is sent.  The watch started first so that nothing changed
 * meanwhile is missed, and its directories are watched by the
 * pipeline's first walk, as it reads them: the tree is read once. */
static void dsite_on_watch_started(struct watch *w, const struct cfw_err *werr,
                                   void *arg)
{
  struct dsite *ds = arg;
  struct cfw_err err = {0};

  ds->looked = true;
  (void)uv_timer_stop(&ds->look); /* live handle: cannot fail */
  if (ds->look_slow)
    log_msg(ds->d->o.log, LOG_WARN, "%s: the root answered after %llu s",
            ds->cfg->root,
            (unsigned long long)((dsite_now(ds) - ds->start_ms) / 1000));
  if (ds->d->stopping)
    return;
  if (werr != NULL) {
    err = *werr;
    cfw_err_prefix(&err, "%s", ds->cfg->root);
    dsite_start_failed(ds, &err);
    return;
  }
  ds->seed = watch_deferred(w);
  if (ds->seed == NULL) {
    dsite_log_watching(ds); /* nothing to walk: watching already */
  } else {
    ds->visit.dir = dsite_on_walk_dir;
    ds->visit.link = dsite_on_walk_link;
    ds->visit.done = dsite_on_walked;
    ds->visit.ctx = ds;
  }
  if (dsite_site_start(ds, &err) < 0) {
    cfw_err_prefix(&err, "%s", ds->cfg->root);
    dsite_start_failed(ds, &err);
  }
}

/* The watch's first look at the root has not come back: the site
 * cannot start, nor READY be sent, until it does.  Said once, and told
 * to the caller (systemd's STATUS): READY stays withheld, as for any
 * site whose first pass has not reported, so systemd's start timeout
 * decides; a root that is merely absent answers at once and is followed
 * (or refused) by its first pass. */
static void dsite_on_look_slow(uv_timer_t *t)
{
  struct dsite *ds = container_of(t, struct dsite, look);
  struct daemon *d = ds->d;

  if (ds->looked || d->stopping)
    return;
  ds->look_slow = true;
  log_msg(d->o.log, LOG_WARN,
          "%s: the root does not answer after %llu s (a file system that "
          "does not answer?); waiting for it, not ready until it does",
          ds->cfg->root, (unsigned long long)(DSITE_LOOK_SLOW_MS / 1000));
  dsite_tell(ds, "does not answer");
}

static int dsite_start(struct dsite *ds, struct cfw_err *err)
{
  struct daemon *d = ds->d;
  struct watch_opts wo = {0};

  wo.root = ds->cfg->root;
  wo.log = d->o.log;
  wo.skip = dsite_skip;
  wo.skip_ctx = ds;
  wo.fallback_rescan_ms = DSITE_RESCAN_MS;
  wo.deferred = true;
  wo.started = dsite_on_watch_started;
  if (site_is_dry(ds->cfg))
    log_msg(d->o.log, LOG_INFO, "%s: %s: dry run, printing batches",
            ds->cfg->root,
            ds->cfg->dry_run ? "--dry-run" : "no distribution configured");
  ds->start_ms = dsite_now(ds);
  (void)uv_timer_start(&ds->look, dsite_on_look_slow, DSITE_LOOK_SLOW_MS,
                       0); /* live handle: cannot fail */
  return watch_start(&ds->w, d->o.loop, &wo, dsite_on_event, ds, err);
}

static void dsite_init(struct dsite *ds, struct daemon *d,
                       const struct site_config *cfg)
{
  memset(ds, 0, sizeof(*ds));
  ds->d = d;
  ds->cfg = cfg;
  strlist_init(&ds->dirty);
  debounce_init(&ds->deb, cfg->quiet_ms, cfg->max_delay_ms);
  (void)uv_timer_init(d->o.loop, &ds->timer); /* cannot fail */
  (void)uv_timer_init(d->o.loop, &ds->grace); /* cannot fail */
  (void)uv_timer_init(d->o.loop, &ds->look);  /* cannot fail */
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
  d->unreported = n;
  for (i = 0; i < n; i++)
    dsite_init(&d->sites[i], d, &sites[i]);
  for (i = 0; i < n && rc == 0; i++) {
    rc = dsite_start(&d->sites[i], err);
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
  d->stopping = true;
  d->done = done;
  d->done_arg = arg;
  for (i = 0; i < d->n; i++)
    dsite_close(&d->sites[i]);
}
