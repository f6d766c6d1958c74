/* SPDX-License-Identifier: MIT */
/* sdnotify: datagrams reach a real AF_UNIX socket bound where
 * $NOTIFY_SOCKET points, as systemd's would, and the watchdog variables
 * are read as sd_watchdog_enabled(3) reads them.  Each case runs in its
 * own process, so setenv() touches no other case. */
#include "sdnotify.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "test.h"

/* A bound datagram socket standing in for the service manager. */
struct manager {
  int fd;
  char dir[256];
  char name[256]; /* what NOTIFY_SOCKET says */
};

static int manager_bind(struct manager *m, const struct sockaddr_un *addr,
                        socklen_t len)
{
  int on = 1;

  m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (m->fd < 0)
    return -1;
  /* systemd asks for the sender's credentials to check NotifyAccess=. */
  if (setsockopt(m->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
    return -1;
  return bind(m->fd, (const struct sockaddr *)addr, len);
}

/* Binds <tmpdir>/notify and points NOTIFY_SOCKET at it. */
static void manager_open_path(struct manager *m)
{
  struct sockaddr_un addr;
  int n;

  test_tmpdir(m->dir, sizeof(m->dir));
  n = snprintf(m->name, sizeof(m->name), "%s/notify", m->dir);
  CHECK(n > 0 && (size_t)n < sizeof(addr.sun_path));
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, m->name, (size_t)n + 1);
  CHECK_EQ_INT(manager_bind(m, &addr, sizeof(addr)), 0);
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", m->name, 1), 0);
}

/* Binds an abstract socket named after our pid (unique among concurrent
 * test processes) and points NOTIFY_SOCKET at "@name". */
static void manager_open_abstract(struct manager *m)
{
  struct sockaddr_un addr;
  socklen_t len;
  int n;

  m->dir[0] = '\0';
  n = snprintf(m->name, sizeof(m->name), "@cfwatch-test-sdnotify-%ld",
               (long)getpid());
  CHECK(n > 0 && (size_t)n < sizeof(addr.sun_path));
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, m->name + 1, (size_t)n - 1);
  len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n);
  CHECK_EQ_INT(manager_bind(m, &addr, len), 0);
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", m->name, 1), 0);
}

/* Receives one queued datagram without waiting (a sent datagram is in
 * the receiver's queue when sendto returns); its sender pid goes to
 * *pid.  Returns its length, or -1 if none is queued. */
static ssize_t manager_recv(const struct manager *m, char *out, size_t n,
                            pid_t *pid)
{
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(struct ucred))];
  } ctl;
  struct iovec iov = {out, n - 1};
  struct msghdr msg;
  struct cmsghdr *c;
  struct ucred cred;
  ssize_t len;

  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof(ctl.buf);
  *pid = 0;
  len = recvmsg(m->fd, &msg, MSG_DONTWAIT);
  if (len < 0)
    return -1;
  out[len] = '\0';
  for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      memcpy(&cred, CMSG_DATA(c), sizeof(cred));
      *pid = cred.pid;
    }
  }
  return len;
}

static void manager_close(struct manager *m)
{
  CHECK_EQ_INT(close(m->fd), 0);
  if (m->dir[0] != '\0')
    test_rmtree(m->dir);
}

static void test_unset_socket_sends_nothing(void)
{
  CHECK_EQ_INT(unsetenv("NOTIFY_SOCKET"), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), 0);
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", "", 1), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), 0);
}

static void test_ready_reaches_path_socket(void)
{
  struct manager m;
  char got[SDNOTIFY_STATE_MAX + 1];
  pid_t pid;

  manager_open_path(&m);
  CHECK_EQ_INT(sdnotify_send("READY=1"), 1);
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), 7);
  CHECK_EQ_STR(got, "READY=1");
  /* NotifyAccess=main accepts it only if it comes from the main pid. */
  CHECK_EQ_INT(pid, getpid());
  manager_close(&m);
}

static void test_status_lines_arrive_as_one_datagram(void)
{
  static const char state[] =
      "READY=1\nSTATUS=watching 2 sites; 3 changes pending";
  struct manager m;
  char got[SDNOTIFY_STATE_MAX + 1];
  pid_t pid;

  manager_open_path(&m);
  CHECK_EQ_INT(sdnotify_send(state), 1);
  CHECK_EQ_INT(sdnotify_send("STATUS=idle"), 1);
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid),
               (ssize_t)strlen(state));
  CHECK_EQ_STR(got, state);
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), 11);
  CHECK_EQ_STR(got, "STATUS=idle");
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), -1);
  manager_close(&m);
}

static void test_abstract_socket_receives(void)
{
  struct manager m;
  char got[SDNOTIFY_STATE_MAX + 1];
  pid_t pid;

  manager_open_abstract(&m);
  CHECK_EQ_INT(sdnotify_send("READY=1"), 1);
  CHECK_EQ_INT(sdnotify_send("STATUS=scanning"), 1);
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), 7);
  CHECK_EQ_STR(got, "READY=1");
  CHECK_EQ_INT(pid, getpid());
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), 15);
  CHECK_EQ_STR(got, "STATUS=scanning");
  manager_close(&m);
}

static void test_largest_state_is_sent_longer_refused(void)
{
  static char state[SDNOTIFY_STATE_MAX + 2];
  struct manager m;
  char got[SDNOTIFY_STATE_MAX + 2];
  pid_t pid;

  manager_open_path(&m);
  CHECK_EQ_INT(snprintf(state, sizeof(state), "STATUS="), 7);
  memset(state + 7, 'x', SDNOTIFY_STATE_MAX - 7);
  CHECK_EQ_INT(sdnotify_send(state), 1);
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), SDNOTIFY_STATE_MAX);
  state[SDNOTIFY_STATE_MAX] = 'x';
  CHECK_EQ_INT(sdnotify_send(state), -EMSGSIZE);
  CHECK_EQ_INT(manager_recv(&m, got, sizeof(got), &pid), -1);
  manager_close(&m);
}

static void test_missing_socket_is_enoent(void)
{
  char dir[256];
  char name[300];

  test_tmpdir(dir, sizeof(dir));
  CHECK(snprintf(name, sizeof(name), "%s/absent", dir) > 0);
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", name, 1), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), -ENOENT);
  test_rmtree(dir);
}

static void test_bad_addresses_are_refused(void)
{
  char name[200];

  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", "run/notify", 1), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), -EAFNOSUPPORT);
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", "vsock:2:1234", 1), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), -EAFNOSUPPORT);
  memset(name, 'a', sizeof(name) - 1);
  name[0] = '/';
  name[sizeof(name) - 1] = '\0';
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", name, 1), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), -ENAMETOOLONG);
  name[0] = '@';
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", name, 1), 0);
  CHECK_EQ_INT(sdnotify_send("READY=1"), -ENAMETOOLONG);
}

static void test_empty_state_is_einval(void)
{
  CHECK_EQ_INT(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1), 0);
  CHECK_EQ_INT(sdnotify_send(NULL), -EINVAL);
  CHECK_EQ_INT(sdnotify_send(""), -EINVAL);
}

static void test_watchdog_unset_is_off(void)
{
  uint64_t us = 7;

  CHECK_EQ_INT(unsetenv("WATCHDOG_USEC"), 0);
  CHECK_EQ_INT(unsetenv("WATCHDOG_PID"), 0);
  CHECK(!sdnotify_watchdog_usec(&us));
  CHECK_EQ_INT(us, 0);
}

static void test_watchdog_usec_read_without_pid(void)
{
  uint64_t us = 0;

  CHECK_EQ_INT(unsetenv("WATCHDOG_PID"), 0);
  CHECK_EQ_INT(setenv("WATCHDOG_USEC", "60000000", 1), 0);
  CHECK(sdnotify_watchdog_usec(&us));
  CHECK_EQ_INT(us, 60000000);
}

static void test_watchdog_for_our_pid_is_on(void)
{
  char pid[32];
  uint64_t us = 0;

  CHECK(snprintf(pid, sizeof(pid), "%ld", (long)getpid()) > 0);
  CHECK_EQ_INT(setenv("WATCHDOG_PID", pid, 1), 0);
  CHECK_EQ_INT(setenv("WATCHDOG_USEC", "30000000", 1), 0);
  CHECK(sdnotify_watchdog_usec(&us));
  CHECK_EQ_INT(us, 30000000);
}

static void test_watchdog_for_another_pid_is_off(void)
{
  char pid[32];
  uint64_t us = 7;

  CHECK(snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1) > 0);
  CHECK_EQ_INT(setenv("WATCHDOG_PID", pid, 1), 0);
  CHECK_EQ_INT(setenv("WATCHDOG_USEC", "30000000", 1), 0);
  CHECK(!sdnotify_watchdog_usec(&us));
  CHECK_EQ_INT(us, 0);
  CHECK_EQ_INT(setenv("WATCHDOG_PID", "garbage", 1), 0);
  CHECK(!sdnotify_watchdog_usec(&us));
}

static void test_watchdog_bad_usec_is_off(void)
{
  static const char *const bad[] = {
      "0", "", "-5", "12s", " 5", "1e6", "99999999999999999999999"};
  uint64_t us = 7;
  size_t i;

  CHECK_EQ_INT(unsetenv("WATCHDOG_PID"), 0);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_EQ_INT(setenv("WATCHDOG_USEC", bad[i], 1), 0);
    if (sdnotify_watchdog_usec(&us))
      TEST_FAIL_("WATCHDOG_USEC=\"%s\" was accepted", bad[i]);
    CHECK_EQ_INT(us, 0);
  }
}

/* Each case alone (test.h): a case sets the environment (NOTIFY_SOCKET,
 * WATCHDOG_*). */
TEST_MAIN_ALONE(TEST(test_unset_socket_sends_nothing),
                TEST(test_ready_reaches_path_socket),
                TEST(test_status_lines_arrive_as_one_datagram),
                TEST(test_abstract_socket_receives),
                TEST(test_largest_state_is_sent_longer_refused),
                TEST(test_missing_socket_is_enoent),
                TEST(test_bad_addresses_are_refused),
                TEST(test_empty_state_is_einval),
                TEST(test_watchdog_unset_is_off),
                TEST(test_watchdog_usec_read_without_pid),
                TEST(test_watchdog_for_our_pid_is_on),
                TEST(test_watchdog_for_another_pid_is_off),
                TEST(test_watchdog_bad_usec_is_off))
