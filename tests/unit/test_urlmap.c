/* SPDX-License-Identifier: MIT */
#include "urlmap.h"

#include "buf.h"
#include "cflimits.h"
#include "err.h"
#include "strlist.h"
#include "test.h"
#include "util.h"

#include <stdbool.h>

/* CMake passes the real folder; a hand build runs from the source root. */
#ifndef CFW_VECTORS_DIR
#define CFW_VECTORS_DIR "tests/vectors"
#endif

static struct urlmap *new_map(const struct urlmap_opts *o)
{
  struct cfw_err err = {0};
  struct urlmap *m = NULL;
  int rc;

  rc = urlmap_new(&m, o, &err);
  if (rc < 0) {
    TEST_FAIL_("urlmap_new: %d: %s", rc, err.msg);
    exit(1);
  }
  return m;
}

/* The paths of relpath joined by single spaces (an encoded path never
 * holds a raw space); the caller frees it. */
static char *paths_of(const struct urlmap *m, const char *relpath)
{
  struct cfw_err err = {0};
  struct strlist l;
  struct buf b;
  size_t i;
  int rc;

  strlist_init(&l);
  buf_init(&b, 1 << 20);
  rc = urlmap_paths(m, relpath, &l, &err);
  if (rc < 0)
    TEST_FAIL_("urlmap_paths(\"%s\"): %d: %s", relpath, rc, err.msg);
  for (i = 0; i < l.n && rc == 0; i++)
    rc = buf_addf(&b, "%s%s", i > 0 ? " " : "", l.v[i]);
  CHECK_EQ_INT(rc, 0);
  strlist_free(&l);
  return buf_take(&b);
}

static void check_paths(const struct urlmap_opts *o, const char *relpath,
                        const char *want)
{
  struct urlmap *m = new_map(o);
  char *got = paths_of(m, relpath);

  CHECK_EQ_STR(got, want);
  free(got);
  urlmap_destroy(m);
}

/* Expects urlmap_new to refuse o with -EINVAL and a message holding why. */
static void check_new_fails(const struct urlmap_opts *o, const char *why)
{
  struct cfw_err err = {0};
  struct urlmap *sentinel = (struct urlmap *)&err;
  struct urlmap *m = sentinel; /* urlmap_new must reset it to NULL */
  int rc;

  rc = urlmap_new(&m, o, &err);
  CHECK_EQ_INT(rc, -EINVAL);
  CHECK_EQ_INT(err.code, -EINVAL);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, why);
  if (m != sentinel)
    urlmap_destroy(m);
}

enum {
  O_PRETTY = 1, /* pretty */
  O_DWS = 2,    /* dir_without_slash */
};

struct map_case {
  const char *prefix;
  const char *index_name;
  int flags;
  const char *relpath;
  const char *want;
};

static const struct map_case map_cases[] = {
    {NULL, NULL, 0, "a/b.html", "/a/b.html"},
    {NULL, NULL, 0, "index.html", "/index.html /"},
    {NULL, NULL, 0, "a/index.html", "/a/index.html /a/"},
    {NULL, NULL, 0, "a/b/c/d/e/f/g/h.css", "/a/b/c/d/e/f/g/h.css"},
    {NULL, NULL, 0, "a/b/c/d/e/index.html",
     "/a/b/c/d/e/index.html /a/b/c/d/e/"},
    {NULL, NULL, 0, "my file.html", "/my%20file.html"},
    {NULL, NULL, 0, "100%.html", "/100%25.html"},
    {NULL, NULL, 0, "%41.html", "/%2541.html"},
    {NULL, NULL, 0, "a#b.html", "/a%23b.html"},
    {NULL, NULL, 0, "#top#", "/%23top%23"},
    {NULL, NULL, 0, "q?x=1.html", "/q%3Fx=1.html"},
    {NULL, NULL, 0, "search/tom&jerry.html", "/search/tom&jerry.html"},
    {NULL, NULL, 0, "a&b/index.html", "/a&b/index.html /a&b/"},
    {NULL, NULL, 0, "c++.html", "/c++.html"},
    {NULL, NULL, 0, "a;b=c.html", "/a;b=c.html"},
    {NULL, NULL, 0, "say \"hi\".txt", "/say%20%22hi%22.txt"},
    {NULL, NULL, 0, "it's.txt", "/it's.txt"},
    {NULL, NULL, 0, "<x>.html", "/%3Cx%3E.html"},
    {NULL, NULL, 0, "`{}|\\^[]`", "/%60%7B%7D%7C%5C%5E%5B%5D%60"},
    {NULL, NULL, 0, "!$'(),@:=.txt", "/!$'(),@:=.txt"},
    {NULL, NULL, 0, "a-b_c.d", "/a-b_c.d"},
    {NULL, NULL, 0, "images/caf\xC3\xA9.jpg", "/images/caf%C3%A9.jpg"},
    {NULL, NULL, 0, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E/index.html",
     "/%E6%97%A5%E6%9C%AC%E8%AA%9E/index.html /%E6%97%A5%E6%9C%AC%E8%AA%9E/"},
    {NULL, NULL, 0, "docs/\xE1\x88\xB4/x.html", "/docs/%E1%88%B4/x.html"},
    {NULL, NULL, 0, "bad\xFF\xFE.bin", "/bad%FF%FE.bin"},
    {NULL, NULL, 0, "x\x80.txt", "/x%80.txt"},
    {NULL, NULL, 0, "line\nbreak.txt", "/line%0Abreak.txt"},
    {NULL, NULL, 0, "tab\there\r", "/tab%09here%0D"},
    {NULL, NULL, 0, "del\x7F\x01", "/del%7F%01"},
    {NULL, NULL, 0, "a.b.c.", "/a.b.c."},
    {NULL, NULL, 0, "dir./file...", "/dir./file..."},
    {NULL, NULL, 0, "...x/index.html", "/...x/index.html /...x/"},
    {NULL, NULL, 0, "a/b*c.html", "/a/b*"},
    {NULL, NULL, 0, "star*", "/star*"},
    {NULL, NULL, 0, "*.html", "/*"},
    {NULL, NULL, 0, "x~y.html", "/x*"},
    {NULL, NULL, 0, "x~/index.html", "/x*"},
    {NULL, NULL, 0, "~user/page.html", "/*"},
    {NULL, NULL, 0, "a b/c~d", "/a%20b/c*"},
    {NULL, NULL, 0, "a/index.html.bak", "/a/index.html.bak"},
    {NULL, NULL, 0, "a/INDEX.html", "/a/INDEX.html"},
    {NULL, NULL, O_PRETTY, "a/b.html", "/a/b.html /a/b"},
    {NULL, NULL, O_PRETTY, "a/b.htm", "/a/b.htm"},
    {NULL, NULL, O_PRETTY, "A/B.HTML", "/A/B.HTML"},
    {NULL, NULL, O_PRETTY, ".html", "/.html"},
    {NULL, NULL, O_PRETTY, "a/index.html", "/a/index.html /a/"},
    {NULL, NULL, O_PRETTY, "my page.html", "/my%20page.html /my%20page"},
    {NULL, NULL, O_PRETTY, "a*b.html", "/a*"},
    {NULL, NULL, O_PRETTY, "ab~.html", "/ab*"},
    {NULL, NULL, O_DWS, "a/index.html", "/a/index.html /a/ /a"},
    {NULL, NULL, O_DWS, "index.html", "/index.html /"},
    {NULL, NULL, O_DWS, "x~/index.html", "/x*"},
    {NULL, NULL, O_DWS, "a/b~/c/index.html", "/a/b*"},
    {NULL, NULL, O_DWS, "a/b/index.html~", "/a/b/index.html*"},
    {NULL, NULL, O_DWS | O_PRETTY, "a/b/index.html",
     "/a/b/index.html /a/b/ /a/b"},
    {"/blog", NULL, 0, "a/b.html", "/blog/a/b.html"},
    {"/blog", NULL, 0, "index.html", "/blog/index.html /blog/"},
    {"/blog/", NULL, O_DWS, "index.html", "/blog/index.html /blog/ /blog"},
    {"/blog", NULL, O_DWS, "a/index.html",
     "/blog/a/index.html /blog/a/ /blog/a"},
    {"/a/b", NULL, O_PRETTY, "c d.html", "/a/b/c%20d.html /a/b/c%20d"},
    {"/caf%C3%A9", NULL, 0, "x.html", "/caf%C3%A9/x.html"},
    {"/blog", NULL, 0, "x*", "/blog/x*"},
    {"/", NULL, O_DWS, "index.html", "/index.html /"},
    {"", NULL, 0, "a.css", "/a.css"},
    {NULL, "default.htm", 0, "a/default.htm", "/a/default.htm /a/"},
    {NULL, "default.htm", 0, "a/index.html", "/a/index.html"},
    {NULL, "default.htm", O_DWS, "default.htm", "/default.htm /"},
    {"/x", "README", O_DWS, "docs/README", "/x/docs/README /x/docs/ /x/docs"},
};

static void test_table_of_names_maps_exactly(void)
{
  struct urlmap_opts o;
  size_t i;

  CHECK(ARRAY_SIZE(map_cases) >= 40);
  for (i = 0; i < ARRAY_SIZE(map_cases); i++) {
    memset(&o, 0, sizeof(o));
    o.prefix = map_cases[i].prefix;
    o.index_name = map_cases[i].index_name;
    o.pretty = (map_cases[i].flags & O_PRETTY) != 0;
    o.dir_without_slash = (map_cases[i].flags & O_DWS) != 0;
    check_paths(&o, map_cases[i].relpath, map_cases[i].want);
  }
}

static void test_plain_file_yields_its_own_path(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "css/site.css", "/css/site.css");
}

static void test_index_html_yields_dir_url(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "docs/index.html", "/docs/index.html /docs/");
}

static void test_root_index_yields_slash(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "index.html", "/index.html /");
}

static void test_dir_without_slash_adds_bare_dir(void)
{
  struct urlmap_opts o = {.dir_without_slash = true};

  check_paths(&o, "docs/index.html", "/docs/index.html /docs/ /docs");
}

static void test_dir_without_slash_never_yields_empty_root(void)
{
  struct urlmap_opts o = {.dir_without_slash = true};

  check_paths(&o, "index.html", "/index.html /");
}

static void test_dir_without_slash_root_with_prefix_yields_prefix(void)
{
  struct urlmap_opts o = {.prefix = "/blog", .dir_without_slash = true};

  check_paths(&o, "index.html", "/blog/index.html /blog/ /blog");
}

static void test_pretty_adds_extensionless_url(void)
{
  struct urlmap_opts o = {.pretty = true};

  check_paths(&o, "posts/hello.html", "/posts/hello.html /posts/hello");
}

static void test_pretty_leaves_index_to_its_dir_urls(void)
{
  struct urlmap_opts o = {.pretty = true};

  check_paths(&o, "posts/index.html", "/posts/index.html /posts/");
}

static void test_pretty_off_keeps_extension_only(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "posts/hello.html", "/posts/hello.html");
}

static void test_prefix_goes_before_every_path(void)
{
  struct urlmap_opts o = {.prefix = "/blog", .pretty = true};

  check_paths(&o, "a/b.html", "/blog/a/b.html /blog/a/b");
  check_paths(&o, "a/index.html", "/blog/a/index.html /blog/a/");
}

static void test_prefix_trailing_slash_is_dropped(void)
{
  struct urlmap_opts o = {.prefix = "/blog//"};

  check_paths(&o, "index.html", "/blog/index.html /blog/");
}

static void test_slash_prefix_means_none(void)
{
  struct urlmap_opts o = {.prefix = "/"};

  check_paths(&o, "a.html", "/a.html");
}

static void test_custom_index_name_yields_dir_url(void)
{
  struct urlmap_opts o = {.index_name = "home.htm"};

  check_paths(&o, "a/home.htm", "/a/home.htm /a/");
  check_paths(&o, "a/index.html", "/a/index.html");
}

static void test_hash_is_always_encoded(void)
{
  struct urlmap_opts o = {0};

  /* A path item starting with '#' would be a cache tag. */
  check_paths(&o, "#", "/%23");
  check_paths(&o, "#/index.html", "/%23/index.html /%23/");
}

static void test_safe_punctuation_stays_literal(void)
{
  struct urlmap_opts o = {0};

  /* Escaping these would stop CloudFront from invalidating. */
  check_paths(&o, "&+;=',!$()@:", "/&+;=',!$()@:");
}

static void test_star_becomes_wildcard_on_prefix(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "img/a*b.png", "/img/a*");
}

static void test_tilde_becomes_wildcard_on_prefix(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "~joe/cv.pdf", "/*");
  check_paths(&o, "a/b~c.pdf", "/a/b*");
}

static void test_index_forms_collapse_to_one_wildcard(void)
{
  struct urlmap_opts o = {.dir_without_slash = true};

  check_paths(&o, "x~/index.html", "/x*");
}

static void test_wildcard_drops_paths_it_covers(void)
{
  struct urlmap_opts o = {.pretty = true};

  /* /a/b~ would be covered by /a/b*, so only the wildcard is sent. */
  check_paths(&o, "a/b~.html", "/a/b*");
}

static void test_non_ascii_is_utf8_percent_encoded(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "\xC3\xA9t\xC3\xA9.html", "/%C3%A9t%C3%A9.html");
}

static void test_invalid_utf8_bytes_are_encoded_alike(void)
{
  struct urlmap_opts o = {0};

  check_paths(&o, "\xC3(\xE9\xFF", "/%C3(%E9%FF");
}

/* A relpath of n bytes of name, a/ repeated, whose URL is n + 1 bytes. */
static char *long_relpath(size_t n, const char *tail)
{
  size_t tl = strlen(tail);
  char *p = malloc(n + 1);
  size_t i;

  if (p == NULL)
    exit(2);
  for (i = 0; i < n - tl; i++)
    p[i] = (i % 2 == 0) ? 'a' : '/';
  memcpy(p + n - tl, tail, tl);
  p[n] = '\0';
  return p;
}

static void test_path_at_limit_stays_exact(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  char *rel = long_relpath(CF_MAX_PATH_LEN - 1, "zz");
  char *got = paths_of(m, rel);

  CHECK_EQ_INT(strlen(got), CF_MAX_PATH_LEN);
  CHECK(!urlmap_is_wildcard(got));
  CHECK_EQ_STR(got + 1, rel);
  free(got);
  free(rel);
  urlmap_destroy(m);
}

static void test_long_path_becomes_wildcard_within_limit(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  char *rel = long_relpath(CF_MAX_PATH_LEN, "zz");
  char *got = paths_of(m, rel);

  CHECK_EQ_INT(strlen(got), CF_MAX_PATH_LEN);
  CHECK(urlmap_is_wildcard(got));
  CHECK(strncmp(got + 1, rel, CF_MAX_PATH_LEN - 2) == 0);
  free(got);
  free(rel);
  urlmap_destroy(m);
}

/* Puts an escape at every offset around the cut; the wildcard must end
 * before or after it, never inside. */
static void test_long_path_cut_never_splits_escape(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  size_t shift;
  size_t len;
  char *rel;
  char *got;

  for (shift = 0; shift < 4; shift++) {
    rel = long_relpath(CF_MAX_PATH_LEN + 10, "x");
    /* URL offset k holds rel[k - 1]; put a space across the cut. */
    rel[CF_MAX_PATH_LEN - 4 + shift] = ' ';
    got = paths_of(m, rel);
    len = strlen(got);
    CHECK(len <= CF_MAX_PATH_LEN);
    CHECK(len >= CF_MAX_PATH_LEN - 2);
    CHECK(urlmap_is_wildcard(got));
    CHECK(len < 3 || (got[len - 2] != '%' && got[len - 3] != '%'));
    free(got);
    free(rel);
  }
  urlmap_destroy(m);
}

static void test_long_index_keeps_dir_url_its_wildcard_misses(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  char *rel = long_relpath(CF_MAX_PATH_LEN, "/index.html");
  char *got = paths_of(m, rel);
  char *space = strchr(got, ' ');

  /* The file's URL is cut past the end of the shorter directory URL, so
   * the wildcard does not cover it and both are sent. */
  CHECK(space != NULL);
  if (space == NULL)
    return;
  *space = '\0';
  CHECK_EQ_INT(strlen(got), CF_MAX_PATH_LEN);
  CHECK(urlmap_is_wildcard(got));
  CHECK(!urlmap_is_wildcard(space + 1));
  CHECK_EQ_INT(strlen(space + 1), CF_MAX_PATH_LEN + 1 - strlen("index.html"));
  CHECK(strncmp(space + 1 + 1, rel, strlen(space + 1) - 1) == 0);
  free(got);
  free(rel);
  urlmap_destroy(m);
}

/* query_strings: "/a.css" does not drop "/a.css?v=2", so every URL ends
 * in '*' and a file's wildcards cover its other forms. */
static void test_query_strings_make_every_url_a_wildcard(void)
{
  struct urlmap_opts o = {.query_strings = true};

  check_paths(&o, "css/site.css", "/css/site.css*");
  check_paths(&o, "docs/index.html", "/docs/*");
  check_paths(&o, "index.html", "/*");
  check_paths(&o, "docs/caf\xc3\xa9 menu.html", "/docs/caf%C3%A9%20menu.html*");
  check_paths(&o, "a~b.html", "/a*");
}

static void test_query_strings_cover_pretty_and_bare_forms(void)
{
  struct urlmap_opts o = {.query_strings = true, .pretty = true};

  /* "/a/b*" covers "/a/b.html*" too: one path for both forms. */
  check_paths(&o, "a/b.html", "/a/b*");
  o.pretty = false;
  o.dir_without_slash = true;
  check_paths(&o, "docs/index.html", "/docs*");
  o.prefix = "/blog";
  check_paths(&o, "index.html", "/blog*");
}

/* A URL of exactly the limit has no room left for the '*': it is cut
 * one byte shorter, so the wildcard still fits. */
static void test_query_strings_keep_the_length_limit(void)
{
  struct urlmap_opts o = {.query_strings = true};
  struct urlmap *m = new_map(&o);
  char *rel = long_relpath(CF_MAX_PATH_LEN - 1, "zz");
  char *got = paths_of(m, rel);

  CHECK_EQ_INT(strlen(got), CF_MAX_PATH_LEN);
  CHECK(urlmap_is_wildcard(got));
  CHECK(strncmp(got + 1, rel, CF_MAX_PATH_LEN - 2) == 0);
  free(got);
  free(rel);
  rel = long_relpath(CF_MAX_PATH_LEN - 2, "zz");
  got = paths_of(m, rel);
  CHECK_EQ_INT(strlen(got), CF_MAX_PATH_LEN);
  CHECK(strncmp(got + 1, rel, CF_MAX_PATH_LEN - 2) == 0);
  free(got);
  free(rel);
  urlmap_destroy(m);
}

static void test_paths_append_to_existing_list(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  struct cfw_err err = {0};
  struct strlist l;

  strlist_init(&l);
  CHECK_EQ_INT(strlist_push(&l, "/index.html"), 0);
  CHECK_EQ_INT(urlmap_paths(m, "index.html", &l, &err), 0);
  CHECK_EQ_INT(l.n, 3);
  CHECK_EQ_STR(l.v[0], "/index.html");
  CHECK_EQ_STR(l.v[1], "/index.html");
  CHECK_EQ_STR(l.v[2], "/");
  strlist_free(&l);
  urlmap_destroy(m);
}

static void test_bad_relpath_is_rejected_and_list_kept(void)
{
  static const char *const bad[] = {
      "", "/a.html", "a/", "a//b", "./a", "a/../b", "..", "a/.",
  };
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  struct cfw_err err;
  struct strlist l;
  size_t i;

  strlist_init(&l);
  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    cfw_err_clear(&err);
    CHECK_EQ_INT(urlmap_paths(m, bad[i], &l, &err), -EINVAL);
    CHECK_EQ_INT(err.code, -EINVAL);
    CHECK_CONTAINS(err.msg, "component");
    CHECK_EQ_INT(l.n, 0);
  }
  strlist_free(&l);
  urlmap_destroy(m);
}

static void test_encode_escapes_exactly_the_unsafe_bytes(void)
{
  static const char unsafe[] = " \"#%<>?`{}|\\^[]";
  struct buf b;
  char c;
  char want[4];
  int i;
  bool esc;

  for (i = 0; i < 256; i++) {
    c = (char)i;
    esc = i < 0x20 || i >= 0x7F || (i != 0 && strchr(unsafe, i) != NULL);
    buf_init(&b, 16);
    CHECK_EQ_INT(urlmap_encode(&c, 1, &b), 0);
    if (esc)
      CHECK_EQ_INT(snprintf(want, sizeof(want), "%%%02X", i), 3);
    else
      CHECK_EQ_INT(snprintf(want, sizeof(want), "%c", c), 1);
    CHECK_EQ_STR(buf_str(&b), want);
    buf_free(&b);
  }
}

static void test_encode_appends_and_keeps_slash_star_tilde(void)
{
  struct buf b;

  buf_init(&b, 64);
  CHECK_EQ_INT(buf_adds(&b, "/p"), 0);
  CHECK_EQ_INT(urlmap_encode("/a*~ \xC3\xA9", 7, &b), 0);
  CHECK_EQ_STR(buf_str(&b), "/p/a*~%20%C3%A9");
  buf_free(&b);
}

static void test_encode_counts_embedded_nul(void)
{
  struct buf b;

  buf_init(&b, 64);
  CHECK_EQ_INT(urlmap_encode("a\0b", 3, &b), 0);
  CHECK_EQ_STR(buf_str(&b), "a%00b");
  buf_free(&b);
}

static void test_encode_over_cap_leaves_buffer_unchanged(void)
{
  struct buf b;

  buf_init(&b, 8);
  CHECK_EQ_INT(buf_adds(&b, "/x"), 0);
  CHECK_EQ_INT(urlmap_encode("ab  cd", 6, &b), -E2BIG);
  CHECK_EQ_STR(buf_str(&b), "/x");
  CHECK_EQ_INT(b.len, 2);
  buf_free(&b);
}

static void test_is_wildcard_means_trailing_star(void)
{
  CHECK(urlmap_is_wildcard("/a*"));
  CHECK(urlmap_is_wildcard("/*"));
  CHECK(!urlmap_is_wildcard("/a"));
  CHECK(!urlmap_is_wildcard(""));
  CHECK(!urlmap_is_wildcard(NULL));
}

/* Reads a vector file into a string; the caller frees it. */
static char *read_vector(const char *rel)
{
  char path[1024];
  struct buf b;
  char chunk[4096];
  size_t n;
  FILE *f;

  CHECK(snprintf(path, sizeof(path), "%s/%s", CFW_VECTORS_DIR, rel) <
        (int)sizeof(path));
  f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  buf_init(&b, 1 << 20);
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    CHECK_EQ_INT(buf_add(&b, chunk, n), 0);
  CHECK_EQ_INT(fclose(f), 0);
  return buf_take(&b);
}

/* Checks that each path of relpath appears in xml as <Path>…</Path>, with
 * '&' XML-escaped as the request body has it. */
static void check_in_vector(const char *xml, const char *relpath)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  char *got = paths_of(m, relpath);
  struct buf want;
  const char *p;

  buf_init(&want, 4096);
  CHECK_EQ_INT(buf_adds(&want, "<Path>"), 0);
  for (p = got; *p != '\0' && *p != ' '; p++)
    CHECK_EQ_INT(*p == '&' ? buf_adds(&want, "&amp;") : buf_addc(&want, *p), 0);
  CHECK_EQ_INT(buf_adds(&want, "</Path>"), 0);
  CHECK_CONTAINS(xml, buf_str(&want));
  buf_free(&want);
  free(got);
  urlmap_destroy(m);
}

static void test_matches_cloudfront_non_ascii_vector(void)
{
  char *xml =
      read_vector("cloudfront/xml/create-invalidation-request-non-ascii.xml");

  check_in_vector(xml, "images/caf\xC3\xA9.jpg");
  check_in_vector(xml, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E/index.html");
  check_in_vector(xml, "docs/\xE1\x88\xB4/*");
  free(xml);
}

static void test_matches_cloudfront_xml_escape_vector(void)
{
  char *xml =
      read_vector("cloudfront/xml/create-invalidation-request-xml-escape.xml");

  check_in_vector(xml, "search/tom&jerry.html");
  check_in_vector(xml, "a&b/index.html");
  free(xml);
}

/* Excludes. */

static void check_excluded(const struct urlmap *m, const char *rel, bool is_dir,
                           bool want)
{
  bool got = urlmap_excluded(m, rel, is_dir);

  if (got != want)
    TEST_FAIL_("urlmap_excluded(\"%s\", %s) is %d, want %d", rel,
               is_dir ? "dir" : "file", got, want);
}

static void test_default_excludes_editor_and_vcs_files(void)
{
  static const char *const junk[] = {
      ".index.html.swp", "a/.b.swo",      "a/.b.swx",    "a/b.html~",
      ".#index.html",    "#index.html#",  "a/4913",      ".~lock.report.odt#",
      ".DS_Store",       "a/b/.DS_Store", ".git/config", "a/.hg/store/x",
      ".svn/entries",
  };
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  size_t i;

  for (i = 0; i < ARRAY_SIZE(junk); i++)
    check_excluded(m, junk[i], false, true);
  urlmap_destroy(m);
}

static void test_default_excludes_keep_site_files(void)
{
  static const char *const site[] = {
      "index.html", ".well-known/security.txt",
      ".htaccess",  "a.tmp",
      "4913.html",  "x~y.html",
      "a/b#c",      "a/swp",
      ".gitignore", "git/x",
      "a.git/x",
  };
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  size_t i;

  for (i = 0; i < ARRAY_SIZE(site); i++)
    check_excluded(m, site[i], false, false);
  urlmap_destroy(m);
}

static void test_dir_only_glob_skips_files_of_that_name(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);

  /* A git worktree link is a file named .git; the site may not want it,
   * but ".git/" only names directories. */
  check_excluded(m, ".git", false, false);
  check_excluded(m, ".git", true, true);
  check_excluded(m, "sub/.git", true, true);
  urlmap_destroy(m);
}

static void test_excluded_dir_excludes_everything_under_it(void)
{
  static const char *const ex[] = {"drafts"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "drafts/a/b/c.html", false, true);
  check_excluded(m, "x/.git/objects/ab/cd", false, true);
  urlmap_destroy(m);
}

static void test_glob_without_slash_matches_any_component(void)
{
  static const char *const ex[] = {"*.map", "tmp"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 2};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "app.js.map", false, true);
  check_excluded(m, "a/b/app.js.map", false, true);
  check_excluded(m, "a/tmp/x.html", false, true);
  check_excluded(m, "a/tmp", false, true);
  check_excluded(m, "a/tmpx/y.html", false, false);
  check_excluded(m, "a/xtmp", false, false);
  check_excluded(m, "app.js", false, false);
  urlmap_destroy(m);
}

static void test_anchored_glob_matches_from_root_only(void)
{
  static const char *const ex[] = {"/drafts/"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "drafts", true, true);
  check_excluded(m, "drafts/a.html", false, true);
  check_excluded(m, "drafts", false, false);
  check_excluded(m, "blog/drafts/a.html", false, false);
  urlmap_destroy(m);
}

static void test_glob_with_slash_matches_whole_relpath(void)
{
  static const char *const ex[] = {"drafts/*.html"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "drafts/a.html", false, true);
  check_excluded(m, "x/drafts/a.html", false, false);
  check_excluded(m, "drafts/sub/a.html", false, false);
  check_excluded(m, "drafts/a.css", false, false);
  urlmap_destroy(m);
}

static void test_anchored_glob_excludes_contents_of_matched_dir(void)
{
  static const char *const ex[] = {"/build/tmp*"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "build/tmp1/x.html", false, true);
  check_excluded(m, "build/tmp1", true, true);
  check_excluded(m, "build/x/tmp1", false, false);
  urlmap_destroy(m);
}

static void test_user_globs_add_to_defaults(void)
{
  static const char *const ex[] = {"*.bak"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "a.bak", false, true);
  check_excluded(m, "a.swp", false, true);
  urlmap_destroy(m);
}

static void test_no_default_excludes_drops_defaults(void)
{
  static const char *const ex[] = {"*.bak"};
  struct urlmap_opts o = {
      .excludes = ex, .n_excludes = 1, .no_default_excludes = true};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "a.bak", false, true);
  check_excluded(m, "a.swp", false, false);
  check_excluded(m, ".git", true, false);
  urlmap_destroy(m);
}

static void test_no_globs_at_all_excludes_nothing(void)
{
  struct urlmap_opts o = {.no_default_excludes = true};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "a.swp", false, false);
  urlmap_destroy(m);
}

static void test_root_is_never_excluded(void)
{
  static const char *const ex[] = {"*"};
  struct urlmap_opts o = {.excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);

  check_excluded(m, "", true, false);
  check_excluded(m, "a", false, true);
  urlmap_destroy(m);
}

static void test_empty_glob_is_rejected(void)
{
  static const char *const e1[] = {""};
  static const char *const e2[] = {"*.x", "/"};
  static const char *const e3[] = {"//"};
  struct urlmap_opts o = {.excludes = e1, .n_excludes = 1};

  check_new_fails(&o, "empty glob");
  o.excludes = e2;
  o.n_excludes = 2;
  check_new_fails(&o, "exclude \"/\"");
  o.excludes = e3;
  o.n_excludes = 1;
  check_new_fails(&o, "empty glob");
}

/* urlmap_new. */

static void test_prefix_must_start_with_slash(void)
{
  struct urlmap_opts o = {.prefix = "blog"};

  check_new_fails(&o, "must start with '/'");
}

static void test_prefix_rejects_unencoded_unsafe_bytes(void)
{
  static const struct {
    const char *prefix;
    const char *why;
  } bad[] = {
      {"/a b", "0x20 at offset 2 must be written percent-encoded, as %20"},
      {"/a#", "as %23"},
      {"/a?x", "as %3F"},
      {"/\"q\"", "as %22"},
      {"/caf\xC3\xA9", "as %C3"},
      {"/a\nb", "as %0A"},
      {"/a[1]", "as %5B"},
  };
  struct urlmap_opts o = {0};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    o.prefix = bad[i].prefix;
    check_new_fails(&o, bad[i].why);
  }
}

static void test_prefix_rejects_star_and_tilde(void)
{
  struct urlmap_opts o = {.prefix = "/a*"};

  check_new_fails(&o, "'*' at offset 2 cannot be invalidated");
  o.prefix = "/~joe";
  check_new_fails(&o, "'~' at offset 1 cannot be invalidated");
}

static void test_prefix_rejects_bad_or_needless_escapes(void)
{
  static const char *const bad[] = {
      "/a%", "/a%2", "/a%zz", "/caf%c3%a9", "/%7E", "/%41", "/a%2Fb", "/%2A",
  };
  struct urlmap_opts o = {0};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    o.prefix = bad[i];
    check_new_fails(&o, "uppercase %XX escape of an unsafe byte");
  }
}

static void test_prefix_rejects_empty_and_dot_segments(void)
{
  static const char *const bad[] = {"/a//b", "/a/./b", "/..", "/a/.."};
  struct urlmap_opts o = {0};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    o.prefix = bad[i];
    check_new_fails(&o, "component");
  }
}

static void test_prefix_rejects_overlong(void)
{
  char *p = long_relpath(CF_MAX_PATH_LEN / 2 + 2, "b");
  struct urlmap_opts o = {0};

  p[0] = '/';
  o.prefix = p;
  check_new_fails(&o, "prefix: longer than");
  free(p);
}

static void test_index_name_must_be_a_file_name(void)
{
  static const char *const bad[] = {"", "a/index.html", ".", ".."};
  struct urlmap_opts o = {0};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    o.index_name = bad[i];
    check_new_fails(&o, "index name");
  }
}

static void test_new_copies_options(void)
{
  char prefix[] = "/blog";
  char index[] = "home.html";
  char glob[] = "*.bak";
  const char *ex[] = {glob};
  struct urlmap_opts o = {
      .prefix = prefix, .index_name = index, .excludes = ex, .n_excludes = 1};
  struct urlmap *m = new_map(&o);
  char *got;

  memset(prefix, 'x', sizeof(prefix) - 1);
  memset(index, 'x', sizeof(index) - 1);
  memset(glob, 'x', sizeof(glob) - 1);
  check_excluded(m, "a.bak", false, true);
  got = paths_of(m, "home.html");
  CHECK_EQ_STR(got, "/blog/home.html /blog/");
  free(got);
  urlmap_destroy(m);
}

static void test_destroy_accepts_null(void)
{
  urlmap_destroy(NULL);
  CHECK(true);
}

TEST_MAIN(TEST(test_table_of_names_maps_exactly),
          TEST(test_plain_file_yields_its_own_path),
          TEST(test_index_html_yields_dir_url),
          TEST(test_root_index_yields_slash),
          TEST(test_dir_without_slash_adds_bare_dir),
          TEST(test_dir_without_slash_never_yields_empty_root),
          TEST(test_dir_without_slash_root_with_prefix_yields_prefix),
          TEST(test_pretty_adds_extensionless_url),
          TEST(test_pretty_leaves_index_to_its_dir_urls),
          TEST(test_pretty_off_keeps_extension_only),
          TEST(test_prefix_goes_before_every_path),
          TEST(test_prefix_trailing_slash_is_dropped),
          TEST(test_slash_prefix_means_none),
          TEST(test_custom_index_name_yields_dir_url),
          TEST(test_hash_is_always_encoded),
          TEST(test_safe_punctuation_stays_literal),
          TEST(test_star_becomes_wildcard_on_prefix),
          TEST(test_tilde_becomes_wildcard_on_prefix),
          TEST(test_index_forms_collapse_to_one_wildcard),
          TEST(test_wildcard_drops_paths_it_covers),
          TEST(test_non_ascii_is_utf8_percent_encoded),
          TEST(test_invalid_utf8_bytes_are_encoded_alike),
          TEST(test_path_at_limit_stays_exact),
          TEST(test_long_path_becomes_wildcard_within_limit),
          TEST(test_long_path_cut_never_splits_escape),
          TEST(test_long_index_keeps_dir_url_its_wildcard_misses),
          TEST(test_query_strings_make_every_url_a_wildcard),
          TEST(test_query_strings_cover_pretty_and_bare_forms),
          TEST(test_query_strings_keep_the_length_limit),
          TEST(test_paths_append_to_existing_list),
          TEST(test_bad_relpath_is_rejected_and_list_kept),
          TEST(test_encode_escapes_exactly_the_unsafe_bytes),
          TEST(test_encode_appends_and_keeps_slash_star_tilde),
          TEST(test_encode_counts_embedded_nul),
          TEST(test_encode_over_cap_leaves_buffer_unchanged),
          TEST(test_is_wildcard_means_trailing_star),
          TEST(test_matches_cloudfront_non_ascii_vector),
          TEST(test_matches_cloudfront_xml_escape_vector),
          TEST(test_default_excludes_editor_and_vcs_files),
          TEST(test_default_excludes_keep_site_files),
          TEST(test_dir_only_glob_skips_files_of_that_name),
          TEST(test_excluded_dir_excludes_everything_under_it),
          TEST(test_glob_without_slash_matches_any_component),
          TEST(test_anchored_glob_matches_from_root_only),
          TEST(test_glob_with_slash_matches_whole_relpath),
          TEST(test_anchored_glob_excludes_contents_of_matched_dir),
          TEST(test_user_globs_add_to_defaults),
          TEST(test_no_default_excludes_drops_defaults),
          TEST(test_no_globs_at_all_excludes_nothing),
          TEST(test_root_is_never_excluded), TEST(test_empty_glob_is_rejected),
          TEST(test_prefix_must_start_with_slash),
          TEST(test_prefix_rejects_unencoded_unsafe_bytes),
          TEST(test_prefix_rejects_star_and_tilde),
          TEST(test_prefix_rejects_bad_or_needless_escapes),
          TEST(test_prefix_rejects_empty_and_dot_segments),
          TEST(test_prefix_rejects_overlong),
          TEST(test_index_name_must_be_a_file_name),
          TEST(test_new_copies_options), TEST(test_destroy_accepts_null))
