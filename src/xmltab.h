/* SPDX-License-Identifier: MIT */
#ifndef CFW_XMLTAB_H
#define CFW_XMLTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Internal to cfxml.c, s3xml.c and s3list.c: a table-driven reader on
 * top of expat.
 *
 * A document is a table of the elements we read, each naming its parent,
 * so an element counts only at its place under the root, in any order.
 * Elements not in the table are skipped with everything inside them.
 * Elements match by local name, with or without a namespace.  A DOCTYPE
 * or entity declaration, nesting deeper than XMLTAB_MAX_DEPTH, another
 * root, a duplicated or missing required element and text over its
 * node's max_len are refused with -EBADMSG; messages name expat's line
 * and column, counted from 1. */

#define XMLTAB_MAX_DEPTH 16 /* deepest element nesting accepted */
#define XMLTAB_MAX_NODES 32 /* entries in one table: a bit each */

#define XMLTAB_TEXT     0x01u /* its text is a field */
#define XMLTAB_REQUIRED 0x02u /* its parent must hold it */
#define XMLTAB_REPEATS  0x04u /* its parent may hold it more than once */
#define XMLTAB_TRUNCATE 0x08u /* longer text is cut, not refused */
#define XMLTAB_TRIM     0x10u /* surrounding whitespace is dropped */

#define XMLTAB_NONE (-1) /* a root's parent; an element not in the table */

struct xmltab_node {
  const char *name; /* local name */
  int parent;       /* index in the table, or XMLTAB_NONE for a root */
  unsigned flags;
  size_t max_len; /* longest text, for XMLTAB_TEXT */
};

/* The text of an element, not NUL-terminated. */
struct xmltab_text {
  const char *s; /* borrowed from the parser */
  size_t len;
  bool cut; /* XMLTAB_TRUNCATE dropped the rest */
};

struct xmltab_doc {
  const struct xmltab_node *nodes; /* at most XMLTAB_MAX_NODES */
  size_t n_nodes;
  size_t max_body;
  void *out; /* borrowed; what the callbacks fill */
  /* Called as a node begins, if not NULL. */
  int (*on_start)(void *out, int node, struct cfw_err *err);
  /* Called as an XMLTAB_TEXT node ends. */
  int (*on_text)(void *out, int node, const struct xmltab_text *t,
                 struct cfw_err *err);
};

/* Parses body[0..len) as doc, calling doc's callbacks as it goes; the
 * first callback failure stops the parse and is returned.  Returns 0, or
 * a negative errno with err set: -EINVAL (NULL body with len > 0),
 * -E2BIG (len over doc->max_body, which must not pass INT_MAX), -EBADMSG
 * or -ENOMEM.  On failure the callbacks may have filled doc->out in
 * part; the caller clears it. */
int xmltab_run(const struct xmltab_doc *doc, const char *body, size_t len,
               struct cfw_err *err);

/* Copies t into dst[size] as a C string.  t->len must be below size,
 * which the node's max_len guarantees. */
void xmltab_copy_text(char *dst, size_t size, const struct xmltab_text *t);

/* Parses t as a decimal count in [0, max] into *out; what names the
 * element in the message.  Returns 0 or -EBADMSG. */
int xmltab_parse_count(const char *what, const struct xmltab_text *t,
                       size_t max, size_t *out, struct cfw_err *err);

/* Parses t as an xsd:boolean ("true", "false", "1" or "0") into *out.
 * Returns 0 or -EBADMSG. */
int xmltab_parse_xsd_bool(const char *what, const struct xmltab_text *t,
                          bool *out, struct cfw_err *err);

#endif
