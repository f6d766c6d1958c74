#include "http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Defined checks keep analysers that skip system headers quiet. */
#if defined(LIBCURL_VERSION_NUM) && LIBCURL_VERSION_NUM < 0x075500
#error "libcurl 7.85 or newer is needed (curl_easy_header, PROTOCOLS_STR)"
#endif

#ifndef CFWATCH_VERSION
#define CFWATCH_VERSION "0.0.0-dev"
#endif

#define HTTP_USER_AGENT         "cfwatch/" CFWATCH_VERSION
#define HTTP_DEFAULT_CONNECT_MS 10000
#define HTTP_DEFAULT_TOTAL_MS   60000
#define HTTP_DEFAULT_MAX_BODY   ((size_t)4 * 1024 * 1024)
#define HTTP_MAX_HEADER_LINE    ((size_t)64 * 1024)
#define HTTP_MAX_TRACE_LINE     ((size_t)2048)

/* An intrusive circular list, as libuv's queue: the head is a sentinel. */
struct http_link {
  struct http_link *prev;
  struct http_link *next;
};

/* One socket libcurl asked us to watch. */
struct http_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct http *h; /* borrowed */
  struct http_link link;
};

/* One request in flight. */
struct http_req {
  struct http *h;             /* borrowed */
  CURL *easy;                 /* owned */
  CURLU *url;                 /* owned; the easy handle uses it */
  struct curl_slist *headers; /* owned; wiped before free */
  http_cb cb;
  void *arg;
  uint64_t id;       /* for trace lines */
  uint64_t start_ns; /* uv_hrtime() at http_send */
  bool too_large;
  bool nomem;
  char errbuf[CURL_ERROR_SIZE];
  struct http_response resp;
  struct http_link link;
};

struct http {
  uv_loop_t *loop; /* borrowed */
  uv_timer_t timer;
  CURLM *multi;    /* owned; NULL once closing */
  struct log *log; /* borrowed */
  char *ca_file;   /* owned; NULL: system store only */
  uint64_t connect_timeout_ms;
  uint64_t total_timeout_ms;
  size_t max_body;
  bool trace;
  bool closing;
  uint64_t next_id;
  size_t n_handles;        /* open uv handles: the timer and the sockets */
  struct http_link socks;  /* struct http_sock */
  struct http_link reqs;   /* struct http_req */
  void (*done)(void *arg); /* from http_close */
  void *done_arg;
};

/* Substrings after which a trace line is cut: header names whose values
 * are secrets, wherever they appear (HTTP/1 header blocks, libcurl's
 * HTTP/2 text lines, presigned query strings). */
static const char *const http_secret_names[] = {
    "authorization", "x-amz-security-token", "x-amz-signature"};

static void http_on_poll(uv_poll_t *poll, int status, int events);

static void http_link_init(struct http_link *l)
{
  l->prev = l;
  l->next = l;
}

static void http_link_insert(struct http_link *head, struct http_link *l)
{
  l->next = head;
  l->prev = head->prev;
  head->prev->next = l;
  head->prev = l;
}

static void http_link_remove(struct http_link *l)
{
  l->prev->next = l->next;
  l->next->prev = l->prev;
  http_link_init(l);
}

static bool http_link_empty(const struct http_link *head)
{
  return head->next == head;
}

const char *http_fail_str(enum http_fail f)
{
  switch (f) {
  case HTTP_OK:
    return "ok";
  case HTTP_CONNECT:
    return "connect";
  case HTTP_TIMEOUT:
    return "timeout";
  case HTTP_RECV:
    return "connection broken";
  case HTTP_TLS:
    return "tls";
  case HTTP_TOO_LARGE:
    return "response too large";
  case HTTP_CANCELLED:
    return "cancelled";
  case HTTP_OTHER:
    break;
  }
  return "other";
}

static long http_ms_to_long(uint64_t ms)
{
  return ms > (uint64_t)LONG_MAX ? LONG_MAX : (long)ms;
}

/* Frees everything a request owns.  The easy handle must already be out
 * of the multi handle (or never have been in it). */
static void http_req_free(struct http_req *r)
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
  free(r);
}

/* ---- Closing ------------------------------------------------------- */

static void http_maybe_finish(struct http *h)
{
  void (*done)(void *arg) = h->done;
  void *arg = h->done_arg;

  if (!h->closing || h->n_handles > 0)
    return;
  free(h->ca_file);
  free(h);
  if (done != NULL)
    done(arg);
}

static void http_on_poll_close(uv_handle_t *handle)
{
  struct http_sock *s = container_of(handle, struct http_sock, poll);
  struct http *h = s->h;

  free(s);
  h->n_handles--;
  http_maybe_finish(h);
}

static void http_on_timer_close(uv_handle_t *handle)
{
  struct http *h = container_of(handle, struct http, timer);

  h->n_handles--;
  http_maybe_finish(h);
}

static void http_sock_close(struct http_sock *s)
{
  http_link_remove(&s->link);
  uv_close((uv_handle_t *)&s->poll, http_on_poll_close);
}

/* ---- libcurl's socket and timer callbacks --------------------------- */

static int http_sock_new(struct http *h, curl_socket_t fd,
                         struct http_sock **out)
{
  struct http_sock *s;
  CURLMcode mc;
  int rc;

  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  rc = uv_poll_init_socket(h->loop, &s->poll, fd);
  if (rc < 0) {
    free(s); /* a failed init leaves no handle to close */
    return rc;
  }
  s->fd = fd;
  s->h = h;
  http_link_insert(&h->socks, &s->link);
  h->n_handles++;
  mc = curl_multi_assign(h->multi, fd, s);
  if (mc != CURLM_OK) {
    http_sock_close(s);
    return -EIO;
  }
  *out = s;
  return 0;
}

static int http_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp)
{
  struct http *h = userp;
  struct http_sock *s = socketp;
  int events = 0;
  int rc;

  (void)easy; /* the socket, not the transfer, is what we watch */
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL)
      http_sock_close(s);
    return 0;
  }
  if (h->closing)
    return 0;
  if (s == NULL) {
    rc = http_sock_new(h, fd, &s);
    if (rc < 0) {
      log_msg(h->log, LOG_ERROR, "http: watching socket %d: %s", (int)fd,
              uv_strerror(rc));
      return -1;
    }
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  rc = uv_poll_start(&s->poll, events, http_on_poll);
  if (rc < 0) {
    log_msg(h->log, LOG_ERROR, "http: uv_poll_start: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
}

/* ---- Completion ----------------------------------------------------- */

static void http_set_error(struct http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void http_set_error(struct http_response *resp, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  /* Truncation is acceptable: a long message is still useful cut short. */
  (void)vsnprintf(resp->error, sizeof(resp->error), fmt, ap);
  va_end(ap);
}

static enum http_fail http_classify(CURLcode code)
{
  switch (code) {
  case CURLE_OK:
    return HTTP_OK;
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
    return HTTP_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return HTTP_TIMEOUT;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return HTTP_RECV;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    return HTTP_TLS;
  case CURLE_FILESIZE_EXCEEDED:
    return HTTP_TOO_LARGE;
  default:
    return HTTP_OTHER;
  }
}

/* Copies one header of the final response; "" if absent or too long. */
static void http_copy_header(CURL *easy, const char *name, char *out,
                             size_t outlen)
{
  struct curl_header *hd;
  int n;

  out[0] = '\0';
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
    return;
  n = snprintf(out, outlen, "%s", hd->value);
  if (n < 0 || (size_t)n >= outlen)
    out[0] = '\0';
}

static void http_fill_response(struct http_req *r, CURLcode code)
{
  struct http_response *resp = &r->resp;
  long status = 0;

  if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
    resp->status = (int)status;
  resp->curl_code = (int)code;
  resp->fail = r->too_large ? HTTP_TOO_LARGE : http_classify(code);
  if (resp->fail == HTTP_TOO_LARGE)
    http_set_error(resp, "response body over %zu bytes", r->h->max_body);
  else if (r->nomem)
    http_set_error(resp, "out of memory buffering the response body");
  else if (code != CURLE_OK)
    http_set_error(resp, "%s",
                   r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
  http_copy_header(r->easy, "Location", resp->location, sizeof(resp->location));
  http_copy_header(r->easy, "x-amz-request-id", resp->request_id,
                   sizeof(resp->request_id));
  http_copy_header(r->easy, "Content-Type", resp->content_type,
                   sizeof(resp->content_type));
  http_copy_header(r->easy, "Retry-After", resp->retry_after,
                   sizeof(resp->retry_after));
  resp->elapsed_ms = (uv_hrtime() - r->start_ns) / 1000000;
}

/* Takes r out of the multi handle and the list, runs its callback once,
 * and frees it. */
static void http_finish(struct http_req *r)
{
  struct http *h = r->h;
  CURLMcode mc;

  mc = curl_multi_remove_handle(h->multi, r->easy);
  if (mc != CURLM_OK)
    log_msg(h->log, LOG_ERROR, "http: curl_multi_remove_handle: %s",
            curl_multi_strerror(mc));
  http_link_remove(&r->link);
  r->cb(&r->resp, r->arg);
  http_req_free(r);
}

/* Finishes every transfer libcurl reports done.  A callback may close the
 * client, after which the multi handle is gone and we stop. */
static void http_collect(struct http *h)
{
  struct http_req *r;
  CURLMsg *msg;
  char *priv;
  int left;

  while (!h->closing) {
    msg = curl_multi_info_read(h->multi, &left);
    if (msg == NULL)
      break;
    if (msg->msg != CURLMSG_DONE)
      continue;
    if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) !=
            CURLE_OK ||
        priv == NULL) {
      log_msg(h->log, LOG_ERROR, "http: finished transfer has no request");
      continue;
    }
    r = (struct http_req *)(void *)priv;
    http_fill_response(r, msg->data.result);
    http_finish(r);
  }
}

static void http_drive(struct http *h, curl_socket_t fd, int flags)
{
  CURLMcode mc;
  int running;

  if (h->closing)
    return;
  mc = curl_multi_socket_action(h->multi, fd, flags, &running);
  if (mc != CURLM_OK)
    log_msg(h->log, LOG_ERROR, "http: curl_multi_socket_action: %s",
            curl_multi_strerror(mc));
  http_collect(h);
}

static void http_on_poll(uv_poll_t *poll, int status, int events)
{
  struct http_sock *s = container_of(poll, struct http_sock, poll);
  int flags = 0;

  if (status < 0) {
    /* libuv reports POLLERR (e.g. a reset) as UV_EBADF and stops the
     * handle.  ERR alone makes libcurl fail with a bare "select/poll
     * returned error"; with IN and OUT it reads or writes and reports
     * what the socket says, such as "Connection reset by peer". */
    flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
  } else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  http_drive(s->h, s->fd, flags);
}

static void http_on_timeout(uv_timer_t *timer)
{
  struct http *h = container_of(timer, struct http, timer);

  http_drive(h, CURL_SOCKET_TIMEOUT, 0);
}

static int http_on_timer_update(CURLM *multi, long timeout_ms, void *userp)
{
  struct http *h = userp;
  int rc;

  (void)multi; /* h->multi, and NULL while closing */
  if (h->closing)
    return 0;
  if (timeout_ms < 0)
    rc = uv_timer_stop(&h->timer);
  else
    rc = uv_timer_start(&h->timer, http_on_timeout, (uint64_t)timeout_ms, 0);
  if (rc < 0) {
    log_msg(h->log, LOG_ERROR, "http: timer: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
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
  log_msg(r->h->log, LOG_TRACE, "http #%llu: %s %.*s%s",
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
  if (r->h->log == NULL || !log_enabled(r->h->log, LOG_TRACE))
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
    log_msg(r->h->log, LOG_TRACE, "http #%llu: %s %zu bytes of body",
            (unsigned long long)r->id, type == CURLINFO_DATA_IN ? "<" : ">",
            size);
    break;
  default:
    break; /* TLS records say nothing a reader needs */
  }
  return 0;
}

/* ---- Building a request ---------------------------------------------- */

static bool http_is_loopback(const char *host)
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
  *loopback = http_is_loopback(host);
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
  const struct http *h = r->h;
  CURL *e = r->easy;
  CURLcode rc = CURLE_OK;

  http_set_ptr(e, CURLOPT_PRIVATE, r, &rc);
  http_set_ptr(e, CURLOPT_CURLU, r->url, &rc);
  http_set_ptr(e, CURLOPT_PROTOCOLS_STR, "http,https", &rc);
  http_set_long(e, CURLOPT_NOSIGNAL, 1L, &rc);
  http_set_long(e, CURLOPT_FOLLOWLOCATION, 0L, &rc);
  http_set_long(e, CURLOPT_SSL_VERIFYPEER, 1L, &rc);
  http_set_long(e, CURLOPT_SSL_VERIFYHOST, 2L, &rc);
  if (h->ca_file != NULL)
    http_set_ptr(e, CURLOPT_CAINFO, h->ca_file, &rc);
  if (loopback)
    http_set_ptr(e, CURLOPT_PROXY, "", &rc);
  http_set_long(e, CURLOPT_CONNECTTIMEOUT_MS,
                http_ms_to_long(h->connect_timeout_ms), &rc);
  http_set_long(e, CURLOPT_TIMEOUT_MS, http_ms_to_long(total_ms), &rc);
  http_set_ptr(e, CURLOPT_USERAGENT, HTTP_USER_AGENT, &rc);
  http_set_ptr(e, CURLOPT_ERRORBUFFER, r->errbuf, &rc);
  http_set_off(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body, &rc);
  http_set_ptr(e, CURLOPT_WRITEDATA, r, &rc);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_write);
  if (h->trace) {
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

static int http_setup_method(struct http_req *r, const struct http_request *q,
                             struct cfw_err *err)
{
  const char *m = q->method != NULL ? q->method : "GET";
  bool post = strcmp(m, "POST") == 0;
  CURL *e = r->easy;
  CURLcode rc = CURLE_OK;

  if (!http_method_ok(m))
    return cfw_err_set(err, -EINVAL, "http: bad method");
  if (q->body_len > 0 && q->body == NULL)
    return cfw_err_set(err, -EINVAL, "http: body_len without body");
  if (strcmp(m, "GET") == 0)
    http_set_long(e, CURLOPT_HTTPGET, 1L, &rc);
  else if (strcmp(m, "HEAD") == 0)
    http_set_long(e, CURLOPT_NOBODY, 1L, &rc);
  else if (!post)
    http_set_ptr(e, CURLOPT_CUSTOMREQUEST, m, &rc);
  if (post || q->body_len > 0) {
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

/* Takes u; returns NULL (with err set) on failure. */
static struct http_req *http_req_new(struct http *h, CURLU *u, http_cb cb,
                                     void *arg, struct cfw_err *err)
{
  struct http_req *r;

  r = calloc(1, sizeof(*r));
  if (r == NULL) {
    curl_url_cleanup(u);
    cfw_err_set(err, -ENOMEM, "http: out of memory");
    return NULL;
  }
  r->url = u;
  r->h = h;
  r->cb = cb;
  r->arg = arg;
  r->id = ++h->next_id;
  buf_init(&r->resp.body, h->max_body);
  http_link_init(&r->link);
  r->easy = curl_easy_init();
  if (r->easy == NULL) {
    http_req_free(r);
    cfw_err_set(err, -ENOMEM, "http: curl_easy_init failed");
    return NULL;
  }
  return r;
}

int http_send(struct http *h, const struct http_request *req, http_cb cb,
              void *arg, struct cfw_err *err)
{
  struct http_req *r;
  CURLMcode mc;
  CURLU *u;
  bool loopback = false;
  int rc;

  assert(cb != NULL);
  if (h->closing)
    return cfw_err_set(err, -ESHUTDOWN, "http: client is closing");
  rc = http_parse_url(req->url, &u, &loopback, err);
  if (rc < 0)
    return rc;
  r = http_req_new(h, u, cb, arg, err);
  if (r == NULL)
    return -ENOMEM;
  rc = http_setup_transport(
      r, loopback,
      req->total_timeout_ms ? req->total_timeout_ms : h->total_timeout_ms, err);
  if (rc == 0)
    rc = http_setup_method(r, req, err);
  if (rc == 0)
    rc = http_setup_headers(r, req, err);
  if (rc < 0) {
    http_req_free(r);
    return rc;
  }
  r->start_ns = uv_hrtime();
  mc = curl_multi_add_handle(h->multi, r->easy);
  if (mc != CURLM_OK) {
    http_req_free(r);
    return cfw_err_set(err, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                       "http: curl_multi_add_handle: %s",
                       curl_multi_strerror(mc));
  }
  http_link_insert(&h->reqs, &r->link);
  return 0;
}

/* ---- Life cycle ------------------------------------------------------ */

static int http_multi_init(struct http *h, struct cfw_err *err)
{
  CURLMcode mc;

  h->multi = curl_multi_init();
  if (h->multi == NULL)
    return cfw_err_set(err, -ENOMEM, "http: curl_multi_init failed");
  mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_on_socket);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
                           http_on_timer_update);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  if (mc == CURLM_OK)
    return 0;
  if (curl_multi_cleanup(h->multi) != CURLM_OK)
    log_msg(h->log, LOG_WARN, "http: curl_multi_cleanup failed");
  h->multi = NULL;
  return cfw_err_set(err, -EIO, "http: curl_multi_setopt: %s",
                     curl_multi_strerror(mc));
}

static int http_copy_opts(struct http *h, const struct http_opts *o,
                          struct cfw_err *err)
{
  h->log = o->log;
  h->trace = o->trace;
  h->connect_timeout_ms =
      o->connect_timeout_ms ? o->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS;
  h->total_timeout_ms =
      o->total_timeout_ms ? o->total_timeout_ms : HTTP_DEFAULT_TOTAL_MS;
  h->max_body = o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY;
  if (o->ca_file == NULL)
    return 0;
  /* Fail at startup rather than on the first handshake. */
  if (access(o->ca_file, R_OK) < 0)
    return cfw_err_set(err, -errno, "http: ca_file %s: %s", o->ca_file,
                       strerror(errno));
  h->ca_file = strdup(o->ca_file);
  if (h->ca_file == NULL)
    return cfw_err_set(err, -ENOMEM, "http: out of memory");
  return 0;
}

int http_new(struct http **out, uv_loop_t *loop, const struct http_opts *o,
             struct cfw_err *err)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  struct http *h;
  int rc;

  *out = NULL;
  if (v == NULL || !(v->features & CURL_VERSION_SSL))
    return cfw_err_set(err, -ENOTSUP, "http: libcurl lacks TLS support");
  if (!(v->features & CURL_VERSION_ASYNCHDNS))
    log_msg(o->log, LOG_WARN,
            "http: libcurl resolves names synchronously; a slow DNS "
            "server will stall the event loop");
  h = calloc(1, sizeof(*h));
  if (h == NULL)
    return cfw_err_set(err, -ENOMEM, "http: out of memory");
  h->loop = loop;
  http_link_init(&h->socks);
  http_link_init(&h->reqs);
  rc = http_copy_opts(h, o, err);
  if (rc == 0)
    rc = http_multi_init(h, err);
  if (rc == 0) {
    rc = uv_timer_init(loop, &h->timer);
    if (rc < 0 && curl_multi_cleanup(h->multi) != CURLM_OK)
      log_msg(h->log, LOG_WARN, "http: curl_multi_cleanup failed");
    if (rc < 0)
      cfw_err_set(err, rc, "http: uv_timer_init: %s", uv_strerror(rc));
  }
  if (rc < 0) {
    free(h->ca_file);
    free(h);
    return rc;
  }
  h->n_handles = 1;
  *out = h;
  return 0;
}

/* Callbacks run here cannot add requests (h is closing), so the list
 * only loses the entry at hand and a saved next pointer stays valid. */
static void http_cancel_all(struct http *h)
{
  struct http_link *l;
  struct http_link *next;
  struct http_req *r;
  CURLMcode mc;

  for (l = h->reqs.next; l != &h->reqs; l = next) {
    next = l->next;
    r = container_of(l, struct http_req, link);
    mc = curl_multi_remove_handle(h->multi, r->easy);
    if (mc != CURLM_OK)
      log_msg(h->log, LOG_ERROR, "http: curl_multi_remove_handle: %s",
              curl_multi_strerror(mc));
    http_link_remove(&r->link);
    buf_reset(&r->resp.body);
    r->resp.fail = HTTP_CANCELLED;
    r->resp.curl_code = CURLE_ABORTED_BY_CALLBACK;
    http_set_error(&r->resp, "request cancelled: http client closing");
    r->resp.elapsed_ms = (uv_hrtime() - r->start_ns) / 1000000;
    r->cb(&r->resp, r->arg);
    http_req_free(r);
  }
}

/* Closes the sockets libcurl still keeps (its connection cache).  We let
 * go of them first so that curl_multi_cleanup finds nothing of ours. */
static void http_close_socks(struct http *h)
{
  struct http_sock *s;

  while (!http_link_empty(&h->socks)) {
    s = container_of(h->socks.next, struct http_sock, link);
    if (curl_multi_assign(h->multi, s->fd, NULL) != CURLM_OK)
      log_msg(h->log, LOG_WARN, "http: curl_multi_assign failed");
    http_sock_close(s);
  }
}

void http_close(struct http *h, void (*done)(void *arg), void *arg)
{
  CURLMcode mc;

  assert(!h->closing);
  h->closing = true;
  h->done = done;
  h->done_arg = arg;
  http_cancel_all(h);
  http_close_socks(h);
  mc = curl_multi_cleanup(h->multi);
  if (mc != CURLM_OK)
    log_msg(h->log, LOG_WARN, "http: curl_multi_cleanup: %s",
            curl_multi_strerror(mc));
  h->multi = NULL;
  uv_close((uv_handle_t *)&h->timer, http_on_timer_close);
}
