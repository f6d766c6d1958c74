/* SPDX-License-Identifier: MIT */
/* The watch never lists a directory on the loop thread (issue 13): a
 * subtree moved in, and the rescan after a queue overflow, are walked on
 * the thread pool while the loop keeps its timers.  Observed from the
 * outside: the loop's busy time (looplag.h: time outside its poll, so a
 * loaded machine's scheduling delays do not count) while the watch
 * follows a 20k-file, 4k-directory tree, against what listing that tree
 * costs on this machine, measured in the same test.  Both are counted in
 * the thread's CPU time: on a loaded machine the scheduler may keep any
 * thread off a core for tens of ms, which is no work the loop did (the
 * wall-clock figures are printed too). */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <time.h>
#include <uv.h>

#include "mountns.h"
#include "strlist.h"
#include "test.h"
#include "tree.h"
#include "watch.h"

#define GROUPS         80
#define DIRS_PER_GROUP 50
#define FILES_PER_DIR  5
/* The tree's directories: its top, the groups, the leaves. */
#define TREE_DIRS (1 + GROUPS + GROUPS * DIRS_PER_GROUP)

/* A 1 ms timer: the most CPU time the loop thread spent between two of
 * its ticks, and the most wall time between them. */
struct lag {
  uv_timer_t timer;
  uint64_t last_cpu_ns;
  uint64_t last_ns;
  uint64_t max_cpu_ns;
  uint64_t max_gap_ns;
};

struct run {
  struct lag lag;
  uv_loop_t loop;
  uv_timer_t timer;
  struct watch *w;
  struct strlist seen;                /* reported paths; "*" for a rescan */
  bool late[GROUPS * DIRS_PER_GROUP]; /* big/gNN/dNN/late.html seen */
  size_t n_late;
  char tmp[4096];
  char root[4200];
};

static void run_on_event(struct watch *w, const char *rel, void *arg)
{
  struct run *r = arg;

  char tail[16];
  int g;
  int d;

  (void)w;
  CHECK_EQ_INT(strlist_push(&r->seen, rel ? rel : "*"), 0);
  if (rel != NULL && sscanf(rel, "big/g%d/d%d/%15s", &g, &d, tail) == 3 &&
      strcmp(tail, "late.html") == 0 && g >= 0 && g < GROUPS && d >= 0 &&
      d < DIRS_PER_GROUP && !r->late[g * DIRS_PER_GROUP + d]) {
    r->late[g * DIRS_PER_GROUP + d] = true;
    r->n_late++;
  }
}

static uint64_t thread_cpu_ns(void)
{
  struct timespec ts;

  REQUIRE(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lag_on_tick(uv_timer_t *t)
{
  struct lag *l = (struct lag *)(void *)t;
  uint64_t cpu = thread_cpu_ns();
  uint64_t now = uv_hrtime();

  if (cpu - l->last_cpu_ns > l->max_cpu_ns)
    l->max_cpu_ns = cpu - l->last_cpu_ns;
  if (now - l->last_ns > l->max_gap_ns)
    l->max_gap_ns = now - l->last_ns;
  l->last_cpu_ns = cpu;
  l->last_ns = now;
}

/* Starts measuring afresh: what the test did outside the loop (making
 * changes) is no time the loop was busy. */
static void lag_reset(struct run *r)
{
  r->lag.max_cpu_ns = 0;
  r->lag.max_gap_ns = 0;
  r->lag.last_cpu_ns = thread_cpu_ns();
  r->lag.last_ns = uv_hrtime();
}

static void run_on_timer(uv_timer_t *t)
{
  uv_stop(t->loop);
}

/* Runs the loop for up to ms, or until done(r) holds. */
static bool run_until(struct run *r, bool (*done)(const struct run *r),
                      uint64_t ms)
{
  uint64_t end;

  uv_update_time(&r->loop); /* the test may have been busy meanwhile */
  end = uv_now(&r->loop) + ms;
  while (!done(r) && uv_now(&r->loop) < end) {
    CHECK_EQ_INT(uv_timer_start(&r->timer, run_on_timer, 20, 0), 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  }
  return done(r);
}

static void run_init(struct run *r)
{
  memset(r, 0, sizeof(*r));
  strlist_init(&r->seen);
  test_tmpdir(r->tmp, sizeof(r->tmp));
  snprintf(r->root, sizeof(r->root), "%s/public", r->tmp);
  CHECK_EQ_INT(mkdir(r->root, 0755), 0);
  CHECK_EQ_INT(uv_loop_init(&r->loop), 0);
  CHECK_EQ_INT(uv_timer_init(&r->loop, &r->lag.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&r->lag.timer, lag_on_tick, 1, 1), 0);
  CHECK_EQ_INT(uv_timer_init(&r->loop, &r->timer), 0);
}

static void run_watch(struct run *r)
{
  struct watch_opts o = {0};
  struct cfw_err err;

  o.root = r->root;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
}

static void run_stop(struct run *r)
{
  watch_close(r->w, NULL, NULL);
  uv_close((uv_handle_t *)&r->lag.timer, NULL);
  uv_close((uv_handle_t *)&r->timer, NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  CHECK_EQ_INT(uv_loop_close(&r->loop), 0);
  strlist_free(&r->seen);
  test_rmtree(r->tmp);
}

/* dir/gNN/dNN/fN.html: GROUPS * DIRS_PER_GROUP * FILES_PER_DIR files. */
static void make_tree(const char *dir)
{
  char rel[64];
  int g;
  int d;
  int f;

  CHECK_EQ_INT(mkdir(dir, 0755), 0);
  for (g = 0; g < GROUPS; g++)
    for (d = 0; d < DIRS_PER_GROUP; d++)
      for (f = 0; f < FILES_PER_DIR; f++) {
        snprintf(rel, sizeof(rel), "g%02d/d%02d/f%d.html", g, d, f);
        test_write(dir, rel, "x");
      }
}

/* Lists dir and everything below it as the watch used to on the loop
 * thread: an inotify watch on each directory (on fd), then opendir,
 * readdir, recursion into subdirectories.  Returns the entries seen. */
static size_t list_tree(int fd, const char *dir)
{
  char sub[8192];
  struct dirent *de;
  size_t n = 0;
  DIR *d;

  REQUIRE(inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE | IN_ONLYDIR) > 0);
  d = opendir(dir);
  REQUIRE(d != NULL);
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    n++;
    if (de->d_type == DT_DIR) {
      REQUIRE(snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) <
              (int)sizeof(sub));
      n += list_tree(fd, sub);
    }
  }
  REQUIRE(closedir(d) == 0);
  return n;
}

/* What the watch's listing of dir costs here and now, in ns: the best of
 * three, the first one warming the caches as the watch finds them (the
 * tree was just written). */
static uint64_t listing_ns(const char *dir)
{
  uint64_t best = UINT64_MAX;
  uint64_t t;
  int fd;
  int i;

  for (i = 0; i < 3; i++) {
    fd = inotify_init1(IN_CLOEXEC);
    REQUIRE(fd >= 0);
    t = thread_cpu_ns();
    CHECK_EQ_INT(list_tree(fd, dir),
                 TREE_DIRS - 1 + GROUPS * DIRS_PER_GROUP * FILES_PER_DIR);
    t = thread_cpu_ns() - t;
    REQUIRE(close(fd) == 0);
    best = t < best ? t : best;
  }
  return best;
}

/* The loop's worst busy stretch since the last call, against a third of
 * the listing's own time: the loop thread did not list the tree. */
static void check_loop_free(struct run *r, uint64_t list_ns, const char *what)
{
  fprintf(stderr,
          "%s: listing the tree takes %.1f ms of CPU; the loop thread "
          "took at most %.1f ms of CPU between two 1 ms ticks (%.1f ms "
          "of wall time)\n",
          what, (double)list_ns / 1e6, (double)r->lag.max_cpu_ns / 1e6,
          (double)r->lag.max_gap_ns / 1e6);
  CHECK(r->lag.max_cpu_ns < list_ns / 3);
}

static bool saw_big(const struct run *r)
{
  return strlist_contains(&r->seen, "big");
}

static bool saw_rescan(const struct run *r)
{
  return strlist_contains(&r->seen, "*");
}

static bool saw_late(const struct run *r)
{
  return strlist_contains(&r->seen, "late/y.html");
}

static bool saw_all_late(const struct run *r)
{
  return r->n_late == GROUPS;
}

/* In a child process, while the watch walks the subtree at dir: a new
 * file in a leaf directory of every group, the last group first, so
 * that some land where the walk has been (an event for a watch the map
 * does not hold yet) and some where it has not (the walk finds them).
 * One a group: their events are no listing, and stay cheap to run. */
static pid_t write_late(const char *dir)
{
  char rel[64];
  pid_t pid = fork();
  int g;

  REQUIRE(pid >= 0);
  if (pid > 0)
    return pid;
  for (g = GROUPS - 1; g >= 0; g--) {
    snprintf(rel, sizeof(rel), "g%02d/d%02d/late.html", g, g % DIRS_PER_GROUP);
    test_write(dir, rel, "late");
  }
  _exit(0);
}

static bool saw_deep(const struct run *r)
{
  return strlist_contains(&r->seen, "big/g79/d49/new.html");
}

static bool watch_is_settled(const struct run *r)
{
  return watch_settled(r->w);
}

static bool tree_watched(const struct run *r)
{
  return watch_dir_count(r->w) == 1 + TREE_DIRS;
}

static int str_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every file of the tree under prefix was reported, each once at least. */
static void check_files_reported(struct run *r, const char *prefix)
{
  char rel[128];
  int g;
  int d;
  int f;

  strlist_sort_unique(&r->seen);
  for (g = 0; g < GROUPS; g++)
    for (d = 0; d < DIRS_PER_GROUP; d++)
      for (f = 0; f < FILES_PER_DIR; f++) {
        snprintf(rel, sizeof(rel), "%s/g%02d/d%02d/f%d.html", prefix, g, d, f);
        if (bsearch(&(const char *){rel}, r->seen.v, r->seen.n,
                    sizeof(*r->seen.v), str_cmp) == NULL) {
          CHECK_EQ_STR(rel, "(reported)");
          return;
        }
      }
}

static void test_subtree_moved_in_is_listed_off_the_loop(void)
{
  char from[8192];
  char to[8192];
  uint64_t list_ns;
  struct run r;
  int status;
  pid_t pid;

  run_init(&r);
  snprintf(from, sizeof(from), "%s/big", r.tmp);
  snprintf(to, sizeof(to), "%s/big", r.root);
  make_tree(from);
  list_ns = listing_ns(from);
  run_watch(&r);
  CHECK(run_until(&r, watch_is_settled, 5000));
  lag_reset(&r);
  /* One rename: one event brings the whole subtree.  Files are written
   * into it while it is walked. */
  CHECK_EQ_INT(rename(from, to), 0);
  pid = write_late(to);
  CHECK(run_until(&r, saw_big, 60000));
  check_loop_free(&r, list_ns, "moved in");
  CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* Each one was reported (found by the walk, or its event run once
   * the walk's watches were in), and none asked for a rescan. */
  CHECK(run_until(&r, saw_all_late, 10000));
  CHECK_EQ_INT(r.n_late, GROUPS);
  CHECK_EQ_INT(watch_dir_count(r.w), 1 + TREE_DIRS);
  CHECK(!strlist_contains(&r.seen, "*"));
  check_files_reported(&r, "big");
  /* The deepest directories are watched. */
  test_write(r.root, "big/g79/d49/new.html", "n");
  CHECK(run_until(&r, saw_deep, 5000));
  run_stop(&r);
}

/* Fills the watch's inotify queue while the loop does not read it:
 * names made and removed beside the root, in its parent, which the
 * watch follows for the root's own name.  Creates and deletes alternate,
 * since the kernel merges an event with an identical one at the queue's
 * tail.  False if the queue is too long to fill in a test. */
static bool overflow(const struct run *r)
{
  char noise[8192];
  long limit = 0;
  long i;
  FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");

  if (f == NULL || fscanf(f, "%ld", &limit) != 1 || limit > 1000000) {
    fprintf(stderr, "skipped: cannot overflow an inotify queue of %ld\n",
            limit);
    if (f != NULL)
      (void)fclose(f);
    return false;
  }
  (void)fclose(f);
  snprintf(noise, sizeof(noise), "%s/noise", r->tmp);
  for (i = 0; i < limit / 2 + 100; i++) {
    test_write(r->tmp, "noise", "");
    CHECK_EQ_INT(unlink(noise), 0);
  }
  return true;
}

static void test_rescan_after_overflow_is_listed_off_the_loop(void)
{
  char top[8192];
  uint64_t list_ns;
  struct run r;

  run_init(&r);
  snprintf(top, sizeof(top), "%s/big", r.root);
  make_tree(top);
  list_ns = listing_ns(top);
  run_watch(&r);
  CHECK(run_until(&r, tree_watched, 30000));
  CHECK(!run_until(&r, saw_rescan, 100)); /* nothing to report yet */
  if (!overflow(&r)) {
    run_stop(&r);
    return;
  }
  /* Made while the queue drops every event: only the rescan sees it. */
  test_write(r.root, "late/x.html", "x");
  lag_reset(&r);
  CHECK(run_until(&r, saw_rescan, 60000));
  check_loop_free(&r, list_ns, "rescan");
  CHECK_EQ_INT(watch_dir_count(r.w), 2 + TREE_DIRS);
  /* The directory made meanwhile is watched now. */
  test_write(r.root, "late/y.html", "y");
  CHECK(run_until(&r, saw_late, 5000));
  run_stop(&r);
}

static bool never(const struct run *r)
{
  (void)r;
  return false;
}

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
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
  seed = watch_deferred(r->w);
  REQUIRE(seed != NULL);
  /* The loop runs while the daemon's scan does: the mount table's fd is
   * in the loop's epoll set (its first poll takes a change already
   * made as seen, with nothing to report). */
  CHECK(!run_until(r, never, 20));
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
  int rc;

  run_init(&r);
  rc = test_private_mounts();
  if (rc != 0) {
    CHECK(test_mount_refused(rc));
    run_stop(&r);
    return;
  }
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
  CHECK(!run_until(&r, never, 50));
  seed->done(seed->ctx, 0);
  CHECK(run_until(&r, watch_is_settled, 5000));
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
  int rc;

  run_init(&r);
  rc = test_private_mounts(); /* before the pool's thread starts */
  if (rc != 0) {
    CHECK(test_mount_refused(rc));
    run_stop(&r);
    return;
  }
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  REQUIRE(setenv("UV_THREADPOOL_SIZE", "1", 1) == 0);
  CHECK_EQ_INT(uv_sem_init(&b.go, 0), 0);
  b.req.data = &b;
  CHECK_EQ_INT(uv_queue_work(&r.loop, &b.req, blocker_on_work, blocker_on_done),
               0);
  run_watch(&r);
  CHECK(!run_until(&r, never, 20)); /* the mount table's fd polled */
  remount_elsewhere(&r);
  CHECK(!run_until(&r, watch_is_settled, 50)); /* the walk waits */
  uv_sem_post(&b.go);
  CHECK(run_until(&r, watch_is_settled, 5000));
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
  int rc;

  run_init(&r);
  rc = test_private_mounts();
  if (rc != 0) {
    CHECK(test_mount_refused(rc));
    run_stop(&r);
    return;
  }
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  seed = start_up_walk(&r);
  snprintf(old, sizeof(old), "%s/old", r.tmp);
  CHECK_EQ_INT(rename(r.root, old), 0);
  CHECK_EQ_INT(mkdir(r.root, 0755), 0);
  test_write(r.root, "new.html", "n");
  test_write(old, "sub/y.html", "y"); /* on the walk's watch of sub */
  remount_elsewhere(&r);
  CHECK(!run_until(&r, never, 50));
  seed->done(seed->ctx, 0);
  CHECK(run_until(&r, watch_is_settled, 5000));
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

static void close_on_file(struct watch *w, const char *rel, void *arg)
{
  bool *closed = arg;

  if (rel != NULL && strncmp(rel, "sub/", 4) == 0 && !*closed) {
    *closed = true;
    watch_close(w, NULL, NULL);
  }
}

/* The consumer closes the watch from a report of a walk being taken in:
 * the walk's findings are dropped with it, and nothing is left behind
 * (ASan sees a use after free; the loop closes). */
static void test_close_from_a_walk_report(void)
{
  struct watch_opts o = {0};
  struct cfw_err err;
  char tmp[4096];
  char root[4200];
  char from[8192];
  char to[8192];
  struct watch *w;
  uv_loop_t loop;
  bool closed = false;
  int i;

  test_tmpdir(tmp, sizeof(tmp));
  snprintf(root, sizeof(root), "%s/public", tmp);
  CHECK_EQ_INT(mkdir(root, 0755), 0);
  for (i = 0; i < 600; i++) { /* more than a slice */
    snprintf(from, sizeof(from), "sub/f%d.html", i);
    test_write(tmp, from, "x");
  }
  snprintf(from, sizeof(from), "%s/sub", tmp);
  snprintf(to, sizeof(to), "%s/sub", root);
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  o.root = root;
  CHECK_EQ_INT(watch_start(&w, &loop, &o, close_on_file, &closed, &err), 0);
  while (!watch_settled(w))
    CHECK(uv_run(&loop, UV_RUN_ONCE) != 0);
  CHECK_EQ_INT(rename(from, to), 0);
  uv_run(&loop, UV_RUN_DEFAULT); /* ends once the watch is closed */
  CHECK(closed);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  test_rmtree(tmp);
}

TEST_MAIN(TEST(test_close_from_a_walk_report),
          TEST(test_root_check_while_start_up_walk_is_taken_in),
          TEST(test_start_up_walk_of_a_replaced_root_is_dropped),
          TEST(test_root_check_while_root_walk_is_queued),
          TEST(test_subtree_moved_in_is_listed_off_the_loop),
          TEST(test_rescan_after_overflow_is_listed_off_the_loop))
