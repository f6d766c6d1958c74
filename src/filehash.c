#include "filehash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Feeds all of fd to ctx; returns the byte count or a negative errno. */
static int64_t hash_fd(int fd, EVP_MD_CTX *ctx, unsigned char *chunk)
{
  int64_t total = 0;
  ssize_t n;

  for (;;) {
    n = read(fd, chunk, FILEHASH_CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return total;
    if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
      return -ENOMEM;
    total += n;
  }
}

static int hash_open_fd(int fd, unsigned char out[32], uint64_t *size_out)
{
  EVP_MD_CTX *ctx;
  unsigned char *chunk;
  int64_t n = -ENOMEM;

  ctx = EVP_MD_CTX_new();
  chunk = malloc(FILEHASH_CHUNK);
  if (ctx != NULL && chunk != NULL &&
      EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1)
    n = hash_fd(fd, ctx, chunk);
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

int filehash_file(int dirfd, const char *path, unsigned char out[32],
                  uint64_t *size_out, struct cfw_err *err)
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
    rc = hash_open_fd(fd, out, size_out);
    if (rc < 0)
      rc = cfw_err_set(err, rc, "%s: %s", path, strerror(-rc));
  }
  /* Read-only: close cannot lose data. */
  (void)close(fd);
  return rc;
}
