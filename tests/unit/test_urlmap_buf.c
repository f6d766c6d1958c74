/* SPDX-License-Identifier: MIT */
/* urlmap_paths_buf(): a file's URL paths appended to a caller's buffer,
 * NUL after NUL, exactly as urlmap_paths() lists them. */
#include "urlmap.h"

#include "buf.h"
#include "err.h"
#include "strlist.h"
#include "test.h"
#include "util.h"

#include <stdbool.h>

static struct urlmap *new_map(const struct urlmap_opts *o)
{
  struct cfw_err err = {0};
  struct urlmap *m = NULL;

  REQUIRE(urlmap_new(&m, o, &err) == 0);
  return m;
}

/* The NUL-separated paths in b[from..len) joined by spaces. */
static char *joined(const struct buf *b, size_t from)
{
  struct buf out;
  size_t k;

  buf_init(&out, 1 << 20);
  for (k = from; k < b->len; k += strlen(b->data + k) + 1) {
    CHECK(b->data[k] != '\0'); /* no empty path */
    REQUIRE(buf_addf(&out, "%s%s", k > from ? " " : "", b->data + k) == 0);
  }
  return buf_take(&out);
}

static char *joined_list(const struct strlist *l)
{
  struct buf out;
  size_t k;

  buf_init(&out, 1 << 20);
  for (k = 0; k < l->n; k++)
    REQUIRE(buf_addf(&out, "%s%s", k > 0 ? " " : "", l->v[k]) == 0);
  return buf_take(&out);
}

static void test_buf_holds_one_path(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(urlmap_paths_buf(m, "a/b.css", &b, &err), 0);
  CHECK_EQ_INT(b.len, sizeof("/a/b.css"));
  CHECK_EQ_STR(b.data, "/a/b.css");
  buf_free(&b);
  urlmap_destroy(m);
}

static void test_buf_holds_every_path_after_what_was_there(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m;
  struct cfw_err err = {0};
  struct buf b;
  char *got;

  o.prefix = "/x";
  o.dir_without_slash = true;
  m = new_map(&o);
  buf_init(&b, 1 << 20);
  REQUIRE(buf_add(&b, "old", 4) == 0);
  CHECK_EQ_INT(urlmap_paths_buf(m, "d/index.html", &b, &err), 0);
  CHECK_EQ_STR(b.data, "old");
  got = joined(&b, 4);
  CHECK_EQ_STR(got, "/x/d/index.html /x/d/ /x/d");
  CHECK_EQ_INT(b.len, 4 + sizeof("/x/d/index.html /x/d/ /x/d"));
  free(got);
  buf_free(&b);
  urlmap_destroy(m);
}

static const char *const rels[] = {
    "a/b.html",        "index.html", "a/index.html", "x y/caf\xC3\xA9.html",
    "st*r/index.html", "a/t~.html",  "p.html",       ".html",
    "q/100%.txt"};

/* Every option set and name gives the same paths both ways. */
static void test_buf_lists_what_urlmap_paths_lists(void)
{
  struct cfw_err err = {0};
  struct urlmap_opts o;
  struct urlmap *m;
  struct strlist l;
  struct buf b;
  char *x, *y;
  size_t i, k;

  for (k = 0; k < 16; k++) {
    memset(&o, 0, sizeof(o));
    o.prefix = (k & 1) ? "/blog" : NULL;
    o.pretty = (k & 2) != 0;
    o.dir_without_slash = (k & 4) != 0;
    o.query_strings = (k & 8) != 0;
    m = new_map(&o);
    for (i = 0; i < ARRAY_SIZE(rels); i++) {
      strlist_init(&l);
      buf_init(&b, 1 << 20);
      CHECK_EQ_INT(urlmap_paths(m, rels[i], &l, &err), 0);
      CHECK_EQ_INT(urlmap_paths_buf(m, rels[i], &b, &err), 0);
      x = joined_list(&l);
      y = joined(&b, 0);
      CHECK_EQ_STR(y, x);
      free(x);
      free(y);
      strlist_free(&l);
      buf_free(&b);
    }
    urlmap_destroy(m);
  }
}

static void test_buf_bad_relpath_leaves_it_as_it_was(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 1 << 20);
  REQUIRE(buf_add(&b, "old", 4) == 0);
  CHECK_EQ_INT(urlmap_paths_buf(m, "a//b.html", &b, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "empty component");
  CHECK_EQ_INT(b.len, 4);
  CHECK_EQ_STR(b.data, "old");
  buf_free(&b);
  urlmap_destroy(m);
}

/* Room for "/a/index.html" but not "/a/" after it: the first is taken
 * back, so a caller never holds half a file's paths. */
static void test_buf_full_leaves_it_as_it_was(void)
{
  struct urlmap_opts o = {0};
  struct urlmap *m = new_map(&o);
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 4 + sizeof("/a/index.html") + 2);
  REQUIRE(buf_add(&b, "old", 4) == 0);
  CHECK_EQ_INT(urlmap_paths_buf(m, "a/index.html", &b, &err), -E2BIG);
  CHECK_EQ_INT(err.code, -E2BIG);
  CHECK_EQ_INT(b.len, 4);
  CHECK_EQ_STR(b.data, "old");
  CHECK_EQ_INT(urlmap_paths_buf(m, "a.css", &b, &err), 0);
  CHECK_EQ_STR(b.data + 4, "/a.css");
  buf_free(&b);
  urlmap_destroy(m);
}

TEST_MAIN(TEST(test_buf_holds_one_path),
          TEST(test_buf_holds_every_path_after_what_was_there),
          TEST(test_buf_lists_what_urlmap_paths_lists),
          TEST(test_buf_bad_relpath_leaves_it_as_it_was),
          TEST(test_buf_full_leaves_it_as_it_was))
