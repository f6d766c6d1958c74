/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <uv.h>

#include "strlist.h"
#include "test.h"
#include "watch.h"

/* What the watch reported, and a loop to run it on. */
struct rec {
  uv_loop_t loop;
  uv_timer_t timer;
  struct watch *w;
  struct strlist seen; /* reported paths; "*" for rescan */
  char root[8192];
  char tmp[4096];
};

static void rec_on_event(struct watch *w, const char *rel, void *arg)
{
  struct rec *r = arg;

  (void)w;
  CHECK_EQ_INT(strlist_push(&r->seen, rel ? rel : "*"), 0);
}

static bool rec_skip(void *ctx, const char *rel, bool is_dir)
{
  (void)ctx;
  return is_dir && strcmp(rel, ".git") == 0;
}

static void rec_on_timer(uv_timer_t *t)
{
  uv_stop(t->loop);
}

/* Runs the loop until `want` was reported or ms pass. */
static bool rec_wait_for(struct rec *r, const char *want, uint64_t ms)
{
  uint64_t end = uv_now(&r->loop) + ms;

  while (!strlist_contains(&r->seen, want) && uv_now(&r->loop) < end) {
    uv_timer_start(&r->timer, rec_on_timer, 20, 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  }
  return strlist_contains(&r->seen, want);
}

static void rec_start(struct rec *r)
{
  struct watch_opts o = {0};
  struct cfw_err err;

  memset(r, 0, sizeof(*r));
  strlist_init(&r->seen);
  test_tmpdir(r->tmp, sizeof(r->tmp));
  snprintf(r->root, sizeof(r->root), "%s/public", r->tmp);
  CHECK_EQ_INT(mkdir(r->root, 0755), 0);
  CHECK_EQ_INT(uv_loop_init(&r->loop), 0);
  CHECK_EQ_INT(uv_timer_init(&r->loop, &r->timer), 0);
  o.root = r->root;
  o.skip = rec_skip;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, rec_on_event, r, &err), 0);
}

static void rec_stop(struct rec *r)
{
  watch_close(r->w, NULL, NULL);
  uv_close((uv_handle_t *)&r->timer, NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  CHECK_EQ_INT(uv_loop_close(&r->loop), 0);
  strlist_free(&r->seen);
  test_rmtree(r->tmp);
}

static void test_new_file_is_reported(void)
{
  struct rec r;

  rec_start(&r);
  test_write(r.root, "index.html", "x");
  CHECK(rec_wait_for(&r, "index.html", 5000));
  rec_stop(&r);
}

static void test_deep_tree_created_at_once_is_caught(void)
{
  char cmd[20000];
  struct rec r;

  rec_start(&r);
  /* mkdir -p and files in one go, faster than we can add watches. */
  snprintf(cmd, sizeof(cmd),
           "cd '%s' && mkdir -p a/b/c/d/e && echo 1 > a/1 && "
           "echo 2 > a/b/c/2 && echo 3 > a/b/c/d/e/3",
           r.root);
  CHECK_EQ_INT(system(cmd), 0);
  CHECK(rec_wait_for(&r, "a/b/c/d/e/3", 5000));
  CHECK(rec_wait_for(&r, "a/b/c/2", 1000));
  CHECK(rec_wait_for(&r, "a/1", 1000));
  CHECK_EQ_INT(watch_dir_count(r.w), 6);
  rec_stop(&r);
}

static void test_excluded_dir_is_not_watched(void)
{
  struct rec r;

  rec_start(&r);
  test_write(r.root, ".git/HEAD", "x");
  test_write(r.root, "ok.html", "x");
  CHECK(rec_wait_for(&r, "ok.html", 5000));
  test_write(r.root, ".git/index", "x");
  test_write(r.root, "ok2.html", "x");
  CHECK(rec_wait_for(&r, "ok2.html", 5000));
  CHECK(!strlist_contains(&r.seen, ".git/index"));
  CHECK(!strlist_contains(&r.seen, ".git/HEAD"));
  CHECK_EQ_INT(watch_dir_count(r.w), 1);
  rec_stop(&r);
}

static void test_deleted_file_and_dir_are_reported(void)
{
  char path[20000];
  struct rec r;

  rec_start(&r);
  test_write(r.root, "d/x.html", "x");
  CHECK(rec_wait_for(&r, "d/x.html", 5000));
  strlist_free(&r.seen);
  snprintf(path, sizeof(path), "rm -rf '%s/d'", r.root);
  CHECK_EQ_INT(system(path), 0);
  CHECK(rec_wait_for(&r, "d", 5000));
  CHECK(rec_wait_for(&r, "d/x.html", 1000));
  CHECK_EQ_INT(watch_dir_count(r.w), 1);
  rec_stop(&r);
}

static void test_root_removed_and_rebuilt_is_followed(void)
{
  char cmd[20000];
  struct rec r;

  rec_start(&r);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s/sub'", r.root,
           r.root);
  CHECK_EQ_INT(system(cmd), 0);
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(watch_root_present(r.w));
  strlist_free(&r.seen);
  /* Still watching: the new root and its subdirectory. */
  test_write(r.root, "sub/new.html", "x");
  CHECK(rec_wait_for(&r, "sub/new.html", 5000));
  rec_stop(&r);
}

static void test_renamed_dir_reports_both_sides(void)
{
  char cmd[20000];
  struct rec r;

  rec_start(&r);
  test_write(r.root, "old/a.html", "x");
  CHECK(rec_wait_for(&r, "old/a.html", 5000));
  snprintf(cmd, sizeof(cmd), "mv '%s/old' '%s/new'", r.root, r.root);
  CHECK_EQ_INT(system(cmd), 0);
  strlist_free(&r.seen);
  CHECK(rec_wait_for(&r, "new/a.html", 5000));
  CHECK(rec_wait_for(&r, "old", 1000));
  test_write(r.root, "new/b.html", "x");
  CHECK(rec_wait_for(&r, "new/b.html", 5000));
  rec_stop(&r);
}

TEST_MAIN(TEST(test_new_file_is_reported),
          TEST(test_deep_tree_created_at_once_is_caught),
          TEST(test_excluded_dir_is_not_watched),
          TEST(test_deleted_file_and_dir_are_reported),
          TEST(test_root_removed_and_rebuilt_is_followed),
          TEST(test_renamed_dir_reports_both_sides))
