/* SPDX-License-Identifier: MIT */
#include "pytext.h"

#include <string.h>

/* The length of the valid UTF-8 sequence at p[0..n), or 0. */
static size_t pytext_seq(const unsigned char *p, size_t n)
{
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  size_t len;
  size_t i;

  if (p[0] < 0x80)
    return 1;
  if (p[0] < 0xc2 || p[0] > 0xf4)
    return 0;
  len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
  if (p[0] == 0xe0)
    lo = 0xa0; /* overlong */
  else if (p[0] == 0xed)
    hi = 0x9f; /* surrogates */
  else if (p[0] == 0xf0)
    lo = 0x90; /* overlong */
  else if (p[0] == 0xf4)
    hi = 0x8f; /* past U+10FFFF */
  if (n < len || p[1] < lo || p[1] > hi)
    return 0;
  for (i = 2; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  }
  return len;
}

size_t pytext_utf8_check(const char *data, size_t len)
{
  const unsigned char *p = (const unsigned char *)data;
  size_t i = 0;
  size_t n;

  while (i < len) {
    n = pytext_seq(p + i, len - i);
    if (n == 0)
      return i;
    i += n;
  }
  return len;
}

size_t pytext_space_at(const char *p, const char *end)
{
  const unsigned char *u = (const unsigned char *)p;
  size_t n = (size_t)(end - p);

  if ((u[0] >= 0x09 && u[0] <= 0x0d) || (u[0] >= 0x1c && u[0] <= 0x20))
    return 1;
  if (n >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0))
    return 2;
  if (n < 3)
    return 0;
  if ((u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) ||
      (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) ||
      (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f))
    return 3;
  if (u[0] == 0xe2 && u[1] == 0x80 &&
      (u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
    return 3; /* U+2000-200A, U+2028, U+2029, U+202F */
  return 0;
}

void pytext_strip(const char **b, const char **e)
{
  const char *p;
  size_t n;

  while (*b < *e) {
    n = pytext_space_at(*b, *e);
    if (n == 0)
      break;
    *b += n;
  }
  while (*e > *b) {
    p = *e - 1;
    while (p > *b && ((unsigned char)*p & 0xc0) == 0x80 && *e - p < 3)
      p--;
    if (pytext_space_at(p, *e) != (size_t)(*e - p))
      break;
    *e = p;
  }
}

size_t pytext_chars(const char *b, const char *e)
{
  size_t n = 0;

  for (; b < e; b++) {
    if (((unsigned char)*b & 0xc0) != 0x80)
      n++;
  }
  return n;
}

size_t pytext_break_at(const char *p, const char *end)
{
  const unsigned char *u = (const unsigned char *)p;
  size_t n = (size_t)(end - p);

  if (u[0] == '\r')
    return n >= 2 && u[1] == '\n' ? 2 : 1;
  if (u[0] == '\n' || u[0] == 0x0b || u[0] == 0x0c ||
      (u[0] >= 0x1c && u[0] <= 0x1e))
    return 1;
  if (n >= 2 && u[0] == 0xc2 && u[1] == 0x85)
    return 2;
  if (n >= 3 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))
    return 3;
  return 0;
}

size_t pytext_lower(char *dst, const char *src, size_t n)
{
  size_t i = 0;
  size_t o = 0;

  while (i < n) {
    if (n - i >= 3 && memcmp(src + i, "\xe2\x84\xaa", 3) == 0) {
      dst[o++] = 'k';
      i += 3;
    } else if (src[i] >= 'A' && src[i] <= 'Z') {
      dst[o++] = (char)(src[i++] - 'A' + 'a');
    } else {
      dst[o++] = src[i++];
    }
  }
  return o;
}
