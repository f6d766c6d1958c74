/* SPDX-License-Identifier: MIT */
#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"

/* errno as a negative code, never 0 (which a caller would take as
 * success). */
static int neg_errno(void)
{
  int e = errno;

  return e > 0 ? -e : -EIO;
}

static const char *why(int rc)
{
  if (rc == -ENOSPC || rc == -EDQUOT)
    return "no space left on the device (or quota exceeded)";
  if (rc == -EROFS)
    return "the file system is read-only";
  return strerror(-rc);
}

static int path_of(struct buf *p, const char *dir, const char *name,
                   struct cfw_err *err)
{
  buf_init(p, 8192);
  if (buf_addf(p, "%s/%s", dir, name) == 0)
    return 0;
  buf_free(p);
  return cfw_err_set(err, -ENAMETOOLONG, "state dir too long: %s", dir);
}

static int read_fd(int fd, unsigned char *p, size_t want, size_t *got)
{
  ssize_t n;

  *got = 0;
  while (*got < want) {
    n = read(fd, p + *got, want - *got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return neg_errno();
    if (n == 0)
      break;
    *got += (size_t)n;
  }
  return 0;
}

/* A read-only fd on file, a regular file of at most max bytes (its
 * size in *size), or a negative errno: -EBADMSG if it is not regular
 * (damaged state, as a corrupt file is), -EFBIG if too big. */
static int open_regular(const char *file, uint64_t max, size_t *size)
{
  struct stat st;
  int fd;
  int rc = 0;

  fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return neg_errno();
  if (fstat(fd, &st) < 0)
    rc = neg_errno();
  else if (!S_ISREG(st.st_mode))
    rc = -EBADMSG;
  else if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX - 1)
    rc = -EFBIG;
  if (rc < 0) {
    (void)close(fd); /* read-only: close cannot lose data */
    return rc;
  }
  *size = (size_t)st.st_size;
  return fd;
}

/* The whole file, or NULL with a negative errno in *code. */
static unsigned char *read_whole(const char *file, uint64_t max, size_t *len,
                                 int *code)
{
  unsigned char *p = NULL;
  size_t size = 0;
  int fd;
  int rc;

  fd = open_regular(file, max, &size);
  if (fd < 0) {
    *code = fd;
    return NULL;
  }
  if ((p = calloc(size + 1, 1)) == NULL)
    rc = -ENOMEM;
  else
    rc = read_fd(fd, p, size, len);
  (void)close(fd); /* read-only: close cannot lose data */
  if (rc < 0) {
    free(p);
    *code = rc;
    return NULL;
  }
  return p;
}

/* statefile_read's message for a file that cannot be read. */
static int read_failed(const char *file, const char *dir, const char *name,
                       int rc, struct cfw_err *err)
{
  if (rc == -ENOENT)
    return cfw_err_set(err, rc, "no %s in %s (first run)", name, dir);
  return cfw_err_set(err, rc, "%s: %s", file,
                     rc == -EBADMSG ? "not a regular file" : strerror(-rc));
}

int statefile_read(const char *dir, const char *name, uint64_t max,
                   unsigned char **out, size_t *len, struct cfw_err *err)
{
  struct buf p;
  int rc = 0;

  *out = NULL;
  *len = 0;
  rc = path_of(&p, dir, name, err);
  if (rc < 0)
    return rc;
  *out = read_whole(buf_str(&p), max, len, &rc);
  if (*out == NULL)
    (void)read_failed(buf_str(&p), dir, name, rc, err);
  buf_free(&p);
  return *out == NULL ? rc : 0;
}

int statefile_open_read(const char *dir, const char *name, uint64_t max,
                        size_t *size, struct cfw_err *err)
{
  struct buf p;
  int fd;

  *size = 0;
  fd = path_of(&p, dir, name, err);
  if (fd < 0)
    return fd;
  fd = open_regular(buf_str(&p), max, size);
  if (fd < 0)
    (void)read_failed(buf_str(&p), dir, name, fd, err);
  buf_free(&p);
  return fd;
}

int statefile_read_head(const char *dir, const char *name, uint64_t max,
                        unsigned char *p, size_t n, size_t *got,
                        struct cfw_err *err)
{
  size_t size;
  int fd;
  int rc;

  *got = 0;
  fd = statefile_open_read(dir, name, max, &size, err);
  if (fd < 0)
    return fd;
  rc = read_fd(fd, p, n < size ? n : size, got);
  (void)close(fd); /* read-only: close cannot lose data */
  if (rc < 0)
    (void)cfw_err_set(err, rc, "%s/%s: %s", dir, name, strerror(-rc));
  return rc;
}

int statefile_read_some(int fd, void *p, size_t n, size_t *got)
{
  ssize_t r;

  do
    r = read(fd, p, n);
  while (r < 0 && errno == EINTR);
  *got = r > 0 ? (size_t)r : 0;
  return r < 0 ? neg_errno() : 0;
}

int statefile_open_append(const char *dir, const char *name, int *created,
                          struct cfw_err *err)
{
  struct buf p;
  int fd;
  int rc;

  *created = 0;
  rc = path_of(&p, dir, name, err);
  if (rc < 0)
    return rc;
  fd = open(buf_str(&p), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = open(buf_str(&p),
              O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0600);
    *created = fd >= 0;
  }
  if (fd < 0) {
    rc = neg_errno();
    (void)cfw_err_set(err, rc, "opening %s: %s", buf_str(&p), why(rc));
  }
  buf_free(&p);
  return fd < 0 ? rc : fd;
}

static int statefile_unlink(const char *dir, const char *name)
{
  struct buf p;
  int rc = 0;

  if (path_of(&p, dir, name, NULL) < 0)
    return -ENAMETOOLONG;
  if (unlink(buf_str(&p)) < 0)
    rc = neg_errno();
  buf_free(&p);
  return rc;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
  ssize_t n;

  while (len > 0) {
    n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return neg_errno();
    if (n == 0)
      return -EIO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int sync_dir(const char *dir)
{
  int fd;
  int rc = 0;

  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return neg_errno();
  if (fsync(fd) < 0)
    rc = neg_errno();
  (void)close(fd); /* read-only directory fd: nothing to lose */
  return rc;
}

void statefile_stream_begin(struct statefile_stream *st, int fd,
                            const char *dir, const char *name, uint64_t at,
                            int created)
{
  st->fd = fd;
  st->dir = dir;
  st->name = name;
  st->at = at;
  st->created = created;
  st->written = 0;
}

int statefile_stream_write(struct statefile_stream *st, const void *p, size_t n)
{
  int rc = write_all(st->fd, p, n);

  if (rc == 0)
    st->written += n;
  return rc;
}

int statefile_stream_end(struct statefile_stream *st, int rc,
                         struct cfw_err *err)
{
  const char *step = "appending to";

  if (rc == 0) {
    step = "syncing";
    rc = fdatasync(st->fd) < 0 ? neg_errno() : 0;
  }
  if (rc == 0 && st->created)
    rc = sync_dir(st->dir);
  if (rc == 0)
    return 0;
  /* Best effort: a record cut short is dropped at the next load anyway,
   * but cutting it here keeps the next append from following it; a
   * file this append created goes. */
  if (ftruncate(st->fd, (off_t)st->at) == 0)
    (void)fdatasync(st->fd);
  if (st->created && st->at == 0)
    (void)statefile_unlink(st->dir, st->name);
  return cfw_err_set(err, rc, "%s %s/%s: %s; nothing was recorded", step,
                     st->dir, st->name, why(rc));
}

int statefile_append(int fd, const char *dir, const char *name, uint64_t at,
                     const struct iovec *iov, size_t n, int created,
                     struct cfw_err *err)
{
  struct statefile_stream st;
  size_t i;
  int rc = 0;

  statefile_stream_begin(&st, fd, dir, name, at, created);
  for (i = 0; i < n && rc == 0; i++)
    rc = statefile_stream_write(&st, iov[i].iov_base, iov[i].iov_len);
  return statefile_stream_end(&st, rc, err);
}

int statefile_truncate(const char *dir, const char *name, uint64_t len,
                       struct cfw_err *err)
{
  struct buf p;
  int fd;
  int rc;

  rc = path_of(&p, dir, name, err);
  if (rc < 0)
    return rc;
  fd = open(buf_str(&p), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || ftruncate(fd, (off_t)len) < 0 || fdatasync(fd) < 0) {
    rc = neg_errno();
    (void)cfw_err_set(err, rc, "cutting the torn end off %s: %s", buf_str(&p),
                      why(rc));
  }
  if (fd >= 0)
    (void)close(fd); /* synced above, or failing already */
  buf_free(&p);
  return rc;
}

int statefile_rename(const char *dir, const char *from, const char *to,
                     struct cfw_err *err)
{
  struct buf a;
  struct buf b;
  int rc;

  rc = path_of(&a, dir, from, err);
  if (rc < 0)
    return rc;
  rc = path_of(&b, dir, to, err);
  if (rc == 0 && rename(buf_str(&a), buf_str(&b)) < 0) {
    rc = neg_errno();
    (void)cfw_err_set(err, rc, "renaming %s: %s", buf_str(&a), why(rc));
  } else if (rc == 0 && (rc = sync_dir(dir)) < 0) {
    (void)cfw_err_set(err, rc, "syncing %s: %s", dir, why(rc));
  }
  buf_free(&a);
  buf_free(&b);
  return rc;
}

int statefile_remove(const char *dir, const char *name, struct cfw_err *err)
{
  struct buf p;
  int rc;

  rc = path_of(&p, dir, name, err);
  if (rc < 0)
    return rc;
  if (unlink(buf_str(&p)) < 0 && errno != ENOENT) {
    rc = neg_errno();
    (void)cfw_err_set(err, rc, "removing %s: %s", buf_str(&p), why(rc));
  } else if ((rc = sync_dir(dir)) < 0)
    rc = cfw_err_set(err, rc, "syncing %s: %s", dir, why(rc));
  buf_free(&p);
  return rc;
}
