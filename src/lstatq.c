/* SPDX-License-Identifier: MIT */
#include "lstatq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "tree.h"
#include "util.h"

struct lstatq {
  uv_async_t async; /* the thread's "done" */
  uv_thread_t tid;
  uv_mutex_t mu;
  uv_cond_t wake;
  lstatq_done_cb done;
  void *arg;
  /* Under mu: the batch to state, the one stated, and whether q is
   * closed (then the thread ends and nothing is sent any more).  The
   * last of the thread's end and the handle's close frees q. */
  struct lstatq_batch *todo; /* owned */
  struct lstatq_batch *out;  /* owned */
  bool gone;
  bool thread_ended;
  bool handle_closed;
  bool busy; /* loop thread only: a batch is out, done has not run */
};

struct lstatq_batch *lstatq_batch_new(void)
{
  struct lstatq_batch *b = calloc(1, sizeof(*b));

  if (b != NULL)
    b->pin_fd = -1;
  return b;
}

void lstatq_batch_free(struct lstatq_batch *b)
{
  size_t i;

  if (b == NULL)
    return;
  for (i = 0; i < b->n; i++) {
    free(b->v[i].abs);
    free(b->v[i].res);
  }
  free(b->v);
  free(b->within);
  if (b->pin_fd >= 0)
    (void)close(b->pin_fd); /* a dup: its owner's fd keeps the watches */
  if (b->job_free != NULL)
    b->job_free(b->job_data);
  free(b);
}

int lstatq_batch_add(struct lstatq_batch *b, char *abs)
{
  struct lstatq_item *v = array_grow(b->v, b->n, &b->cap, sizeof(*v));

  if (v == NULL) {
    free(abs);
    return -ENOMEM;
  }
  b->v = v;
  memset(&v[b->n], 0, sizeof(v[0]));
  v[b->n].abs = abs;
  b->n++;
  return 0;
}

/* it leads to a regular file: watches the file's directory through fd,
 * as the watch pins it (watch_tree.c). */
static void lstatq_pin(struct lstatq_item *it, int fd, uint32_t mask)
{
#ifdef __linux__
  const char *slash = strrchr(it->res, '/');
  char *dir;

  if (slash == NULL)
    return; /* resolved paths are absolute */
  dir = slash == it->res ? strdup("/")
                         : strndup(it->res, (size_t)(slash - it->res));
  if (dir == NULL) {
    it->pin_wd = -ENOMEM;
    return;
  }
  it->pin_wd = inotify_add_watch(fd, dir, mask);
  if (it->pin_wd < 0)
    it->pin_wd = -errno;
  free(dir);
#else
  (void)it; /* inotify only: no other platform pins */
  (void)fd;
  (void)mask;
#endif
}

void lstatq_resolve(struct lstatq_item *it, const char *within, int pin_fd,
                    uint32_t pin_mask)
{
  it->res_rc = tree_resolve_within(within, it->abs, &it->res);
  if (it->res_rc == 0 && lstat(it->res, &it->res_st) < 0)
    it->res_rc = -errno;
  if (it->res_rc == 0 && pin_fd >= 0 && S_ISREG(it->res_st.st_mode))
    lstatq_pin(it, pin_fd, pin_mask);
}

static void lstatq_state(struct lstatq_batch *b)
{
  struct lstatq_item *it;
  size_t i;

  for (i = 0; i < b->n; i++) {
    it = &b->v[i];
    it->rc = lstat(it->abs, &it->st) == 0 ? 0 : -errno;
    if (it->rc == 0 && S_ISLNK(it->st.st_mode) && b->within != NULL)
      lstatq_resolve(it, b->within, b->pin_fd, b->pin_mask);
  }
  if (b->job != NULL)
    b->job(b->job_data);
}

static void lstatq_free(struct lstatq *q);

static void lstatq_thread(void *arg)
{
  struct lstatq *q = arg;
  struct lstatq_batch *b;
  bool last;

  uv_mutex_lock(&q->mu);
  for (;;) {
    while (!q->gone && q->todo == NULL)
      uv_cond_wait(&q->wake, &q->mu);
    if (q->gone)
      break;
    b = q->todo;
    uv_mutex_unlock(&q->mu);
    lstatq_state(b);
    uv_mutex_lock(&q->mu);
    q->todo = NULL;
    q->out = b;
    /* Under mu, so never after lstatq_close began to close the handle. */
    if (!q->gone)
      (void)uv_async_send(&q->async); /* cannot fail on a live handle */
  }
  q->thread_ended = true;
  last = q->handle_closed;
  uv_mutex_unlock(&q->mu);
  if (last)
    lstatq_free(q);
}

static void lstatq_on_done(uv_async_t *a)
{
  struct lstatq *q = container_of(a, struct lstatq, async);
  struct lstatq_batch *b;

  uv_mutex_lock(&q->mu);
  b = q->out;
  q->out = NULL;
  uv_mutex_unlock(&q->mu);
  if (b == NULL)
    return; /* sends coalesce: this one was taken already */
  q->busy = false;
  q->done(q->arg, b);
}

/* Ends the thread, which has no batch yet: the join is at once. */
static void lstatq_stop_idle(struct lstatq *q)
{
  uv_mutex_lock(&q->mu);
  q->gone = true;
  uv_cond_signal(&q->wake);
  uv_mutex_unlock(&q->mu);
  (void)uv_thread_join(&q->tid); /* ours, and joinable */
}

int lstatq_new(struct lstatq **out, uv_loop_t *loop, lstatq_done_cb done,
               void *arg)
{
  struct lstatq *q = calloc(1, sizeof(*q));
  int rc = -ENOMEM;

  *out = NULL;
  if (q == NULL)
    return rc;
  q->done = done;
  q->arg = arg;
  rc = uv_mutex_init(&q->mu);
  if (rc < 0)
    goto fail;
  rc = uv_cond_init(&q->wake);
  if (rc < 0)
    goto fail_mu;
  rc = uv_thread_create(&q->tid, lstatq_thread, q);
  if (rc < 0)
    goto fail_cond;
  /* The handle last: once it exists, only its close frees q. */
  rc = uv_async_init(loop, &q->async, lstatq_on_done);
  if (rc < 0) {
    lstatq_stop_idle(q);
    goto fail_cond;
  }
  /* Never joined: a stat on a hung mount must not hold the close, nor
   * the process's exit.  Cannot fail: the thread is ours, joinable. */
  (void)pthread_detach(q->tid);
  *out = q;
  return 0;

fail_cond:
  uv_cond_destroy(&q->wake);
fail_mu:
  uv_mutex_destroy(&q->mu);
fail:
  free(q);
  return rc;
}

int lstatq_submit(struct lstatq *q, struct lstatq_batch *b)
{
  if (q->busy)
    return -EBUSY;
  q->busy = true;
  uv_mutex_lock(&q->mu);
  q->todo = b;
  uv_cond_signal(&q->wake);
  uv_mutex_unlock(&q->mu);
  return 0;
}

static void lstatq_free(struct lstatq *q)
{
  uv_cond_destroy(&q->wake);
  uv_mutex_destroy(&q->mu);
  lstatq_batch_free(q->todo);
  lstatq_batch_free(q->out);
  free(q);
}

/* The handle is closed: q goes with it if the thread has ended, else
 * with the thread, whenever its batch is stated (a hung mount: with the
 * process, then). */
static void lstatq_on_close(uv_handle_t *h)
{
  struct lstatq *q =
      container_of((uv_async_t *)(void *)h, struct lstatq, async);
  bool last;

  uv_mutex_lock(&q->mu);
  q->handle_closed = true;
  last = q->thread_ended;
  uv_mutex_unlock(&q->mu);
  if (last)
    lstatq_free(q);
}

void lstatq_close(struct lstatq *q)
{
  if (q == NULL)
    return;
  uv_mutex_lock(&q->mu);
  q->gone = true;
  uv_cond_signal(&q->wake);
  uv_mutex_unlock(&q->mu);
  uv_close((uv_handle_t *)&q->async, lstatq_on_close);
}
