/* SPDX-License-Identifier: MIT */
#ifndef CFW_PYTEXT_H
#define CFW_PYTEXT_H

#include <stddef.h>

/* Internal to awsconfig.c: Python's rules for text, over UTF-8 bytes, so
 * that the AWS shared files are split and trimmed as botocore does.  All
 * but pytext_utf8_check expect valid UTF-8 (check it first). */

/* The offset of the first byte of data[0..len) that is not strict UTF-8
 * (as Python's decoder: no overlong forms, surrogates or code points past
 * U+10FFFF), or len if there is none. */
size_t pytext_utf8_check(const char *data, size_t len);

/* The length in bytes of the blank (str.isspace()) at p, or 0.  p < end. */
size_t pytext_space_at(const char *p, const char *end);

/* str.strip(): moves *b forward and *e back over blanks. */
void pytext_strip(const char **b, const char **e);

/* The number of characters (code points) in [b, e). */
size_t pytext_chars(const char *b, const char *e);

/* The length of the line break at p as str.splitlines() sees one ("\r\n",
 * "\n", "\r", \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029), or 0. */
size_t pytext_break_at(const char *p, const char *end);

/* Writes src[0..n) to dst in lower case as str.lower() would for any key
 * that can equal an ASCII name: ASCII letters, and U+212A KELVIN SIGN to
 * 'k'; other characters are copied.  Returns the bytes written (at most
 * n). */
size_t pytext_lower(char *dst, const char *src, size_t n);

#endif
