/* SPDX-License-Identifier: MIT */
/* A partial walk diffs its files against a view of the manifest (issue 13):
 * partwalk_entries lists the covered entries, borrowed, sorted and each
 * once, and diff_begin_take_view compares a tree with them as
 * diff_begin_take compares one with a whole manifest. */
#include "diff.h"
#include "partwalk.h"

#include "test.h"

/* Pretends the scan ran this long after the files were written. */
#define LATER_NS (10 * INT64_C(1000000000))

static struct manifest *manifest_of(const char *const *paths, size_t n)
{
  struct tree_entry e = {0};
  struct manifest *m;
  size_t i;

  REQUIRE(manifest_new(&m) == 0);
  e.flags = TREE_HASHED;
  for (i = 0; i < n; i++) {
    e.path = (char *)paths[i]; /* put copies it */
    REQUIRE(manifest_put(m, &e) == 0);
  }
  return m;
}

static void push_all(struct strlist *l, const char *const *v, size_t n)
{
  size_t i;

  strlist_init(l);
  for (i = 0; i < n; i++)
    REQUIRE(strlist_push(l, v[i]) == 0);
}

/* "a" and "a.html" gather out of order ("a/x" sorts after "a.html"), and
 * "a/x", kept under "a", gathers twice: sorted, once each, m's own. */
static void test_view_is_sorted_once_each_and_borrowed(void)
{
  static const char *const all[] = {"a", "a-b/y", "a.html", "a/x", "b/z", "c"};
  static const char *const want[] = {"a", "a.html", "a/x"};
  static const char *const under[] = {"a", "a.html", "a/x"};
  const struct tree_entry **v = NULL;
  struct cfw_err err = {0};
  struct manifest *m = manifest_of(all, 6);
  struct strlist paths;
  size_t n = 0;
  size_t i;

  push_all(&paths, under, 3);
  CHECK_EQ_INT(partwalk_entries(&v, &n, m, &paths, &err), 0);
  CHECK_EQ_INT(n, 3);
  for (i = 0; i < n && i < 3; i++)
    CHECK(v[i] == manifest_find(m, want[i]));
  free((void *)v);
  strlist_free(&paths);
  manifest_destroy(m);
}

static void test_view_of_nothing_is_empty(void)
{
  static const char *const all[] = {"a", "b"};
  static const char *const under[] = {"zz"};
  const struct tree_entry **v = NULL;
  struct cfw_err err = {0};
  struct manifest *m = manifest_of(all, 2);
  struct strlist paths;
  size_t n = 1;

  strlist_init(&paths);
  CHECK_EQ_INT(partwalk_entries(&v, &n, m, &paths, &err), 0);
  CHECK(v == NULL && n == 0);
  push_all(&paths, under, 1);
  CHECK_EQ_INT(partwalk_entries(&v, &n, m, &paths, &err), 0);
  CHECK_EQ_INT(n, 0);
  free((void *)v);
  strlist_free(&paths);
  manifest_destroy(m);
}

/* Diffs the walk of root/sub (as sub/...) with the view of m under
 * "sub"; returns the changes. */
static struct change *diff_sub(const char *root, const struct manifest *m,
                               size_t *n)
{
  static const char *const under[] = {"sub"};
  const struct tree_entry **v = NULL;
  struct cfw_err err = {0};
  struct diff *d = NULL;
  struct strlist paths;
  struct change *out = NULL;
  size_t nv = 0;
  struct tree t;

  push_all(&paths, under, 1);
  tree_init(&t);
  REQUIRE(partwalk_tree(&t, root, &paths, &(struct tree_walk_opts){0}, &err) ==
          0);
  t.scanned_at_ns += LATER_NS;
  REQUIRE(partwalk_entries(&v, &nv, m, &paths, &err) == 0);
  CHECK_EQ_INT(diff_begin_take_view(&d, &t, v, nv, NULL, &err), 0);
  REQUIRE(d != NULL);
  CHECK_EQ_INT(diff_hash_range(d, root, 0, diff_hash_count(d)), 0);
  CHECK_EQ_INT(diff_finish(d, &out, n, &err), 0);
  diff_destroy(d);
  free((void *)v);
  strlist_free(&paths);
  return out;
}

/* What lies outside the view is not deleted; what the view has and the
 * walk lacks is. */
static void test_view_diff_sees_only_its_paths(void)
{
  static const char *const known[] = {"other.html", "sub/gone.html",
                                      "sub/old.html"};
  struct manifest *m = manifest_of(known, 3);
  struct change *v;
  char dir[256];
  size_t n = 0;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "sub/new.html", "new");
  test_write(dir, "sub/old.html", "old bytes, rewritten");
  v = diff_sub(dir, m, &n);
  CHECK_EQ_INT(n, 3);
  if (n == 3) {
    CHECK_EQ_STR(v[0].entry.path, "sub/gone.html");
    CHECK_EQ_INT(change_kind(&v[0]), CHANGE_DELETED);
    CHECK_EQ_STR(v[1].entry.path, "sub/new.html");
    CHECK_EQ_INT(change_kind(&v[1]), CHANGE_ADDED);
    CHECK_EQ_STR(v[2].entry.path, "sub/old.html");
    CHECK_EQ_INT(change_kind(&v[2]), CHANGE_MODIFIED);
  }
  changes_free(v, n);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_unsorted_view_is_einval_and_frees_the_tree(void)
{
  static const char *const known[] = {"a", "b"};
  const struct tree_entry *v[2];
  struct cfw_err err = {0};
  struct manifest *m = manifest_of(known, 2);
  struct diff *d = (struct diff *)&err;
  struct stat st;
  struct tree t;

  memset(&st, 0, sizeof(st));
  tree_init(&t);
  REQUIRE(tree_add(&t, "a", &st) == 0);
  v[0] = manifest_at(m, 1);
  v[1] = manifest_at(m, 0);
  CHECK_EQ_INT(diff_begin_take_view(&d, &t, v, 2, NULL, &err), -EINVAL);
  CHECK(d == NULL);
  CHECK(t.v == NULL && t.n == 0);
  v[1] = v[0]; /* twice */
  REQUIRE(tree_add(&t, "a", &st) == 0);
  CHECK_EQ_INT(diff_begin_take_view(&d, &t, v, 2, NULL, &err), -EINVAL);
  CHECK(t.v == NULL && t.n == 0);
  manifest_destroy(m);
}

static void test_empty_view_and_tree_give_nothing(void)
{
  struct cfw_err err = {0};
  struct diff *d = NULL;
  struct change *v = NULL;
  struct tree t;
  size_t n = 1;

  tree_init(&t);
  CHECK_EQ_INT(diff_begin_take_view(&d, &t, NULL, 0, NULL, &err), 0);
  REQUIRE(d != NULL);
  CHECK_EQ_INT(diff_hash_count(d), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK(v == NULL && n == 0);
  diff_destroy(d);
}

TEST_MAIN(TEST(test_view_is_sorted_once_each_and_borrowed),
          TEST(test_view_of_nothing_is_empty),
          TEST(test_view_diff_sees_only_its_paths),
          TEST(test_unsorted_view_is_einval_and_frees_the_tree),
          TEST(test_empty_view_and_tree_give_nothing))
