/* SPDX-License-Identifier: MIT */
#ifndef CFW_URLMAP_H
#define CFW_URLMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "strlist.h"
#include "urlmapdesc.h"

/* Maps a file of the build folder to the CloudFront URL paths that cache
 * it, and decides which files are not part of the site at all.
 *
 * Mapping, for relpath "a/b.html" and index name "index.html":
 *   a/b.html       -> /a/b.html           (+ /a/b if pretty)
 *   a/index.html   -> /a/index.html, /a/  (+ /a if dir_without_slash)
 *   index.html     -> /index.html, /      (never "" for the root)
 * A prefix "/blog" goes in front of each: /blog/a/b.html, /blog/ and,
 * with dir_without_slash, /blog for the root index.  "pretty" applies to
 * names ending in ".html" (case-sensitive) other than the index file,
 * whose short forms are its directory URLs.
 *
 * Each path is percent-encoded by urlmap_encode().  CloudFront cannot name
 * a '*' exactly (it means a wildcard, allowed only last) and refuses a
 * literal '~' while "%7E" invalidates nothing, so a URL holding either is
 * replaced by a wildcard on the part before the first of them:
 * "a/b*c.html" -> "/a/b*".  A URL longer than CF_MAX_PATH_LEN is likewise
 * cut, never inside a %XX escape, and ends in '*'.  One file never yields
 * the same path twice, nor a path that one of its own wildcards covers.
 *
 * With query_strings (a distribution whose cache key holds the query
 * string), "/a.css" does not drop "/a.css?v=2": each URL then ends in
 * '*', as CloudFront's guide advises for query strings, and the file's
 * own wildcards cover its other forms.  An index file "a/index.html"
 * so yields one path, "/a/" then '*', covering its directory's whole
 * subtree ("/a/?x=1" has no narrower cover), or "/a" then '*' with
 * dir_without_slash; the root's index yields the site's top wildcard.
 *
 * Excludes are fnmatch(3) globs, checked against a relpath by exclude.h,
 * which states what they match: a glob without '/' matches any single
 * component, one with '/' the whole relpath, one ending in '/'
 * directories only, and a matched directory excludes all under it.
 * Default excludes, unless no_default_excludes is set:
 *   *.swp *.swo *.swx 4913   vim swap files and vim's write-probe file
 *   *~                       backups of vim, emacs, gedit and others
 *   .#* #*#                  emacs lock links and auto-save files
 *   .~lock.*#                LibreOffice lock files
 *   .DS_Store                macOS Finder metadata
 *   .git/ .hg/ .svn/         version-control directories
 * Other dot files (.well-known/, .htaccess) are served by some sites and
 * stay in; so do *.tmp files. */

/* The most paths urlmap_paths() appends for one file. */
#define URLMAP_MAX_PATHS_PER_FILE 3

struct urlmap; /* opaque */

struct urlmap_opts {
  /* "" or NULL for none, or a URL path such as "/blog"; trailing '/' is
   * dropped.  It must already be a valid CloudFront path: it starts with
   * '/', has no empty, "." or ".." segment, no '*' or '~', and each byte
   * that urlmap_encode() would escape is written as that %XX escape
   * (e.g. "/caf%C3%A9"); anything else is refused.  Borrowed. */
  const char *prefix;
  const char *index_name;      /* NULL means "index.html"; borrowed */
  bool dir_without_slash;      /* an index file also yields "/a" */
  bool pretty;                 /* a/b.html also yields /a/b */
  bool query_strings;          /* each URL ends in '*' (see above) */
  const char *const *excludes; /* user globs added to the defaults */
  size_t n_excludes;
  bool no_default_excludes;
};

/* Builds a map from o, copying what it keeps, so o's strings may go once
 * this returns.  Returns 0, -EINVAL (bad prefix, index name or exclude
 * glob, explained in err) or -ENOMEM; on failure *out is NULL. */
int urlmap_new(struct urlmap **out, const struct urlmap_opts *o,
               struct cfw_err *err);
void urlmap_destroy(struct urlmap *m); /* NULL is fine */

/* True if relpath (a file, or a directory if is_dir) or one of its parent
 * directories matches an exclude glob: exclude_match(), which tests every
 * component, allocates nothing and is safe to call from several threads
 * at once.  O(globs * components). */
bool urlmap_excluded(const struct urlmap *m, const char *relpath, bool is_dir);

/* Appends the URL paths of one file to out, at most
 * URLMAP_MAX_PATHS_PER_FILE of them, in the order: the file's own path,
 * then its directory or pretty forms.  relpath is relative to the root,
 * '/'-separated, without a leading or trailing '/', empty, "." or ".."
 * component, holding the raw bytes of the names on disk.  The caller
 * checks urlmap_excluded() first.  Duplicates with paths already in out
 * are left to the caller (strlist_sort_unique).  Returns 0, -EINVAL (bad
 * relpath), -ENAMETOOLONG or -ENOMEM; on failure out is as it was. */
int urlmap_paths(const struct urlmap *m, const char *relpath,
                 struct strlist *out, struct cfw_err *err);

/* Like urlmap_paths(), but appends the paths to out's bytes, each with
 * its terminating NUL (counted in out->len), one after the other: for a
 * caller keeping many files' URLs, one growing arena instead of one
 * allocation per URL.  No path is empty, so an empty string can mark
 * the end of a group.  Returns 0, -EINVAL (bad relpath),
 * -ENAMETOOLONG, -ENOMEM or -E2BIG (out's cap); on failure out is as it
 * was. */
int urlmap_paths_buf(const struct urlmap *m, const char *relpath,
                     struct buf *out, struct cfw_err *err);

/* Appends len raw bytes to out, percent-encoded as CloudFront wants: the
 * bytes 0x00-0x20, 0x7F-0xFF and " # % < > ? ` { } | \ ^ [ ] become %XX
 * (uppercase hex, so UTF-8 names come out as their UTF-8 bytes); all else,
 * '/', '*' and '~' included, is copied.  Returns 0, -ENOMEM or -E2BIG (out's
 * cap); on failure out may hold part of the encoding. */
int urlmap_encode(const char *in, size_t len, struct buf *out);

/* True if path, an already-built URL path, is a wildcard: ends in '*'. */
bool urlmap_is_wildcard(const char *path);

/* The URL prefix every path starts with: "" or "/x", already encoded,
 * without a trailing '/'.  Borrowed from m. */
const char *urlmap_prefix(const struct urlmap *m);

/* What of m decides each file's URLs (urlmapdesc.h), as it was built:
 * the prefix without its trailing '/', the index name's default filled
 * in.  The strings are borrowed from m. */
void urlmap_describe(const struct urlmap *m, struct urlmap_desc *out);

#endif
