/* SPDX-License-Identifier: MIT */
#ifndef CFW_JSONOUT_H
#define CFW_JSONOUT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* The one home of cfwatch's JSON output (`status --json`, the JSON log
 * format): values are built as jansson json_t trees and dumped compact.
 *
 * JSON strings are Unicode, but file names, root paths and log messages
 * are bytes, not always UTF-8, and jansson refuses invalid UTF-8.  Such
 * bytes go through jsonout_bytes(), which maps them to valid UTF-8
 * unambiguously:
 * - valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 *   past U+10FFFF) is kept as it is, control characters included (the
 *   dump escapes them as \u00XX);
 * - a backslash becomes two backslashes;
 * - each byte that is not part of valid UTF-8, and NUL, becomes the four
 *   characters \xNN (lowercase hex).
 * So after JSON decoding, "\\" is a backslash, "\xNN" the byte NN, and
 * every other character its own UTF-8 bytes: the original bytes can
 * always be recovered.  A name that is valid UTF-8 without a backslash
 * reads unchanged.
 *
 * Every function here installs the wiping allocator (jsonmem.h) before
 * touching jansson; a module that builds output calls jsonout_object()
 * before any other jansson function. */

/* A new JSON string for s[0..n), mapped as above; NULL on ENOMEM. */
json_t *jsonout_bytes(const char *s, size_t n);

/* A new empty object; NULL on ENOMEM. */
json_t *jsonout_object(void);

/* Sets obj[key] = value, taking value over (it is released on failure,
 * and a NULL obj or value is a failure, so calls can be chained after a
 * failed allocation).  0 or -ENOMEM. */
int jsonout_set(json_t *obj, const char *key, json_t *value);

/* Appends v to out as compact JSON (no newline; reals with 15
 * significant digits): 0, -ENOMEM, or -E2BIG past out's cap (out may
 * then hold part of it). */
int jsonout_dump(const json_t *v, struct buf *out);

#endif
