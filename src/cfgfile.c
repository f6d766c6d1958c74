/* SPDX-License-Identifier: MIT */
#include "cfgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

#define CFGFILE_CHUNK 4096

void cfgfile_free(char *data, size_t len)
{
  if (data == NULL)
    return;
  OPENSSL_cleanse(data, len);
  free(data);
}

/* Moves data (len bytes used) into a buffer of cap bytes, wiping the old
 * one: realloc() would leave a copy of the secrets behind. */
static char *cfgfile_grow(char *data, size_t len, size_t cap)
{
  char *p = malloc(cap);

  if (p != NULL && len > 0)
    memcpy(p, data, len);
  if (p != NULL)
    cfgfile_free(data, len);
  return p;
}

/* Reads fd to its end into *data (cap bytes allocated); -EFBIG past max
 * bytes, else 0 or a negative errno.  *data may be replaced. */
static int cfgfile_slurp(int fd, size_t max, char **data, size_t *cap,
                         size_t *len)
{
  char *p;
  ssize_t n;

  for (;;) {
    if (*len + 1 >= *cap) {
      p = cfgfile_grow(*data, *len, *cap + CFGFILE_CHUNK);
      if (p == NULL)
        return -ENOMEM;
      *data = p;
      *cap += CFGFILE_CHUNK;
    }
    n = read(fd, *data + *len, *cap - 1 - *len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return *len > max ? -EFBIG : 0;
    *len += (size_t)n;
    if (*len > max)
      return -EFBIG;
  }
}

static int cfgfile_read_fd(int fd, const char *path, size_t max_size,
                           bool regular_only, char **data, size_t *len,
                           struct cfw_err *err)
{
  struct stat st;
  size_t cap = CFGFILE_CHUNK;
  int rc;

  if (fstat(fd, &st) < 0)
    return cfw_err_set(err, -errno, "%s: %s", path, strerror(errno));
  if (regular_only && !S_ISREG(st.st_mode))
    return cfw_err_set(err, -EINVAL, "%s: not a regular file", path);
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_size)
    rc = -EFBIG;
  else {
    /* One allocation for a regular file that does not grow meanwhile. */
    if (S_ISREG(st.st_mode))
      cap = (size_t)st.st_size + 2;
    *data = malloc(cap);
    if (*data == NULL)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    rc = cfgfile_slurp(fd, max_size, data, &cap, len);
  }
  if (rc == -EFBIG)
    return cfw_err_set(err, rc, "%s: larger than %zu bytes", path, max_size);
  if (rc == -ENOMEM)
    return cfw_err_set(err, rc, "out of memory");
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: %s", path, strerror(-rc));
  (*data)[*len] = '\0';
  return 0;
}

int cfgfile_read(const char *path, size_t max_size, bool regular_only,
                 char **data, size_t *len, struct cfw_err *err)
{
  int fd;
  int rc;

  *data = NULL;
  *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    return cfw_err_set(err, rc, "%s: %s", path, strerror(-rc));
  }
  rc = cfgfile_read_fd(fd, path, max_size, regular_only, data, len, err);
  (void)close(fd); /* read-only: nothing to lose */
  if (rc < 0) {
    cfgfile_free(*data, *len);
    *data = NULL;
    *len = 0;
  }
  return rc;
}

void cfgfile_lines_init(struct cfgfile_lines *it, const char *data, size_t len,
                        enum cfgfile_eol eol, size_t max_len, bool nul_ok)
{
  it->data = data;
  it->len = len;
  it->pos = 0;
  it->lineno = 0;
  it->eol = eol;
  it->max_len = max_len;
  it->nul_ok = nul_ok;
}

/* The length of the line at p, up to its '\n', or its '\r' too with
 * universal newlines, or the end of the file. */
static size_t cfgfile_line_len(const struct cfgfile_lines *it, const char *p)
{
  size_t left = it->len - it->pos;
  const char *nl = memchr(p, '\n', left);
  const char *cr;
  size_t n = nl != NULL ? (size_t)(nl - p) : left;

  if (it->eol != CFGFILE_EOL_UNIVERSAL)
    return n;
  cr = memchr(p, '\r', n);
  return cr != NULL ? (size_t)(cr - p) : n;
}

int cfgfile_next_line(struct cfgfile_lines *it, size_t *off, size_t *n,
                      struct cfw_err *err)
{
  const char *line = it->data + it->pos;
  const char *nul;
  size_t end;

  if (it->pos >= it->len)
    return 0;
  *off = it->pos;
  *n = cfgfile_line_len(it, line);
  it->lineno++;
  end = it->pos + *n;
  it->pos = end;
  if (end < it->len) /* past "\n", "\r" or "\r\n" */
    it->pos += (it->data[end] == '\r' && end + 1 < it->len &&
                it->data[end + 1] == '\n')
                   ? 2
                   : 1;
  nul = it->nul_ok ? NULL : memchr(line, '\0', *n);
  if (nul != NULL)
    return cfw_err_set(err, -EINVAL, "NUL byte at column %zu",
                       (size_t)(nul - line) + 1);
  if (it->max_len > 0 && *n > it->max_len)
    return cfw_err_set(err, -EINVAL, "line longer than %zu bytes", it->max_len);
  return 1;
}
