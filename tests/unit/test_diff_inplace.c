/* SPDX-License-Identifier: MIT */
/* The diff works in one array (issue 13): the walk's entries become the
 * candidates in place, and diff_finish compacts them into the changes,
 * merging the deletions in.  These cases check what comes out of that:
 * every kind interleaved, in path order; failures kept only for the
 * files that failed; empty inputs; and -ENOMEM leaving nothing behind. */
#include "diff.h"

#include "aslimit.h"
#include "test.h"

/* Pretends the scan ran this long after the files were written, so fresh
 * test files are not racy. */
#define LATER_NS (10 * INT64_C(1000000000))

static void name(char *out, size_t n, size_t i, const char *suffix)
{
  (void)snprintf(out, n, "f%02zu.html%s", i, suffix);
}

/* Walks root (later by LATER_NS) and diffs it with m through
 * diff_begin_take, as the daemon's scan does. */
static struct diff *begin(const char *root, const struct manifest *m)
{
  struct cfw_err err = {0};
  struct diff *d = NULL;
  struct tree t;

  REQUIRE(tree_walk(&t, root, NULL, &err) == 0);
  t.scanned_at_ns += LATER_NS;
  CHECK_EQ_INT(diff_begin_take(&d, &t, m, NULL, &err), 0);
  CHECK(t.v == NULL && t.n == 0);
  REQUIRE(d != NULL);
  return d;
}

static void finish(struct diff *d, const char *root, struct change **v,
                   size_t *n)
{
  struct cfw_err err = {0};

  CHECK_EQ_INT(diff_hash_range(d, root, 0, diff_hash_count(d)), 0);
  CHECK_EQ_INT(diff_finish(d, v, n, &err), 0);
}

static struct manifest *baseline(const char *root)
{
  struct change *v;
  struct manifest *m;
  struct diff *d;
  size_t n;

  REQUIRE(manifest_new(&m) == 0);
  d = begin(root, m);
  finish(d, root, &v, &n);
  diff_destroy(d);
  CHECK_EQ_INT(manifest_apply(m, v, n, NULL), 0);
  changes_free(v, n);
  return m;
}

#define N_FILES 60

/* What file i undergoes: deleted before the walk, rewritten, given a
 * new sibling, rewritten then deleted before hashing, or nothing. */
static void mix_site(const char *dir)
{
  char rel[64];
  size_t i;

  for (i = 0; i < N_FILES; i++) {
    name(rel, sizeof(rel), i, "");
    test_write(dir, rel, "first");
  }
}

static void mix_change(const char *dir)
{
  char rel[64];
  char path[512];
  size_t i;

  for (i = 0; i < N_FILES; i++) {
    name(rel, sizeof(rel), i, i % 5 == 2 ? ".new" : "");
    (void)snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (i % 5 == 0)
      CHECK_EQ_INT(unlink(path), 0);
    else if (i % 5 != 4)
      test_write(dir, rel, "second, longer");
  }
}

static void mix_vanish(const char *dir)
{
  char rel[64];
  char path[512];
  size_t i;

  for (i = 3; i < N_FILES; i += 5) {
    name(rel, sizeof(rel), i, "");
    (void)snprintf(path, sizeof(path), "%s/%s", dir, rel);
    CHECK_EQ_INT(unlink(path), 0);
  }
}

/* Checks change c against file i's fate (see mix_site). */
static void mix_check(const struct change *c, size_t i,
                      const struct manifest *m)
{
  static const int kind[5] = {CHANGE_DELETED, CHANGE_MODIFIED, CHANGE_ADDED,
                              CHANGE_DELETED, -1};
  char rel[64];

  name(rel, sizeof(rel), i, i % 5 == 2 ? ".new" : "");
  CHECK_EQ_STR(c->entry.path, rel);
  CHECK_EQ_INT(change_kind(c), kind[i % 5]);
  if (change_kind(c) == CHANGE_DELETED)
    CHECK(memcmp(c->entry.hash, manifest_find(m, rel)->hash, 32) == 0);
  else
    CHECK(c->entry.flags & TREE_HASHED);
}

static void test_every_kind_interleaved_comes_out_in_path_order(void)
{
  struct manifest *m;
  struct change *v;
  struct diff *d;
  char dir[256];
  size_t n;
  size_t i;
  size_t k = 0;

  test_tmpdir(dir, sizeof(dir));
  mix_site(dir);
  m = baseline(dir);
  mix_change(dir);
  d = begin(dir, m);
  /* Rewritten (12), new (12), rewritten then vanishing (12). */
  CHECK_EQ_INT(diff_hash_count(d), 36);
  mix_vanish(dir);
  finish(d, dir, &v, &n);
  CHECK_EQ_INT(n, 48);
  for (i = 0; i < N_FILES && k < n; i++)
    if (i % 5 != 4)
      mix_check(&v[k++], i, m);
  CHECK_EQ_INT(diff_failed_count(d), 0);
  diff_destroy(d);
  changes_free(v, n);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_empty_tree_and_manifest_give_nothing(void)
{
  struct cfw_err err = {0};
  struct tree t;
  struct manifest *m;
  struct change *v = (struct change *)&err; /* must be set to NULL */
  struct diff *d = NULL;
  size_t n = 1;

  tree_init(&t);
  REQUIRE(manifest_new(&m) == 0);
  CHECK_EQ_INT(diff_begin_take(&d, &t, m, NULL, &err), 0);
  REQUIRE(d != NULL);
  CHECK_EQ_INT(diff_hash_count(d), 0);
  CHECK_EQ_INT(diff_hash_range(d, "/", 0, 0), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK(v == NULL);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(diff_failed_count(d), 0);
  diff_destroy(d);
  manifest_destroy(m);
}

/* An empty walk against a manifest: all deletions, none hashed. */
static void test_empty_tree_deletes_every_known_file(void)
{
  static const char *const paths[] = {"a.html", "b/c.html", "d.html"};
  struct tree_entry e = {0};
  struct cfw_err err = {0};
  struct manifest *m;
  struct change *v;
  struct diff *d;
  struct tree t;
  size_t n;
  size_t i;

  REQUIRE(manifest_new(&m) == 0);
  e.flags = TREE_HASHED;
  for (i = 0; i < 3; i++) {
    e.path = (char *)paths[2 - i]; /* put copies it */
    e.size = i;
    REQUIRE(manifest_put(m, &e) == 0);
  }
  tree_init(&t);
  CHECK_EQ_INT(diff_begin_take(&d, &t, m, NULL, &err), 0);
  REQUIRE(d != NULL);
  CHECK_EQ_INT(diff_hash_count(d), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK_EQ_INT(n, 3);
  for (i = 0; i < n && i < 3; i++) {
    CHECK_EQ_INT(change_kind(&v[i]), CHANGE_DELETED);
    CHECK_EQ_STR(v[i].entry.path, paths[i]);
    CHECK_EQ_INT(v[i].entry.size, 2 - i);
  }
  diff_destroy(d);
  changes_free(v, n);
  manifest_destroy(m);
}

/* Appends rel to t with root/rel's stat, or a stat of root if the path
 * cannot be opened (a 6000-byte name: the kernel refuses it). */
static void add(struct tree *t, const char *root, const char *rel)
{
  char path[8192];
  struct stat st;

  (void)snprintf(path, sizeof(path), "%s/%s", root, rel);
  if (stat(path, &st) < 0)
    REQUIRE(stat(root, &st) == 0);
  st.st_mtim.tv_sec -= 100; /* not racy */
  st.st_ctim.tv_sec -= 100;
  REQUIRE(tree_add(t, rel, &st) == 0);
}

static void long_name(char *out, size_t n, char first)
{
  memset(out, 'x', n - 1);
  out[0] = first;
  out[n - 1] = '\0';
}

static void test_failures_are_kept_only_for_the_failed_files(void)
{
  struct cfw_err err = {0};
  struct manifest *m;
  struct change *v;
  struct diff *d;
  struct tree t;
  char dir[256];
  char b[6001];
  char dd[6001];
  size_t n;
  int code = 0;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "a.html", "a");
  test_write(dir, "c.html", "c");
  test_write(dir, "e.html", "e");
  long_name(b, sizeof(b), 'b');
  long_name(dd, sizeof(dd), 'd');
  tree_init(&t);
  add(&t, dir, "a.html");
  add(&t, dir, b);
  add(&t, dir, "c.html");
  add(&t, dir, dd);
  add(&t, dir, "e.html");
  REQUIRE(manifest_new(&m) == 0);
  CHECK_EQ_INT(diff_begin_take(&d, &t, m, NULL, &err), 0);
  REQUIRE(d != NULL);
  CHECK_EQ_INT(diff_failed_count(d), 0); /* none before finishing */
  finish(d, dir, &v, &n);
  CHECK_EQ_INT(n, 3);
  if (n == 3) {
    CHECK_EQ_STR(v[0].entry.path, "a.html");
    CHECK_EQ_STR(v[1].entry.path, "c.html");
    CHECK_EQ_STR(v[2].entry.path, "e.html");
  }
  CHECK_EQ_INT(diff_failed_count(d), 2);
  CHECK_EQ_STR(diff_failed_at(d, 0, &code), b);
  CHECK_EQ_INT(code, -ENAMETOOLONG);
  CHECK_EQ_STR(diff_failed_at(d, 1, NULL), dd);
  CHECK(diff_failed_at(d, 2, &code) == NULL);
  diff_destroy(d);
  changes_free(v, n);
  manifest_destroy(m);
  test_rmtree(dir);
}

/* A refused diff_finish leaves the diff as it was: hashing the rest
 * and finishing again gives every change. */
static void test_early_finish_changes_nothing(void)
{
  struct cfw_err err = {0};
  struct manifest *m;
  struct change *v;
  struct diff *d;
  struct change *again = NULL;
  size_t n_again = 1;
  char dir[256];
  size_t n;

  test_tmpdir(dir, sizeof(dir));
  mix_site(dir);
  REQUIRE(manifest_new(&m) == 0);
  d = begin(dir, m);
  CHECK_EQ_INT(diff_hash_range(d, dir, 0, 10), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), -EINVAL);
  CHECK_EQ_INT(diff_hash_range(d, dir, 10, N_FILES), 0);
  CHECK_EQ_INT(diff_finish(d, &v, &n, &err), 0);
  CHECK_EQ_INT(n, N_FILES);
  if (n == N_FILES)
    CHECK_EQ_STR(v[N_FILES - 1].entry.path, "f59.html");
  CHECK_EQ_INT(diff_finish(d, &again, &n_again, &err), -EINVAL);
  CHECK(again == NULL && n_again == 0);
  changes_free(v, n);
  diff_destroy(d);
  manifest_destroy(m);
  test_rmtree(dir);
}

#if AS_LIMIT_USABLE
/* 2^17 entries that fill the walk's array exactly, and a manifest. */
static void full_tree(struct tree *t, struct manifest **m)
{
  struct stat st;
  char rel[32];
  size_t i;

  memset(&st, 0, sizeof(st));
  tree_init(t);
  for (i = 0; i < ((size_t)1 << 17); i++) {
    (void)snprintf(rel, sizeof(rel), "p%07zu", i);
    REQUIRE(tree_add(t, rel, &st) == 0);
  }
  REQUIRE(t->cap == t->n);
  REQUIRE(manifest_new(m) == 0);
}
#endif

/* Issue 13: beside its change, a candidate costs the diff one byte (its
 * state), where it cost 16 (its manifest entry, state and errno): under
 * a cap that left room for 16 bytes a candidate and not for the array's
 * growth, taking the tree now fits. */
static void test_a_candidate_costs_a_byte_beside_its_change(void)
{
#if !AS_LIMIT_USABLE
  CHECK(1); /* a cap on the address space would stop the sanitizer */
#else
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d = NULL;
  struct rlimit old;
  struct tree t;
  int rc;

  full_tree(&t, &m);
  as_cap(t.n * 16 + ((size_t)512 << 10), &old);
  rc = diff_begin_take(&d, &t, m, NULL, &err);
  as_restore(&old);
  CHECK_EQ_INT(rc, 0);
  CHECK(d != NULL && diff_hash_count(d) == ((size_t)1 << 17));
  diff_destroy(d);
  manifest_destroy(m);
#endif
}

/* Issue 13: a change is laid out as its entry, so the walk's array
 * becomes the change array as it is: 2^17 entries that fill it exactly
 * (it doubles from 16) are taken under a cap that leaves room for the
 * 128 KiB of states and not for the 8 bytes an entry (1 MiB) that
 * taking them once cost. */
static void test_taking_the_tree_costs_only_the_states(void)
{
#if !AS_LIMIT_USABLE
  CHECK(1); /* a cap on the address space would stop the sanitizer */
#else
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d = NULL;
  struct rlimit old;
  struct tree t;
  int rc;

  full_tree(&t, &m);
  as_cap(t.n + ((size_t)512 << 10), &old);
  rc = diff_begin_take(&d, &t, m, NULL, &err);
  as_restore(&old);
  CHECK_EQ_INT(rc, 0);
  CHECK(d != NULL && diff_hash_count(d) == ((size_t)1 << 17));
  diff_destroy(d);
  manifest_destroy(m);
#endif
}

/* With no room even for the states, diff_begin_take fails with -ENOMEM
 * and frees the tree it took.  Sanitizers reserve address space of
 * their own, so this runs only in the plain build. */
static void test_no_room_to_take_the_tree_is_enomem(void)
{
#if !AS_LIMIT_USABLE
  CHECK(1); /* a cap on the address space would stop the sanitizer */
#else
  struct cfw_err err = {0};
  struct manifest *m;
  struct diff *d = (struct diff *)&err;
  struct rlimit old;
  struct tree t;

  full_tree(&t, &m);
  /* Half the 128 KiB of states. */
  as_cap(t.n / 2, &old);
  CHECK_EQ_INT(diff_begin_take(&d, &t, m, NULL, &err), -ENOMEM);
  as_restore(&old);
  CHECK(d == NULL);
  CHECK(t.v == NULL && t.n == 0);
  CHECK_CONTAINS(err.msg, "out of memory");
  manifest_destroy(m);
#endif
}

/* Each case alone (test.h): a case caps its address space (aslimit.h). */
TEST_MAIN_ALONE(TEST(test_every_kind_interleaved_comes_out_in_path_order),
                TEST(test_empty_tree_and_manifest_give_nothing),
                TEST(test_empty_tree_deletes_every_known_file),
                TEST(test_failures_are_kept_only_for_the_failed_files),
                TEST(test_early_finish_changes_nothing),
                TEST(test_a_candidate_costs_a_byte_beside_its_change),
                TEST(test_taking_the_tree_costs_only_the_states),
                TEST(test_no_room_to_take_the_tree_is_enomem))
