/* SPDX-License-Identifier: MIT */
#ifndef CFW_JSON_H
#define CFW_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct cfw_err;

/* A strict parser for one flat JSON object (RFC 8259), made for small
 * documents such as credential_process output.  It assumes nothing about
 * its input: every byte is checked, and sizes are bounded.
 *
 * Policy:
 * - The document is one object, optionally surrounded by whitespace;
 *   anything after it is an error.
 * - Member values may be strings, numbers, true, false or null.  Nested
 *   objects and arrays are validated and skipped (type JSON_NESTED, no
 *   value), up to JSON_MAX_DEPTH levels including the outer object.
 * - A duplicate key is an error, because two parsers could pick different
 *   values for it.
 * - Strings must be valid UTF-8 (no overlong forms, no encoded
 *   surrogates); escapes are decoded, \uXXXX pairs to one code point.  A
 *   lone surrogate is an error, and so is U+0000 (values are used as C
 *   strings).
 * - A number must match the JSON grammar, be at most JSON_MAX_NUMBER_LEN
 *   bytes and fit a double.
 * - Error messages give an offset and a reason, never input bytes, so
 *   a document holding secrets can be parsed safely. */

#define JSON_MAX_INPUT      ((size_t)1024 * 1024)
#define JSON_MAX_DEPTH      16
#define JSON_MAX_MEMBERS    256
#define JSON_MAX_NUMBER_LEN 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_NESTED };

struct json_value {
  enum json_type type;
  const char *str; /* borrowed from the object's arena; JSON_STRING only */
  size_t len;      /* of str, without its NUL */
  double num;      /* JSON_NUMBER */
  bool b;          /* JSON_BOOL */
};

struct json_member {
  const char *key; /* borrowed from the arena, NUL-terminated */
  struct json_value v;
};

/* Plain but read-only for the caller: fill it with json_object_parse and
 * release it with json_object_free. */
struct json_object {
  struct json_member *members; /* owned */
  size_t n;
  char *arena;      /* owned; decoded strings, wiped on free */
  size_t arena_cap; /* bytes allocated for arena */
};

/* Parses s[0..len) (no NUL needed).  Returns 0, or -EINVAL (malformed,
 * message names the offset), -E2BIG (a bound was passed) or -ENOMEM; on
 * failure *out is empty and needs no free. */
int json_object_parse(const char *s, size_t len, struct json_object *out,
                      struct cfw_err *err);

/* Wipes the decoded strings and frees; NULL and an empty object are fine. */
void json_object_free(struct json_object *o);

/* The member named key, or NULL.  O(n). */
const struct json_value *json_get(const struct json_object *o, const char *key);

/* The string value of key (borrowed), or NULL if absent or not a string. */
const char *json_get_string(const struct json_object *o, const char *key);

/* 0 with *out set, -ENOENT if key is absent, -EINVAL if not a number. */
int json_get_number(const struct json_object *o, const char *key, double *out);

#endif
