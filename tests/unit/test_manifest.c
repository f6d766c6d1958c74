/* SPDX-License-Identifier: MIT */
#include "atomicfile.h"
#include "manifest.h"

#include "test.h"

static struct tree_entry entry(const char *path, unsigned seed)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* borrowed: put copies it */
  e.size = 100 + seed;
  e.mtime_ns = INT64_C(1700000000000000000) + seed;
  e.ctime_ns = -(int64_t)seed; /* negative times must survive too */
  e.ino = 1000 + seed;
  e.dev = 7;
  e.flags = TREE_HASHED | (seed % 2 ? TREE_RACY : 0);
  memset(e.hash, (int)seed, sizeof(e.hash));
  return e;
}

/* A manifest of n entries "p0".."p<n-1>" with seeds from base. */
static struct manifest *sample(size_t n, unsigned base)
{
  struct tree_entry e;
  struct manifest *m;
  char path[32];
  size_t i;

  CHECK_EQ_INT(manifest_new(&m), 0);
  for (i = 0; i < n; i++) {
    (void)snprintf(path, sizeof(path), "d/p%zu", i);
    e = entry(path, base + (unsigned)i);
    CHECK_EQ_INT(manifest_put(m, &e), 0);
  }
  return m;
}

static void join(char *out, size_t n, const char *dir, const char *rel)
{
  if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n)
    exit(2);
}

static void test_mkdirs_refuses_a_file_in_the_way(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char path[512];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "file", "x");
  join(path, sizeof(path), dir, "file/sub");
  CHECK_EQ_INT(atomicfile_mkdirs(path, 0700, &err), -ENOTDIR);
  join(path, sizeof(path), dir, "x//y/");
  CHECK_EQ_INT(atomicfile_mkdirs(path, 0700, &err), 0);
  CHECK_EQ_INT(atomicfile_mkdirs(path, 0700, &err), 0);
  test_rmtree(dir);
}

static void test_put_replaces_and_keeps_order(void)
{
  struct manifest *m;
  struct tree_entry e;

  CHECK_EQ_INT(manifest_new(&m), 0);
  e = entry("b", 1);
  CHECK_EQ_INT(manifest_put(m, &e), 0);
  e = entry("a", 2);
  CHECK_EQ_INT(manifest_put(m, &e), 0);
  e = entry("b", 3);
  CHECK_EQ_INT(manifest_put(m, &e), 0);
  CHECK_EQ_INT(manifest_count(m), 2);
  CHECK_EQ_STR(manifest_at(m, 0)->path, "a");
  CHECK_EQ_INT(manifest_find(m, "b")->size, 103);
  CHECK_EQ_INT(manifest_remove(m, "a"), 0);
  CHECK_EQ_INT(manifest_remove(m, "a"), -ENOENT);
  CHECK_EQ_INT(manifest_count(m), 1);
  CHECK(manifest_at(m, 1) == NULL);
  manifest_destroy(m);
}

static void test_put_refuses_unhashed_or_bad_path(void)
{
  struct manifest *m;
  struct tree_entry e;

  CHECK_EQ_INT(manifest_new(&m), 0);
  e = entry("a", 2);
  e.flags = 0;
  CHECK_EQ_INT(manifest_put(m, &e), -EINVAL);
  e = entry("a/../b", 2);
  CHECK_EQ_INT(manifest_put(m, &e), -EINVAL);
  e = entry("", 2);
  CHECK_EQ_INT(manifest_put(m, &e), -EINVAL);
  CHECK_EQ_INT(manifest_count(m), 0);
  manifest_destroy(m);
}

static void test_edit_batch_merges_unsorted_edits(void)
{
  struct manifest *m = sample(4, 1); /* d/p0 .. d/p3 */
  struct tree_entry add1 = entry("z", 40);
  struct tree_entry add0 = entry("a", 41);
  struct tree_entry rep = entry("d/p2", 42);
  struct tree_entry del = entry("d/p1", 0);
  struct tree_entry absent = entry("nope", 0);
  struct change ed[] = {
      change_make(CHANGE_ADDED, add1), change_make(CHANGE_DELETED, del),
      change_make(CHANGE_MODIFIED, rep), change_make(CHANGE_ADDED, add0),
      change_make(CHANGE_DELETED, absent)};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_apply(m, ed, 5, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 5);
  CHECK_EQ_STR(manifest_at(m, 0)->path, "a");
  CHECK_EQ_STR(manifest_at(m, 1)->path, "d/p0");
  CHECK_EQ_STR(manifest_at(m, 2)->path, "d/p2");
  CHECK_EQ_INT(manifest_at(m, 2)->size, 142);
  CHECK_EQ_STR(manifest_at(m, 3)->path, "d/p3");
  CHECK_EQ_STR(manifest_at(m, 4)->path, "z");
  CHECK(manifest_find(m, "d/p1") == NULL);
  manifest_destroy(m);
}

static void test_edit_batch_is_all_or_nothing(void)
{
  struct manifest *m = sample(2, 1);
  struct tree_entry a = entry("a", 5);
  struct tree_entry a2 = entry("a", 6);
  struct tree_entry unhashed = entry("b", 7);
  struct change dup[] = {change_make(CHANGE_ADDED, a),
                         change_make(CHANGE_ADDED, a2)};
  struct change bad[] = {change_make(CHANGE_ADDED, a),
                         change_make(CHANGE_ADDED, unhashed)};
  struct cfw_err err = {0};

  bad[1].entry.flags = 0;
  CHECK_EQ_INT(manifest_apply(m, dup, 2, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "twice");
  CHECK_EQ_INT(manifest_apply(m, bad, 2, &err), -EINVAL);
  CHECK_EQ_INT(manifest_count(m), 2);
  CHECK(manifest_find(m, "a") == NULL);
  CHECK_EQ_INT(manifest_apply(m, NULL, 0, &err), 0);
  manifest_destroy(m);
}

/* Issue 13: a rewrite of every file replaces entries; the manifest is
 * edited in place (its array and path strings stay), not merged into a
 * second one. */
static void test_edit_replacing_entries_keeps_the_array(void)
{
  struct manifest *m = sample(3, 1); /* d/p0 .. d/p2 */
  const struct tree_entry *v0 = manifest_at(m, 0);
  const char *p1 = manifest_at(m, 1)->path;
  struct tree_entry r2 = entry("d/p2", 52);
  struct tree_entry r0 = entry("d/p0", 50);
  struct tree_entry r1 = entry("d/p1", 51);
  struct change ed[] = {change_make(CHANGE_MODIFIED, r2),
                        change_make(CHANGE_MODIFIED, r0),
                        change_make(CHANGE_MODIFIED, r1)};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_apply(m, ed, 3, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 3);
  CHECK(manifest_at(m, 0) == v0);
  CHECK(manifest_at(m, 1)->path == p1);
  CHECK_EQ_STR(manifest_at(m, 1)->path, "d/p1");
  CHECK_EQ_INT(manifest_at(m, 0)->size, 150);
  CHECK_EQ_INT(manifest_at(m, 1)->ino, 1051);
  CHECK_EQ_INT(manifest_at(m, 2)->hash[0], 52);
  CHECK_EQ_INT(manifest_at(m, 1)->flags, TREE_HASHED | TREE_RACY);
  manifest_destroy(m);
}

/* The number of paths under dir counted one by one, as the planner
 * did before it asked manifest_count_under. */
static size_t count_by_walk(const struct manifest *m, const char *dir)
{
  size_t len = strlen(dir);
  size_t n = 0;
  size_t i;
  const char *p;

  for (i = 0; i < manifest_count(m); i++) {
    p = manifest_at(m, i)->path;
    n += len == 0 || (strncmp(p, dir, len) == 0 && p[len] == '/');
  }
  return n;
}

/* Names that sort next to a directory's run: a sibling file of the same
 * name, names extending it before and after '/' in byte order ('-',
 * '.', '0', 'a'), a byte above 0x7f, and nested directories. */
static void test_count_under_counts_the_subtree_only(void)
{
  static const char *paths[] = {
      "a",         "a-b/x",   "a.html", "a/b",        "a/b/c", "a/b/d.html",
      "a/b0/e",    "a/x",     "a0",     "a0/y",       "ab/z",  "a\xc3\xa9/w",
      "b/a/index", "b/index", "c.html", "d\xff/x/y/z"};
  static const char *dirs[] = {
      "",  "a",   "a/b", "a/b0",      "a0",    "ab",      "a-b",   "a.html",
      "b", "b/a", "zz",  "a\xc3\xa9", "d\xff", "d\xff/x", "a/b/c", "0"};
  struct manifest *m;
  struct tree_entry e;
  size_t i;

  CHECK_EQ_INT(manifest_new(&m), 0);
  for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    e = entry(paths[i], (unsigned)i);
    CHECK_EQ_INT(manifest_put(m, &e), 0);
  }
  CHECK_EQ_INT(manifest_count_under(m, ""), 16);
  CHECK_EQ_INT(manifest_count_under(m, "a"), 5);
  CHECK_EQ_INT(manifest_count_under(m, "a/b"), 2);
  for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
    if (manifest_count_under(m, dirs[i]) != count_by_walk(m, dirs[i]))
      TEST_FAIL_("under \"%s\": %zu, by walking %zu", dirs[i],
                 manifest_count_under(m, dirs[i]), count_by_walk(m, dirs[i]));
  manifest_destroy(m);
}

TEST_MAIN(TEST(test_mkdirs_refuses_a_file_in_the_way),
          TEST(test_count_under_counts_the_subtree_only),
          TEST(test_put_replaces_and_keeps_order),
          TEST(test_put_refuses_unhashed_or_bad_path),
          TEST(test_edit_batch_merges_unsorted_edits),
          TEST(test_edit_batch_is_all_or_nothing),
          TEST(test_edit_replacing_entries_keeps_the_array))
