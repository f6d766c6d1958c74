/* SPDX-License-Identifier: MIT */
/* A commit records its intent's changes in the manifest in place and
 * takes the added paths from the intent (issue 13): live, and when the
 * journal is replayed after a restart. */
#include "state.h"

#include "statefx.h"
#include "test.h"

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"

static struct tree_entry entry(const char *path, unsigned seed)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* borrowed: the state copies it */
  e.size = 100 + seed;
  e.mtime_ns = INT64_C(1700000000000000000) + seed;
  e.ino = 1000 + seed;
  e.flags = TREE_HASHED;
  memset(e.hash, (int)seed, sizeof(e.hash));
  return e;
}

/* A baseline of "b", "d", "f". */
static void baseline(const char *dir)
{
  struct change v[3] = {change_make(CHANGE_ADDED, entry("b", 1)),
                        change_make(CHANGE_ADDED, entry("d", 2)),
                        change_make(CHANGE_ADDED, entry("f", 3))};
  struct cfw_err err = {0};
  struct state *s = statefx_open(dir, ROOT, DIST);

  CHECK_EQ_INT(state_baseline(s, v, 3, &err), 0);
  state_close(s);
}

/* The manifest after the batch below: a first, b modified, c added,
 * d deleted, f touched, g last. */
static void check_committed(const struct state *s)
{
  const struct manifest *m = state_manifest(s);
  const char *const want[] = {"a", "b", "c", "f", "g"};
  const unsigned sizes[] = {10, 11, 12, 14, 15};
  size_t i;

  CHECK_EQ_INT(manifest_count(m), 5);
  for (i = 0; i < 5 && i < manifest_count(m); i++) {
    CHECK_EQ_STR(manifest_at(m, i)->path, want[i]);
    CHECK_EQ_INT(manifest_at(m, i)->size, 100 + sizes[i]);
  }
}

static void test_commit_records_adds_changes_and_deletions(void)
{
  struct change v[] = {change_make(CHANGE_ADDED, entry("a", 10)),
                       change_make(CHANGE_MODIFIED, entry("b", 11)),
                       change_make(CHANGE_ADDED, entry("c", 12)),
                       change_make(CHANGE_DELETED, entry("d", 2)),
                       change_make(CHANGE_TOUCHED, entry("f", 14)),
                       change_make(CHANGE_ADDED, entry("g", 15))};
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct strlist paths;
  struct state *s;
  char ref[STATE_REF_LEN];
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  s = statefx_open(dir, ROOT, DIST);
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/*") == 0);
  CHECK_EQ_INT(intend_copy(s, DIST, &paths, v, 6, NULL, 6, &in, &err), 0);
  strlist_free(&paths);
  REQUIRE(in != NULL);
  memcpy(ref, in->ref, sizeof(ref));
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 3);
  CHECK_EQ_INT(state_commit(s, ref, "I2J0I21PCUYOIK", NULL, 0, &err), 0);
  CHECK_EQ_INT(state_intent_count(s), 0);
  check_committed(s);
  state_close(s);
  s = statefx_open(dir, ROOT,
                   DIST); /* the journal's intent and commit, replayed */
  CHECK_EQ_INT(state_intent_count(s), 0);
  check_committed(s);
  state_close(s);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_commit_records_adds_changes_and_deletions))
