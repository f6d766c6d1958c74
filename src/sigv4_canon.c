/* SPDX-License-Identifier: MIT */
#include "sigv4_canon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define TOKEN_HEADER "x-amz-security-token"

/* A header to sign; order keeps repeated headers in the order given. */
struct hdr {
  const char *name;  /* borrowed */
  const char *value; /* borrowed */
  size_t order;
};

/* One query parameter, both parts already in canonical encoding. */
struct qparam {
  char *key;   /* owned */
  char *value; /* owned */
};

bool sigv4_canon_is_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

bool sigv4_canon_is_alnum(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

/* An RFC 9110 token character, as in header names and methods. */
bool sigv4_canon_is_tchar(unsigned char c)
{
  return sigv4_canon_is_alnum(c) ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* True if s is non-empty and every byte satisfies ok. */
bool sigv4_canon_all_of(const char *s, bool (*ok)(unsigned char))
{
  if (s == NULL || *s == '\0')
    return false;
  for (; *s != '\0'; s++)
    if (!ok((unsigned char)*s))
      return false;
  return true;
}

static unsigned char to_lower(unsigned char c)
{
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Appends s[0..n) percent-encoded with uppercase hex.  Unreserved bytes
 * stay as they are, and so does '/' when keep_slash is set. */
int sigv4_canon_uri_encode(struct buf *b, const char *s, size_t n,
                           bool keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";
  char esc[3];
  unsigned char c;
  size_t i;
  int rc = 0;

  for (i = 0; i < n && rc == 0; i++) {
    c = (unsigned char)s[i];
    if (sigv4_canon_is_unreserved(c) || (keep_slash && c == '/')) {
      rc = buf_addc(b, (char)c);
      continue;
    }
    esc[0] = '%';
    esc[1] = hex[c >> 4];
    esc[2] = hex[c & 0xf];
    rc = buf_add(b, esc, sizeof(esc));
  }
  return rc;
}

/* Appends s[0..n) with its %XX escapes decoded.  -EINVAL for a '%' that
 * does not start an escape. */
static int uri_decode(struct buf *b, const char *s, size_t n)
{
  size_t i;
  int hi;
  int lo;
  int rc = 0;
  char c;

  for (i = 0; i < n && rc == 0; i++) {
    c = s[i];
    if (c == '%') {
      hi = n - i > 2 ? hex_digit(s[i + 1]) : -1;
      lo = n - i > 2 ? hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return -EINVAL;
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    rc = buf_addc(b, c);
  }
  return rc;
}

/* Cuts b back to len bytes.  buf.h has no such call, but its fields are
 * public and the NUL must follow the contents. */
static void buf_cut(struct buf *b, size_t len)
{
  b->len = len;
  if (b->data != NULL)
    b->data[len] = '\0';
}

/* Appends the path with dot segments removed (RFC 3986 5.2.4) and empty
 * segments dropped, each segment encoded.  Encoded segments contain no
 * '/', so ".." drops everything after the last '/'. */
int sigv4_canon_add_normalized_path(struct buf *b, const char *path)
{
  size_t start = b->len;
  const char *seg;
  const char *end;
  size_t n;
  size_t keep;
  bool dir = false;
  int rc = 0;

  for (seg = path; *seg != '\0' && rc == 0; seg = end) {
    end = seg + 1;
    if (*seg == '/') {
      dir = true;
      continue;
    }
    end = seg + strcspn(seg, "/");
    n = (size_t)(end - seg);
    dir = (n == 1 && seg[0] == '.') || (n == 2 && memcmp(seg, "..", 2) == 0);
    if (n == 2 && dir) {
      keep = b->len;
      while (keep > start && b->data[keep - 1] != '/')
        keep--;
      buf_cut(b, keep > start ? keep - 1 : start);
    } else if (!dir) {
      rc = buf_addc(b, '/');
      if (rc == 0)
        rc = sigv4_canon_uri_encode(b, seg, n, false);
    }
  }
  if (rc == 0 && (b->len == start || dir))
    rc = buf_addc(b, '/');
  return rc;
}

/* Decodes s[0..n) and hands it back re-encoded in *out (owned). */
static int query_part(const char *s, size_t n, struct buf *tmp, char **out)
{
  struct buf enc;
  int rc;

  buf_init(&enc, SIGV4_TEXT_MAX);
  buf_reset(tmp);
  rc = uri_decode(tmp, s, n);
  if (rc == 0)
    rc = sigv4_canon_uri_encode(&enc, buf_str(tmp), tmp->len, false);
  if (rc == 0) {
    *out = buf_take(&enc);
    rc = *out == NULL ? -ENOMEM : 0;
  }
  buf_free(&enc);
  return rc;
}

/* Splits the query at '&' and '=' into v (room for every pair); empty
 * pairs are skipped and a key without '=' gets an empty value. */
static int query_parse(const char *q, struct qparam *v, size_t *n_out)
{
  struct buf tmp;
  const char *pair;
  const char *eq;
  size_t len;
  size_t klen;
  size_t n = 0;
  int rc = 0;

  buf_init(&tmp, SIGV4_TEXT_MAX);
  for (pair = q; *pair != '\0' && rc == 0; pair += len + (pair[len] == '&')) {
    len = strcspn(pair, "&");
    if (len == 0)
      continue;
    eq = memchr(pair, '=', len);
    klen = eq != NULL ? (size_t)(eq - pair) : len;
    rc = query_part(pair, klen, &tmp, &v[n].key);
    if (rc == 0)
      rc = query_part(pair + klen + (eq != NULL), len - klen - (eq != NULL),
                      &tmp, &v[n].value);
    n++;
  }
  buf_free(&tmp);
  *n_out = n;
  return rc;
}

static int qparam_cmp(const void *a, const void *b)
{
  const struct qparam *x = a;
  const struct qparam *y = b;
  int c = strcmp(x->key, y->key);

  return c != 0 ? c : strcmp(x->value, y->value);
}

/* Appends the canonical query: pairs sorted by encoded key, then value. */
int sigv4_canon_add_query(struct buf *b, const char *query, struct cfw_err *err)
{
  struct qparam *v;
  size_t n = 1;
  size_t i;
  int rc;

  if (query == NULL)
    return 0;
  for (i = 0; query[i] != '\0'; i++)
    n += query[i] == '&';
  v = calloc(n, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  rc = query_parse(query, v, &n);
  if (rc == 0)
    qsort(v, n, sizeof(*v), qparam_cmp);
  for (i = 0; i < n && rc == 0; i++)
    rc = buf_addf(b, "%s%s=%s", i > 0 ? "&" : "", v[i].key, v[i].value);
  for (i = 0; i < n; i++) {
    free(v[i].key);
    free(v[i].value);
  }
  free(v);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc, "query: '%%' without two hex digits");
  return rc;
}

/* Bytes of linear white space at s: spaces, tabs and obsolete line
 * folds (a CRLF or LF followed by a space or tab). */
static size_t lws_len(const char *s)
{
  const char *p = s;

  for (;;) {
    if (*p == ' ' || *p == '\t')
      p++;
    else if (p[0] == '\n' && (p[1] == ' ' || p[1] == '\t'))
      p += 2;
    else if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
      p += 3;
    else
      return (size_t)(p - s);
  }
}

/* Appends v trimmed, each run of white space as one space.  -EINVAL for a
 * line break that is not a fold, as it would split the header. */
static int add_header_value(struct buf *b, const char *v)
{
  size_t run;
  size_t ws;
  int rc = 0;

  v += lws_len(v);
  while (*v != '\0' && rc == 0) {
    if (*v == '\r' || *v == '\n')
      return -EINVAL;
    run = strcspn(v, " \t\r\n");
    rc = buf_add(b, v, run);
    v += run;
    ws = lws_len(v);
    v += ws;
    if (rc == 0 && ws > 0 && *v != '\0')
      rc = buf_addc(b, ' ');
  }
  return rc;
}

static int add_lower(struct buf *b, const char *s)
{
  int rc = 0;

  for (; *s != '\0' && rc == 0; s++)
    rc = buf_addc(b, (char)to_lower((unsigned char)*s));
  return rc;
}

static int hdr_cmp(const void *a, const void *b)
{
  const struct hdr *x = a;
  const struct hdr *y = b;
  /* Names are tokens, so strcasecmp orders them as their lowercase forms
   * do, byte by byte. */
  int c = strcasecmp(x->name, y->name);

  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Checks header i.  Only names are quoted: values may be credentials. */
static int check_header(const struct sigv4_header *h, size_t i,
                        const char *token, struct cfw_err *err)
{
  if (!sigv4_canon_all_of(h->name, sigv4_canon_is_tchar))
    return cfw_err_set(err, -EINVAL, "header %zu: bad name", i);
  if (h->value == NULL)
    return cfw_err_set(err, -EINVAL, "header %s: no value", h->name);
  if (strcasecmp(h->name, "authorization") == 0)
    return cfw_err_set(err, -EINVAL, "header %s: cannot be signed", h->name);
  if (token != NULL && strcasecmp(h->name, TOKEN_HEADER) == 0 &&
      strcmp(h->value, token) != 0)
    return cfw_err_set(err, -EINVAL, "header %s: differs from session token",
                       h->name);
  return 0;
}

/* Copies the headers to sign into *out (owned), adding the session token
 * unless the caller passed it, and sorts them by name, then order. */
static int collect_headers(const struct sigv4_request *req, const char *token,
                           struct hdr **out, size_t *n_out, struct cfw_err *err)
{
  const struct sigv4_header *sh;
  struct hdr *h;
  bool host = false;
  bool have_token = false;
  size_t n;
  int rc;

  /* Each header takes at least "a:\n" in the canonical request. */
  if (req->n_headers > SIGV4_TEXT_MAX / 3)
    return -E2BIG;
  h = calloc(req->n_headers + 1, sizeof(*h));
  if (h == NULL)
    return -ENOMEM;
  for (n = 0; n < req->n_headers; n++) {
    sh = &req->headers[n];
    rc = check_header(sh, n, token, err);
    if (rc < 0) {
      free(h);
      return rc;
    }
    host = host || strcasecmp(sh->name, "host") == 0;
    have_token = have_token || strcasecmp(sh->name, TOKEN_HEADER) == 0;
    h[n] = (struct hdr){sh->name, sh->value, n};
  }
  if (!host) {
    free(h);
    return cfw_err_set(err, -EINVAL, "no Host header");
  }
  if (token != NULL && !have_token) {
    h[n] = (struct hdr){TOKEN_HEADER, token, n};
    n++;
  }
  qsort(h, n, sizeof(*h), hdr_cmp);
  *out = h;
  *n_out = n;
  return 0;
}

/* Appends "name:v1,v2\n" per distinct name to b and "name;name" to
 * names, both with lowercase names. */
static int add_canonical_headers(struct buf *b, struct buf *names,
                                 const struct hdr *h, size_t n,
                                 struct cfw_err *err)
{
  size_t i;
  size_t j;
  int rc = 0;

  for (i = 0; i < n && rc == 0; i = j) {
    if (i > 0)
      rc = buf_addc(names, ';');
    if (rc == 0)
      rc = add_lower(names, h[i].name);
    if (rc == 0)
      rc = add_lower(b, h[i].name);
    if (rc == 0)
      rc = buf_addc(b, ':');
    for (j = i; j < n && strcasecmp(h[j].name, h[i].name) == 0; j++) {
      if (rc == 0 && j > i)
        rc = buf_addc(b, ',');
      if (rc == 0)
        rc = add_header_value(b, h[j].value);
      if (rc == -EINVAL)
        return cfw_err_set(err, rc, "header %s: line break in value",
                           h[j].name);
    }
    if (rc == 0)
      rc = buf_addc(b, '\n');
  }
  return rc;
}

int sigv4_canon_add_headers(struct buf *b, struct buf *names,
                            const struct sigv4_request *req, const char *token,
                            struct cfw_err *err)
{
  struct hdr *h = NULL;
  size_t n = 0;
  int rc;

  rc = collect_headers(req, token, &h, &n, err);
  if (rc == 0)
    rc = add_canonical_headers(b, names, h, n, err);
  free(h);
  return rc;
}
