/* SPDX-License-Identifier: MIT */
#include "diff.h"

#include "test.h"

#include <pthread.h>
#include <time.h>

/* Pretends the scan ran this long after the files were written, so fresh
 * test files are not racy; 0 keeps the real scan time. */
#define LATER_NS (10 * INT64_C(1000000000))

struct run {
  struct change *v; /* owned */
  size_t n;
  size_t hashed; /* items the shortcut could not rule out */
};

/* Scans root (shifting the scan time by shift_ns) and diffs it with m. */
static void run_diff(const char *root, const struct manifest *m,
                     int64_t shift_ns, struct run *r)
{
  struct cfw_err err = {0};
  struct diff *d = NULL;
  struct tree t;

  memset(r, 0, sizeof(*r));
  CHECK_EQ_INT(tree_walk(&t, root, NULL, &err), 0);
  t.scanned_at_ns += shift_ns;
  CHECK_EQ_INT(diff_begin(&d, &t, m, &err), 0);
  tree_free(&t);
  if (d == NULL)
    return;
  r->hashed = diff_hash_count(d);
  CHECK_EQ_INT(diff_hash_range(d, root, 0, r->hashed), 0);
  CHECK_EQ_INT(diff_finish(d, &r->v, &r->n, &err), 0);
  CHECK_EQ_INT(diff_failed_count(d), 0);
  diff_destroy(d);
}

/* Diffs root against m and records the changes in m. */
static void apply_diff(const char *root, struct manifest *m, int64_t shift_ns)
{
  struct cfw_err err = {0};
  struct run r;

  run_diff(root, m, shift_ns, &r);
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, &err), 0);
  changes_free(r.v, r.n);
}

static struct manifest *baseline(const char *root)
{
  struct manifest *m;

  CHECK_EQ_INT(manifest_new(&m), 0);
  apply_diff(root, m, LATER_NS);
  return m;
}

static void join(char *out, size_t n, const char *dir, const char *rel)
{
  if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n)
    exit(2);
}

static void site(char *dir, size_t n)
{
  test_tmpdir(dir, n);
  test_write(dir, "index.html", "<h1>home</h1>");
  test_write(dir, "a/page.html", "page one");
  test_write(dir, "a/style.css", "body{}");
}

static void test_baseline_adds_every_file_hashed(void)
{
  struct manifest *m;
  struct run r;
  char dir[256];
  size_t i;

  site(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_new(&m), 0);
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.n, 3);
  CHECK_EQ_INT(r.hashed, 3);
  for (i = 0; i < r.n; i++) {
    CHECK_EQ_INT(change_kind(&r.v[i]), CHANGE_ADDED);
    CHECK_EQ_INT(r.v[i].entry.flags, TREE_HASHED);
  }
  if (r.n == 3) {
    CHECK_EQ_STR(r.v[0].entry.path, "a/page.html");
    CHECK_EQ_STR(r.v[2].entry.path, "index.html");
  }
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, NULL), 0);
  CHECK_EQ_INT(manifest_count(m), 3);
  changes_free(r.v, r.n);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_untouched_tree_needs_no_hashing(void)
{
  struct manifest *m;
  struct run r;
  char dir[256];

  site(dir, sizeof(dir));
  m = baseline(dir);
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 0);
  CHECK_EQ_INT(r.n, 0);
  CHECK(r.v == NULL);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_added_file_is_added(void)
{
  struct manifest *m;
  struct run r;
  char dir[256];

  site(dir, sizeof(dir));
  m = baseline(dir);
  test_write(dir, "a/new.html", "new");
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 1);
  CHECK_EQ_INT(r.n, 1);
  if (r.n == 1) {
    CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_ADDED);
    CHECK_EQ_STR(r.v[0].entry.path, "a/new.html");
  }
  changes_free(r.v, r.n);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_deleted_file_is_deleted_with_old_entry(void)
{
  struct manifest *m;
  struct run r;
  char dir[256];
  char path[512];

  site(dir, sizeof(dir));
  m = baseline(dir);
  join(path, sizeof(path), dir, "a/style.css");
  CHECK_EQ_INT(unlink(path), 0);
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 0);
  CHECK_EQ_INT(r.n, 1);
  if (r.n == 1) {
    CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_DELETED);
    CHECK_EQ_STR(r.v[0].entry.path, "a/style.css");
    CHECK(memcmp(r.v[0].entry.hash, manifest_find(m, "a/style.css")->hash,
                 32) == 0);
  }
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, NULL), 0);
  CHECK(manifest_find(m, "a/style.css") == NULL);
  CHECK_EQ_INT(manifest_count(m), 2);
  changes_free(r.v, r.n);
  manifest_destroy(m);
  test_rmtree(dir);
}

/* A change of a file the manifest knows holds the manifest's own path
 * string rather than a copy: a full rewrite kept every path twice (issue
 * 13).  Each side drops its hold in its own time (ASan sees no leak and
 * no double free): the deletion is applied while the change still holds
 * the path the manifest gave up. */
static void test_changes_share_the_manifests_paths(void)
{
  const struct tree_entry *style;
  const struct tree_entry *page;
  struct manifest *m;
  struct run r;
  char dir[256];
  char path[512];

  site(dir, sizeof(dir));
  m = baseline(dir);
  join(path, sizeof(path), dir, "a/style.css");
  CHECK_EQ_INT(unlink(path), 0);
  test_write(dir, "a/page.html", "page one, longer now");
  run_diff(dir, m, LATER_NS, &r);
  style = manifest_find(m, "a/style.css");
  page = manifest_find(m, "a/page.html");
  CHECK_EQ_INT(r.n, 2);
  if (r.n == 2 && style != NULL && page != NULL) {
    CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_MODIFIED);
    CHECK(r.v[0].entry.path == page->path);
    CHECK_EQ_INT(change_kind(&r.v[1]), CHANGE_DELETED);
    CHECK(r.v[1].entry.path == style->path);
  }
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, NULL), 0);
  CHECK(manifest_find(m, "a/style.css") == NULL);
  CHECK_EQ_STR(r.v[1].entry.path, "a/style.css");
  changes_free(r.v, r.n);
  CHECK_EQ_STR(manifest_find(m, "a/page.html")->path, "a/page.html");
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_new_mtime_same_bytes_is_touched_only(void)
{
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  struct manifest *m;
  struct run r;
  char dir[256];
  char path[512];

  site(dir, sizeof(dir));
  m = baseline(dir);
  join(path, sizeof(path), dir, "index.html");
  CHECK_EQ_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 1);
  CHECK_EQ_INT(r.n, 1);
  if (r.n == 1) {
    CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_TOUCHED);
    CHECK_EQ_INT(r.v[0].entry.mtime_ns, INT64_C(1000000000000000000));
  }
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, NULL), 0);
  changes_free(r.v, r.n);
  /* The refreshed shortcut holds: nothing to hash next time. */
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 0);
  CHECK_EQ_INT(r.n, 0);
  manifest_destroy(m);
  test_rmtree(dir);
}

/* A generator that writes a new file and renames it over the old one,
 * resetting the mtime (Jekyll does): same size and mtime, new inode. */
static void test_new_inode_same_mtime_and_size_is_modified(void)
{
  struct timespec ts[2];
  struct manifest *m;
  struct stat st;
  struct run r;
  char dir[256];
  char path[512];
  char tmp[512];

  site(dir, sizeof(dir));
  m = baseline(dir);
  join(path, sizeof(path), dir, "a/page.html");
  join(tmp, sizeof(tmp), dir, "a/.page.tmp");
  CHECK_EQ_INT(stat(path, &st), 0);
  test_write(dir, "a/.page.tmp", "page two");
  ts[0] = st.st_atim;
  ts[1] = st.st_mtim;
  CHECK_EQ_INT(utimensat(AT_FDCWD, tmp, ts, 0), 0);
  CHECK_EQ_INT(rename(tmp, path), 0);
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.n, 1);
  if (r.n == 1) {
    CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_MODIFIED);
    CHECK_EQ_STR(r.v[0].entry.path, "a/page.html");
    CHECK(r.v[0].entry.ino != st.st_ino);
    CHECK_EQ_INT(r.v[0].entry.mtime_ns,
                 manifest_find(m, "a/page.html")->mtime_ns);
  }
  changes_free(r.v, r.n);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_racy_entry_is_hashed_again(void)
{
  struct manifest *m;
  struct run r;
  char dir[256];

  site(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_new(&m), 0);
  /* Hashed at the real scan time, just after the files were written. */
  apply_diff(dir, m, 0);
  CHECK(manifest_find(m, "index.html")->flags & TREE_RACY);
  run_diff(dir, m, 0, &r);
  CHECK_EQ_INT(r.hashed, 3);
  CHECK_EQ_INT(r.n, 0); /* still racy, same bytes: nothing to record */
  /* Scanned well after the last write: the flag clears (TOUCHED), and the
   * shortcut is trusted from then on. */
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 3);
  CHECK_EQ_INT(r.n, 3);
  if (r.n == 3)
    CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_TOUCHED);
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, NULL), 0);
  changes_free(r.v, r.n);
  run_diff(dir, m, LATER_NS, &r);
  CHECK_EQ_INT(r.hashed, 0);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_file_vanishing_before_hash_is_deleted(void)
{
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d;
  struct change *v;
  struct tree t;
  size_t n;
  char dir[256];
  char path[512];

  site(dir, sizeof(dir));
  m = baseline(dir);
  test_write(dir, "index.html", "<h1>new home</h1>");
  test_write(dir, "extra.html", "brief");
  CHECK_EQ_INT(tree_walk(&t, dir, NULL, &err), 0);
  CHECK_EQ_INT(diff_begin(&d, &t, m, &err), 0);
  tree_free(&t);
  CHECK_EQ_INT(diff_hash_count(d), 2);
  join(path, sizeof(path), dir, "index.html");
  CHECK_EQ_INT(unlink(path), 0);
  join(path, sizeof(path), dir, "extra.html");
  CHECK_EQ_INT(unlink(path), 0);
  CHECK_EQ_INT(diff_hash_range(d, dir, 0, 2), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK_EQ_INT(n, 1);
  if (n == 1) {
    CHECK_EQ_INT(change_kind(&v[0]), CHANGE_DELETED);
    CHECK_EQ_STR(v[0].entry.path, "index.html");
  }
  CHECK_EQ_INT(diff_failed_count(d), 0);
  changes_free(v, n);
  diff_destroy(d);
  manifest_destroy(m);
  test_rmtree(dir);
}

/* A path the kernel refuses to open (too long) stands in for an
 * unreadable file, which root could read anyway. */
static void test_unreadable_file_is_reported_and_left_pending(void)
{
  struct cfw_err err = {0};
  struct tree_entry e = {0};
  struct tree t = {.v = &e, .n = 1, .cap = 1};
  struct manifest *m;
  struct diff *d;
  struct change *v;
  size_t n;
  int code = 0;
  char dir[256];
  char *path;

  test_tmpdir(dir, sizeof(dir));
  path = malloc(6001);
  memset(path, 'x', 6000);
  path[6000] = '\0';
  e.path = path;
  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(diff_begin(&d, &t, m, &err), 0);
  CHECK_EQ_INT(diff_hash_range(d, dir, 0, 1), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(diff_failed_count(d), 1);
  CHECK(diff_failed_at(d, 0, &code) != NULL);
  CHECK_EQ_INT(code, -ENAMETOOLONG);
  CHECK(diff_failed_at(d, 1, &code) == NULL);
  diff_destroy(d);
  manifest_destroy(m);
  free(path);
  test_rmtree(dir);
}

static void test_finish_before_hashing_is_einval(void)
{
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d;
  struct change *v;
  struct tree t;
  size_t n;
  char dir[256];

  site(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(tree_walk(&t, dir, NULL, &err), 0);
  CHECK_EQ_INT(diff_begin(&d, &t, m, &err), 0);
  CHECK_EQ_INT(diff_hash_range(d, dir, 0, 1), 0);
  CHECK_EQ_INT(diff_hash_range(d, dir, 2, 4), -EINVAL);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), -EINVAL);
  CHECK_EQ_INT(diff_hash_range(d, dir, 1, 3), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK_EQ_INT(n, 3);
  changes_free(v, n);
  diff_destroy(d);
  tree_free(&t);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_unsorted_tree_is_rejected(void)
{
  struct tree_entry e[2] = {{.path = (char *)"b"}, {.path = (char *)"a"}};
  struct tree t = {.v = e, .n = 2, .cap = 2};
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d = (struct diff *)1;

  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(diff_begin(&d, &t, m, &err), -EINVAL);
  CHECK(d == NULL);
  CHECK_CONTAINS(err.msg, "sorted");
  manifest_destroy(m);
}

struct range_job {
  struct diff *d;
  const char *root;
  size_t from;
  size_t to;
  int rc;
};

static void *range_thread(void *arg)
{
  struct range_job *j = arg;

  j->rc = diff_hash_range(j->d, j->root, j->from, j->to);
  return NULL;
}

static void test_disjoint_ranges_hash_in_parallel(void)
{
  struct range_job jobs[4];
  pthread_t th[4];
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d;
  struct change *v;
  struct tree t;
  size_t n;
  size_t i;
  char dir[256];
  char name[32];

  test_tmpdir(dir, sizeof(dir));
  for (i = 0; i < 200; i++) {
    (void)snprintf(name, sizeof(name), "f%03zu.html", i);
    test_write(dir, name, name);
  }
  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(tree_walk(&t, dir, NULL, &err), 0);
  CHECK_EQ_INT(diff_begin(&d, &t, m, &err), 0);
  for (i = 0; i < 4; i++) {
    jobs[i] = (struct range_job){d, dir, i * 50, i * 50 + 50, -1};
    CHECK_EQ_INT(pthread_create(&th[i], NULL, range_thread, &jobs[i]), 0);
  }
  for (i = 0; i < 4; i++) {
    CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
    CHECK_EQ_INT(jobs[i].rc, 0);
  }
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK_EQ_INT(n, 200);
  CHECK_EQ_INT(manifest_apply(m, v, n, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 200);
  changes_free(v, n);
  diff_destroy(d);
  tree_free(&t);
  manifest_destroy(m);
  test_rmtree(dir);
}

/* Issue 13: the diff takes the walk's entries over; a changed file's
 * change carries the very path string the walk made, not a copy. */
static void test_begin_take_moves_the_tree_into_the_changes(void)
{
  struct cfw_err err = {0};
  struct diff *d = NULL;
  struct manifest *m;
  struct change *v;
  const char *p0;
  const char *p1;
  char root[256];
  struct tree t;
  size_t n;

  test_tmpdir(root, sizeof(root));
  test_write(root, "a.html", "a");
  test_write(root, "b/c.html", "c");
  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(tree_walk(&t, root, NULL, &err), 0);
  REQUIRE(t.n == 2);
  p0 = t.v[0].path;
  p1 = t.v[1].path;
  CHECK_EQ_INT(diff_begin_take(&d, &t, m, NULL, &err), 0);
  CHECK(t.v == NULL && t.n == 0); /* taken */
  REQUIRE(d != NULL);
  CHECK_EQ_INT(diff_hash_range(d, root, 0, diff_hash_count(d)), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  REQUIRE(n == 2);
  CHECK(v[0].entry.path == p0);
  CHECK(v[1].entry.path == p1);
  CHECK_EQ_STR(v[1].entry.path, "b/c.html");
  CHECK(change_kind(&v[1]) == CHANGE_ADDED && (v[1].entry.flags & TREE_HASHED));
  diff_destroy(d);
  changes_free(v, n);
  manifest_destroy(m);
  test_rmtree(root);
}

/* Diffs root against m with a bound (marking what it leaves in set, if
 * not NULL) and hashes; returns the candidates, the deferred count in
 * *deferred and the changes in r. */
static size_t bounded_diff(const char *root, const struct manifest *m,
                           size_t bound, struct seenset *set, size_t *deferred,
                           struct run *r)
{
  struct diff_walked w = {NULL, bound, set};
  struct cfw_err err = {0};
  struct diff *d = NULL;
  struct tree t;
  size_t n;

  memset(r, 0, sizeof(*r));
  CHECK_EQ_INT(tree_walk(&t, root, NULL, &err), 0);
  REQUIRE(diff_begin_take(&d, &t, m, &w, &err) == 0);
  n = diff_hash_count(d);
  *deferred = diff_deferred_count(d);
  CHECK_EQ_INT(diff_hash_range(d, root, 0, n), 0);
  CHECK_EQ_INT(diff_finish(d, &r->v, &r->n, &err), 0);
  diff_destroy(d);
  return n;
}

/* Issue 13: a bounded diff takes the first candidates in path order and
 * leaves the others, neither changed nor deleted; a deletion is not a
 * candidate and always comes out; a racy file as recorded is hashed
 * again whatever the bound. */
static void test_bound_takes_the_first_candidates_in_path_order(void)
{
  static const char *const names[] = {"a.html", "b.html", "c.html", "d.html",
                                      "e.html"};
  struct seenset *set;
  struct manifest *m;
  struct run r;
  char dir[256];
  char path[300];
  size_t deferred;
  size_t i;

  test_tmpdir(dir, sizeof(dir));
  for (i = 0; i < 5; i++)
    test_write(dir, names[i], "old");
  m = baseline(dir);
  for (i = 1; i < 5; i++)
    test_write(dir, names[i], "new bytes");
  test_write(dir, "f.html", "new file");
  join(path, sizeof(path), dir, "a.html");
  REQUIRE(unlink(path) == 0);
  REQUIRE(seenset_new(&set, m) == 0);
  CHECK_EQ_INT(bounded_diff(dir, m, 2, set, &deferred, &r), 2);
  CHECK_EQ_INT(deferred, 3); /* d, e, f */
  /* The ones m has are marked (f is new). */
  CHECK_EQ_INT(seenset_count(set, 0, manifest_count(m)), 2);
  CHECK(seenset_has(set, manifest_find(m, "d.html")));
  CHECK(seenset_has(set, manifest_find(m, "e.html")));
  seenset_destroy(set);
  REQUIRE(r.n == 3);
  CHECK_EQ_STR(r.v[0].entry.path, "a.html");
  CHECK_EQ_INT(change_kind(&r.v[0]), CHANGE_DELETED);
  CHECK_EQ_STR(r.v[1].entry.path, "b.html");
  CHECK_EQ_STR(r.v[2].entry.path, "c.html");
  CHECK_EQ_INT(manifest_apply(m, r.v, r.n, NULL), 0);
  changes_free(r.v, r.n);
  /* b and c were recorded as racy (hashed at the real time): hashed
   * again beside the bound's one. */
  CHECK_EQ_INT(bounded_diff(dir, m, 1, NULL, &deferred, &r), 3);
  CHECK_EQ_INT(deferred, 2); /* e, f */
  CHECK_EQ_INT(r.n, 1);
  if (r.n == 1)
    CHECK_EQ_STR(r.v[0].entry.path, "d.html");
  changes_free(r.v, r.n);
  /* No bound: everything. */
  CHECK_EQ_INT(bounded_diff(dir, m, 0, NULL, &deferred, &r), 5);
  CHECK_EQ_INT(deferred, 0);
  changes_free(r.v, r.n);
  manifest_destroy(m);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_baseline_adds_every_file_hashed),
          TEST(test_bound_takes_the_first_candidates_in_path_order),
          TEST(test_untouched_tree_needs_no_hashing),
          TEST(test_added_file_is_added),
          TEST(test_deleted_file_is_deleted_with_old_entry),
          TEST(test_changes_share_the_manifests_paths),
          TEST(test_new_mtime_same_bytes_is_touched_only),
          TEST(test_new_inode_same_mtime_and_size_is_modified),
          TEST(test_racy_entry_is_hashed_again),
          TEST(test_file_vanishing_before_hash_is_deleted),
          TEST(test_unreadable_file_is_reported_and_left_pending),
          TEST(test_finish_before_hashing_is_einval),
          TEST(test_unsorted_tree_is_rejected),
          TEST(test_disjoint_ranges_hash_in_parallel),
          TEST(test_begin_take_moves_the_tree_into_the_changes))
