/* SPDX-License-Identifier: MIT */
#include "tree_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

struct tree_pool {
  uv_mutex_t mu;         /* guards everything below but the constants */
  uv_cond_t wake;        /* a job was queued, or the last thread went idle */
  uv_mutex_t report;     /* tree_pool_lock */
  tree_pool_fn fn;       /* constant */
  void **workers;        /* borrowed, constant */
  size_t n;              /* threads allowed, the caller's included; constant */
  uv_thread_t *tids;     /* owned; n - 1 */
  size_t started;        /* threads started besides the caller */
  size_t idle;           /* threads waiting for a job */
  size_t active;         /* threads walking (or about to take a job) */
  struct tree_job *head; /* queued jobs, owned */
  struct tree_job *tail;
  size_t queued;
  int rc; /* the first error */
};

struct worker_arg {
  struct tree_pool *p;
  size_t i;
};

static void job_free(struct tree_job *j)
{
  if (j->fd >= 0)
    (void)close(j->fd); /* a directory read-only: nothing to lose */
  free(j->path);
  free(j->stack);
  free(j);
}

int tree_pool_new(struct tree_pool **out, size_t n, tree_pool_fn fn,
                  void **workers)
{
  struct tree_pool *p;

  *out = NULL;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return -ENOMEM;
  p->tids = calloc(n > 1 ? n - 1 : 1, sizeof(*p->tids));
  /* None of these fails on Linux but for want of memory. */
  if (p->tids == NULL || uv_mutex_init(&p->mu) != 0)
    goto fail_tids;
  if (uv_mutex_init(&p->report) != 0)
    goto fail_mu;
  if (uv_cond_init(&p->wake) != 0)
    goto fail_report;
  p->fn = fn;
  p->workers = workers;
  p->n = n > 0 ? n : 1;
  p->active = 1; /* the caller, walking from the root */
  *out = p;
  return 0;

fail_report:
  uv_mutex_destroy(&p->report);
fail_mu:
  uv_mutex_destroy(&p->mu);
fail_tids:
  free(p->tids);
  free(p);
  return -ENOMEM;
}

bool tree_pool_hungry(struct tree_pool *p)
{
  bool hungry;

  uv_mutex_lock(&p->mu);
  hungry = p->rc == 0 && p->queued < p->idle + (p->n - 1 - p->started);
  uv_mutex_unlock(&p->mu);
  return hungry;
}

/* Takes the next job for a thread that just finished one (or starts):
 * NULL once the queue is empty and nobody walks, or after an error. */
static struct tree_job *pool_take(struct tree_pool *p)
{
  struct tree_job *j = NULL;

  uv_mutex_lock(&p->mu);
  p->active--;
  p->idle++;
  while (p->head == NULL && p->active > 0 && p->rc == 0)
    uv_cond_wait(&p->wake, &p->mu);
  p->idle--;
  if (p->head != NULL && p->rc == 0) {
    j = p->head;
    p->head = j->next;
    if (p->head == NULL)
      p->tail = NULL;
    p->queued--;
    p->active++;
  } else {
    uv_cond_broadcast(&p->wake); /* the end, for every waiting thread */
  }
  uv_mutex_unlock(&p->mu);
  return j;
}

static void pool_work(struct tree_pool *p, size_t i)
{
  struct tree_job *j;
  int rc;

  while ((j = pool_take(p)) != NULL) {
    rc = p->fn(p->workers[i], j);
    j->fd = -1; /* fn took it */
    job_free(j);
    if (rc < 0)
      tree_pool_fail(p, rc);
  }
}

static void pool_thread(void *arg)
{
  struct worker_arg *a = arg;

  pool_work(a->p, a->i);
  free(a);
}

/* Starts one more thread if none waits; called with mu held.  A thread
 * that cannot be started leaves its work to the others. */
static void pool_grow(struct tree_pool *p)
{
  struct worker_arg *a;

  if (p->idle > 0 || p->started + 1 >= p->n)
    return;
  a = malloc(sizeof(*a));
  if (a == NULL)
    return;
  a->p = p;
  a->i = p->started + 1;
  p->active++; /* counted before it runs, so the pool cannot end first */
  if (uv_thread_create(&p->tids[p->started], pool_thread, a) != 0) {
    p->active--;
    free(a);
    return;
  }
  p->started++;
}

int tree_pool_put(struct tree_pool *p, const struct tree_job *job)
{
  struct tree_job *j;

  j = malloc(sizeof(*j));
  if (j == NULL) {
    struct tree_job tmp = *job;

    (void)close(tmp.fd);
    free(tmp.path);
    free(tmp.stack);
    return -ENOMEM;
  }
  *j = *job;
  j->next = NULL;
  uv_mutex_lock(&p->mu);
  if (p->tail != NULL)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  p->queued++;
  pool_grow(p);
  uv_cond_signal(&p->wake);
  uv_mutex_unlock(&p->mu);
  return 0;
}

void tree_pool_fail(struct tree_pool *p, int rc)
{
  uv_mutex_lock(&p->mu);
  if (p->rc == 0)
    p->rc = rc;
  uv_cond_broadcast(&p->wake);
  uv_mutex_unlock(&p->mu);
}

int tree_pool_finish(struct tree_pool *p)
{
  struct tree_job *j;
  size_t i;

  pool_work(p, 0);
  for (i = 0; i < p->started; i++)
    (void)uv_thread_join(&p->tids[i]);
  p->started = 0;
  /* Left only after an error: never walked. */
  while ((j = p->head) != NULL) {
    p->head = j->next;
    job_free(j);
  }
  p->tail = NULL;
  p->queued = 0;
  return p->rc;
}

void tree_pool_lock(struct tree_pool *p)
{
  uv_mutex_lock(&p->report);
}

void tree_pool_unlock(struct tree_pool *p)
{
  uv_mutex_unlock(&p->report);
}

void tree_pool_free(struct tree_pool *p)
{
  if (p == NULL)
    return;
  uv_cond_destroy(&p->wake);
  uv_mutex_destroy(&p->report);
  uv_mutex_destroy(&p->mu);
  free(p->tids);
  free(p);
}
