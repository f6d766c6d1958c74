/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void buf_free(struct buf *b)
{
  if (b == NULL)
    return;
  free(b->data);
  buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

/* Makes room for n more bytes plus the terminating NUL. */
static int buf_grow(struct buf *b, size_t n)
{
  size_t need;
  size_t cap;
  char *p;

  if (n > b->max || b->len > b->max - n)
    return -E2BIG;
  need = b->len + n + 1;
  if (need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->data, cap);
  if (p == NULL)
    return -ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
  int rc;

  rc = buf_grow(b, n);
  if (rc < 0)
    return rc;
  if (n > 0)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_adds(struct buf *b, const char *s)
{
  return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
  return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
  va_list ap2;
  int n;
  int rc;

  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return -EINVAL;
  rc = buf_grow(b, (size_t)n);
  if (rc < 0)
    return rc;
  n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
  if (n < 0)
    return -EINVAL;
  b->len += (size_t)n;
  return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = buf_vaddf(b, fmt, ap);
  va_end(ap);
  return rc;
}

const char *buf_str(const struct buf *b)
{
  return b->data != NULL ? b->data : "";
}

char *buf_take(struct buf *b)
{
  char *p;

  p = b->data != NULL ? b->data : strdup("");
  buf_init(b, b->max);
  return p;
}
