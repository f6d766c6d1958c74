/* SPDX-License-Identifier: MIT */
#include "filehash.h"
#include "partwalk.h"
#include "pathref.h"
#include "strlist.h"
#include "tree.h"

#include "test.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <uv.h>

/* What the callbacks saw. */
struct seen {
  int warned;
  int last_warn;
  char warn_path[256];
  int skip_calls_under_pruned;
};

static void on_warn(void *ctx, const char *relpath, int code)
{
  struct seen *s = ctx;

  s->warned++;
  s->last_warn = code;
  (void)snprintf(s->warn_path, sizeof(s->warn_path), "%s", relpath);
}

static bool skip_pruned(void *ctx, const char *relpath, bool is_dir)
{
  struct seen *s = ctx;

  if (strncmp(relpath, "pruned/", 7) == 0)
    s->skip_calls_under_pruned++;
  return is_dir && strcmp(relpath, "pruned") == 0;
}

static int scan(struct tree *t, const char *root, struct seen *s)
{
  struct tree_walk_opts o = {.skip = skip_pruned, .warn = on_warn, .ctx = s};
  struct cfw_err err = {0};

  return tree_walk(t, root, &o, &err);
}

static void join(char *out, size_t n, const char *dir, const char *rel)
{
  if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n)
    exit(2);
}

static void test_scan_lists_regular_files_sorted(void)
{
  char dir[256];
  struct seen s = {0};
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "b.html", "b");
  test_write(dir, "a/z.css", "zz");
  test_write(dir, "a/b/c.js", "ccc");
  test_write(dir, "a.b", "");
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  CHECK_EQ_INT(t.n, 4);
  if (t.n == 4) {
    CHECK_EQ_STR(t.v[0].path, "a.b");
    CHECK_EQ_STR(t.v[1].path, "a/b/c.js");
    CHECK_EQ_STR(t.v[2].path, "a/z.css");
    CHECK_EQ_STR(t.v[3].path, "b.html");
    CHECK_EQ_INT(t.v[1].size, 3);
    CHECK_EQ_INT(t.v[0].flags, 0);
  }
  CHECK_EQ_INT(s.warned, 0);
  CHECK(t.scanned_at_ns > 0);
  tree_free(&t);
  test_rmtree(dir);
}

/* The paths a known() callback has for some files (the manifest's). */
#define KNOWN_DIRS  12
#define KNOWN_FILES 10

struct known {
  char *v[KNOWN_DIRS * KNOWN_FILES]; /* held; the odd ones */
  size_t n;
  size_t asked;
  bool same;     /* the known ones are TREE_KNOWN_SAME, not held */
  uv_mutex_t mu; /* known() runs on every walk thread */
};

static enum tree_known known_of(void *ctx, const char *relpath,
                                const struct stat *st, char **path)
{
  struct known *k = ctx;
  char *held = NULL;
  size_t i;

  uv_mutex_lock(&k->mu);
  k->asked++;
  for (i = 0; i < k->n && held == NULL; i++)
    if (strcmp(k->v[i], relpath) == 0)
      held = pathref_hold(k->v[i]);
  uv_mutex_unlock(&k->mu);
  REQUIRE(S_ISREG(st->st_mode) && st->st_size == 1);
  if (held != NULL && k->same) {
    pathref_drop(held);
    return TREE_KNOWN_SAME;
  }
  *path = held;
  return held != NULL ? TREE_KNOWN_PATH : TREE_KNOWN_NONE;
}

/* Writes the test's files under dir, the odd ones known to k. */
static void known_tree(char *dir, size_t len, struct known *k)
{
  char name[64];
  size_t i;

  REQUIRE(uv_mutex_init(&k->mu) == 0);
  test_tmpdir(dir, len);
  for (i = 0; i < KNOWN_DIRS * KNOWN_FILES; i++) {
    (void)snprintf(name, sizeof(name), "d%zu/f%zu.html", i / KNOWN_FILES, i);
    test_write(dir, name, "x");
    if (i % 2)
      REQUIRE((k->v[k->n++] = pathref_dup(name)) != NULL);
  }
}

static void known_free(struct known *k, const char *dir)
{
  size_t i;

  for (i = 0; i < k->n; i++)
    pathref_drop(k->v[i]);
  uv_mutex_destroy(&k->mu);
  test_rmtree(dir);
}

/* Issue 13: a file the caller has as it is (TREE_KNOWN_SAME) is left out
 * and counted, on whichever thread walked it; the others are recorded. */
static void test_walk_leaves_out_what_the_caller_has(void)
{
  struct tree_walk_opts o = {.known = known_of, .threads = 4};
  struct cfw_err err = {0};
  struct known k = {.n = 0, .same = true};
  char dir[256];
  struct tree t;
  size_t i;
  size_t j;

  known_tree(dir, sizeof(dir), &k);
  o.ctx = &k;
  CHECK_EQ_INT(tree_walk(&t, dir, &o, &err), 0);
  CHECK_EQ_INT(k.asked, KNOWN_DIRS * KNOWN_FILES);
  CHECK_EQ_INT(t.n_same, k.n);
  REQUIRE(t.n == KNOWN_DIRS * KNOWN_FILES - k.n);
  for (i = 0; i < t.n; i++) {
    for (j = 0; j < k.n && strcmp(k.v[j], t.v[i].path) != 0; j++)
      ;
    CHECK(j == k.n); /* none of the known ones */
  }
  CHECK_EQ_INT(t.n_dirs, KNOWN_DIRS + 1);
  tree_free(&t);
  known_free(&k, dir);
}

/* Issue 13: a file the callback knows holds its path, not a copy, on
 * whichever thread walked it; the others get paths of their own.  Each
 * side drops its holds (ASan: no leak, no double free). */
static void test_walk_holds_the_paths_known_already(void)
{
  struct tree_walk_opts o = {.known = known_of, .threads = 4};
  struct cfw_err err = {0};
  struct known k = {.n = 0};
  char dir[256];
  struct tree t;
  size_t i;
  size_t held = 0;

  known_tree(dir, sizeof(dir), &k);
  o.ctx = &k;
  CHECK_EQ_INT(tree_walk(&t, dir, &o, &err), 0);
  CHECK_EQ_INT(t.n_same, 0);
  CHECK_EQ_INT(t.n, KNOWN_DIRS * KNOWN_FILES);
  CHECK_EQ_INT(k.asked, KNOWN_DIRS * KNOWN_FILES);
  for (i = 0; i < t.n; i++) {
    size_t j;

    for (j = 0; j < k.n && strcmp(k.v[j], t.v[i].path) != 0; j++)
      ;
    CHECK(j == k.n || t.v[i].path == k.v[j]);
    held += j < k.n;
  }
  CHECK_EQ_INT(held, k.n);
  tree_free(&t);
  known_free(&k, dir);
}

static void test_symlink_to_file_records_target_stat(void)
{
  char dir[256];
  char path[512];
  char target[512];
  struct seen s = {0};
  struct stat st;
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "real.txt", "12345");
  join(target, sizeof(target), dir, "real.txt");
  join(path, sizeof(path), dir, "link.txt");
  CHECK_EQ_INT(symlink("real.txt", path), 0);
  CHECK_EQ_INT(stat(target, &st), 0);
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  CHECK_EQ_INT(t.n, 2);
  if (t.n == 2) {
    CHECK_EQ_STR(t.v[0].path, "link.txt");
    CHECK_EQ_INT(t.v[0].size, 5);
    CHECK_EQ_INT(t.v[0].ino, st.st_ino);
  }
  tree_free(&t);
  test_rmtree(dir);
}

static void test_symlink_to_dir_is_followed(void)
{
  char dir[256];
  char path[512];
  struct seen s = {0};
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "real/x.html", "x");
  join(path, sizeof(path), dir, "alias");
  CHECK_EQ_INT(symlink("real", path), 0);
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  CHECK_EQ_INT(t.n, 2);
  if (t.n == 2) {
    CHECK_EQ_STR(t.v[0].path, "alias/x.html");
    CHECK_EQ_STR(t.v[1].path, "real/x.html");
  }
  tree_free(&t);
  test_rmtree(dir);
}

static void test_symlink_loop_terminates_with_warning(void)
{
  char dir[256];
  char path[512];
  struct seen s = {0};
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "a/f.txt", "f");
  join(path, sizeof(path), dir, "a/up");
  CHECK_EQ_INT(symlink("..", path), 0);
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  /* a/f.txt, then a/up -> root: root is on the stack, so it stops. */
  CHECK_EQ_INT(t.n, 1);
  CHECK_EQ_INT(s.warned, 1);
  CHECK_EQ_INT(s.last_warn, -ELOOP);
  CHECK_EQ_STR(s.warn_path, "a/up");
  tree_free(&t);
  test_rmtree(dir);
}

static void test_fifo_is_skipped_without_opening(void)
{
  char dir[256];
  char path[512];
  struct seen s = {0};
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "page.html", "p");
  join(path, sizeof(path), dir, "pipe");
  CHECK_EQ_INT(mkfifo(path, 0644), 0);
  join(path, sizeof(path), dir, "pipe-link");
  CHECK_EQ_INT(symlink("pipe", path), 0);
  /* Opening the FIFO would block until the harness's timeout. */
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  CHECK_EQ_INT(t.n, 1);
  if (t.n == 1)
    CHECK_EQ_STR(t.v[0].path, "page.html");
  CHECK_EQ_INT(s.warned, 0);
  tree_free(&t);
  test_rmtree(dir);
}

static void test_skip_callback_prunes_directory(void)
{
  char dir[256];
  struct seen s = {0};
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "pruned/deep/x.html", "x");
  test_write(dir, "pruned/y.html", "y");
  test_write(dir, "kept/z.html", "z");
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  CHECK_EQ_INT(t.n, 1);
  if (t.n == 1)
    CHECK_EQ_STR(t.v[0].path, "kept/z.html");
  CHECK_EQ_INT(s.skip_calls_under_pruned, 0);
  tree_free(&t);
  test_rmtree(dir);
}

static void test_dangling_symlink_warns_enoent(void)
{
  char dir[256];
  char path[512];
  struct seen s = {0};
  struct tree t;

  test_tmpdir(dir, sizeof(dir));
  join(path, sizeof(path), dir, "gone");
  CHECK_EQ_INT(symlink("nowhere", path), 0);
  CHECK_EQ_INT(scan(&t, dir, &s), 0);
  CHECK_EQ_INT(t.n, 0);
  CHECK_EQ_INT(s.last_warn, -ENOENT);
  CHECK_EQ_STR(s.warn_path, "gone");
  tree_free(&t);
  test_rmtree(dir);
}

static void test_missing_root_fails_enoent(void)
{
  struct cfw_err err = {0};
  struct tree t;

  CHECK_EQ_INT(tree_walk(&t, "/nonexistent/cfw-root", NULL, &err), -ENOENT);
  CHECK_CONTAINS(err.msg, "/nonexistent/cfw-root");
  CHECK_EQ_INT(t.n, 0);
  CHECK(t.v == NULL);
}

/* In a child without privileges (tests may run as root, which reads any
 * directory): scans dir and exits 0 if "locked" was warned as EACCES
 * while "open/a.html" was still listed. */
static void scan_unprivileged(const char *dir)
{
  struct seen s = {0};
  struct tree t;
  int ok;

  if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
    _exit(3);
  ok = scan(&t, dir, &s) == 0 && t.n == 1 &&
       strcmp(t.v[0].path, "open/a.html") == 0 && s.warned == 1 &&
       s.last_warn == -EACCES && strcmp(s.warn_path, "locked") == 0;
  tree_free(&t);
  _exit(ok ? 0 : 1);
}

static void test_unreadable_subdir_is_warned_and_skipped(void)
{
  char dir[256];
  char path[512];
  pid_t pid;
  int status = -1;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "open/a.html", "a");
  test_write(dir, "locked/b.html", "b");
  join(path, sizeof(path), dir, "locked");
  CHECK_EQ_INT(chmod(dir, 0755), 0);
  CHECK_EQ_INT(chmod(path, 0), 0);
  fflush(NULL);
  pid = fork();
  if (pid == 0)
    scan_unprivileged(dir);
  CHECK(pid > 0);
  CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ_INT(WEXITSTATUS(status), 0);
  test_rmtree(dir);
}

static void test_filehash_matches_sha256(void)
{
  static const unsigned char abc[32] = {
      0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
      0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
      0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  char dir[256];
  char path[512];
  unsigned char h[32];
  uint64_t size = 0;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "abc", "abc");
  join(path, sizeof(path), dir, "abc");
  CHECK_EQ_INT(filehash_file(AT_FDCWD, path, h, &size, NULL), 0);
  CHECK(memcmp(h, abc, 32) == 0);
  CHECK_EQ_INT(size, 3);
  test_rmtree(dir);
}

static void test_filehash_reads_large_file_in_chunks(void)
{
  size_t len = 3 * FILEHASH_CHUNK + 123;
  char dir[256];
  unsigned char want[32];
  unsigned char h[32];
  uint64_t size = 0;
  char *data;
  size_t i;
  int dfd;

  test_tmpdir(dir, sizeof(dir));
  data = malloc(len + 1);
  CHECK(data != NULL);
  for (i = 0; i < len; i++)
    data[i] = (char)('a' + i % 26);
  data[len] = '\0';
  test_write(dir, "big", data);
  CHECK(EVP_Digest(data, len, want, NULL, EVP_sha256(), NULL) == 1);
  dfd = open(dir, O_RDONLY | O_DIRECTORY);
  CHECK_EQ_INT(filehash_file(dfd, "big", h, &size, NULL), 0);
  CHECK(memcmp(h, want, 32) == 0);
  CHECK_EQ_INT(size, len);
  close(dfd);
  free(data);
  test_rmtree(dir);
}

static void test_filehash_refuses_fifo_without_blocking(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char path[512];
  unsigned char h[32];

  test_tmpdir(dir, sizeof(dir));
  join(path, sizeof(path), dir, "pipe");
  CHECK_EQ_INT(mkfifo(path, 0644), 0);
  CHECK_EQ_INT(filehash_file(AT_FDCWD, path, h, NULL, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "not a regular file");
  CHECK_EQ_INT(filehash_file(AT_FDCWD, "/nonexistent/x", h, NULL, &err),
               -ENOENT);
  test_rmtree(dir);
}

/* Issue 6: hostile trees.  A site root and, beside it, a directory that
 * stands for the rest of the file system (/etc, a home directory). */
struct hostile {
  char top[256];     /* the test's temp dir */
  char root[512];    /* top/site */
  char outside[512]; /* top/outside */
};

static void hostile_init(struct hostile *h)
{
  test_tmpdir(h->top, sizeof(h->top));
  join(h->root, sizeof(h->root), h->top, "site");
  join(h->outside, sizeof(h->outside), h->top, "outside");
  test_write(h->top, "site/index.html", "i");
  test_write(h->top, "outside/secret.html", "s");
  test_write(h->top, "outside/sub/deep.html", "d");
}

/* Makes root/rel a symlink to target. */
static void hostile_link(const struct hostile *h, const char *target,
                         const char *rel)
{
  char path[1024];

  join(path, sizeof(path), h->root, rel);
  CHECK_EQ_INT(symlink(target, path), 0);
}

static int scan_opts(struct tree *t, const char *root, struct seen *s,
                     bool follow_outside)
{
  struct tree_walk_opts o = {.skip = skip_pruned, .warn = on_warn, .ctx = s};
  struct cfw_err err = {0};

  o.follow_outside = follow_outside;
  return tree_walk(t, root, &o, &err);
}

static bool tree_has(const struct tree *t, const char *path)
{
  size_t i;

  for (i = 0; i < t->n; i++)
    if (strcmp(t->v[i].path, path) == 0)
      return true;
  return false;
}

static void test_symlink_to_dir_outside_root_is_skipped_exdev(void)
{
  struct hostile h;
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  hostile_link(&h, "../outside", "out");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, false), 0);
  CHECK_EQ_INT(t.n, 1);
  CHECK(tree_has(&t, "index.html"));
  CHECK_EQ_INT(s.warned, 1);
  CHECK_EQ_INT(s.last_warn, -EXDEV);
  CHECK_EQ_STR(s.warn_path, "out");
  tree_free(&t);
  test_rmtree(h.top);
}

static void test_symlink_to_file_outside_root_is_skipped_exdev(void)
{
  struct hostile h;
  char target[1024];
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  join(target, sizeof(target), h.outside, "secret.html");
  hostile_link(&h, target, "leak.html"); /* absolute */
  hostile_link(&h, "/etc/passwd", "passwd.html");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, false), 0);
  CHECK_EQ_INT(t.n, 1);
  CHECK(!tree_has(&t, "leak.html"));
  CHECK(!tree_has(&t, "passwd.html"));
  CHECK_EQ_INT(s.warned, 2);
  CHECK_EQ_INT(s.last_warn, -EXDEV);
  tree_free(&t);
  test_rmtree(h.top);
}

static void test_symlink_outside_root_is_followed_when_allowed(void)
{
  struct hostile h;
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  hostile_link(&h, "../outside", "out");
  hostile_link(&h, "../outside/secret.html", "leak.html");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, true), 0);
  CHECK_EQ_INT(t.n, 4);
  CHECK(tree_has(&t, "out/sub/deep.html"));
  CHECK(tree_has(&t, "leak.html"));
  CHECK_EQ_INT(s.warned, 0);
  tree_free(&t);
  test_rmtree(h.top);
}

/* A link that climbs out and back in ("../site/x") or names the root by
 * an absolute path stays inside. */
static void test_symlink_back_into_root_is_followed(void)
{
  struct hostile h;
  char target[1024];
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  test_write(h.root, "real/x.html", "x");
  hostile_link(&h, "../site/real", "via-parent");
  join(target, sizeof(target), h.root, "real/x.html");
  hostile_link(&h, target, "absolute.html");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, false), 0);
  CHECK(tree_has(&t, "via-parent/x.html"));
  CHECK(tree_has(&t, "absolute.html"));
  CHECK_EQ_INT(t.n, 4);
  CHECK_EQ_INT(s.warned, 0);
  tree_free(&t);
  test_rmtree(h.top);
}

/* The root named through a symlink (public -> build/v2, as deploy
 * scripts do): links into the real root, by either name, are inside. */
static void test_root_reached_through_symlink_keeps_inside_links(void)
{
  struct hostile h;
  char alias[1024];
  char target[1024];
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  test_write(h.root, "real/x.html", "x");
  join(alias, sizeof(alias), h.top, "public");
  CHECK_EQ_INT(symlink("site", alias), 0);
  join(target, sizeof(target), alias, "real/x.html");
  hostile_link(&h, target, "by-alias.html");
  hostile_link(&h, "real", "rel-dir");
  hostile_link(&h, "../outside", "out");
  CHECK_EQ_INT(scan_opts(&t, alias, &s, false), 0);
  CHECK(tree_has(&t, "by-alias.html"));
  CHECK(tree_has(&t, "rel-dir/x.html"));
  CHECK(!tree_has(&t, "out/secret.html"));
  CHECK_EQ_INT(t.n, 4);
  CHECK_EQ_INT(s.warned, 1);
  CHECK_EQ_STR(s.warn_path, "out");
  CHECK_EQ_INT(s.last_warn, -EXDEV);
  tree_free(&t);
  test_rmtree(h.top);
}

/* A chain of links is judged by where it ends. */
static void test_symlink_chain_leaving_root_is_skipped(void)
{
  struct hostile h;
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  hostile_link(&h, "../outside", "hop2");
  hostile_link(&h, "hop2", "hop1");
  test_write(h.root, "d/keep.html", "k");
  hostile_link(&h, "../hop1/sub", "d/deep");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, false), 0);
  CHECK_EQ_INT(t.n, 2);
  CHECK(tree_has(&t, "d/keep.html"));
  CHECK_EQ_INT(s.warned, 3);
  CHECK_EQ_INT(s.last_warn, -EXDEV);
  tree_free(&t);
  test_rmtree(h.top);
}

static void test_symlink_cycle_between_links_warns_eloop(void)
{
  struct hostile h;
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  hostile_link(&h, "b", "a");
  hostile_link(&h, "a", "b");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, false), 0);
  CHECK_EQ_INT(t.n, 1);
  CHECK_EQ_INT(s.warned, 2);
  CHECK_EQ_INT(s.last_warn, -ELOOP);
  tree_free(&t);
  test_rmtree(h.top);
}

/* Deletes what the walk is about to open, from the skip callback, so the
 * race between readdir and open is hit every time. */
struct racer {
  struct seen seen;
  const char *root;
  int deleted;
};

static bool skip_deleting(void *ctx, const char *relpath, bool is_dir)
{
  struct racer *r = ctx;
  char path[1024];
  char cmd[1200];

  if (strcmp(relpath, "gone") != 0 && strcmp(relpath, "gone.html") != 0)
    return false;
  join(path, sizeof(path), r->root, relpath);
  if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path) >= (int)sizeof(cmd))
    exit(2);
  if (system(cmd) == 0)
    r->deleted++;
  (void)is_dir; /* files and directories alike are deleted, never skipped */
  return false;
}

static void racer_warn(void *ctx, const char *relpath, int code)
{
  struct racer *r = ctx;

  on_warn(&r->seen, relpath, code);
}

static void test_entries_vanishing_during_walk_are_left_out(void)
{
  struct hostile h;
  struct racer r = {{0}, NULL, 0};
  struct tree_walk_opts o = {
      .skip = skip_deleting, .warn = racer_warn, .ctx = &r};
  struct cfw_err err = {0};
  unsigned char hash[32];
  struct tree t;
  int dfd;

  hostile_init(&h);
  r.root = h.root;
  test_write(h.root, "gone/a.html", "a");
  test_write(h.root, "gone.html", "g");
  CHECK_EQ_INT(tree_walk(&t, h.root, &o, &err), 0);
  CHECK_EQ_INT(r.deleted, 2);
  /* The directory vanished before it was opened: warned, not listed. */
  CHECK(!tree_has(&t, "gone/a.html"));
  CHECK_EQ_INT(r.seen.warned, 1);
  CHECK_EQ_INT(r.seen.last_warn, -ENOENT);
  CHECK_EQ_STR(r.seen.warn_path, "gone");
  /* The file vanished after its stat: hashing it says so plainly. */
  dfd = open(h.root, O_RDONLY | O_DIRECTORY);
  CHECK(dfd >= 0);
  if (tree_has(&t, "gone.html"))
    CHECK_EQ_INT(filehash_file(dfd, "gone.html", hash, NULL, &err), -ENOENT);
  CHECK(tree_has(&t, "index.html"));
  close(dfd);
  tree_free(&t);
  test_rmtree(h.top);
}

/* Swaps directory "swap" for a symlink out of the root just before the
 * walk opens it: the race a hostile build could win between readdir and
 * open. */
static bool skip_swapping(void *ctx, const char *relpath, bool is_dir)
{
  struct racer *r = ctx;
  char path[1024];
  char cmd[2200];

  if (!is_dir || strcmp(relpath, "swap") != 0 || r->deleted > 0)
    return false;
  join(path, sizeof(path), r->root, relpath);
  if (snprintf(cmd, sizeof(cmd), "rm -rf '%s' && ln -s ../outside '%s'", path,
               path) >= (int)sizeof(cmd))
    exit(2);
  if (system(cmd) == 0)
    r->deleted++;
  return false;
}

static void test_directory_swapped_for_outside_link_is_not_followed(void)
{
  struct hostile h;
  struct racer r = {{0}, NULL, 0};
  struct tree_walk_opts o = {
      .skip = skip_swapping, .warn = racer_warn, .ctx = &r};
  struct cfw_err err = {0};
  struct tree t;

  hostile_init(&h);
  r.root = h.root;
  test_write(h.root, "swap/page.html", "p");
  CHECK_EQ_INT(tree_walk(&t, h.root, &o, &err), 0);
  CHECK_EQ_INT(r.deleted, 1);
  CHECK_EQ_INT(t.n, 1);
  CHECK(tree_has(&t, "index.html"));
  CHECK_EQ_INT(r.seen.warned, 1);
  CHECK_EQ_INT(r.seen.last_warn, -EXDEV);
  CHECK_EQ_STR(r.seen.warn_path, "swap");
  tree_free(&t);
  test_rmtree(h.top);
}

static void test_device_node_is_skipped_without_opening(void)
{
  struct hostile h;
  char path[1024];
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  join(path, sizeof(path), h.root, "tty");
  /* /dev/tty: opening it could hang or steal the terminal. */
  if (mknod(path, S_IFCHR | 0600, makedev(5, 0)) < 0) {
    printf("skipped: mknod needs CAP_MKNOD\n");
    test_rmtree(h.top);
    return;
  }
  hostile_link(&h, "tty", "tty-link");
  CHECK_EQ_INT(scan_opts(&t, h.root, &s, false), 0);
  CHECK_EQ_INT(t.n, 1);
  CHECK(tree_has(&t, "index.html"));
  CHECK_EQ_INT(s.warned, 0);
  tree_free(&t);
  test_rmtree(h.top);
}

/* Watch mode rescans single paths; it must list what a full walk lists. */
static int partwalk_one_path(struct tree *t, const char *root, const char *rel,
                             struct seen *s, bool follow_outside)
{
  struct tree_walk_opts o = {.warn = on_warn, .ctx = s};
  struct cfw_err err = {0};
  struct strlist paths;
  int rc;

  o.follow_outside = follow_outside;
  strlist_init(&paths);
  CHECK_EQ_INT(strlist_push(&paths, rel), 0);
  tree_init(t);
  rc = partwalk_tree(t, root, &paths, &o, &err);
  strlist_free(&paths);
  return rc;
}

static void test_partwalk_skips_symlink_outside_root_like_full_scan(void)
{
  struct hostile h;
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  hostile_link(&h, "../outside/secret.html", "leak.html");
  hostile_link(&h, "../outside", "out");
  CHECK_EQ_INT(partwalk_one_path(&t, h.root, "leak.html", &s, false), 0);
  CHECK_EQ_INT(t.n, 0);
  CHECK_EQ_INT(s.last_warn, -EXDEV);
  CHECK_EQ_STR(s.warn_path, "leak.html");
  tree_free(&t);
  CHECK_EQ_INT(partwalk_one_path(&t, h.root, "out", &s, false), 0);
  CHECK_EQ_INT(t.n, 0);
  CHECK_EQ_STR(s.warn_path, "out");
  tree_free(&t);
  CHECK_EQ_INT(partwalk_one_path(&t, h.root, "out/sub/deep.html", &s, false),
               0);
  CHECK_EQ_INT(t.n, 0);
  tree_free(&t);
  CHECK_EQ_INT(s.warned, 3);
  CHECK_EQ_INT(partwalk_one_path(&t, h.root, "out", &s, true), 0);
  CHECK_EQ_INT(t.n, 2);
  CHECK(tree_has(&t, "out/sub/deep.html"));
  tree_free(&t);
  test_rmtree(h.top);
}

/* A partial scan of a subdirectory judges links by the site root, not by
 * the subdirectory: blog/latest -> ../posts/x is inside the site. */
static void test_partwalk_of_subdir_follows_links_elsewhere_in_root(void)
{
  struct hostile h;
  struct seen s = {0};
  struct tree t;

  hostile_init(&h);
  test_write(h.root, "posts/x.html", "x");
  test_write(h.root, "blog/index.html", "b");
  hostile_link(&h, "../posts/x.html", "blog/latest.html");
  hostile_link(&h, "../posts", "blog/all");
  hostile_link(&h, "../../outside", "blog/out");
  CHECK_EQ_INT(partwalk_one_path(&t, h.root, "blog", &s, false), 0);
  CHECK_EQ_INT(t.n, 3);
  CHECK(tree_has(&t, "blog/latest.html"));
  CHECK(tree_has(&t, "blog/all/x.html"));
  CHECK(tree_has(&t, "blog/index.html"));
  CHECK_EQ_INT(s.warned, 1);
  CHECK_EQ_STR(s.warn_path, "blog/out");
  CHECK_EQ_INT(s.last_warn, -EXDEV);
  tree_free(&t);
  test_rmtree(h.top);
}

/* A writer that keeps extending the file (here by holes, which cost no
 * disk) faster than it can be read must not keep the hash going: only
 * the length at open is hashed. */
static void grow_forever(const char *path, int ready)
{
  off_t size = (off_t)1024 * 1024;
  int fd;
  int i;

  fd = open(path, O_WRONLY);
  for (i = 0; fd >= 0 && i < 20000; i++) {
    size += (off_t)4 * 1024 * 1024; /* 4 GB/s: more than SHA-256 reads */
    if (ftruncate(fd, size) < 0)
      break;
    if (i == 0 && write(ready, "g", 1) != 1)
      break;
    usleep(1000);
  }
  _exit(0);
}

static void test_filehash_of_a_growing_file_ends(void)
{
  struct cfw_err err = {0};
  struct timespec t0;
  struct timespec t1;
  char dir[256];
  char path[512];
  unsigned char h[32];
  uint64_t size = 0;
  char c;
  int ready[2];
  pid_t pid;
  int fd;

  test_tmpdir(dir, sizeof(dir));
  join(path, sizeof(path), dir, "growing");
  fd = open(path, O_WRONLY | O_CREAT, 0644);
  CHECK(fd >= 0 && ftruncate(fd, (off_t)1024 * 1024) == 0);
  close(fd);
  CHECK_EQ_INT(pipe(ready), 0);
  (void)fflush(NULL); /* a failed flush only risks doubled output */
  pid = fork();
  if (pid == 0)
    grow_forever(path, ready[1]);
  CHECK_EQ_INT(read(ready[0], &c, 1), 1); /* the writer is going */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_EQ_INT(filehash_file(AT_FDCWD, path, h, &size, &err), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(ready[0]);
  close(ready[1]);
  CHECK(t1.tv_sec - t0.tv_sec < 5);
  CHECK(size >= (uint64_t)5 * 1024 * 1024);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_scan_lists_regular_files_sorted),
          TEST(test_walk_holds_the_paths_known_already),
          TEST(test_walk_leaves_out_what_the_caller_has),
          TEST(test_symlink_to_file_records_target_stat),
          TEST(test_symlink_to_dir_is_followed),
          TEST(test_symlink_loop_terminates_with_warning),
          TEST(test_fifo_is_skipped_without_opening),
          TEST(test_skip_callback_prunes_directory),
          TEST(test_dangling_symlink_warns_enoent),
          TEST(test_missing_root_fails_enoent),
          TEST(test_unreadable_subdir_is_warned_and_skipped),
          TEST(test_filehash_matches_sha256),
          TEST(test_filehash_reads_large_file_in_chunks),
          TEST(test_filehash_refuses_fifo_without_blocking),
          TEST(test_filehash_of_a_growing_file_ends),
          TEST(test_symlink_to_dir_outside_root_is_skipped_exdev),
          TEST(test_symlink_to_file_outside_root_is_skipped_exdev),
          TEST(test_symlink_outside_root_is_followed_when_allowed),
          TEST(test_symlink_back_into_root_is_followed),
          TEST(test_root_reached_through_symlink_keeps_inside_links),
          TEST(test_symlink_chain_leaving_root_is_skipped),
          TEST(test_symlink_cycle_between_links_warns_eloop),
          TEST(test_entries_vanishing_during_walk_are_left_out),
          TEST(test_directory_swapped_for_outside_link_is_not_followed),
          TEST(test_device_node_is_skipped_without_opening),
          TEST(test_partwalk_skips_symlink_outside_root_like_full_scan),
          TEST(test_partwalk_of_subdir_follows_links_elsewhere_in_root))
