/* SPDX-License-Identifier: MIT */
#include "cfaccount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfacache.h"
#include "cfpace.h"
#include "strlist.h"
#include "util.h"

enum cfaccount_phase {
  PH_DISTS, /* ListDistributions */
  PH_INVS,  /* ListInvalidations of each distribution */
  PH_GETS,  /* GetInvalidation of each uncached one */
  PH_DONE
};

/* An invalidation of the month whose count is not cached. */
struct cfaccount_todo {
  char dist[64];
  char id[64];
  int64_t created_s;
};

struct cfaccount {
  struct cfaccount_opts o;
  struct cfpace *pace; /* owned */
  uv_work_t work;      /* the cache, off the loop */
  struct cfacache cache;
  int64_t month_s; /* the month's first second */
  enum cfaccount_phase phase;
  struct strlist dists;        /* listed so far */
  size_t dist_i;               /* whose invalidations are being listed */
  char marker[256];            /* the next page's Marker, "" for the first */
  struct cfaccount_todo *todo; /* owned */
  size_t n_todo;
  size_t cap_todo;
  size_t todo_i;       /* the next to read */
  size_t failed_dists; /* refused: not read */
  size_t failed_invs;
  unsigned attempt;  /* of the request in flight */
  uint64_t first_ms; /* when its first try started */
  struct cfaccount_result r;
  cfaccount_cb cb;
  void *arg;
};

static void cfaccount_step(struct cfaccount *a);
static void cfaccount_on_result(struct cf_result *r, void *arg);

int64_t cfaccount_month_start(int64_t now_s, char out[8])
{
  time_t t = (time_t)now_s;
  struct tm tm;

  gmtime_r(&t, &tm);
  if (strftime(out, 8, "%Y-%m", &tm) == 0)
    out[0] = '\0';
  tm.tm_mday = 1;
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  return (int64_t)timegm(&tm);
}

static void cfaccount_free(struct cfaccount *a)
{
  cfacache_free(&a->cache);
  strlist_free(&a->dists);
  free(a->todo);
  free(a);
}

static void cfaccount_on_closed(void *arg)
{
  struct cfaccount *a = arg;

  a->cb(&a->r, a->arg);
  cfaccount_free(a);
}

static void cfaccount_deliver(struct cfaccount *a)
{
  a->r.requests = cfpace_requests(a->pace);
  cfpace_close(a->pace, cfaccount_on_closed, a);
}

/* The cache, on the threadpool: a failure costs requests, not the
 * count, so it is only noted. */
static void cfaccount_on_save(uv_work_t *w)
{
  struct cfaccount *a = container_of(w, struct cfaccount, work);

  (void)cfacache_save(&a->cache, a->o.state_dir, a->month_s, &a->r.err);
}

static void cfaccount_on_saved(uv_work_t *w, int status)
{
  struct cfaccount *a = container_of(w, struct cfaccount, work);

  (void)status; /* only the cache could suffer; noted in r.err */
  if (a->r.err.code != 0 && a->r.status == 0)
    log_msg(a->o.log, LOG_WARN, "%s (only the next count's requests suffer)",
            a->r.err.msg);
  cfaccount_deliver(a);
}

/* What was not read, then the cache, then the callback. */
static void cfaccount_finish(struct cfaccount *a)
{
  struct cfaccount_result *r = &a->r;

  a->phase = PH_DONE;
  r->distributions = a->dists.n;
  r->unread_distributions = a->dists.n - a->dist_i + a->failed_dists;
  r->unread_invalidations = a->n_todo - a->todo_i + a->failed_invs;
  r->complete = r->status == 0 && !r->more_distributions &&
                r->unread_distributions == 0 && r->unread_invalidations == 0;
  if (r->status < 0 || a->o.state_dir == NULL ||
      uv_queue_work(a->o.loop, &a->work, cfaccount_on_save,
                    cfaccount_on_saved) < 0)
    cfaccount_deliver(a);
}

static void cfaccount_go(void *arg)
{
  struct cfaccount *a = arg;
  struct cfw_err err = {0};
  const struct cfaccount_todo *t;
  const char *marker = a->marker[0] != '\0' ? a->marker : NULL;
  int rc;

  switch (a->phase) {
  case PH_DISTS:
    rc = cf_list_distributions(a->o.cf, marker, CFACCOUNT_PAGE_ITEMS,
                               cfaccount_on_result, a, &err);
    break;
  case PH_INVS:
    rc = cf_list_invalidations_of(a->o.cf, a->dists.v[a->dist_i], marker,
                                  CFACCOUNT_PAGE_ITEMS, cfaccount_on_result, a,
                                  &err);
    break;
  default:
    t = &a->todo[a->todo_i];
    rc = cf_get_invalidation_of(a->o.cf, t->dist, t->id, cfaccount_on_result, a,
                                &err);
    break;
  }
  if (rc < 0) {
    a->r.status = rc;
    a->r.err = err;
    cfaccount_finish(a);
  }
}

/* A spent budget ends the count where it is: a lower bound. */
static void cfaccount_spent(struct cfaccount *a)
{
  log_msg(a->o.log, LOG_INFO,
          "account count: the request budget of %zu is spent; the count "
          "is a lower bound",
          a->o.max_requests);
  cfaccount_finish(a);
}

/* Sends the next request after delay_ms (and the pace). */
static void cfaccount_send(struct cfaccount *a, uint64_t delay_ms)
{
  int rc = cfpace_go(a->pace, delay_ms, cfaccount_go, a);

  if (rc == -EDQUOT) {
    cfaccount_spent(a);
  } else if (rc < 0) {
    a->r.status =
        cfw_err_set(&a->r.err, rc, "account count: %s", uv_strerror(rc));
    cfaccount_finish(a);
  }
}

static void cfaccount_step(struct cfaccount *a)
{
  if (a->phase == PH_INVS && a->dist_i == a->dists.n)
    a->phase = PH_GETS;
  if (a->phase == PH_GETS && a->todo_i == a->n_todo) {
    cfaccount_finish(a);
    return;
  }
  a->attempt = 0;
  a->first_ms = uv_now(a->o.loop);
  cfaccount_send(a, 0);
}

static void cfaccount_on_dists(struct cfaccount *a,
                               const struct cf_distribution_list *l)
{
  size_t i;

  for (i = 0; i < l->n; i++) {
    if (strlist_push(&a->dists, l->items[i].id) < 0) {
      a->r.status = cfw_err_set(&a->r.err, -ENOMEM, "out of memory");
      return;
    }
  }
  if (l->is_truncated) {
    (void)str_copy(a->marker, sizeof(a->marker), l->next_marker);
    return;
  }
  a->r.more_distributions = false;
  a->marker[0] = '\0';
  a->phase = PH_INVS;
}

/* Counts one listed invalidation of the month, from the cache or by
 * queueing its GetInvalidation. */
static int cfaccount_note(struct cfaccount *a,
                          const struct cf_invalidation_summary *s,
                          int64_t created_s)
{
  const struct cfacache_entry *e = cfacache_find(&a->cache, s->id);
  struct cfaccount_todo *v;

  a->r.invalidations++;
  if (e != NULL) {
    a->r.month_paths += e->paths;
    a->r.from_cache++;
    return 0;
  }
  v = array_grow(a->todo, a->n_todo, &a->cap_todo, sizeof(*a->todo));
  if (v == NULL)
    return -ENOMEM;
  a->todo = v;
  (void)str_copy(v[a->n_todo].dist, sizeof(v->dist), a->dists.v[a->dist_i]);
  (void)str_copy(v[a->n_todo].id, sizeof(v->id), s->id);
  v[a->n_todo++].created_s = created_s;
  return 0;
}

/* Newest first: the first invalidation older than the month ends the
 * distribution's list.  An unreadable CreateTime counts as this month's,
 * so the count never misses one. */
static void cfaccount_on_invs(struct cfaccount *a,
                              const struct cf_invalidation_list *l)
{
  bool older = false;
  int64_t t;
  size_t i;

  for (i = 0; i < l->n && !older; i++) {
    t = cfxml_time_s(l->items[i].create_time);
    older = t >= 0 && t < a->month_s;
    if (!older && cfaccount_note(a, &l->items[i], t < 0 ? a->month_s : t) < 0) {
      a->r.status = cfw_err_set(&a->r.err, -ENOMEM, "out of memory");
      return;
    }
  }
  if (!older && l->is_truncated) {
    (void)str_copy(a->marker, sizeof(a->marker), l->next_marker);
    return;
  }
  a->marker[0] = '\0';
  a->dist_i++;
}

static void cfaccount_on_get(struct cfaccount *a,
                             const struct cf_invalidation *inv)
{
  const struct cfaccount_todo *t = &a->todo[a->todo_i++];

  a->r.month_paths += inv->quantity;
  if (cfacache_add(&a->cache, t->id, (uint32_t)inv->quantity, t->created_s) < 0)
    log_msg(a->o.log, LOG_DEBUG, "%s: not cached", t->id);
}

/* A refused request: the distribution list fails the count; one
 * distribution's invalidations, or one invalidation, are left unread. */
static void cfaccount_refused(struct cfaccount *a, const struct cf_result *r)
{
  if (a->phase == PH_DISTS) {
    a->r.status = r->err.code != 0 ? r->err.code : -EIO;
    a->r.err = r->err;
    cfw_err_prefix(&a->r.err, "counting the account's paths: "
                              "ListDistributions");
    return;
  }
  if (a->phase == PH_INVS) {
    log_msg(a->o.log, LOG_WARN,
            "account count: %s: ListInvalidations: %s; its paths are not "
            "counted",
            a->dists.v[a->dist_i], r->err.msg);
    a->failed_dists++;
    a->dist_i++;
    a->marker[0] = '\0';
    return;
  }
  log_msg(a->o.log, LOG_WARN, "account count: %s: GetInvalidation: %s",
          a->todo[a->todo_i].id, r->err.msg);
  a->failed_invs++;
  a->todo_i++;
}

static void cfaccount_on_result(struct cf_result *r, void *arg)
{
  struct cfaccount *a = arg;
  uint64_t delay;

  if (r->verdict != CF_DONE) {
    if (r->verdict == CF_REFRESH)
      cf_client_drop_creds(a->o.cf);
    delay = cfpace_retry_ms(a->pace, r->verdict, a->attempt, a->first_ms);
    if (delay != UINT64_MAX) {
      a->attempt++;
      cfaccount_send(a, delay);
      return;
    }
    /* A retry the budget has no request left for: not a refusal. */
    if ((r->verdict == CF_RETRY || r->verdict == CF_REFRESH) &&
        cfpace_spent(a->pace)) {
      cfaccount_spent(a);
      return;
    }
    cfaccount_refused(a, r);
  } else if (a->phase == PH_DISTS) {
    cfaccount_on_dists(a, &r->dists);
  } else if (a->phase == PH_INVS) {
    cfaccount_on_invs(a, &r->list);
  } else {
    cfaccount_on_get(a, &r->inv);
  }
  if (a->r.status < 0)
    cfaccount_finish(a);
  else
    cfaccount_step(a);
}

static void cfaccount_nothing(uv_work_t *w)
{
  (void)w; /* no cache: the first step only has to come from the loop */
}

static void cfaccount_on_load(uv_work_t *w)
{
  struct cfaccount *a = container_of(w, struct cfaccount, work);
  struct cfw_err err = {0};

  if (cfacache_load(&a->cache, a->o.state_dir, &err) < 0)
    log_msg(a->o.log, LOG_WARN, "%s", err.msg);
}

static void cfaccount_on_loaded(uv_work_t *w, int status)
{
  struct cfaccount *a = container_of(w, struct cfaccount, work);

  (void)status; /* a cache not read costs requests, nothing more */
  cfaccount_step(a);
}

int cfaccount_start(const struct cfaccount_opts *o, cfaccount_cb cb, void *arg,
                    struct cfw_err *err)
{
  struct cfpace_opts po = {o->pace_ms, o->retry_for_ms, o->max_requests};
  struct cfaccount *a;
  int rc;

  a = calloc(1, sizeof(*a));
  if (a == NULL || cfpace_new(&a->pace, o->loop, &po) < 0) {
    free(a);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  a->o = *o;
  a->cb = cb;
  a->arg = arg;
  cfacache_init(&a->cache);
  strlist_init(&a->dists);
  a->month_s = cfaccount_month_start(o->now_s, a->r.month);
  a->r.max_requests = o->max_requests;
  a->r.more_distributions = true; /* until the list's last page */
  rc = uv_queue_work(o->loop, &a->work,
                     o->state_dir != NULL ? cfaccount_on_load
                                          : cfaccount_nothing,
                     cfaccount_on_loaded);
  if (rc < 0) {
    cfpace_close(a->pace, NULL, NULL);
    cfaccount_free(a);
    return cfw_err_set(err, rc, "threadpool: %s", uv_strerror(rc));
  }
  return 0;
}
