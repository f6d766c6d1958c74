/* SPDX-License-Identifier: MIT */
#include "cfsend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "retry.h"
#include "strlist.h"
#include "util.h"

#define CFSEND_BASE_MS       500
#define CFSEND_CAP_MS        30000
#define CFSEND_DAEMON_CAP_MS (5 * 60 * 1000)
#define CFSEND_BUSY_MS       20000
#define CFSEND_POLL_FIRST_MS 2000
#define CFSEND_POLL_CAP_MS   30000
/* A request's own time bound under a deadline. */
#define CFSEND_MIN_REQUEST_MS 1000
#define CFSEND_MAX_REQUEST_MS 60000
/* Two refreshes in a row that do not help mean the source is broken. */
#define CFSEND_MAX_REFRESH 2

enum cfsend_phase { CFSEND_CREATE, CFSEND_POLL };

struct cfsend {
  uv_loop_t *loop;
  uv_timer_t timer;
  struct cfsend_opts o;
  struct strlist paths; /* owned */
  char base_ref[200];
  unsigned conflicts; /* suffix for the CallerReference after a conflict */
  unsigned retry;     /* consecutive failures, for the backoff */
  unsigned refreshes;
  unsigned polls;
  enum cfsend_phase phase;
  bool in_flight;
  bool cancelled;
  bool finished;
  uint64_t start_ms;
  uint64_t rng; /* xorshift state for jitter; no global */
  cfsend_cb cb;
  void *arg;
  struct cfsend_result r;
};

static void cfsend_next(struct cfsend *s);

static uint32_t cfsend_rand(struct cfsend *s)
{
  return retry_jitter(&s->rng);
}

static void cfsend_on_close(uv_handle_t *h)
{
  struct cfsend *s = container_of((uv_timer_t *)h, struct cfsend, timer);

  s->cb(s, &s->r, s->arg);
  strlist_free(&s->paths);
  free(s);
}

static void cfsend_finish(struct cfsend *s, int status)
{
  if (s->finished)
    return;
  s->finished = true;
  s->r.status = status;
  if (status == -EREMOTEIO)
    cfw_err_class(&s->r.err, CFW_CLASS_REFUSED);
  else if (status == -ETIMEDOUT || status == -ECANCELED)
    cfw_err_class(&s->r.err, CFW_CLASS_TRANSIENT);
  s->r.elapsed_ms = uv_now(s->loop) - s->start_ms;
  (void)uv_timer_stop(&s->timer); /* cannot fail */
  uv_close((uv_handle_t *)&s->timer, cfsend_on_close);
}

static void cfsend_on_timer(uv_timer_t *t)
{
  struct cfsend *s = container_of(t, struct cfsend, timer);

  cfsend_next(s);
}

/* Waits ms, unless that would pass the deadline: then gives up. */
static void cfsend_later(struct cfsend *s, uint64_t ms)
{
  uint64_t spent = uv_now(s->loop) - s->start_ms;

  if (s->o.retry_for_ms != 0 && spent + ms > s->o.retry_for_ms) {
    cfw_err_prefix(&s->r.err, "gave up after %llu s and %u attempt%s",
                   (unsigned long long)((spent + 999) / 1000), s->r.attempts,
                   s->r.attempts == 1 ? "" : "s");
    cfsend_finish(s, -ETIMEDOUT);
    return;
  }
  (void)uv_timer_start(&s->timer, cfsend_on_timer, ms, 0); /* handle live */
}

static uint64_t cfsend_backoff(struct cfsend *s)
{
  return retry_backoff_ms(s->retry++, s->o.backoff_base_ms, s->o.backoff_cap_ms,
                          cfsend_rand(s));
}

/* The message for an error retrying cannot fix: what happened, then
 * what to check. */
static void cfsend_refused(struct cfsend *s, const struct cf_result *r)
{
  char msg[sizeof(s->r.err.msg)];
  const char *code = r->fail == HTTP_TLS ? "TLS" : r->error.code;

  str_copy(msg, sizeof(msg), r->err.msg);
  /* Nothing reached CloudFront (credentials, a bad request): the
   * message says it all. */
  if (r->status == 0 && r->fail == HTTP_OK) {
    cfw_err_set(&s->r.err, -EREMOTEIO, "%s", msg);
    return;
  }
  cfw_err_set(&s->r.err, -EREMOTEIO, "%.300s; %s", msg,
              retry_hint(code, r->status));
}

static void cfsend_failed(struct cfsend *s, struct cf_result *r)
{
  s->r.err = r->err;
  str_copy(s->r.code, sizeof(s->r.code), r->error.code);
  switch (r->verdict) {
  case CF_RETRY:
    s->r.faults++;
    log_msg(s->o.log, LOG_WARN, "%s; retrying", r->err.msg);
    cfsend_later(s, cfsend_backoff(s));
    return;
  case CF_WAIT:
    s->r.faults++;
    log_msg(s->o.log, LOG_INFO,
            "too many invalidations in progress on this distribution; "
            "waiting for some to complete");
    cfsend_later(s, s->o.busy_wait_ms + cfsend_rand(s) % 2000);
    return;
  case CF_CONFLICT:
    /* The reference names another batch (a reset state dir, another
     * tool): a fresh one makes this batch a new invalidation. */
    s->conflicts++;
    log_msg(s->o.log, LOG_WARN, "%s; using a new caller reference", r->err.msg);
    cfsend_next(s);
    return;
  case CF_REFRESH:
    if (++s->refreshes <= CFSEND_MAX_REFRESH) {
      cf_client_drop_creds(s->o.cf);
      cfsend_next(s);
      return;
    }
    break;
  default:
    break;
  }
  cfsend_refused(s, r);
  cfsend_finish(s, -EREMOTEIO);
}

static int cfsend_path_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True if the 201 names the batch that was sent: its reference and the
 * same set of paths.  An answer about another batch (a broken proxy, a
 * stand-in gone wrong) must never count as this batch's invalidation. */
static bool cfsend_answer_matches(const struct cfsend *s,
                                  const struct cf_invalidation *inv)
{
  char **v;
  size_t i;
  bool same;

  if (strcmp(inv->caller_reference, s->r.caller_ref) != 0 ||
      inv->paths.n != s->paths.n)
    return false;
  v = calloc(inv->paths.n + 1, sizeof(*v));
  if (v == NULL)
    return false; /* retried: out of memory now is not proof of a match */
  memcpy(v, inv->paths.v, inv->paths.n * sizeof(*v));
  qsort(v, inv->paths.n, sizeof(*v), cfsend_path_cmp);
  for (i = 0, same = true; same && i < s->paths.n; i++)
    same = strcmp(v[i], s->paths.v[i]) == 0;
  free(v);
  return same;
}

static void cfsend_mismatch(struct cfsend *s, const struct cf_result *r)
{
  s->r.faults++;
  cfw_err_set(&s->r.err, -EPROTO,
              "CloudFront answered 201 for another batch (invalidation %s, "
              "reference %.60s, %zu paths) than the one sent (reference %s, "
              "%zu paths); not recording it",
              r->inv.id, r->inv.caller_reference, r->inv.paths.n,
              s->r.caller_ref, s->paths.n);
  log_msg(s->o.log, LOG_WARN, "%s; retrying", s->r.err.msg);
  cfsend_later(s, cfsend_backoff(s));
}

static void cfsend_accepted(struct cfsend *s, const struct cf_result *r)
{
  if (s->phase == CFSEND_CREATE && !cfsend_answer_matches(s, &r->inv)) {
    cfsend_mismatch(s, r);
    return;
  }
  str_copy(s->r.id, sizeof(s->r.id), r->inv.id);
  str_copy(s->r.inv_status, sizeof(s->r.inv_status), r->inv.status);
  if (s->phase == CFSEND_CREATE) {
    s->r.accepted_ms = uv_now(s->loop) - s->start_ms;
    log_msg(s->o.log, LOG_DEBUG, "invalidation %s accepted (%s)", s->r.id,
            s->r.inv_status);
  }
  s->retry = 0;
  s->refreshes = 0;
  if (!s->o.wait_complete || strcmp(r->inv.status, "Completed") == 0 ||
      s->cancelled) {
    cfsend_finish(s, 0);
    return;
  }
  if (s->phase == CFSEND_POLL)
    log_msg(s->o.log, LOG_INFO, "invalidation %s: %s, %llu s", s->r.id,
            s->r.inv_status,
            (unsigned long long)((uv_now(s->loop) - s->start_ms) / 1000));
  s->phase = CFSEND_POLL;
  /* Completion takes from seconds to minutes: poll ever more slowly. */
  (void)uv_timer_start(&s->timer, cfsend_on_timer,
                       retry_backoff_ms(s->polls++, CFSEND_POLL_FIRST_MS,
                                        CFSEND_POLL_CAP_MS, UINT32_MAX),
                       0);
}

static void cfsend_on_result(struct cf_result *r, void *arg)
{
  struct cfsend *s = arg;

  s->in_flight = false;
  if (r->verdict == CF_DONE) {
    cfsend_accepted(s, r);
    return;
  }
  if (s->cancelled) {
    s->r.err = r->err;
    cfsend_finish(s, -ECANCELED);
    return;
  }
  cfsend_failed(s, r);
}

static void cfsend_ref(const struct cfsend *s, char *out, size_t n)
{
  if (s->conflicts == 0)
    str_copy(out, n, s->base_ref);
  else /* base_ref is at most 199 bytes: the suffix always fits */
    (void)snprintf(out, n, "%s-%u", s->base_ref, s->conflicts);
}

/* With a deadline, one request may not run past it (at least 1 s, so
 * a nearly spent deadline still gets a real try). */
static void cfsend_bound_request(struct cfsend *s)
{
  uint64_t spent = uv_now(s->loop) - s->start_ms;
  uint64_t left;

  if (s->o.retry_for_ms == 0)
    return;
  left = spent < s->o.retry_for_ms ? s->o.retry_for_ms - spent : 0;
  if (left < CFSEND_MIN_REQUEST_MS)
    left = CFSEND_MIN_REQUEST_MS;
  cf_client_set_timeout(
      s->o.cf, left < CFSEND_MAX_REQUEST_MS ? left : CFSEND_MAX_REQUEST_MS);
}

static void cfsend_next(struct cfsend *s)
{
  struct cfw_err err = {0};
  int rc;

  if (s->cancelled) {
    cfsend_finish(s, -ECANCELED);
    return;
  }
  cfsend_bound_request(s);
  if (s->phase == CFSEND_POLL) {
    rc = cf_get_invalidation(s->o.cf, s->r.id, cfsend_on_result, s, &err);
  } else {
    cfsend_ref(s, s->r.caller_ref, sizeof(s->r.caller_ref));
    s->r.attempts++;
    rc = cf_create_invalidation(s->o.cf, s->r.caller_ref,
                                (const char *const *)s->paths.v, s->paths.n,
                                cfsend_on_result, s, &err);
  }
  if (rc < 0) {
    s->r.err = err;
    cfsend_finish(s, rc == -ENOMEM ? -ENOMEM : -EREMOTEIO);
    return;
  }
  s->in_flight = true;
}

static void cfsend_defaults(struct cfsend_opts *o)
{
  if (o->backoff_base_ms == 0)
    o->backoff_base_ms = CFSEND_BASE_MS;
  if (o->backoff_cap_ms == 0)
    o->backoff_cap_ms =
        o->retry_for_ms == 0 ? CFSEND_DAEMON_CAP_MS : CFSEND_CAP_MS;
  if (o->busy_wait_ms == 0)
    o->busy_wait_ms = CFSEND_BUSY_MS;
}

int cfsend_start(struct cfsend **out, uv_loop_t *loop,
                 const struct cfsend_opts *o, const char *caller_ref,
                 const char *const *paths, size_t n, cfsend_cb cb, void *arg,
                 struct cfw_err *err)
{
  struct cfsend *s;
  size_t i;

  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  s->loop = loop;
  s->o = *o;
  cfsend_defaults(&s->o);
  s->cb = cb;
  s->arg = arg;
  s->start_ms = uv_now(loop);
  s->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s;
  s->rng |= 1; /* xorshift must not start at zero */
  str_copy(s->base_ref, sizeof(s->base_ref), caller_ref);
  strlist_init(&s->paths);
  for (i = 0; i < n; i++) {
    if (strlist_push(&s->paths, paths[i]) < 0) {
      strlist_free(&s->paths);
      free(s);
      return cfw_err_set(err, -ENOMEM, "out of memory");
    }
  }
  /* Sorted, as the answer's paths are compared with them. */
  strlist_sort_unique(&s->paths);
  (void)uv_timer_init(loop, &s->timer); /* cannot fail */
  *out = s;
  cfsend_next(s);
  return 0;
}

void cfsend_cancel(struct cfsend *s)
{
  if (s == NULL || s->finished)
    return;
  s->cancelled = true;
  if (!s->in_flight)
    cfsend_finish(s, -ECANCELED);
}
