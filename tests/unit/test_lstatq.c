/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fusehang.h"
#include "lstatq.h"
#include "mountns.h"
#include "test.h"
#include "util.h"

/* A loop, a queue, and the batch it handed back. */
struct q {
  uv_loop_t loop;
  struct lstatq *q;
  struct lstatq_batch *back;
  uv_thread_t loop_thread;
  int calls;
  char tmp[4096];
};

static void q_on_done(void *arg, struct lstatq_batch *b)
{
  struct q *t = arg;
  uv_thread_t self = uv_thread_self();

  CHECK(uv_thread_equal(&self, &t->loop_thread));
  t->back = b;
  t->calls++;
}

static void q_init(struct q *t)
{
  memset(t, 0, sizeof(*t));
  test_tmpdir(t->tmp, sizeof(t->tmp));
  CHECK_EQ_INT(uv_loop_init(&t->loop), 0);
  t->loop_thread = uv_thread_self();
  CHECK_EQ_INT(lstatq_new(&t->q, &t->loop, q_on_done, t), 0);
}

static void q_end(struct q *t)
{
  lstatq_close(t->q);
  CHECK_EQ_INT(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&t->loop), 0);
  lstatq_batch_free(t->back);
  test_rmtree(t->tmp);
}

/* Adds tmp/rel to b. */
static void q_add(const struct q *t, struct lstatq_batch *b, const char *rel)
{
  char path[8192];

  CHECK(snprintf(path, sizeof(path), "%s/%s", t->tmp, rel) < (int)sizeof(path));
  CHECK_EQ_INT(lstatq_batch_add(b, strdup(path)), 0);
}

/* Runs the loop until the batch is back. */
static void q_wait(struct q *t)
{
  while (t->back == NULL)
    CHECK_EQ_INT(uv_run(&t->loop, UV_RUN_ONCE) >= 0, 1);
}

static void test_batch_is_stated_in_order_off_the_loop(void)
{
  struct lstatq_batch *b = lstatq_batch_new();
  struct q t;

  q_init(&t);
  test_write(t.tmp, "a.html", "a");
  CHECK(b != NULL);
  q_add(&t, b, "a.html");
  q_add(&t, b, "gone.html");
  CHECK_EQ_INT(lstatq_submit(t.q, b), 0);
  q_wait(&t);
  CHECK(t.back == b);
  CHECK_EQ_INT(b->n, 2);
  CHECK_EQ_INT(b->v[0].rc, 0);
  CHECK(S_ISREG(b->v[0].st.st_mode));
  CHECK_EQ_INT(b->v[0].st.st_size, 1);
  CHECK_EQ_INT(b->v[1].rc, -ENOENT);
  q_end(&t);
}

static void test_one_batch_at_a_time(void)
{
  struct lstatq_batch *b = lstatq_batch_new();
  struct lstatq_batch *c = lstatq_batch_new();
  struct q t;

  q_init(&t);
  CHECK(b != NULL && c != NULL);
  CHECK_EQ_INT(lstatq_submit(t.q, b), 0);
  CHECK_EQ_INT(lstatq_submit(t.q, c), -EBUSY);
  q_wait(&t);
  CHECK_EQ_INT(lstatq_submit(t.q, c), 0); /* b is back: c may go */
  lstatq_batch_free(t.back);
  t.back = NULL;
  q_wait(&t);
  CHECK(t.back == c);
  CHECK_EQ_INT(t.calls, 2);
  q_end(&t);
}

static void test_symlink_is_resolved_within_the_root(void)
{
  struct lstatq_batch *b = lstatq_batch_new();
  char path[8192];
  char *real;
  struct q t;

  q_init(&t);
  test_write(t.tmp, "a/index.html", "a");
  CHECK(snprintf(path, sizeof(path), "%s/in.html", t.tmp) < (int)sizeof(path));
  CHECK_EQ_INT(symlink("a/index.html", path), 0);
  CHECK(snprintf(path, sizeof(path), "%s/out.html", t.tmp) < (int)sizeof(path));
  CHECK_EQ_INT(symlink("/", path), 0);
  real = realpath(t.tmp, NULL);
  CHECK(b != NULL && real != NULL);
  b->within = real;
  q_add(&t, b, "in.html");
  q_add(&t, b, "out.html");
  q_add(&t, b, "a/index.html");
  CHECK_EQ_INT(lstatq_submit(t.q, b), 0);
  q_wait(&t);
  CHECK(S_ISLNK(b->v[0].st.st_mode));
  CHECK_EQ_INT(b->v[0].res_rc, 0);
  CHECK(S_ISREG(b->v[0].res_st.st_mode));
  CHECK(snprintf(path, sizeof(path), "%s/a/index.html", real) <
        (int)sizeof(path));
  CHECK_EQ_STR(b->v[0].res, path);
  CHECK_EQ_INT(b->v[1].res_rc, -EXDEV); /* leads outside */
  CHECK(b->v[2].res == NULL);           /* no link: nothing resolved */
  q_end(&t);
}

static void test_close_with_a_batch_out_never_calls_back(void)
{
  struct lstatq_batch *b = lstatq_batch_new();
  struct q t;
  int i;

  q_init(&t);
  CHECK(b != NULL);
  for (i = 0; i < 2000; i++)
    q_add(&t, b, "missing.html");
  CHECK_EQ_INT(lstatq_submit(t.q, b), 0);
  q_end(&t); /* the batch is freed with the queue */
  CHECK_EQ_INT(t.calls, 0);
}

/* The end of a hang, on a timer of the loop's: should the close wait
 * for the stuck thread, this is what lets it end. */
struct hang {
  uv_timer_t timer;
  int fd;
  char dir[4200];
};

static void hang_on_timer(uv_timer_t *timer)
{
  struct hang *h = container_of(timer, struct hang, timer);

  fusehang_end(h->fd, h->dir);
  h->fd = -1;
}

/* A stat stuck on a hung mount (a dead NFS server, a stuck FUSE daemon)
 * keeps no loop from ending once the queue is closed: the daemon's
 * SIGTERM.  The close waited for the thread (a join on the pool), and
 * so for the hang's end, here 3 s later; at the process's exit, libuv
 * would wait for that pool thread again, for ever. */
static void test_close_waits_for_no_stat_on_a_hung_mount(void)
{
  struct lstatq_batch *b;
  struct hang h;
  uint64_t t0;
  uint64_t ms;
  struct q t;
  int rc = test_private_mounts();

  if (rc != 0) {
    CHECK(test_mount_refused(rc));
    return;
  }
  q_init(&t);
  snprintf(h.dir, sizeof(h.dir), "%s/hung", t.tmp);
  CHECK_EQ_INT(mkdir(h.dir, 0755), 0);
  h.fd = fusehang_mount(h.dir);
  b = lstatq_batch_new();
  REQUIRE(b != NULL);
  q_add(&t, b, h.fd >= 0 ? "hung/a.html" : "a.html");
  CHECK_EQ_INT(lstatq_submit(t.q, b), 0);
  if (h.fd < 0) {
    CHECK(fusehang_refused(h.fd));
    q_end(&t);
    return;
  }
  CHECK(fusehang_wait_stuck(5000)); /* the thread is in the stat */
  CHECK_EQ_INT(uv_timer_init(&t.loop, &h.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&h.timer, hang_on_timer, 3000, 0), 0);
  uv_unref((uv_handle_t *)&h.timer); /* keeps no loop alive itself */
  t0 = uv_hrtime();
  lstatq_close(t.q);
  CHECK_EQ_INT(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
  ms = (uv_hrtime() - t0) / 1000000;
  CHECK(ms < 1500); /* generous: nothing waits */
  CHECK_EQ_INT(t.calls, 0);
  fusehang_end(h.fd, h.dir); /* the thread ends, and frees the queue */
  uv_close((uv_handle_t *)&h.timer, NULL);
  CHECK_EQ_INT(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&t.loop), 0);
  test_rmtree(t.tmp);
}

/* Each case alone (test.h): a case mounts a FUSE file system that
 * hangs, and a thread may stay stuck on it until the case ends. */
TEST_MAIN_ALONE(TEST(test_batch_is_stated_in_order_off_the_loop),
                TEST(test_one_batch_at_a_time),
                TEST(test_symlink_is_resolved_within_the_root),
                TEST(test_close_with_a_batch_out_never_calls_back),
                TEST(test_close_waits_for_no_stat_on_a_hung_mount))
