/* SPDX-License-Identifier: MIT */
#ifndef CFW_UTIL_H
#define CFW_UTIL_H

/* glibc's allocator is tuned (mallopt) and trimmed (malloc_trim) for
 * the daemon's memory; a sanitizer build has its own allocator, and
 * glibc's, never initialised there, is not safe to trim from two
 * threads at once. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CFW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CFW_SANITIZED 1
#endif
#endif
#if defined(__GLIBC__) && !defined(CFW_SANITIZED)
#define CFW_GLIBC_MALLOC 1
#endif

#include <stddef.h>
#include <stdint.h>

/* Finds the struct that embeds a member, as libuv does for handles. */
#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a whole decimal string into [min, max].  Returns 0, -EINVAL (not
 * a number, or trailing bytes) or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a whole decimal number such as "0.25", "3" or "1e3" into
 * [min, max]: an optional sign, digits with an optional '.', an optional
 * exponent.  Leading spaces, hex, "nan" and "inf" are refused, as are
 * numbers that overflow or underflow.  The decimal point is '.', the C
 * locale's, which cfwatch never changes.  Returns 0, -EINVAL (not such a
 * number, or trailing bytes) or -ERANGE; *out is set only on success. */
int parse_double(const char *s, double min, double max, double *out);

/* Parses "true/false/yes/no/on/off/1/0" (any case).  0 or -EINVAL. */
int parse_bool(const char *s, int *out);

/* Copies src into dst (n bytes, n > 0), cutting it short if needed;
 * always NUL-terminated.  Returns strlen(src), so a result >= n means
 * it was cut. */
size_t str_copy(char *dst, size_t n, const char *src);

/* snprintf into dst (n >= 4 bytes) for a label, not worth failing for:
 * a result too long is cut and ends in "...", an encoding error leaves
 * "". */
void str_label(char *dst, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Makes room for element n of an array of elements of `size` bytes with
 * *cap allocated: returns v itself if there is room, a larger copy (and
 * a doubled *cap) if not, or NULL on overflow or ENOMEM, when v is left
 * as it was and is still the caller's. */
void *array_grow(void *v, size_t n, size_t *cap, size_t size);

/* Lowercase hex of n bytes into out, which holds 2n+1 bytes. */
void hex_encode(const unsigned char *p, size_t n, char *out);

/* The value of the hex digit c (0-9, a-f, A-F), or -1: the one decoder
 * of %XX escapes (urlmap.c, sigv4_canon.c, s3list.c). */
int hex_digit(char c);

#endif
