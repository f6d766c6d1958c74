/* SPDX-License-Identifier: MIT */
/* Issue 13 ("flat memory"): opening a state decodes its snapshot as the
 * file is read, so the load costs the decoded manifest and a window of
 * STATEFMT_READ_BUF bytes, never the file whole beside it. */
#include "state.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "aslimit.h"
#include "statecache.h"
#include "statefmt.h"
#include "statefx.h"
#include "test.h"

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"
/* Enough entries that the file (about 130 bytes an entry, some 13 MB)
 * dwarfs the window and the slack the cap leaves. */
#define N_ENTRIES ((size_t)100000)

/* A state dir whose snapshot holds N_ENTRIES entries: its file size. */
static size_t big_baseline(const char *dir)
{
  struct cfw_err err = {0};
  struct change *v = calloc(N_ENTRIES, sizeof(*v));
  struct state *s = statefx_open(dir, ROOT, DIST);
  char path[64];
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < N_ENTRIES; i++) {
    (void)snprintf(path, sizeof(path), "d%03zu/page-%07zu/index.html", i / 1000,
                   i);
    v[i].entry.path = pathref_dup(path);
    REQUIRE(v[i].entry.path != NULL);
    v[i].entry.size = i;
    v[i].entry.flags = TREE_HASHED;
    memset(v[i].entry.hash, (int)i, sizeof(v[i].entry.hash));
    change_set_kind(&v[i], CHANGE_ADDED);
  }
  CHECK_EQ_INT(state_baseline(s, v, N_ENTRIES, &err), 0);
  state_close(s);
  for (i = 0; i < N_ENTRIES; i++)
    pathref_drop(v[i].entry.path);
  free(v);
  s = statefx_open(dir, ROOT, DIST);
  i = (size_t)state_snapshot_bytes(s);
  state_close(s);
  return i;
}

#if AS_LIMIT_USABLE
/* Opens the state in dir read-only: the address space it took. */
static size_t open_cost(const char *dir, struct state **s)
{
  struct cfw_err err = {0};
  size_t before = as_in_use();

  CHECK_EQ_INT(state_open(s, dir, ROOT, DIST, STATE_READONLY, &err), 0);
  return as_in_use() - before;
}
#endif

/* Under a cap of what an open keeps (measured by a first open) plus the
 * window and a MiB of slack, well short of the file's size, a second
 * open still succeeds: nothing of the file's size was ever held beside
 * the manifest.  Reading the file whole first failed here. */
static void test_open_holds_the_manifest_and_not_the_file(void)
{
#if !AS_LIMIT_USABLE
  CHECK(1); /* a cap on the address space would stop the sanitizer */
#else
  struct cfw_err err = {0};
  struct state *s = NULL;
  struct rlimit old;
  char dir[256];
  size_t file;
  size_t kept;
  size_t slack = STATEFMT_READ_BUF + ((size_t)1 << 20);
  int rc;

  /* Fixed thresholds: big blocks are mapped and given back on free, so
   * the address space in use follows what is held. */
  REQUIRE(mallopt(M_MMAP_THRESHOLD, 64 * 1024) == 1);
  REQUIRE(mallopt(M_TRIM_THRESHOLD, 64 * 1024) == 1);
  test_tmpdir(dir, sizeof(dir));
  file = big_baseline(dir);
  REQUIRE(file > 4 * slack);
  (void)malloc_trim(0);
  kept = open_cost(dir, &s);
  state_close(s);
  s = NULL;
  (void)malloc_trim(0);
  as_cap(kept + slack, &old);
  rc = state_open(&s, dir, ROOT, DIST, STATE_READONLY, &err);
  as_restore(&old);
  if (rc < 0)
    TEST_FAIL_("open under a cap of %zu + %zu bytes (the file: %zu): %s", kept,
               slack, file, err.msg);
  CHECK_EQ_INT(rc, 0);
  if (s != NULL)
    CHECK_EQ_INT(manifest_count(state_manifest(s)), N_ENTRIES);
  state_close(s);
  test_rmtree(dir);
#endif
}

/* A state in S3 (statecache.h): a pull wants the snapshot's header
 * only, and reads no more of it, under a cap far below the file's
 * size; a push of a snapshot S3 does not hold yet has its bytes. */
static void test_statecache_reads_the_header_only(void)
{
  struct cfw_err err = {0};
  struct statecache c;
  char dir[256];
  size_t file;
  int rc;

  test_tmpdir(dir, sizeof(dir));
  file = big_baseline(dir);
#if AS_LIMIT_USABLE
  {
    struct rlimit old;

    (void)malloc_trim(0);
    as_cap((size_t)1 << 20, &old);
    rc = statecache_load(&c, dir, 0, &err);
    as_restore(&old);
  }
#else
  rc = statecache_load(&c, dir, 0, &err); /* no cap under a sanitizer */
#endif
  CHECK_EQ_INT(rc, 0);
  CHECK(c.have_snapshot && c.snap == NULL);
  CHECK(c.snap_next > 0);
  statecache_free(&c);
  CHECK_EQ_INT(statecache_load(&c, dir, STATECACHE_SNAPSHOT, &err), 0);
  CHECK(c.snap != NULL);
  CHECK_EQ_INT(c.snap_len, file);
  statecache_free(&c);
  test_rmtree(dir);
}

/* Each case alone (test.h): a case caps its address space (aslimit.h). */
TEST_MAIN_ALONE(TEST(test_open_holds_the_manifest_and_not_the_file),
                TEST(test_statecache_reads_the_header_only))
