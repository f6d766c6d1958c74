/* SPDX-License-Identifier: MIT */
#include "atomicfile.h"
#include "manifest.h"

#include "test.h"

#include <openssl/evp.h>
#include <sys/resource.h>

/* Header offsets of the version 1 format (see manifest.h). */
#define OFF_VERSION 8
#define OFF_COUNT   32
#define OFF_ROOTLEN 40
#define HDR_LEN     44
#define ROOT        "/srv/site"

static struct tree_entry entry(const char *path, unsigned seed)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* borrowed: put copies it */
  e.size = 100 + seed;
  e.mtime_ns = INT64_C(1700000000000000000) + seed;
  e.ctime_ns = -(int64_t)seed; /* negative times must survive too */
  e.ino = 1000 + seed;
  e.dev = 7;
  e.flags = TREE_HASHED | (seed % 2 ? TREE_RACY : 0);
  memset(e.hash, (int)seed, sizeof(e.hash));
  return e;
}

/* A manifest of n entries "p0".."p<n-1>" with seeds from base. */
static struct manifest *sample(size_t n, unsigned base)
{
  struct tree_entry e;
  struct manifest *m;
  char path[32];
  size_t i;

  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(manifest_set_root(m, ROOT), 0);
  for (i = 0; i < n; i++) {
    (void)snprintf(path, sizeof(path), "d/p%zu", i);
    e = entry(path, base + (unsigned)i);
    CHECK_EQ_INT(manifest_put(m, &e), 0);
  }
  return m;
}

static void join(char *out, size_t n, const char *dir, const char *rel)
{
  if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n)
    exit(2);
}

static unsigned char *slurp(const char *path, size_t *len)
{
  struct stat st;
  unsigned char *p;
  int fd;

  fd = open(path, O_RDONLY);
  if (fd < 0 || fstat(fd, &st) < 0)
    exit(2);
  p = malloc((size_t)st.st_size + 1);
  if (p == NULL || read(fd, p, (size_t)st.st_size) != st.st_size)
    exit(2);
  close(fd);
  *len = (size_t)st.st_size;
  return p;
}

static void spill(const char *path, const unsigned char *p, size_t len)
{
  int fd;

  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd) < 0)
    exit(2);
}

/* Recomputes the trailer, as a crafted (not damaged) file would have. */
static void reseal(unsigned char *p, size_t len)
{
  CHECK(EVP_Digest(p, len - 32, p + len - 32, NULL, EVP_sha256(), NULL) == 1);
}

static void put_le64(unsigned char *p, uint64_t v)
{
  int i;

  for (i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* Saves sample(n) in a fresh state dir; returns its manifest file bytes. */
static unsigned char *saved_sample(char *dir, size_t dlen, char *file,
                                   size_t flen, size_t *len)
{
  struct cfw_err err = {0};
  struct manifest *m = sample(3, 1);

  test_tmpdir(dir, dlen);
  CHECK_EQ_INT(manifest_save(m, dir, &err), 0);
  manifest_destroy(m);
  join(file, flen, dir, MANIFEST_FILE);
  return slurp(file, len);
}

static int load_bytes(const char *dir, const char *file, const unsigned char *p,
                      size_t len, struct cfw_err *err)
{
  struct manifest *m = (struct manifest *)1;
  int rc;

  spill(file, p, len);
  rc = manifest_load(&m, dir, err);
  if (rc < 0)
    CHECK(m == NULL);
  manifest_destroy(m);
  return rc;
}

static void check_same(const struct manifest *a, const struct manifest *b)
{
  const struct tree_entry *x;
  const struct tree_entry *y;
  size_t i;

  CHECK_EQ_INT(manifest_count(a), manifest_count(b));
  CHECK_EQ_STR(manifest_root(a), manifest_root(b));
  for (i = 0; i < manifest_count(a) && i < manifest_count(b); i++) {
    x = manifest_at(a, i);
    y = manifest_at(b, i);
    CHECK_EQ_STR(x->path, y->path);
    CHECK(x->size == y->size && x->mtime_ns == y->mtime_ns);
    CHECK(x->ctime_ns == y->ctime_ns && x->ino == y->ino);
    CHECK(x->dev == y->dev && x->flags == y->flags);
    CHECK(memcmp(x->hash, y->hash, 32) == 0);
  }
}

static void test_round_trip_preserves_everything(void)
{
  struct cfw_err err = {0};
  struct manifest *m = sample(50, 3);
  struct manifest *back = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_save(m, dir, &err), 0);
  CHECK_EQ_INT(manifest_load(&back, dir, &err), 0);
  if (back != NULL) {
    check_same(m, back);
    CHECK(manifest_written_at_ns(back) > 0);
    CHECK(manifest_find(back, "d/p42") != NULL);
    CHECK(manifest_find(back, "d/p50") == NULL);
  }
  manifest_destroy(back);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_empty_manifest_round_trips(void)
{
  struct cfw_err err = {0};
  struct manifest *m;
  struct manifest *back = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_new(&m), 0);
  CHECK_EQ_INT(manifest_save(m, dir, &err), 0);
  CHECK_EQ_INT(manifest_load(&back, dir, &err), 0);
  CHECK(back != NULL && manifest_count(back) == 0);
  if (back != NULL)
    CHECK_EQ_STR(manifest_root(back), "");
  manifest_destroy(back);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_missing_manifest_is_enoent(void)
{
  struct cfw_err err = {0};
  struct manifest *m = (struct manifest *)1;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_load(&m, dir, &err), -ENOENT);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, dir);
  test_rmtree(dir);
}

static void test_crash_before_rename_keeps_old_manifest(void)
{
  struct cfw_err err = {0};
  struct manifest *old = sample(2, 1);
  struct manifest *next = sample(5, 9);
  struct manifest *back = NULL;
  unsigned char *bytes;
  char dir[256];
  char other[256];
  char path[512];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  test_tmpdir(other, sizeof(other));
  CHECK_EQ_INT(manifest_save(old, dir, &err), 0);
  /* The crash: the new manifest was written to the temp name, complete
   * or not, and the rename never happened. */
  CHECK_EQ_INT(manifest_save(next, other, &err), 0);
  join(path, sizeof(path), other, MANIFEST_FILE);
  bytes = slurp(path, &len);
  join(path, sizeof(path), dir, MANIFEST_FILE ".tmp");
  spill(path, bytes, len / 2);
  CHECK_EQ_INT(manifest_load(&back, dir, &err), 0);
  if (back != NULL)
    check_same(old, back);
  manifest_destroy(back);
  free(bytes);
  manifest_destroy(next);
  manifest_destroy(old);
  test_rmtree(other);
  test_rmtree(dir);
}

static void test_save_replaces_leftover_temp_file(void)
{
  struct cfw_err err = {0};
  struct manifest *m = sample(3, 1);
  struct manifest *back = NULL;
  char dir[256];
  char tmp[512];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, MANIFEST_FILE ".tmp", "half a manifest from a crash");
  CHECK_EQ_INT(manifest_save(m, dir, &err), 0);
  join(tmp, sizeof(tmp), dir, MANIFEST_FILE ".tmp");
  CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
  CHECK_EQ_INT(manifest_load(&back, dir, &err), 0);
  if (back != NULL)
    check_same(m, back);
  manifest_destroy(back);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_failed_write_leaves_old_manifest_and_no_temp(void)
{
  struct cfw_err err = {0};
  struct manifest *old = sample(1, 1);
  struct manifest *big = sample(200, 1);
  struct manifest *back = NULL;
  struct rlimit rl = {4096, 4096};
  char dir[256];
  char tmp[512];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(manifest_save(old, dir, &err), 0);
  /* A file size limit makes the write fail midway, as a full disk would;
   * this process is the test case's own. */
  CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
  CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
  CHECK_EQ_INT(manifest_save(big, dir, &err), -EFBIG);
  CHECK_CONTAINS(err.msg, "unchanged");
  join(tmp, sizeof(tmp), dir, MANIFEST_FILE ".tmp");
  CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
  CHECK_EQ_INT(manifest_load(&back, dir, &err), 0);
  if (back != NULL)
    check_same(old, back);
  manifest_destroy(back);
  manifest_destroy(big);
  manifest_destroy(old);
  test_rmtree(dir);
}

static void test_truncation_at_every_offset_is_detected(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;
  size_t cut;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  for (cut = 0; cut < len; cut++) {
    err.msg[0] = '\0';
    CHECK_EQ_INT(load_bytes(dir, file, p, cut, &err), -EBADMSG);
    CHECK_CONTAINS(err.msg, "corrupt");
  }
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), 0);
  free(p);
  test_rmtree(dir);
}

static void test_every_single_bit_flip_is_detected(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;
  size_t bit;
  int rc;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  for (bit = 0; bit < len * 8; bit++) {
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    rc = load_bytes(dir, file, p, len, &err);
    if (rc != -EBADMSG && rc != -EPROTO)
      TEST_FAIL_("bit %zu: load returned %d", bit, rc);
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
  }
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), 0);
  free(p);
  test_rmtree(dir);
}

static void test_wrong_magic_is_rejected(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  memcpy(p, "GIF89a\0\0", 8);
  reseal(p, len);
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "bad magic");
  free(p);
  test_rmtree(dir);
}

static void test_unknown_version_is_eproto(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  p[OFF_VERSION] = 2;
  reseal(p, len);
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EPROTO);
  CHECK_CONTAINS(err.msg, "version 2");
  CHECK_CONTAINS(err.msg, file);
  free(p);
  test_rmtree(dir);
}

static void test_corrupt_message_names_file_and_remedy(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  p[len / 2] ^= 0x40;
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, file);
  CHECK_CONTAINS(err.msg, "checksum mismatch");
  CHECK_CONTAINS(err.msg, "Nothing was sent");
  CHECK_CONTAINS(err.msg, "remove it");
  free(p);
  test_rmtree(dir);
}

static void test_sealed_huge_entry_count_is_rejected(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  put_le64(p + OFF_COUNT, UINT64_MAX / 2);
  reseal(p, len);
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "entry count");
  put_le64(p + OFF_COUNT, 2);
  reseal(p, len);
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "stray bytes");
  free(p);
  test_rmtree(dir);
}

/* Rewrites the first entry's path "d/p0" (just after the header). */
static void test_sealed_bad_paths_are_rejected(void)
{
  static const char *const bad[] = {"d/p1", "../x", "d//x", "/abs", "d/./"};
  struct cfw_err err = {0};
  size_t first = HDR_LEN + strlen(ROOT) + 4;
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;
  size_t i;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  CHECK(memcmp(p + first, "d/p0", 4) == 0);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    memcpy(p + first, bad[i], 4);
    reseal(p, len);
    CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EBADMSG);
    CHECK(strstr(err.msg, "invalid path") != NULL ||
          strstr(err.msg, "out of order") != NULL);
  }
  free(p);
  test_rmtree(dir);
}

static void test_sealed_oversized_root_length_is_rejected(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char file[512];
  unsigned char *p;
  size_t len;

  p = saved_sample(dir, sizeof(dir), file, sizeof(file), &len);
  p[OFF_ROOTLEN + 3] = 0x7f;
  reseal(p, len);
  CHECK_EQ_INT(load_bytes(dir, file, p, len, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "root");
  free(p);
  test_rmtree(dir);
}

static void test_file_is_0600_and_new_dirs_0700(void)
{
  struct cfw_err err = {0};
  struct manifest *m = sample(1, 1);
  struct stat st;
  char dir[256];
  char state[512];
  char path[600];

  umask(022);
  test_tmpdir(dir, sizeof(dir));
  join(state, sizeof(state), dir, "a/b");
  CHECK_EQ_INT(manifest_save(m, state, &err), 0);
  join(path, sizeof(path), state, MANIFEST_FILE);
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0600);
  CHECK_EQ_INT(stat(state, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0700);
  join(path, sizeof(path), dir, "a");
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0700);
  manifest_destroy(m);
  test_rmtree(dir);
}

static void test_mkdirs_refuses_a_file_in_the_way(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char path[512];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "file", "x");
  join(path, sizeof(path), dir, "file/sub");
  CHECK_EQ_INT(atomicfile_mkdirs(path, 0700, &err), -ENOTDIR);
  join(path, sizeof(path), dir, "x//y/");
  CHECK_EQ_INT(atomicfile_mkdirs(path, 0700, &err), 0);
  CHECK_EQ_INT(atomicfile_mkdirs(path, 0700, &err), 0);
  test_rmtree(dir);
}

static void test_put_replaces_and_keeps_order(void)
{
  struct manifest *m;
  struct tree_entry e;

  CHECK_EQ_INT(manifest_new(&m), 0);
  e = entry("b", 1);
  CHECK_EQ_INT(manifest_put(m, &e), 0);
  e = entry("a", 2);
  CHECK_EQ_INT(manifest_put(m, &e), 0);
  e = entry("b", 3);
  CHECK_EQ_INT(manifest_put(m, &e), 0);
  CHECK_EQ_INT(manifest_count(m), 2);
  CHECK_EQ_STR(manifest_at(m, 0)->path, "a");
  CHECK_EQ_INT(manifest_find(m, "b")->size, 103);
  CHECK_EQ_INT(manifest_remove(m, "a"), 0);
  CHECK_EQ_INT(manifest_remove(m, "a"), -ENOENT);
  CHECK_EQ_INT(manifest_count(m), 1);
  CHECK(manifest_at(m, 1) == NULL);
  manifest_destroy(m);
}

static void test_put_refuses_unhashed_or_bad_path(void)
{
  struct manifest *m;
  struct tree_entry e;

  CHECK_EQ_INT(manifest_new(&m), 0);
  e = entry("a", 2);
  e.flags = 0;
  CHECK_EQ_INT(manifest_put(m, &e), -EINVAL);
  e = entry("a/../b", 2);
  CHECK_EQ_INT(manifest_put(m, &e), -EINVAL);
  e = entry("", 2);
  CHECK_EQ_INT(manifest_put(m, &e), -EINVAL);
  CHECK_EQ_INT(manifest_count(m), 0);
  manifest_destroy(m);
}

static void test_edit_batch_merges_unsorted_edits(void)
{
  struct manifest *m = sample(4, 1); /* d/p0 .. d/p3 */
  struct tree_entry add1 = entry("z", 40);
  struct tree_entry add0 = entry("a", 41);
  struct tree_entry rep = entry("d/p2", 42);
  struct tree_entry del = entry("d/p1", 0);
  struct tree_entry absent = entry("nope", 0);
  struct manifest_edit ed[] = {{&add1, false},
                               {&del, true},
                               {&rep, false},
                               {&add0, false},
                               {&absent, true}};
  struct cfw_err err = {0};

  CHECK_EQ_INT(manifest_edit(m, ed, 5, &err), 0);
  CHECK_EQ_INT(manifest_count(m), 5);
  CHECK_EQ_STR(manifest_at(m, 0)->path, "a");
  CHECK_EQ_STR(manifest_at(m, 1)->path, "d/p0");
  CHECK_EQ_STR(manifest_at(m, 2)->path, "d/p2");
  CHECK_EQ_INT(manifest_at(m, 2)->size, 142);
  CHECK_EQ_STR(manifest_at(m, 3)->path, "d/p3");
  CHECK_EQ_STR(manifest_at(m, 4)->path, "z");
  CHECK(manifest_find(m, "d/p1") == NULL);
  manifest_destroy(m);
}

static void test_edit_batch_is_all_or_nothing(void)
{
  struct manifest *m = sample(2, 1);
  struct tree_entry a = entry("a", 5);
  struct tree_entry a2 = entry("a", 6);
  struct tree_entry unhashed = entry("b", 7);
  struct manifest_edit dup[] = {{&a, false}, {&a2, false}};
  struct manifest_edit bad[] = {{&a, false}, {&unhashed, false}};
  struct cfw_err err = {0};

  unhashed.flags = 0;
  CHECK_EQ_INT(manifest_edit(m, dup, 2, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "twice");
  CHECK_EQ_INT(manifest_edit(m, bad, 2, &err), -EINVAL);
  CHECK_EQ_INT(manifest_count(m), 2);
  CHECK(manifest_find(m, "a") == NULL);
  CHECK_EQ_INT(manifest_edit(m, NULL, 0, &err), 0);
  manifest_destroy(m);
}

TEST_MAIN(TEST(test_round_trip_preserves_everything),
          TEST(test_empty_manifest_round_trips),
          TEST(test_missing_manifest_is_enoent),
          TEST(test_crash_before_rename_keeps_old_manifest),
          TEST(test_save_replaces_leftover_temp_file),
          TEST(test_failed_write_leaves_old_manifest_and_no_temp),
          TEST(test_truncation_at_every_offset_is_detected),
          TEST(test_every_single_bit_flip_is_detected),
          TEST(test_wrong_magic_is_rejected),
          TEST(test_unknown_version_is_eproto),
          TEST(test_corrupt_message_names_file_and_remedy),
          TEST(test_sealed_huge_entry_count_is_rejected),
          TEST(test_sealed_bad_paths_are_rejected),
          TEST(test_sealed_oversized_root_length_is_rejected),
          TEST(test_file_is_0600_and_new_dirs_0700),
          TEST(test_mkdirs_refuses_a_file_in_the_way),
          TEST(test_put_replaces_and_keeps_order),
          TEST(test_put_refuses_unhashed_or_bad_path),
          TEST(test_edit_batch_merges_unsorted_edits),
          TEST(test_edit_batch_is_all_or_nothing))
