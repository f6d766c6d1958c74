/* SPDX-License-Identifier: MIT */
#include "strlist.h"

#include "test.h"

static void fill(struct strlist *l, const char *prefix, size_t n)
{
  char s[32];
  size_t i;

  strlist_init(l);
  for (i = 0; i < n; i++) {
    (void)snprintf(s, sizeof(s), "%s%zu", prefix, i);
    REQUIRE(strlist_push(l, s) == 0);
  }
}

/* An empty list takes the other's array and strings as they are. */
static void test_move_into_empty_takes_the_array(void)
{
  struct strlist dst;
  struct strlist src;
  char **v;
  char *first;

  fill(&dst, "d", 0);
  fill(&src, "s", 100);
  v = src.v;
  first = src.v[0];
  CHECK_EQ_INT(strlist_move_all(&dst, &src), 0);
  CHECK(dst.v == v && dst.v[0] == first);
  CHECK_EQ_INT(dst.n, 100);
  CHECK(src.v == NULL && src.n == 0 && src.cap == 0);
  strlist_free(&dst);
}

/* A list with strings gets the other's appended, the same pointers, in
 * order, and the other is left empty. */
static void test_move_appends_the_strings_themselves(void)
{
  struct strlist dst;
  struct strlist src;
  char *moved[20];
  size_t i;

  fill(&dst, "d", 3);
  fill(&src, "s", 20);
  memcpy(moved, src.v, sizeof(moved));
  CHECK_EQ_INT(strlist_move_all(&dst, &src), 0);
  REQUIRE(dst.n == 23);
  CHECK_EQ_STR(dst.v[0], "d0");
  CHECK_EQ_STR(dst.v[2], "d2");
  for (i = 0; i < 20; i++)
    CHECK(dst.v[3 + i] == moved[i]);
  CHECK_EQ_STR(dst.v[22], "s19");
  CHECK(src.v == NULL && src.n == 0);
  CHECK_EQ_INT(strlist_move_all(&dst, &src), 0); /* nothing to move */
  CHECK_EQ_INT(dst.n, 23);
  strlist_free(&dst);
}

TEST_MAIN(TEST(test_move_into_empty_takes_the_array),
          TEST(test_move_appends_the_strings_themselves))
