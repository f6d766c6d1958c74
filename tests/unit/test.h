/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_H
#define CFW_TEST_H

/* A small test harness in the spirit of libuv's test/: every case runs in
 * its own forked process under a timeout, failures print both values and
 * the line, and the run ends with "N passed, N failed".
 *
 *   static void test_x_does_y(void) { CHECK_EQ_INT(f(), 3); }
 *   TEST_MAIN(TEST(test_x_does_y), TEST(test_other))
 *
 * Each forked case gets a fresh $TMPDIR of its own (under the one the
 * binary started with), removed with all it holds once the case ends,
 * however it ends: a case that fails, times out or is killed leaves
 * nothing behind.
 *
 * "./test_foo NAME" runs one case in-process, for gdb. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Which sanitizer the test is built under, for the few tests that must
 * know: CFW_TEST_TSAN (ThreadSanitizer runs code 5 to 15 times slower)
 * and CFW_TEST_SANITIZER (ASan or TSan: both reserve terabytes of
 * shadow address space up front). */
#if defined(__SANITIZE_THREAD__)
#define CFW_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CFW_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CFW_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CFW_TEST_ASAN 1
#endif
#endif
#if defined(CFW_TEST_TSAN) || defined(CFW_TEST_ASAN)
#define CFW_TEST_SANITIZER 1
#endif

struct test_case {
  const char *name;
  void (*fn)(void);
};

/* Failures of the current case; the harness is per-process test code. */
static int test_failures;

/* The test binary's main process, which runs the cases in forked
 * children (0 outside test_main): fixtures that outlive a case, like
 * standin.h's stand-in, exit with it. */
static pid_t test_main_pid;

/* Where the cases' directories go: $TMPDIR as the binary found it, or
 * else /dev/shm where it is writable (a tree of 100,000 files costs
 * seconds of journalling on a disk and none on tmpfs; the tests measure
 * cfwatch, not the file system), or else /tmp.  Also for fixtures that
 * outlive a case and remove their own files. */
static const char *test_base_tmp = "/tmp";

/* Whether the binary found $TMPDIR set, to put it back after a case run
 * in-process; and that case's directory while it runs (else ""), for
 * test_atexit. */
static bool test_tmp_from_env;
static char test_case_tmp[4096];

#define TEST(fn)                                                               \
  {                                                                            \
#fn, fn                                                                    \
  }

/* A failure report that cannot be written changes nothing: the case
 * still fails through test_failures, so the results are not checked. */
#define TEST_FAIL_(...)                                                        \
  do {                                                                         \
    (void)fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                      \
    (void)fprintf(stderr, __VA_ARGS__);                                        \
    (void)fputc('\n', stderr);                                                 \
    test_failures++;                                                           \
  } while (0)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond))                                                               \
      TEST_FAIL_("CHECK failed: %s", #cond);                                   \
  } while (0)

/* Fatal: the case stops here, for a condition nothing after it could
 * survive (a NULL that would be dereferenced, a setup step). */
#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      TEST_FAIL_("REQUIRE failed: %s", #cond);                                 \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_)                                                              \
      TEST_FAIL_("%s == %s failed: %lld != %lld", #a, #b, a_, b_);             \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                       \
      TEST_FAIL_("%s == %s failed: \"%s\" != \"%s\"", #a, #b,                  \
                 a_ ? a_ : "(null)", b_ ? b_ : "(null)");                      \
  } while (0)

/* Exact: for values parsed from text or copied, not computed. */
#define CHECK_EQ_DBL(a, b)                                                     \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    if (!(a_ == b_))                                                           \
      TEST_FAIL_("%s == %s failed: %.17g != %.17g", #a, #b, a_, b_);           \
  } while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    if (h_ == NULL || strstr(h_, n_) == NULL)                                  \
      TEST_FAIL_("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);    \
  } while (0)

/* Creates a fresh directory under $TMPDIR (or /tmp); aborts the case on
 * failure because nothing after it could mean anything. */
static inline void test_tmpdir(char *out, size_t n)
{
  const char *base = getenv("TMPDIR");
  int len;

  len = snprintf(out, n, "%s/cfwtest.XXXXXX", base ? base : "/tmp");
  if (len < 0 || (size_t)len >= n || mkdtemp(out) == NULL) {
    perror("mkdtemp");
    exit(2);
  }
}

/* Writes content to dir/rel, creating parent directories. */
static inline void test_write(const char *dir, const char *rel,
                              const char *content)
{
  char path[4096];
  char *p;
  int fd;
  size_t len = strlen(content);

  if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
    exit(2);
  for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
      exit(2);
    *p = '/';
  }
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, content, len) != (ssize_t)len || close(fd) < 0) {
    perror(path);
    exit(2);
  }
}

/* The whole of dir/name, NUL-terminated (*len bytes before the NUL);
 * free it. */
static inline unsigned char *test_slurp(const char *dir, const char *name,
                                        size_t *len)
{
  char path[4096];
  struct stat st;
  unsigned char *p;
  int fd;

  REQUIRE(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
  fd = open(path, O_RDONLY);
  REQUIRE(fd >= 0 && fstat(fd, &st) == 0);
  p = malloc((size_t)st.st_size + 1);
  REQUIRE(p != NULL && read(fd, p, (size_t)st.st_size) == st.st_size);
  (void)close(fd);
  p[st.st_size] = '\0';
  *len = (size_t)st.st_size;
  return p;
}

/* Whether dir/name exists. */
static inline bool test_exists(const char *dir, const char *name)
{
  char path[4096];

  REQUIRE(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
  return access(path, F_OK) == 0;
}

static inline int test_rmtree_one(const char *path, const struct stat *st,
                                  int type, struct FTW *ftw)
{
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path) != 0 && errno != ENOENT;
}

/* Removes a tree made by a test (best effort), in-process: a case ends
 * with one, and an "rm -rf" per case was two exec's more.  A walk that
 * failed (a process of the case still writing) is tried again. */
static inline void test_rmtree(const char *dir)
{
  int tries;
  int rc;

  for (tries = 0; tries < 3; tries++) {
    rc = nftw(dir, test_rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
    if (rc == 0 || (rc < 0 && errno == ENOENT))
      return;
  }
  fprintf(stderr, "could not remove %s\n", dir);
}

/* Makes the case's fresh $TMPDIR in test_case_tmp.  Open to all, as
 * /tmp is: a case that drops its privileges (to test EACCES) must still
 * reach its own files. */
static int test_case_tmp_make(void)
{
  int rc;

  rc = snprintf(test_case_tmp, sizeof(test_case_tmp), "%s/cfwcase.XXXXXX",
                test_base_tmp);
  if (rc < 0 || (size_t)rc >= sizeof(test_case_tmp) ||
      mkdtemp(test_case_tmp) == NULL || chmod(test_case_tmp, 01777) != 0) {
    perror(test_case_tmp);
    test_case_tmp[0] = '\0';
    return -1;
  }
  return 0;
}

static void test_case_tmp_remove(void)
{
  if (test_case_tmp[0] != '\0')
    test_rmtree(test_case_tmp);
  test_case_tmp[0] = '\0';
}

/* A case run in-process that stops at a REQUIRE (exit) still leaves
 * nothing behind. */
static void test_atexit(void)
{
  if (getpid() == test_main_pid)
    test_case_tmp_remove();
}

/* Runs a case in a child whose $TMPDIR is a fresh directory; removes
 * that directory once the child has ended, whatever became of it. */
static int test_run_one(const struct test_case *tc, unsigned timeout_s)
{
  pid_t pid;
  int status;
  int rc;

  if (test_case_tmp_make() < 0)
    return -1;
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    test_case_tmp_remove();
    return -1;
  }
  if (pid == 0) {
    if (setenv("TMPDIR", test_case_tmp, 1) != 0)
      exit(2);
    alarm(timeout_s);
    tc->fn();
    exit(test_failures ? 1 : 0);
  }
  rc = waitpid(pid, &status, 0);
  test_case_tmp_remove();
  if (rc < 0)
    return -1;
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "%s: killed by signal %d%s\n", tc->name, WTERMSIG(status),
            WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    return -1;
  }
  return WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Runs a case in this process, with a fresh $TMPDIR and the timeout:
 * one that times out or crashes ends the binary, which fails. */
static int test_run_here(const struct test_case *tc, unsigned timeout_s)
{
  int rc;

  if (test_case_tmp_make() < 0)
    return -1;
  if (setenv("TMPDIR", test_case_tmp, 1) != 0) {
    test_case_tmp_remove();
    return -1;
  }
  test_failures = 0;
  alarm(timeout_s);
  tc->fn();
  alarm(0);
  test_case_tmp_remove();
  rc = test_tmp_from_env ? setenv("TMPDIR", test_base_tmp, 1)
                         : unsetenv("TMPDIR");
  return rc == 0 && test_failures == 0 ? 0 : -1;
}

/* Where the cases' directories go (test_base_tmp). */
static void test_base_tmp_init(void)
{
  static char base[4096];
  const char *env = getenv("TMPDIR");

  test_tmp_from_env = env != NULL && strlen(env) < sizeof(base);
  if (test_tmp_from_env) {
    memcpy(base, env, strlen(env) + 1); /* setenv may free env's */
    test_base_tmp = base;
  } else if (access("/dev/shm", W_OK) == 0) {
    test_base_tmp = "/dev/shm";
  }
}

/* Runs the cases (argv[1]: only that one, in-process, for gdb).  Each
 * case runs in a forked child, but under ASan a binary whose cases may
 * share a process (alone false) runs them one after the other in its
 * own: LeakSanitizer's check at each child's exit, and the fork of
 * ASan's mappings, were most of a small unit test's CPU under ASan
 * (test_urlmap: 3.9 CPU-seconds, 1.1 without the checks); leaks are
 * still found, by the one check at the binary's exit.  Under TSan the
 * cases still fork: sharing the process saved no CPU there (TSan's unit
 * tests, 78.3 CPU-seconds forked, 79.1 shared).  Cases that set
 * limits, the environment, a namespace or signals, or that must find
 * no other thread, live in TEST_MAIN_ALONE binaries. */
static inline int test_main(const struct test_case *cases, size_t n, int argc,
                            char **argv, bool alone)
{
  const char *t = getenv("CFW_TEST_TIMEOUT");
  unsigned timeout_s = t ? (unsigned)strtoul(t, NULL, 10) : 60;
  size_t i;
  int passed = 0;
  int failed = 0;
  int rc;

  test_main_pid = getpid();
  test_base_tmp_init();
#ifndef CFW_TEST_ASAN
  alone = true;
#endif
  if (!alone && atexit(test_atexit) != 0)
    alone = true;
  for (i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
      continue;
    if (argc > 1) {
      cases[i].fn();
      printf("%s %s\n", test_failures ? "FAIL" : "ok  ", cases[i].name);
      return test_failures ? 1 : 0;
    }
    fflush(NULL);
    rc = alone ? test_run_one(&cases[i], timeout_s)
               : test_run_here(&cases[i], timeout_s);
    if (rc == 0) {
      passed++;
      printf("ok   %s\n", cases[i].name);
    } else {
      failed++;
      printf("FAIL %s\n", cases[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

#define TEST_MAIN_(alone, ...)                                                 \
  int main(int argc, char **argv)                                              \
  {                                                                            \
    static const struct test_case cases_[] = {__VA_ARGS__};                    \
    return test_main(cases_, sizeof(cases_) / sizeof(cases_[0]), argc, argv,   \
                     alone);                                                   \
  }

/* The cases of the binary; under ASan they share its process. */
#define TEST_MAIN(...) TEST_MAIN_(false, __VA_ARGS__)

/* The cases of the binary, each in a process of its own under every
 * build: for cases that change what the process holds for the next
 * one (limits, the environment, signals, a mount namespace) or that
 * need it to have no thread yet.  Say which, where it is used. */
#define TEST_MAIN_ALONE(...) TEST_MAIN_(true, __VA_ARGS__)

#endif
