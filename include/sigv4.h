/* SPDX-License-Identifier: MIT */
#ifndef CFW_SIGV4_H
#define CFW_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* AWS Signature Version 4 for the Authorization header, with the
 * algorithm AWS4-HMAC-SHA256.  The signer only computes: it sends nothing
 * and adds no header, so the caller must send exactly the method, path,
 * query, headers and body it signed. */

/* Each of the three texts in a result is capped at this many bytes; a
 * longer request fails with -E2BIG. */
#define SIGV4_TEXT_MAX ((size_t)64 * 1024)

struct sigv4_header {
  const char *name;  /* borrowed; an HTTP token, any case */
  const char *value; /* borrowed; trimmed and space-collapsed when signed */
};

struct sigv4_request {
  const char *method; /* borrowed; "POST", used as given */
  /* Borrowed: the path exactly as it goes into the request line, starting
   * with '/' and without '?' or '#' (but see s3_style_path).  Unless
   * s3_style_path is set, the signer removes dot segments, collapses repeated
   * '/' and then encodes every byte except A-Za-z0-9-_.~ and '/'.  A '%' is
   * encoded too, so a path sent as "/a%20b" is signed as "/a%2520b": that is
   * the double encoding AWS specifies for services other than S3.  A raw path
   * such as
   * "/a b" (the suite's form) is signed as "/a%20b". */
  const char *path;
  /* Borrowed: the query string after '?', or NULL.  Each key and value is
   * percent-decoded and re-encoded (RFC 3986, uppercase hex; '+' is a
   * literal plus, so send spaces as %20), then sorted by key and value. */
  const char *query;
  /* Borrowed: every header to sign, as sent, including Host (required) and
   * X-Amz-Date.  Headers of the same name are joined with ',' in the order
   * given.  A value may contain obsolete line folding (CRLF or LF followed
   * by a space or tab), which counts as one space; any other line break is
   * rejected.  Must not include Authorization. */
  const struct sigv4_header *headers;
  size_t n_headers;
  const void *payload; /* borrowed; may be NULL when payload_len is 0 */
  size_t payload_len;
  /* Borrowed, or NULL to hash payload.  The payload's hash as the caller
   * already knows it: 64 lowercase hex digits (S3's x-amz-content-sha256
   * for a body streamed from a file, hashed once beforehand), or
   * "UNSIGNED-PAYLOAD".  When set, payload is ignored. */
  const char *payload_hash;
};

struct sigv4_creds {
  const char *access_key_id;     /* borrowed; A-Za-z0-9 */
  const char *secret_access_key; /* borrowed; never copied into a message */
  /* Borrowed, or NULL.  When set, it is signed as x-amz-security-token:
   * the signer adds it to the canonical headers unless the caller already
   * passes that header, which must then carry the same value.  The caller
   * must send the header either way.  To add the token only after signing
   * (the suite's post-sts-header-after), leave this NULL and do not pass
   * the header. */
  const char *session_token;
};

struct sigv4_params {
  const char *region;   /* borrowed; "us-east-1" for CloudFront */
  const char *service;  /* borrowed; "cloudfront" */
  const char *amz_date; /* borrowed; "20150830T123600Z", as in X-Amz-Date */
  /* false: normalise the path as for every service but S3.  true: keep dot
   * segments and repeated '/' (S3 object keys); the encoding is the same,
   * so the caller then passes the key unencoded (and it may hold '?' and
   * '#', which are encoded like any other byte). */
  bool s3_style_path;
};

struct sigv4_result {
  struct buf canonical_request; /* owned; contains the session token */
  struct buf string_to_sign;    /* owned */
  struct buf authorization;     /* owned; the Authorization header value */
  char signature[65];           /* lowercase hex, "" after a failure */
};

/* Prepares an empty result; pair with sigv4_result_free. */
void sigv4_result_init(struct sigv4_result *r);

/* Wipes and releases the texts.  NULL is fine. */
void sigv4_result_free(struct sigv4_result *r);

/* Signs req into out, replacing what out held.  Returns 0, -EINVAL (bad
 * or inconsistent input, the message names the field but never a key,
 * token or header value), -E2BIG (see SIGV4_TEXT_MAX), -ENOMEM or -EIO
 * (libcrypto failed).  On failure out holds empty texts. */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *c,
               const struct sigv4_params *p, struct sigv4_result *out,
               struct cfw_err *err);

/* Appends s to out percent-encoded as SigV4 encodes: every byte but
 * A-Za-z0-9-._~ (and '/' if keep_slash) as %XX with uppercase hex.  With
 * keep_slash, that is an S3 path as it must go both in the request line
 * and in the canonical request (s3_style_path); without, a query value.
 * Returns 0, -E2BIG (out's cap) or -ENOMEM. */
int sigv4_uri_encode(struct buf *out, const char *s, bool keep_slash);

/* Formats unix_s as the UTC time "YYYYMMDDTHHMMSSZ" (16 characters and a
 * NUL).  Returns 0, or -ERANGE before 1970 or after 9999. */
int sigv4_amz_date(int64_t unix_s, char out[17]);

#endif
