/* SPDX-License-Identifier: MIT */
/* A path shared by several tree entries is freed with the last hold,
 * whichever thread drops it (ASan and TSan check the frees and the
 * count). */
#include "pathref.h"

#include <pthread.h>
#include <string.h>

#include "test.h"

static void test_new_copies_len_bytes_and_ends_them(void)
{
  char *p = pathref_new("a/b.htmlXYZ", 8);

  REQUIRE(p != NULL);
  CHECK_EQ_STR(p, "a/b.html");
  pathref_drop(p);
  p = pathref_dup("");
  REQUIRE(p != NULL);
  CHECK_EQ_STR(p, "");
  pathref_drop(p);
}

/* Each hold is one more drop before the free: the string stays readable
 * until the last (ASan reports a read after a free too early, and a leak
 * if the last drop does not free). */
static void test_last_drop_frees(void)
{
  char *p = pathref_dup("posts/x/index.html");

  REQUIRE(p != NULL);
  CHECK(pathref_hold(p) == p);
  CHECK(pathref_hold(p) == p);
  pathref_drop(p);
  pathref_drop(p);
  CHECK_EQ_STR(p, "posts/x/index.html");
  pathref_drop(p);
}

static void test_null_is_held_and_dropped_as_null(void)
{
  CHECK(pathref_hold(NULL) == NULL);
  pathref_drop(NULL);
}

#define THREADS 4
#define HOLDS   20000

static void *hold_and_drop(void *arg)
{
  char *p = arg;
  size_t i;

  for (i = 0; i < HOLDS; i++) {
    pathref_hold(p);
    if (p[0] != 'a')
      return NULL;
    pathref_drop(p);
  }
  pathref_drop(p); /* the hold the thread was started with */
  return p;
}

/* Walk threads hold manifest paths while the hashing threads drop
 * others: the count must not lose an update. */
static void test_holds_from_many_threads_balance(void)
{
  pthread_t th[THREADS];
  void *got;
  char *p = pathref_dup("a/shared.html");
  size_t i;

  REQUIRE(p != NULL);
  for (i = 0; i < THREADS; i++)
    REQUIRE(pthread_create(&th[i], NULL, hold_and_drop, pathref_hold(p)) == 0);
  for (i = 0; i < THREADS; i++) {
    CHECK_EQ_INT(pthread_join(th[i], &got), 0);
    CHECK(got == p);
  }
  CHECK_EQ_STR(p, "a/shared.html"); /* still held once: ours */
  pathref_drop(p);
}

TEST_MAIN(TEST(test_new_copies_len_bytes_and_ends_them),
          TEST(test_last_drop_frees),
          TEST(test_null_is_held_and_dropped_as_null),
          TEST(test_holds_from_many_threads_balance))
