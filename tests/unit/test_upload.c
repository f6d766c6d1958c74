/* SPDX-License-Identifier: MIT */
#include "upload.h"

#include <limits.h>
#include <poll.h>
#include <sys/syscall.h>

#include "err.h"
#include "test.h"

/* Each case gets DIR/root (the command's cwd), DIR/state and DIR/out
 * (what the script reports), and DIR/s.sh, the script upload_cmd runs. */
struct env {
  char dir[PATH_MAX];
  char root[PATH_MAX];
  char state[PATH_MAX];
  char out[PATH_MAX];
  char cmd[PATH_MAX + 32];
};

struct run {
  int calls;
  int status;
  struct cfw_err err;
};

/* Ends the case if snprintf truncated, which would void the test. */
static void fmt_check(int r, size_t n)
{
  if (r < 0 || (size_t)r >= n)
    exit(2);
}

#define FMT(out, n, ...) fmt_check(snprintf(out, n, __VA_ARGS__), n)

static void env_make(struct env *e, const char *script)
{
  test_tmpdir(e->dir, sizeof(e->dir));
  test_write(e->dir, "s.sh", script);
  test_write(e->dir, "root/.keep", "");
  test_write(e->dir, "state/.keep", "");
  test_write(e->dir, "out/.keep", "");
  FMT(e->root, sizeof(e->root), "%s/root", e->dir);
  FMT(e->state, sizeof(e->state), "%s/state", e->dir);
  FMT(e->out, sizeof(e->out), "%s/out", e->dir);
  FMT(e->cmd, sizeof(e->cmd), "OUT='%s' sh '%s/s.sh'", e->out, e->dir);
}

/* The contents of DIR/out/name, or "(missing)". */
static const char *env_read(const struct env *e, const char *name)
{
  static char text[8192];
  char path[PATH_MAX + 64];
  ssize_t n;
  int fd;

  FMT(path, sizeof(path), "%s/%s", e->out, name);
  fd = open(path, O_RDONLY);
  if (fd < 0)
    return "(missing)";
  n = read(fd, text, sizeof(text) - 1);
  CHECK(n >= 0);
  text[n < 0 ? 0 : n] = '\0';
  CHECK_EQ_INT(close(fd), 0);
  return text;
}

static void on_done(struct upload *u, int status, const struct cfw_err *err,
                    void *arg)
{
  struct run *r = arg;

  CHECK(u != NULL);
  CHECK(err != NULL);
  r->calls++;
  r->status = status;
  r->err = *err;
}

static void on_cancel_timer(uv_timer_t *t)
{
  upload_cancel(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

/* Runs upload_cmd = e->cmd over paths on a fresh loop; cancels it after
 * cancel_ms if that is not 0.  The loop must close cleanly. */
static void run_upload(const struct env *e, const char *const *paths, size_t n,
                       uint64_t timeout_ms, uint64_t cancel_ms, struct run *r)
{
  uv_loop_t loop;
  uv_timer_t timer;
  struct upload *u;
  struct upload_opts o = {e->cmd, e->root,    e->state, paths,
                          n,      timeout_ms, NULL};
  struct cfw_err err;

  memset(r, 0, sizeof(*r));
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(upload_start(&u, &loop, &o, on_done, r, &err), 0);
  CHECK_EQ_INT(r->calls, 0); /* never from upload_start */
  if (cancel_ms > 0) {
    CHECK_EQ_INT(uv_timer_init(&loop, &timer), 0);
    timer.data = u;
    CHECK_EQ_INT(uv_timer_start(&timer, on_cancel_timer, cancel_ms, 0), 0);
  }
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  CHECK_EQ_INT(r->calls, 1);
}

static const char *const three[] = {"a.html", "dir/b c.css", "gone.js"};

static void test_command_sees_list_root_and_cwd(void)
{
  struct env e;
  struct run r;
  struct stat st;
  char path[PATH_MAX + 32];
  char real[PATH_MAX];

  env_make(&e, "cp \"$CFWATCH_CHANGED_FILES\" \"$OUT/list\"\n"
               "printf %s \"$CFWATCH_ROOT\" >\"$OUT/root\"\n"
               "pwd -P | tr -d '\\n' >\"$OUT/pwd\"\n"
               "printf %s \"$CFWATCH_CHANGED_FILES\" >\"$OUT/var\"\n");
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_STR(r.err.msg, "");
  CHECK_EQ_STR(env_read(&e, "list"), "a.html\ndir/b c.css\ngone.js\n");
  CHECK_EQ_STR(env_read(&e, "root"), e.root);
  CHECK(realpath(e.root, real) != NULL);
  CHECK_EQ_STR(env_read(&e, "pwd"), real);
  FMT(path, sizeof(path), "%s/%s", e.state, UPLOAD_LIST_NAME);
  CHECK_EQ_STR(env_read(&e, "var"), path);
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0600);
  test_rmtree(e.dir);
}

static void test_inherited_cfwatch_vars_are_replaced(void)
{
  struct env e;
  struct run r;
  char want[PATH_MAX + 8];

  CHECK_EQ_INT(setenv(UPLOAD_ENV_ROOT, "/elsewhere", 1), 0);
  CHECK_EQ_INT(setenv("CFW_TEST_KEPT", "kept", 1), 0);
  env_make(&e, "env | grep -c '^CFWATCH_ROOT=' >\"$OUT/n\"\n"
               "printf %s \"$CFWATCH_ROOT $CFW_TEST_KEPT\" >\"$OUT/v\"\n");
  run_upload(&e, three, 1, 0, 0, &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_STR(env_read(&e, "n"), "1\n");
  FMT(want, sizeof(want), "%s kept", e.root);
  CHECK_EQ_STR(env_read(&e, "v"), want);
  test_rmtree(e.dir);
}

static void test_stdout_never_reaches_ours(void)
{
  struct env e;
  struct run r;
  char path[PATH_MAX + 32];
  struct stat st;
  int saved = dup(1);
  int fd;

  env_make(&e, "echo upload: ./a.html to s3://bucket/a.html\n");
  FMT(path, sizeof(path), "%s/stdout", e.out);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(saved >= 0 && fd >= 0);
  CHECK_EQ_INT(dup2(fd, 1), 1);
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(dup2(saved, 1), 1);
  CHECK_EQ_INT(close(fd), 0);
  CHECK_EQ_INT(close(saved), 0);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_size, 0);
  test_rmtree(e.dir);
}

static void test_exit_1_reports_last_stderr_lines(void)
{
  struct env e;
  struct run r;

  env_make(&e, "i=1\nwhile [ $i -le 30 ]; do echo \"line $i\" >&2; "
               "i=$((i + 1)); done\nexit 1\n");
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_EQ_INT(r.err.code, -EIO);
  CHECK_CONTAINS(r.err.msg, "upload_cmd exited 1: line 11 | line 12 | ");
  CHECK_CONTAINS(r.err.msg, " | line 29 | line 30");
  CHECK(strstr(r.err.msg, "line 10 ") == NULL);
  CHECK_EQ_INT(r.err.msg[strlen(r.err.msg) - 1], '0');
  test_rmtree(e.dir);
}

static void test_long_stderr_keeps_the_newest_bytes(void)
{
  struct env e;
  struct run r;
  size_t len;

  /* 30 lines of 100 bytes: 20 of them fill far more than a message. */
  env_make(&e, "i=10\nwhile [ $i -lt 40 ]; do printf 'line %d %090d\\n' "
               "$i 0 >&2; i=$((i + 1)); done\nexit 3\n");
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_CONTAINS(r.err.msg, "upload_cmd exited 3: ...");
  len = strlen(r.err.msg);
  CHECK_EQ_INT(len, sizeof(r.err.msg) - 1);
  CHECK(len > 5 && strcmp(r.err.msg + len - 5, "00000") == 0);
  CHECK_CONTAINS(r.err.msg, " | line 39 ");
  test_rmtree(e.dir);
}

static void test_stderr_over_the_cap_keeps_whole_lines(void)
{
  struct env e;
  struct run r;

  env_make(&e, "head -c 5000 /dev/zero | tr '\\0' x >&2\n"
               "printf '\\nthe \\001end\\n' >&2\nexit 3\n");
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_EQ_STR(r.err.msg, "upload_cmd exited 3: the ?end");
  test_rmtree(e.dir);
}

static void test_exit_without_stderr_says_only_the_status(void)
{
  struct env e;
  struct run r;

  env_make(&e, "exit 7\n");
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_EQ_STR(r.err.msg, "upload_cmd exited 7");
  test_rmtree(e.dir);
}

static void test_killed_by_signal(void)
{
  struct env e;
  struct run r;

  env_make(&e, "echo dying >&2\nkill -TERM $$\n");
  FMT(e.cmd, sizeof(e.cmd), "exec sh '%s/s.sh'", e.dir);
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_EQ_STR(r.err.msg, "upload_cmd killed by signal 15: dying");
  test_rmtree(e.dir);
}

/* Waits for pid to end, as a pidfd turns readable when it does; true
 * if it ended within timeout_ms. */
static int wait_gone(pid_t pid, int timeout_ms)
{
  struct pollfd p;
  long fd = syscall(SYS_pidfd_open, pid, 0);
  int n;

  if (fd < 0)
    return errno == ESRCH; /* already reaped */
  p.fd = (int)fd;
  p.events = POLLIN;
  n = poll(&p, 1, timeout_ms);
  CHECK_EQ_INT(close((int)fd), 0);
  return n == 1;
}

static void test_timeout_kills_the_process_group(void)
{
  struct env e;
  struct run r;
  uint64_t t0 = uv_hrtime();
  long pid;

  /* The background sleep is a grandchild: only a group kill ends it. */
  env_make(&e, "sleep 30 &\necho $! >\"$OUT/pid\"\necho waiting >&2\nwait\n");
  run_upload(&e, three, 3, 1000, 0, &r);
  CHECK_EQ_INT(r.status, -ETIMEDOUT);
  CHECK_EQ_STR(r.err.msg, "upload_cmd timed out after 1 s: waiting");
  CHECK((uv_hrtime() - t0) / 1000000 < 5000);
  pid = strtol(env_read(&e, "pid"), NULL, 10);
  CHECK(pid > 1);
  if (pid > 1)
    CHECK(wait_gone((pid_t)pid, 5000));
  test_rmtree(e.dir);
}

static void test_timeout_under_a_second_says_ms(void)
{
  struct env e;
  struct run r;

  env_make(&e, "sleep 30\n");
  run_upload(&e, three, 3, 200, 0, &r);
  CHECK_EQ_INT(r.status, -ETIMEDOUT);
  CHECK_EQ_STR(r.err.msg, "upload_cmd timed out after 200 ms");
  test_rmtree(e.dir);
}

static void test_cancel_kills_the_command(void)
{
  struct env e;
  struct run r;
  uint64_t t0 = uv_hrtime();

  env_make(&e, "sleep 30\n");
  run_upload(&e, three, 3, 0, 300, &r);
  CHECK_EQ_INT(r.status, -ECANCELED);
  CHECK_EQ_STR(r.err.msg, "upload_cmd cancelled");
  CHECK((uv_hrtime() - t0) / 1000000 < 5000);
  test_rmtree(e.dir);
}

static void test_cancel_before_the_list_is_written_runs_nothing(void)
{
  struct env e;
  struct run r;
  uv_loop_t loop;
  struct upload *u;
  struct upload_opts o = {NULL, NULL, NULL, three, 3, 0, NULL};
  struct cfw_err err;

  env_make(&e, "touch \"$OUT/ran\"\n");
  o.cmd = e.cmd;
  o.root = e.root;
  o.state_dir = e.state;
  memset(&r, 0, sizeof(r));
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(upload_start(&u, &loop, &o, on_done, &r, &err), 0);
  upload_cancel(u);
  upload_cancel(u);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.status, -ECANCELED);
  CHECK_EQ_STR(env_read(&e, "ran"), "(missing)");
  upload_cancel(NULL);
  test_rmtree(e.dir);
}

static void test_missing_root_is_reported(void)
{
  struct env e;
  struct run r;

  env_make(&e, "exit 0\n");
  CHECK(strlen(e.root) + 5 < sizeof(e.root));
  memcpy(e.root + strlen(e.root), "/gone", 6);
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -ENOENT);
  CHECK_CONTAINS(r.err.msg, "upload_cmd in ");
  CHECK_CONTAINS(r.err.msg, "/root/gone: cannot run sh: ");
  test_rmtree(e.dir);
}

static void test_missing_state_dir_is_reported(void)
{
  struct env e;
  struct run r;

  env_make(&e, "touch \"$OUT/ran\"\n");
  CHECK(strlen(e.state) + 5 < sizeof(e.state));
  memcpy(e.state + strlen(e.state), "/gone", 6);
  run_upload(&e, three, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, -ENOENT);
  CHECK_CONTAINS(r.err.msg, "upload_cmd: list in ");
  CHECK_EQ_STR(env_read(&e, "ran"), "(missing)");
  test_rmtree(e.dir);
}

static void test_name_with_newline_is_left_out(void)
{
  static const char *const paths[] = {"a", "b\nc", "d"};
  struct env e;
  struct run r;

  env_make(&e, "cp \"$CFWATCH_CHANGED_FILES\" \"$OUT/list\"\n");
  run_upload(&e, paths, 3, 0, 0, &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_STR(env_read(&e, "list"), "a\nd\n");
  test_rmtree(e.dir);
}

static void test_empty_batch_gives_empty_list(void)
{
  struct env e;
  struct run r;

  env_make(&e, "cp \"$CFWATCH_CHANGED_FILES\" \"$OUT/list\"\n");
  run_upload(&e, NULL, 0, 0, 0, &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_STR(env_read(&e, "list"), "");
  test_rmtree(e.dir);
}

static void test_empty_command_is_refused_without_callback(void)
{
  uv_loop_t loop;
  struct upload *u = (struct upload *)&loop;
  struct upload_opts o = {"", "/", "/tmp", NULL, 0, 0, NULL};
  struct cfw_err err;
  struct run r;

  memset(&r, 0, sizeof(r));
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(upload_start(&u, &loop, &o, on_done, &r, &err), -EINVAL);
  CHECK(u == NULL);
  CHECK_EQ_STR(err.msg, "upload_cmd is empty");
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  CHECK_EQ_INT(r.calls, 0);
}

/* Each case alone (test.h): a case sets the environment. */
TEST_MAIN_ALONE(TEST(test_command_sees_list_root_and_cwd),
                TEST(test_inherited_cfwatch_vars_are_replaced),
                TEST(test_stdout_never_reaches_ours),
                TEST(test_exit_1_reports_last_stderr_lines),
                TEST(test_long_stderr_keeps_the_newest_bytes),
                TEST(test_stderr_over_the_cap_keeps_whole_lines),
                TEST(test_exit_without_stderr_says_only_the_status),
                TEST(test_killed_by_signal),
                TEST(test_timeout_kills_the_process_group),
                TEST(test_timeout_under_a_second_says_ms),
                TEST(test_cancel_kills_the_command),
                TEST(test_cancel_before_the_list_is_written_runs_nothing),
                TEST(test_missing_root_is_reported),
                TEST(test_missing_state_dir_is_reported),
                TEST(test_name_with_newline_is_left_out),
                TEST(test_empty_batch_gives_empty_list),
                TEST(test_empty_command_is_refused_without_callback))
