/* SPDX-License-Identifier: MIT */
/* tree_move_all, which ends a walk by several threads (issue 13): every
 * entry moves, in order, with the very path string it had, and src is
 * left without entries whatever its size against the slice. */
#include "tree.h"

#include "test.h"

#include <stdint.h>

/* More than two slices of 1 MiB (88-byte entries): 11,915 a slice. */
#define MANY 30000

/* Appends n entries named prefix%06zu, with ino the running index. */
static void fill(struct tree *t, const char *prefix, size_t n)
{
  struct stat st;
  char path[64];
  size_t i;

  memset(&st, 0, sizeof(st));
  for (i = 0; i < n; i++) {
    (void)snprintf(path, sizeof(path), "%s%06zu", prefix, i);
    st.st_ino = (ino_t)i;
    REQUIRE(tree_add(t, path, &st) == 0);
  }
}

/* Checks that t holds the entries first, then second, of saved (the
 * path pointers before the move, in order). */
static void check_order(const struct tree *t, char **saved, size_t n)
{
  size_t bad = 0;
  size_t i;

  CHECK_EQ_INT(t->n, n);
  for (i = 0; i < n && i < t->n; i++)
    bad += t->v[i].path != saved[i];
  CHECK_EQ_INT(bad, 0);
}

static char **save_paths(const struct tree *a, const struct tree *b)
{
  char **v = malloc((a->n + b->n + 1) * sizeof(*v));
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < a->n; i++)
    v[i] = a->v[i].path;
  for (i = 0; i < b->n; i++)
    v[a->n + i] = b->v[i].path;
  return v;
}

static void move_case(size_t nt, size_t ns)
{
  struct tree t;
  struct tree src;
  char **saved;
  char last[64];

  tree_init(&t);
  tree_init(&src);
  fill(&t, "t", nt);
  fill(&src, "s", ns);
  src.n_dirs = 7;
  src.scanned_at_ns = 42;
  saved = save_paths(&t, &src);
  CHECK_EQ_INT(tree_move_all(&t, &src), 0);
  check_order(&t, saved, nt + ns);
  CHECK(src.v == NULL && src.n == 0 && src.cap == 0);
  CHECK_EQ_INT(src.n_dirs, 7);
  CHECK_EQ_INT(src.scanned_at_ns, 42);
  CHECK(t.cap >= t.n);
  if (ns > 0) {
    (void)snprintf(last, sizeof(last), "s%06zu", ns - 1);
    CHECK_EQ_STR(t.v[t.n - 1].path, last);
  }
  free(saved);
  tree_free(&t);
  tree_free(&src);
}

static void test_moving_nothing_leaves_both_as_they_were(void)
{
  move_case(3, 0);
  move_case(0, 0);
}

static void test_moving_into_an_empty_tree_takes_every_entry(void)
{
  move_case(0, 5);
}

static void test_moving_one_entry_appends_it(void)
{
  move_case(2, 1);
}

static void test_moving_many_slices_keeps_order_and_paths(void)
{
  move_case(5, MANY);
  move_case(MANY, MANY);
}

/* A size whose bytes would wrap is refused before anything moves. */
static void test_moving_too_many_is_enomem_and_changes_nothing(void)
{
  struct tree_entry one = {0};
  struct tree src = {.v = &one, .n = SIZE_MAX / 2, .cap = SIZE_MAX / 2};
  struct tree t;

  tree_init(&t);
  fill(&t, "t", 2);
  CHECK_EQ_INT(tree_move_all(&t, &src), -ENOMEM);
  CHECK_EQ_INT(t.n, 2);
  CHECK_EQ_STR(t.v[1].path, "t000001");
  CHECK(src.v == &one && src.n == SIZE_MAX / 2);
  tree_free(&t);
}

/* A walk keeps no room for growth: 17 files outgrow the first 16. */
static void test_scan_leaves_no_room_for_growth(void)
{
  struct cfw_err err = {0};
  struct tree t;
  char dir[256];
  char rel[32];
  int i;

  test_tmpdir(dir, sizeof(dir));
  for (i = 0; i < 17; i++) {
    (void)snprintf(rel, sizeof(rel), "f%02d.html", i);
    test_write(dir, rel, rel);
  }
  CHECK_EQ_INT(tree_walk(&t, dir, NULL, &err), 0);
  CHECK_EQ_INT(t.n, 17);
  CHECK_EQ_INT(t.cap, 17);
  if (t.n == 17)
    CHECK_EQ_STR(t.v[16].path, "f16.html");
  tree_free(&t);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_moving_nothing_leaves_both_as_they_were),
          TEST(test_moving_into_an_empty_tree_takes_every_entry),
          TEST(test_moving_one_entry_appends_it),
          TEST(test_moving_many_slices_keeps_order_and_paths),
          TEST(test_moving_too_many_is_enomem_and_changes_nothing),
          TEST(test_scan_leaves_no_room_for_growth))
