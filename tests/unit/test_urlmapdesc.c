/* SPDX-License-Identifier: MIT */
/* The recorded URL mapping (urlmapdesc.h): its text, how two differ,
 * and the flush an old one needs. */
#include "urlmap.h"
#include "urlmapdesc.h"

#include "test.h"

static struct urlmap_desc desc(const char *prefix, bool pretty, bool dws,
                               bool qs)
{
  struct urlmap_desc d;

  memset(&d, 0, sizeof(d));
  d.prefix = prefix;
  d.index_name = "index.html";
  d.pretty = pretty;
  d.dir_without_slash = dws;
  d.query_strings = qs;
  return d;
}

static void test_text_round_trips(void)
{
  struct urlmap_desc d = desc("/blog", true, false, true);
  struct urlmap_desc back;
  struct buf b;
  char *text;

  d.index_name = "home page\n.htm"; /* any byte but '/' and NUL */
  buf_init(&b, 1 << 16);
  REQUIRE(urlmapdesc_format(&d, &b) == 0);
  text = strdup(buf_str(&b));
  REQUIRE(text != NULL);
  CHECK_EQ_INT(urlmapdesc_parse(text, &back), 0);
  CHECK_EQ_STR(back.prefix, "/blog");
  CHECK_EQ_STR(back.index_name, "home page\n.htm");
  CHECK(back.pretty && !back.dir_without_slash && back.query_strings);
  free(text);
  buf_free(&b);
}

static void test_unknown_text_is_refused(void)
{
  struct urlmap_desc d;
  char newer[] = "urlmap 2\nurl_prefix=\n";
  char cut[] = "urlmap 1\nurl_prefix=/a\npretty_urls=1\n";
  char bad[] = "urlmap 1\nurl_prefix=\npretty_urls=2\ndir_without_slash=0\n"
               "query_strings=0\nindex_name=index.html";
  char empty[] = "";

  CHECK_EQ_INT(urlmapdesc_parse(newer, &d), -EINVAL);
  CHECK_EQ_INT(urlmapdesc_parse(cut, &d), -EINVAL);
  CHECK_EQ_INT(urlmapdesc_parse(bad, &d), -EINVAL);
  CHECK_EQ_INT(urlmapdesc_parse(empty, &d), -EINVAL);
}

static void test_turning_a_form_off_drops_urls(void)
{
  struct urlmap_desc on = desc("", true, true, true);
  struct urlmap_desc off;

  off = on;
  off.pretty = false;
  CHECK_EQ_INT(urlmapdesc_compare(&on, &off), URLMAPDESC_DROPS);
  off = on;
  off.dir_without_slash = false;
  CHECK_EQ_INT(urlmapdesc_compare(&on, &off), URLMAPDESC_DROPS);
  off = on;
  off.query_strings = false;
  CHECK_EQ_INT(urlmapdesc_compare(&on, &off), URLMAPDESC_DROPS);
}

static void test_turning_forms_on_only_adds(void)
{
  struct urlmap_desc off = desc("/a", false, false, false);
  struct urlmap_desc on = desc("/a", true, true, true);

  CHECK_EQ_INT(urlmapdesc_compare(&off, &on), URLMAPDESC_ADDS);
  CHECK_EQ_INT(urlmapdesc_compare(&on, &on), URLMAPDESC_SAME);
}

static void test_prefix_or_index_change_drops_urls(void)
{
  struct urlmap_desc was = desc("/a", false, false, false);
  struct urlmap_desc now = desc("/b", true, false, false);

  CHECK_EQ_INT(urlmapdesc_compare(&was, &now), URLMAPDESC_DROPS);
  now = was;
  now.index_name = "default.htm";
  CHECK_EQ_INT(urlmapdesc_compare(&was, &now), URLMAPDESC_DROPS);
}

static void test_what_names_each_change(void)
{
  struct urlmap_desc was = desc("/old", true, false, false);
  struct urlmap_desc now = desc("", false, false, false);
  struct buf b;

  buf_init(&b, 4096);
  REQUIRE(buf_adds(&b, "x: ") == 0);
  CHECK_EQ_INT(urlmapdesc_what(&was, &now, &b), 0);
  CHECK_EQ_STR(buf_str(&b), "x: pretty_urls on -> off, url_prefix /old -> "
                            "(none)");
  buf_free(&b);
}

static void test_flush_is_the_old_prefix_wildcard(void)
{
  struct urlmap_desc root = desc("", true, true, false);
  struct urlmap_desc blog = desc("/blog", false, false, false);
  struct strlist l;

  strlist_init(&l);
  CHECK_EQ_INT(urlmapdesc_flush(&root, &l), 0);
  REQUIRE(l.n == 1);
  CHECK_EQ_STR(l.v[0], "/*");
  strlist_free(&l);
  CHECK_EQ_INT(urlmapdesc_flush(&blog, &l), 0);
  REQUIRE(l.n == 1);
  CHECK_EQ_STR(l.v[0], "/blog/*");
  strlist_free(&l);
  /* The root's index was "/blog" too, which "/blog/" and a star miss. */
  blog.dir_without_slash = true;
  CHECK_EQ_INT(urlmapdesc_flush(&blog, &l), 0);
  REQUIRE(l.n == 2);
  CHECK_EQ_STR(l.v[0], "/blog/*");
  CHECK_EQ_STR(l.v[1], "/blog");
  strlist_free(&l);
  /* With query strings that index's URL was "/blog" and a star. */
  blog.query_strings = true;
  CHECK_EQ_INT(urlmapdesc_flush(&blog, &l), 0);
  REQUIRE(l.n == 1);
  CHECK_EQ_STR(l.v[0], "/blog*");
  strlist_free(&l);
}

/* True if flush path f covers URL u: equal, or f a wildcard whose stem
 * starts u (a wildcard u's too). */
static bool covers(const char *f, const char *u)
{
  size_t n = strlen(f);

  if (strcmp(f, u) == 0)
    return true;
  return n > 0 && f[n - 1] == '*' && strncmp(f, u, n - 1) == 0;
}

/* The flush covers every URL the old map (prefix, and the forms in
 * forms: pretty, dir_without_slash, query_strings) gives a file. */
static void flush_covers(unsigned forms)
{
  static const char *const files[] = {"index.html", "a/index.html", "a/b.html",
                                      "c.css"};
  struct urlmap_opts o;
  struct urlmap_desc d;
  struct cfw_err err = {0};
  struct strlist urls;
  struct strlist flush;
  struct urlmap *m;
  size_t i, k;

  memset(&o, 0, sizeof(o));
  o.prefix = "/blog/";
  o.pretty = (forms & 1) != 0;
  o.dir_without_slash = (forms & 2) != 0;
  o.query_strings = (forms & 4) != 0;
  REQUIRE(urlmap_new(&m, &o, &err) == 0);
  strlist_init(&urls);
  strlist_init(&flush);
  for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
    REQUIRE(urlmap_paths(m, files[i], &urls, &err) == 0);
  urlmap_describe(m, &d);
  CHECK_EQ_STR(d.prefix, "/blog");
  CHECK_EQ_STR(d.index_name, "index.html");
  REQUIRE(urlmapdesc_flush(&d, &flush) == 0);
  for (i = 0; i < urls.n; i++) {
    bool covered = false;

    for (k = 0; k < flush.n && !covered; k++)
      covered = covers(flush.v[k], urls.v[i]);
    if (!covered)
      TEST_FAIL_("forms %u: %s is not covered", forms, urls.v[i]);
  }
  strlist_free(&urls);
  strlist_free(&flush);
  urlmap_destroy(m);
}

static void test_flush_covers_every_old_url(void)
{
  unsigned forms;

  for (forms = 0; forms < 8; forms++)
    flush_covers(forms);
}

TEST_MAIN(TEST(test_text_round_trips), TEST(test_unknown_text_is_refused),
          TEST(test_turning_a_form_off_drops_urls),
          TEST(test_turning_forms_on_only_adds),
          TEST(test_prefix_or_index_change_drops_urls),
          TEST(test_what_names_each_change),
          TEST(test_flush_is_the_old_prefix_wildcard),
          TEST(test_flush_covers_every_old_url))
