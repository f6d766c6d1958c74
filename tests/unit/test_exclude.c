/* SPDX-License-Identifier: MIT */
#include "exclude.h"

#include "exclude_ref.h"
#include "glob_gen.h"
#include "test.h"
#include "util.h"

/* The differential tests: how many glob sets, and paths per set and
 * is_dir value.  20,000 comparisons with the fnmatch reference a run. */
#define DIFF_SETS         1000
#define DIFF_PATHS        10
#define DIFF_MAX_GLOBS    6
#define DIFF_BIG_SET      80 /* every 50th set: past the 64 index slots */
#define DIFF_DEFAULT_SEED UINT64_C(0x5eed0fe8c1d35)

static struct exclude *set_of(const char *const *globs, size_t n)
{
  struct exclude *x;
  struct cfw_err err;
  size_t i;

  if (exclude_new(&x, &err) < 0)
    exit(2);
  for (i = 0; i < n; i++)
    if (exclude_add(x, globs[i], &err) < 0)
      TEST_FAIL_("exclude_add(\"%s\"): %s", globs[i], err.msg);
  return x;
}

#define SET_OF(...)                                                            \
  set_of((const char *const[]){__VA_ARGS__},                                   \
         sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void check_match_(const struct exclude *x, const char *rel, bool is_dir,
                         bool want, int line)
{
  bool got = exclude_match(x, rel, is_dir);

  if (got != want)
    TEST_FAIL_("line %d: exclude_match(\"%s\", %s) is %d, want %d", line, rel,
               is_dir ? "dir" : "file", got, want);
}

#define check_match(x, rel, is_dir, want)                                      \
  check_match_(x, rel, is_dir, want, __LINE__)

static void test_literal_name_matches_whole_component_only(void)
{
  struct exclude *x = SET_OF("4913");

  check_match(x, "4913", false, true);
  check_match(x, "a/4913", false, true);
  check_match(x, "4913/b.html", false, true);
  check_match(x, "x4913", false, false);
  check_match(x, "49134", false, false);
  check_match(x, "491", false, false);
  exclude_destroy(x);
}

static void test_suffix_glob_matches_names_ending_in_it(void)
{
  struct exclude *x = SET_OF("*.swp");

  check_match(x, ".swp", false, true); /* '*' matches nothing too */
  check_match(x, "a.swp", false, true);
  check_match(x, "d/.a.swp", false, true);
  check_match(x, "a.swp/b", false, true);
  check_match(x, "a.swpx", false, false);
  check_match(x, "a.sw", false, false);
  check_match(x, "swp", false, false);
  exclude_destroy(x);
}

static void test_prefix_glob_matches_names_starting_with_it(void)
{
  struct exclude *x = SET_OF(".#*");

  check_match(x, ".#", false, true);
  check_match(x, "a/.#b.html", false, true);
  check_match(x, "a.#b", false, false);
  check_match(x, ".a#", false, false);
  exclude_destroy(x);
}

static void test_head_and_tail_of_a_star_do_not_overlap(void)
{
  struct exclude *x = SET_OF("#*#", "a*a");

  check_match(x, "##", false, true);
  check_match(x, "#a#", false, true);
  check_match(x, "#", false, false);
  check_match(x, "a", false, false);
  check_match(x, "aa", false, true);
  check_match(x, "aba", false, true);
  exclude_destroy(x);
}

static void test_run_of_stars_is_one_star(void)
{
  struct exclude *x = SET_OF("**.bak", "tmp***");

  check_match(x, ".bak", false, true);
  check_match(x, "x.bak", false, true);
  check_match(x, "tmp", false, true);
  check_match(x, "tmp1", false, true);
  check_match(x, "xtmp", false, false);
  exclude_destroy(x);
}

static void test_escaped_bytes_are_literal(void)
{
  struct exclude *x = SET_OF("\\*.swp", "a\\?", "\\[x]", "b\\\\");

  check_match(x, "*.swp", false, true);
  check_match(x, "a.swp", false, false);
  check_match(x, "a?", false, true);
  check_match(x, "ab", false, false);
  check_match(x, "[x]", false, true);
  check_match(x, "x", false, false);
  check_match(x, "b\\", false, true);
  exclude_destroy(x);
}

static void test_trailing_backslash_never_matches(void)
{
  struct exclude *x = SET_OF("a\\");

  check_match(x, "a\\", false, false);
  check_match(x, "a", false, false);
  exclude_destroy(x);
}

static void test_other_globs_match_as_fnmatch_does(void)
{
  struct exclude *x = SET_OF("?.js", "[ab].css", "*.*.bak", "[!a-y]z");

  check_match(x, "a.js", false, true);
  check_match(x, "ab.js", false, false);
  check_match(x, "d/b.css", false, true);
  check_match(x, "c.css", false, false);
  check_match(x, "x.y.bak", false, true);
  check_match(x, "x.bak", false, false);
  check_match(x, "zz", false, true);
  check_match(x, "az", false, false);
  exclude_destroy(x);
}

static void test_literal_path_matches_it_and_below(void)
{
  struct exclude *x = SET_OF("blog/old", "/drafts/", "a\\*/b");

  check_match(x, "blog/old", false, true);
  check_match(x, "blog/old/x.html", false, true);
  check_match(x, "blog/older", false, false);
  check_match(x, "blog", true, false);
  check_match(x, "x/blog/old", false, false);
  check_match(x, "drafts", false, false);
  check_match(x, "drafts", true, true);
  check_match(x, "drafts/a.html", false, true);
  check_match(x, "a*/b", false, true);
  check_match(x, "ab/b", false, false);
  exclude_destroy(x);
}

static void test_star_in_a_path_glob_stops_at_slash(void)
{
  struct exclude *x = SET_OF("blog/2019-*");

  check_match(x, "blog/2019-01.html", false, true);
  check_match(x, "blog/2019-01/a.html", false, true);
  check_match(x, "blog/2020-01.html", false, false);
  exclude_destroy(x);
}

/* The callers that are handed a deep path (the partial walk, the FSEvents
 * watch) rely on the parents being tested here. */
static void test_parents_are_tested_for_the_caller(void)
{
  struct exclude *x = SET_OF(".git/", "*~");

  check_match(x, ".git/objects/ab/cd", false, true);
  check_match(x, "a/.git", true, true);
  check_match(x, "a/.git", false, false);
  check_match(x, "a~/b.html", false, true);
  check_match(x, "a/b.html", false, false);
  exclude_destroy(x);
}

static void test_root_and_empty_set_match_nothing(void)
{
  struct exclude *x = SET_OF("*");
  struct exclude *none = set_of(NULL, 0);

  check_match(x, "", true, false);
  check_match(x, "a", false, true);
  check_match(none, "a.swp", false, false);
  exclude_destroy(x);
  exclude_destroy(none);
}

/* Globs past the 64 index slots share them; each must still be tried.
 * No glob here matches another's name. */
static void test_more_than_64_globs_are_all_tried(void)
{
  char names[130][16];
  const char *globs[130];
  struct exclude *x;
  size_t i;

  for (i = 0; i < 130; i++) {
    (void)snprintf(names[i], sizeof(names[i]), "%sx%zu", i % 3 == 0 ? "*." : "",
                   i);
    globs[i] = names[i];
  }
  x = set_of(globs, 130);
  check_match(x, "x64", false, true);
  check_match(x, "d/x65", false, true);
  check_match(x, "a.x129", false, true);
  check_match(x, "x129", false, false);
  check_match(x, "x130", false, false);
  exclude_destroy(x);
}

static void test_empty_glob_is_refused_and_set_unchanged(void)
{
  struct exclude *x = SET_OF("a");
  struct cfw_err err;

  CHECK_EQ_INT(exclude_add(x, "//", &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "empty glob");
  CHECK_EQ_INT(exclude_add(x, "", &err), -EINVAL);
  check_match(x, "a", false, true);
  check_match(x, "b", false, false);
  exclude_destroy(x);
}

static void check_first_(const struct exclude *x, const char *rel, size_t want,
                         int line)
{
  size_t got = exclude_first(x, rel, false);

  if (got != want)
    TEST_FAIL_("line %d: exclude_first(\"%s\") is %zd, want %zd", line, rel,
               (ssize_t)got, (ssize_t)want);
  if ((got != EXCLUDE_NONE) != exclude_match(x, rel, false))
    TEST_FAIL_("line %d: exclude_match(\"%s\") disagrees", line, rel);
}

#define check_first(x, rel, want) check_first_(x, rel, want, __LINE__)

static void test_first_is_the_earliest_glob_added(void)
{
  struct exclude *x =
      SET_OF("*.js", "assets/", "/assets/app.js", "app.*", "/a/b.txt", "*");

  check_first(x, "assets/app.js", 0); /* not 2: *.js came first */
  check_first(x, "assets/x.css", 1);
  check_first(x, "app.css", 3);
  check_first(x, "a/b.txt", 4);
  check_first(x, "z", 5);
  check_first(x, "", EXCLUDE_NONE);
  exclude_destroy(x);
  x = SET_OF("*.txt", "/a/b.txt");
  check_first(x, "a/b.txt", 0); /* a name glob before a path glob */
  exclude_destroy(x);
}

static void test_first_of_a_parent_counts_like_the_file(void)
{
  struct exclude *x = SET_OF("*.md", "drafts/", "x/");

  check_first(x, "drafts/a.md", 0);
  check_first(x, "x/drafts/a.txt", 1); /* drafts/ before x/ */
  check_first(x, "x/a.txt", 2);
  check_first(x, "drafts.md/a", 0); /* a directory named like *.md */
  exclude_destroy(x);
}

static void test_first_skips_refused_globs_in_numbering(void)
{
  struct exclude *x = SET_OF("a");
  struct cfw_err err;

  CHECK_EQ_INT(exclude_add(x, "/", &err), -EINVAL);
  CHECK_EQ_INT(exclude_add(x, "b", &err), 0);
  check_first(x, "b", 1);
  CHECK_EQ_INT(exclude_glob_check("//", &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "empty glob");
  CHECK_EQ_INT(exclude_glob_check("[a-", &err), 0);
  exclude_destroy(x);
}

/* Past the 64 index slots, globs i and i + 64 share a slot: the earlier
 * one wins whichever the component is tried on first. */
static void test_first_past_64_globs_is_still_the_earliest(void)
{
  char names[80][16];
  const char *globs[80];
  struct exclude *x;
  size_t i;

  for (i = 0; i < 80; i++) {
    (void)snprintf(names[i], sizeof(names[i]), "n%zu", i % 70);
    globs[i] = names[i];
  }
  globs[75] = "*"; /* keyless */
  x = set_of(globs, 80);
  check_first(x, "n3", 3);
  check_first(x, "n69", 69);
  check_first(x, "d/n69", 69);
  check_first(x, "n69/n5", 5);
  check_first(x, "q", 75);
  exclude_destroy(x);
}

static void test_defaults_are_the_documented_list(void)
{
  const char *const *def;
  size_t n = exclude_defaults(&def);

  CHECK_EQ_INT(n, 12);
  CHECK_EQ_STR(def[0], "*.swp");
  CHECK_EQ_STR(def[n - 1], ".svn/");
}

static uint64_t diff_seed(void)
{
  const char *e = getenv("CFW_EXCLUDE_SEED");

  return e != NULL ? strtoull(e, NULL, 0) : DIFF_DEFAULT_SEED;
}

struct diff_stats {
  size_t hits;
  size_t misses;
  size_t failures;
};

/* exclude_first against the reference, glob by glob: the first that
 * matches alone, numbered as exclude_add numbers them. */
static void diff_first(const struct exclude *x, const char *const *globs,
                       size_t n, const char *rel, bool is_dir,
                       struct diff_stats *st)
{
  struct ref_glob rg;
  size_t want = EXCLUDE_NONE;
  size_t num = 0;
  size_t got;
  size_t i;

  for (i = 0; i < n && want == EXCLUDE_NONE; i++) {
    if (ref_glob_parse(&rg, globs[i]) < 0)
      continue;
    free(rg.glob);
    if (ref_excluded(&globs[i], 1, rel, is_dir))
      want = num;
    num++;
  }
  got = exclude_first(x, rel, is_dir);
  if (got != want && st->failures++ < 5)
    TEST_FAIL_("seed 0x%llx: first \"%s\" (%s): %zd, fnmatch says %zd",
               (unsigned long long)diff_seed(), rel, is_dir ? "dir" : "file",
               (ssize_t)got, (ssize_t)want);
}

static void diff_one(const struct exclude *x, const char *const *globs,
                     size_t n, const char *rel, struct diff_stats *st)
{
  bool is_dir;
  bool got;
  bool want;
  size_t i;

  for (is_dir = false;; is_dir = true) {
    got = exclude_match(x, rel, is_dir);
    want = ref_excluded(globs, n, rel, is_dir);
    *(want ? &st->hits : &st->misses) += 1;
    diff_first(x, globs, n, rel, is_dir, st);
    if (got != want && st->failures++ < 5) {
      TEST_FAIL_("seed 0x%llx: \"%s\" (%s): %d, fnmatch says %d",
                 (unsigned long long)diff_seed(), rel, is_dir ? "dir" : "file",
                 got, want);
      for (i = 0; i < n; i++)
        (void)fprintf(stderr, "  glob \"%s\"\n", globs[i]);
    }
    if (is_dir)
      break;
  }
}

/* n random globs, their adds checked against the reference's
 * parse, then DIFF_PATHS random paths. */
static void diff_set(uint64_t *s, size_t n, struct diff_stats *st)
{
  char globs[DIFF_BIG_SET][64];
  const char *ptrs[DIFF_BIG_SET];
  struct exclude *x = set_of(NULL, 0);
  struct ref_glob rg;
  struct cfw_err err;
  char rel[512];
  size_t i;
  int rc;

  for (i = 0; i < n; i++) {
    random_glob(globs[i], sizeof(globs[i]), s);
    ptrs[i] = globs[i];
    rc = exclude_add(x, globs[i], &err);
    CHECK_EQ_INT(rc < 0, ref_glob_parse(&rg, globs[i]) < 0);
    if (rc == 0)
      free(rg.glob);
  }
  for (i = 0; i < DIFF_PATHS; i++) {
    random_path(rel, sizeof(rel), globs, n, s);
    diff_one(x, ptrs, n, rel, st);
  }
  exclude_destroy(x);
}

static void test_matches_fnmatch_reference_on_random_globs(void)
{
  struct diff_stats st = {0, 0, 0};
  uint64_t s = diff_seed();
  size_t i;

  for (i = 0; i < DIFF_SETS; i++)
    diff_set(&s,
             i % 50 == 49 ? DIFF_BIG_SET : 1 + rng_below(&s, DIFF_MAX_GLOBS),
             &st);
  CHECK_EQ_INT(st.failures, 0);
  /* Both answers are common, or the comparison proves little. */
  CHECK(st.hits > (st.hits + st.misses) / 10);
  CHECK(st.misses > (st.hits + st.misses) / 10);
}

/* Names near the defaults: each default glob filled in, or a near miss. */
static void test_matches_fnmatch_reference_on_defaults(void)
{
  struct diff_stats st = {0, 0, 0};
  char globs[16][64];
  const char *const *def;
  size_t n = exclude_defaults(&def);
  struct exclude *x = set_of(def, n);
  uint64_t s = diff_seed();
  char rel[512];
  size_t i;

  for (i = 0; i < n; i++)
    (void)snprintf(globs[i], sizeof(globs[i]), "%s", def[i]);
  for (i = 0; i < (size_t)DIFF_SETS * DIFF_PATHS; i++) {
    random_path(rel, sizeof(rel), globs, n, &s);
    diff_one(x, def, n, rel, &st);
  }
  CHECK_EQ_INT(st.failures, 0);
  CHECK(st.hits > (st.hits + st.misses) / 10);
  CHECK(st.misses > (st.hits + st.misses) / 10);
  exclude_destroy(x);
}

TEST_MAIN(TEST(test_literal_name_matches_whole_component_only),
          TEST(test_suffix_glob_matches_names_ending_in_it),
          TEST(test_prefix_glob_matches_names_starting_with_it),
          TEST(test_head_and_tail_of_a_star_do_not_overlap),
          TEST(test_run_of_stars_is_one_star),
          TEST(test_escaped_bytes_are_literal),
          TEST(test_trailing_backslash_never_matches),
          TEST(test_other_globs_match_as_fnmatch_does),
          TEST(test_literal_path_matches_it_and_below),
          TEST(test_star_in_a_path_glob_stops_at_slash),
          TEST(test_parents_are_tested_for_the_caller),
          TEST(test_root_and_empty_set_match_nothing),
          TEST(test_more_than_64_globs_are_all_tried),
          TEST(test_empty_glob_is_refused_and_set_unchanged),
          TEST(test_first_is_the_earliest_glob_added),
          TEST(test_first_of_a_parent_counts_like_the_file),
          TEST(test_first_skips_refused_globs_in_numbering),
          TEST(test_first_past_64_globs_is_still_the_earliest),
          TEST(test_defaults_are_the_documented_list),
          TEST(test_matches_fnmatch_reference_on_random_globs),
          TEST(test_matches_fnmatch_reference_on_defaults))
