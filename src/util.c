/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
  unsigned long long v;
  char *end;

  /* strtoull accepts leading space and a minus sign; we accept neither. */
  if (s == NULL || *s < '0' || *s > '9')
    return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno == ERANGE)
    return -ERANGE;
  if (errno != 0 || *end != '\0')
    return -EINVAL;
  if (v < min || v > max)
    return -ERANGE;
  *out = v;
  return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
  const char *p = s;
  double v;
  char *end;

  /* strtod also takes leading space, hex, "nan" and "inf"; a plain
   * decimal has a digit or '.' after the sign and no other letters. */
  if (s == NULL)
    return -EINVAL;
  if (*p == '+' || *p == '-')
    p++;
  if ((*p < '0' || *p > '9') && *p != '.')
    return -EINVAL;
  if (p[strspn(p, "0123456789.eE+-")] != '\0')
    return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if (errno == ERANGE)
    return -ERANGE;
  if (errno != 0 || end == s || *end != '\0')
    return -EINVAL;
  if (!isfinite(v) || v < min || v > max)
    return -ERANGE;
  *out = v == 0 ? 0.0 : v; /* "-0" is 0, not -0 */
  return 0;
}

int parse_bool(const char *s, int *out)
{
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(yes); i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *out = 1;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *out = 0;
      return 0;
    }
  }
  return -EINVAL;
}

size_t str_copy(char *dst, size_t n, const char *src)
{
  size_t len = strlen(src);
  size_t k = len < n ? len : n - 1;

  memcpy(dst, src, k);
  dst[k] = '\0';
  return len;
}

void str_label(char *dst, size_t n, const char *fmt, ...)
{
  va_list ap;
  int k;

  va_start(ap, fmt);
  k = vsnprintf(dst, n, fmt, ap);
  va_end(ap);
  if (k < 0)
    dst[0] = '\0';
  else if ((size_t)k >= n)
    memcpy(dst + n - 4, "...", 4);
}

void *array_grow(void *v, size_t n, size_t *cap, size_t size)
{
  size_t want = *cap ? *cap * 2 : 16;
  void *p;

  if (n < *cap)
    return v;
  if (want > SIZE_MAX / size)
    return NULL;
  p = realloc(v, want * size);
  if (p != NULL)
    *cap = want;
  return p;
}

int hex_digit(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void hex_encode(const unsigned char *p, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  size_t i;

  for (i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xf];
  }
  out[2 * n] = '\0';
}
