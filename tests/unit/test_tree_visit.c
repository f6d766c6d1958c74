/* SPDX-License-Identifier: MIT */
/* A walk by several threads with a visitor (the daemon's start-up walk,
 * which adds the inotify watches, issue 13): the visitor's calls come
 * one at a time, every directory once and before anything under it,
 * and the walk still lists every file. */
#include "tree.h"

#include "test.h"

#include <sys/stat.h>
#include <uv.h>

#define DIRS      40
#define SUBDIRS   3
#define FILES     5
#define MAX_SEEN  (1 + DIRS + DIRS * SUBDIRS)
#define MAX_TIDS  8
#define N_THREADS 4

struct seen {
  char *dirs[MAX_SEEN]; /* owned; in the order told */
  size_t n_dirs;
  size_t files_before_dir; /* a file told before its directory */
  int busy;                /* calls in progress: never above 1 */
  int overlaps;
  uv_thread_t tids[MAX_TIDS];
  size_t n_tids;
};

/* Notes the calling thread; the calls are serial, so no lock. */
static void seen_thread(struct seen *s)
{
  uv_thread_t self = uv_thread_self();
  size_t i;

  for (i = 0; i < s->n_tids; i++)
    if (uv_thread_equal(&s->tids[i], &self))
      return;
  if (s->n_tids < MAX_TIDS)
    s->tids[s->n_tids++] = self;
}

static void call_begin(struct seen *s)
{
  if (__atomic_add_fetch(&s->busy, 1, __ATOMIC_SEQ_CST) != 1)
    __atomic_add_fetch(&s->overlaps, 1, __ATOMIC_SEQ_CST);
  seen_thread(s);
}

static void call_end(struct seen *s)
{
  /* Long enough that another thread's call would overlap this one. */
  uv_sleep(1);
  __atomic_sub_fetch(&s->busy, 1, __ATOMIC_SEQ_CST);
}

static void on_dir(void *ctx, const char *relpath, int fd,
                   const struct stat *st)
{
  struct seen *s = ctx;

  (void)fd;
  (void)st;
  call_begin(s);
  if (s->n_dirs < MAX_SEEN)
    s->dirs[s->n_dirs++] = strdup(relpath);
  call_end(s);
}

/* Whether the parent directory of relpath was told already. */
static bool parent_seen(const struct seen *s, const char *relpath)
{
  const char *slash = strrchr(relpath, '/');
  size_t len = slash != NULL ? (size_t)(slash - relpath) : 0;
  size_t i;

  for (i = 0; i < s->n_dirs; i++)
    if (s->dirs[i] != NULL && strlen(s->dirs[i]) == len &&
        strncmp(s->dirs[i], relpath, len) == 0)
      return true;
  return false;
}

static void on_file(void *ctx, const char *relpath)
{
  struct seen *s = ctx;

  call_begin(s);
  if (!parent_seen(s, relpath))
    s->files_before_dir++;
  call_end(s);
}

/* DIRS directories of SUBDIRS subdirectories, FILES files in each. */
static void make_tree(char *dir, size_t n)
{
  char rel[64];
  size_t i;
  size_t j;
  size_t k;

  test_tmpdir(dir, n);
  for (i = 0; i < DIRS; i++)
    for (j = 0; j < SUBDIRS; j++)
      for (k = 0; k < FILES; k++) {
        (void)snprintf(rel, sizeof(rel), "d%zu/s%zu/f%zu.html", i, j, k);
        test_write(dir, rel, "x");
      }
}

static void seen_free(struct seen *s)
{
  size_t i;

  for (i = 0; i < s->n_dirs; i++)
    free(s->dirs[i]);
}

/* Every directory once, each after its parent, from several threads
 * one at a time; the files (told instead of listed) after their
 * directory.  Before, a visitor made the walk keep to one thread. */
static void test_visitor_is_told_in_order_from_several_threads(void)
{
  struct seen s = {.n_dirs = 0};
  struct tree_visit v = {.dir = on_dir, .file = on_file, .ctx = &s};
  struct tree_walk_opts o = {.visit = &v, .threads = N_THREADS};
  struct cfw_err err = {0};
  char dir[256];
  struct tree t;
  size_t i;
  size_t orphans = 0;

  make_tree(dir, sizeof(dir));
  CHECK_EQ_INT(tree_walk(&t, dir, &o, &err), 0);
  CHECK_EQ_INT(t.n, 0); /* the visitor took the files */
  CHECK_EQ_INT(s.n_dirs, MAX_SEEN);
  for (i = 1; i < s.n_dirs; i++) {
    s.n_dirs = i; /* only those told before dirs[i] */
    orphans += !parent_seen(&s, s.dirs[i]);
  }
  s.n_dirs = MAX_SEEN;
  CHECK_EQ_INT(orphans, 0);
  CHECK_EQ_INT(s.files_before_dir, 0);
  CHECK_EQ_INT(s.overlaps, 0);
  CHECK(s.n_tids > 1);
  seen_free(&s);
  tree_free(&t);
  test_rmtree(dir);
}

/* With a visitor of directories only, the threads' entries are all in
 * the tree, sorted, as without one. */
static void test_visited_walk_lists_every_file(void)
{
  struct seen s = {.n_dirs = 0};
  struct tree_visit v = {.dir = on_dir, .ctx = &s};
  struct tree_walk_opts o = {.visit = &v, .threads = N_THREADS};
  struct cfw_err err = {0};
  char dir[256];
  struct tree t;
  size_t i;
  size_t unsorted = 0;

  make_tree(dir, sizeof(dir));
  CHECK_EQ_INT(tree_walk(&t, dir, &o, &err), 0);
  CHECK_EQ_INT(t.n, DIRS * SUBDIRS * FILES);
  CHECK_EQ_INT(t.n_dirs, MAX_SEEN);
  CHECK_EQ_INT(s.n_dirs, MAX_SEEN);
  for (i = 1; i < t.n; i++)
    unsorted += strcmp(t.v[i - 1].path, t.v[i].path) >= 0;
  CHECK_EQ_INT(unsorted, 0);
  CHECK_EQ_INT(s.overlaps, 0);
  seen_free(&s);
  tree_free(&t);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_visitor_is_told_in_order_from_several_threads),
          TEST(test_visited_walk_lists_every_file))
