/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_MOUNTNS_H
#define CFW_TEST_MOUNTNS_H

/* For the watch's tests that mount: the case (its own process, test.h)
 * moves to a private mount namespace first, so that nothing it mounts
 * is seen by the host, and nothing the host mounts reaches the case's
 * /proc/self/mountinfo.  Must be called before any thread is started
 * (unshare(2) refuses CLONE_NEWNS in a multithreaded process). */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* 0, or the errno that says mounting is not permitted here (then it
 * says so on stderr, and the case is to skip). */
static inline int test_private_mounts(void)
{
  int e;

  if (unshare(CLONE_NEWNS) == 0 &&
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
    return 0;
  e = errno;
  fprintf(stderr, "skipped: cannot mount here (%s)\n", strerror(e));
  return e;
}

/* Whether e is one of the errnos that mean "not permitted here". */
static inline bool test_mount_refused(int e)
{
  return e == EPERM || e == EACCES || e == EINVAL || e == ENOSYS;
}

/* Writes s to the file at path: 0, or an errno. */
static inline int test_put(const char *path, const char *s)
{
  size_t n = strlen(s);
  ssize_t put;
  int fd;
  int e;

  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  put = write(fd, s, n);
  e = put < 0 ? errno : (size_t)put == n ? 0 : EIO;
  (void)close(fd); /* written already, or failed */
  return e;
}

/* Sets the inotify watch limit of the case's user namespace
 * (test_private_watches): 0, or an errno. */
static inline int test_max_watches(unsigned max_watches)
{
  char n[32];

  (void)snprintf(n, sizeof(n), "%u", max_watches);
  return test_put("/proc/sys/user/max_inotify_watches", n);
}

/* Moves the case to a user namespace of its own, with a private mount
 * namespace in it (as test_private_mounts), where the inotify watches
 * of instances made from now on count against max_watches
 * (/proc/sys/user/max_inotify_watches: per user namespace since Linux
 * 5.11, and each namespace is held to its parents' limits too): a case
 * runs out of watches without touching the host's limit.  Its user and
 * group map to themselves.  0, or the errno that says this is not
 * permitted here (then it says so, and the case is to skip).  Before
 * any thread is started. */
static inline int test_private_watches(unsigned max_watches)
{
  char map[64];
  uid_t uid = getuid();
  gid_t gid = getgid();
  int e;

  e = unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0
          ? test_put("/proc/self/setgroups", "deny")
          : errno;
  (void)snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
  if (e == 0)
    e = test_put("/proc/self/uid_map", map);
  (void)snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
  if (e == 0)
    e = test_put("/proc/self/gid_map", map);
  if (e == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    e = errno;
  if (e == 0)
    e = test_max_watches(max_watches);
  if (e == 0)
    return 0;
  fprintf(stderr, "skipped: no user namespace of its own here (%s)\n",
          strerror(e));
  return e;
}

/* Whether e is one of the errnos that mean "no user namespace here":
 * not permitted, none left (max_user_namespaces), or a kernel without
 * per-namespace inotify limits. */
static inline bool test_userns_refused(int e)
{
  return test_mount_refused(e) || e == ENOSPC || e == EUSERS || e == ENOENT;
}

#endif
