/* SPDX-License-Identifier: MIT */
#include "headers.h"

#include "exclude.h"
#include "exclude_ref.h"
#include "glob_gen.h"
#include "mime.h"
#include "test.h"

/* The differential test: glob sets, and paths per set. */
#define DIFF_SETS         1000
#define DIFF_PATHS        10
#define DIFF_MAX_GLOBS    6
#define DIFF_DEFAULT_SEED UINT64_C(0x4eade75)

static struct mime_table *mime;

static void setup(void)
{
  REQUIRE(mime_table_builtin(&mime, NULL) == 0);
}

/* Starts a rule: section is the header's text, "headers *.html"; the
 * line is the rule's number from 1. */
static void rule(struct hdrrules *r, const char *section)
{
  struct cfw_err err;

  if (hdrrules_begin(r, section, (unsigned)r->n + 1, &err) < 0)
    TEST_FAIL_("hdrrules_begin(\"%s\"): %s", section, err.msg);
}

static void set(struct hdrrules *r, const char *key, const char *value)
{
  struct cfw_err err;

  if (hdrrules_set(r, key, value, 99, &err) < 0)
    TEST_FAIL_("hdrrules_set(\"%s\", \"%s\"): %s", key, value, err.msg);
}

static struct headers_set *compile(const struct hdrrules *r, const char *site)
{
  struct headers_set *s = NULL;
  struct cfw_err err;

  if (headers_set_new(&s, r, site, &err) < 0)
    TEST_FAIL_("headers_set_new: %s", err.msg);
  REQUIRE(s != NULL);
  return s;
}

/* The rule line headers_for picks for relpath, 0 for none. */
static unsigned line_for(const struct headers_set *s, const char *relpath)
{
  struct headers_out out;

  headers_for(s, mime, relpath, &out);
  return out.rule_line;
}

static void test_without_rules_only_the_type_is_set(void)
{
  struct headers_out out;

  setup();
  headers_for(NULL, mime, "blog/index.html", &out);
  CHECK_EQ_STR(out.content_type, "text/html; charset=utf-8");
  CHECK(out.cache_control == NULL);
  CHECK(out.content_encoding == NULL);
  CHECK(out.content_disposition == NULL);
  CHECK_EQ_INT(out.n_meta, 0);
  CHECK(out.rule_glob == NULL);
  CHECK_EQ_INT(out.rule_line, 0);
  headers_for(NULL, mime, "bin/tool", &out);
  CHECK_EQ_STR(out.content_type, MIME_OCTET_STREAM);
  mime_table_destroy(mime);
}

static void test_first_rule_that_matches_wins(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;
  struct headers_out out;

  setup();
  rule(&r, "headers *.html");
  set(&r, "cache_control", "max-age=300");
  rule(&r, "headers *");
  set(&r, "cache_control", "max-age=60");
  rule(&r, "headers index.html"); /* after "*": never first */
  set(&r, "cache_control", "no-store");
  s = compile(&r, "");
  headers_for(s, mime, "a/index.html", &out);
  CHECK_EQ_STR(out.cache_control, "max-age=300");
  CHECK_EQ_STR(out.rule_glob, "*.html");
  CHECK_EQ_INT(out.rule_line, 1);
  headers_for(s, mime, "a/style.css", &out);
  CHECK_EQ_STR(out.cache_control, "max-age=60");
  CHECK_EQ_STR(out.content_type, "text/css; charset=utf-8");
  CHECK_EQ_INT(out.rule_line, 2);
  headers_set_destroy(s);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* The first match is the only rule: a later one fills in nothing. */
static void test_keys_of_later_rules_are_not_merged(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;
  struct headers_out out;

  setup();
  rule(&r, "headers *.pdf");
  set(&r, "content_disposition", "attachment");
  rule(&r, "headers *");
  set(&r, "cache_control", "max-age=60");
  s = compile(&r, "");
  headers_for(s, mime, "docs/a.pdf", &out);
  CHECK_EQ_STR(out.content_disposition, "attachment");
  CHECK(out.cache_control == NULL);
  CHECK_EQ_STR(out.content_type, "application/pdf");
  headers_set_destroy(s);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* Without '/' a glob matches any component (a directory's too); with
 * one, the whole path, '*' stopping at '/'. */
static void test_globs_match_components_or_whole_paths(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;

  setup();
  rule(&r, "headers /assets/*.js");
  rule(&r, "headers *.css");
  s = compile(&r, "");
  CHECK_EQ_INT(line_for(s, "assets/app.js"), 1);
  CHECK_EQ_INT(line_for(s, "x/assets/app.js"), 0);
  CHECK_EQ_INT(line_for(s, "assets/sub/app.js"), 0);
  CHECK_EQ_INT(line_for(s, "a/b/c.css"), 2);
  CHECK_EQ_INT(line_for(s, "theme.css/readme.txt"), 2); /* as excludes */
  CHECK_EQ_INT(line_for(s, "a.css.map"), 0);
  headers_set_destroy(s);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* A trailing '/' matches directories only, so every file under one. */
static void test_dir_only_glob_covers_the_files_under_it(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;

  setup();
  rule(&r, "headers _app/immutable/");
  rule(&r, "headers fonts/");
  s = compile(&r, "");
  CHECK_EQ_INT(line_for(s, "_app/immutable/chunks/a.1f2e.js"), 1);
  CHECK_EQ_INT(line_for(s, "x/_app/immutable/a.js"), 0); /* anchored */
  CHECK_EQ_INT(line_for(s, "a/fonts/x.woff2"), 2);
  CHECK_EQ_INT(line_for(s, "fonts"), 0); /* a file named fonts */
  headers_set_destroy(s);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* A rule with site = NAME is passed over for the other sites, so the
 * next rule is theirs. */
static void test_site_rule_applies_to_its_site_only(void)
{
  struct hdrrules r = {0};
  struct headers_set *docs;
  struct headers_set *www;
  struct headers_out out;

  setup();
  rule(&r, "headers *.pdf");
  set(&r, "site", "docs");
  set(&r, "content_disposition", "inline");
  rule(&r, "headers *.pdf");
  set(&r, "content_disposition", "attachment");
  docs = compile(&r, "docs");
  www = compile(&r, "www");
  headers_for(docs, mime, "a.pdf", &out);
  CHECK_EQ_STR(out.content_disposition, "inline");
  CHECK_EQ_INT(out.rule_line, 1);
  headers_for(www, mime, "a.pdf", &out);
  CHECK_EQ_STR(out.content_disposition, "attachment");
  CHECK_EQ_INT(out.rule_line, 2);
  headers_set_destroy(docs);
  headers_set_destroy(www);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

static void test_meta_is_listed_lowercase_last_value_winning(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;
  struct headers_out out;

  setup();
  rule(&r, "headers *");
  set(&r, "x-amz-meta-Team", "web");
  set(&r, "X-Amz-Meta-build", "42");
  set(&r, "x-amz-meta-team", "docs");
  s = compile(&r, "");
  headers_for(s, mime, "a.txt", &out);
  REQUIRE(out.n_meta == 2);
  CHECK_EQ_STR(out.meta[0].name, "team");
  CHECK_EQ_STR(out.meta[0].value, "docs");
  CHECK_EQ_STR(out.meta[1].name, "build");
  CHECK_EQ_STR(out.meta[1].value, "42");
  headers_set_destroy(s);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* A rule's content_type is the user's word: no charset is added. */
static void test_rule_content_type_is_used_as_written(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;
  struct headers_out out;

  setup();
  rule(&r, "headers *.html");
  set(&r, "content_type", "text/html");
  rule(&r, "headers *.txt");
  set(&r, "content_type", "text/plain; charset=iso-8859-1");
  s = compile(&r, "");
  headers_for(s, mime, "a.html", &out);
  CHECK_EQ_STR(out.content_type, "text/html");
  headers_for(s, mime, "a.txt", &out);
  CHECK_EQ_STR(out.content_type, "text/plain; charset=iso-8859-1");
  headers_set_destroy(s);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* Pre-compressed files: the bytes go up as they are, and the rule's
 * coding names what they are.  A name ending in that coding's suffix
 * takes the type of the name without it. */
static void test_precompressed_files_take_the_inner_type(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;
  struct headers_out out;

  setup();
  rule(&r, "headers *.gz");
  set(&r, "content_encoding", "gzip");
  rule(&r, "headers *.br");
  set(&r, "content_encoding", "br");
  rule(&r, "headers *.js");
  set(&r, "content_encoding", "gzip"); /* compressed in place */
  rule(&r, "headers *.zst");
  set(&r, "content_encoding", "gzip, zstd"); /* a list: no suffix */
  s = compile(&r, "");
  headers_for(s, mime, "assets/app.js.gz", &out);
  CHECK_EQ_STR(out.content_type, "text/javascript; charset=utf-8");
  CHECK_EQ_STR(out.content_encoding, "gzip");
  headers_for(s, mime, "style.CSS.br", &out);
  CHECK_EQ_STR(out.content_type, "text/css; charset=utf-8");
  headers_for(s, mime, "app.js", &out);
  CHECK_EQ_STR(out.content_type, "text/javascript; charset=utf-8");
  CHECK_EQ_STR(out.content_encoding, "gzip");
  headers_for(s, mime, "backup.tar.gz", &out); /* no "tar" built in */
  CHECK_EQ_STR(out.content_type, MIME_OCTET_STREAM);
  headers_for(s, mime, "d/.gz", &out);
  CHECK_EQ_STR(out.content_type, MIME_OCTET_STREAM);
  headers_for(s, mime, "a.json.zst", &out);
  CHECK_EQ_STR(out.content_type, MIME_OCTET_STREAM);
  headers_set_destroy(s);
  headers_for(NULL, mime, "app.js.gz", &out); /* no rule, no coding */
  CHECK_EQ_STR(out.content_type, "application/gzip");
  CHECK(out.content_encoding == NULL);
  hdrrules_free(&r);
  mime_table_destroy(mime);
}

/* The set keeps its own copies: the config may be reloaded and freed
 * while uploads still read the set. */
static void test_set_outlives_the_rules(void)
{
  struct hdrrules r = {0};
  struct headers_set *s;
  struct headers_out out;

  setup();
  rule(&r, "headers *.svg");
  set(&r, "cache_control", "max-age=86400");
  set(&r, "x-amz-meta-kind", "icon");
  s = compile(&r, "");
  hdrrules_free(&r);
  headers_for(s, mime, "i/logo.svg", &out);
  CHECK_EQ_STR(out.cache_control, "max-age=86400");
  CHECK_EQ_STR(out.rule_glob, "*.svg");
  CHECK_EQ_STR(out.content_type, "image/svg+xml");
  REQUIRE(out.n_meta == 1);
  CHECK_EQ_STR(out.meta[0].value, "icon");
  headers_set_destroy(s);
  mime_table_destroy(mime);
}

static uint64_t diff_seed(void)
{
  const char *e = getenv("CFW_HEADERS_SEED");

  return e != NULL ? strtoull(e, NULL, 0) : DIFF_DEFAULT_SEED;
}

/* What an exclude of glob alone says of rel: the excludes' own answer,
 * checked against the fnmatch reference too. */
static bool exclude_alone(const char *glob, const char *rel)
{
  struct exclude *x;
  struct cfw_err err;
  bool hit;

  REQUIRE(exclude_new(&x, &err) == 0);
  REQUIRE(exclude_add(x, glob, &err) == 0);
  hit = exclude_match(x, rel, false);
  CHECK_EQ_INT(hit, ref_excluded(&glob, 1, rel, false));
  exclude_destroy(x);
  return hit;
}

/* Rules made straight from random globs (with '[' classes and blanks,
 * which a section header cannot hold but the matcher must still get
 * right), and random paths: the rule picked is the first whose glob, as
 * an exclude, matches. */
static size_t diff_set(uint64_t *s, size_t n, size_t *hits)
{
  char globs[DIFF_MAX_GLOBS][64];
  struct hdrrules r = {0};
  struct headers_set *set;
  char rel[512];
  size_t failures = 0;
  unsigned want;
  size_t i;
  size_t k;

  for (i = 0; r.n < n && i < 4 * n; i++) {
    random_glob(globs[r.n], sizeof(globs[r.n]), s);
    if (exclude_glob_check(globs[r.n], NULL) < 0)
      continue;
    REQUIRE(hdrrules_push_copy(&r, &(struct hdrrule){.glob = globs[r.n],
                                                     .line = r.n + 1}) == 0);
  }
  set = compile(&r, "");
  for (i = 0; i < DIFF_PATHS; i++) {
    random_path(rel, sizeof(rel), globs, r.n, s);
    want = 0;
    for (k = 0; k < r.n && want == 0; k++)
      if (exclude_alone(r.v[k].glob, rel))
        want = (unsigned)k + 1;
    *hits += want != 0;
    if (line_for(set, rel) != want && failures++ < 5)
      TEST_FAIL_("seed 0x%llx: \"%s\": rule %u, the excludes say %u",
                 (unsigned long long)diff_seed(), rel, line_for(set, rel),
                 want);
  }
  headers_set_destroy(set);
  hdrrules_free(&r);
  return failures;
}

static void test_rules_match_exactly_as_excludes_do(void)
{
  uint64_t s = diff_seed();
  size_t failures = 0;
  size_t hits = 0;
  size_t i;

  setup();
  for (i = 0; i < DIFF_SETS; i++)
    failures += diff_set(&s, 1 + rng_below(&s, DIFF_MAX_GLOBS), &hits);
  CHECK_EQ_INT(failures, 0);
  /* Matches and misses both common, or the comparison proves little. */
  CHECK(hits > DIFF_SETS * DIFF_PATHS / 10);
  CHECK(hits < DIFF_SETS * DIFF_PATHS * 9 / 10);
  mime_table_destroy(mime);
}

TEST_MAIN(TEST(test_without_rules_only_the_type_is_set),
          TEST(test_first_rule_that_matches_wins),
          TEST(test_keys_of_later_rules_are_not_merged),
          TEST(test_globs_match_components_or_whole_paths),
          TEST(test_dir_only_glob_covers_the_files_under_it),
          TEST(test_site_rule_applies_to_its_site_only),
          TEST(test_meta_is_listed_lowercase_last_value_winning),
          TEST(test_rule_content_type_is_used_as_written),
          TEST(test_precompressed_files_take_the_inner_type),
          TEST(test_set_outlives_the_rules),
          TEST(test_rules_match_exactly_as_excludes_do))
