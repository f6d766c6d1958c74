/* SPDX-License-Identifier: MIT */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mount.h>
#include <uv.h>

#include "mountns.h"
#include "strlist.h"
#include "test.h"
#include "watch.h"

/* More than watch_hold's slots. */
#define WRITERS 24

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

/* A fresh temp dir with an empty root in it, and a loop; no watch yet. */
static void rec_init(struct rec *r)
{
  memset(r, 0, sizeof(*r));
  strlist_init(&r->seen);
  test_tmpdir(r->tmp, sizeof(r->tmp));
  snprintf(r->root, sizeof(r->root), "%s/public", r->tmp);
  CHECK_EQ_INT(mkdir(r->root, 0755), 0);
  CHECK_EQ_INT(uv_loop_init(&r->loop), 0);
  CHECK_EQ_INT(uv_timer_init(&r->loop, &r->timer), 0);
}

/* Starts watching root (r->root if NULL), and waits until the watch's
 * walk of it (on the thread pool) is in: changes from then on are
 * reported. */
static void rec_watch(struct rec *r, const char *root)
{
  struct watch_opts o = {0};
  struct cfw_err err;
  uint64_t end;

  o.root = root != NULL ? root : r->root;
  o.skip = rec_skip;
  CHECK_EQ_INT(watch_start(&r->w, &r->loop, &o, rec_on_event, r, &err), 0);
  end = uv_now(&r->loop) + 5000;
  while (!watch_settled(r->w) && uv_now(&r->loop) < end) {
    uv_timer_start(&r->timer, rec_on_timer, 5, 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
  }
  CHECK(watch_settled(r->w));
}

static void rec_start(struct rec *r)
{
  rec_init(r);
  rec_watch(r, NULL);
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

/* dir/rel into out. */
static const char *at(char *out, size_t n, const char *dir, const char *rel)
{
  CHECK(snprintf(out, n, "%s/%s", dir, rel) < (int)n);
  return out;
}

static size_t rec_count(const struct rec *r, const char *rel)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < r->seen.n; i++)
    n += strcmp(r->seen.v[i], rel) == 0;
  return n;
}

/* Makes rel (under dir) a symlink to target. */
static void mklink(const char *dir, const char *target, const char *rel)
{
  char path[8192];

  CHECK_EQ_INT(symlink(target, at(path, sizeof(path), dir, rel)), 0);
}

/* Re-points the symlink rel to target as `ln -sfn` and deploy tools do:
 * a new link under a temporary name, renamed over the old one. */
static void repoint(const char *dir, const char *target, const char *rel)
{
  char tmp[8192];
  char path[8192];

  snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, rel);
  CHECK_EQ_INT(symlink(target, tmp), 0);
  CHECK_EQ_INT(rename(tmp, at(path, sizeof(path), dir, rel)), 0);
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

/* ---- symlinks inside the root (issue 11, item 2) ---- */

static void test_file_link_reports_its_own_path(void)
{
  struct rec r;

  rec_init(&r);
  test_write(r.root, "real/a.html", "a");
  mklink(r.root, "real/a.html", "a.html");
  rec_watch(&r, NULL);
  test_write(r.root, "real/a.html", "a2");
  CHECK(rec_wait_for(&r, "real/a.html", 5000));
  CHECK(rec_wait_for(&r, "a.html", 1000));
  rec_stop(&r);
}

static void test_dir_link_reports_paths_through_it(void)
{
  struct rec r;

  rec_init(&r);
  test_write(r.root, "real/docs/x.html", "x");
  mklink(r.root, "real/docs", "docs");
  rec_watch(&r, NULL);
  /* root, real, real/docs: the link shares real/docs's watch. */
  CHECK_EQ_INT(watch_dir_count(r.w), 3);
  test_write(r.root, "real/docs/x.html", "x2");
  CHECK(rec_wait_for(&r, "docs/x.html", 5000));
  CHECK(rec_wait_for(&r, "real/docs/x.html", 1000));
  /* A directory made behind the link is watched under both paths. */
  test_write(r.root, "real/docs/new/y.html", "y");
  CHECK(rec_wait_for(&r, "docs/new/y.html", 5000));
  strlist_free(&r.seen);
  test_write(r.root, "real/docs/new/y.html", "y2");
  CHECK(rec_wait_for(&r, "docs/new/y.html", 5000));
  CHECK(rec_wait_for(&r, "real/docs/new/y.html", 1000));
  rec_stop(&r);
}

static void test_link_made_while_watching_is_followed(void)
{
  struct rec r;

  rec_init(&r);
  test_write(r.root, "real/docs/x.html", "x");
  rec_watch(&r, NULL);
  mklink(r.root, "real/docs", "docs");
  CHECK(rec_wait_for(&r, "docs", 5000));
  test_write(r.root, "real/docs/x.html", "x2");
  CHECK(rec_wait_for(&r, "docs/x.html", 5000));
  rec_stop(&r);
}

static void test_repointed_file_link_follows_its_new_target(void)
{
  struct rec r;

  rec_init(&r);
  test_write(r.root, "real/a.html", "a");
  test_write(r.root, "real/b.html", "b");
  mklink(r.root, "real/a.html", "a.html");
  rec_watch(&r, NULL);
  repoint(r.root, "real/b.html", "a.html");
  CHECK(rec_wait_for(&r, "a.html", 5000));
  strlist_free(&r.seen);
  test_write(r.root, "real/a.html", "a2");
  CHECK(rec_wait_for(&r, "real/a.html", 5000));
  CHECK(!strlist_contains(&r.seen, "a.html")); /* not its target now */
  test_write(r.root, "real/b.html", "b2");
  CHECK(rec_wait_for(&r, "a.html", 5000));
  rec_stop(&r);
}

static void test_repointed_dir_link_follows_its_new_target(void)
{
  struct rec r;

  rec_init(&r);
  test_write(r.root, "v1/x.html", "1");
  test_write(r.root, "v2/x.html", "2");
  mklink(r.root, "v1", "docs");
  rec_watch(&r, NULL);
  repoint(r.root, "v2", "docs");
  CHECK(rec_wait_for(&r, "docs", 5000));
  strlist_free(&r.seen);
  test_write(r.root, "v1/x.html", "1b");
  CHECK(rec_wait_for(&r, "v1/x.html", 5000));
  CHECK(!strlist_contains(&r.seen, "docs/x.html"));
  test_write(r.root, "v2/x.html", "2b");
  CHECK(rec_wait_for(&r, "docs/x.html", 5000));
  rec_stop(&r);
}

static void test_removed_link_is_reported_and_no_longer_followed(void)
{
  char path[8192];
  struct rec r;

  rec_init(&r);
  test_write(r.root, "real/docs/x.html", "x");
  mklink(r.root, "real/docs", "docs");
  rec_watch(&r, NULL);
  CHECK_EQ_INT(unlink(at(path, sizeof(path), r.root, "docs")), 0);
  CHECK(rec_wait_for(&r, "docs", 5000));
  strlist_free(&r.seen);
  test_write(r.root, "real/docs/x.html", "x2");
  CHECK(rec_wait_for(&r, "real/docs/x.html", 5000));
  CHECK(!strlist_contains(&r.seen, "docs/x.html"));
  rec_stop(&r);
}

static void test_dangling_link_is_followed_once_its_target_appears(void)
{
  struct rec r;

  rec_init(&r);
  mklink(r.root, "real/later", "docs");
  rec_watch(&r, NULL);
  test_write(r.root, "real/later/x.html", "x");
  CHECK(rec_wait_for(&r, "docs", 5000));
  strlist_free(&r.seen);
  test_write(r.root, "real/later/x.html", "x2");
  CHECK(rec_wait_for(&r, "docs/x.html", 5000));
  rec_stop(&r);
}

static void test_link_loop_is_not_followed(void)
{
  struct rec r;

  rec_init(&r);
  test_write(r.root, "a/f.html", "f");
  mklink(r.root, "..", "a/up"); /* a scan skips it: the root is above */
  rec_watch(&r, NULL);
  CHECK_EQ_INT(watch_dir_count(r.w), 2);
  test_write(r.root, "a/f.html", "f2");
  CHECK(rec_wait_for(&r, "a/f.html", 5000));
  CHECK(!strlist_contains(&r.seen, "a/up/a/f.html"));
  rec_stop(&r);
}

/* ---- a symlinked root (item 3) ---- */

/* tmp/releases/N holding each name of files, tmp/current -> releases/1. */
static void releases(struct rec *r, char *current, size_t n)
{
  test_write(r->tmp, "releases/1/index.html", "1");
  test_write(r->tmp, "releases/2/index.html", "2");
  test_write(r->tmp, "releases/2/sub/page.html", "2");
  mklink(r->tmp, "releases/1", "current");
  at(current, n, r->tmp, "current");
}

static void test_symlinked_root_is_watched(void)
{
  char current[8192];
  struct rec r;

  rec_init(&r);
  releases(&r, current, sizeof(current));
  rec_watch(&r, current);
  CHECK(watch_root_present(r.w));
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  CHECK_EQ_INT(watch_dir_count(r.w), 1);
  test_write(r.tmp, "releases/1/a.html", "a");
  CHECK(rec_wait_for(&r, "a.html", 5000));
  rec_stop(&r);
}

static void test_symlinked_root_repointed_capistrano_style(void)
{
  char current[8192];
  struct rec r;

  rec_init(&r);
  releases(&r, current, sizeof(current));
  rec_watch(&r, current);
  repoint(r.tmp, "releases/2", "current");
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(watch_root_present(r.w));
  CHECK_EQ_INT(watch_root_gen(r.w), 2);
  CHECK_EQ_INT(watch_dir_count(r.w), 2);
  strlist_free(&r.seen);
  test_write(r.tmp, "releases/1/old.html", "old");
  test_write(r.tmp, "releases/2/sub/new.html", "new");
  CHECK(rec_wait_for(&r, "sub/new.html", 5000));
  CHECK(!strlist_contains(&r.seen, "old.html"));
  rec_stop(&r);
}

static void test_symlinked_root_removed_then_made_again(void)
{
  char current[8192];
  struct rec r;

  rec_init(&r);
  releases(&r, current, sizeof(current));
  rec_watch(&r, current);
  CHECK_EQ_INT(unlink(current), 0); /* ln -sfn without a temporary name */
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(!watch_root_present(r.w));
  CHECK_EQ_INT(watch_root_gen(r.w), 1);
  strlist_free(&r.seen);
  mklink(r.tmp, "releases/2", "current");
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(watch_root_present(r.w));
  CHECK_EQ_INT(watch_root_gen(r.w), 2);
  test_write(r.tmp, "releases/2/sub/new.html", "new");
  CHECK(rec_wait_for(&r, "sub/new.html", 5000));
  rec_stop(&r);
}

/* ---- the root swapped or remounted (item 4) ---- */

static void test_root_swapped_by_rename_exchange_is_followed(void)
{
  char staging[8192];
  struct rec r;

  rec_start(&r);
  test_write(r.tmp, "staging/sub/a.html", "a");
  at(staging, sizeof(staging), r.tmp, "staging");
  /* The root as the second name: its name moves in before it moves out. */
  CHECK_EQ_INT(renameat2(AT_FDCWD, staging, AT_FDCWD, r.root, RENAME_EXCHANGE),
               0);
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(watch_root_present(r.w));
  CHECK_EQ_INT(watch_root_gen(r.w), 2);
  strlist_free(&r.seen);
  test_write(r.root, "sub/b.html", "b");
  CHECK(rec_wait_for(&r, "sub/b.html", 5000));
  /* And back, the root as the first name. */
  CHECK_EQ_INT(renameat2(AT_FDCWD, r.root, AT_FDCWD, staging, RENAME_EXCHANGE),
               0);
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK_EQ_INT(watch_root_gen(r.w), 3);
  test_write(r.root, "c.html", "c");
  CHECK(rec_wait_for(&r, "c.html", 5000));
  rec_stop(&r);
}

static void test_root_unmounted_is_gone_and_remount_is_followed(void)
{
  struct rec r;
  int rc;

  rec_init(&r);
  rc = test_private_mounts();
  if (rc != 0) {
    CHECK(test_mount_refused(rc));
    rec_stop(&r);
    return;
  }
  CHECK_EQ_INT(mount("cfwtest", r.root, "tmpfs", 0, NULL), 0);
  test_write(r.root, "a.html", "a");
  rec_watch(&r, NULL);
  CHECK_EQ_INT(umount(r.root), 0);
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(!watch_root_present(r.w));
  strlist_free(&r.seen);
  CHECK_EQ_INT(mount("cfwtest", r.root, "tmpfs", 0, NULL), 0);
  CHECK(rec_wait_for(&r, "*", 5000));
  CHECK(watch_root_present(r.w));
  CHECK_EQ_INT(watch_root_gen(r.w), 2);
  test_write(r.root, "b.html", "b");
  CHECK(rec_wait_for(&r, "b.html", 5000));
  CHECK_EQ_INT(umount(r.root), 0);
  rec_stop(&r);
}

/* ---- changes without a close-write (item 7) ---- */

static void test_truncate_is_reported(void)
{
  char path[8192];
  struct rec r;

  rec_init(&r);
  test_write(r.root, "a.html", "hello");
  rec_watch(&r, NULL);
  CHECK_EQ_INT(truncate(at(path, sizeof(path), r.root, "a.html"), 1), 0);
  CHECK(rec_wait_for(&r, "a.html", 5000));
  rec_stop(&r);
}

static void test_writer_that_stays_open_is_reported(void)
{
  char path[8192];
  struct rec r;
  int fd;

  rec_start(&r);
  fd = open(at(path, sizeof(path), r.root, "log.html"), O_WRONLY | O_CREAT,
            0644);
  CHECK(fd >= 0);
  CHECK(rec_wait_for(&r, "log.html", 5000)); /* created */
  strlist_free(&r.seen);
  CHECK_EQ_INT(write(fd, "one\n", 4), 4);
  CHECK(rec_wait_for(&r, "log.html", 5000));
  strlist_free(&r.seen);
  CHECK_EQ_INT(write(fd, "two\n", 4), 4);
  CHECK(rec_wait_for(&r, "log.html", 5000));
  CHECK_EQ_INT(close(fd), 0);
  rec_stop(&r);
}

static void test_many_writes_are_reported_a_few_times(void)
{
  char path[8192];
  struct rec r;
  int fd;
  int i;

  rec_start(&r);
  fd = open(at(path, sizeof(path), r.root, "big.html"), O_WRONLY | O_CREAT,
            0644);
  CHECK(fd >= 0);
  CHECK(rec_wait_for(&r, "big.html", 5000));
  strlist_free(&r.seen);
  /* Each write read as it comes: the kernel cannot merge them. */
  for (i = 0; i < 300; i++) {
    CHECK_EQ_INT(write(fd, "x", 1), 1);
    uv_run(&r.loop, UV_RUN_NOWAIT);
  }
  CHECK_EQ_INT(close(fd), 0);
  CHECK(rec_wait_for(&r, "big.html", 5000));
  CHECK(rec_count(&r, "big.html") < 20);
  rec_stop(&r);
}

static void test_hard_link_other_name_is_reported(void)
{
  char a[8192];
  char b[8192];
  struct rec r;

  rec_init(&r);
  test_write(r.root, "a.html", "a");
  test_write(r.root, "c.html", "c");
  CHECK_EQ_INT(mkdir(at(b, sizeof(b), r.root, "b"), 0755), 0);
  CHECK_EQ_INT(link(at(a, sizeof(a), r.root, "a.html"),
                    at(b, sizeof(b), r.root, "b/twin.html")),
               0);
  rec_watch(&r, NULL);
  test_write(r.root, "a.html", "a2"); /* in place: one inode, two names */
  CHECK(rec_wait_for(&r, "b/twin.html", 5000));
  /* A link made while watching. */
  CHECK_EQ_INT(link(at(a, sizeof(a), r.root, "c.html"),
                    at(b, sizeof(b), r.root, "d.html")),
               0);
  CHECK(rec_wait_for(&r, "d.html", 5000));
  strlist_free(&r.seen);
  test_write(r.root, "c.html", "c2");
  CHECK(rec_wait_for(&r, "d.html", 5000));
  rec_stop(&r);
}

/* A link made and removed before the watch reads either event: both are
 * reported, in order, and nothing is followed (its stat, taken off the
 * loop after the read, finds no link). */
static void test_link_made_and_removed_at_once_is_reported_twice(void)
{
  char path[8192];
  struct rec r;

  rec_start(&r);
  test_write(r.root, "a.html", "a");
  CHECK(rec_wait_for(&r, "a.html", 5000));
  strlist_free(&r.seen);
  mklink(r.root, "a.html", "l.html");
  CHECK_EQ_INT(unlink(at(path, sizeof(path), r.root, "l.html")), 0);
  test_write(r.root, "b.html", "b");
  CHECK(rec_wait_for(&r, "b.html", 5000));
  CHECK_EQ_INT(rec_count(&r, "l.html"), 2);
  CHECK_EQ_STR(r.seen.v[0], "l.html");
  CHECK_EQ_STR(r.seen.v[r.seen.n - 1], "b.html");
  strlist_free(&r.seen);
  test_write(r.root, "a.html", "a2");
  CHECK(rec_wait_for(&r, "a.html", 5000));
  test_write(r.root, "c.html", "c"); /* and after everything a.html made */
  CHECK(rec_wait_for(&r, "c.html", 5000));
  CHECK_EQ_INT(rec_count(&r, "l.html"), 0);
  rec_stop(&r);
}

/* More writers than the hold has slots, none closing: the oldest names
 * are reported as they are pushed out, the others by the hold's timer,
 * each with its stat (a hard link's other name is reported too). */
static void test_writers_past_the_hold_slots_are_each_reported(void)
{
  char path[8192];
  char twin[8192];
  char name[64];
  int fd[WRITERS];
  struct rec r;
  int i;

  rec_init(&r);
  for (i = 0; i < WRITERS; i++) {
    snprintf(name, sizeof(name), "w%02d.html", i);
    test_write(r.root, name, "x");
  }
  CHECK_EQ_INT(link(at(path, sizeof(path), r.root, "w00.html"),
                    at(twin, sizeof(twin), r.root, "twin.html")),
               0);
  rec_watch(&r, NULL);
  for (i = 0; i < WRITERS; i++) {
    snprintf(name, sizeof(name), "w%02d.html", i);
    fd[i] = open(at(path, sizeof(path), r.root, name), O_WRONLY | O_APPEND);
    CHECK(fd[i] >= 0);
    CHECK_EQ_INT(write(fd[i], "y", 1), 1);
  }
  for (i = 0; i < WRITERS; i++) {
    snprintf(name, sizeof(name), "w%02d.html", i);
    CHECK(rec_wait_for(&r, name, 5000));
  }
  CHECK(rec_wait_for(&r, "twin.html", 5000));
  for (i = 0; i < WRITERS; i++)
    CHECK_EQ_INT(close(fd[i]), 0);
  rec_stop(&r);
}

/* Each case alone (test.h): a case sets its own inotify limits in a
 * namespace (mountns.h). */
TEST_MAIN_ALONE(TEST(test_new_file_is_reported),
                TEST(test_deep_tree_created_at_once_is_caught),
                TEST(test_excluded_dir_is_not_watched),
                TEST(test_deleted_file_and_dir_are_reported),
                TEST(test_root_removed_and_rebuilt_is_followed),
                TEST(test_renamed_dir_reports_both_sides),
                TEST(test_file_link_reports_its_own_path),
                TEST(test_dir_link_reports_paths_through_it),
                TEST(test_link_made_while_watching_is_followed),
                TEST(test_repointed_file_link_follows_its_new_target),
                TEST(test_repointed_dir_link_follows_its_new_target),
                TEST(test_removed_link_is_reported_and_no_longer_followed),
                TEST(test_dangling_link_is_followed_once_its_target_appears),
                TEST(test_link_loop_is_not_followed),
                TEST(test_symlinked_root_is_watched),
                TEST(test_symlinked_root_repointed_capistrano_style),
                TEST(test_symlinked_root_removed_then_made_again),
                TEST(test_root_swapped_by_rename_exchange_is_followed),
                TEST(test_root_unmounted_is_gone_and_remount_is_followed),
                TEST(test_truncate_is_reported),
                TEST(test_writer_that_stays_open_is_reported),
                TEST(test_many_writes_are_reported_a_few_times),
                TEST(test_hard_link_other_name_is_reported),
                TEST(test_link_made_and_removed_at_once_is_reported_twice),
                TEST(test_writers_past_the_hold_slots_are_each_reported))
