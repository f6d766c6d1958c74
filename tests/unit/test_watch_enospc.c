/* SPDX-License-Identifier: MIT */
/* Out of inotify watches: what cannot be watched is rescanned on a
 * timer, each rescan walks it again, and once everything is watched the
 * rescans stop.  Each case runs in a user namespace of its own with a
 * low max_user_watches (tests/unit/mountns.h), which it raises later:
 * the host's limit is never touched.  Skipped where user namespaces are
 * not permitted.  The watch of the root's parent takes one watch; the
 * root's own, a second. */
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "mountns.h"
#include "strlist.h"
#include "test.h"
#include "watch.h"
#include "watchns.h"
#include "watchrun.h"

/* A watch rescanning every 50 ms where it cannot watch. */
static void start_rescanning(struct run *r)
{
  struct watch_opts o = {0};
  struct cfw_err err;

  o.root = r->root;
  o.fallback_rescan_ms = 50;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, run_on_event, r, &err), 0);
}

static bool saw_star(const struct run *r)
{
  return strlist_contains(&r->seen, "*");
}

/* The root and sub (and new) watched, and every walk in. */
static bool watching_2(const struct run *r)
{
  return watch_dir_count(r->w) == 2 && watch_settled(r->w);
}

static bool watching_3(const struct run *r)
{
  return watch_dir_count(r->w) == 3 && watch_settled(r->w);
}

static bool saw_sub_x(const struct run *r)
{
  return strlist_contains(&r->seen, "sub/x.html");
}

/* True once six rescan periods pass without a rescan, within 5 s.  A
 * rescan already due when the last directory was watched may still
 * come (a linked file's directory is pinned at the rescan after the
 * walk's), but then they stop. */
static bool rescans_stop(struct run *r)
{
  uint64_t start = uv_now(&r->loop);

  for (;;) {
    strlist_free(&r->seen);
    strlist_init(&r->seen);
    if (!run_until(r, saw_star, 300))
      return true;
    if (uv_now(&r->loop) - start > 5000)
      return false;
  }
}

/* The rescans stop; then an edit of sub/x.html is seen by its own path,
 * and no rescan comes for ten rescan periods. */
static void check_watched_and_quiet(struct run *r)
{
  CHECK(rescans_stop(r));
  strlist_free(&r->seen);
  strlist_init(&r->seen);
  test_write(r->root, "sub/x.html", "x2");
  CHECK(run_until(r, saw_sub_x, 5000));
  CHECK(!run_until(r, saw_star, 500));
  CHECK_EQ_INT(watch_root_gen(r->w), 1);
}

/* The root itself could not be watched; once watches are free again, a
 * rescan watches it and its tree, and the rescans stop.  They went on
 * every 30 s for good. */
static void test_rescans_stop_once_the_root_is_watched_again(void)
{
  struct run r;

  if (!run_init_watches(&r, 1))
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  start_rescanning(&r);
  CHECK(run_until(&r, saw_star, 5000));
  CHECK_EQ_INT(watch_dir_count(r.w), 0);
  CHECK_EQ_INT(test_max_watches(100), 0);
  CHECK(run_until(&r, watching_2, 5000)); /* the parent's not counted */
  check_watched_and_quiet(&r);
  run_stop(&r);
}

/* The root is watched, a directory under it is not: each rescan walks
 * what was short again, and once watches are free it is watched (it
 * never was).  Then the rescans stop. */
static void test_subdirectory_out_of_watches_is_watched_at_a_rescan(void)
{
  struct run r;

  if (!run_init_watches(&r, 2))
    return;
  test_write(r.root, "a.html", "a");
  test_write(r.root, "sub/x.html", "x");
  start_rescanning(&r);
  CHECK(run_until(&r, saw_star, 5000));
  CHECK_EQ_INT(watch_dir_count(r.w), 1); /* the root's alone */
  CHECK(!run_until(&r, run_never, 200)); /* a few rescans, still short */
  CHECK_EQ_INT(watch_dir_count(r.w), 1);
  CHECK_EQ_INT(test_max_watches(100), 0);
  CHECK(run_until(&r, watching_2, 5000));
  check_watched_and_quiet(&r);
  run_stop(&r);
}

static bool saw_new(const struct run *r)
{
  return strlist_contains(&r->seen, "new") && watch_settled(r->w);
}

static bool saw_new_y(const struct run *r)
{
  return strlist_contains(&r->seen, "new/y.html");
}

/* A directory made while watches are short (its own walk cannot watch
 * it) is walked again at the rescans until it is watched. */
static void test_new_directory_out_of_watches_is_retried(void)
{
  char dir[8192];
  struct run r;

  if (!run_init_watches(&r, 3))
    return;
  test_write(r.root, "sub/x.html", "x");
  start_rescanning(&r);
  CHECK(run_until(&r, run_settled, 5000));
  CHECK_EQ_INT(watch_dir_count(r.w), 2);
  CHECK(!run_until(&r, saw_star, 200)); /* all watched: no rescans */
  snprintf(dir, sizeof(dir), "%s/new", r.root);
  CHECK_EQ_INT(mkdir(dir, 0755), 0);
  CHECK(run_until(&r, saw_new, 5000));
  CHECK(run_until(&r, saw_star, 5000)); /* short: rescans */
  CHECK_EQ_INT(watch_dir_count(r.w), 2);
  CHECK_EQ_INT(test_max_watches(100), 0);
  CHECK(run_until(&r, watching_3, 5000));
  strlist_free(&r.seen);
  strlist_init(&r.seen);
  test_write(r.root, "new/y.html", "y");
  CHECK(run_until(&r, saw_new_y, 5000));
  CHECK(!run_until(&r, saw_star, 500));
  run_stop(&r);
}

static bool saw_alias(const struct run *r)
{
  return strlist_contains(&r->seen, "alias.html");
}

/* A link to a file in a directory that could not be watched: its
 * directory cannot be pinned either (the link's reports come from the
 * pin).  Once watches are free, a rescan pins it: an edit of the file
 * is reported under the link's path too. */
static void test_linked_file_directory_is_pinned_at_a_rescan(void)
{
  char link[8192];
  struct run r;

  if (!run_init_watches(&r, 2))
    return;
  test_write(r.root, "sub/x.html", "x");
  snprintf(link, sizeof(link), "%s/alias.html", r.root);
  CHECK_EQ_INT(symlink("sub/x.html", link), 0);
  start_rescanning(&r);
  CHECK(run_until(&r, saw_star, 5000));
  CHECK_EQ_INT(watch_dir_count(r.w), 1);
  CHECK_EQ_INT(test_max_watches(100), 0);
  CHECK(run_until(&r, watching_2, 5000));
  check_watched_and_quiet(&r);
  CHECK(run_until(&r, saw_alias, 5000));
  run_stop(&r);
}

/* Each case alone (test.h): a case sets its own inotify limits in a
 * namespace (watchns.h). */
TEST_MAIN_ALONE(TEST(test_rescans_stop_once_the_root_is_watched_again),
                TEST(test_linked_file_directory_is_pinned_at_a_rescan),
                TEST(test_subdirectory_out_of_watches_is_watched_at_a_rescan),
                TEST(test_new_directory_out_of_watches_is_retried))
