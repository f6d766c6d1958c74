/* SPDX-License-Identifier: MIT */
#include "http_req.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "castore.h"
#include "log.h"
#include "util.h"

#ifndef CFWATCH_VERSION
#define CFWATCH_VERSION "0.0.0-dev"
#endif

#define HTTP_USER_AGENT      "cfwatch/" CFWATCH_VERSION
#define HTTP_MAX_HEADER_LINE ((size_t)64 * 1024)
#define HTTP_MAX_TRACE_LINE  ((size_t)2048)

/* Substrings after which a trace line is cut: header names whose values
 * are secrets, wherever they appear (HTTP/1 header blocks, libcurl's
 * HTTP/2 text lines, presigned query strings). */
static const char *const http_secret_names[] = {
    "authorization", "x-amz-security-token", "x-amz-signature"};

static long http_ms_to_long(uint64_t ms)
{
  return ms > (uint64_t)LONG_MAX ? LONG_MAX : (long)ms;
}

void http_req_free(struct http_req *r)
{
  struct curl_slist *l;

  if (r == NULL)
    return;
  if (r->easy != NULL)
    curl_easy_cleanup(r->easy);
  /* The headers may hold a signature or a session token. */
  for (l = r->headers; l != NULL; l = l->next)
    OPENSSL_cleanse(l->data, strlen(l->data));
  curl_slist_free_all(r->headers);
  curl_url_cleanup(r->url);
  buf_free(&r->resp.body);
  buf_free(&r->resp.headers);
  http_stream_release(r->stream);
  r->stream = NULL;
}

/* ---- Per-transfer callbacks ------------------------------------------ */

static size_t http_on_write(char *p, size_t size, size_t n, void *userp)
{
  struct http_req *r = userp;
  int rc;

  /* libcurl documents size as always 1; be safe anyway. */
  if (size != 0 && n > SIZE_MAX / size) {
    r->too_large = true;
    return 0;
  }
  rc = buf_add(&r->resp.body, p, size * n);
  if (rc == -E2BIG)
    r->too_large = true;
  else if (rc < 0)
    r->nomem = true;
  /* Returning less than we were given aborts the transfer. */
  return rc < 0 ? 0 : size * n;
}

/* Returns where name occurs in line (case-insensitive), or SIZE_MAX. */
static size_t http_find_ci(const char *line, size_t len, const char *name)
{
  size_t n = strlen(name);
  size_t i;

  for (i = 0; n <= len && i <= len - n; i++)
    if (strncasecmp(line + i, name, n) == 0)
      return i;
  return SIZE_MAX;
}

/* Logs one trace line, cut after the earliest secret header name (and at
 * HTTP_MAX_TRACE_LINE bytes). */
static void http_trace_line(const struct http_req *r, const char *tag,
                            const char *line, size_t len)
{
  const char *tail = "";
  size_t i;
  size_t at;

  for (i = 0; i < ARRAY_SIZE(http_secret_names); i++) {
    at = http_find_ci(line, len, http_secret_names[i]);
    if (at != SIZE_MAX) {
      len = at + strlen(http_secret_names[i]);
      tail = " [redacted]";
    }
  }
  if (len > HTTP_MAX_TRACE_LINE) {
    len = HTTP_MAX_TRACE_LINE;
    tail = " [cut]";
  }
  log_msg(r->conf->log, LOG_TRACE, "http #%llu: %s %.*s%s",
          (unsigned long long)r->id, tag, (int)len, line, tail);
}

static void http_trace_lines(const struct http_req *r, const char *tag,
                             const char *data, size_t size)
{
  const char *end = data + size;
  const char *nl;
  size_t len;

  while (data < end) {
    nl = memchr(data, '\n', (size_t)(end - data));
    len = nl != NULL ? (size_t)(nl - data) : (size_t)(end - data);
    if (len > 0 && data[len - 1] == '\r')
      len--;
    if (len > 0)
      http_trace_line(r, tag, data, len);
    data = nl != NULL ? nl + 1 : end;
  }
}

static int http_on_debug(CURL *easy, curl_infotype type, char *data,
                         size_t size, void *userp)
{
  const struct http_req *r = userp;

  (void)easy; /* r says which transfer this is */
  if (r->conf->log == NULL || !log_enabled(r->conf->log, LOG_TRACE))
    return 0;
  switch (type) {
  case CURLINFO_TEXT:
    http_trace_lines(r, "*", data, size);
    break;
  case CURLINFO_HEADER_IN:
    http_trace_lines(r, "<", data, size);
    break;
  case CURLINFO_HEADER_OUT:
    http_trace_lines(r, ">", data, size);
    break;
  case CURLINFO_DATA_IN:
  case CURLINFO_DATA_OUT:
    log_msg(r->conf->log, LOG_TRACE, "http #%llu: %s %zu bytes of body",
            (unsigned long long)r->id, type == CURLINFO_DATA_IN ? "<" : ">",
            size);
    break;
  default:
    break; /* TLS records say nothing a reader needs */
  }
  return 0;
}

/* ---- Building a request ---------------------------------------------- */

bool http_host_is_loopback(const char *host)
{
  struct in_addr a4;
  struct in6_addr a6;
  char inner[INET6_ADDRSTRLEN + 1];
  size_t n = strlen(host);

  if (strcasecmp(host, "localhost") == 0)
    return true;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(inner))
    return false;
  memcpy(inner, host + 1, n - 2);
  inner[n - 2] = '\0';
  return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Checks the scheme against the host: https anywhere, http on loopback. */
static int http_check_scheme(CURLU *u, bool *loopback, struct cfw_err *err)
{
  char *scheme = NULL;
  char *host = NULL;
  int rc = 0;

  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    rc = cfw_err_set(err, -EINVAL, "http: URL has no scheme or host");
    goto out;
  }
  *loopback = http_host_is_loopback(host);
  if (strcasecmp(scheme, "https") == 0)
    goto out;
  if (strcasecmp(scheme, "http") != 0)
    rc = cfw_err_set(err, -EINVAL, "http: unsupported scheme %s", scheme);
  else if (!*loopback)
    rc = cfw_err_set(err, -EPERM,
                     "http: plain http to %s refused; use https (http is "
                     "only allowed for loopback hosts)",
                     host);
out:
  curl_free(scheme);
  curl_free(host);
  return rc;
}

static int http_parse_url(const char *url, CURLU **out, bool *loopback,
                          struct cfw_err *err)
{
  CURLU *u;
  CURLUcode uc;
  int rc;

  *out = NULL;
  if (url == NULL)
    return cfw_err_set(err, -EINVAL, "http: no URL");
  u = curl_url();
  if (u == NULL)
    return cfw_err_set(err, -ENOMEM, "http: out of memory");
  uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc != CURLUE_OK) {
    curl_url_cleanup(u);
    /* The URL itself stays out: a presigned one would carry a token. */
    return cfw_err_set(err, uc == CURLUE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL,
                       "http: bad URL: %s", curl_url_strerror(uc));
  }
  rc = http_check_scheme(u, loopback, err);
  if (rc < 0) {
    curl_url_cleanup(u);
    return rc;
  }
  *out = u;
  return 0;
}

static void http_set_long(CURL *e, CURLoption opt, long v, CURLcode *rc)
{
  if (*rc == CURLE_OK)
    *rc = curl_easy_setopt(e, opt, v);
}

static void http_set_ptr(CURL *e, CURLoption opt, const void *v, CURLcode *rc)
{
  if (*rc == CURLE_OK)
    *rc = curl_easy_setopt(e, opt, v);
}

static void http_set_off(CURL *e, CURLoption opt, curl_off_t v, CURLcode *rc)
{
  if (*rc == CURLE_OK)
    *rc = curl_easy_setopt(e, opt, v);
}

static int http_setopt_err(CURLcode rc, struct cfw_err *err)
{
  if (rc == CURLE_OK)
    return 0;
  return cfw_err_set(err, rc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                     "http: curl_easy_setopt: %s", curl_easy_strerror(rc));
}

/* Everything that does not depend on the method, body or headers. */
static int http_setup_transport(struct http_req *r, bool loopback,
                                uint64_t total_ms, struct cfw_err *err)
{
  const struct http_req_conf *conf = r->conf;
  CURL *e = r->easy;
  CURLcode rc = CURLE_OK;

  http_set_ptr(e, CURLOPT_PRIVATE, r, &rc);
  http_set_ptr(e, CURLOPT_CURLU, r->url, &rc);
  http_set_ptr(e, CURLOPT_PROTOCOLS_STR, "http,https", &rc);
  http_set_long(e, CURLOPT_NOSIGNAL, 1L, &rc);
  http_set_long(e, CURLOPT_FOLLOWLOCATION, 0L, &rc);
  http_set_long(e, CURLOPT_SSL_VERIFYPEER, 1L, &rc);
  http_set_long(e, CURLOPT_SSL_VERIFYHOST, 2L, &rc);
  if (conf->ca != NULL) {
    /* Nothing for libcurl to load: the store comes ready-made. */
    http_set_ptr(e, CURLOPT_CAINFO, NULL, &rc);
    http_set_ptr(e, CURLOPT_CAPATH, NULL, &rc);
    http_set_ptr(e, CURLOPT_SSL_CTX_DATA, conf->ca, &rc);
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, castore_on_ssl_ctx);
  } else if (conf->ca_file != NULL) {
    http_set_ptr(e, CURLOPT_CAINFO, conf->ca_file, &rc);
  }
  if (loopback)
    http_set_ptr(e, CURLOPT_PROXY, "", &rc);
  http_set_long(e, CURLOPT_CONNECTTIMEOUT_MS,
                http_ms_to_long(conf->connect_timeout_ms), &rc);
  http_set_long(e, CURLOPT_TIMEOUT_MS, http_ms_to_long(total_ms), &rc);
  http_set_ptr(e, CURLOPT_USERAGENT, HTTP_USER_AGENT, &rc);
  http_set_ptr(e, CURLOPT_ERRORBUFFER, r->errbuf, &rc);
  http_set_off(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)conf->max_body, &rc);
  http_set_ptr(e, CURLOPT_WRITEDATA, r, &rc);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_write);
  if (conf->trace) {
    http_set_long(e, CURLOPT_VERBOSE, 1L, &rc);
    http_set_ptr(e, CURLOPT_DEBUGDATA, r, &rc);
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, http_on_debug);
  }
  return http_setopt_err(rc, err);
}

static bool http_method_ok(const char *m)
{
  if (*m == '\0')
    return false;
  for (; *m != '\0'; m++)
    if (*m < 'A' || *m > 'Z')
      return false;
  return true;
}

/* A body streamed from a file: libcurl's upload, whatever the method. */
static int http_setup_stream(struct http_req *r, const struct http_request *q,
                             const char *m, struct cfw_err *err)
{
  CURL *e = r->easy;
  CURLcode rc = CURLE_OK;
  int src;

  src = http_stream_new(&r->stream, &r->conf->streams, q->file);
  if (src < 0)
    return cfw_err_set(err, src, "http: file body: %s", strerror(-src));
  http_stream_bind(r->stream, e);
  http_set_long(e, CURLOPT_UPLOAD, 1L, &rc);
  http_set_off(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->file->len, &rc);
  http_set_long(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)HTTP_STREAM_CHUNK, &rc);
  http_set_ptr(e, CURLOPT_READDATA, r->stream, &rc);
  http_set_ptr(e, CURLOPT_SEEKDATA, r->stream, &rc);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, http_stream_on_read);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, http_stream_on_seek);
  if (strcmp(m, "PUT") != 0)
    http_set_ptr(e, CURLOPT_CUSTOMREQUEST, m, &rc);
  return http_setopt_err(rc, err);
}

static int http_setup_method(struct http_req *r, const struct http_request *q,
                             struct cfw_err *err)
{
  const char *m = q->method != NULL ? q->method : "GET";
  bool post = strcmp(m, "POST") == 0;
  bool put = strcmp(m, "PUT") == 0;
  CURL *e = r->easy;
  CURLcode rc = CURLE_OK;

  if (!http_method_ok(m))
    return cfw_err_set(err, -EINVAL, "http: bad method");
  if (q->body_len > 0 && q->body == NULL)
    return cfw_err_set(err, -EINVAL, "http: body_len without body");
  if (q->file != NULL && q->body != NULL)
    return cfw_err_set(err, -EINVAL, "http: both a body and a file body");
  if (q->file != NULL)
    return http_setup_stream(r, q, m, err);
  if (strcmp(m, "GET") == 0)
    http_set_long(e, CURLOPT_HTTPGET, 1L, &rc);
  else if (strcmp(m, "HEAD") == 0)
    http_set_long(e, CURLOPT_NOBODY, 1L, &rc);
  else if (!post)
    http_set_ptr(e, CURLOPT_CUSTOMREQUEST, m, &rc);
  /* A PUT always has a body, if empty: S3 wants its Content-Length. */
  if (post || put || q->body_len > 0) {
    /* The size first, so that COPYPOSTFIELDS copies binary data whole. */
    http_set_off(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len, &rc);
    http_set_ptr(e, CURLOPT_COPYPOSTFIELDS, q->body_len > 0 ? q->body : "",
                 &rc);
  }
  return http_setopt_err(rc, err);
}

static bool http_header_ok(const struct http_header *hd)
{
  if (hd->name == NULL || hd->value == NULL || hd->name[0] == '\0')
    return false;
  if (strpbrk(hd->name, ":\r\n \t") != NULL)
    return false;
  return strpbrk(hd->value, "\r\n") == NULL;
}

/* Appends "name: value" (or "name;" for an empty value, which is how
 * libcurl spells it). */
static int http_add_header(struct http_req *r, const char *name,
                           const char *value)
{
  struct curl_slist *l;
  struct buf b;
  int rc;

  buf_init(&b, HTTP_MAX_HEADER_LINE);
  if (value[0] == '\0')
    rc = buf_addf(&b, "%s;", name);
  else
    rc = buf_addf(&b, "%s: %s", name, value);
  l = rc == 0 ? curl_slist_append(r->headers, buf_str(&b)) : NULL;
  if (b.data != NULL)
    OPENSSL_cleanse(b.data, b.len);
  buf_free(&b);
  if (rc < 0)
    return rc;
  if (l == NULL)
    return -ENOMEM;
  r->headers = l;
  return 0;
}

static int http_setup_headers(struct http_req *r, const struct http_request *q,
                              struct cfw_err *err)
{
  CURLcode cc;
  size_t i;
  int rc;

  /* "Expect:" (no value) drops libcurl's Expect: 100-continue, which
   * would stall bodies over 1 MiB waiting for a go-ahead. */
  r->headers = curl_slist_append(NULL, "Expect:");
  if (r->headers == NULL)
    return cfw_err_set(err, -ENOMEM, "http: out of memory");
  rc = 0;
  for (i = 0; rc == 0 && i < q->n_headers; i++) {
    if (!http_header_ok(&q->headers[i]))
      return cfw_err_set(err, -EINVAL, "http: header #%zu is malformed", i);
    rc = http_add_header(r, q->headers[i].name, q->headers[i].value);
  }
  if (rc < 0) /* The header may be a secret: name its index only. */
    return cfw_err_set(err, rc, "http: header #%zu: %s", i, strerror(-rc));
  cc = curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
  return http_setopt_err(cc, err);
}

int http_req_init(struct http_req *r, const struct http_req_conf *conf,
                  const struct http_request *q, uint64_t *next_id,
                  struct cfw_err *err)
{
  bool loopback = false;
  int rc;

  memset(r, 0, sizeof(*r));
  r->conf = conf;
  rc = http_parse_url(q->url, &r->url, &loopback, err);
  if (rc < 0)
    return rc;
  r->id = ++*next_id;
  buf_init(&r->resp.body, conf->max_body);
  buf_init(&r->resp.headers, HTTP_MAX_RESPONSE_HEADERS);
  r->easy = curl_easy_init();
  if (r->easy == NULL)
    rc = cfw_err_set(err, -ENOMEM, "http: curl_easy_init failed");
  if (rc == 0)
    rc = http_setup_transport(r, loopback,
                              q->total_timeout_ms ? q->total_timeout_ms
                                                  : conf->total_timeout_ms,
                              err);
  if (rc == 0)
    rc = http_setup_method(r, q, err);
  if (rc == 0)
    rc = http_setup_headers(r, q, err);
  if (rc < 0)
    http_req_free(r);
  return rc;
}
