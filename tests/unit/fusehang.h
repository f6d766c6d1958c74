/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_FUSEHANG_H
#define CFW_TEST_FUSEHANG_H

/* A file system that hangs, for real: a FUSE mount whose server never
 * answers.  The kernel holds every request (the first one is its INIT)
 * until the server replies, so a lookup, stat or realpath(3) that
 * reaches the mount waits, in the kernel, as on a dead NFS server or a
 * stuck FUSE daemon.  Closing the /dev/fuse fd aborts the connection:
 * every waiting call fails then (ENOTCONN), and the mount can be
 * detached.  No library: the mount(2) takes the fd as an option.
 *
 * In a private mount namespace (mountns.h), as root or where the
 * kernel lets a user namespace mount FUSE. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Mounts a hanging FUSE file system on dir: the server's fd (keep it
 * open while the hang is to last), or -errno (then it says why on
 * stderr, and the case is to skip). */
static inline int fusehang_mount(const char *dir)
{
  char opts[128];
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  int e;

  if (fd < 0) {
    e = errno;
    fprintf(stderr, "skipped: /dev/fuse: %s\n", strerror(e));
    return -e;
  }
  (void)snprintf(opts, sizeof(opts),
                 "fd=%d,rootmode=40000,user_id=%u,group_id=%u", fd,
                 (unsigned)getuid(), (unsigned)getgid());
  if (mount("cfwhang", dir, "fuse", 0, opts) != 0) {
    e = errno;
    (void)close(fd); /* never mounted */
    fprintf(stderr, "skipped: cannot mount FUSE here: %s\n", strerror(e));
    return -e;
  }
  return fd;
}

/* Ends the hang: the calls waiting fail, and the mount is detached.
 * fd < 0 is fine. */
static inline void fusehang_end(int fd, const char *dir)
{
  if (fd < 0)
    return;
  (void)close(fd);                /* aborts the connection */
  (void)umount2(dir, MNT_DETACH); /* gone once nothing uses it */
}

/* How many threads of this process wait on a FUSE request now (their
 * wchan is one of fuse's), so a test knows a call is stuck, not just
 * slow to start. */
static inline int fusehang_stuck(void)
{
  char path[300];
  char wchan[64];
  struct dirent *de;
  DIR *d = opendir("/proc/self/task");
  ssize_t n;
  int fd;
  int stuck = 0;

  if (d == NULL)
    return 0;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    (void)snprintf(path, sizeof(path), "/proc/self/task/%s/wchan", de->d_name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    n = read(fd, wchan, sizeof(wchan) - 1);
    (void)close(fd); /* read-only */
    wchan[n > 0 ? n : 0] = '\0';
    stuck += strncmp(wchan, "fuse", 4) == 0 ||
             strncmp(wchan, "request_wait_answer", 19) == 0;
  }
  (void)closedir(d); /* read-only */
  return stuck;
}

/* Waits up to ms for a thread of this process to be stuck on the mount;
 * whether one is. */
static inline bool fusehang_wait_stuck(unsigned ms)
{
  unsigned i;

  for (i = 0; i < ms && fusehang_stuck() == 0; i += 5)
    (void)usleep(5000);
  return fusehang_stuck() > 0;
}

/* Whether -rc from fusehang_mount means "no FUSE here". */
static inline bool fusehang_refused(int rc)
{
  return rc == -ENOENT || rc == -ENODEV || rc == -EPERM || rc == -EACCES ||
         rc == -EINVAL || rc == -ENXIO;
}

#endif
