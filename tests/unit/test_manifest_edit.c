/* SPDX-License-Identifier: MIT */
/* manifest_edit and manifest_apply_take: batches applied in place
 * (issue 13), checked case by case and against a plain sorted merge. */

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
  struct tree_entry e[] = {entry("a", 50),      entry("d/p00", 51),
                           entry("d/p01", 0),   entry("d/p05", 53),
                           entry("d/p05x", 54), entry("d/p09", 0),
                           entry("z", 56),      entry("d/p04", 0)};
  struct manifest_edit ed[] = {{.entry = &e[6]},
                               {.entry = &e[1]},
                               {.entry = &e[2], .remove = true},
                               {.entry = &e[3]},
                               {.entry = &e[4]},
                               {.entry = &e[5], .remove = true},
                               {.entry = &e[0]},
                               {.entry = &e[7], .remove = true}};
  const char *const want[] = {"a",      "d/p00", "d/p02", "d/p03", "d/p05",
                              "d/p05x", "d/p06", "d/p07", "d/p08", "z"};
  const unsigned sizes[] = {50, 51, 3, 4, 53, 54, 7, 8, 9, 56};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_edit(m, ed, 8, &err), 0);
  check_paths(m, want, sizes, 10);
  manifest_destroy(m);
}

static void test_edit_into_an_empty_manifest(void)
{
  struct manifest *m = sample(0, 0);
  struct tree_entry e[] = {entry("c", 3), entry("a", 1), entry("b", 2),
                           entry("gone", 0)};
  struct manifest_edit ed[] = {{.entry = &e[0]},
                               {.entry = &e[1]},
                               {.entry = &e[3], .remove = true},
                               {.entry = &e[2]}};
  struct manifest_edit twice[] = {{.entry = &e[1]}, {.entry = &e[1]}};
  const char *const want[] = {"a", "b", "c"};
  const unsigned sizes[] = {1, 2, 3};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_edit(m, ed, 1, &err), 0); /* one */
  CHECK_EQ_INT(manifest_edit(m, &ed[2], 1, &err), 0);
  check_paths(m, &want[2], &sizes[2], 1);
  CHECK_EQ_INT(manifest_edit(m, twice, 2, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "twice");
  CHECK_EQ_INT(manifest_edit(m, &ed[1], 3, &err), 0);
  check_paths(m, want, sizes, 3);
  CHECK(manifest_at(m, 0)->path != e[1].path); /* a copy */
  manifest_destroy(m);
}

static void test_edit_deleting_everything_then_adding(void)
{
  struct manifest *m = sample(40, 1);
  struct tree_entry e[40];
  struct manifest_edit ed[40];
  struct tree_entry add = entry("new", 7);
  struct manifest_edit put = {.entry = &add};
  char paths[40][16];
  struct cfw_err err = {0};
  size_t i;

  for (i = 0; i < 40; i++) {
    (void)snprintf(paths[39 - i], sizeof(paths[0]), "d/p%02zu", i);
    e[i] = entry(paths[39 - i], 0); /* reverse order: sorted copy */
    ed[i] = (struct manifest_edit){.entry = &e[i], .remove = true};
  }
  CHECK_EQ_INT(manifest_edit(m, ed, 40, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 0);
  CHECK_EQ_INT(manifest_edit(m, ed, 40, &err), 0); /* all absent now */
  CHECK_EQ_INT(manifest_edit(m, &put, 1, &err), 0);
  CHECK_EQ_STR(manifest_at(m, 0)->path, "new");
  CHECK_EQ_INT(manifest_count(m), 1);
  manifest_destroy(m);
}

/* Adds move entries, but never copy their path strings. */
static void test_edit_adding_keeps_existing_path_strings(void)
{
  struct manifest *m = sample(30, 1);
  const char *before[30];
  struct tree_entry e[] = {entry("a", 1), entry("d/p10a", 2), entry("d/p20", 3),
                           entry("e", 4)};
  struct manifest_edit ed[] = {{.entry = &e[0]},
                               {.entry = &e[1]},
                               {.entry = &e[2], .remove = true},
                               {.entry = &e[3]}};
  struct cfw_err err = {0};
  size_t i;
  size_t k = 0;

  for (i = 0; i < 30; i++)
    before[i] = manifest_at(m, i)->path;
  CHECK_EQ_INT(manifest_edit(m, ed, 4, &err), 0);
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

static void test_edit_takes_given_paths_of_adds_only(void)
{
  struct manifest *m = sample(3, 1);
  char *add_path = pathref_dup("d/p01a");
  char *rep_path = pathref_dup("d/p02");
  char *keep = add_path;
  struct tree_entry add = entry(add_path, 9);
  struct tree_entry rep = entry(rep_path, 8);
  struct manifest_edit ed[] = {{.entry = &add, .give = &add.path},
                               {.entry = &rep, .give = &rep.path}};
  struct cfw_err err = {0};

  REQUIRE(add_path != NULL && rep_path != NULL);
  CHECK_EQ_INT(manifest_edit(m, ed, 2, &err), 0);
  CHECK(add.path == NULL);
  CHECK(manifest_find(m, "d/p01a")->path == keep);
  CHECK(rep.path == rep_path); /* m kept its own string */
  CHECK(manifest_find(m, "d/p02")->path != rep_path);
  CHECK_EQ_INT(manifest_find(m, "d/p02")->size, 108);
  CHECK_EQ_INT(manifest_count(m), 4);
  pathref_drop(rep.path);
  manifest_destroy(m);
}

static void test_failed_edit_gives_nothing(void)
{
  struct manifest *m = sample(3, 1);
  char *p = pathref_dup("b");
  struct tree_entry add = entry(p, 9);
  struct tree_entry bad = entry("d/../x", 1);
  struct manifest_edit ed[] = {{.entry = &add, .give = &add.path},
                               {.entry = &bad}};
  struct cfw_err err = {0};

  REQUIRE(p != NULL);
  CHECK_EQ_INT(manifest_edit(m, ed, 2, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "d/../x");
  CHECK(add.path == p);
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
    v[i].kind = kinds[i];
    v[i].entry = entry(paths[i], 20 + (unsigned)i);
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
/* n puts of fresh paths of len bytes each ("a000..."), after the
 * sample's "d/..." paths; they give their paths if give. */
static struct change *many_adds(size_t n, size_t len, bool give,
                                struct manifest_edit **ed)
{
  struct change *v = calloc(n, sizeof(*v));
  char *name = must(malloc(len));
  char prefix[32];
  size_t i;

  *ed = calloc(n, sizeof(**ed));
  REQUIRE(v != NULL && *ed != NULL);
  for (i = 0; i < n; i++) {
    v[i].entry = entry("", (unsigned)i);
    (void)snprintf(prefix, sizeof(prefix), "e%07zu", i);
    memset(name, 'x', len);
    memcpy(name, prefix, 8); /* len >= 8 */
    v[i].entry.path = must(pathref_new(name, len));
    (*ed)[i].entry = &v[i].entry;
    (*ed)[i].give = give ? &v[i].entry.path : NULL;
  }
  free(name);
  return v;
}

/* Runs ed under an address-space limit of headroom bytes beyond what
 * is in use; checks it fails with -ENOMEM and leaves m and the given
 * paths as they were. */
static void edit_out_of_memory(struct manifest *m,
                               const struct manifest_edit *ed, size_t n,
                               size_t headroom)
{
  struct rlimit old;
  struct manifest *copy;
  struct cfw_err err = {0};
  size_t i;
  int rc;

  REQUIRE(manifest_copy(&copy, m) == 0);
  as_cap(headroom, &old);
  rc = manifest_edit(m, ed, n, &err);
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
    CHECK(ed[i].give == NULL || *ed[i].give != NULL);
  manifest_destroy(copy);
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
  struct manifest_edit *ed;
  struct change *v;
  struct cfw_err err = {0};

  v = many_adds(200000, 8, true, &ed); /* an array of 17 MB */
  edit_out_of_memory(m, ed, 200000, 4u << 20);
  changes_free(v, 200000);
  free(ed);
  v = many_adds(1000, MANIFEST_PATH_MAX, false, &ed); /* copies: 4 MB */
  edit_out_of_memory(m, ed, 1000, 1u << 20);
  CHECK_EQ_INT(manifest_edit(m, ed, 1000, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 1050);
  changes_free(v, 1000);
  free(ed);
  manifest_destroy(m);
#endif
}

/* The differential test: a plain model (for each path of a small
 * universe, the seed stored or 0) against which every random batch is
 * checked, edits given and copied, sorted and not. */
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
 * is updated as the batch should leave m.  Returns the edit count. */
static size_t random_batch(struct model *md, uint64_t *x, unsigned rate,
                           struct tree_entry *e, struct manifest_edit *ed,
                           char **given)
{
  size_t n = 0;
  size_t i;
  uint64_t r;

  for (i = 0; i < UNIVERSE; i++) {
    r = rng_next(x);
    if (r % rate != 0)
      continue;
    e[n] = entry(md->paths[i], (unsigned)(r >> 40) | 1);
    ed[n] = (struct manifest_edit){.entry = &e[n], .remove = r >> 20 & 1};
    if ((r >> 21 & 1) && !ed[n].remove) {
      given[n] = must(pathref_dup(md->paths[i]));
      e[n].path = given[n];
      ed[n].give = &given[n];
    }
    md->seed[i] = ed[n].remove ? 0 : (unsigned)(r >> 40) | 1;
    n++;
  }
  return n;
}

static void shuffle(struct manifest_edit *ed, size_t n, uint64_t *x)
{
  struct manifest_edit t;
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
  static struct tree_entry e[UNIVERSE];
  static struct manifest_edit ed[UNIVERSE];
  static char *given[UNIVERSE];
  static const unsigned rates[] = {1, 2, 5, 40, 300};
  struct manifest *m = sample(0, 0);
  struct cfw_err err = {0};
  uint64_t x = 0x9e3779b97f4a7c15u;
  size_t round;
  size_t n;
  size_t i;

  model_init(&md);
  for (round = 0; round < 400; round++) {
    memset(given, 0, sizeof(given));
    n = random_batch(&md, &x, rates[round % 5], e, ed, given);
    if (round % 2)
      shuffle(ed, n, &x);
    CHECK_EQ_INT(manifest_edit(m, ed, n, &err), 0);
    check_model(m, &md);
    for (i = 0; i < n; i++)
      pathref_drop(given[i]); /* NULL where m took it */
  }
  manifest_destroy(m);
}

TEST_MAIN(TEST(test_edit_mix_at_start_middle_and_end),
          TEST(test_edit_into_an_empty_manifest),
          TEST(test_edit_deleting_everything_then_adding),
          TEST(test_edit_adding_keeps_existing_path_strings),
          TEST(test_edit_takes_given_paths_of_adds_only),
          TEST(test_failed_edit_gives_nothing),
          TEST(test_apply_take_leaves_added_paths_null),
          TEST(test_edit_out_of_memory_leaves_the_manifest),
          TEST(test_edit_matches_a_reference_over_random_batches))
