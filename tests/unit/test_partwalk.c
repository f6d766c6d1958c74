/* SPDX-License-Identifier: MIT */
#include "partwalk.h"
#include "pathref.h"

#include "test.h"

static void normalise(struct strlist *l, const char *const *in, size_t n)
{
  size_t i;

  strlist_init(l);
  for (i = 0; i < n; i++)
    REQUIRE(strlist_push(l, in[i]) == 0);
  partwalk_normalise(l);
}

/* Issue 11, item 6: "a", "a.html" and "a/x.html" in one window kept
 * "a/x.html" (it was compared with "a.html" only), so the file was
 * listed twice and the scan failed with "tree not sorted by path". */
static void test_descendant_after_a_sibling_is_dropped(void)
{
  static const char *const in[] = {"a/x.html", "a.html", "a",
                                   "a-b/c",    "a-b",    "a/y/z.html"};
  struct strlist l;

  normalise(&l, in, 6);
  REQUIRE(l.n == 3);
  CHECK_EQ_STR(l.v[0], "a");
  CHECK_EQ_STR(l.v[1], "a-b");
  CHECK_EQ_STR(l.v[2], "a.html");
  strlist_free(&l);
}

static void test_deep_paths_keep_only_the_highest(void)
{
  static const char *const in[] = {"d/e/f", "d/e", "d/e/f/g",
                                   "d/ef",  "d/e", "x"};
  struct strlist l;

  normalise(&l, in, 6);
  REQUIRE(l.n == 3);
  CHECK_EQ_STR(l.v[0], "d/e");
  CHECK_EQ_STR(l.v[1], "d/ef");
  CHECK_EQ_STR(l.v[2], "x");
  strlist_free(&l);
}

/* Even listed twice, a file is in the tree once. */
static void test_tree_lists_a_file_once(void)
{
  struct tree_walk_opts o = {0};
  struct cfw_err err = {0};
  struct strlist paths;
  struct tree t;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "a/x.html", "x");
  test_write(dir, "a.html", "a");
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "a") == 0);
  REQUIRE(strlist_push(&paths, "a.html") == 0);
  REQUIRE(strlist_push(&paths, "a/x.html") == 0);
  tree_init(&t);
  CHECK_EQ_INT(partwalk_tree(&t, dir, &paths, &o, &err), 0);
  REQUIRE(t.n == 2);
  CHECK_EQ_STR(t.v[0].path, "a.html");
  CHECK_EQ_STR(t.v[1].path, "a/x.html");
  tree_free(&t);
  strlist_free(&paths);
  test_rmtree(dir);
}

static enum tree_known known_a_html(void *ctx, const char *relpath,
                                    const struct stat *st, char **path)
{
  (void)st;
  if (strcmp(relpath, "a.html") != 0)
    return TREE_KNOWN_NONE;
  *path = pathref_hold(ctx);
  return TREE_KNOWN_PATH;
}

/* Issue 13: a listed file the callback knows holds its path; a file
 * found under a listed directory gets its own. */
static void test_tree_holds_a_known_path(void)
{
  struct tree_walk_opts o = {.known = known_a_html};
  struct cfw_err err = {0};
  struct strlist paths;
  char *a = pathref_dup("a.html");
  struct tree t;
  char dir[256];

  REQUIRE(a != NULL);
  o.ctx = a;
  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "a/x.html", "x");
  test_write(dir, "a.html", "a");
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "a.html") == 0);
  REQUIRE(strlist_push(&paths, "a") == 0);
  partwalk_normalise(&paths);
  tree_init(&t);
  CHECK_EQ_INT(partwalk_tree(&t, dir, &paths, &o, &err), 0);
  REQUIRE(t.n == 2);
  CHECK(t.v[0].path == a);
  CHECK_EQ_STR(t.v[1].path, "a/x.html");
  tree_free(&t);
  pathref_drop(a);
  strlist_free(&paths);
  test_rmtree(dir);
}

/* Unchanged, as the caller's manifest would say: a/x.html, b/x.html. */
static enum tree_known known_x_same(void *ctx, const char *relpath,
                                    const struct stat *st, char **path)
{
  (void)ctx;
  (void)path;
  REQUIRE(st->st_size == 1);
  return strcmp(relpath, "a/x.html") == 0 || strcmp(relpath, "b/x.html") == 0
             ? TREE_KNOWN_SAME
             : TREE_KNOWN_NONE;
}

/* Issue 13: the hook is asked with whole paths, for a listed file and
 * for the files under a listed directory; what it has as it is stays
 * out of the tree and is counted. */
static void test_tree_leaves_out_what_the_caller_has(void)
{
  struct tree_walk_opts o = {.known = known_x_same};
  struct cfw_err err = {0};
  struct strlist paths;
  struct tree t;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "a/x.html", "x");
  test_write(dir, "a/y.html", "y");
  test_write(dir, "b/x.html", "x");
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "a") == 0);
  REQUIRE(strlist_push(&paths, "b/x.html") == 0);
  partwalk_normalise(&paths);
  tree_init(&t);
  CHECK_EQ_INT(partwalk_tree(&t, dir, &paths, &o, &err), 0);
  REQUIRE(t.n == 1);
  CHECK_EQ_STR(t.v[0].path, "a/y.html");
  CHECK_EQ_INT(t.n_same, 2);
  tree_free(&t);
  strlist_free(&paths);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_descendant_after_a_sibling_is_dropped),
          TEST(test_tree_leaves_out_what_the_caller_has),
          TEST(test_tree_holds_a_known_path),
          TEST(test_deep_paths_keep_only_the_highest),
          TEST(test_tree_lists_a_file_once))
