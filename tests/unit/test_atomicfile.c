/* SPDX-License-Identifier: MIT */
/* atomicfile_write_from: content written in pieces as it is made
 * replaces the file whole; a piece that fails leaves the old file and
 * no temp file. */
#include "atomicfile.h"

#include "test.h"

struct pieces {
  int n;       /* pieces to write */
  int fail_at; /* -1: none */
};

static int fill_pieces(void *arg, struct atomicfile_out *o)
{
  const struct pieces *p = arg;
  int i;
  int rc;

  for (i = 0; i < p->n; i++) {
    if (i == p->fail_at)
      return -ENOMEM;
    rc = atomicfile_put(o, "abc", 3);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static char *read_back(const char *dir, const char *name)
{
  char path[512];
  struct buf b;

  REQUIRE(snprintf(path, sizeof(path), "%s/%s", dir, name) < 512);
  buf_init(&b, 1 << 20);
  if (atomicfile_read(path, &b) < 0) {
    buf_free(&b);
    return NULL;
  }
  return buf_take(&b);
}

static void test_write_from_writes_the_pieces(void)
{
  struct pieces p = {4, -1};
  struct cfw_err err = {0};
  char dir[256];
  char *got;

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(atomicfile_write_from(dir, "f", fill_pieces, &p, &err), 0);
  got = read_back(dir, "f");
  CHECK_EQ_STR(got, "abcabcabcabc");
  free(got);
  p.n = 0; /* none: an empty file */
  CHECK_EQ_INT(atomicfile_write_from(dir, "f", fill_pieces, &p, &err), 0);
  got = read_back(dir, "f");
  CHECK_EQ_STR(got, "");
  free(got);
  test_rmtree(dir);
}

static void test_failed_fill_leaves_the_old_file(void)
{
  struct pieces p = {4, 2};
  struct cfw_err err = {0};
  char dir[256];
  char *got;

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(atomicfile_write(dir, "f", "old", 3, &err), 0);
  CHECK_EQ_INT(atomicfile_write_from(dir, "f", fill_pieces, &p, &err), -ENOMEM);
  CHECK_CONTAINS(err.msg, "the previous f is unchanged");
  got = read_back(dir, "f");
  CHECK_EQ_STR(got, "old");
  free(got);
  got = read_back(dir, "f.tmp");
  CHECK(got == NULL);
  free(got);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_write_from_writes_the_pieces),
          TEST(test_failed_fill_leaves_the_old_file))
