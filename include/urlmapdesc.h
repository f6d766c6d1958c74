/* SPDX-License-Identifier: MIT */
#ifndef CFW_URLMAPDESC_H
#define CFW_URLMAPDESC_H

#include <stdbool.h>

#include "buf.h"
#include "strlist.h"

/* What of a URL map (urlmap.h) decides which URLs a file has: the
 * prefix, the index name and the three forms.  The state records it
 * (state.h), so that a site whose mapping changed between runs can
 * invalidate the URLs the edges may still hold under the old one: after
 * the change, no edit invalidates them any more.  Excludes are not part
 * of it: a file they drop is diffed as deleted, and invalidated so.
 *
 * The recorded text, one key a line, in this order; the index name
 * comes last and runs to the end (a file name may hold any byte but
 * '/' and NUL), and the prefix is percent-encoded (urlmap.h), so no
 * line break is ambiguous:
 *   urlmap 1
 *   url_prefix=/blog
 *   pretty_urls=1
 *   dir_without_slash=0
 *   query_strings=0
 *   index_name=index.html */
struct urlmap_desc {
  const char *prefix;     /* "" or "/x" without a trailing '/'; borrowed */
  const char *index_name; /* borrowed */
  bool pretty;
  bool dir_without_slash;
  bool query_strings;
};

/* Appends d's text to out: 0, -ENOMEM or -E2BIG (out's cap). */
int urlmapdesc_format(const struct urlmap_desc *d, struct buf *out);

/* Reads a text urlmapdesc_format wrote, in place: its line breaks become
 * NULs and d's strings point into text.  0, or -EINVAL for anything else
 * (a newer cfwatch's text, damage): d is then unusable. */
int urlmapdesc_parse(char *text, struct urlmap_desc *d);

enum urlmapdesc_change {
  URLMAPDESC_SAME,  /* the same URLs for every file */
  URLMAPDESC_ADDS,  /* each file keeps its URLs (or a wildcard over them)
                     * and may gain some */
  URLMAPDESC_DROPS, /* some file's URL under was is not one under now */
};

/* How now differs from was.  ADDS: every change turns a form on, with
 * the same prefix and index name (pretty_urls adds /a/b, a directory's
 * /a, and query_strings turns /a.css into /a.css*, which covers it). */
enum urlmapdesc_change urlmapdesc_compare(const struct urlmap_desc *was,
                                          const struct urlmap_desc *now);

/* Appends what changed, for a log line, to out:
 * "pretty_urls on -> off, url_prefix /a -> (none)".  0 or -ENOMEM. */
int urlmapdesc_what(const struct urlmap_desc *was,
                    const struct urlmap_desc *now, struct buf *out);

/* Appends to out the paths that cover every URL was gives any file:
 * the prefix's wildcard ("<prefix>/" and a star), and the bare prefix
 * too when dir_without_slash gave the root's index one ("/blog"); with
 * query_strings too, that index's own wildcard ("/blog" and a star)
 * alone, which covers the rest.  One or two paths, whatever the site's
 * size.  0, -ENAMETOOLONG or -ENOMEM. */
int urlmapdesc_flush(const struct urlmap_desc *was, struct strlist *out);

#endif
