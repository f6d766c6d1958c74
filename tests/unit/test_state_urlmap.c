/* SPDX-License-Identifier: MIT */
/* The URL mapping in the state (state.h, statefmt.h): kept by the
 * snapshot, written before any record made under a new one, absent
 * (taken as "") from a format-3 snapshot, which still loads. */
#include "state.h"

#include "statefx.h"
#include "test.h"

#include <openssl/evp.h>

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"
#define MAP1 "urlmap 1\nurl_prefix=\npretty_urls=1\nindex_name=index.html"
#define MAP2 "urlmap 1\nurl_prefix=\npretty_urls=0\nindex_name=index.html"
/* Header offsets (statefmt.h). */
#define OFF_VERSION 8
#define OFF_LENGTH  16
#define HDR_LEN     60 /* up to the root's bytes */

static struct change added(const char *path, unsigned seed)
{
  struct change c;

  memset(&c, 0, sizeof(c));
  c.entry.path = (char *)path; /* borrowed: everything copies it */
  c.entry.size = 100 + seed;
  c.entry.ino = 1000 + seed;
  c.entry.flags = TREE_HASHED;
  memset(c.entry.hash, (int)seed, sizeof(c.entry.hash));
  change_set_kind(&c, CHANGE_ADDED);
  return c;
}

/* A baseline of a.html recorded under map (NULL: none set). */
static void baseline(const char *dir, const char *map)
{
  struct cfw_err err = {0};
  struct change c = added("a.html", 1);
  struct state *s = statefx_open(dir, ROOT, DIST);

  CHECK_EQ_STR(state_urlmap(s), "");
  if (map != NULL)
    CHECK_EQ_INT(state_set_urlmap(s, map, &err), 0);
  CHECK_EQ_INT(state_baseline(s, &c, 1, &err), 0);
  state_close(s);
}

static void test_baseline_records_the_mapping(void)
{
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, MAP1);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_urlmap(s), MAP1);
  CHECK(!state_compact_due(s));
  state_close(s);
  test_rmtree(dir);
}

static void test_new_mapping_goes_before_the_next_record(void)
{
  struct cfw_err err = {0};
  struct change c = added("b.html", 2);
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, MAP1);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_set_urlmap(s, MAP1, &err), 0);
  CHECK(!state_compact_due(s)); /* the same: nothing to write */
  CHECK_EQ_INT(state_set_urlmap(s, MAP2, &err), 0);
  CHECK(state_compact_due(s)); /* a pass that writes nothing else */
  CHECK_EQ_INT(state_record(s, &c, 1, &err), 0);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_urlmap(s), MAP2);
  CHECK(manifest_find(state_manifest(s), "b.html") != NULL);
  state_close(s);
  test_rmtree(dir);
}

static void test_unwritten_mapping_is_forgotten(void)
{
  struct cfw_err err = {0};
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, MAP1);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_set_urlmap(s, MAP2, &err), 0);
  state_close(s); /* a crash before the pass wrote it */
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_urlmap(s), MAP1);
  state_close(s);
  test_rmtree(dir);
}

static void test_readonly_state_changes_memory_only(void)
{
  struct cfw_err err = {0};
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, MAP1);
  REQUIRE(state_open(&s, dir, ROOT, DIST, STATE_READONLY, &err) == 0);
  CHECK_EQ_INT(state_set_urlmap(s, MAP2, &err), 0);
  CHECK_EQ_STR(state_urlmap(s), MAP2);
  CHECK(!state_compact_due(s));
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_urlmap(s), MAP1);
  state_close(s);
  test_rmtree(dir);
}

/* The format-4 snapshot in dir, with no tag header and no mapping, made
 * format 3: without the (empty) mapping, version 3, length and trailer
 * anew. */
static void make_format_3(const char *dir)
{
  size_t at = HDR_LEN + strlen(ROOT) + 4 + strlen(DIST) + 4;
  unsigned char *p;
  uint64_t n;
  size_t len;
  int i;

  p = test_slurp(dir, "manifest", &len);
  REQUIRE(p[OFF_VERSION] == 4 && p[at - 4] == 0 && p[at] == 0 &&
          p[at + 3] == 0);
  memmove(p + at, p + at + 4, len - at - 4);
  len -= 4;
  p[OFF_VERSION] = 3;
  n = len;
  for (i = 0; i < 8; i++)
    p[OFF_LENGTH + i] = (unsigned char)(n >> (8 * i));
  CHECK(EVP_Digest(p, len - 32, p + len - 32, NULL, EVP_sha256(), NULL) == 1);
  statefx_spill(dir, "manifest", p, len);
  free(p);
}

static void test_format_3_loads_without_mapping(void)
{
  struct cfw_err err = {0};
  struct state *s;
  unsigned char *p;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, NULL);
  make_format_3(dir);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_urlmap(s), "");
  CHECK_EQ_INT(manifest_find(state_manifest(s), "a.html")->size, 101);
  /* The site takes it as made under its mapping, and records that. */
  CHECK_EQ_INT(state_set_urlmap(s, MAP1, &err), 0);
  CHECK(state_compact_due(s));
  CHECK_EQ_INT(state_compact(s, &err), 0);
  state_close(s);
  p = test_slurp(dir, "manifest", &len);
  CHECK_EQ_INT(p[OFF_VERSION], 4);
  free(p);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_urlmap(s), MAP1);
  state_close(s);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_baseline_records_the_mapping),
          TEST(test_new_mapping_goes_before_the_next_record),
          TEST(test_unwritten_mapping_is_forgotten),
          TEST(test_readonly_state_changes_memory_only),
          TEST(test_format_3_loads_without_mapping))
