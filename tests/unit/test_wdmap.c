/* SPDX-License-Identifier: MIT */
#include "test.h"
#include "wdmap.h"

static void test_add_get_del_round_trip(void)
{
  struct wdmap m;

  wdmap_init(&m);
  CHECK(wdmap_add(&m, 1, "") != NULL);
  CHECK(wdmap_add(&m, 2, "a") != NULL);
  CHECK_EQ_STR(wdmap_get(&m, 1)->rels[0], "");
  CHECK_EQ_STR(wdmap_get(&m, 2)->rels[0], "a");
  CHECK(wdmap_get(&m, 3) == NULL);
  wdmap_del(&m, 2);
  CHECK(wdmap_get(&m, 2) == NULL);
  CHECK_EQ_INT(m.used, 1);
  wdmap_free(&m);
}

static void test_directory_reached_by_several_paths_keeps_each_once(void)
{
  struct wdmap m;
  struct wdmap_entry *e;

  /* real/docs, and a symlink docs -> real/docs: one inode, one wd. */
  wdmap_init(&m);
  CHECK(wdmap_add(&m, 5, "real/docs") != NULL);
  CHECK(wdmap_add(&m, 5, "docs") != NULL);
  e = wdmap_add(&m, 5, "docs");
  CHECK(e != NULL);
  CHECK_EQ_INT(e->n_rels, 2);
  CHECK_EQ_INT(m.used, 1);
  CHECK_EQ_STR(e->rels[0], "real/docs");
  CHECK_EQ_STR(e->rels[1], "docs");
  wdmap_free(&m);
}

static void test_drop_under_keeps_other_paths(void)
{
  struct wdmap m;
  struct wdmap_entry *e;

  wdmap_init(&m);
  CHECK(wdmap_add(&m, 7, "real/docs/sub") != NULL);
  CHECK(wdmap_add(&m, 7, "docs/sub") != NULL);
  e = wdmap_add(&m, 7, "docs-old/sub");
  CHECK_EQ_INT(wdmap_drop_under(e, "docs"), 2);
  CHECK_EQ_STR(e->rels[0], "real/docs/sub");
  CHECK_EQ_STR(e->rels[1], "docs-old/sub");
  CHECK_EQ_INT(wdmap_drop_under(e, ""), 0);
  wdmap_free(&m);
}

static void test_entry_without_path_holds_pins(void)
{
  struct wdmap m;
  struct wdmap_entry *e;

  wdmap_init(&m);
  e = wdmap_add(&m, 9, NULL);
  CHECK(e != NULL);
  CHECK_EQ_INT(e->n_rels, 0);
  e->pins++;
  CHECK_EQ_INT(wdmap_get(&m, 9)->pins, 1);
  wdmap_free(&m);
}

static void test_covers_is_by_component(void)
{
  CHECK(wdmap_covers("a", "a"));
  CHECK(wdmap_covers("a", "a/b"));
  CHECK(!wdmap_covers("a", "ab"));
  CHECK(!wdmap_covers("a/b", "a"));
  CHECK(wdmap_covers("", "anything"));
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
    CHECK(wdmap_add(&m, wd, name) != NULL);
    if (wd > 100)
      wdmap_del(&m, wd - 100);
  }
  CHECK_EQ_INT(m.used, 100);
  CHECK_EQ_STR(wdmap_get(&m, 200000)->rels[0], "d200000");
  CHECK(wdmap_get(&m, 5) == NULL);
  CHECK(m.cap <= 4096);
  wdmap_free(&m);
}

TEST_MAIN(TEST(test_add_get_del_round_trip),
          TEST(test_directory_reached_by_several_paths_keeps_each_once),
          TEST(test_drop_under_keeps_other_paths),
          TEST(test_entry_without_path_holds_pins),
          TEST(test_covers_is_by_component), TEST(test_churn_keeps_table_small))
