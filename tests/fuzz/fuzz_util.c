/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void fuzz_fail(const char *file, int line, const char *what)
{
  /* Nothing is left to do if stderr is gone: the trap still reports. */
  (void)fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
  __builtin_trap();
}

void fuzz_memfile_open(struct fuzz_memfile *f, const char *name)
{
  int n;

  f->fd = memfd_create(name, MFD_CLOEXEC);
  FUZZ_CHECK(f->fd >= 0);
  n = snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
  FUZZ_CHECK(n > 0 && (size_t)n < sizeof(f->path));
}

void fuzz_memfile_set(const struct fuzz_memfile *f, const void *data,
                      size_t size)
{
  const char *p = data;
  size_t off = 0;
  ssize_t n;

  FUZZ_CHECK(ftruncate(f->fd, 0) == 0);
  while (off < size) {
    n = pwrite(f->fd, p + off, size - off, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    FUZZ_CHECK(n > 0);
    off += (size_t)n;
  }
}

/* The length of the sequence that lead byte c starts, 0 if none, and the
 * range its second byte must be in (the first continuation byte carries
 * the overlong, surrogate and U+10FFFF limits). */
static size_t utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
  *lo = 0x80;
  *hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf)
    return 2;
  if (c >= 0xe0 && c <= 0xef) {
    *lo = c == 0xe0 ? 0xa0 : 0x80;
    *hi = c == 0xed ? 0x9f : 0xbf;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    *lo = c == 0xf0 ? 0x90 : 0x80;
    *hi = c == 0xf4 ? 0x8f : 0xbf;
    return 4;
  }
  return 0;
}

int fuzz_utf8_valid(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  unsigned char lo;
  unsigned char hi;
  size_t i = 0;
  size_t n;
  size_t k;

  while (i < len) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    n = utf8_lead(p[i], &lo, &hi);
    if (n == 0 || len - i < n || p[i + 1] < lo || p[i + 1] > hi)
      return 0;
    for (k = 2; k < n; k++)
      if ((p[i + k] & 0xc0) != 0x80)
        return 0;
    i += n;
  }
  return 1;
}
