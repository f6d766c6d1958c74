/* SPDX-License-Identifier: MIT */
/* A walk by several threads (tree_walk_opts.threads, tree_pool.c) finds
 * exactly what one thread finds: the same entries in the same order, the
 * same directories, the same warnings, one at a time. */
#include "tree.h"

#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#define MAX_THREADS  8
#define MAX_WARNINGS 64

struct seen {
  pthread_t caller; /* the thread that called tree_walk */
  pthread_mutex_t mu;
  pthread_t threads[MAX_THREADS];
  size_t n_threads;
  atomic_int in_warn;
  bool overlapped;
  char *warnings[MAX_WARNINGS];
  size_t n_warnings;
};

static void seen_init(struct seen *s)
{
  memset(s, 0, sizeof(*s));
  s->caller = pthread_self();
  pthread_mutex_init(&s->mu, NULL);
}

static void seen_free(struct seen *s)
{
  size_t i;

  for (i = 0; i < s->n_warnings; i++)
    free(s->warnings[i]);
  pthread_mutex_destroy(&s->mu);
}

static void note_thread(struct seen *s)
{
  pthread_t me = pthread_self();
  size_t i;

  pthread_mutex_lock(&s->mu);
  for (i = 0; i < s->n_threads && !pthread_equal(s->threads[i], me); i++)
    ;
  if (i == s->n_threads && i < MAX_THREADS)
    s->threads[s->n_threads++] = me;
  pthread_mutex_unlock(&s->mu);
}

/* Called from several threads at once: only reads, and notes who.  The
 * caller's thread dawdles at each directory, so that a thread started
 * for a directory handed over finds it still queued even on a loaded
 * machine (else the caller may take it back, and one thread does all). */
static bool skip_excluded(void *ctx, const char *relpath, bool is_dir)
{
  struct seen *s = ctx;
  struct timespec ms = {0, 5000000};

  note_thread(s);
  if (is_dir && pthread_equal(pthread_self(), s->caller))
    nanosleep(&ms, NULL);
  return is_dir && strstr(relpath, "excluded") != NULL;
}

/* Must be called one at a time: a second caller inside would see
 * in_warn set while the first sleeps. */
static void on_warn(void *ctx, const char *relpath, int code)
{
  struct seen *s = ctx;
  struct timespec ms = {0, 1000000};
  char line[512];

  if (atomic_fetch_add(&s->in_warn, 1) != 0)
    s->overlapped = true;
  (void)snprintf(line, sizeof(line), "%s %d", relpath, code);
  if (s->n_warnings < MAX_WARNINGS)
    s->warnings[s->n_warnings++] = strdup(line);
  nanosleep(&ms, NULL);
  atomic_fetch_sub(&s->in_warn, 1);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan(struct tree *t, const char *root, size_t threads,
                struct seen *s)
{
  struct tree_walk_opts o = {
      .skip = skip_excluded, .warn = on_warn, .ctx = s, .threads = threads};
  struct cfw_err err = {0};

  return tree_walk(t, root, &o, &err);
}

static void link_at(const char *dir, const char *rel, const char *target)
{
  char path[512];

  if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path) ||
      symlink(target, path) < 0)
    exit(2);
}

/* 30 directories of 3 subdirectories of 4 files, and what a walk must
 * judge: links inside (followed), a loop, dangling links in several
 * directories, excluded subtrees, files at every level. */
static void make_site(const char *dir)
{
  char rel[128];
  int i;
  int j;
  int k;

  for (i = 0; i < 30; i++) {
    (void)snprintf(rel, sizeof(rel), "d%02d/index.html", i);
    test_write(dir, rel, "top");
    for (j = 0; j < 3; j++)
      for (k = 0; k < 4; k++) {
        (void)snprintf(rel, sizeof(rel), "d%02d/s%d/f%d.html", i, j, k);
        test_write(dir, rel, rel);
      }
    (void)snprintf(rel, sizeof(rel), "d%02d/gone", i);
    if (i % 7 == 0)
      link_at(dir, rel, "nowhere");
  }
  test_write(dir, "d03/excluded/secret.html", "x");
  test_write(dir, "d17/s1/excluded/secret.html", "x");
  test_write(dir, "a.html", "a");
  test_write(dir, "d-z.html", "sorts before d/ but after d-");
  link_at(dir, "d05/s0/up", "../..");
  link_at(dir, "alias", "d09");
}

static void check_same(const struct tree *a, const struct tree *b)
{
  size_t i;

  CHECK_EQ_INT(a->n, b->n);
  CHECK_EQ_INT(a->n_dirs, b->n_dirs);
  for (i = 0; i < a->n && i < b->n; i++) {
    CHECK_EQ_STR(a->v[i].path, b->v[i].path);
    CHECK(tree_entry_same_stat(&a->v[i], &b->v[i]));
  }
}

static void check_same_warnings(struct seen *a, struct seen *b)
{
  size_t i;

  qsort(a->warnings, a->n_warnings, sizeof(char *), cmp_str);
  qsort(b->warnings, b->n_warnings, sizeof(char *), cmp_str);
  CHECK_EQ_INT(a->n_warnings, b->n_warnings);
  for (i = 0; i < a->n_warnings && i < b->n_warnings; i++)
    CHECK_EQ_STR(a->warnings[i], b->warnings[i]);
}

static void test_threads_find_what_one_finds(void)
{
  char dir[256];
  struct seen one;
  struct seen four;
  struct tree t1;
  struct tree t4;

  test_tmpdir(dir, sizeof(dir));
  make_site(dir);
  seen_init(&one);
  seen_init(&four);
  CHECK_EQ_INT(scan(&t1, dir, 1, &one), 0);
  CHECK_EQ_INT(scan(&t4, dir, 4, &four), 0);
  /* 30 x 13 files, a.html and d-z.html, and d09's 13 again as alias/. */
  CHECK_EQ_INT(t1.n, 30 * 13 + 2 + 13);
  check_same(&t1, &t4);
  /* Five dangling links and the loop. */
  CHECK_EQ_INT(one.n_warnings, 6);
  check_same_warnings(&one, &four);
  CHECK_EQ_INT(one.n_threads, 1);
  CHECK(four.n_threads >= 2);
  CHECK(four.n_threads <= 4);
  CHECK(!four.overlapped);
  tree_free(&t1);
  tree_free(&t4);
  seen_free(&one);
  seen_free(&four);
  test_rmtree(dir);
}

/* Warnings from every thread, one at a time: a dangling link in each of
 * 40 directories, walked by eight threads. */
static void test_warnings_come_one_at_a_time(void)
{
  char dir[256];
  char rel[64];
  struct seen s;
  struct tree t;
  int i;

  test_tmpdir(dir, sizeof(dir));
  for (i = 0; i < 40; i++) {
    (void)snprintf(rel, sizeof(rel), "d%02d/f.html", i);
    test_write(dir, rel, "f");
    (void)snprintf(rel, sizeof(rel), "d%02d/gone", i);
    link_at(dir, rel, "nowhere");
  }
  seen_init(&s);
  CHECK_EQ_INT(scan(&t, dir, 8, &s), 0);
  CHECK_EQ_INT(t.n, 40);
  CHECK_EQ_INT(s.n_warnings, 40);
  CHECK(!s.overlapped);
  tree_free(&t);
  seen_free(&s);
  test_rmtree(dir);
}

static void test_missing_root_fails_with_threads(void)
{
  struct seen s;
  struct tree t;

  seen_init(&s);
  CHECK_EQ_INT(scan(&t, "/nonexistent/cfw-root", 4, &s), -ENOENT);
  CHECK_EQ_INT(t.n, 0);
  CHECK(t.v == NULL);
  seen_free(&s);
}

/* A root with files only: nothing to hand over, no thread started. */
static void test_flat_root_stays_on_one_thread(void)
{
  char dir[256];
  struct seen s;
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "b.html", "b");
  test_write(dir, "a.html", "a");
  seen_init(&s);
  CHECK_EQ_INT(scan(&t, dir, 4, &s), 0);
  CHECK_EQ_INT(t.n, 2);
  if (t.n == 2)
    CHECK_EQ_STR(t.v[0].path, "a.html");
  CHECK_EQ_INT(s.n_threads, 1);
  tree_free(&t);
  seen_free(&s);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_threads_find_what_one_finds),
          TEST(test_warnings_come_one_at_a_time),
          TEST(test_missing_root_fails_with_threads),
          TEST(test_flat_root_stays_on_one_thread))
