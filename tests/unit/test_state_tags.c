/* SPDX-License-Identifier: MIT */
/* TREE_TAGGED in the state (state.h, statefmt.h): recorded by a commit,
 * kept through the journal and the snapshot, cleared when the tag's
 * header changes, absent from older formats and from open intents. */
#include "state.h"

#include "statefx.h"
#include "test.h"

#include <openssl/evp.h>

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"
#define HDR  "x-amz-meta-cache-tag"
/* Header offsets (statefmt.h). */
#define OFF_VERSION 8
#define OFF_LENGTH  16
#define HDR_LEN     60 /* up to the root's bytes */

static struct tree_entry entry(const char *path, unsigned seed, uint32_t flags)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* borrowed: everything copies it */
  e.size = 100 + seed;
  e.ino = 1000 + seed;
  e.flags = TREE_HASHED | flags;
  memset(e.hash, (int)seed, sizeof(e.hash));
  return e;
}

static struct state *open_ok(const char *dir, const char *hdr)
{
  struct cfw_err err = {0};
  struct state *s = statefx_open(dir, ROOT, DIST);

  CHECK_EQ_INT(state_set_tag_header(s, hdr, &err), 0);
  return s;
}

static bool tagged(const struct state *s, const char *path)
{
  const struct tree_entry *e = manifest_find(state_manifest(s), path);

  REQUIRE(e != NULL);
  return (e->flags & TREE_TAGGED) != 0;
}

/* A baseline of a.html and b.html, untagged. */
static void baseline(const char *dir, const char *hdr)
{
  struct cfw_err err = {0};
  struct change v[2];
  struct state *s = open_ok(dir, hdr);

  memset(v, 0, sizeof(v));
  v[0].entry = entry("a.html", 1, 0);
  v[1].entry = entry("b.html", 2, 0);
  change_set_kind(&v[0], CHANGE_ADDED);
  change_set_kind(&v[1], CHANGE_ADDED);
  CHECK_EQ_INT(state_baseline(s, v, 2, &err), 0);
  state_close(s);
}

/* Sends a.html with new bytes as a batch that carried the tag (flags)
 * and leaves the intent open; its reference in ref. */
static void intend_a(struct state *s, uint32_t flags, char *ref)
{
  struct cfw_err err = {0};
  const struct intent *in;
  struct strlist paths;
  struct change c;

  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/a.html") == 0);
  memset(&c, 0, sizeof(c));
  c.entry = entry("a.html", 9, flags);
  change_set_kind(&c, CHANGE_MODIFIED);
  CHECK_EQ_INT(intend_copy(s, DIST, &paths, &c, 1, NULL, 1, &in, &err), 0);
  REQUIRE(in != NULL);
  memcpy(ref, in->ref, STATE_REF_LEN);
  strlist_free(&paths);
}

static void commit_a(struct state *s, uint32_t flags)
{
  struct cfw_err err = {0};
  char ref[STATE_REF_LEN];

  intend_a(s, flags, ref);
  CHECK_EQ_INT(state_commit(s, ref, "I1", NULL, 0, &err), 0);
}

/* A fresh state dir in dir (256 bytes) whose a.html went out tagged;
 * the state open. */
static struct state *a_tagged(char *dir)
{
  struct state *s;

  test_tmpdir(dir, 256);
  baseline(dir, HDR);
  s = open_ok(dir, HDR);
  commit_a(s, TREE_TAGGED);
  return s;
}

static void test_commit_sets_the_flag_and_restart_keeps_it(void)
{
  struct cfw_err err = {0};
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, HDR);
  s = open_ok(dir, HDR);
  CHECK(!tagged(s, "a.html"));
  commit_a(s, TREE_TAGGED);
  CHECK(tagged(s, "a.html"));
  state_close(s);
  s = open_ok(dir, HDR); /* from the journal */
  CHECK(tagged(s, "a.html"));
  CHECK(!tagged(s, "b.html"));
  CHECK_EQ_STR(state_tag_header(s), HDR);
  CHECK_EQ_INT(state_compact(s, &err), 0);
  state_close(s);
  s = open_ok(dir, HDR); /* from the snapshot */
  CHECK(tagged(s, "a.html"));
  CHECK_EQ_STR(state_tag_header(s), HDR);
  state_close(s);
  test_rmtree(dir);
}

static void test_upload_without_tag_clears_the_flag(void)
{
  struct state *s;
  char dir[256];

  s = a_tagged(dir);
  commit_a(s, 0);
  CHECK(!tagged(s, "a.html"));
  state_close(s);
  test_rmtree(dir);
}

static void test_stale_commit_clears_the_flag(void)
{
  struct cfw_err err = {0};
  uint32_t stale = 0;
  struct state *s;
  char ref[STATE_REF_LEN];
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, HDR);
  s = open_ok(dir, HDR);
  intend_a(s, TREE_TAGGED, ref);
  CHECK_EQ_INT(state_commit(s, ref, "I1", &stale, 1, &err), 0);
  CHECK(!tagged(s, "a.html"));
  state_close(s);
  test_rmtree(dir);
}

static void test_open_intent_projects_untagged(void)
{
  struct cfw_err err = {0};
  struct manifest *view = NULL;
  struct state *s;
  char ref[STATE_REF_LEN];
  char dir[256];

  s = a_tagged(dir);
  intend_a(s, TREE_TAGGED, ref);
  CHECK_EQ_INT(state_project(s, &view, &err), 0);
  REQUIRE(view != NULL);
  /* No invalidation followed that upload yet: by path. */
  CHECK((manifest_find(view, "a.html")->flags & TREE_TAGGED) == 0);
  CHECK(tagged(s, "a.html"));
  manifest_destroy(view);
  state_close(s);
  test_rmtree(dir);
}

static void test_header_change_clears_every_flag(void)
{
  struct cfw_err err = {0};
  struct change touch;
  struct state *s;
  char dir[256];

  s = a_tagged(dir);
  state_close(s);
  s = open_ok(dir, "X-Amz-Meta-Cache-Tag"); /* the same, any case */
  CHECK(tagged(s, "a.html"));
  state_close(s);
  s = open_ok(dir, "x-amz-meta-other");
  CHECK(!tagged(s, "a.html"));
  memset(&touch, 0, sizeof(touch));
  touch.entry = entry("b.html", 2, 0);
  change_set_kind(&touch, CHANGE_TOUCHED);
  CHECK_EQ_INT(state_record(s, &touch, 1, &err), 0);
  state_close(s);
  /* Recorded before the first write under the new header. */
  CHECK_EQ_INT(state_open(&s, dir, ROOT, DIST, STATE_READONLY, &err), 0);
  REQUIRE(s != NULL);
  CHECK_EQ_STR(state_tag_header(s), "x-amz-meta-other");
  CHECK(!tagged(s, "a.html"));
  state_close(s);
  test_rmtree(dir);
}

/* The format-4 snapshot in dir, made format 2: without the (empty) tag
 * header and URL mapping, version 2, length and trailer anew. */
static void make_format_2(const char *dir)
{
  size_t at = HDR_LEN + strlen(ROOT) + 4 + strlen(DIST);
  unsigned char *p;
  uint64_t n;
  size_t len;
  int i;

  p = test_slurp(dir, "manifest", &len);
  REQUIRE(p[OFF_VERSION] == 4 && p[at] == 0 && p[at + 7] == 0);
  memmove(p + at, p + at + 8, len - at - 8);
  len -= 8;
  p[OFF_VERSION] = 2;
  n = len;
  for (i = 0; i < 8; i++)
    p[OFF_LENGTH + i] = (unsigned char)(n >> (8 * i));
  CHECK(EVP_Digest(p, len - 32, p + len - 32, NULL, EVP_sha256(), NULL) == 1);
  statefx_spill(dir, "manifest", p, len);
  free(p);
}

static void test_format_2_loads_untagged_and_is_rewritten(void)
{
  struct state *s;
  unsigned char *p;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, NULL);
  make_format_2(dir);
  s = open_ok(dir, NULL);
  CHECK_EQ_STR(state_tag_header(s), "");
  CHECK(!tagged(s, "a.html"));
  CHECK_EQ_INT(manifest_find(state_manifest(s), "b.html")->size, 102);
  /* The first record follows a format-4 snapshot, which a cfwatch
   * that knows no TREE_TAGGED refuses. */
  commit_a(s, TREE_TAGGED);
  state_close(s);
  p = test_slurp(dir, "manifest", &len);
  CHECK_EQ_INT(p[OFF_VERSION], 4);
  free(p);
  s = open_ok(dir, NULL);
  CHECK(tagged(s, "a.html"));
  state_close(s);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_commit_sets_the_flag_and_restart_keeps_it),
          TEST(test_upload_without_tag_clears_the_flag),
          TEST(test_stale_commit_clears_the_flag),
          TEST(test_open_intent_projects_untagged),
          TEST(test_header_change_clears_every_flag),
          TEST(test_format_2_loads_untagged_and_is_rewritten))
