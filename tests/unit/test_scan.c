/* SPDX-License-Identifier: MIT */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

/* What a scan and its visitor reported, on the loop. */
struct run {
  uv_loop_t loop;
  struct strlist dirs;  /* as the visitor saw them, in walk order */
  struct strlist links; /* symlinks met */
  bool dir_open_first;  /* each directory was open and not yet read */
  int walked;           /* visitor's done calls */
  int walk_status;
  int scanned; /* scan callbacks */
  int status;
  size_t n_changes;
  size_t n_dirs;
  size_t n_files;
  size_t n_same;
  size_t n_hashed;
  size_t n_deferred;
  size_t bound;           /* scan_against's scan_opts.bound */
  struct change *changes; /* taken from the result when keep is set */
  bool keep;
};

static void on_dir(void *ctx, const char *rel, int fd, const struct stat *st)
{
  struct run *r = ctx;
  struct stat now;

  /* The visitor gets the open directory itself, before any entry. */
  if (fstat(fd, &now) < 0 || !S_ISDIR(now.st_mode) ||
      now.st_ino != st->st_ino || lseek(fd, 0, SEEK_CUR) != 0)
    r->dir_open_first = false;
  REQUIRE(strlist_push(&r->dirs, rel) == 0);
}

static void on_link(void *ctx, const char *rel)
{
  struct run *r = ctx;

  REQUIRE(strlist_push(&r->links, rel) == 0);
}

static void on_walked(void *ctx, int status)
{
  struct run *r = ctx;

  r->walked++;
  r->walk_status = status;
}

static void on_scan(struct scan *s, struct scan_result *res, void *arg)
{
  struct run *r = arg;

  r->scanned++;
  r->status = res->status;
  r->n_changes = res->n_changes;
  r->n_dirs = res->n_dirs;
  r->n_files = res->n_files;
  r->n_same = res->n_same;
  r->n_hashed = res->n_hashed;
  r->n_deferred = res->n_deferred;
  if (r->keep) {
    r->changes = res->changes;
    res->changes = NULL;
    res->n_changes = 0;
  }
  scan_destroy(s);
}

static void run_init(struct run *r)
{
  memset(r, 0, sizeof(*r));
  REQUIRE(uv_loop_init(&r->loop) == 0);
  strlist_init(&r->dirs);
  strlist_init(&r->links);
  r->dir_open_first = true;
}

static void run_free(struct run *r)
{
  CHECK_EQ_INT(uv_loop_close(&r->loop), 0);
  strlist_free(&r->dirs);
  strlist_free(&r->links);
}

/* Runs the loop until *count reaches want (the threadpool's replies
 * come in); a loop with nothing left to run fails the test. */
static void run_until(struct run *r, const int *count, int want)
{
  while (*count < want)
    REQUIRE(uv_run(&r->loop, UV_RUN_ONCE) != 0 || *count >= want);
}

static struct scan *start_late(struct run *r, const char *dir,
                               const struct tree_visit *v,
                               const struct urlmap *um)
{
  struct scan_opts o = {0};
  struct cfw_err err = {0};
  struct scan *s = NULL;

  o.root = dir;
  o.visit = v;
  o.urlmap = um;
  REQUIRE(scan_start(&s, &r->loop, &o, on_scan, r, &err) == 0);
  return s;
}

static void make_site(char *dir, size_t n)
{
  test_tmpdir(dir, n);
  test_write(dir, "index.html", "i");
  test_write(dir, "a/b.html", "b");
  test_write(dir, "a/c/d.html", "d");
}

/* Issue 13: the walk does not wait for the manifest, and the diff waits
 * for both. */
static void test_walk_ends_before_the_manifest_is_given(void)
{
  struct tree_visit v = {.done = on_walked};
  struct manifest *m;
  struct scan *s;
  struct run r;
  char dir[256];

  make_site(dir, sizeof(dir));
  run_init(&r);
  v.ctx = &r;
  s = start_late(&r, dir, &v, NULL);
  run_until(&r, &r.walked, 1);
  CHECK_EQ_INT(r.walk_status, 0);
  CHECK_EQ_INT(r.scanned, 0); /* no diff without a manifest */
  REQUIRE(manifest_new(&m) == 0);
  scan_diff(s, m);
  run_until(&r, &r.scanned, 1);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_INT((int)r.n_changes, 3); /* every file is new */
  CHECK_EQ_INT((int)r.n_dirs, 3);
  manifest_destroy(m);
  run_free(&r);
  test_rmtree(dir);
}

static void test_dropped_diff_ends_cancelled_after_the_walk(void)
{
  struct tree_visit v = {.done = on_walked};
  struct scan *s;
  struct run r;
  char dir[256];

  make_site(dir, sizeof(dir));
  run_init(&r);
  v.ctx = &r;
  s = start_late(&r, dir, &v, NULL);
  scan_diff(s, NULL); /* before the walk is over */
  run_until(&r, &r.scanned, 1);
  CHECK_EQ_INT(r.walked, 1);
  CHECK_EQ_INT(r.status, -ECANCELED);
  CHECK_EQ_INT((int)r.n_changes, 0);
  run_free(&r);
  test_rmtree(dir);
}

/* The visitor sees each directory the walk reads, open and unread, the
 * root as "", and the symlinks, as the watch needs them. */
static void test_visitor_sees_each_directory_before_it_is_read(void)
{
  struct tree_visit v = {.dir = on_dir, .link = on_link, .done = on_walked};
  struct urlmap_opts uo = {0};
  struct cfw_err err = {0};
  struct urlmap *um;
  struct manifest *m;
  struct run r;
  char dir[256];
  char link[300];

  make_site(dir, sizeof(dir));
  (void)snprintf(link, sizeof(link), "%s/x", dir);
  REQUIRE(symlink("a/c", link) == 0);
  test_write(dir, ".git/HEAD", "ref"); /* excluded: not read */
  run_init(&r);
  v.ctx = &r;
  REQUIRE(urlmap_new(&um, &uo, &err) == 0); /* the default excludes */
  REQUIRE(manifest_new(&m) == 0);
  scan_diff(start_late(&r, dir, &v, um), m);
  run_until(&r, &r.scanned, 1);
  CHECK_EQ_INT(r.status, 0);
  strlist_sort_unique(&r.dirs);
  REQUIRE(r.dirs.n == 4);
  CHECK_EQ_STR(r.dirs.v[0], "");
  CHECK_EQ_STR(r.dirs.v[1], "a");
  CHECK_EQ_STR(r.dirs.v[2], "a/c");
  CHECK_EQ_STR(r.dirs.v[3], "x");
  CHECK(r.dir_open_first);
  REQUIRE(r.links.n == 1);
  CHECK_EQ_STR(r.links.v[0], "x");
  CHECK_EQ_INT(r.walked, 1);
  CHECK_EQ_INT((int)r.n_dirs, 4);
  manifest_destroy(m);
  urlmap_destroy(um);
  run_free(&r);
  test_rmtree(dir);
}

/* Scans dir against m (only under paths, unless NULL) and keeps the
 * changes in r. */
static void scan_against(struct run *r, const char *dir,
                         const struct manifest *m, const struct strlist *paths)
{
  struct scan_opts o = {0};
  struct cfw_err err = {0};
  struct scan *s = NULL;

  o.root = dir;
  o.manifest = m;
  o.paths = paths;
  o.bound = r->bound;
  r->keep = true;
  r->scanned = 0;
  REQUIRE(scan_start(&s, &r->loop, &o, on_scan, r, &err) == 0);
  run_until(r, &r->scanned, 1);
  CHECK_EQ_INT(r->status, 0);
}

/* Adds the changes r kept to out, as "KIND path" lines in path order. */
static void list_changes(const struct run *r, struct strlist *out)
{
  static const char kinds[] = "AMDT";
  char line[300];
  size_t i;

  for (i = 0; i < r->n_changes; i++) {
    (void)snprintf(line, sizeof(line), "%c %s",
                   kinds[change_kind(&r->changes[i])],
                   r->changes[i].entry.path);
    REQUIRE(strlist_push(out, line) == 0);
  }
}

/* The changes r kept, as list_changes has them, freed. */
static void take_changes(struct run *r, struct strlist *out)
{
  strlist_init(out);
  list_changes(r, out);
  changes_free(r->changes, r->n_changes);
  r->changes = NULL;
}

/* Issue 13: the walk compares as it goes, so it records only the files
 * whose stat differs from the manifest's; the diff must still tell a
 * file it left out as unchanged from one that is gone, in a whole walk
 * and in a walk of part of the tree. */
static void test_rescan_tells_unchanged_from_deleted(void)
{
  struct cfw_err err = {0};
  struct strlist paths;
  struct strlist got;
  struct manifest *m;
  struct run r;
  char dir[256];
  char gone[300];
  int pass;

  make_site(dir, sizeof(dir));
  test_write(dir, "a/e.html", "e");
  run_init(&r);
  REQUIRE(manifest_new(&m) == 0);
  scan_against(&r, dir, m, NULL); /* the baseline */
  REQUIRE(r.n_changes == 4);
  REQUIRE(manifest_apply(m, r.changes, r.n_changes, &err) == 0);
  changes_free(r.changes, r.n_changes);
  /* As if recorded long enough ago that the stat alone can clear it. */
  manifest_clear_flags(m, TREE_RACY);
  REQUIRE(snprintf(gone, sizeof(gone), "%s/a/b.html", dir) < (int)sizeof(gone));
  REQUIRE(unlink(gone) == 0);
  test_write(dir, "a/c/d.html", "d, longer");
  test_write(dir, "a/new.html", "n");
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "a") == 0);
  for (pass = 0; pass < 2; pass++) {
    scan_against(&r, dir, m, pass == 0 ? NULL : &paths);
    CHECK_EQ_INT((int)r.n_hashed, 2); /* d.html, new.html */
    CHECK_EQ_INT((int)r.n_files, pass == 0 ? 4 : 3);
    CHECK_EQ_INT((int)r.n_same, pass == 0 ? 2 : 1); /* index, a/e */
    take_changes(&r, &got);
    REQUIRE(got.n == 3);
    CHECK_EQ_STR(got.v[0], "D a/b.html");
    CHECK_EQ_STR(got.v[1], "M a/c/d.html");
    CHECK_EQ_STR(got.v[2], "A a/new.html");
    strlist_free(&got);
  }
  strlist_free(&paths);
  manifest_destroy(m);
  run_free(&r);
  test_rmtree(dir);
}

/* Records r's changes in m, as a commit would; with settle, as if long
 * enough ago that the stat alone clears them next time. */
static void apply_changes(struct run *r, struct manifest *m, bool settle)
{
  struct cfw_err err = {0};

  REQUIRE(manifest_apply(m, r->changes, r->n_changes, &err) == 0);
  changes_free(r->changes, r->n_changes);
  r->changes = NULL;
  if (settle)
    manifest_clear_flags(m, TREE_RACY);
}

static const char *in_dir(char *out, size_t n, const char *dir, const char *rel)
{
  REQUIRE(snprintf(out, n, "%s/%s", dir, rel) < (int)n);
  return out;
}

/* Rewrites the 9 files f0..f8 of bounded_scans' site with data. */
static void rewrite_nine(const char *dir, const char *data)
{
  char name[64];
  size_t i;

  for (i = 0; i < 9; i++) {
    (void)snprintf(name, sizeof(name), "d%zu/f%zu.html", i % 3, i);
    test_write(dir, name, data);
  }
}

/* Bounded scans of 9 rewritten files, 2 new and 1 deleted, one after
 * the other and each applied (settled or not), until one leaves nothing;
 * checks each takes in at most 3 new changes, and every change is found
 * once, the deletion in the first.  Returns the scans made. */
static int bounded_scans(struct run *r, const char *dir, struct manifest *m,
                         bool settle)
{
  struct strlist all;
  struct strlist found;
  size_t i;
  size_t n;
  int pass;

  strlist_init(&all);
  for (pass = 0; pass < 20; pass++) {
    scan_against(r, dir, m, NULL);
    CHECK_EQ_INT((int)r->n_files, 11);
    CHECK_EQ_INT((int)(r->n_same + r->n_deferred + r->n_hashed), 11);
    strlist_init(&found);
    list_changes(r, &found);
    for (i = 0, n = 0; i < found.n; i++) {
      if (found.v[i][0] == 'T')
        continue; /* a racy file hashed again: the same bytes */
      REQUIRE(strlist_push(&all, found.v[i]) == 0);
      n++;
    }
    CHECK(n <= (pass == 0 ? 4u : 3u)); /* the deletion comes first */
    strlist_free(&found);
    apply_changes(r, m, settle);
    if (r->n_deferred == 0)
      break;
  }
  CHECK_EQ_INT((int)all.n, 12); /* 9 modified, 2 added, 1 deleted */
  strlist_sort_unique(&all);
  CHECK_EQ_INT((int)all.n, 12); /* none twice */
  CHECK_EQ_STR(all.v[0], "A d0/n1.html");
  CHECK_EQ_STR(all.v[2], "D d0/f9.html");
  strlist_free(&all);
  return pass + 1;
}

/* Issue 13: a bounded scan takes in at most its bound of the files that
 * need hashing and leaves the rest, neither changed nor deleted, for the
 * next scan; scans one after the other, each applied, find every change
 * exactly once, deletions in the first.  A racy file taken in by the
 * scan before does not count against the bound, so scans that follow at
 * once still get further.  A first run (an empty manifest) is not
 * bounded. */
static void test_bounded_scans_find_each_change_once(void)
{
  struct manifest *m;
  struct run r;
  char dir[256];
  char name[64];
  char gone[300];
  int settle;
  size_t i;

  test_tmpdir(dir, sizeof(dir));
  run_init(&r);
  for (settle = 1; settle >= 0; settle--) {
    for (i = 0; i < 10; i++) {
      (void)snprintf(name, sizeof(name), "d%zu/f%zu.html", i % 3, i);
      test_write(dir, name, "old");
    }
    (void)unlink(in_dir(gone, sizeof(gone), dir, "d0/n1.html"));
    (void)unlink(in_dir(gone, sizeof(gone), dir, "d1/n2.html"));
    r.bound = 3;
    REQUIRE(manifest_new(&m) == 0);
    scan_against(&r, dir, m, NULL);
    CHECK_EQ_INT((int)r.n_changes, 10);
    CHECK_EQ_INT((int)r.n_deferred, 0);
    apply_changes(&r, m, true);

    rewrite_nine(dir, "new bytes");
    test_write(dir, "d0/n1.html", "n");
    test_write(dir, "d1/n2.html", "n");
    REQUIRE(unlink(in_dir(gone, sizeof(gone), dir, "d0/f9.html")) == 0);
    CHECK_EQ_INT(bounded_scans(&r, dir, m, settle), 4); /* 3, 3, 3, 2 */

    r.bound = 0; /* unbounded: all at once */
    rewrite_nine(dir, "newer bytes");
    scan_against(&r, dir, m, NULL);
    CHECK_EQ_INT((int)r.n_hashed, settle ? 9 : 11);
    CHECK_EQ_INT((int)r.n_deferred, 0);
    changes_free(r.changes, r.n_changes);
    r.changes = NULL;
    manifest_destroy(m);
  }
  run_free(&r);
  test_rmtree(dir);
}

/* A walk held in the visitor at directory "a" until the test lets it
 * go on. */
struct hold {
  uv_sem_t reached;
  uv_sem_t go;
};

static void on_dir_hold(void *ctx, const char *rel, int fd,
                        const struct stat *st)
{
  struct hold *h = ctx;

  (void)fd;
  (void)st;
  if (strcmp(rel, "a") != 0)
    return;
  uv_sem_post(&h->reached);
  uv_sem_wait(&h->go);
}

/* Issue 13: a manifest that comes while the walk runs (a start-up loads
 * it beside the walk) is compared with from then on: what the walk
 * meets after it is ruled out by stat as it goes, and a file gone from
 * there is still deleted. */
static void test_late_manifest_is_compared_with_as_the_walk_goes(void)
{
  struct tree_visit v = {.dir = on_dir_hold};
  struct cfw_err err = {0};
  struct strlist got;
  struct manifest *m;
  struct hold h;
  struct scan *s;
  struct run r;
  char dir[256];
  char gone[300];

  make_site(dir, sizeof(dir));
  test_write(dir, "a/e.html", "e");
  run_init(&r);
  REQUIRE(manifest_new(&m) == 0);
  scan_against(&r, dir, m, NULL); /* the baseline */
  REQUIRE(manifest_apply(m, r.changes, r.n_changes, &err) == 0);
  changes_free(r.changes, r.n_changes);
  manifest_clear_flags(m, TREE_RACY);
  REQUIRE(snprintf(gone, sizeof(gone), "%s/a/e.html", dir) < (int)sizeof(gone));
  REQUIRE(unlink(gone) == 0);
  REQUIRE(uv_sem_init(&h.reached, 0) == 0);
  REQUIRE(uv_sem_init(&h.go, 0) == 0);
  v.ctx = &h;
  r.scanned = 0;
  s = start_late(&r, dir, &v, NULL);
  uv_sem_wait(&h.reached); /* the walk is at "a", not yet inside */
  scan_diff(s, m);
  uv_sem_post(&h.go);
  run_until(&r, &r.scanned, 1);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_INT((int)r.n_files, 3);
  CHECK_EQ_INT((int)r.n_same, 2); /* a/b.html, a/c/d.html */
  CHECK_EQ_INT((int)r.n_hashed, 0);
  take_changes(&r, &got);
  REQUIRE(got.n == 1);
  CHECK_EQ_STR(got.v[0], "D a/e.html");
  strlist_free(&got);
  uv_sem_destroy(&h.reached);
  uv_sem_destroy(&h.go);
  manifest_destroy(m);
  run_free(&r);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_walk_ends_before_the_manifest_is_given),
          TEST(test_bounded_scans_find_each_change_once),
          TEST(test_late_manifest_is_compared_with_as_the_walk_goes),
          TEST(test_rescan_tells_unchanged_from_deleted),
          TEST(test_dropped_diff_ends_cancelled_after_the_walk),
          TEST(test_visitor_sees_each_directory_before_it_is_read))
