/* SPDX-License-Identifier: MIT */
/* state_intend_take moves a batch's changes into its intent instead of
 * copying them (issue 13): a batch given as indices leaves those
 * entries without their paths, the rest untouched; a batch that is the
 * whole array, in order, takes the array itself; a record that cannot
 * be written (a file size limit, as a full disk) leaves the caller's
 * array exactly as it was, owned by the caller. */
#include "state.h"

#include "pathref.h"
#include "statefx.h"
#include "test.h"

#include <signal.h>

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"

/* n changes "p<i>", each its own bytes; the paths are owned. */
static struct change *changes(size_t n)
{
  struct change *v = calloc(n + 1, sizeof(*v));
  char name[32];
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < n; i++) {
    (void)snprintf(name, sizeof(name), "p%06zu", i);
    change_set_kind(&v[i], CHANGE_ADDED);
    v[i].entry.path = pathref_dup(name);
    REQUIRE(v[i].entry.path != NULL);
    v[i].entry.size = 100 + i;
    v[i].entry.ino = 1000 + i;
    v[i].entry.flags = TREE_HASHED;
    memset(v[i].entry.hash, (int)i, sizeof(v[i].entry.hash));
  }
  return v;
}

static struct state *open_fresh(char *dir, size_t len)
{
  test_tmpdir(dir, len);
  return statefx_open(dir, ROOT, DIST);
}

static int take(struct state *s, struct change **v, size_t *n_v,
                const uint32_t *idx, size_t n, const struct intent **in,
                struct cfw_err *err)
{
  struct strlist paths;
  int rc;

  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/*") == 0);
  rc = state_intend_take(s, DIST, &paths, v, n_v, idx, n, in, err);
  strlist_free(&paths);
  return rc;
}

static void test_indices_move_their_paths_only(void)
{
  const uint32_t idx[] = {1, 3, 4};
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change *v = changes(6);
  size_t n_v = 6;
  struct state *s;
  char dir[256];
  size_t i;

  s = open_fresh(dir, sizeof(dir));
  CHECK_EQ_INT(take(s, &v, &n_v, idx, 3, &in, &err), 0);
  REQUIRE(in != NULL);
  CHECK(v != NULL);
  CHECK_EQ_INT(n_v, 6);
  CHECK_EQ_INT(in->n_changes, 3);
  for (i = 0; i < 3; i++) {
    CHECK(v[idx[i]].entry.path == NULL);
    CHECK_EQ_INT(in->changes[i].entry.size, 100 + idx[i]);
  }
  CHECK_EQ_STR(in->changes[0].entry.path, "p000001");
  CHECK_EQ_STR(in->changes[2].entry.path, "p000004");
  CHECK_EQ_STR(v[0].entry.path, "p000000");
  CHECK_EQ_STR(v[2].entry.path, "p000002");
  CHECK_EQ_STR(v[5].entry.path, "p000005");
  state_close(s);
  changes_free(v, n_v); /* the hollow entries free nothing */
  /* The journal holds the moved batch. */
  CHECK_EQ_INT(state_open(&s, dir, ROOT, DIST, 0, &err), 0);
  REQUIRE(s != NULL);
  REQUIRE(state_intent_count(s) == 1);
  CHECK_EQ_STR(state_intent_at(s, 0)->changes[1].entry.path, "p000003");
  state_close(s);
  test_rmtree(dir);
}

static void test_the_whole_array_is_taken_itself(void)
{
  const uint32_t idx[] = {0, 1, 2, 3};
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change *v = changes(4);
  struct change *was = v;
  size_t n_v = 4;
  struct state *s;
  char dir[256];

  s = open_fresh(dir, sizeof(dir));
  CHECK_EQ_INT(take(s, &v, &n_v, idx, 4, &in, &err), 0);
  REQUIRE(in != NULL);
  CHECK(v == NULL);
  CHECK_EQ_INT(n_v, 0);
  CHECK(in->changes == was); /* no second array */
  CHECK_EQ_STR(in->changes[3].entry.path, "p000003");
  state_close(s); /* frees it with the intent */
  test_rmtree(dir);
}

/* Not all of it, or not in order: moved entry by entry instead. */
static void test_a_reordered_whole_is_not_taken_whole(void)
{
  const uint32_t idx[] = {0, 2, 1};
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change *v = changes(3);
  size_t n_v = 3;
  struct state *s;
  char dir[256];

  s = open_fresh(dir, sizeof(dir));
  CHECK_EQ_INT(take(s, &v, &n_v, idx, 3, &in, &err), 0);
  REQUIRE(in != NULL && v != NULL);
  CHECK(in->changes != v);
  CHECK_EQ_STR(in->changes[1].entry.path, "p000002");
  CHECK(v[0].entry.path == NULL && v[1].entry.path == NULL &&
        v[2].entry.path == NULL);
  state_close(s);
  changes_free(v, n_v);
  test_rmtree(dir);
}

/* Both ways of taking fail the same way: nothing moved, nothing freed
 * (ASan would see a double free when the caller frees its array). */
static void check_failed_take_leaves(const uint32_t *idx, size_t n)
{
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change *v = changes(20000);
  struct change *was = v;
  size_t n_v = 20000;
  struct state *s;
  char dir[256];
  size_t i;

  s = open_fresh(dir, sizeof(dir));
  statefx_limit_file_size(64 * 1024);
  CHECK(take(s, &v, &n_v, idx, n, &in, &err) < 0);
  CHECK_CONTAINS(err.msg, "nothing was recorded");
  CHECK(v == was);
  CHECK_EQ_INT(n_v, 20000);
  CHECK_EQ_INT(state_intent_count(s), 0);
  for (i = 0; i < 20000; i++)
    if (v[i].entry.path == NULL)
      break;
  CHECK_EQ_INT(i, 20000);
  CHECK_EQ_STR(v[19999].entry.path, "p019999");
  state_close(s);
  changes_free(v, n_v);
  test_rmtree(dir);
}

static void test_a_failed_whole_take_leaves_the_array(void)
{
  check_failed_take_leaves(NULL, 20000);
}

static void test_a_failed_indexed_take_leaves_the_paths(void)
{
  static uint32_t idx[10000];
  size_t i;

  for (i = 0; i < 10000; i++)
    idx[i] = (uint32_t)(2 * i);
  check_failed_take_leaves(idx, 10000);
}

/* Each case alone (test.h): a case sets a hard file size limit (statefx.h). */
TEST_MAIN_ALONE(TEST(test_indices_move_their_paths_only),
                TEST(test_the_whole_array_is_taken_itself),
                TEST(test_a_reordered_whole_is_not_taken_whole),
                TEST(test_a_failed_whole_take_leaves_the_array),
                TEST(test_a_failed_indexed_take_leaves_the_paths))
