/* SPDX-License-Identifier: MIT */
#include "test.h"
#include "wdmap.h"

static void test_put_get_del_round_trip(void)
{
  struct wdmap m;

  wdmap_init(&m);
  CHECK_EQ_INT(wdmap_put(&m, 1, ""), 0);
  CHECK_EQ_INT(wdmap_put(&m, 2, "a"), 0);
  CHECK_EQ_STR(wdmap_get(&m, 1)->rel, "");
  CHECK_EQ_STR(wdmap_get(&m, 2)->rel, "a");
  CHECK(wdmap_get(&m, 3) == NULL);
  wdmap_del(&m, 2);
  CHECK(wdmap_get(&m, 2) == NULL);
  CHECK_EQ_INT(m.used, 1);
  wdmap_free(&m);
}

static void test_put_replaces_mapping(void)
{
  struct wdmap m;

  wdmap_init(&m);
  CHECK_EQ_INT(wdmap_put(&m, 5, "old"), 0);
  CHECK_EQ_INT(wdmap_put(&m, 5, "new"), 0);
  CHECK_EQ_STR(wdmap_get(&m, 5)->rel, "new");
  CHECK_EQ_INT(m.used, 1);
  wdmap_free(&m);
}

static void test_churn_keeps_table_small(void)
{
  struct wdmap m;
  char name[32];
  int wd;

  /* Directories come and go for ever; wds keep rising. */
  wdmap_init(&m);
  for (wd = 1; wd <= 200000; wd++) {
    snprintf(name, sizeof(name), "d%d", wd);
    CHECK_EQ_INT(wdmap_put(&m, wd, name), 0);
    if (wd > 100)
      wdmap_del(&m, wd - 100);
  }
  CHECK_EQ_INT(m.used, 100);
  CHECK_EQ_STR(wdmap_get(&m, 200000)->rel, "d200000");
  CHECK(wdmap_get(&m, 5) == NULL);
  CHECK(m.cap <= 4096);
  wdmap_free(&m);
}

TEST_MAIN(TEST(test_put_get_del_round_trip), TEST(test_put_replaces_mapping),
          TEST(test_churn_keeps_table_small))
