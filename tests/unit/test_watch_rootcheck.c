/* SPDX-License-Identifier: MIT */
/* The root while the watch's walks run (watch_walk.c): until the
 * root's own walk is in, its watch (root_wd) is not there yet, and a
 * root check meanwhile must find the root being walked, not a lost or a
 * replaced one; a walk of a root that was replaced meanwhile is dropped
 * whole, its queued events with it.  The root check comes from the
 * mount table (/proc/self/mountinfo polled), the one thing the watch
 * reads while a walk runs: each case changes it in a private mount
 * namespace, so the check lands in the window every time.  And the
 * mount table's first reading, which must not swallow a mount made
 * before it; and a root that could not be watched (out of inotify
 * watches, in a user namespace of the case's own), which is no new
 * root at each change.  Skipped where mounting is not permitted.
 *
 * Nothing else mounts in the namespace, but the mounts it copied from
 * the host's go when their mount points are removed there (another
 * program's temporary mounts): an extra root check, which these cases
 * allow, and which could hide the swallowed mount before its fix. */
#include <stdbool.h>
#include <stdio.h>
#include <sys/mount.h>
#include <uv.h>

#include "mountns.h"
#include "strlist.h"
#include "test.h"
#include "tree.h"
#include "util.h"
#include "watch.h"
#include "watchns.h"
#include "watchrun.h"

static bool saw_twin(const struct run *r)
{
  return strlist_contains(&r->seen, "b/twin.html");
}

/* Changes the mount table, where the case alone sees it: the watch's
 * poll of /proc/self/mountinfo fires, and it looks at its root again.
 * In CI, other tests' mounts did this at any time. */
static void remount_elsewhere(struct run *r)
{
  char other[8192];

  snprintf(other, sizeof(other), "%s/other", r->tmp);
  if (mkdir(other, 0755) != 0)
    CHECK_EQ_INT(errno, EEXIST);
  CHECK_EQ_INT(mount("cfwtest", other, "tmpfs", 0, NULL), 0);
  CHECK_EQ_INT(umount(other), 0);
}

/* Starts a watch as the daemon does: its start-up walk is the caller's
 * (watch_deferred), done here on the test's thread.  Returns the
 * visitor, whose done the test calls when it chooses. */
static const struct tree_visit *start_up_walk(struct run *r)
{
  struct tree_walk_opts wo = {0};
  const struct tree_visit *seed;
  struct watch_opts o = {0};
  struct cfw_err err;
  struct tree t;

  o.root = r->root;
  o.deferred = true;
  o.started = run_on_started;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
  CHECK(run_until(r, run_started, 5000));
  seed = watch_deferred(r->w);
  REQUIRE(seed != NULL);
  /* The loop runs while the daemon's scan does: the mount table's fd is
   * in the loop's epoll set (its first poll takes a change already
   * made as seen, with nothing to report). */
  CHECK(!run_until(r, run_never, 20));
  wo.visit = seed;
  CHECK_EQ_INT(tree_walk(&t, r->root, &wo, &err), 0);
  tree_free(&t);
  return seed;
}

/* The daemon's start-up, while the mount table changes: the root check
 * that waited for the start-up walk comes when the walk's watches are
 * handed over but not yet taken in (the root's own among them): the
 * root is the one being taken in, not a replacement.  It was taken for
 * one (a second walk, a rescan, a new generation that made the daemon
 * drop its first scan as "gone or replaced", and the edit after start-up
 * went into a baseline unsent: e2e/test_watch_edges, once in CI while
 * another test mounted). */
static void test_root_check_while_start_up_walk_is_taken_in(void)
{
  const struct tree_visit *seed;
  char a[8192];
  char b[8192];
  struct run r;

  if (!run_init_mounts(&r))
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "c.html", "c");
  snprintf(a, sizeof(a), "%s/a.html", r.root);
  snprintf(b, sizeof(b), "%s/b", r.root);
  CHECK_EQ_INT(mkdir(b, 0755), 0);
  snprintf(b, sizeof(b), "%s/b/twin.html", r.root);
  CHECK_EQ_INT(link(a, b), 0); /* one inode, two names */
  seed = start_up_walk(&r);
  remount_elsewhere(&r);
  /* The poll fires at once; the root check waits for the walk's end. */
  CHECK(!run_until(&r, run_never, 50));
  seed->done(seed->ctx, 0);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  CHECK_EQ_INT(watch_listed_count(r.w), 0); /* the walk's watches taken */
  CHECK_EQ_INT(watch_dir_count(r.w), 2);
  CHECK(!strlist_contains(&r.seen, "*"));
  /* The mount table changes again once all is in: nothing to follow. */
  remount_elsewhere(&r);
  test_write(r.root, "a.html", "a2"); /* in place: both names */
  CHECK(run_until(&r, saw_twin, 5000));
  CHECK(strlist_contains(&r.seen, "a.html"));
  CHECK(!strlist_contains(&r.seen, "*"));
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  run_stop(&r);
}

/* A job that holds the pool's only thread until go is posted. */
struct blocker {
  uv_work_t req;
  uv_sem_t go;
};

static void blocker_on_work(uv_work_t *req)
{
  struct blocker *b = req->data;

  uv_sem_wait(&b->go);
}

static void blocker_on_done(uv_work_t *req, int status)
{
  (void)req;
  CHECK_EQ_INT(status, 0);
}

static bool saw_sub_x(const struct run *r)
{
  return strlist_contains(&r->seen, "sub/x.html");
}

/* A watch of its own (no start-up walk): the root's walk waits for the
 * pool's one thread, and the mount table changes meanwhile.  The root
 * check finds the root being walked: no new root, no second walk. */
static void test_root_check_while_root_walk_is_queued(void)
{
  struct blocker b;
  struct run r;

  if (!run_init_mounts(&r)) /* before the pool's thread starts */
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  REQUIRE(setenv("UV_THREADPOOL_SIZE", "1", 1) == 0);
  CHECK_EQ_INT(uv_sem_init(&b.go, 0), 0);
  b.req.data = &b;
  CHECK_EQ_INT(uv_queue_work(&r.loop, &b.req, blocker_on_work, blocker_on_done),
               0);
  run_watch(&r);
  CHECK(!run_until(&r, run_never, 20)); /* the mount table's fd polled */
  remount_elsewhere(&r);
  CHECK(!run_until(&r, run_settled, 50)); /* the walk waits */
  uv_sem_post(&b.go);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  CHECK_EQ_INT(watch_listed_count(r.w), 2);
  CHECK_EQ_INT(watch_dir_count(r.w), 2);
  CHECK(!strlist_contains(&r.seen, "*"));
  test_write(r.root, "sub/x.html", "x2");
  CHECK(run_until(&r, saw_sub_x, 5000));
  CHECK(!strlist_contains(&r.seen, "*"));
  run_stop(&r);
  uv_sem_destroy(&b.go);
}

static bool saw_b(const struct run *r)
{
  return strlist_contains(&r->seen, "b.html");
}

static size_t count_seen(const struct run *r, const char *rel)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < r->seen.n; i++)
    n += strcmp(r->seen.v[i], rel) == 0;
  return n;
}

/* The start-up walk read a root that is replaced before its end (moved
 * away, a new one made at its path), and the mount table changes
 * meanwhile: the root check that waited for the walk finds the new root
 * and takes it.  The walk's watches, on the old root, are dropped by
 * generation; the events already queued on them (the old root moved, a
 * file written in it) are stale, not events for an unknown watch that
 * ask for a second walk and a second rescan of everything. */
static void test_start_up_walk_of_a_replaced_root_is_dropped(void)
{
  const struct tree_visit *seed;
  char old[8192];
  struct run r;

  if (!run_init_mounts(&r))
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  seed = start_up_walk(&r);
  snprintf(old, sizeof(old), "%s/old", r.tmp);
  CHECK_EQ_INT(rename(r.root, old), 0);
  CHECK_EQ_INT(mkdir(r.root, 0755), 0);
  test_write(r.root, "new.html", "n");
  test_write(old, "sub/y.html", "y"); /* on the walk's watch of sub */
  remount_elsewhere(&r);
  CHECK(!run_until(&r, run_never, 50));
  seed->done(seed->ctx, 0);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK_EQ_INT(watch_root_gen(r.w), 2);
  /* Queued after every stale event: once it is seen, all were run. */
  test_write(r.root, "b.html", "b");
  CHECK(run_until(&r, saw_b, 5000));
  CHECK_EQ_INT(watch_dir_count(r.w), 1);
  CHECK_EQ_INT(watch_listed_count(r.w), 1); /* the new root, once */
  CHECK_EQ_INT(count_seen(&r, "*"), 1);     /* its rescan */
  CHECK(!strlist_contains(&r.seen, "sub/y.html"));
  CHECK_EQ_INT(watch_root_gen(r.w), 2);
  run_stop(&r);
}

static bool took_new_root(const struct run *r)
{
  return r->w != NULL && watch_root_gen(r->w) == 2 && watch_settled(r->w);
}

static bool saw_c(const struct run *r)
{
  return strlist_contains(&r->seen, "c.html");
}

/* The start-up walk, done at once as the watch has looked at the root
 * (run->on_started). */
static void walk_seed(struct run *r)
{
  const struct tree_visit *seed = watch_deferred(r->w);
  struct tree_walk_opts wo = {0};
  struct cfw_err err;
  struct tree t;

  REQUIRE(seed != NULL);
  wo.visit = seed;
  CHECK_EQ_INT(tree_walk(&t, r->root, &wo, &err), 0);
  tree_free(&t);
  seed->done(seed->ctx, 0);
}

/* Starts a watch as the daemon does; its start-up walk is over as soon
 * as the watch has looked at the root. */
static void start_deferred(struct run *r)
{
  struct watch_opts o = {0};
  struct cfw_err err;

  o.root = r->root;
  o.deferred = true;
  o.started = run_on_started;
  if (r->on_started == NULL)
    r->on_started = walk_seed;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
}

static void start_walked(struct run *r)
{
  start_deferred(r);
  CHECK(run_until(r, run_started, 5000));
}

/* A file system, with a file in it, mounted onto the root. */
static void mount_root(struct run *r)
{
  CHECK_EQ_INT(mount("cfwtest", r->root, "tmpfs", 0, NULL), 0);
  test_write(r->root, "b.html", "b");
}

/* The mounted root is followed: taken as a new root, rescanned, and an
 * edit in it seen. */
static void check_mounted_root_followed(struct run *r)
{
  CHECK(run_until(r, took_new_root, 5000));
  CHECK(strlist_contains(&r->seen, "*")); /* the new root, rescanned */
  test_write(r->root, "c.html", "c");
  CHECK(run_until(r, saw_c, 5000));
  CHECK_EQ_INT(umount(r->root), 0);
}

/* A file system mounted onto the root after watch_start's look at it,
 * before the loop's first turn.  The loop adds the mount table's fd to
 * its poll set in that turn, and the kernel takes every change since
 * the open as seen then, with nothing to report: the mount went
 * unnoticed (until the mount table changed again), the covered
 * directory stayed watched, and edits in the mounted tree were never
 * seen.  The start-up walk is over before the mount: only the mount
 * table can tell. */
static void test_mount_onto_root_before_first_loop_turn_is_followed(void)
{
  struct run r;

  if (!run_init_mounts(&r))
    return;
  test_write(r.root, "a.html", "a");
  start_walked(&r);
  mount_root(&r);
  check_mounted_root_followed(&r);
  run_stop(&r);
}

/* A watch started from a callback of the loop's poll phase (a consumer
 * that starts one when a job ends), and the mount made in the next
 * turn's prepare phase: the last moment before the poll phase that adds
 * the mount table's fd, after that turn's idle handles ran. */
struct late_mount {
  struct run r;
  uv_async_t async;
  uv_prepare_t prepare;
};

static void on_prepare_mount(uv_prepare_t *p)
{
  struct late_mount *lm = container_of(p, struct late_mount, prepare);

  mount_root(&lm->r);
  uv_close((uv_handle_t *)p, NULL);
}

/* The walk, then the mount in the next turn's prepare phase. */
static void on_started_mount_later(struct run *r)
{
  struct late_mount *lm = container_of(r, struct late_mount, r);

  walk_seed(r);
  CHECK_EQ_INT(uv_prepare_init(&r->loop, &lm->prepare), 0);
  CHECK_EQ_INT(uv_prepare_start(&lm->prepare, on_prepare_mount), 0);
}

static void on_async_start(uv_async_t *a)
{
  struct late_mount *lm = container_of(a, struct late_mount, async);

  lm->r.on_started = on_started_mount_later;
  start_deferred(&lm->r);
  uv_close((uv_handle_t *)a, NULL);
}

static void test_mount_onto_root_of_watch_started_in_poll_phase(void)
{
  struct late_mount lm;

  if (!run_init_mounts(&lm.r))
    return;
  test_write(lm.r.root, "a.html", "a");
  CHECK_EQ_INT(uv_async_init(&lm.r.loop, &lm.async, on_async_start), 0);
  CHECK_EQ_INT(uv_async_send(&lm.async), 0);
  check_mounted_root_followed(&lm.r);
  run_stop(&lm.r);
}

/* A watch of its own walks, rescanning every rescan_ms where it cannot
 * watch. */
static void run_watch_rescans(struct run *r, uint64_t rescan_ms)
{
  struct watch_opts o = {0};
  struct cfw_err err;

  o.root = r->root;
  o.fallback_rescan_ms = rescan_ms;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
}

/* Out of inotify watches, the root's own watch cannot be added: the
 * parent's takes the only one.  Periodic rescans cover the root (none
 * in this case: a minute apart).  The mount table changes meanwhile,
 * as it does on a busy host: the root is the same directory, not a
 * replaced one.  It was taken for one at every change (a new
 * generation, which makes the daemon drop the scan it runs as one of a
 * gone root, a walk of the whole tree and a rescan of it). */
static void test_root_out_of_watches_is_no_new_root_at_mount_change(void)
{
  int i;
  struct run r;

  if (!run_init_watches(&r, 1))
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  run_watch_rescans(&r, 60000);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK_EQ_INT(watch_dir_count(r.w), 0); /* no watch for the root */
  for (i = 0; i < 3; i++) {
    remount_elsewhere(&r);
    CHECK(!run_until(&r, run_never, 100)); /* the poll fires at once */
    CHECK(run_settled(&r));
  }
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  CHECK(watch_root_present(r.w));
  CHECK_EQ_INT(watch_listed_count(r.w), 0); /* its walk, once */
  CHECK(!strlist_contains(&r.seen, "*"));
  run_stop(&r);
}

static bool saw_star(const struct run *r)
{
  return strlist_contains(&r->seen, "*");
}

static bool root_watched(const struct run *r)
{
  return watch_dir_count(r->w) == 2 && watch_settled(r->w);
}

/* While the root cannot be watched, nothing is lost: the periodic
 * rescans cover it.  Each of them tries the root's watch again; once
 * watches are free, the tree is watched (the same root, the same
 * generation) and an edit is seen by its own path.  The watch stayed
 * without one until a mount change happened to take the root again. */
static void test_root_out_of_watches_is_rescanned_and_retried(void)
{
  struct run r;

  if (!run_init_watches(&r, 1))
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  run_watch_rescans(&r, 50);
  CHECK(run_until(&r, saw_star, 5000)); /* a rescan */
  CHECK_EQ_INT(watch_dir_count(r.w), 0);
  CHECK_EQ_INT(test_max_watches(100), 0);
  CHECK(run_until(&r, root_watched, 5000));
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  test_write(r.root, "sub/x.html", "x2");
  CHECK(run_until(&r, saw_sub_x, 5000));
  run_stop(&r);
}

/* Each case alone (test.h): a case enters namespaces, which needs a process
 * with no thread yet, and sizes the thread pool through the environment. */
TEST_MAIN_ALONE(TEST(test_root_check_while_start_up_walk_is_taken_in),
                TEST(test_root_check_while_root_walk_is_queued),
                TEST(test_start_up_walk_of_a_replaced_root_is_dropped),
                TEST(test_mount_onto_root_before_first_loop_turn_is_followed),
                TEST(test_mount_onto_root_of_watch_started_in_poll_phase),
                TEST(test_root_out_of_watches_is_no_new_root_at_mount_change),
                TEST(test_root_out_of_watches_is_rescanned_and_retried))
