/* SPDX-License-Identifier: MIT */
#include "filehash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Feeds fd to ctx up to limit bytes (its size at open), so a file that
 * keeps growing cannot keep a worker busy for ever; returns the byte
 * count or a negative errno.  One more read tells whether the file went
 * on: then the count exceeds what was hashed, which callers see as a
 * size that moved. */
static int64_t hash_fd(int fd, EVP_MD_CTX *ctx, unsigned char *chunk,
                       uint64_t limit)
{
  uint64_t total = 0;
  size_t want;
  ssize_t n;

  for (;;) {
    want = limit - total < FILEHASH_CHUNK ? (size_t)(limit - total)
                                          : FILEHASH_CHUNK;
    n = read(fd, chunk, want > 0 ? want : 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return (int64_t)total;
    if (want == 0)
      return (int64_t)total + n; /* grew since open: not hashed */
    if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
      return -ENOMEM;
    total += (uint64_t)n;
  }
}

static int hash_open_fd(int fd, const EVP_MD *md, uint64_t limit,
                        unsigned char *out, uint64_t *size_out)
{
  EVP_MD_CTX *ctx;
  unsigned char *chunk;
  int64_t n = -ENOMEM;

  ctx = EVP_MD_CTX_new();
  chunk = malloc(FILEHASH_CHUNK);
  if (ctx != NULL && chunk != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1)
    n = hash_fd(fd, ctx, chunk, limit);
  if (n >= 0 && EVP_DigestFinal_ex(ctx, out, NULL) != 1)
    n = -ENOMEM;
  free(chunk);
  EVP_MD_CTX_free(ctx);
  if (n < 0)
    return (int)n;
  if (size_out != NULL)
    *size_out = (uint64_t)n;
  return 0;
}

static int hash_path(int dirfd, const char *path, const EVP_MD *md,
                     unsigned char *out, uint64_t *size_out,
                     struct cfw_err *err)
{
  struct stat st;
  int fd;
  int rc;

  fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    return cfw_err_set(err, rc, "%s: %s", path, strerror(-rc));
  }
  if (fstat(fd, &st) < 0) {
    rc = cfw_err_set(err, -errno, "%s: %s", path, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    rc = cfw_err_set(err, -EINVAL, "%s: not a regular file", path);
  } else {
    rc = hash_open_fd(fd, md, (uint64_t)st.st_size, out, size_out);
    if (rc < 0)
      rc = cfw_err_set(err, rc, "%s: %s", path, strerror(-rc));
  }
  /* Read-only: close cannot lose data. */
  (void)close(fd);
  return rc;
}

int filehash_file(int dirfd, const char *path, unsigned char out[32],
                  uint64_t *size_out, struct cfw_err *err)
{
  return hash_path(dirfd, path, EVP_sha256(), out, size_out, err);
}

int filehash_md5(int dirfd, const char *path, unsigned char out[16],
                 uint64_t *size_out, struct cfw_err *err)
{
  return hash_path(dirfd, path, EVP_md5(), out, size_out, err);
}
