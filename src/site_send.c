/* SPDX-License-Identifier: MIT */
/* The pipeline's steps on the network and in child processes: what is in
 * progress at CloudFront, upload_cmd, the wait for room in progress, and
 * sending a batch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retry.h"
#include "site_int.h"
#include "util.h"

/* How long a queued batch waits between looks at what is in progress:
 * 2 s, then doubling up to 20 s (invalidations take seconds to minutes). */
#define SITE_CAPACITY_FIRST_MS 2000
#define SITE_CAPACITY_POLL_MS  20000
/* A failed upload_cmd is tried again after 2 s, 4 s, ... up to 5 min. */
#define SITE_UPLOAD_BASE_MS 2000
#define SITE_UPLOAD_CAP_MS  (UINT64_C(5) * 60 * 1000)

/* How long `once` keeps trying; the daemon never gives up (0). */
static uint64_t site_retry_for_ms(const struct site *s)
{
  return s->o.mode == SITE_WATCH ? 0 : s->cfg->retry_for_s * 1000;
}

/* "" for a site of one distribution, " at distribution ID" for one of
 * several: messages of a site of one read as they always did. */
static const char *site_at(const struct site *s, size_t d, char *buf,
                           size_t len)
{
  int n;

  if (s->n_dists < 2)
    return "";
  n = snprintf(buf, len, " at distribution %s", s->dists[d].id);
  return n < 0 || (size_t)n >= len ? "" : buf;
}

static void site_refresh_next(struct site *s);

static void site_on_refresh(struct inflight *f, const struct inflight_result *r,
                            void *arg)
{
  struct site *s = arg;
  char at[96];

  (void)f; /* the table is updated already */
  if (r->status < 0)
    log_msg(s->o.log, LOG_WARN,
            "could not list the invalidations in progress%s (%s); going by "
            "what cfwatch sent itself",
            site_at(s, s->drefresh, at, sizeof(at)), r->err.msg);
  s->drefresh++;
  site_refresh_next(s);
}

/* Each distribution in turn: the limits are each one's own. */
static void site_refresh_next(struct site *s)
{
  struct site_dist *d;
  struct cfw_err err = {0};
  char at[96];

  for (; s->drefresh < s->n_dists; s->drefresh++) {
    d = &s->dists[s->drefresh];
    if (inflight_refresh(d->inflight, d->cf, (int64_t)time(NULL),
                         site_on_refresh, s, &err) == 0)
      return;
    log_msg(s->o.log, LOG_WARN,
            "could not list the invalidations in "
            "progress%s (%s)",
            site_at(s, s->drefresh, at, sizeof(at)), err.msg);
  }
  site_advance(s);
}

/* What is in progress changes without us (completions, other tools), so
 * each plan starts from a fresh look.  On failure the table keeps what
 * it had: CloudFront's TooManyInvalidationsInProgress still guards. */
void site_refresh(struct site *s)
{
  s->drefresh = 0;
  site_refresh_next(s);
}

/* Uploading. */

static const struct change *site_item_changes(const struct site *s,
                                              const struct site_item *it,
                                              size_t k, size_t *n)
{
  const struct planner_batch *pb;
  const struct intent *in;
  size_t i;

  /* A dry run's batch is the pass's; a recorded one is its intent's
   * (site_job_intend moved the pass's changes there). */
  if (it->batch != SIZE_MAX && it->ref[0] == '\0') {
    pb = &s->plan.v[it->batch];
    *n = pb->n_changes;
    return k < pb->n_changes ? &s->changes[pb->changes[k]] : NULL;
  }
  for (i = 0; i < state_intent_count(s->state); i++) {
    in = state_intent_at(s->state, i);
    if (strcmp(in->ref, it->ref) == 0) {
      *n = in->n_changes;
      return k < in->n_changes ? &in->changes[k] : NULL;
    }
  }
  *n = 0;
  return NULL;
}

/* Every file the pass delivers, for upload_cmd's list. */
static const char **site_upload_paths(const struct site *s, size_t *n_out)
{
  const struct change *c;
  const char **v;
  size_t total = 0;
  size_t n;
  size_t i;
  size_t k;

  for (i = 0; i < s->n_items; i++) {
    (void)site_item_changes(s, &s->items[i], 0, &n);
    total += n;
  }
  v = calloc(total + 1, sizeof(*v));
  if (v == NULL)
    return NULL;
  for (i = 0, total = 0; i < s->n_items; i++)
    for (k = 0; (c = site_item_changes(s, &s->items[i], k, &n)) != NULL; k++)
      v[total++] = c->entry.path;
  *n_out = total;
  return v;
}

static void site_on_upload_timer(uv_timer_t *t)
{
  site_upload(container_of(t, struct site, timer));
}

static void site_on_uploaded(struct upload *u, int status,
                             const struct cfw_err *err, void *arg)
{
  struct site *s = arg;
  struct cfw_err e = *err;
  uint64_t limit = site_retry_for_ms(s);
  uint64_t wait;

  (void)u; /* frees itself after this */
  s->upload = NULL;
  if (status == 0) {
    s->uploaded = true;
    site_advance(s);
    return;
  }
  if (status == -ECANCELED || s->closing) {
    cfw_err_class(&e, CFW_CLASS_TRANSIENT);
    site_fail(s, -ECANCELED, &e);
    return;
  }
  wait = retry_backoff_ms(s->tries++, SITE_UPLOAD_BASE_MS, SITE_UPLOAD_CAP_MS,
                          retry_jitter(&s->rng));
  if (limit != 0 && uv_now(s->o.loop) - s->pass_start + wait > limit) {
    cfw_err_prefix(&e, "%s: gave up on upload_cmd", s->cfg->root);
    cfw_err_class(&e, CFW_CLASS_TRANSIENT);
    site_fail(s, -ETIMEDOUT, &e);
    return;
  }
  log_msg(s->o.log, LOG_WARN,
          "%s: %s; nothing invalidated, trying again in "
          "%llu s",
          s->cfg->root, err->msg, (unsigned long long)(wait / 1000));
  (void)uv_timer_start(&s->timer, site_on_upload_timer, wait, 0); /* live */
}

/* The origin first: invalidating before it has the new bytes makes
 * CloudFront fetch the old ones again. */
void site_upload(struct site *s)
{
  struct upload_opts uo = {0};
  struct cfw_err err = {0};
  const char **paths;
  size_t n = 0;
  int rc;

  paths = site_upload_paths(s, &n);
  if (paths == NULL) {
    (void)cfw_err_set(&err, -ENOMEM, "out of memory");
    site_fail(s, -ENOMEM, &err);
    return;
  }
  uo.cmd = s->cfg->upload_cmd;
  uo.root = s->cfg->root;
  uo.state_dir = s->cfg->state_dir;
  uo.paths = paths;
  uo.n = n;
  uo.timeout_ms = s->cfg->upload_timeout_s * 1000;
  uo.log = s->o.log;
  rc = upload_start(&s->upload, s->o.loop, &uo, site_on_uploaded, s, &err);
  free(paths); /* upload_start copied what it needs */
  if (rc < 0)
    site_fail(s, rc, &err);
}

/* Waiting for room in progress. */

static void site_on_capacity_timer(uv_timer_t *t)
{
  struct site *s = container_of(t, struct site, timer);

  site_refresh(s); /* site_advance looks again */
}

/* SITE_ROOM if the next item fits what is in progress now.  Otherwise a
 * timer looks again later (SITE_NO_ROOM), or, past the deadline, the
 * pass has failed (SITE_ROOM_GAVE_UP). */
enum site_room site_room(struct site *s)
{
  const struct site_item *it = &s->items[s->next];
  uint64_t now = uv_now(s->o.loop);
  uint64_t limit = site_retry_for_ms(s);
  struct cfw_err err = {0};
  char at[96];

  if (inflight_fits(s->dists[s->dnext].inflight, it->file_paths,
                    it->wildcards)) {
    s->wait_start = 0;
    s->tries = 0;
    return SITE_ROOM;
  }
  if (s->wait_start == 0)
    s->wait_start = now;
  if (limit != 0 && now - s->wait_start >= limit) {
    (void)cfw_err_set(&err, -ETIMEDOUT,
                      "gave up waiting for in-progress invalidations to "
                      "complete; the rest stays pending");
    cfw_err_class(&err, CFW_CLASS_TRANSIENT);
    site_fail(s, -ETIMEDOUT, &err);
    return SITE_ROOM_GAVE_UP;
  }
  log_msg(s->o.log, LOG_INFO,
          "%s: batch %zu/%zu waits for in-progress invalidations to "
          "complete%s",
          s->cfg->root, s->next + 1, s->n_items,
          site_at(s, s->dnext, at, sizeof(at)));
  (void)uv_timer_start(&s->timer, site_on_capacity_timer,
                       retry_backoff_ms(s->tries++, SITE_CAPACITY_FIRST_MS,
                                        SITE_CAPACITY_POLL_MS, UINT32_MAX),
                       0); /* live handle: cannot fail */
  return SITE_NO_ROOM;
}

/* Sending. */

const struct intent *site_intent(const struct site *s, const char *ref)
{
  const struct intent *in;
  size_t i;

  for (i = 0; i < state_intent_count(s->state); i++) {
    in = state_intent_at(s->state, i);
    if (strcmp(in->ref, ref) == 0)
      return in;
  }
  return NULL;
}

static size_t site_sent_files(const struct intent *in)
{
  size_t n = 0;
  size_t i;

  for (i = 0; i < in->n_changes; i++)
    n += change_kind(&in->changes[i]) != CHANGE_TOUCHED;
  return n;
}

/* True if a distribution from index d on has not accepted in. */
static bool site_missing_from(const struct site *s, const struct intent *in,
                              size_t d)
{
  for (; d < s->n_dists; d++)
    if (!intent_accepted_by(in, s->dists[d].id))
      return true;
  return false;
}

bool site_next_dist(struct site *s)
{
  const struct intent *in = site_intent(s, s->items[s->next].ref);

  if (in == NULL)
    return s->dnext < s->n_dists; /* site_send reports it */
  for (; s->dnext < s->n_dists; s->dnext++)
    if (!intent_accepted_by(in, s->dists[s->dnext].id))
      return true;
  return false;
}

static void site_on_sent(struct cfsend *send, struct cfsend_result *r,
                         void *arg)
{
  struct site *s = arg;
  const struct site_item *it = &s->items[s->next];
  const struct intent *in = site_intent(s, it->ref);
  char at[96];

  (void)send; /* frees itself after this */
  s->send = NULL;
  if (r->status < 0 || in == NULL) {
    if (s->n_dists > 1)
      cfw_err_prefix(&r->err, "distribution %s", s->dists[s->dnext].id);
    site_fail(s, r->status < 0 ? r->status : -ENOENT, &r->err);
    return;
  }
  str_copy(s->inv_id, sizeof(s->inv_id), r->id);
  str_copy(s->inv_status, sizeof(s->inv_status), r->inv_status);
  /* Out of memory here only makes the next look at CloudFront count it. */
  if (strcmp(r->inv_status, "Completed") != 0)
    (void)inflight_add(s->dists[s->dnext].inflight, r->id, it->file_paths,
                       it->wildcards, (int64_t)time(NULL));
  log_msg(s->o.log, LOG_INFO,
          "%s: batch: %zu files, %zu paths, invalidation %s (%s)%s after %u "
          "request%s, %llu ms after the changes settled%s",
          s->cfg->root, site_sent_files(in), in->paths.n, r->id, r->inv_status,
          site_at(s, s->dnext, at, sizeof(at)), r->attempts,
          r->attempts == 1 ? "" : "s",
          (unsigned long long)(uv_now(s->o.loop) - s->pass_start),
          it->batch == SIZE_MAX ? "; recorded by an earlier run" : "");
  /* A batch counts once, when its last distribution accepted it. */
  if (!site_missing_from(s, in, s->dnext + 1)) {
    s->rep.batches++;
    s->rep.paths += in->paths.n;
  }
  site_advance(s);
}

void site_send(struct site *s)
{
  const struct site_item *it = &s->items[s->next];
  const struct intent *in = site_intent(s, it->ref);
  struct cfsend_opts so = {0};
  struct cfw_err err = {0};
  int rc;

  if (in == NULL) {
    (void)cfw_err_set(&err, -ENOENT, "batch %s is not recorded", it->ref);
    site_fail(s, -ENOENT, &err);
    return;
  }
  so.cf = s->dists[s->dnext].cf;
  so.log = s->o.log;
  so.retry_for_ms = site_retry_for_ms(s);
  so.wait_complete = s->o.wait;
  rc = cfsend_start(&s->send, s->o.loop, &so, in->ref,
                    (const char *const *)in->paths.v, in->paths.n, site_on_sent,
                    s, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
}

/* With an origin, what plan and a dry run would upload and delete, on
 * stderr beside the batch's header (stdout has the paths only). */
static void site_print_origin(const struct site *s, const struct change *v,
                              const uint32_t *idx, size_t n)
{
  struct headers_out h;
  const struct change *c;
  size_t i;

  for (i = 0; s->cfg->origin != NULL && i < n; i++) {
    c = idx != NULL ? &v[idx[i]] : &v[i];
    if (change_kind(c) == CHANGE_DELETED) {
      log_msg(s->o.log, LOG_INFO, "  delete %s", c->entry.path);
      continue;
    }
    headers_for(s->hdrs, s->mime, c->entry.path, &h);
    log_msg(s->o.log, LOG_INFO, "  upload %s (%s, %llu bytes%s%s)",
            c->entry.path, h.content_type, (unsigned long long)c->entry.size,
            h.cache_control ? ", Cache-Control: " : "",
            h.cache_control ? h.cache_control : "");
  }
}

/* What the pass will send, before it sends it (the daemon logs each
 * batch as it goes). */
void site_log_plan(const struct site *s)
{
  const struct planner_plan *pl = &s->plan;

  if (pl->n_left > 0)
    log_msg(s->o.log, LOG_WARN,
            "%s: %zu changed files held back by the monthly budget; they "
            "stay pending",
            s->cfg->root, pl->n_left);
  if (s->o.mode == SITE_WATCH)
    return;
  if (s->n_items == 0 && pl->n_left == 0) {
    log_msg(s->o.log, LOG_INFO, "%s: nothing to invalidate", s->cfg->root);
    return;
  }
  if (pl->n > 0)
    log_msg(s->o.log, LOG_INFO,
            "%s: %zu batch%s, %zu paths (%zu wildcard%s), estimated $%.2f%s",
            s->cfg->root, pl->n, pl->n == 1 ? "" : "es", pl->n_paths,
            pl->n_wildcards, pl->n_wildcards == 1 ? "" : "s", pl->cost_usd,
            pl->evict_forced ? "; the budget forced wider wildcards" : "");
  site_tags_log_plan(s);
  if (s->rep.recovered > 0)
    log_msg(s->o.log, LOG_INFO,
            "%s: %zu batch%s recorded by an earlier run and not acknowledged "
            "go first, with their recorded references",
            s->cfg->root, s->rep.recovered, s->rep.recovered == 1 ? "" : "es");
}

/* Printing: plan shows each batch with its cost; a dry run "sends" it. */
void site_print(struct site *s, const struct site_item *it)
{
  const struct planner_batch *pb;
  const struct intent *in;

  if (it->batch == SIZE_MAX) {
    in = site_intent(s, it->ref);
    log_msg(s->o.log, LOG_INFO,
            "%s: batch: %zu files, %zu paths (recorded by an earlier run, "
            "not acknowledged)",
            s->cfg->root, site_sent_files(in), in->paths.n);
    site_print_origin(s, in->changes, NULL, in->n_changes);
    if (s->o.print != NULL)
      s->o.print(&in->paths, s->o.print_arg);
    s->rep.batches++;
    s->rep.paths += in->paths.n;
    return;
  }
  pb = &s->plan.v[it->batch];
  if (s->o.mode == SITE_PLAN)
    log_msg(s->o.log, LOG_INFO,
            "batch %zu/%zu: %zu files, %zu paths (%zu wildcard%s), estimated "
            "$%.2f%s",
            s->next + 1, s->n_items, pb->n_changes, pb->b.paths.n,
            pb->b.n_wildcards, pb->b.n_wildcards == 1 ? "" : "s", pb->cost_usd,
            pb->ready ? "" : ", queued until in-progress ones complete");
  else if (pb->b.n_wildcards == 0)
    log_msg(s->o.log, LOG_INFO, "%s: batch: %zu files, %zu paths (dry run)",
            s->cfg->root, pb->n_changes, pb->b.paths.n);
  else
    log_msg(s->o.log, LOG_INFO,
            "%s: batch: %zu files, %zu paths (dry run; %zu wildcard%s)",
            s->cfg->root, pb->n_changes, pb->b.paths.n, pb->b.n_wildcards,
            pb->b.n_wildcards == 1 ? "" : "s");
  site_print_origin(s, s->changes, pb->changes, pb->n_changes);
  if (s->o.print != NULL)
    s->o.print(&pb->b.paths, s->o.print_arg);
  s->rep.batches++;
  s->rep.paths += pb->b.paths.n;
}

/* For site_close: a request in flight finishes and reports; a wait ends
 * now. */
void site_cancel_io(struct site *s)
{
  struct cfw_err err = {0};

  if (s->send != NULL) {
    cfsend_cancel(s->send);
    return;
  }
  if (s->upload != NULL) {
    upload_cancel(s->upload);
    return;
  }
  if (s->put != NULL) {
    s3put_cancel(s->put);
    return;
  }
  if (s->del != NULL) {
    s3del_cancel(s->del);
    return;
  }
  if (s->list_op != NULL) {
    site_ground_cancel(s);
    return;
  }
  if (uv_is_active((uv_handle_t *)&s->timer)) {
    (void)uv_timer_stop(&s->timer); /* live handle: cannot fail */
    (void)cfw_err_set(&err, -ECANCELED, "stopped");
    cfw_err_class(&err, CFW_CLASS_TRANSIENT);
    site_fail(s, -ECANCELED, &err);
  }
}
