/* SPDX-License-Identifier: MIT */
#ifndef CFW_HDRVAL_H
#define CFW_HDRVAL_H

#include "err.h"

/* The syntax of the HTTP header values a [headers GLOB] rule may set on
 * an S3 object (hdrrule.h), checked when the config is read so that a
 * typo is an error at its line rather than an object a browser cannot
 * use.  The grammar is RFC 9110's (token, quoted-string, parameters),
 * restricted to printable ASCII, which S3 requires of header values
 * sent over REST; a value can thus never hold CR, LF, NUL or a tab.
 *
 * Each returns 0, or -EINVAL with a message that reads well after
 * "<file>:<line>: <key>: " and quotes the value. */

/* Printable ASCII (0x20 to 0x7e), not empty: any x-amz-meta- value. */
int hdrval_text(const char *v, struct cfw_err *err);

/* "type/subtype" with optional "; name=value" parameters, as
 * "text/html; charset=utf-8". */
int hdrval_media_type(const char *v, struct cfw_err *err);

/* Cache-Control directives: "token[=value]" separated by commas, as
 * "public, max-age=31536000, immutable". */
int hdrval_cache_control(const char *v, struct cfw_err *err);

/* Content-Encoding: content codings from IANA's HTTP Content Coding
 * Registry ("gzip", "br", "zstd", ...), separated by commas.  Only
 * registered ones: a browser refuses a response in a coding it does not
 * know, so a misspelt one would break every object of the rule. */
int hdrval_content_encoding(const char *v, struct cfw_err *err);

/* Content-Disposition: a disposition type with optional parameters, as
 * "attachment; filename=\"report.pdf\"". */
int hdrval_disposition(const char *v, struct cfw_err *err);

/* The NAME of an x-amz-meta-NAME key: letters, digits, '-' and '_'.  S3
 * stores the names in lower case. */
int hdrval_meta_name(const char *v, struct cfw_err *err);

#endif
