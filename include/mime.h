/* SPDX-License-Identifier: MIT */
#ifndef CFW_MIME_H
#define CFW_MIME_H

#include <stddef.h>

#include "err.h"

/* The Content-Type of a file from its extension, through the system's
 * MIME table (Debian's media-types package ships /etc/mime.types).
 *
 * The file's format is the one Go's mime package and Python's mimetypes
 * read (the first is what hugo deploy and s3deploy use, the second the
 * AWS CLI): a media type, then its extensions, separated by blanks; a
 * line or field starting with '#' is a comment to the end of the line.
 * Extensions are case-insensitive, and one given twice takes its last
 * type, as in both.  A line whose type is not "type/subtype" is skipped,
 * as is an extension holding a '.' ("spdx.json"): the lookup takes the
 * text after a name's last '.', as Go's filepath.Ext and Python's
 * splitext do, so such an entry could never match.
 *
 * A small built-in table of the web's common types comes first and the
 * file overrides it, as in Go's mime package: so "map" (source maps),
 * which Debian's file lacks, is known either way.
 *
 * "; charset=utf-8" is added to every text/ type (as Go's mime package does,
 * and so hugo deploy and s3deploy), to the older JavaScript types
 * (application/javascript, application/x-javascript,
 * application/ecmascript), and to application/json and every
 * application/...+json (RFC 8259 s.11: JSON is UTF-8 and a charset
 * "has no effect on compliant recipients", so it is harmless, and it
 * leaves a browser that shows the file as text nothing to guess).  A
 * classic script without a charset is decoded in its page's encoding,
 * and a text/html page in whatever the browser guesses unless it
 * declares its own.  XML types
 * (application/xml, image/svg+xml, application/...+xml) get none: XML
 * declares its own encoding and defaults to UTF-8, and a charset
 * parameter would override a document's declaration (RFC 7303 s.3), so
 * it could only break a document, never fix one.  The AWS CLI adds none
 * at all (aws/aws-cli#1346).  A site not in UTF-8 sets content_type in a
 * [headers GLOB] rule (headers.h). */

#define MIME_DEFAULT_PATH  "/etc/mime.types"
#define MIME_OCTET_STREAM  "application/octet-stream"
#define MIME_MAX_FILE_SIZE ((size_t)4 * 1024 * 1024) /* Debian's: 74 KB */

/* What mime_table_load() read. */
enum mime_source {
  MIME_FROM_FILE = 0,   /* the file over the built-in table */
  MIME_FROM_BUILTIN = 1 /* no such file: the built-in table alone */
};

struct mime_table; /* opaque; immutable once made */

/* Reads path whole and builds its table over the built-in one.  It
 * blocks on the file (one read, about 1 ms for Debian's): call it at
 * start-up before the loop runs, or in a uv_queue_work job, never on the
 * loop thread while it runs.  Returns MIME_FROM_FILE; or
 * MIME_FROM_BUILTIN when path does not exist (the media-types package is
 * not installed), with *out the built-in table alone and err set to a
 * warning that says so, for the caller to log once; or a negative errno
 * (-EINVAL for a file over MIME_MAX_FILE_SIZE or not a regular file,
 * -ENOMEM, or the read's own error) with *out NULL and err set to "PATH:
 * why".  Pair with mime_table_destroy. */
int mime_table_load(struct mime_table **out, const char *path,
                    struct cfw_err *err);

/* The built-in table alone: html, css, js, json, svg, the common image,
 * font, audio and video types, wasm, pdf and a few more (mime.c lists
 * them).  Returns 0 or -ENOMEM. */
int mime_table_builtin(struct mime_table **out, struct cfw_err *err);

void mime_table_destroy(struct mime_table *t); /* NULL is fine */

/* How many extensions t knows. */
size_t mime_table_size(const struct mime_table *t);

/* The content type for the extension ext[0..len) (no dot; any case), with
 * its charset where it takes one, or NULL if t has none.  O(len): one
 * hash probe sequence.  Borrowed from t.  Reads only, so any number of
 * threads may call it at once. */
const char *mime_lookup(const struct mime_table *t, const char *ext,
                        size_t len);

/* The content type for the file name or relpath path[0..len): that of the
 * text after the last '.' of its last component, or MIME_OCTET_STREAM
 * if it has none (no '.', a name starting with its only '.', such as
 * ".htaccess", or ending in '.') or t does not know it.  Never NULL;
 * borrowed from t or static.  Thread-safe as mime_lookup. */
const char *mime_type_of(const struct mime_table *t, const char *path,
                         size_t len);

#endif
