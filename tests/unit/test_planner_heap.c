/* SPDX-License-Identifier: MIT */
/* The planner's heap per change (issue 13), measured at its peak while
 * planner_plan runs: every malloc, calloc, realloc and free of the test
 * process passes through the counters below, which glibc allows ("3.2.5
 * Replacing malloc" in its manual: these four are the minimum set; the
 * blocks still come from glibc's own allocator, through the __libc_
 * names it exports).  A sanitizer brings its own allocator, so there the
 * counters are absent and each case checks only the plan.
 *
 * The bounds are per change and generous, yet well below what the
 * planner took when it kept every change's URL text in one buffer. */
#include "planner.h"

#include "plannerfx.h"
#include "strlist.h"

#include <stdbool.h>

#define HEAP_CHANGES 100000
/* Changes per directory: a section of a blog. */
#define HEAP_PER_DIR 100
/* A full rewrite planned as one wildcard: the plan holds 8 bytes a
 * change (its index list), the planner 8 more (a change's directory and
 * how to build its URLs again), and the directories little: 18 in all,
 * measured; 90 before, with the URL buffer grown by doubling. */
#define HEAP_REWRITE_PEAK_PER_CHANGE 28
/* Every change as exact paths: what the planner holds beyond the plan
 * it returns (whose paths cost what they cost), a 12-byte unit a change
 * among it: 23, measured; 73 before. */
#define HEAP_EXACT_WORK_PER_CHANGE 36

/* One directory per page, a node each (its counts, its stem, the hash
 * that finds it while the tree is built): 134, measured; 424 before. */
#define HEAP_NODE_PEAK_PER_CHANGE 180

#ifndef CFW_TEST_SANITIZER
#include <malloc.h>

/* glibc's allocator under the names it exports for a replacement. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

/* Bytes in use and the most since heap_mark; signed, as a block from
 * memalign (not counted here) may be freed through free. */
static long long heap_now;
static long long heap_peak;

static void heap_took(const void *p)
{
  if (p == NULL)
    return;
  heap_now += (long long)malloc_usable_size((void *)p);
  if (heap_now > heap_peak)
    heap_peak = heap_now;
}

void *malloc(size_t n)
{
  void *p = __libc_malloc(n);

  heap_took(p);
  return p;
}

void *calloc(size_t n, size_t size)
{
  void *p = __libc_calloc(n, size);

  heap_took(p);
  return p;
}

void *realloc(void *old, size_t n)
{
  long long was = old != NULL ? (long long)malloc_usable_size(old) : 0;
  void *p = __libc_realloc(old, n);

  if (p != NULL || n == 0) { /* else old is untouched */
    heap_now -= was;
    heap_took(p);
  }
  return p;
}

void free(void *p)
{
  if (p != NULL)
    heap_now -= (long long)malloc_usable_size(p);
  __libc_free(p);
}

/* Starts a measurement: returns the bytes in use now. */
static long long heap_mark(void)
{
  heap_peak = heap_now;
  return heap_now;
}
#endif

/* n MODIFIED files of a blog, every one in the manifest.  Flat:
 * HEAP_PER_DIR to a directory, "blog/2024/section-<d>/post-<i>-a-title.html",
 * URLs of about the length massif found on the site.  Else one
 * directory per page, as Hugo and Eleventy write them by default:
 * "blog/2024/section-<d>/post-<i>-a-title/index.html". */
static void fx_init(struct plannerfx *f, size_t n, bool flat)
{
  char path[96];
  size_t i;

  plannerfx_init(f, n);
  for (i = 0; i < n; i++) {
    (void)snprintf(path, sizeof(path),
                   flat ? "blog/2024/section-%04zu/post-%06zu-a-title.html"
                        : "blog/2024/section-%04zu/post-%06zu-a-title/"
                          "index.html",
                   i / HEAP_PER_DIR, i);
    plannerfx_change(f, CHANGE_MODIFIED, path);
  }
}

/* Plans f; *peak gets the most bytes the planner held at once, and
 * *kept those still held by the plan it returned (both 0 under a
 * sanitizer). */
static void fx_plan(struct plannerfx *f, long long *peak, long long *kept)
{
  struct cfw_err err = {0};

  *peak = 0;
  *kept = 0;
#ifndef CFW_TEST_SANITIZER
  long long base = heap_mark();

  CHECK_EQ_INT(planner_plan(&f->p, &f->in, &f->o, &err), 0);
  *peak = heap_peak - base;
  *kept = heap_now - base;
  (void)fprintf(stderr, "planner heap: peak %.1f, kept %.1f bytes a change\n",
                (double)*peak / (double)f->n, (double)*kept / (double)f->n);
#else
  CHECK_EQ_INT(planner_plan(&f->p, &f->in, &f->o, &err), 0);
#endif
}

/* A full rewrite: one wildcard, on the deepest directory that holds
 * every change, and the planner's peak within a few words a change. */
static void test_full_rewrite_peak_is_a_few_words_a_change(void)
{
  long long peak, kept;
  struct plannerfx f;

  fx_init(&f, HEAP_CHANGES, true);
  fx_plan(&f, &peak, &kept);
  REQUIRE(f.p.n == 1);
  REQUIRE(f.p.v[0].b.paths.n == 1);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/blog/2024/*");
  CHECK_EQ_INT(f.p.v[0].n_changes, HEAP_CHANGES);
  CHECK(peak <= (long long)HEAP_REWRITE_PEAK_PER_CHANGE * HEAP_CHANGES);
  plannerfx_free(&f);
}

/* Every change as its exact path: beyond the paths the plan returns,
 * the planner holds no copy of them. */
static void test_exact_paths_hold_no_second_copy(void)
{
  long long peak, kept;
  struct plannerfx f;

  fx_init(&f, HEAP_CHANGES, true);
  f.o.never_wildcard = true;
  fx_plan(&f, &peak, &kept);
  CHECK_EQ_INT(f.p.n_paths, HEAP_CHANGES);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK(peak - kept <= (long long)HEAP_EXACT_WORK_PER_CHANGE * HEAP_CHANGES);
  plannerfx_free(&f);
}

/* One directory per page: a node per change, the planner's peak still
 * within a bound per change. */
static void test_directory_per_page_peak_is_bounded(void)
{
  long long peak, kept;
  struct plannerfx f;

  fx_init(&f, HEAP_CHANGES, false);
  fx_plan(&f, &peak, &kept);
  REQUIRE(f.p.n == 1);
  REQUIRE(f.p.v[0].b.paths.n == 1);
  CHECK_EQ_STR(f.p.v[0].b.paths.v[0], "/blog/2024/*");
  CHECK(peak <= (long long)HEAP_NODE_PEAK_PER_CHANGE * HEAP_CHANGES);
  plannerfx_free(&f);
}

TEST_MAIN(TEST(test_full_rewrite_peak_is_a_few_words_a_change),
          TEST(test_exact_paths_hold_no_second_copy),
          TEST(test_directory_per_page_peak_is_bounded))
