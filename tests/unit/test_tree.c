#include "filehash.h"
#include "tree.h"

#include "test.h"

#include <openssl/evp.h>
#include <stdbool.h>

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
  struct tree_scan_opts o = {skip_pruned, on_warn, s};
  struct cfw_err err = {0};

  return tree_scan(t, root, &o, &err);
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

  CHECK_EQ_INT(tree_scan(&t, "/nonexistent/cfw-root", NULL, &err), -ENOENT);
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

TEST_MAIN(TEST(test_scan_lists_regular_files_sorted),
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
          TEST(test_filehash_refuses_fifo_without_blocking))
