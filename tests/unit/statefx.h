/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_STATEFX_H
#define CFW_TEST_STATEFX_H

/* What the state tests share. */

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pathref.h"
#include "state.h"
#include "test.h"

/* Writes len bytes at p as dir/name, whole, or the case ends: a state
 * file made by hand (an older format, a torn write). */
static inline void statefx_spill(const char *dir, const char *name,
                                 const unsigned char *p, size_t len)
{
  char path[512];
  int fd;

  REQUIRE(snprintf(path, sizeof(path), "%s/%s", dir, name) < 512);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0 && write(fd, p, len) == (ssize_t)len && close(fd) == 0);
}

/* The state in dir for the site root at dist, opened, or the case ends. */
static inline struct state *statefx_open(const char *dir, const char *root,
                                         const char *dist)
{
  struct cfw_err err = {0};
  struct state *s = NULL;

  CHECK_EQ_INT(state_open(&s, dir, root, dist, 0, &err), 0);
  if (s == NULL)
    TEST_FAIL_("%s", err.msg);
  REQUIRE(s != NULL);
  return s;
}

/* A limit on file size fails an append midway, as a full disk would;
 * the process is the test case's own. */
static inline void statefx_limit_file_size(size_t bytes)
{
  struct rlimit rl;

  rl.rlim_cur = rl.rlim_max = bytes;
  REQUIRE(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
  REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

/* The same with the soft limit only, which the case can lift again
 * (room made on the disk). */
static inline void statefx_limit_file_size_soft(size_t bytes)
{
  struct rlimit rl;

  REQUIRE(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  rl.rlim_cur = bytes;
  REQUIRE(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
  REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

/* After a compaction of s (in dir) that the caller's file size cap made
 * fail: the error says the snapshot is unchanged, it is byte for byte
 * before[0..n) with no temporary file beside it, and the journal still
 * holds every record (reopened, the state has want entries).  Closes s. */
static inline void
statefx_check_failed_compact(struct state *s, const char *dir, const char *root,
                             const char *dist, const unsigned char *before,
                             size_t n, size_t want)
{
  struct cfw_err err = {0};
  unsigned char *after;
  size_t n_after;

  CHECK_EQ_INT(state_compact(s, &err), -EFBIG);
  CHECK_CONTAINS(err.msg, "unchanged");
  CHECK(!test_exists(dir, "manifest.tmp"));
  after = test_slurp(dir, "manifest", &n_after);
  CHECK(n_after == n && memcmp(before, after, n) == 0);
  state_close(s);
  s = statefx_open(dir, root, dist);
  CHECK_EQ_INT(manifest_count(state_manifest(s)), want);
  state_close(s);
  free(after);
}

/* Records a batch the way the daemon does, with state_intend_take, from
 * a test's changes (whose paths may be borrowed): the batch is v[idx[i]]
 * (idx NULL: v[0..n)), i < n, out of v[0..n_v).  An owned copy of v is
 * handed over and what the intent did not take is freed, so the test's
 * v is left as it was. */
static inline int intend_copy(struct state *s, const char *dist,
                              const struct strlist *paths,
                              const struct change *v, size_t n_v,
                              const uint32_t *idx, size_t n,
                              const struct intent **out, struct cfw_err *err)
{
  struct change *c = calloc(n_v + 1, sizeof(*c));
  size_t n_c = n_v;
  size_t i;
  int rc;

  REQUIRE(c != NULL);
  for (i = 0; i < n_v; i++) {
    c[i] = v[i];
    c[i].entry.path = pathref_dup(v[i].entry.path);
    REQUIRE(c[i].entry.path != NULL);
  }
  rc = state_intend_take(s, dist, paths, &c, &n_c, idx, n, out, err);
  changes_free(c, n_c);
  return rc;
}

#endif
