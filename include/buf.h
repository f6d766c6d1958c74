/* SPDX-License-Identifier: MIT */
#ifndef CFW_BUF_H
#define CFW_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A growable byte buffer with a hard cap, always NUL-terminated once
 * anything was added.  Pair buf_init with buf_free. */
struct buf {
  char *data; /* owned; NULL until the first add */
  size_t len;
  size_t cap;
  size_t max; /* adds that would pass this fail with -E2BIG */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);  /* NULL is fine */
void buf_reset(struct buf *b); /* len = 0, memory kept */

/* Each returns 0, -ENOMEM or -E2BIG; on failure b is unchanged. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The contents as a C string ("" when empty); borrowed from b. */
const char *buf_str(const struct buf *b);

/* Hands the contents to the caller (free() it) and empties b.  Never
 * returns NULL: an empty buffer yields a fresh "" or NULL on ENOMEM. */
char *buf_take(struct buf *b);

#endif
