#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util.h"

#define SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define TOKEN_HEADER     "x-amz-security-token"
#define SHA256_LEN       32
#define SHA256_HEX_LEN   (2 * SHA256_LEN)
#define AMZ_DATE_LEN     16 /* "20150830T123600Z" */
#define AMZ_DAY_LEN      8  /* "20150830" */
/* AWS secret access keys have 40 characters; anything this long is a
 * mistake, and the bound lets "AWS4" + secret live on the stack. */
#define SECRET_MAX 128
/* 9999-12-31T23:59:59Z, the last second with a four-digit year. */
#define AMZ_DATE_MAX_S INT64_C(253402300799)

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

static bool is_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

static bool is_alnum(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

/* An RFC 9110 token character, as in header names and methods. */
static bool is_tchar(unsigned char c)
{
  return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* True if s is non-empty and every byte satisfies ok. */
static bool all_of(const char *s, bool (*ok)(unsigned char))
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

static int hex_value(unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Appends s[0..n) percent-encoded with uppercase hex.  Unreserved bytes
 * stay as they are, and so does '/' when keep_slash is set. */
static int uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";
  char esc[3];
  unsigned char c;
  size_t i;
  int rc = 0;

  for (i = 0; i < n && rc == 0; i++) {
    c = (unsigned char)s[i];
    if (is_unreserved(c) || (keep_slash && c == '/')) {
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
      hi = n - i > 2 ? hex_value((unsigned char)s[i + 1]) : -1;
      lo = n - i > 2 ? hex_value((unsigned char)s[i + 2]) : -1;
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
static int add_normalized_path(struct buf *b, const char *path)
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
        rc = uri_encode(b, seg, n, false);
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
    rc = uri_encode(&enc, buf_str(tmp), tmp->len, false);
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
static int add_canonical_query(struct buf *b, const char *query,
                               struct cfw_err *err)
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
  if (!all_of(h->name, is_tchar))
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

static int sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1],
                      struct cfw_err *err)
{
  unsigned char md[SHA256_LEN];
  unsigned int len = 0;

  if (EVP_Digest(n > 0 ? p : "", n, md, &len, EVP_sha256(), NULL) != 1 ||
      len != SHA256_LEN)
    return cfw_err_set(err, -EIO, "SHA-256 failed");
  hex_encode(md, SHA256_LEN, out);
  return 0;
}

/* Appends everything after the method and path lines. */
static int add_request_tail(struct buf *b, struct buf *names,
                            const struct sigv4_request *req, const char *token,
                            struct cfw_err *err)
{
  char payload_hash[SHA256_HEX_LEN + 1];
  struct hdr *h = NULL;
  size_t n = 0;
  int rc;

  rc = add_canonical_query(b, req->query, err);
  if (rc == 0)
    rc = buf_addc(b, '\n');
  if (rc == 0)
    rc = collect_headers(req, token, &h, &n, err);
  if (rc == 0)
    rc = add_canonical_headers(b, names, h, n, err);
  free(h);
  if (rc == 0)
    rc = sha256_hex(req->payload, req->payload_len, payload_hash, err);
  if (rc == 0)
    rc = buf_addf(b, "\n%s\n%s", buf_str(names), payload_hash);
  return rc;
}

static int build_canonical_request(const struct sigv4_request *req,
                                   const struct sigv4_creds *c,
                                   const struct sigv4_params *p, struct buf *b,
                                   struct buf *names, struct cfw_err *err)
{
  int rc;

  rc = buf_addf(b, "%s\n", req->method);
  if (rc == 0 && p->s3_style_path)
    rc = uri_encode(b, req->path, strlen(req->path), true);
  else if (rc == 0)
    rc = add_normalized_path(b, req->path);
  if (rc == 0)
    rc = buf_addc(b, '\n');
  if (rc == 0)
    rc = add_request_tail(b, names, req, c->session_token, err);
  return rc;
}

/* Appends "20150830/us-east-1/service/aws4_request". */
static int add_scope(struct buf *b, const struct sigv4_params *p)
{
  return buf_addf(b, "%.*s/%s/%s/%s", AMZ_DAY_LEN, p->amz_date, p->region,
                  p->service, SIGV4_TERMINATOR);
}

static int build_string_to_sign(const struct sigv4_params *p,
                                const struct buf *creq, struct buf *sts,
                                struct cfw_err *err)
{
  char creq_hash[SHA256_HEX_LEN + 1];
  int rc;

  rc = sha256_hex(creq->data, creq->len, creq_hash, err);
  if (rc == 0)
    rc = buf_addf(sts, "%s\n%s\n", SIGV4_ALGORITHM, p->amz_date);
  if (rc == 0)
    rc = add_scope(sts, p);
  if (rc == 0)
    rc = buf_addf(sts, "\n%s", creq_hash);
  return rc;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data,
                       size_t n, unsigned char out[SHA256_LEN])
{
  unsigned int len = 0;

  if (key_len > INT_MAX)
    return -EINVAL;
  if (HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len) == NULL ||
      len != SHA256_LEN)
    return -EIO;
  return 0;
}

/* Derives kSigning from the secret; every intermediate key is wiped. */
static int derive_signing_key(const char *secret, const struct sigv4_params *p,
                              unsigned char key[SHA256_LEN])
{
  static const char prefix[4] = {'A', 'W', 'S', '4'};
  unsigned char k_secret[sizeof(prefix) + SECRET_MAX + 1];
  unsigned char k_date[SHA256_LEN];
  unsigned char k_region[SHA256_LEN];
  size_t n = strlen(secret); /* at most SECRET_MAX, checked on entry */
  int rc;

  /* The key is "AWS4" + secret; the NUL copied along is not part of it. */
  memcpy(k_secret, prefix, sizeof(prefix));
  memcpy(k_secret + sizeof(prefix), secret, n + 1);
  rc = hmac_sha256(k_secret, sizeof(prefix) + n, p->amz_date, AMZ_DAY_LEN,
                   k_date);
  if (rc == 0)
    rc =
        hmac_sha256(k_date, SHA256_LEN, p->region, strlen(p->region), k_region);
  if (rc == 0)
    rc = hmac_sha256(k_region, SHA256_LEN, p->service, strlen(p->service),
                     k_date);
  if (rc == 0)
    rc = hmac_sha256(k_date, SHA256_LEN, SIGV4_TERMINATOR,
                     strlen(SIGV4_TERMINATOR), key);
  OPENSSL_cleanse(k_secret, sizeof(k_secret));
  OPENSSL_cleanse(k_date, sizeof(k_date));
  OPENSSL_cleanse(k_region, sizeof(k_region));
  return rc;
}

static int compute_signature(const char *secret, const struct sigv4_params *p,
                             const struct buf *sts,
                             char sig[SHA256_HEX_LEN + 1], struct cfw_err *err)
{
  unsigned char key[SHA256_LEN];
  unsigned char mac[SHA256_LEN];
  int rc;

  rc = derive_signing_key(secret, p, key);
  if (rc == 0)
    rc = hmac_sha256(key, SHA256_LEN, sts->data, sts->len, mac);
  if (rc == 0)
    hex_encode(mac, SHA256_LEN, sig);
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(mac, sizeof(mac));
  if (rc < 0)
    return cfw_err_set(err, rc, "HMAC-SHA256 failed");
  return 0;
}

static int build_authorization(const struct sigv4_creds *c,
                               const struct sigv4_params *p,
                               const struct buf *names, const char *sig,
                               struct buf *b)
{
  int rc;

  rc = buf_addf(b, "%s Credential=%s/", SIGV4_ALGORITHM, c->access_key_id);
  if (rc == 0)
    rc = add_scope(b, p);
  if (rc == 0)
    rc = buf_addf(b, ", SignedHeaders=%s, Signature=%s", buf_str(names), sig);
  return rc;
}

/* Checks "YYYYMMDDTHHMMSSZ" by shape; the value itself is the caller's. */
static bool is_amz_date(const char *s)
{
  size_t i;

  if (s == NULL || strlen(s) != AMZ_DATE_LEN)
    return false;
  for (i = 0; i < AMZ_DATE_LEN - 1; i++)
    if (i != AMZ_DAY_LEN && (s[i] < '0' || s[i] > '9'))
      return false;
  return s[AMZ_DAY_LEN] == 'T' && s[AMZ_DATE_LEN - 1] == 'Z';
}

/* Messages name the field but quote no value: a caller that swapped two
 * fields must not see a secret in a log. */
static int check_params(const struct sigv4_creds *c,
                        const struct sigv4_params *p, struct cfw_err *err)
{
  if (!all_of(c->access_key_id, is_alnum))
    return cfw_err_set(err, -EINVAL,
                       "access key id is empty or not alphanumeric");
  if (c->secret_access_key == NULL || c->secret_access_key[0] == '\0')
    return cfw_err_set(err, -EINVAL, "secret access key is empty");
  if (strlen(c->secret_access_key) > SECRET_MAX)
    return cfw_err_set(err, -EINVAL, "secret access key over %d bytes",
                       SECRET_MAX);
  if (c->session_token != NULL && c->session_token[0] == '\0')
    return cfw_err_set(err, -EINVAL, "session token is empty");
  if (!all_of(p->region, is_unreserved))
    return cfw_err_set(err, -EINVAL, "region is empty or not A-Za-z0-9-._~");
  if (!all_of(p->service, is_unreserved))
    return cfw_err_set(err, -EINVAL, "service is empty or not A-Za-z0-9-._~");
  if (!is_amz_date(p->amz_date))
    return cfw_err_set(err, -EINVAL, "amz_date is not YYYYMMDDTHHMMSSZ");
  return 0;
}

static int check_request(const struct sigv4_request *req, struct cfw_err *err)
{
  if (!all_of(req->method, is_tchar))
    return cfw_err_set(err, -EINVAL, "method is empty or not a token");
  if (req->path == NULL || req->path[0] != '/')
    return cfw_err_set(err, -EINVAL, "path does not start with '/'");
  if (strpbrk(req->path, "?#") != NULL)
    return cfw_err_set(err, -EINVAL, "path contains '?' or '#'");
  if (req->headers == NULL && req->n_headers > 0)
    return cfw_err_set(err, -EINVAL, "headers missing");
  if (req->payload == NULL && req->payload_len > 0)
    return cfw_err_set(err, -EINVAL, "payload missing");
  return 0;
}

static void wipe_buf(struct buf *b)
{
  if (b->data != NULL)
    OPENSSL_cleanse(b->data, b->cap);
  buf_reset(b);
}

static void result_wipe(struct sigv4_result *r)
{
  wipe_buf(&r->canonical_request);
  wipe_buf(&r->string_to_sign);
  wipe_buf(&r->authorization);
  OPENSSL_cleanse(r->signature, sizeof(r->signature));
  r->signature[0] = '\0';
}

void sigv4_result_init(struct sigv4_result *r)
{
  buf_init(&r->canonical_request, SIGV4_TEXT_MAX);
  buf_init(&r->string_to_sign, SIGV4_TEXT_MAX);
  buf_init(&r->authorization, SIGV4_TEXT_MAX);
  r->signature[0] = '\0';
}

void sigv4_result_free(struct sigv4_result *r)
{
  if (r == NULL)
    return;
  result_wipe(r);
  buf_free(&r->canonical_request);
  buf_free(&r->string_to_sign);
  buf_free(&r->authorization);
}

static int sign_checked(const struct sigv4_request *req,
                        const struct sigv4_creds *c,
                        const struct sigv4_params *p, struct sigv4_result *out,
                        struct cfw_err *err)
{
  struct buf names;
  int rc;

  buf_init(&names, SIGV4_TEXT_MAX);
  rc = build_canonical_request(req, c, p, &out->canonical_request, &names, err);
  if (rc == 0)
    rc = build_string_to_sign(p, &out->canonical_request, &out->string_to_sign,
                              err);
  if (rc == 0)
    rc = compute_signature(c->secret_access_key, p, &out->string_to_sign,
                           out->signature, err);
  if (rc == 0)
    rc = build_authorization(c, p, &names, out->signature, &out->authorization);
  buf_free(&names);
  return rc;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *c,
               const struct sigv4_params *p, struct sigv4_result *out,
               struct cfw_err *err)
{
  int rc;

  result_wipe(out);
  rc = check_request(req, err);
  if (rc == 0)
    rc = check_params(c, p, err);
  if (rc == 0)
    rc = sign_checked(req, c, p, out, err);
  if (rc == 0)
    return 0;
  result_wipe(out);
  /* Codes from buf and calloc arrive without a message; every other
   * failure has set err already. */
  if (rc == -E2BIG)
    rc = cfw_err_set(err, rc, "request text over %zu bytes", SIGV4_TEXT_MAX);
  else if (rc == -ENOMEM)
    rc = cfw_err_set(err, rc, "out of memory");
  return err != NULL ? cfw_err_prefix(err, "sigv4") : rc;
}

int sigv4_amz_date(int64_t unix_s, char out[17])
{
  struct tm tm;
  time_t t;

  if (unix_s < 0 || unix_s > AMZ_DATE_MAX_S ||
      (int64_t)(time_t)unix_s != unix_s)
    return -ERANGE;
  t = (time_t)unix_s;
  if (gmtime_r(&t, &tm) == NULL)
    return -ERANGE;
  if (strftime(out, AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != AMZ_DATE_LEN)
    return -ERANGE;
  return 0;
}
