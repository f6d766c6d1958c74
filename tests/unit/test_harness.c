/* SPDX-License-Identifier: MIT */
/* test.h itself: whatever becomes of a case (it passes, fails, stops at
 * a REQUIRE, is killed or times out), the files it made in its $TMPDIR
 * are gone once it has ended.  The suite ran for months leaving a
 * directory per case in /tmp. */

#include "test.h"

#include <dirent.h>

/* A file in a fresh directory of the case's, the way the tests make
 * theirs. */
static void nested_litter(void)
{
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "site/index.html", "left behind?");
}

static void nested_passes(void)
{
  nested_litter();
}

static void nested_fails(void)
{
  nested_litter();
  CHECK(0);
}

static void nested_requires(void)
{
  nested_litter();
  REQUIRE(0);
}

static void nested_is_killed(void)
{
  nested_litter();
  (void)raise(SIGKILL);
}

static void nested_times_out(void)
{
  nested_litter();
  for (;;)
    (void)pause(); /* until test_run_one's alarm */
}

/* Entries of dir besides . and .. (-1 if it cannot be read). */
static int count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  (void)closedir(d);
  return n;
}

/* Runs the nested cases under test_main (each alone, or sharing a
 * process under ASan) in a child whose $TMPDIR is base; returns
 * test_main's exit status. */
static int run_nested(const char *base, const struct test_case *cases, size_t n,
                      bool alone)
{
  char *argv[] = {"test_harness", NULL};
  pid_t pid;
  int status;

  fflush(NULL);
  pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    /* The nested cases' "FAIL" lines would read as this test's. */
    int null = open("/dev/null", O_WRONLY);

    if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
        setenv("TMPDIR", base, 1) != 0 ||
        setenv("CFW_TEST_TIMEOUT", "1", 1) != 0)
      _exit(3);
    exit(test_main(cases, n, 1, argv, alone));
  }
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static void test_a_passing_case_leaves_no_files(void)
{
  static const struct test_case cases[] = {TEST(nested_passes)};
  char base[4096];

  test_tmpdir(base, sizeof(base));
  CHECK_EQ_INT(run_nested(base, cases, 1, true), 0);
  CHECK_EQ_INT(count_entries(base), 0);
  test_rmtree(base);
}

static void test_failing_and_killed_cases_leave_no_files(void)
{
  static const struct test_case cases[] = {
      TEST(nested_fails), TEST(nested_requires), TEST(nested_is_killed),
      TEST(nested_times_out)};
  char base[4096];

  test_tmpdir(base, sizeof(base));
  CHECK_EQ_INT(run_nested(base, cases, sizeof(cases) / sizeof(cases[0]), true),
               1);
  CHECK_EQ_INT(count_entries(base), 0);
  test_rmtree(base);
}

/* Under ASan the cases share the process (test_run_here), and one that
 * stops at a REQUIRE ends it. */
static void test_cases_sharing_a_process_leave_no_files(void)
{
  static const struct test_case cases[] = {
      TEST(nested_passes), TEST(nested_fails), TEST(nested_requires)};
  char base[4096];

  test_tmpdir(base, sizeof(base));
  CHECK_EQ_INT(run_nested(base, cases, sizeof(cases) / sizeof(cases[0]), false),
               1);
  CHECK_EQ_INT(count_entries(base), 0);
  test_rmtree(base);
}

TEST_MAIN(TEST(test_a_passing_case_leaves_no_files),
          TEST(test_failing_and_killed_cases_leave_no_files),
          TEST(test_cases_sharing_a_process_leave_no_files))
