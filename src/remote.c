/* SPDX-License-Identifier: MIT */
#include "remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfpace.h"
#include "site.h"
#include "util.h"

/* GetDistributionConfig is one call: a few tries are plenty. */
#define REMOTE_CONFIG_BUDGET 10
/* A warning with its distribution's name in front. */
#define REMOTE_WARNING_MAX 4096

struct remote {
  struct remote_opts o;
  const struct site_config *s; /* borrowed */
  struct cf_client *cf;        /* owned */
  struct cfpace *pace;         /* owned while discovering */
  uv_work_t hop;               /* back to the loop, without --account */
  unsigned attempt;
  uint64_t first_ms;
  size_t dist; /* the distribution being read: an index */
  struct remote_report r;
  remote_cb cb;
  void *arg;
};

static void remote_discover(struct remote *q);

void remote_report_init(struct remote_report *r)
{
  memset(r, 0, sizeof(*r));
  cfdiscover_report_init(&r->disc);
}

void remote_report_free(struct remote_report *r)
{
  if (r == NULL)
    return;
  cfdiscover_report_free(&r->disc);
  remote_report_init(r);
}

void remote_report_take(struct remote_report *dst, struct remote_report *src)
{
  remote_report_free(dst);
  *dst = *src;
  remote_report_init(src);
}

static void remote_end(void *arg)
{
  struct remote *q = arg;

  cf_client_destroy(q->cf);
  q->cb(&q->r, q->arg);
  remote_report_free(&q->r);
  free(q);
}

/* Ends from the loop: after the pace's timer closed, or at once. */
static void remote_finish(struct remote *q)
{
  struct cfpace *pace = q->pace;

  q->pace = NULL;
  if (pace != NULL)
    cfpace_close(pace, remote_end, q);
  else
    remote_end(q);
}

static const char *remote_dist(const struct remote *q)
{
  return q->s->distributions.n > 0 ? q->s->distributions.v[q->dist]
                                   : q->s->distribution_id;
}

/* With several distributions each is read in turn: the report keeps
 * the first one's origin and settings, and every one's warnings, each
 * naming its distribution. */
static int remote_add_warnings(struct remote *q,
                               const struct cfdiscover_report *d)
{
  struct strlist *w = &q->r.disc.warnings;
  size_t n = q->dist == 0 ? 0 : d->warnings.n;
  size_t start = q->dist == 0 ? 0 : w->n;
  struct buf b;
  size_t i;
  char *m;

  for (i = 0; i < n; i++)
    if (strlist_push(w, d->warnings.v[i]) < 0)
      return -ENOMEM;
  for (i = start; q->s->distributions.n > 1 && i < w->n; i++) {
    buf_init(&b, REMOTE_WARNING_MAX);
    if (buf_addf(&b, "distribution %s: %s", remote_dist(q), w->v[i]) < 0 ||
        (m = buf_take(&b)) == NULL) {
      buf_free(&b);
      return -ENOMEM;
    }
    free(w->v[i]);
    w->v[i] = m;
  }
  return 0;
}

static void remote_discovered(struct remote *q, const struct cf_result *res)
{
  struct cfdiscover_site site = {q->s->url_prefix ? q->s->url_prefix : "",
                                 q->s->index_name, q->s->origin};
  struct cfdiscover_report one;
  struct cfdiscover_report *d;
  size_t i;
  int rc;

  cfdiscover_report_init(&one);
  d = q->dist == 0 ? &q->r.disc : &one;
  rc = cfdiscover_check(&res->config, &site, d);
  for (i = 0; rc == 0 && i < d->warnings.n; i++)
    log_msg(q->o.log, LOG_WARN, "distribution %s: %s", remote_dist(q),
            d->warnings.v[i]);
  if (rc == 0)
    rc = remote_add_warnings(q, d);
  cfdiscover_report_free(&one);
  if (rc < 0)
    q->r.discover_status =
        cfw_err_set(&q->r.discover_err, rc, "--discover: %s", strerror(-rc));
}

static void remote_go(void *arg);

static void remote_on_config(struct cf_result *res, void *arg)
{
  struct remote *q = arg;
  uint64_t delay;

  if (res->verdict == CF_DONE) {
    remote_discovered(q, res);
    if (q->r.discover_status == 0 && q->dist + 1 < q->s->distributions.n &&
        cfpace_go(q->pace, 0, remote_go, q) == 0) {
      q->dist++;
      q->attempt = 0;
      q->first_ms = uv_now(q->o.loop);
      return;
    }
  } else {
    if (res->verdict == CF_REFRESH)
      cf_client_drop_creds(q->cf);
    delay = cfpace_retry_ms(q->pace, res->verdict, q->attempt, q->first_ms);
    if (delay != UINT64_MAX && cfpace_go(q->pace, delay, remote_go, q) == 0) {
      q->attempt++;
      return;
    }
    q->r.discover_status = res->err.code != 0 ? res->err.code : -EIO;
    q->r.discover_err = res->err;
    if (q->s->distributions.n > 1)
      cfw_err_prefix(&q->r.discover_err,
                     "--discover: GetDistributionConfig of %s", remote_dist(q));
    else
      cfw_err_prefix(&q->r.discover_err, "--discover: GetDistributionConfig");
    log_msg(q->o.log, LOG_WARN, "%s", q->r.discover_err.msg);
  }
  remote_finish(q);
}

static void remote_go(void *arg)
{
  struct remote *q = arg;
  struct cfw_err err = {0};

  if (cf_get_distribution_config(q->cf, remote_dist(q), remote_on_config, q,
                                 &err) < 0) {
    q->r.discover_status = err.code;
    q->r.discover_err = err;
    remote_finish(q);
  }
}

static void remote_discover(struct remote *q)
{
  struct cfpace_opts po = {0, q->s->retry_for_s * 1000,
                           REMOTE_CONFIG_BUDGET * (q->s->distributions.n > 1
                                                       ? q->s->distributions.n
                                                       : 1)};
  int rc;

  if (!q->o.discover) {
    remote_finish(q);
    return;
  }
  q->r.discover = true;
  if (q->s->distribution_id == NULL) {
    q->r.discover_status = cfw_err_set(&q->r.discover_err, -EINVAL,
                                       "--discover: no distribution_id");
    remote_finish(q);
    return;
  }
  rc = cfpace_new(&q->pace, q->o.loop, &po);
  q->first_ms = uv_now(q->o.loop);
  if (rc == 0)
    rc = cfpace_go(q->pace, 0, remote_go, q);
  if (rc < 0) {
    q->r.discover_status =
        cfw_err_set(&q->r.discover_err, rc, "--discover: %s", strerror(-rc));
    remote_finish(q);
  }
}

static void remote_on_account(const struct cfaccount_result *r, void *arg)
{
  struct remote *q = arg;

  q->r.acct = *r;
  if (r->status < 0)
    log_msg(q->o.log, LOG_WARN, "--account: %s", r->err.msg);
  remote_discover(q);
}

static int remote_account(struct remote *q, struct cfw_err *err)
{
  struct cfaccount_opts ao = {0};

  ao.loop = q->o.loop;
  ao.log = q->o.log;
  ao.cf = q->cf;
  ao.state_dir = q->s->state_dir;
  ao.max_requests = q->s->account_budget;
  ao.pace_ms = CFACCOUNT_PACE_MS;
  ao.retry_for_ms = q->s->retry_for_s * 1000;
  ao.now_s = q->o.now_s;
  q->r.account = true;
  return cfaccount_start(&ao, remote_on_account, q, err);
}

static void remote_nothing(uv_work_t *w)
{
  (void)w; /* only the hop back to the loop is wanted */
}

/* Without --account, discovery starts from the loop all the same, so cb
 * never runs inside remote_start. */
static void remote_on_hop(uv_work_t *w, int status)
{
  (void)status; /* nothing ran on the threadpool */
  remote_discover(container_of(w, struct remote, hop));
}

int remote_start(const struct remote_opts *o, const struct site_config *s,
                 remote_cb cb, void *arg, struct cfw_err *err)
{
  struct remote *q;
  int rc;

  q = calloc(1, sizeof(*q));
  if (q == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  q->o = *o;
  q->s = s;
  q->cb = cb;
  q->arg = arg;
  remote_report_init(&q->r);
  rc = site_client_new(&q->cf, o->loop, s, o->http, o->log, o->getenv, err);
  if (rc == 0 && o->account) {
    rc = remote_account(q, err);
  } else if (rc == 0) {
    rc = uv_queue_work(o->loop, &q->hop, remote_nothing, remote_on_hop);
    if (rc < 0)
      cfw_err_set(err, rc, "threadpool: %s", uv_strerror(rc));
  }
  if (rc < 0) {
    cf_client_destroy(q->cf);
    free(q);
  }
  return rc;
}
