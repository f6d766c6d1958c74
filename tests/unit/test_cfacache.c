/* SPDX-License-Identifier: MIT */
/* The account count's cache of path counts (cfacache.h), on real files
 * in a fresh directory. */
#include <errno.h>
#include <string.h>

#include "cfacache.h"
#include "test.h"

static void test_saved_counts_load_again(void)
{
  struct cfw_err err = {0};
  const struct cfacache_entry *e;
  struct cfacache c;
  char dir[256];
  char state[300];

  test_tmpdir(dir, sizeof(dir));
  REQUIRE(snprintf(state, sizeof(state), "%s/state", dir) > 0);
  cfacache_init(&c);
  CHECK_EQ_INT(cfacache_add(&c, "IB", 3, 200), 0);
  CHECK_EQ_INT(cfacache_add(&c, "IA", 7, 100), 0);
  CHECK_EQ_INT(cfacache_add(&c, "IC", 1, 50), 0); /* older than the month */
  CHECK_EQ_INT(cfacache_save(&c, state, 100, &err), 0);
  cfacache_free(&c);
  CHECK_EQ_INT(cfacache_load(&c, state, &err), 0);
  CHECK_EQ_INT(c.n, 2);
  e = cfacache_find(&c, "IA");
  REQUIRE(e != NULL);
  CHECK_EQ_INT(e->paths, 7);
  CHECK_EQ_INT(e->created_s, 100);
  CHECK(cfacache_find(&c, "IC") == NULL);
  cfacache_free(&c);
  test_rmtree(dir);
}

static void test_missing_file_is_an_empty_cache(void)
{
  struct cfw_err err = {0};
  struct cfacache c;

  CHECK_EQ_INT(cfacache_load(&c, "/nonexistent/cfwatch", &err), 0);
  CHECK_EQ_INT(c.n, 0);
  cfacache_free(&c);
}

static void test_damaged_file_counts_nothing(void)
{
  struct cfw_err err = {0};
  struct cfacache c;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "account-paths", "cfwatch-account 1\nIA 3 100\nIB x 1\n");
  CHECK_EQ_INT(cfacache_load(&c, dir, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "damaged");
  CHECK_EQ_INT(c.n, 0);
  test_write(dir, "account-paths", "something else\n");
  CHECK_EQ_INT(cfacache_load(&c, dir, &err), -EBADMSG);
  test_write(dir, "account-paths", "cfwatch-account 1\nia 3 100\n");
  CHECK_EQ_INT(cfacache_load(&c, dir, &err), -EBADMSG);
  test_rmtree(dir);
}

static void test_add_keeps_one_sorted_entry_per_id(void)
{
  struct cfacache c;
  size_t i;

  cfacache_init(&c);
  CHECK_EQ_INT(cfacache_add(&c, "IZ", 1, 1), 0);
  CHECK_EQ_INT(cfacache_add(&c, "IA", 1, 1), 0);
  CHECK_EQ_INT(cfacache_add(&c, "IM", 1, 1), 0);
  CHECK_EQ_INT(cfacache_add(&c, "IA", 9, 2), 0);
  REQUIRE(c.n == 3);
  for (i = 1; i < c.n; i++)
    CHECK(strcmp(c.v[i - 1].id, c.v[i].id) < 0);
  CHECK_EQ_INT(cfacache_find(&c, "IA")->paths, 9);
  CHECK_EQ_INT(cfacache_add(&c, "", 1, 1), -EINVAL);
  CHECK_EQ_INT(cfacache_add(&c, "I A", 1, 1), -EINVAL);
  cfacache_free(&c);
}

TEST_MAIN(TEST(test_saved_counts_load_again),
          TEST(test_missing_file_is_an_empty_cache),
          TEST(test_damaged_file_counts_nothing),
          TEST(test_add_keeps_one_sorted_entry_per_id))
