/* SPDX-License-Identifier: MIT */
#include "cfgfile.h"
#include "err.h"
#include "test.h"

#include <limits.h>

/* Reads text back through cfgfile_read from a fresh file. */
static int read_text(const char *text, size_t max, char *dir, char **data,
                     size_t *len, struct cfw_err *err)
{
  char path[PATH_MAX];

  test_tmpdir(dir, PATH_MAX);
  test_write(dir, "f", text);
  CHECK(snprintf(path, sizeof(path), "%s/f", dir) < (int)sizeof(path));
  return cfgfile_read(path, max, true, data, len, err);
}

static void test_regular_file_is_read_whole_and_terminated(void)
{
  char dir[PATH_MAX];
  char *data;
  size_t len;
  struct cfw_err err;

  CHECK_EQ_INT(read_text("[a]\nk = v\n", 100, dir, &data, &len, &err), 0);
  CHECK_EQ_INT(len, 10);
  CHECK_EQ_STR(data, "[a]\nk = v\n");
  cfgfile_free(data, len);
  test_rmtree(dir);
}

static void test_size_limit_is_exact(void)
{
  char dir[PATH_MAX];
  char *data;
  size_t len;
  struct cfw_err err;

  CHECK_EQ_INT(read_text("0123456789", 10, dir, &data, &len, &err), 0);
  cfgfile_free(data, len);
  test_rmtree(dir);
  CHECK_EQ_INT(read_text("0123456789", 9, dir, &data, &len, &err), -EFBIG);
  CHECK(data == NULL);
  CHECK_CONTAINS(err.msg, "/f: larger than 9 bytes");
  test_rmtree(dir);
}

static void test_missing_file_and_directory(void)
{
  char dir[PATH_MAX];
  char *data;
  size_t len;
  struct cfw_err err;

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(cfgfile_read("/nonexistent/x", 10, true, &data, &len, &err),
               -ENOENT);
  CHECK(data == NULL);
  CHECK_EQ_STR(err.msg, "/nonexistent/x: No such file or directory");
  CHECK_EQ_INT(cfgfile_read(dir, 10, true, &data, &len, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, ": not a regular file");
  CHECK_EQ_INT(cfgfile_read(dir, 10, false, &data, &len, &err), -EISDIR);
  test_rmtree(dir);
}

/* A pipe has no size: it is read to its end, over several chunks. */
static void test_pipe_is_read_to_its_end(void)
{
  char path[64];
  char *data = NULL;
  size_t len = 0;
  struct cfw_err err;
  char chunk[1000];
  int fds[2];
  pid_t pid;
  int i;
  int status;

  CHECK_EQ_INT(pipe(fds), 0);
  pid = fork();
  if (pid == 0) {
    memset(chunk, 'p', sizeof(chunk));
    for (i = 0; i < 10; i++)
      if (write(fds[1], chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
        _exit(1);
    _exit(0);
  }
  CHECK_EQ_INT(close(fds[1]), 0);
  CHECK(snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]) <
        (int)sizeof(path));
  CHECK_EQ_INT(cfgfile_read(path, 20000, false, &data, &len, &err), 0);
  CHECK_EQ_INT(len, 10000);
  CHECK(data != NULL && data[9999] == 'p' && data[10000] == '\0');
  cfgfile_free(data, len);
  CHECK_EQ_INT(close(fds[0]), 0);
  CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
  CHECK_EQ_INT(status, 0);
}

/* The lines of text, each followed by "|", as the iterator gives them. */
static void check_lines(const char *text, enum cfgfile_eol eol,
                        const char *want)
{
  struct cfgfile_lines it;
  struct cfw_err err;
  char *copy = strdup(text);
  char got[256] = "";
  size_t off;
  size_t n;

  CHECK(copy != NULL);
  cfgfile_lines_init(&it, copy, strlen(copy), eol, 0, false);
  while (cfgfile_next_line(&it, &off, &n, &err) > 0)
    CHECK(snprintf(got + strlen(got), sizeof(got) - strlen(got), "%.*s|",
                   (int)n, copy + off) > 0);
  CHECK_EQ_STR(got, want);
  free(copy);
}

static void test_lines_end_at_lf_or_also_at_cr(void)
{
  check_lines("a\nb\r\nc\rd", CFGFILE_EOL_LF, "a|b\r|c\rd|");
  check_lines("a\nb\r\nc\rd", CFGFILE_EOL_UNIVERSAL, "a|b|c|d|");
  check_lines("a\n\n", CFGFILE_EOL_LF, "a||");
  check_lines("a\r\r\n\n", CFGFILE_EOL_UNIVERSAL, "a|||");
  check_lines("", CFGFILE_EOL_UNIVERSAL, "");
  check_lines("\r", CFGFILE_EOL_UNIVERSAL, "|");
}

static void test_nul_and_long_lines_are_errors_when_asked(void)
{
  static const char text[] = "ok\nab\0c\n0123456789\n";
  struct cfgfile_lines it;
  struct cfw_err err;
  size_t off;
  size_t n;

  cfgfile_lines_init(&it, text, sizeof(text) - 1, CFGFILE_EOL_LF, 9, false);
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), 1);
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), -EINVAL);
  CHECK_EQ_INT(it.lineno, 2);
  CHECK_EQ_STR(err.msg, "NUL byte at column 3");
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), -EINVAL);
  CHECK_EQ_INT(it.lineno, 3);
  CHECK_EQ_STR(err.msg, "line longer than 9 bytes");
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), 0);
  /* Allowed: the NUL is a character of the line. */
  cfgfile_lines_init(&it, text, sizeof(text) - 1, CFGFILE_EOL_LF, 0, true);
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), 1);
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), 1);
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_INT(cfgfile_next_line(&it, &off, &n, &err), 1);
  CHECK_EQ_INT(n, 10);
}

TEST_MAIN(TEST(test_regular_file_is_read_whole_and_terminated),
          TEST(test_size_limit_is_exact), TEST(test_missing_file_and_directory),
          TEST(test_pipe_is_read_to_its_end),
          TEST(test_lines_end_at_lf_or_also_at_cr),
          TEST(test_nul_and_long_lines_are_errors_when_asked))
