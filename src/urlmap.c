/* SPDX-License-Identifier: MIT */
#include "urlmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cflimits.h"
#include "exclude.h"
#include "util.h"

struct urlmap {
  char *prefix; /* owned; "" or "/x" without a trailing '/' */
  size_t prefix_len;
  char *index_name; /* owned */
  bool dir_without_slash;
  bool pretty;
  bool query_strings;
  struct exclude *excludes; /* owned */
};

/* Printable ASCII that is escaped: RFC 1738's unsafe set without '~'
 * (covered by a wildcard instead, see urlmap.h), plus '?', which would
 * start a query.  Controls, space and non-ASCII go by range. */
static const char urlmap_unsafe[] = "\"#%<>?`{}|\\^[]";

static bool urlmap_must_escape(unsigned char c)
{
  return c <= 0x20 || c >= 0x7F || strchr(urlmap_unsafe, c) != NULL;
}

int urlmap_encode(const char *in, size_t len, struct buf *out)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t old_len = out->len;
  size_t run = 0;
  size_t i;
  char esc[3];
  int rc = 0;

  /* Copies literal runs whole, so a plain name costs one buf_add. */
  for (i = 0; i < len && rc == 0; i++) {
    if (!urlmap_must_escape((unsigned char)in[i]))
      continue;
    rc = buf_add(out, in + run, i - run);
    esc[0] = '%';
    esc[1] = hex[(unsigned char)in[i] >> 4];
    esc[2] = hex[(unsigned char)in[i] & 0xF];
    if (rc == 0)
      rc = buf_add(out, esc, sizeof(esc));
    run = i + 1;
  }
  if (rc == 0)
    rc = buf_add(out, in + run, len - run);
  if (rc < 0 && out->data != NULL) {
    out->len = old_len;
    out->data[old_len] = '\0';
  }
  return rc;
}

bool urlmap_is_wildcard(const char *path)
{
  size_t len;

  if (path == NULL)
    return false;
  len = strlen(path);
  return len > 0 && path[len - 1] == '*';
}

/* Why a path segment (of a prefix or a relpath) is unusable, or NULL.
 * CloudFront and browsers resolve "." and "..", so such a URL would name
 * another object than the file. */
static const char *urlmap_bad_segment(const char *s, size_t n)
{
  if (n == 0)
    return "empty component (leading, trailing or double '/')";
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
    return "\".\" or \"..\" component";
  return NULL;
}

/* Checks each '/'-separated segment of s[0..len). */
static int urlmap_check_segments(const char *s, size_t len, const char *what,
                                 struct cfw_err *err)
{
  const char *why;
  size_t start = 0;
  size_t i;

  for (i = 0; i <= len; i++) {
    if (i < len && s[i] != '/')
      continue;
    why = urlmap_bad_segment(s + start, i - start);
    if (why != NULL)
      return cfw_err_set(err, -EINVAL, "%s: %s", what, why);
    start = i + 1;
  }
  return 0;
}

/* An escape's hex digit, uppercase only (see below). */
static int urlmap_hexval(char c)
{
  return c >= 'a' && c <= 'f' ? -1 : hex_digit(c);
}

/* Checks the %XX escape at p[0]: uppercase hex, as urlmap_encode() writes,
 * and of a byte it would escape, since CloudFront does not invalidate a
 * path whose safe characters were escaped. */
static bool urlmap_good_escape(const char *p)
{
  int hi = urlmap_hexval(p[1]);
  int lo = hi < 0 ? -1 : urlmap_hexval(p[2]);

  return lo >= 0 && urlmap_must_escape((unsigned char)(hi * 16 + lo));
}

/* Checks the bytes of a prefix; p[0] is '/'. */
static int urlmap_check_prefix_bytes(const char *p, size_t len,
                                     struct cfw_err *err)
{
  unsigned char c;
  size_t i;

  for (i = 0; i < len; i++) {
    c = (unsigned char)p[i];
    if (c == '*' || c == '~')
      return cfw_err_set(err, -EINVAL,
                         "prefix: '%c' at offset %zu cannot be invalidated "
                         "exactly by CloudFront",
                         c, i);
    if (c == '%' && !urlmap_good_escape(p + i))
      return cfw_err_set(err, -EINVAL,
                         "prefix: '%%' at offset %zu does not start an "
                         "uppercase %%XX escape of an unsafe byte",
                         i);
    if (c != '%' && urlmap_must_escape(c))
      return cfw_err_set(err, -EINVAL,
                         "prefix: byte 0x%02X at offset %zu must be written "
                         "percent-encoded, as %%%02X",
                         c, i, c);
  }
  return 0;
}

/* Validates o->prefix and stores it without its trailing '/'. */
static int urlmap_set_prefix(struct urlmap *m, const char *p,
                             struct cfw_err *err)
{
  size_t len = p != NULL ? strlen(p) : 0;
  int rc;

  if (len > 0 && p[0] != '/')
    return cfw_err_set(err, -EINVAL, "prefix \"%s\": must start with '/'", p);
  while (len > 0 && p[len - 1] == '/')
    len--;
  /* Half the limit leaves room for the names and keeps a length cut
   * (see urlmap_cover) out of the prefix. */
  if (len > CF_MAX_PATH_LEN / 2)
    return cfw_err_set(err, -EINVAL, "prefix: longer than %d bytes",
                       CF_MAX_PATH_LEN / 2);
  if (len > 0) {
    rc = urlmap_check_segments(p + 1, len - 1, "prefix", err);
    if (rc == 0)
      rc = urlmap_check_prefix_bytes(p, len, err);
    if (rc < 0)
      return rc;
  }
  m->prefix = strndup(len > 0 ? p : "", len);
  if (m->prefix == NULL)
    return cfw_err_set(err, -ENOMEM, "prefix: out of memory");
  m->prefix_len = len;
  return 0;
}

static int urlmap_set_index(struct urlmap *m, const char *name,
                            struct cfw_err *err)
{
  if (name == NULL)
    name = "index.html";
  if (name[0] == '\0' || strchr(name, '/') != NULL ||
      urlmap_bad_segment(name, strlen(name)) != NULL)
    return cfw_err_set(err, -EINVAL,
                       "index name \"%s\": must be a file name, not empty, "
                       "\".\", \"..\" or holding '/'",
                       name);
  m->index_name = strdup(name);
  if (m->index_name == NULL)
    return cfw_err_set(err, -ENOMEM, "index name: out of memory");
  return 0;
}

static int urlmap_set_excludes(struct urlmap *m, const struct urlmap_opts *o,
                               struct cfw_err *err)
{
  const char *const *def;
  size_t n_def = exclude_defaults(&def);
  size_t i;
  int rc;

  if (o->no_default_excludes)
    n_def = 0;
  rc = exclude_new(&m->excludes, err);
  for (i = 0; i < n_def && rc == 0; i++)
    rc = exclude_add(m->excludes, def[i], err);
  for (i = 0; i < o->n_excludes && rc == 0; i++)
    rc = exclude_add(m->excludes, o->excludes[i], err);
  return rc;
}

int urlmap_new(struct urlmap **out, const struct urlmap_opts *o,
               struct cfw_err *err)
{
  struct urlmap *m;
  int rc;

  *out = NULL;
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    return cfw_err_set(err, -ENOMEM, "urlmap: out of memory");
  m->dir_without_slash = o->dir_without_slash;
  m->pretty = o->pretty;
  m->query_strings = o->query_strings;
  rc = urlmap_set_prefix(m, o->prefix, err);
  if (rc == 0)
    rc = urlmap_set_index(m, o->index_name, err);
  if (rc == 0)
    rc = urlmap_set_excludes(m, o, err);
  if (rc < 0) {
    urlmap_destroy(m);
    return rc;
  }
  *out = m;
  return 0;
}

void urlmap_destroy(struct urlmap *m)
{
  if (m == NULL)
    return;
  exclude_destroy(m->excludes);
  free(m->index_name);
  free(m->prefix);
  free(m);
}

bool urlmap_excluded(const struct urlmap *m, const char *relpath, bool is_dir)
{
  return exclude_match(m->excludes, relpath, is_dir);
}

/* Replaces the URL in b by a wildcard if it holds a '*' or '~', is too
 * long, or always (query_strings: "/a.css*" is the one path that covers
 * "/a.css?v=2").  Every '%' in b starts an escape we wrote, so backing
 * off from a '%' one or two bytes before the cut keeps escapes whole. */
static int urlmap_cover(struct buf *b, bool always)
{
  size_t cut = strcspn(buf_str(b), "*~");
  size_t n = CF_MAX_PATH_LEN - 1;

  if (b->len + (always ? 1 : 0) > CF_MAX_PATH_LEN) {
    if (b->data[n - 1] == '%')
      n -= 1;
    else if (b->data[n - 2] == '%')
      n -= 2;
    if (n < cut)
      cut = n;
  }
  if (cut >= b->len && !always)
    return 0;
  b->len = cut;
  return buf_addc(b, '*');
}

/* A file's candidate URLs, NUL-terminated one after the other in one
 * buffer: one allocation for all of them instead of one each. */
struct urlmap_cands {
  struct buf text;
  size_t off[URLMAP_MAX_PATHS_PER_FILE];
  bool drop[URLMAP_MAX_PATHS_PER_FILE];
  size_t n;
};

static const char *urlmap_cand(const struct urlmap_cands *c, size_t i)
{
  return c->text.data + c->off[i];
}

/* Builds prefix ["/"] encode(rel[0..n)) in b and appends it to c. */
static int urlmap_add(const struct urlmap *m, const char *rel, size_t n,
                      bool slash, struct buf *b, struct urlmap_cands *c)
{
  int rc;

  /* urlmap_candidates makes at most URLMAP_MAX_PATHS_PER_FILE. */
  if (c->n >= URLMAP_MAX_PATHS_PER_FILE)
    return -EINVAL;
  buf_reset(b);
  rc = buf_add(b, m->prefix, m->prefix_len);
  if (rc == 0 && slash)
    rc = buf_addc(b, '/');
  if (rc == 0)
    rc = urlmap_encode(rel, n, b);
  if (rc == 0)
    rc = urlmap_cover(b, m->query_strings);
  if (rc < 0)
    return rc;
  c->off[c->n] = c->text.len;
  rc = buf_add(&c->text, buf_str(b), b->len + 1); /* with its NUL */
  if (rc == 0)
    c->n++;
  return rc;
}

/* True for "x.html" but not ".html", whose short form would be the
 * directory URL. */
static bool urlmap_is_html(const char *name, size_t len)
{
  static const char ext[] = ".html";

  return len > sizeof(ext) - 1 &&
         memcmp(name + len - (sizeof(ext) - 1), ext, sizeof(ext) - 1) == 0;
}

/* Appends every URL of rel to c, duplicates included. */
static int urlmap_candidates(const struct urlmap *m, const char *rel,
                             size_t len, struct buf *b, struct urlmap_cands *c)
{
  const char *slash = strrchr(rel, '/');
  size_t base = slash != NULL ? (size_t)(slash - rel) + 1 : 0;
  int rc;

  rc = urlmap_add(m, rel, len, true, b, c);
  if (rc < 0)
    return rc;
  if (strcmp(rel + base, m->index_name) == 0) {
    /* CloudFront caches /a/ and /a/index.html separately. */
    rc = urlmap_add(m, rel, base, true, b, c);
    if (rc == 0 && m->dir_without_slash && (base > 0 || m->prefix_len > 0))
      rc = urlmap_add(m, rel, base > 0 ? base - 1 : 0, base > 0, b, c);
  } else if (m->pretty && urlmap_is_html(rel + base, len - base)) {
    rc = urlmap_add(m, rel, len - (sizeof(".html") - 1), true, b, c);
  }
  return rc;
}

/* True if wildcard w covers path p. */
static bool urlmap_covers(const char *w, const char *p)
{
  size_t wl = strlen(w);

  return wl > 0 && w[wl - 1] == '*' && strncmp(w, p, wl - 1) == 0;
}

/* True if candidate i repeats an earlier candidate or another one's
 * wildcard covers it.  Dropped candidates are skipped: each has a cover
 * among those left, and covering is transitive, so the answer is the
 * same as with all of them. */
static bool urlmap_redundant(const struct urlmap_cands *c, size_t i)
{
  const char *p = urlmap_cand(c, i);
  const char *q;
  size_t j;

  for (j = 0; j < c->n; j++) {
    if (j == i || c->drop[j])
      continue;
    q = urlmap_cand(c, j);
    if (strcmp(q, p) == 0) {
      if (j < i)
        return true;
    } else if (urlmap_covers(q, p)) {
      return true;
    }
  }
  return false;
}

/* Checks relpath and fills c with the URLs to keep (drop[] marks the
 * others); c->text is for the caller to free. */
static int urlmap_kept(const struct urlmap *m, const char *relpath,
                       struct urlmap_cands *c, struct cfw_err *err)
{
  size_t len = strlen(relpath);
  struct buf b;
  size_t i;
  int rc;

  memset(c, 0, sizeof(*c));
  buf_init(&c->text, SIZE_MAX / 2);
  rc = urlmap_check_segments(relpath, len, "bad relative path", err);
  if (rc < 0)
    return rc;
  /* Each byte encodes to at most 3; the rest is '/', '*' and slack. */
  if (len > (SIZE_MAX - m->prefix_len - 8) / 3)
    return cfw_err_set(err, -ENAMETOOLONG, "path too long");
  buf_init(&b, m->prefix_len + 3 * len + 8);
  rc = urlmap_candidates(m, relpath, len, &b, c);
  buf_free(&b);
  for (i = 0; i < c->n && rc == 0; i++)
    c->drop[i] = urlmap_redundant(c, i);
  if (rc < 0) {
    buf_free(&c->text);
    return cfw_err_set(err, rc, "URL paths: %s",
                       rc == -ENOMEM ? "out of memory" : "too long");
  }
  return 0;
}

int urlmap_paths(const struct urlmap *m, const char *relpath,
                 struct strlist *out, struct cfw_err *err)
{
  size_t start = out->n;
  struct urlmap_cands c;
  size_t i;
  int rc;

  rc = urlmap_kept(m, relpath, &c, err);
  if (rc < 0)
    return rc;
  for (i = 0; i < c.n && rc == 0; i++)
    if (!c.drop[i])
      rc = strlist_push(out, urlmap_cand(&c, i));
  buf_free(&c.text);
  if (rc < 0) {
    while (out->n > start)
      free(out->v[--out->n]);
    return cfw_err_set(err, rc, "URL paths: out of memory");
  }
  return 0;
}

int urlmap_paths_buf(const struct urlmap *m, const char *relpath,
                     struct buf *out, struct cfw_err *err)
{
  size_t start = out->len;
  struct urlmap_cands c;
  const char *p;
  size_t i;
  int rc;

  rc = urlmap_kept(m, relpath, &c, err);
  if (rc < 0)
    return rc;
  for (i = 0; i < c.n && rc == 0; i++) {
    p = urlmap_cand(&c, i);
    if (!c.drop[i])
      rc = buf_add(out, p, strlen(p) + 1); /* with its NUL */
  }
  buf_free(&c.text);
  if (rc < 0) {
    if (out->data != NULL) {
      out->len = start;
      out->data[start] = '\0';
    }
    return cfw_err_set(err, rc, "URL paths: %s",
                       rc == -ENOMEM ? "out of memory" : "no room");
  }
  return 0;
}

const char *urlmap_prefix(const struct urlmap *m)
{
  return m->prefix;
}

void urlmap_describe(const struct urlmap *m, struct urlmap_desc *out)
{
  out->prefix = m->prefix;
  out->index_name = m->index_name;
  out->pretty = m->pretty;
  out->dir_without_slash = m->dir_without_slash;
  out->query_strings = m->query_strings;
}
