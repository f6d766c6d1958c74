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

#include "strlist.h"
#include "test.h"
#include "watch.h"
#include "watchrun.h"

#define GROUPS         80
#define DIRS_PER_GROUP 50
#define FILES_PER_DIR  5
/* The tree's directories: its top, the groups, the leaves. */
#define TREE_DIRS (1 + GROUPS + GROUPS * DIRS_PER_GROUP)

/* The harness (watchrun.h), and what these tests note besides: which
 * big/gNN/dNN/late.html were reported. */
struct walkrun {
  struct run r; /* first: a struct run * is a struct walkrun * */
  bool late[GROUPS * DIRS_PER_GROUP];
  size_t n_late;
};

static void walk_tap(struct run *r, const char *rel)
{
  struct walkrun *wr = (struct walkrun *)(void *)r;
  char tail[16];
  int g;
  int d;

  if (rel != NULL && sscanf(rel, "big/g%d/d%d/%15s", &g, &d, tail) == 3 &&
      strcmp(tail, "late.html") == 0 && g >= 0 && g < GROUPS && d >= 0 &&
      d < DIRS_PER_GROUP && !wr->late[g * DIRS_PER_GROUP + d]) {
    wr->late[g * DIRS_PER_GROUP + d] = true;
    wr->n_late++;
  }
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
  return ((const struct walkrun *)(const void *)r)->n_late == GROUPS;
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
  struct walkrun wr;
  struct run *r = &wr.r;
  int status;
  pid_t pid;

  memset(&wr, 0, sizeof(wr));
  run_init(r);
  r->tap = walk_tap;
  snprintf(from, sizeof(from), "%s/big", r->tmp);
  snprintf(to, sizeof(to), "%s/big", r->root);
  make_tree(from);
  list_ns = listing_ns(from);
  run_watch(r);
  CHECK(run_until(r, run_settled, 5000));
  lag_reset(r);
  /* One rename: one event brings the whole subtree.  Files are written
   * into it while it is walked. */
  CHECK_EQ_INT(rename(from, to), 0);
  pid = write_late(to);
  CHECK(run_until(r, saw_big, 60000));
  check_loop_free(r, list_ns, "moved in");
  CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* Each one was reported (found by the walk, or its event run once
   * the walk's watches were in), and none asked for a rescan. */
  CHECK(run_until(r, saw_all_late, 10000));
  CHECK_EQ_INT(wr.n_late, GROUPS);
  CHECK_EQ_INT(watch_dir_count(r->w), 1 + TREE_DIRS);
  CHECK(!strlist_contains(&r->seen, "*"));
  check_files_reported(r, "big");
  /* The deepest directories are watched. */
  test_write(r->root, "big/g79/d49/new.html", "n");
  CHECK(run_until(r, saw_deep, 5000));
  run_stop(r);
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
          TEST(test_subtree_moved_in_is_listed_off_the_loop),
          TEST(test_rescan_after_overflow_is_listed_off_the_loop))
