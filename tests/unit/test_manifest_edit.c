/* SPDX-License-Identifier: MIT */
/* manifest_apply and manifest_apply_take: batches of changes applied
 * in place (issue 13), checked case by case and against a plain sorted
 * merge. */

#include "diff.h"
#include "manifest.h"

#include "aslimit.h"
#include "pathref.h"
#include "test.h"

/* p, or the case ends: a test cannot go on without its memory. */
static void *must(void *p)
{
  if (p == NULL) {
    (void)fputs("out of memory\n", stderr);
    exit(2);
  }
  return p;
}

static struct tree_entry entry(const char *path, unsigned seed)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* borrowed unless given */
  e.size = 100 + seed;
  e.mtime_ns = INT64_C(1700000000000000000) + seed;
  e.ino = 1000 + seed;
  e.flags = TREE_HASHED | (seed % 2 ? TREE_RACY : 0);
  memset(e.hash, (int)(seed & 0xff), sizeof(e.hash));
  return e;
}

/* A change putting e (m copies its path unless it takes them). */
static struct change put(struct tree_entry e)
{
  return change_make(CHANGE_MODIFIED, e);
}

/* A change removing e.path. */
static struct change del(struct tree_entry e)
{
  return change_make(CHANGE_DELETED, e);
}

/* A manifest of "d/p00".."d/p<n-1>" (n <= 100), seeds base + i. */
static struct manifest *sample(size_t n, unsigned base)
{
  struct tree_entry e;
  struct manifest *m;
  char path[32];
  size_t i;

  REQUIRE(manifest_new(&m) == 0);
  for (i = 0; i < n; i++) {
    (void)snprintf(path, sizeof(path), "d/p%02zu", i);
    e = entry(path, base + (unsigned)i);
    CHECK_EQ_INT(manifest_put(m, &e), 0);
  }
  return m;
}

/* Checks m holds exactly the paths in want, in order, and that the
 * entry at each has size 100 + the seed in sizes (0: any). */
static void check_paths(const struct manifest *m, const char *const *want,
                        const unsigned *sizes, size_t n)
{
  size_t i;

  CHECK_EQ_INT(manifest_count(m), n);
  for (i = 0; i < n && i < manifest_count(m); i++) {
    CHECK_EQ_STR(manifest_at(m, i)->path, want[i]);
    if (sizes != NULL && sizes[i] != 0)
      CHECK_EQ_INT(manifest_at(m, i)->size, 100 + sizes[i]);
  }
}

static void test_edit_mix_at_start_middle_and_end(void)
{
  struct manifest *m = sample(10, 1); /* d/p00 .. d/p09, seeds 1..10 */
  struct change ed[] = {put(entry("z", 56)),      put(entry("d/p00", 51)),
                        del(entry("d/p01", 0)),   put(entry("d/p05", 53)),
                        put(entry("d/p05x", 54)), del(entry("d/p09", 0)),
                        put(entry("a", 50)),      del(entry("d/p04", 0))};
  const char *const want[] = {"a",      "d/p00", "d/p02", "d/p03", "d/p05",
                              "d/p05x", "d/p06", "d/p07", "d/p08", "z"};
  const unsigned sizes[] = {50, 51, 3, 4, 53, 54, 7, 8, 9, 56};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_apply(m, ed, 8, &err), 0);
  check_paths(m, want, sizes, 10);
  manifest_destroy(m);
}

static void test_edit_into_an_empty_manifest(void)
{
  struct manifest *m = sample(0, 0);
  struct change ed[] = {put(entry("c", 3)), put(entry("a", 1)),
                        del(entry("gone", 0)), put(entry("b", 2))};
  struct change twice[] = {put(entry("a", 1)), put(entry("a", 1))};
  const char *const want[] = {"a", "b", "c"};
  const unsigned sizes[] = {1, 2, 3};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_apply(m, ed, 1, &err), 0); /* one */
  CHECK_EQ_INT(manifest_apply(m, &ed[2], 1, &err), 0);
  check_paths(m, &want[2], &sizes[2], 1);
  CHECK_EQ_INT(manifest_apply(m, twice, 2, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "twice");
  CHECK_EQ_INT(manifest_apply(m, &ed[1], 3, &err), 0);
  check_paths(m, want, sizes, 3);
  CHECK(manifest_at(m, 0)->path != ed[1].entry.path); /* a copy */
  manifest_destroy(m);
}

static void test_edit_deleting_everything_then_adding(void)
{
  struct manifest *m = sample(40, 1);
  struct change ed[40];
  struct change add = put(entry("new", 7));
  char paths[40][16];
  struct cfw_err err = {0};
  size_t i;

  for (i = 0; i < 40; i++) {
    (void)snprintf(paths[39 - i], sizeof(paths[0]), "d/p%02zu", i);
    ed[i] = del(entry(paths[39 - i], 0)); /* reverse order: sorted view */
  }
  CHECK_EQ_INT(manifest_apply(m, ed, 40, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 0);
  CHECK_EQ_INT(manifest_apply(m, ed, 40, &err), 0); /* all absent now */
  CHECK_EQ_INT(manifest_apply(m, &add, 1, &err), 0);
  CHECK_EQ_STR(manifest_at(m, 0)->path, "new");
  CHECK_EQ_INT(manifest_count(m), 1);
  manifest_destroy(m);
}

/* Adds move entries, but never copy their path strings. */
static void test_edit_adding_keeps_existing_path_strings(void)
{
  struct manifest *m = sample(30, 1);
  const char *before[30];
  struct change ed[] = {put(entry("a", 1)), put(entry("d/p10a", 2)),
                        del(entry("d/p20", 3)), put(entry("e", 4))};
  struct cfw_err err = {0};
  size_t i;
  size_t k = 0;

  for (i = 0; i < 30; i++)
    before[i] = manifest_at(m, i)->path;
  CHECK_EQ_INT(manifest_apply(m, ed, 4, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 32);
  for (i = 0; i < 30; i++) {
    if (i == 20)
      continue;
    while (strcmp(manifest_at(m, k)->path, before[i]) != 0)
      k++;
    CHECK(manifest_at(m, k)->path == before[i]);
  }
  manifest_destroy(m);
}

/* Taking, m takes the path of an add and keeps its own for a put that
 * replaces; unsorted, through the sorted view. */
static void test_edit_takes_given_paths_of_adds_only(void)
{
  struct manifest *m = sample(3, 1);
  char *add_path = pathref_dup("d/p01a");
  char *rep_path = pathref_dup("d/p02");
  char *keep = add_path;
  struct change ed[] = {put(entry(rep_path, 8)), put(entry(add_path, 9))};
  struct cfw_err err = {0};

  REQUIRE(add_path != NULL && rep_path != NULL);
  CHECK_EQ_INT(manifest_apply_take(m, ed, 2, &err), 0);
  CHECK(ed[1].entry.path == NULL);
  CHECK(manifest_find(m, "d/p01a")->path == keep);
  CHECK(ed[0].entry.path == rep_path); /* m kept its own string */
  CHECK(manifest_find(m, "d/p02")->path != rep_path);
  CHECK_EQ_INT(manifest_find(m, "d/p02")->size, 108);
  CHECK_EQ_INT(manifest_count(m), 4);
  pathref_drop(rep_path);
  manifest_destroy(m);
}

static void test_failed_edit_gives_nothing(void)
{
  struct manifest *m = sample(3, 1);
  char *p = pathref_dup("b");
  struct change ed[] = {put(entry(p, 9)), put(entry("d/../x", 1))};
  struct cfw_err err = {0};

  REQUIRE(p != NULL);
  CHECK_EQ_INT(manifest_apply_take(m, ed, 2, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "d/../x");
  CHECK(ed[0].entry.path == p);
  CHECK_EQ_INT(manifest_count(m), 3);
  CHECK(manifest_find(m, "b") == NULL);
  pathref_drop(p);
  manifest_destroy(m);
}

/* A commit frees its intent's changes after applying them: the
 * manifest takes the added paths, and changes_free frees the rest
 * (ASan checks there is neither a leak nor a double free). */
static void test_apply_take_leaves_added_paths_null(void)
{
  struct manifest *m = sample(3, 1);
  struct change *v = calloc(3, sizeof(*v));
  const char *paths[] = {"d/p00", "d/p01", "d/p01b"};
  const enum change_kind kinds[] = {CHANGE_MODIFIED, CHANGE_DELETED,
                                    CHANGE_ADDED};
  char *added;
  struct cfw_err err = {0};
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < 3; i++) {
    v[i].entry = entry(paths[i], 20 + (unsigned)i);
    change_set_kind(&v[i], kinds[i]);
    v[i].entry.path = must(pathref_dup(paths[i]));
  }
  added = v[2].entry.path;
  CHECK_EQ_INT(manifest_apply_take(m, v, 3, &err), 0);
  CHECK(v[0].entry.path != NULL && v[1].entry.path != NULL);
  CHECK(v[2].entry.path == NULL);
  CHECK(manifest_find(m, "d/p01b")->path == added);
  CHECK(manifest_find(m, "d/p01") == NULL);
  CHECK_EQ_INT(manifest_find(m, "d/p00")->size, 120);
  changes_free(v, 3);
  manifest_destroy(m);
}

#if AS_LIMIT_USABLE
/* n puts of fresh paths of len bytes each ("e000..."), after the
 * sample's "d/..." paths, in path order. */
static struct change *many_adds(size_t n, size_t len)
{
  struct change *v = calloc(n, sizeof(*v));
  char *name = must(malloc(len));
  char prefix[32];
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < n; i++) {
    v[i] = put(entry("", (unsigned)i));
    (void)snprintf(prefix, sizeof(prefix), "e%07zu", i);
    memset(name, 'x', len);
    memcpy(name, prefix, 8); /* len >= 8 */
    v[i].entry.path = must(pathref_new(name, len));
  }
  free(name);
  return v;
}

/* Applies v under an address-space limit of headroom bytes beyond what
 * is in use, taking its paths if take; checks it fails with -ENOMEM and
 * leaves m and v's paths as they were. */
static void edit_out_of_memory(struct manifest *m, struct change *v, size_t n,
                               bool take, size_t headroom)
{
  struct rlimit old;
  struct manifest *copy;
  struct cfw_err err = {0};
  size_t i;
  int rc;

  REQUIRE(manifest_copy(&copy, m) == 0);
  as_cap(headroom, &old);
  rc =
      take ? manifest_apply_take(m, v, n, &err) : manifest_apply(m, v, n, &err);
  as_restore(&old);
  CHECK_EQ_INT(rc, -ENOMEM);
  CHECK_CONTAINS(err.msg, "out of memory");
  CHECK_EQ_INT(manifest_count(m), manifest_count(copy));
  for (i = 0; i < manifest_count(m); i++) {
    CHECK_EQ_STR(manifest_at(m, i)->path, manifest_at(copy, i)->path);
    CHECK_EQ_INT(manifest_at(m, i)->flags, manifest_at(copy, i)->flags);
    CHECK_EQ_INT(manifest_at(m, i)->size, manifest_at(copy, i)->size);
  }
  for (i = 0; i < n; i++)
    CHECK(v[i].entry.path != NULL);
  manifest_destroy(copy);
}

/* Puts of m's first n paths, with other seeds: each replaces an entry. */
static struct change *rewrites_of(const struct manifest *m, size_t n)
{
  struct change *w = calloc(n + 1, sizeof(*w));
  size_t i;

  REQUIRE(w != NULL);
  for (i = 0; i < n; i++) {
    w[i] = put(entry("", (unsigned)i + 7));
    w[i].entry.path = must(pathref_dup(manifest_at(m, i)->path));
  }
  return w;
}

#endif

/* Out of memory, the manifest is left as it was: once where the array
 * cannot grow (many adds), once where the path copies run out (few
 * adds with long paths).  ASan reserves terabytes of shadow memory, so
 * an address-space limit cannot be set under it: there the code's
 * order (every allocation before the first change) is the argument. */
static void test_edit_out_of_memory_leaves_the_manifest(void)
{
#if !AS_LIMIT_USABLE
  CHECK(true);
#else
  struct manifest *m = sample(50, 1);
  struct change *v;
  struct cfw_err err = {0};

  v = many_adds(200000, 8); /* an array of 17 MB */
  edit_out_of_memory(m, v, 200000, true, 4u << 20);
  changes_free(v, 200000);
  v = many_adds(1000, MANIFEST_PATH_MAX); /* copies: 4 MB */
  edit_out_of_memory(m, v, 1000, false, 1u << 20);
  CHECK_EQ_INT(manifest_apply(m, v, 1000, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 1050);
  changes_free(v, 1000);
  manifest_destroy(m);
#endif
}

/* Issue 13: a commit of a whole-site rewrite, a diff's sorted changes
 * each replacing an entry, allocates nothing: no edit array beside the
 * changes (24 bytes a change: 4.8 MB here, which the address-space cap
 * leaves no room for), no sorted copy, no path. */
static void test_sorted_rewrite_allocates_nothing(void)
{
#if !AS_LIMIT_USABLE
  CHECK(true);
#else
  enum { N = 200000 };
  struct manifest *m = sample(0, 0);
  struct change *v = many_adds(N, 8);
  struct change *w;
  struct rlimit old;
  struct cfw_err err = {0};
  int rc;

  REQUIRE(manifest_apply_take(m, v, N, &err) == 0);
  w = rewrites_of(m, N);
  as_cap(1u << 20, &old);
  rc = manifest_apply_take(m, w, N, &err);
  as_restore(&old);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_INT(manifest_count(m), N);
  CHECK_EQ_INT(manifest_at(m, 0)->size, 107);
  CHECK_EQ_INT(manifest_at(m, N - 1)->size, 100 + N - 1 + 7);
  changes_free(w, N);
  changes_free(v, N);
  manifest_destroy(m);
#endif
}

/* The differential test: a plain model (for each path of a small
 * universe, the seed stored or 0) against which every random batch is
 * checked, paths taken and copied, sorted and not. */
#define UNIVERSE 3000

struct model {
  char paths[UNIVERSE][24]; /* sorted by strcmp */
  unsigned seed[UNIVERSE];  /* 0: absent */
};

static uint64_t rng_next(uint64_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static int path_cmp(const void *a, const void *b)
{
  return strcmp(a, b);
}

static void model_init(struct model *md)
{
  size_t i;

  memset(md, 0, sizeof(*md));
  /* Nested names and prefixes of each other, so that order is strcmp's
   * ("a/b" < "a0"), not the index's. */
  for (i = 0; i < UNIVERSE; i++)
    (void)snprintf(md->paths[i], sizeof(md->paths[i]), "%s%zu/f%zu",
                   i % 3 ? "a" : "a/", i % 37, i);
  qsort(md->paths, UNIVERSE, sizeof(md->paths[0]), path_cmp);
}

/* One batch: each path is edited with probability 1/rate; the model
 * is updated as the batch should leave m.  With take, each change holds
 * a path of its own, for m to take.  Returns the change count. */
static size_t random_batch(struct model *md, uint64_t *x, unsigned rate,
                           bool take, struct change *ed)
{
  size_t n = 0;
  size_t i;
  uint64_t r;

  for (i = 0; i < UNIVERSE; i++) {
    r = rng_next(x);
    if (r % rate != 0)
      continue;
    ed[n] = put(entry(md->paths[i], (unsigned)(r >> 40) | 1));
    if (r >> 20 & 1)
      change_set_kind(&ed[n], CHANGE_DELETED);
    if (take)
      ed[n].entry.path = must(pathref_dup(md->paths[i]));
    md->seed[i] = r >> 20 & 1 ? 0 : (unsigned)(r >> 40) | 1;
    n++;
  }
  return n;
}

static void shuffle(struct change *ed, size_t n, uint64_t *x)
{
  struct change t;
  size_t i;
  size_t j;

  for (i = n; i > 1; i--) {
    j = rng_next(x) % i;
    t = ed[i - 1];
    ed[i - 1] = ed[j];
    ed[j] = t;
  }
}

static void check_model(const struct manifest *m, const struct model *md)
{
  const struct tree_entry *t;
  size_t k = 0;
  size_t i;

  for (i = 0; i < UNIVERSE; i++) {
    if (md->seed[i] == 0)
      continue;
    t = manifest_at(m, k++);
    CHECK(t != NULL);
    if (t == NULL)
      return;
    CHECK_EQ_STR(t->path, md->paths[i]);
    CHECK_EQ_INT(t->size, 100 + (uint64_t)md->seed[i]);
  }
  CHECK_EQ_INT(manifest_count(m), k);
}

static void test_edit_matches_a_reference_over_random_batches(void)
{
  static struct model md;
  static struct change ed[UNIVERSE];
  static const unsigned rates[] = {1, 2, 5, 40, 300};
  struct manifest *m = sample(0, 0);
  struct cfw_err err = {0};
  uint64_t x = 0x9e3779b97f4a7c15u;
  size_t round;
  bool take;
  size_t n;
  size_t i;

  model_init(&md);
  for (round = 0; round < 400; round++) {
    take = round % 4 >= 2;
    n = random_batch(&md, &x, rates[round % 5], take, ed);
    if (round % 2)
      shuffle(ed, n, &x);
    CHECK_EQ_INT(take ? manifest_apply_take(m, ed, n, &err)
                      : manifest_apply(m, ed, n, &err),
                 0);
    check_model(m, &md);
    for (i = 0; take && i < n; i++)
      pathref_drop(ed[i].entry.path); /* NULL where m took it */
  }
  manifest_destroy(m);
}

/* Each case alone (test.h): a case caps its address space (aslimit.h). */
TEST_MAIN_ALONE(TEST(test_edit_mix_at_start_middle_and_end),
                TEST(test_edit_into_an_empty_manifest),
                TEST(test_edit_deleting_everything_then_adding),
                TEST(test_edit_adding_keeps_existing_path_strings),
                TEST(test_edit_takes_given_paths_of_adds_only),
                TEST(test_failed_edit_gives_nothing),
                TEST(test_apply_take_leaves_added_paths_null),
                TEST(test_edit_out_of_memory_leaves_the_manifest),
                TEST(test_sorted_rewrite_allocates_nothing),
                TEST(test_edit_matches_a_reference_over_random_batches))
