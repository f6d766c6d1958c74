/* SPDX-License-Identifier: MIT */
#ifndef CFW_HEADERS_H
#define CFW_HEADERS_H

#include <stddef.h>

#include "err.h"
#include "hdrrule.h"

struct mime_table;

/* The headers an S3 origin's object is uploaded with: one site's
 * [headers GLOB] rules (hdrrule.h), compiled once, and the MIME table
 * (mime.h).
 *
 * Content-Type is the matching rule's content_type, used as written;
 * else the MIME table's type for the file's extension, with its charset
 * (mime.h), or application/octet-stream.  When the rule sets
 * content_encoding to one coding, leaves content_type out, and the file's
 * name ends in that coding's suffix (".gz" for gzip, ".br" for br, ".zst"
 * for zstd), the type is that of the name without the suffix: with
 * content_encoding = gzip, app.js.gz is text/javascript, Content-Encoding
 * gzip, as Python's mimetypes (the AWS CLI) reads such names.
 *
 * cfwatch uploads a file's bytes as they are, under its own name: it
 * never compresses, never renames app.js.gz to app.js, and sets no
 * Content-Encoding that a rule does not give.  A build that compresses
 * its output in place (app.js holding gzip bytes) pairs it with a rule
 * such as [headers *.js] content_encoding = gzip.  Every other header
 * is absent (NULL) unless the rule gives it: S3 then serves none, and
 * CloudFront caches by the distribution's own TTLs. */

struct headers_set; /* opaque; immutable once made */

/* What headers_for() decides for one file.  Plain; every pointer is
 * borrowed from the set and the MIME table, valid while both live. */
struct headers_out {
  const char *content_type;        /* never NULL */
  const char *cache_control;       /* NULL: send none */
  const char *content_encoding;    /* NULL: send none */
  const char *content_disposition; /* NULL: send none */
  const struct hdrrule_meta *meta; /* x-amz-meta-NAME = value, n_meta */
  size_t n_meta;
  const char *rule_glob; /* the rule that matched, NULL for none */
  unsigned rule_line;    /* its line in the config file, 0 for none */
};

/* Compiles the rules of rules that apply to the site named site (those
 * without site, and those with this one), in their order, into *out;
 * copies what it needs, so rules may be freed (a SIGHUP reload) while
 * the set is in use.  Returns 0, or -EINVAL (a glob the config reader
 * would have refused) or -ENOMEM with *out NULL.  No rule (rules NULL
 * or empty) is fine: the set then gives the MIME type alone. */
int headers_set_new(struct headers_set **out, const struct hdrrules *rules,
                    const char *site, struct cfw_err *err);
void headers_set_destroy(struct headers_set *s); /* NULL is fine */

/* Fills *out for the file relpath ('/'-separated, relative to the
 * root): the first rule whose glob matches it (exclude.h's globs, the
 * file and each of its parent directories), then the MIME table.  s may
 * be NULL (no rules).  Pure: allocates nothing and writes only *out, so
 * any number of threads may call it at once.  O(rules matched by a
 * component's first or last byte, times components), plus one MIME
 * lookup. */
void headers_for(const struct headers_set *s, const struct mime_table *mime,
                 const char *relpath, struct headers_out *out);

#endif
