/* SPDX-License-Identifier: MIT */
#include "ground.h"

#include <openssl/evp.h>

#include "test.h"
#include "util.h"

/* A listing page of keys with their sizes and ETags. */
struct obj {
  const char *key;
  uint64_t size;
  const char *etag;
};

static void page_of(struct s3_list_page *p, const struct obj *o, size_t n)
{
  size_t i;

  s3_list_page_init(p);
  p->items = calloc(n + 1, sizeof(*p->items));
  REQUIRE(p->items != NULL);
  for (i = 0; i < n; i++) {
    p->items[i].key = strdup(o[i].key);
    REQUIRE(p->items[i].key != NULL);
    p->items[i].size = o[i].size;
    (void)str_copy(p->items[i].etag, sizeof(p->items[i].etag), o[i].etag);
  }
  p->n = n;
}

/* S3's ETag of a single PutObject of data: its MD5, quoted. */
static void etag_of(const char *data, char out[35])
{
  unsigned char md5[16];
  char hex[33];

  REQUIRE(EVP_Digest(data, strlen(data), md5, NULL, EVP_md5(), NULL) == 1);
  hex_encode(md5, sizeof(md5), hex);
  (void)snprintf(out, 35, "\"%s\"", hex);
}

static bool skip_ds_store(void *ctx, const char *rel, bool is_dir)
{
  const char *base = strrchr(rel, '/');

  (void)ctx;
  (void)is_dir;
  return strcmp(base != NULL ? base + 1 : rel, ".DS_Store") == 0;
}

static void test_keys_map_to_files_under_the_prefix(void)
{
  static const struct obj o[] = {
      {"site/a.html", 1, "\"x\""},
      {"site/b/c.css", 2, "\"y\""},
      {"site2/x.html", 1, "\"x\""},
      {"site/dir/", 0, "\"d\""},
      {"site/a//b.html", 1, "\"x\""},
      {"site/../x", 1, "\"x\""},
      {"site/b/.DS_Store", 1, "\"x\""},
      {"other.html", 1, "\"x\""},
      {"site", 1, "\"x\""},
  };
  struct s3_list_page p;
  struct ground g;
  struct s3url u = {"bucket", "site"};

  ground_init(&g);
  page_of(&p, o, ARRAY_SIZE(o));
  REQUIRE(ground_add_page(&g, &u, &p, skip_ds_store, NULL) == 0);
  REQUIRE(g.n == 2);
  CHECK_EQ_STR(g.v[0].rel, "a.html");
  CHECK_EQ_STR(g.v[1].rel, "b/c.css");
  CHECK_EQ_INT(g.v[1].size, 2);
  CHECK_EQ_STR(g.v[1].etag, "\"y\"");
  CHECK_EQ_INT(g.skipped, 7);
  s3_list_page_free(&p);
  ground_free(&g);
}

static void test_no_prefix_takes_every_key(void)
{
  static const struct obj o[] = {{"a.html", 1, "\"x\""},
                                 {"b/c.css", 2, "\"y\""}};
  struct s3_list_page p;
  struct ground g;
  struct s3url u = {"bucket", ""};

  ground_init(&g);
  page_of(&p, o, ARRAY_SIZE(o));
  REQUIRE(ground_add_page(&g, &u, &p, NULL, NULL) == 0);
  CHECK_EQ_INT(g.n, 2);
  CHECK_EQ_INT(g.skipped, 0);
  s3_list_page_free(&p);
  ground_free(&g);
}

/* The tree's first-run diff: every file ADDED and hashed. */
static void tree_of(const char *dir, struct tree *t, struct change **v,
                    size_t *n)
{
  struct tree_walk_opts to = {0};
  struct manifest *empty;
  struct cfw_err err = {0};
  struct diff *d;

  tree_init(t);
  REQUIRE(tree_walk(t, dir, &to, &err) == 0);
  REQUIRE(manifest_new(&empty) == 0);
  REQUIRE(diff_begin(&d, t, empty, &err) == 0);
  REQUIRE(diff_hash_range(d, dir, 0, diff_hash_count(d)) == 0);
  REQUIRE(diff_finish(d, v, n, &err) == 0);
  diff_destroy(d);
  manifest_destroy(empty);
}

static const struct change *find(const struct change *v, size_t n,
                                 const char *path)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (strcmp(v[i].entry.path, path) == 0)
      return &v[i];
  return NULL;
}

static bool zero_hash(const struct tree_entry *e)
{
  static const unsigned char zero[32];

  return memcmp(e->hash, zero, sizeof(zero)) == 0;
}

/* same.html: its MD5 as ETag; other.html: another ETag, same size;
 * longer.css: another size; multi.js: a multipart ETag; new.html: no
 * object; gone.html: an object only. */
static void test_baseline_records_what_the_bucket_holds(void)
{
  char dir[256];
  char same[35];
  char multi[40];
  struct obj o[5];
  struct s3_list_page p;
  struct ground g;
  struct ground_stats st;
  struct s3url u = {"bucket", ""};
  struct cfw_err err = {0};
  struct change *tv;
  struct change *v;
  size_t tn;
  size_t n;
  size_t i;
  struct tree t;
  const struct change *c;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "same.html", "same bytes");
  test_write(dir, "other.html", "new bytes!");
  test_write(dir, "longer.css", "body { color: red }");
  test_write(dir, "multi.js", "js");
  test_write(dir, "new.html", "new");
  tree_of(dir, &t, &tv, &tn);
  etag_of("same bytes", same);
  etag_of("js", multi);
  (void)str_copy(multi + 33, 7, "-1\"");
  o[0] = (struct obj){"same.html", 10, same};
  o[1] = (struct obj){"other.html", 10, "\"0123456789abcdef0123456789abcdef\""};
  o[2] = (struct obj){"longer.css", 4, same};
  o[3] = (struct obj){"multi.js", 2, multi};
  o[4] = (struct obj){"gone.html", 7, "\"x\""};
  ground_init(&g);
  page_of(&p, o, ARRAY_SIZE(o));
  REQUIRE(ground_add_page(&g, &u, &p, NULL, NULL) == 0);
  REQUIRE(ground_baseline(&g, dir, tv, tn, &v, &n, &st, &err) == 0);
  CHECK_EQ_INT(st.same, 1);
  CHECK_EQ_INT(st.differ, 3);
  CHECK_EQ_INT(st.missing, 1);
  CHECK_EQ_INT(st.extra, 1);
  REQUIRE(n == 5);
  for (i = 1; i < n; i++)
    CHECK(strcmp(v[i - 1].entry.path, v[i].entry.path) < 0);
  CHECK(find(v, n, "new.html") == NULL);
  c = find(v, n, "same.html");
  REQUIRE(c != NULL);
  CHECK(memcmp(c->entry.hash, find(tv, tn, "same.html")->entry.hash, 32) == 0);
  CHECK(c->entry.ino != 0);
  CHECK((c->entry.flags & TREE_STALE) == 0);
  for (i = 0; i < n; i++) {
    CHECK_EQ_INT(change_kind(&v[i]), CHANGE_ADDED);
    if (&v[i] == c)
      continue;
    CHECK(zero_hash(&v[i].entry));
    CHECK(v[i].entry.flags == (TREE_HASHED | TREE_STALE));
    CHECK(v[i].entry.ino == 0 && v[i].entry.mtime_ns == 0);
  }
  CHECK_EQ_INT(find(v, n, "gone.html")->entry.size, 7);
  CHECK_EQ_INT(find(v, n, "longer.css")->entry.size, 4);
  changes_free(v, n);
  changes_free(tv, tn);
  tree_free(&t);
  s3_list_page_free(&p);
  ground_free(&g);
}

/* A file gone since the scan cannot show it has the object's bytes: it
 * counts as differing (the next diff finds it deleted). */
static void test_unreadable_file_counts_as_differing(void)
{
  char dir[256];
  char path[512];
  char same[35];
  struct obj o[1];
  struct s3_list_page p;
  struct ground g;
  struct ground_stats st;
  struct s3url u = {"bucket", ""};
  struct cfw_err err = {0};
  struct change *tv;
  struct change *v;
  size_t tn;
  size_t n;
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "a.html", "bytes");
  tree_of(dir, &t, &tv, &tn);
  (void)snprintf(path, sizeof(path), "%s/a.html", dir);
  REQUIRE(unlink(path) == 0);
  etag_of("bytes", same);
  o[0] = (struct obj){"a.html", 5, same};
  ground_init(&g);
  page_of(&p, o, 1);
  REQUIRE(ground_add_page(&g, &u, &p, NULL, NULL) == 0);
  REQUIRE(ground_baseline(&g, dir, tv, tn, &v, &n, &st, &err) == 0);
  CHECK_EQ_INT(st.same, 0);
  CHECK_EQ_INT(st.differ, 1);
  REQUIRE(n == 1);
  CHECK(zero_hash(&v[0].entry));
  changes_free(v, n);
  changes_free(tv, tn);
  tree_free(&t);
  s3_list_page_free(&p);
  ground_free(&g);
}

TEST_MAIN(TEST(test_keys_map_to_files_under_the_prefix),
          TEST(test_no_prefix_takes_every_key),
          TEST(test_baseline_records_what_the_bucket_holds),
          TEST(test_unreadable_file_counts_as_differing))
