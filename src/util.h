#ifndef CFW_UTIL_H
#define CFW_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Finds the struct that embeds a member, as libuv does for handles. */
#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parses a whole decimal string into [min, max].  Returns 0, -EINVAL (not
 * a number, or trailing bytes) or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses "true/false/yes/no/on/off/1/0" (any case).  0 or -EINVAL. */
int parse_bool(const char *s, int *out);

/* Copies src into dst (n bytes, n > 0), cutting it short if needed;
 * always NUL-terminated.  Returns strlen(src), so a result >= n means
 * it was cut. */
size_t str_copy(char *dst, size_t n, const char *src);

/* Lowercase hex of n bytes into out, which holds 2n+1 bytes. */
void hex_encode(const unsigned char *p, size_t n, char *out);

#endif
