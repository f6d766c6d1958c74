/* SPDX-License-Identifier: MIT */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATOMICFILE_SUFFIX ".tmp"

static int write_all(int fd, const unsigned char *p, size_t len)
{
  ssize_t n;

  while (len > 0) {
    n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EIO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int fsync_retry(int fd)
{
  while (fsync(fd) < 0) {
    if (errno != EINTR)
      return -errno;
  }
  return 0;
}

struct atomicfile_out {
  int fd;
};

int atomicfile_put(struct atomicfile_out *o, const void *p, size_t n)
{
  return write_all(o->fd, p, n);
}

/* Writes (through fill), syncs and closes the temp file; returns 0 or a
 * negative errno naming the step in *step. */
static int write_temp(int dfd, const char *tmp,
                      int (*fill)(void *arg, struct atomicfile_out *o),
                      void *arg, const char **step)
{
  struct atomicfile_out o;
  int fd;
  int rc;

  *step = "creating";
  /* A stale temp file from a crash, or anything planted under its name,
   * goes first; O_EXCL then refuses a symlink that appears meanwhile. */
  if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
    return -errno;
  fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
  if (fd < 0)
    return -errno;
  *step = "writing";
  rc = fchmod(fd, 0600) < 0 ? -errno : 0;
  o.fd = fd;
  if (rc == 0)
    rc = fill(arg, &o);
  if (rc == 0) {
    *step = "syncing";
    rc = fsync_retry(fd);
  }
  /* Delayed write errors (NFS) surface at close. */
  if (close(fd) < 0 && rc == 0) {
    *step = "closing";
    rc = -errno;
  }
  return rc;
}

static int write_error(struct cfw_err *err, int rc, const char *step,
                       const char *dir, const char *name)
{
  const char *why = strerror(-rc);

  if (rc == -ENOSPC || rc == -EDQUOT)
    why = "no space left on the device (or quota exceeded)";
  else if (rc == -EROFS)
    why = "the file system is read-only";
  return cfw_err_set(err, rc, "%s %s/%s%s: %s; the previous %s is unchanged",
                     step, dir, name, ATOMICFILE_SUFFIX, why, name);
}

struct atomicfile_data {
  const void *p;
  size_t len;
};

static int atomicfile_fill_data(void *arg, struct atomicfile_out *o)
{
  const struct atomicfile_data *d = arg;

  return atomicfile_put(o, d->p, d->len);
}

int atomicfile_write(const char *dir, const char *name, const void *data,
                     size_t len, struct cfw_err *err)
{
  struct atomicfile_data d = {data, len};

  return atomicfile_write_from(dir, name, atomicfile_fill_data, &d, err);
}

int atomicfile_write_from(const char *dir, const char *name,
                          int (*fill)(void *arg, struct atomicfile_out *o),
                          void *arg, struct cfw_err *err)
{
  char tmp[NAME_MAX + 1];
  const char *step = "opening";
  int dfd;
  int rc;
  int n;

  n = snprintf(tmp, sizeof(tmp), "%s%s", name, ATOMICFILE_SUFFIX);
  if (n < 0 || (size_t)n >= sizeof(tmp))
    return cfw_err_set(err, -ENAMETOOLONG, "name too long: %s", name);
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cfw_err_set(err, -errno, "%s: %s", dir, strerror(errno));
  rc = write_temp(dfd, tmp, fill, arg, &step);
  if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0) {
    step = "renaming";
    rc = -errno;
  }
  if (rc < 0) {
    /* Best effort: the temp file is ignored by readers anyway. */
    (void)unlinkat(dfd, tmp, 0);
    (void)close(dfd);
    return write_error(err, rc, step, dir, name);
  }
  /* The rename is durable only once the directory is synced. */
  rc = fsync_retry(dfd);
  (void)close(dfd); /* read-only directory fd: nothing to lose */
  if (rc < 0)
    return cfw_err_set(err, rc, "syncing directory %s: %s", dir, strerror(-rc));
  return 0;
}

static int mkdir_one(char *path, mode_t mode, struct cfw_err *err)
{
  struct stat st;

  if (mkdir(path, mode) == 0)
    return 0;
  if (errno != EEXIST)
    return cfw_err_set(err, -errno, "creating %s: %s", path, strerror(errno));
  if (stat(path, &st) < 0)
    return cfw_err_set(err, -errno, "%s: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return cfw_err_set(err, -ENOTDIR, "%s exists and is not a directory", path);
  return 0;
}

int atomicfile_mkdirs(const char *path, mode_t mode, struct cfw_err *err)
{
  char buf[PATH_MAX];
  size_t len = strlen(path);
  size_t i;
  int rc;

  if (len == 0)
    return cfw_err_set(err, -EINVAL, "empty directory name");
  if (len >= sizeof(buf))
    return cfw_err_set(err, -ENAMETOOLONG, "path too long: %s", path);
  memcpy(buf, path, len + 1);
  for (i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    if (buf[i - 1] == '/')
      continue; /* "a//b" or a trailing slash */
    buf[i] = '\0';
    rc = mkdir_one(buf, mode, err);
    buf[i] = path[i];
    if (rc < 0)
      return rc;
  }
  return 0;
}

int atomicfile_read(const char *path, struct buf *out)
{
  char chunk[4096];
  ssize_t n;
  int fd;
  int rc = 0;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0)
    rc = n < 0 ? (errno == EINTR ? 0 : -errno) : buf_add(out, chunk, (size_t)n);
  (void)close(fd); /* read-only */
  return rc;
}

int atomicfile_lock(const char *dir, const char *name)
{
  struct buf path;
  int fd;

  buf_init(&path, PATH_MAX);
  if (buf_addf(&path, "%s/%s", dir, name) < 0) {
    buf_free(&path);
    return -ENAMETOOLONG;
  }
  fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  buf_free(&path);
  if (fd < 0)
    return -errno;
  if (flock(fd, LOCK_EX) < 0) {
    (void)close(fd); /* never locked */
    return -errno;
  }
  return fd;
}
