/* SPDX-License-Identifier: MIT */
/* The watch's looks at the disk that resolve a path, off the loop
 * thread: the root check (realpath(3) and statx of the root, when the
 * mount table changes) and the resolving of the symlinks a walk met.  A
 * root on a slow or hung mount (NFS, FUSE) would hold the loop there.
 *
 * The test binary defines realpath(3) itself (the library's is found
 * with RTLD_NEXT): it counts the calls for a path of the case's, on the
 * loop thread (this one) and on the others, and can hold a root check
 * on another thread as a hung mount would.  The root checks come from
 * the mount table, changed in a private mount namespace (skipped where
 * mounting is not permitted). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <uv.h>

#include "mountns.h"
#include "strlist.h"
#include "test.h"
#include "util.h"
#include "watch.h"
#include "watchns.h"
#include "watchrun.h"

/* What realpath(3) saw, while armed: calls for paths under dir; and
 * inotify_add_watch(2), which looks its path up too. */
static struct {
  char dir[4096];
  pthread_t loop;
  atomic_bool armed;
  atomic_int on_loop;
  atomic_int off_loop;
  atomic_int watch_on_loop;
  atomic_int watch_off_loop;
  atomic_int root_off_loop; /* of the root itself, on another thread */
  /* A root check on another thread waits while hold is set. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool hold;
  bool held; /* one is waiting */
} spy = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static char spy_root[4200];

static bool spy_under(const char *path)
{
  size_t n = strlen(spy.dir);

  return strncmp(path, spy.dir, n) == 0 && (path[n] == '/' || !path[n]);
}

/* A root check on the lstatq thread waits here, as on a hung mount. */
static void spy_wait_if_held(void)
{
  pthread_mutex_lock(&spy.mu);
  while (spy.hold) {
    spy.held = true;
    pthread_cond_broadcast(&spy.cv);
    pthread_cond_wait(&spy.cv, &spy.mu);
  }
  spy.held = false;
  pthread_mutex_unlock(&spy.mu);
}

static void spy_note(const char *path)
{
  if (!atomic_load(&spy.armed) || path == NULL || !spy_under(path))
    return;
  if (pthread_equal(pthread_self(), spy.loop)) {
    atomic_fetch_add(&spy.on_loop, 1);
    return;
  }
  atomic_fetch_add(&spy.off_loop, 1);
  if (strcmp(path, spy_root) == 0) {
    atomic_fetch_add(&spy.root_off_loop, 1);
    spy_wait_if_held();
  }
}

/* Ours, in place of the C library's: the watch's calls come here. */
char *realpath(const char *path, char *resolved)
{
  char *(*next)(const char *, char *);

  spy_note(path);
  /* NOLINTNEXTLINE(bugprone-*): dlsym hands back a function pointer. */
  *(void **)&next = dlsym(RTLD_NEXT, "realpath");
  REQUIRE(next != NULL);
  return next(path, resolved);
}

/* Ours too: a watch added by path, on which thread. */
int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
  int (*next)(int, const char *, uint32_t);

  if (atomic_load(&spy.armed) && spy_under(path))
    atomic_fetch_add(pthread_equal(pthread_self(), spy.loop)
                         ? &spy.watch_on_loop
                         : &spy.watch_off_loop,
                     1);
  /* NOLINTNEXTLINE(bugprone-*): dlsym hands back a function pointer. */
  *(void **)&next = dlsym(RTLD_NEXT, "inotify_add_watch");
  REQUIRE(next != NULL);
  return next(fd, path, mask);
}

static void spy_arm(const struct run *r)
{
  snprintf(spy.dir, sizeof(spy.dir), "%s", r->tmp);
  snprintf(spy_root, sizeof(spy_root), "%s", r->root);
  spy.loop = pthread_self();
  atomic_store(&spy.on_loop, 0);
  atomic_store(&spy.off_loop, 0);
  atomic_store(&spy.root_off_loop, 0);
  atomic_store(&spy.watch_on_loop, 0);
  atomic_store(&spy.watch_off_loop, 0);
  atomic_store(&spy.armed, true);
}

static void spy_hold(bool hold)
{
  pthread_mutex_lock(&spy.mu);
  spy.hold = hold;
  pthread_cond_broadcast(&spy.cv);
  pthread_mutex_unlock(&spy.mu);
}

static bool spy_holding(const struct run *r)
{
  bool held;

  (void)r;
  pthread_mutex_lock(&spy.mu);
  held = spy.held;
  pthread_mutex_unlock(&spy.mu);
  return held;
}

static bool root_looked_at(const struct run *r)
{
  (void)r;
  return atomic_load(&spy.root_off_loop) > 0 || atomic_load(&spy.on_loop) > 0;
}

/* A mount and an unmount elsewhere: the watch looks at its root. */
static void touch_mount_table(const struct run *r)
{
  char other[8192];

  snprintf(other, sizeof(other), "%s/other", r->tmp);
  if (mkdir(other, 0755) != 0)
    CHECK_EQ_INT(errno, EEXIST);
  CHECK_EQ_INT(mount("cfwtest", other, "tmpfs", 0, NULL), 0);
  CHECK_EQ_INT(umount(other), 0);
}

/* A mount change: the root is looked at, on another thread. */
static void test_root_check_at_mount_change_is_off_the_loop(void)
{
  struct run r;

  if (!run_init_settled(&r))
    return;
  spy_arm(&r);
  touch_mount_table(&r);
  CHECK(run_until(&r, root_looked_at, 5000));
  CHECK(!run_until(&r, run_never, 50));
  CHECK_EQ_INT(atomic_load(&spy.on_loop), 0);
  CHECK(atomic_load(&spy.root_off_loop) > 0);
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  CHECK(!strlist_contains(&r.seen, "*"));
  run_stop(&r);
}

static bool took_new_root(const struct run *r)
{
  return watch_root_gen(r->w) == 2 && watch_settled(r->w);
}

static bool saw_c(const struct run *r)
{
  return strlist_contains(&r->seen, "c.html");
}

/* A root check that hangs (a dead NFS server) holds no loop: timers
 * still fire.  A mount onto the root while it hangs is a second mount
 * change: not lost, but looked at once the first check is back. */
static void test_hung_root_check_holds_no_loop_and_loses_no_mount(void)
{
  struct run r;

  if (!run_init_mounts(&r))
    return;
  test_write(r.root, "a.html", "a");
  run_watch(&r);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK(!run_until(&r, run_never, 50));
  spy_arm(&r);
  spy_hold(true);
  touch_mount_table(&r);
  CHECK(run_until(&r, spy_holding, 5000)); /* the check hangs */
  lag_reset(&r);
  CHECK(!run_until(&r, run_never, 300));
  /* The loop ticked all along (1 ms ticks; generous, for a loaded
   * machine): nothing on it waits for the hung check. */
  CHECK(r.lag.max_gap_ns < 1000 * 1000000ull);
  CHECK_EQ_INT(mount("cfwtest", r.root, "tmpfs", 0, NULL), 0);
  test_write(r.root, "b.html", "b");
  touch_mount_table(&r);
  CHECK(!run_until(&r, run_never, 100));
  CHECK_EQ_INT(watch_root_gen(r.w), 1); /* nothing followed yet */
  spy_hold(false);
  CHECK(run_until(&r, took_new_root, 5000));
  CHECK(strlist_contains(&r.seen, "*"));
  test_write(r.root, "c.html", "c");
  CHECK(run_until(&r, saw_c, 5000));
  CHECK_EQ_INT(atomic_load(&spy.on_loop), 0);
  CHECK_EQ_INT(umount(r.root), 0);
  run_stop(&r);
}

static bool saw_link(const struct run *r)
{
  return strlist_contains(&r->seen, "d/l.html") && watch_settled(r->w);
}

static bool saw_link_twice(const struct run *r)
{
  return run_seen_count(r, "d/l.html") >= 2;
}

/* A directory moved in holds a symlink to a file of the tree: the walk
 * that watches it meets the link, which is resolved off the loop, and
 * followed: an edit of its target is reported under its path too. */
static void test_links_a_walk_met_are_resolved_off_the_loop(void)
{
  char dir[8192];
  char link[8300];
  char in[8192];
  struct run r;

  run_init(&r);
  test_write(r.root, "a.html", "a");
  run_watch(&r);
  CHECK(run_until(&r, run_settled, 5000));
  spy_arm(&r);
  snprintf(dir, sizeof(dir), "%s/d", r.tmp);
  CHECK_EQ_INT(mkdir(dir, 0755), 0);
  snprintf(link, sizeof(link), "%s/l.html", dir);
  CHECK_EQ_INT(symlink("../a.html", link), 0);
  snprintf(in, sizeof(in), "%s/d", r.root);
  CHECK_EQ_INT(rename(dir, in), 0);
  CHECK(run_until(&r, saw_link, 5000));
  test_write(r.root, "a.html", "a2");
  CHECK(run_until(&r, saw_link_twice, 5000));
  CHECK_EQ_INT(atomic_load(&spy.on_loop), 0);
  CHECK(atomic_load(&spy.off_loop) > 0); /* not vacuous: it was resolved */
  run_stop(&r);
}

static bool saw_alias(const struct run *r)
{
  return strlist_contains(&r->seen, "alias.html");
}

static bool saw_alias_twice(const struct run *r)
{
  return run_seen_count(r, "alias.html") >= 2;
}

/* Watches added by path look the path up on the disk: the root's
 * parents' (at start: a daemon's SIGHUP starts its watches on the
 * loop) and, for a symlink to a file, the file's directory's (the
 * pin that reports an edit of the file under the link's path).  None
 * is added on the loop thread.  Not vacuous: the pin works. */
static void test_watches_by_path_are_added_off_the_loop(void)
{
  char alias[8192];
  struct run r;

  run_init(&r);
  test_write(r.root, "sub/b.html", "b");
  spy_arm(&r);
  run_watch(&r);
  CHECK(run_until(&r, run_settled, 5000));
  snprintf(alias, sizeof(alias), "%s/alias.html", r.root);
  CHECK_EQ_INT(symlink("sub/b.html", alias), 0);
  CHECK(run_until(&r, saw_alias, 5000));
  test_write(r.root, "sub/b.html", "b2");
  CHECK(run_until(&r, saw_alias_twice, 5000));
  CHECK_EQ_INT(atomic_load(&spy.watch_on_loop), 0);
  CHECK(atomic_load(&spy.watch_off_loop) >= 2); /* a parent, the pin */
  run_stop(&r);
}

/* Each case alone (test.h): a case enters a mount namespace, which needs a
 * process with no thread yet (watchns.h). */
TEST_MAIN_ALONE(TEST(test_root_check_at_mount_change_is_off_the_loop),
                TEST(test_hung_root_check_holds_no_loop_and_loses_no_mount),
                TEST(test_links_a_walk_met_are_resolved_off_the_loop),
                TEST(test_watches_by_path_are_added_off_the_loop))
