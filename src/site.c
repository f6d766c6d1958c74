/* SPDX-License-Identifier: MIT */
#include "site.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "partwalk.h"
#include "site_int.h"
#include "statelock.h"
#include "util.h"

bool site_sends(const struct site *s)
{
  return s->o.mode != SITE_PLAN && s->n_dists > 0;
}

bool site_excluded(const struct site *s, const char *rel, bool is_dir)
{
  return urlmap_excluded(s->um, rel, is_dir);
}

const struct state *site_state(const struct site *s)
{
  return s->st == SITE_OPENING ? NULL : s->state;
}

bool site_busy(const struct site *s)
{
  return s->st != SITE_IDLE;
}

static void site_enter(struct site *s, enum site_state st)
{
  s->st = st;
}

/* Ending a pass. */

static void site_close_now(struct site *s);
static void site_pass(struct site *s);

/* After the pass: a kick that came meanwhile starts the next one, else
 * the site waits (or closes). */
static void site_next(struct site *s)
{
  site_enter(s, SITE_IDLE);
  if (s->closing) {
    site_close_now(s);
    return;
  }
  if (s->queued && (s->state != NULL || site_sync_due(s)))
    site_pass(s);
}

/* A pass frees a tree's worth of small blocks: off the loop thread,
 * and glibc is asked to hand them back (a daemon's resident memory). */
static void site_on_release(uv_work_t *w)
{
  site_release(container_of(w, struct site, release));
#ifdef CFW_GLIBC_MALLOC
  (void)malloc_trim(0); /* returns whether memory was released */
#endif
}

static void site_on_released(uv_work_t *w, int status)
{
  struct site *s = container_of(w, struct site, release);

  if (status < 0)
    site_release(s); /* cancelled: nothing ran */
  site_next(s);
}

/* Reports the pass, then frees it and goes on (site_next). */
static void site_finish(struct site *s)
{
  struct site_report rep;

  s->rep.again = site_defers(s);
  if (s->rep.again) {
    site_queue_paths(s, NULL);
    s->queued = true;
  }
  rep = s->rep;
  rep.plan = s->planned ? &s->plan : NULL;
  if (rep.status == 0 && s->closing && s->st != SITE_IDLE)
    rep.status = -ECANCELED;
  site_sync_finish(s);
  site_enter(s, SITE_RELEASING);
  s->reporting = true;
  s->cb(s, &rep, s->arg);
  s->reporting = false;
  if (uv_queue_work(s->o.loop, &s->release, site_on_release, site_on_released) <
      0) {
    site_release(s); /* only with a bad loop */
    site_next(s);
  }
}

/* The first walk runs from the open until the first pass diffs it:
 * through a state in S3's first pull and load too. */
static bool site_prescanning(const struct site *s)
{
  return s->scan != NULL && !s->scan_dropped &&
         (s->st == SITE_OPENING || s->st == SITE_PULLING ||
          s->st == SITE_LOADING);
}

void site_fail(struct site *s, int rc, const struct cfw_err *err)
{
  if (site_prescanning(s)) {
    /* The first walk cannot be recalled: report once it is over. */
    s->open_rc = rc;
    if (err != NULL)
      s->open_err = *err;
    s->scan_dropped = true;
    scan_diff(s->scan, NULL);
    return;
  }
  s->rep.status = rc;
  if (err != NULL)
    s->rep.err = *err;
  if (s->rep.err.code == 0)
    (void)cfw_err_set(&s->rep.err, rc, "%s", strerror(-rc));
  site_finish(s);
}

static void site_cancelled(struct site *s)
{
  struct cfw_err err = {0};

  (void)cfw_err_set(&err, -ECANCELED, "stopped");
  cfw_err_class(&err, CFW_CLASS_TRANSIENT);
  site_fail(s, -ECANCELED, &err);
}

/* Scanning. */

/* True if the watch says the root is absent now, or leads elsewhere
 * than when the scan began. */
static bool site_root_moved(const struct site *s)
{
  uint64_t now = s->o.root_gen(s->o.root_ctx);

  return now == UINT64_MAX || now != s->scan_gen;
}

/* The walk is over, and the pass's list of paths with it: a rebuild's
 * names every file, as many strings as the changes the pass now holds.
 * A failed pass is retried by the daemon with a whole walk, so only a
 * shared state that moved under the pass (site_sync_restart) asks for
 * the list again; with such a state it stays. */
static void site_drop_paths(struct site *s)
{
  if (s->sync != NULL)
    return;
  strlist_free(&s->paths);
  s->paths_set = false;
}

/* The first walk ended after opening failed, or while closing. */
static void site_on_dropped_scan(struct site *s, struct scan *scan)
{
  struct cfw_err err = s->open_err;
  int rc = s->open_rc;

  s->scan = NULL;
  s->scan_dropped = false;
  scan_destroy(scan);
  if (rc < 0)
    site_fail(s, rc, &err);
  else
    site_advance(s); /* closing */
}

static void site_on_scan(struct scan *scan, struct scan_result *r, void *arg)
{
  struct site *s = arg;
  int rc = r->status;
  struct cfw_err err = r->err;

  if (s->st == SITE_OPENING || s->scan_dropped) {
    site_on_dropped_scan(s, scan);
    return;
  }
  s->scan = NULL;
  if (!s->scanned_once && s->o.first_scanned != NULL)
    s->o.first_scanned(s->o.first_scanned_ctx);
  s->scanned_once = true;
  s->changes = r->changes;
  s->n_changes = r->n_changes;
  r->changes = NULL; /* taken */
  r->n_changes = 0;
  s->deferred = r->deferred;
  r->deferred = NULL;
  s->rep.n_files = r->n_files;
  s->rep.n_same = r->n_same;
  s->rep.deferred = r->n_deferred;
  s->rep.n_dirs = r->n_dirs;
  s->rep.n_hashed = r->n_hashed;
  s->rep.n_failed = r->n_failed;
  s->rep.scan_ms = r->elapsed_ms;
  scan_destroy(scan);
  site_drop_paths(s);
  if (rc == 0 && s->o.root_gen != NULL && site_root_moved(s))
    rc =
        cfw_err_set(&err, -ENOENT, "%s is gone or was replaced; not diffing it",
                    s->cfg->root);
  if (rc == -ENOENT)
    s->rep.root_missing = true;
  s->rep.scan_failed = rc < 0;
  if (rc < 0) {
    cfw_err_class(&err, CFW_CLASS_STATE);
    site_fail(s, rc, &err);
    return;
  }
  site_advance(s);
}

static void site_scan(struct site *s)
{
  struct scan_opts so = {0};
  struct cfw_err err = {0};
  int rc;

  if (s->scan != NULL && !s->paths_set) {
    site_enter(s, SITE_SCANNING); /* the first walk, started with the open */
    scan_diff(s->scan, site_view(s));
    return;
  }
  so.root = s->cfg->root;
  so.manifest = site_view(s);
  so.urlmap = s->um;
  so.log = s->o.log;
  so.bound = site_pass_bound(s);
  if (s->paths_set) {
    partwalk_normalise(&s->paths);
    so.paths = &s->paths;
  }
  site_enter(s, SITE_SCANNING);
  if (s->o.root_gen != NULL)
    s->scan_gen = s->o.root_gen(s->o.root_ctx);
  rc = scan_start(&s->scan, s->o.loop, &so, site_on_scan, s, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
}

/* The pass takes what the kicks asked for. */
static void site_take_next(struct site *s)
{
  s->paths = s->next_paths; /* moved */
  strlist_init(&s->next_paths);
  s->paths_set = !s->next_all;
  s->flags = s->next_flags;
  s->queued = false;
  s->next_all = false;
  s->next_flags = 0;
}

/* Starts the pass a kick (or the open) asked for; a state in S3 is
 * pulled first. */
static void site_pass(struct site *s)
{
  if (site_sync_due(s)) {
    site_sync_reopen(s);
    return;
  }
  site_release(s);
  if (s->scan != NULL) {
    /* The first pass diffs the first walk, which began with the open,
     * before any kick: what a kick named since (the watch reads events
     * only once that walk is over) may have changed after the walk read
     * it, so it stays queued for the next pass. */
    s->paths_set = false;
    s->flags = 0;
  } else {
    site_take_next(s);
  }
  memset(&s->rep, 0, sizeof(s->rep));
  s->rep.opened = true;
  s->rep.pulled = s->pulled;
  s->rep.whole = !s->paths_set;
  s->pass_start = uv_now(s->o.loop);
  if (state_intent_count(s->state) > 0) {
    site_enter(s, SITE_PROJECTING);
    site_queue(s, site_job_project);
    return;
  }
  site_scan(s);
}

/* A first run: the bucket, a baseline, or a refusal (site_found.c). */
static void site_first_run(struct site *s)
{
  switch (site_first_choice(s)) {
  case SITE_FIRST_GROUND:
    site_enter(s, SITE_LISTING);
    site_ground(s);
    return;
  case SITE_FIRST_REFUSE:
    site_refuse_baseline(s);
    return;
  case SITE_FIRST_REPORT:
    site_finish(s);
    return;
  case SITE_FIRST_BASELINE:
    site_enter(s, SITE_BASELINING);
    site_queue(s, site_job_baseline);
    return;
  }
}

static void site_scanned(struct site *s)
{
  site_count(s);
  if (state_fresh(s->state) && !s->o.all) {
    site_first_run(s);
    return;
  }
  if (site_held(s)) {
    s->rep.held = s->rep.n_changes;
    site_log_held(s);
    site_finish(s);
    return;
  }
  if (site_sends(s) && (s->rep.n_changes > 0 || site_owes(s))) {
    site_enter(s, SITE_REFRESHING);
    site_tags_check(s);
    return;
  }
  site_enter(s, SITE_PLANNING);
  site_queue(s, site_job_plan);
}

/* Delivering. */

static void site_compact_or_finish(struct site *s)
{
  if (s->o.mode != SITE_PLAN && state_compact_due(s->state)) {
    site_enter(s, SITE_COMPACTING);
    site_queue(s, site_job_compact);
    return;
  }
  site_finish(s);
}

static void site_sent(struct site *s);

/* Whether a batch printed instead of sent is recorded as told: not by
 * plan, nor by a dry run that has an origin to fill (an S3 origin or an
 * upload_cmd), which uploads nothing: recorded, its changes would never
 * reach the origin.  The next run that sends sends them, and each dry
 * pass prints them again. */
bool site_records_printed(const struct site *s)
{
  return s->o.mode != SITE_PLAN && s->cfg->origin == NULL &&
         s->cfg->upload_cmd == NULL;
}

/* Delivers items until one waits for the disk, the network or a timer.
 * With several distributions an item goes to each in turn, and is
 * committed only once every one accepted it (site_sent). */
static void site_next_item(struct site *s)
{
  const struct site_item *it;

  while (s->next < s->n_items) {
    it = &s->items[s->next];
    if (!site_sends(s)) {
      site_print(s, it);
      if (!site_records_printed(s)) {
        s->next++;
        continue;
      }
      site_enter(s, SITE_COMMITTING);
      site_queue(s, site_job_commit);
      return;
    }
    if (!site_next_dist(s)) {
      site_sent(s); /* every distribution accepted it */
      return;
    }
    switch (site_room(s)) {
    case SITE_NO_ROOM:
      site_enter(s, SITE_WAITING);
      return;
    case SITE_ROOM_GAVE_UP:
      return; /* the pass has failed */
    case SITE_ROOM:
      break;
    }
    site_enter(s, SITE_SENDING);
    site_send(s);
    return;
  }
  /* A state in S3 is shared by machines whose stats differ: refreshes
   * alone are not worth a write there (each run would make one). */
  if (s->o.mode != SITE_PLAN && s->planned && s->plan.n_no_send > 0 &&
      (s->sync == NULL || s->n_items > 0)) {
    site_enter(s, SITE_RECORDING);
    site_queue(s, site_job_record);
    return;
  }
  site_compact_or_finish(s);
}

static void site_planned(struct site *s)
{
  struct cfw_err err = {0};

  if (site_plan_items(s, &err) < 0) {
    site_fail(s, err.code, &err);
    return;
  }
  site_log_plan(s);
  if (s->n_items > 0 && site_sends(s)) {
    site_enter(s, SITE_INTENDING);
    site_queue(s, site_job_intend);
    return;
  }
  site_next_item(s);
}

/* Once every batch is recorded: the origin gets the new bytes first. */
static void site_intended(struct site *s)
{
  size_t i;

  if (s->cfg->upload_cmd != NULL) {
    site_enter(s, SITE_UPLOADING);
    site_upload(s);
    return;
  }
  for (i = 0; s->s3 != NULL && i < s->n_items; i++) {
    if (!s->items[i].uploaded) {
      site_enter(s, SITE_UPLOADING);
      site_origin_upload(s);
      return;
    }
  }
  site_next_item(s);
}

/* After CloudFront accepted a batch (at every distribution): its
 * removed files' objects go. */
static void site_sent(struct site *s)
{
  if (s->s3 != NULL) {
    site_enter(s, SITE_DELETING);
    if (site_origin_delete(s))
      return; /* deleting, or failed */
  }
  site_enter(s, SITE_COMMITTING);
  site_queue(s, site_job_commit);
}

/* One of several distributions accepted the item: on to the next one.
 * Stopping, an item every distribution accepted is still committed, as
 * with one distribution; one that still lacks a distribution waits for
 * the next run. */
static void site_accepted(struct site *s)
{
  if (!s->closing) {
    site_next_item(s);
    return;
  }
  if (site_next_dist(s))
    site_cancelled(s);
  else
    site_sent(s);
}

/* The state is open (and the first walk done): the first pass, unless
 * stopping meanwhile. */
static void site_opened(struct site *s)
{
  if (s->closing && s->scan != NULL) {
    scan_diff(s->scan, NULL); /* site_on_dropped_scan comes back */
    return;
  }
  site_enter(s, SITE_IDLE);
  if (s->closing) {
    site_close_now(s);
    return;
  }
  site_pass(s);
}

/* The state in S3 is pulled and loaded: the pass starts. */
static void site_loaded(struct site *s)
{
  s->pulled = true;
  s->sync_opened = true;
  site_enter(s, SITE_IDLE);
  site_pass(s);
}

/* The origin holds the batch: with S3, that is recorded first. */
static void site_uploaded(struct site *s)
{
  if (s->s3 != NULL) {
    site_enter(s, SITE_MARKING);
    site_queue(s, site_job_mark);
    return;
  }
  site_next_item(s);
}

/* The transitions, in one place: what follows the step that just ended
 * (s->st), once it succeeded.  A failure goes to site_fail instead. */
void site_advance(struct site *s)
{
  /* Stopping: an accepted batch is still recorded, nothing new starts. */
  if (s->closing && s->st != SITE_SENDING && s->st != SITE_ACCEPTING &&
      s->st != SITE_OPENING) {
    site_cancelled(s);
    return;
  }
  switch (s->st) {
  case SITE_OPENING:
    site_opened(s);
    return;
  case SITE_LOADING:
    site_loaded(s);
    return;
  case SITE_PROJECTING:
    site_scan(s);
    return;
  case SITE_SCANNING:
    site_scanned(s);
    return;
  case SITE_LISTING:
    site_enter(s, SITE_GROUNDING);
    site_queue(s, site_job_ground);
    return;
  case SITE_GROUNDING:
    site_grounded(s);
    site_scan(s); /* against what the bucket holds */
    return;
  case SITE_REFRESHING:
    site_enter(s, SITE_PLANNING);
    site_queue(s, site_job_plan);
    return;
  case SITE_PLANNING:
    site_planned(s);
    return;
  case SITE_INTENDING:
    site_intended(s);
    return;
  case SITE_UPLOADING:
    site_uploaded(s);
    return;
  case SITE_MARKING:
  case SITE_WAITING:
    site_next_item(s);
    return;
  case SITE_SENDING:
    if (s->n_dists == 1) {
      site_sent(s);
      return;
    }
    site_enter(s, SITE_ACCEPTING);
    site_queue(s, site_job_accept);
    return;
  case SITE_ACCEPTING:
    s->dnext++;
    site_accepted(s);
    return;
  case SITE_DELETING:
    site_enter(s, SITE_COMMITTING);
    site_queue(s, site_job_commit);
    return;
  case SITE_COMMITTING:
    s->next++;
    s->dnext = 0;
    site_next_item(s);
    return;
  case SITE_RECORDING:
    site_compact_or_finish(s);
    return;
  case SITE_PULLING: /* goes on to SITE_LOADING itself */
  case SITE_BASELINING:
  case SITE_COMPACTING:
  case SITE_IDLE:
  case SITE_RELEASING:
  case SITE_CLOSED:
    site_finish(s);
    return;
  }
}

/* Opening and closing. */

static int site_init(struct site *s, const struct site_opts *o,
                     struct cfw_err *err)
{
  int rc;

  s->o = *o;
  s->cfg = o->cfg;
  s->lock_fd = -1;
  s->root_fd = -1;
  s->rng = uv_hrtime() | 1; /* xorshift must not start at zero */
  strlist_init(&s->paths);
  strlist_init(&s->next_paths);
  planner_plan_init(&s->plan);
  site_tags_init(s);
  rc = site_urlmap_new(&s->um, s->cfg, err);
  if (rc == 0 && s->cfg->origin != NULL)
    rc = s3url_parse(s->cfg->origin, &s->origin, err);
  if (rc == 0 && s->cfg->origin != NULL)
    rc = headers_set_new(&s->hdrs, o->rules, s->cfg->name, err);
  if (rc == 0 && o->mode != SITE_PLAN && !site_is_dry(s->cfg))
    rc = site_init_clients(s, err);
  if (rc == 0)
    rc = site_sync_init(s, err);
  return rc;
}

static void site_destroy(struct site *s)
{
  site_release(s);
  passrun_clear(&s->run);
  strlist_free(&s->next_paths);
  site_sync_destroy(s);
  s3_client_destroy(s->s3);
  site_dists_destroy(s);
  aws_client_destroy(s->aws);
  headers_set_destroy(s->hdrs);
  mime_table_destroy(s->mime);
  urlmap_destroy(s->um);
  state_close(s->state);
  statelock_release(s->lock_fd);
  statelock_release(s->root_fd);
  free(s);
}

/* The first pass's walk, started with the open: start-up costs
 * max(load, walk), not the sum.  Read-only, so the lock need not be
 * held yet; its diff waits for the state (scan_diff). */
static int site_prescan(struct site *s, struct cfw_err *err)
{
  struct scan_opts so = {0};

  so.root = s->cfg->root;
  so.urlmap = s->um;
  so.log = s->o.log;
  so.visit = s->o.first_walk;
  so.bound = site_pass_bound(s);
  if (s->o.root_gen != NULL)
    s->scan_gen = s->o.root_gen(s->o.root_ctx);
  return scan_start(&s->scan, s->o.loop, &so, site_on_scan, s, err);
}

int site_start(struct site **out, const struct site_opts *o, site_cb cb,
               void *arg, struct cfw_err *err)
{
  struct site *s;
  int rc;

  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = site_init(s, o, err);
  if (rc < 0) {
    site_destroy(s);
    return rc;
  }
  s->cb = cb;
  s->arg = arg;
  rc = site_prescan(s, err);
  if (rc < 0) {
    site_destroy(s);
    return rc;
  }
  (void)uv_timer_init(o->loop, &s->timer); /* cannot fail */
  s->handles = 1;
  /* The open goes on to the first pass, over the whole tree: nothing is
   * queued for it, so that a kick meanwhile is a pass of its own. */
  site_enter(s, SITE_OPENING);
  site_queue(s, site_job_open);
  *out = s;
  return 0;
}

void site_queue_paths(struct site *s, struct strlist *paths)
{
  struct strlist *q = &s->next_paths;

  /* Moved, not copied: a rebuild names every file of the site. */
  if (paths == NULL || s->next_all || strlist_move_all(q, paths) < 0)
    s->next_all = true; /* a whole walk needs no list */
  if (!s->next_all && q->n > SITE_LIST_MAX) {
    strlist_sort_unique(q); /* each flush's list was; not all of them */
    s->next_all = q->n > SITE_LIST_MAX;
  }
  if (paths != NULL)
    strlist_free(paths);
  if (s->next_all)
    strlist_free(q);
}

/* A state in S3 whose open failed before it took the lock (its cache
 * dir could not be made on a full disk): the daemon waits for room and
 * kicks again, and the site opens again, as a failed pull is made
 * again.  A local state that fails to open stops the daemon. */
static bool site_reopens(const struct site *s)
{
  return s->st == SITE_IDLE && s->sync != NULL && s->lock_fd < 0 &&
         s->o.mode != SITE_PLAN;
}

int site_kick(struct site *s, struct strlist *paths, unsigned flags)
{
  bool reopen;

  if (s->closing)
    return -ECANCELED;
  reopen = site_reopens(s);
  /* A pull due is read first: the state is replaced on the pool then. */
  if (!reopen && s->st != SITE_OPENING && !site_sync_due(s) && s->state == NULL)
    return -ENOTCONN; /* it never opened */
  s->next_flags |= flags;
  site_queue_paths(s, paths);
  s->queued = true;
  if (reopen) {
    memset(&s->rep, 0, sizeof(s->rep));
    site_enter(s, SITE_OPENING);
    site_queue(s, site_job_open);
  } else if (s->st == SITE_IDLE) {
    site_pass(s);
  }
  return 0;
}

static void site_on_timer_closed(uv_handle_t *h)
{
  struct site *s = container_of((uv_timer_t *)h, struct site, timer);
  void (*done)(void *arg) = s->closed;
  void *arg = s->closed_arg;

  site_destroy(s);
  if (done != NULL)
    done(arg);
}

static void site_close_now(struct site *s)
{
  site_enter(s, SITE_CLOSED);
  uv_close((uv_handle_t *)&s->timer, site_on_timer_closed);
}

void site_close(struct site *s, void (*done)(void *arg), void *arg)
{
  if (s == NULL || s->closing)
    return;
  s->closing = true;
  s->closed = done;
  s->closed_arg = arg;
  if (s->reporting || s->st == SITE_RELEASING)
    return; /* site_next closes once the pass is freed */
  if (s->st == SITE_IDLE) {
    site_close_now(s);
    return;
  }
  /* The running step ends (a request in flight finishes and is
   * recorded); site_advance then sees closing. */
  site_cancel_io(s);
}
