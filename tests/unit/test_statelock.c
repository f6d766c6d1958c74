/* SPDX-License-Identifier: MIT */
#include "statelock.h"

#include "test.h"

#include <sys/file.h>

static void state_path(char *out, size_t n, const char *dir)
{
  if (snprintf(out, n, "%s/state", dir) >= (int)n)
    exit(2);
}

static void test_renew_keeps_a_lock_in_place(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char state[300];
  int fd;
  int before;

  test_tmpdir(dir, sizeof(dir));
  state_path(state, sizeof(state), dir);
  fd = statelock_acquire(state, &err);
  CHECK(fd >= 0);
  before = fd;
  CHECK_EQ_INT(statelock_renew(&fd, state, &err), 0);
  CHECK_EQ_INT(fd, before);
  statelock_release(fd);
  test_rmtree(dir);
}

static void test_renew_after_state_dir_removed_takes_a_new_lock(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char state[300];
  char pid[32];
  struct stat st;
  int fd;

  test_tmpdir(dir, sizeof(dir));
  state_path(state, sizeof(state), dir);
  fd = statelock_acquire(state, &err);
  CHECK(fd >= 0);
  test_rmtree(state);
  CHECK_EQ_INT(statelock_holder(state, pid, sizeof(pid)), 0);
  CHECK_EQ_INT(statelock_renew(&fd, state, &err), 1);
  CHECK(fd >= 0);
  CHECK_EQ_INT(stat(state, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0700);
  /* The new lock file is held, and by this process. */
  CHECK_EQ_INT(statelock_holder(state, pid, sizeof(pid)), 1);
  CHECK_EQ_INT(strtol(pid, NULL, 10), getpid());
  CHECK_EQ_INT(statelock_renew(&fd, state, &err), 0);
  statelock_release(fd);
  test_rmtree(dir);
}

static void test_renew_after_lock_file_replaced_takes_a_new_lock(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char state[300];
  char lock[320];
  int fd;

  test_tmpdir(dir, sizeof(dir));
  state_path(state, sizeof(state), dir);
  fd = statelock_acquire(state, &err);
  CHECK(fd >= 0);
  if (snprintf(lock, sizeof(lock), "%s/lock", state) >= (int)sizeof(lock))
    exit(2);
  CHECK_EQ_INT(unlink(lock), 0);
  test_write(state, "lock", "");
  CHECK_EQ_INT(statelock_renew(&fd, state, &err), 1);
  CHECK_EQ_INT(statelock_renew(&fd, state, &err), 0);
  statelock_release(fd);
  test_rmtree(dir);
}

static void test_renew_refuses_when_another_took_the_new_lock(void)
{
  struct cfw_err err = {0};
  char dir[256];
  char state[300];
  int fd;
  int other;
  int before;

  test_tmpdir(dir, sizeof(dir));
  state_path(state, sizeof(state), dir);
  fd = statelock_acquire(state, &err);
  CHECK(fd >= 0);
  before = fd;
  test_rmtree(state);
  /* Another cfwatch finds no lock and takes the new one. */
  other = statelock_acquire(state, &err);
  CHECK(other >= 0);
  CHECK_EQ_INT(statelock_renew(&fd, state, &err), -EWOULDBLOCK);
  CHECK_CONTAINS(err.msg, "another cfwatch");
  CHECK_EQ_INT(fd, before);
  statelock_release(other);
  statelock_release(fd);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_renew_keeps_a_lock_in_place),
          TEST(test_renew_after_state_dir_removed_takes_a_new_lock),
          TEST(test_renew_after_lock_file_replaced_takes_a_new_lock),
          TEST(test_renew_refuses_when_another_took_the_new_lock))
