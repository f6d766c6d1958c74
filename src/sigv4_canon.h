/* SPDX-License-Identifier: MIT */
#ifndef CFW_SIGV4_CANON_H
#define CFW_SIGV4_CANON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "sigv4.h"

/* Internal to sigv4.c: the canonical forms of a request's path, query and
 * headers that SigV4 hashes, and the byte classes they rest on.
 *
 * The add functions append to b and return 0, -E2BIG or -ENOMEM from buf;
 * those that take err also return -EINVAL with a message for bad input.
 * On failure b holds part of the text, and the caller drops it. */

/* RFC 3986 unreserved bytes: A-Z a-z 0-9 - _ . ~ */
bool sigv4_canon_is_unreserved(unsigned char c);

/* A-Z a-z 0-9 */
bool sigv4_canon_is_alnum(unsigned char c);

/* An RFC 9110 token character, as in header names and methods. */
bool sigv4_canon_is_tchar(unsigned char c);

/* True if s is non-empty and every byte satisfies ok; false for NULL. */
bool sigv4_canon_all_of(const char *s, bool (*ok)(unsigned char));

/* Appends s[0..n) percent-encoded with uppercase hex.  Unreserved bytes
 * stay as they are, and so does '/' when keep_slash is set. */
int sigv4_canon_uri_encode(struct buf *b, const char *s, size_t n,
                           bool keep_slash);

/* Appends path with dot segments removed (RFC 3986 5.2.4), empty segments
 * dropped and each segment encoded; "/" if nothing is left. */
int sigv4_canon_add_normalized_path(struct buf *b, const char *path);

/* Appends the canonical form of query (nothing for NULL): each key and
 * value decoded and re-encoded, pairs sorted by key, then value.
 * -EINVAL for a '%' without two hex digits. */
int sigv4_canon_add_query(struct buf *b, const char *query,
                          struct cfw_err *err);

/* Appends "name:v1,v2\n" per distinct lowercase header name of req to b,
 * sorted by name, and "name;name" to names.  Adds x-amz-security-token
 * for token (which may be NULL) unless req carries it.  -EINVAL, naming
 * the header but never quoting a value, for a bad name, a missing value,
 * Authorization, a token header that differs from token, a line break
 * that is not a fold, or no Host header. */
int sigv4_canon_add_headers(struct buf *b, struct buf *names,
                            const struct sigv4_request *req, const char *token,
                            struct cfw_err *err);

#endif
