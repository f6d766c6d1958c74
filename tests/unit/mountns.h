/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_MOUNTNS_H
#define CFW_TEST_MOUNTNS_H

/* For the watch's tests that mount: the case (its own process, test.h)
 * moves to a private mount namespace first, so that nothing it mounts
 * is seen by the host, and nothing the host mounts reaches the case's
 * /proc/self/mountinfo.  Must be called before any thread is started
 * (unshare(2) refuses CLONE_NEWNS in a multithreaded process). */

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

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

#endif
