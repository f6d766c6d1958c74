/* SPDX-License-Identifier: MIT */
/* The watch on a file system that hangs (a dead NFS server, a stuck
 * FUSE daemon), for real: fusehang.h mounts a FUSE file system whose
 * server never answers onto the root, in a private mount namespace
 * (skipped where mounting FUSE is not permitted).  Every look at the
 * root then waits in the kernel: the watch's loop must not, neither at
 * start (watch_start ran its root check on the caller's thread: a
 * daemon's SIGHUP restarted its watches on the loop) nor at close. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <uv.h>

#include "fusehang.h"
#include "test.h"
#include "util.h"
#include "watch.h"
#include "watchns.h"
#include "watchrun.h"

/* Ends the hang after ms, from a thread of its own: a call stuck on
 * the test's thread would never end it otherwise. */
struct unhang {
  pthread_t tid;
  int fd;
  unsigned ms;
  const char *dir;
};

static void *unhang_main(void *arg)
{
  struct unhang *u = arg;

  (void)usleep(u->ms * 1000u);
  fusehang_end(u->fd, u->dir);
  return NULL;
}

/* run_init_mounts, then the hanging mount on the root: false (the case
 * is over) where either is not permitted. */
static bool run_init_hung(struct run *r, int *fd)
{
  if (!run_init_mounts(r))
    return false;
  *fd = fusehang_mount(r->root);
  if (*fd >= 0)
    return true;
  CHECK(fusehang_refused(*fd));
  run_stop(r);
  return false;
}

static uint64_t ms_since(uint64_t t0_ns)
{
  return (uv_hrtime() - t0_ns) / 1000000u;
}

/* watch_start returns at once on a root that hangs, the loop runs
 * meanwhile, and the watch starts once the hang ends.  Before, watch_start
 * itself waited for the hang's end, here 3 s later. */
static void test_start_on_a_hung_root_holds_no_loop(void)
{
  struct unhang u = {0};
  uint64_t t0;
  struct run r;

  if (!run_init_hung(&r, &u.fd))
    return;
  u.ms = 3000;
  u.dir = r.root;
  REQUIRE(pthread_create(&u.tid, NULL, unhang_main, &u) == 0);
  t0 = uv_hrtime();
  run_watch(&r);
  CHECK(ms_since(t0) < 1000);       /* generous: it waits for nothing */
  CHECK(fusehang_wait_stuck(2000)); /* the look at the root is stuck */
  lag_reset(&r);
  CHECK(!run_until(&r, run_started, 300));
  CHECK(r.lag.max_gap_ns < 1000 * 1000000ull); /* the loop ticked */
  CHECK(!run_settled(&r));
  REQUIRE(pthread_join(u.tid, NULL) == 0);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK(r.started);
  run_stop(&r);
}

/* The end of the hang, from the loop, after 3 s: should the close wait
 * for the stuck look, this is what ends it. */
struct late_unhang {
  uv_timer_t timer;
  int fd;
  const char *dir;
};

static void late_unhang_on_timer(uv_timer_t *t)
{
  struct late_unhang *l = container_of(t, struct late_unhang, timer);

  fusehang_end(l->fd, l->dir);
  l->fd = -1;
}

/* A watch closed while its root check hangs (the daemon's SIGTERM, the
 * mount table changed under a root that hangs): nothing keeps the loop
 * running once its handles are closed. */
static void test_close_while_root_check_hangs_ends_the_loop(void)
{
  struct late_unhang l;
  uint64_t t0;
  struct run r;

  if (!run_init_settled(&r))
    return;
  l.fd = fusehang_mount(r.root); /* a mount change: a root check */
  if (l.fd < 0) {
    CHECK(fusehang_refused(l.fd));
    run_stop(&r);
    return;
  }
  l.dir = r.root;
  CHECK(!run_until(&r, run_never, 100));
  CHECK(fusehang_wait_stuck(2000));
  CHECK_EQ_INT(uv_timer_init(&r.loop, &l.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&l.timer, late_unhang_on_timer, 3000, 0), 0);
  uv_unref((uv_handle_t *)&l.timer);
  t0 = uv_hrtime();
  watch_close(r.w, NULL, NULL);
  r.w = NULL;
  uv_close((uv_handle_t *)&r.lag.timer, NULL);
  uv_close((uv_handle_t *)&r.timer, NULL);
  CHECK_EQ_INT(uv_run(&r.loop, UV_RUN_DEFAULT), 0);
  CHECK(ms_since(t0) < 1500); /* before: 3 s, the hang's end */
  fusehang_end(l.fd, l.dir);
  uv_close((uv_handle_t *)&l.timer, NULL);
  CHECK_EQ_INT(uv_run(&r.loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&r.loop), 0);
  strlist_free(&r.seen);
  test_rmtree(r.tmp);
}

/* Lowers the soft limit on open files to what is open now: the next
 * fd the process asks for fails with EMFILE.  The old limit is kept in
 * *old for run_fds_back. */
static bool run_fds_out(struct rlimit *old)
{
  struct rlimit lim;
  int fd = dup(0);

  if (fd < 0 || getrlimit(RLIMIT_NOFILE, old) != 0)
    return false;
  (void)close(fd); /* the lowest free fd: none below it is free */
  lim = *old;
  lim.rlim_cur = (rlim_t)fd;
  return setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

/* A root check that cannot send its look to the stat thread (no fd
 * left for the probe's copy of the inotify fd, as out of memory) must
 * not look from the loop: the root hangs.  Before, the check looked
 * there, and the loop waited for the hang's end, 3 s later. */
static void test_root_check_without_fds_holds_no_loop(void)
{
  struct unhang u = {0};
  struct rlimit old;
  struct run r;

  if (!run_init_settled(&r))
    return;
  u.fd = fusehang_mount(r.root); /* a mount change: a root check */
  if (u.fd < 0) {
    CHECK(fusehang_refused(u.fd));
    run_stop(&r);
    return;
  }
  u.ms = 3000;
  u.dir = r.root;
  REQUIRE(run_fds_out(&old));
  REQUIRE(pthread_create(&u.tid, NULL, unhang_main, &u) == 0);
  lag_reset(&r);
  CHECK(!run_until(&r, run_never, 1500));
  CHECK(r.lag.max_gap_ns < 1000 * 1000000ull); /* the loop ticked */
  REQUIRE(setrlimit(RLIMIT_NOFILE, &old) == 0);
  REQUIRE(pthread_join(u.tid, NULL) == 0);
  CHECK(run_until(&r, run_settled, 5000)); /* the check is sent again */
  run_stop(&r);
}

/* Each case alone (test.h): a case mounts a FUSE file system that
 * hangs, and a thread may stay stuck on it until the case ends. */
TEST_MAIN_ALONE(TEST(test_start_on_a_hung_root_holds_no_loop),
                TEST(test_close_while_root_check_hangs_ends_the_loop),
                TEST(test_root_check_without_fds_holds_no_loop))
