/* SPDX-License-Identifier: MIT */
#include "http_req.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_stream.h"

/* Turning a finished transfer into the struct http_response that the
 * callback sees, and reading that response's headers. */

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

void http_resp_set_error(struct http_response *resp, const char *fmt, ...)
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

/* Keeps every header of the final response, as "name\0value\0". */
static void http_keep_headers(struct http_req *r)
{
  struct http_response *resp = &r->resp;
  struct curl_header *hd = NULL;
  size_t len;

  while ((hd = curl_easy_nextheader(r->easy, CURLH_HEADER, -1, hd)) != NULL) {
    len = resp->headers.len;
    if (buf_add(&resp->headers, hd->name, strlen(hd->name) + 1) < 0 ||
        buf_add(&resp->headers, hd->value, strlen(hd->value) + 1) < 0) {
      resp->headers.len = len; /* drop the half-added pair */
      resp->headers_cut = true;
    }
  }
}

/* The transport verdict and its message. */
static void http_fill_fail(struct http_req *r, CURLcode code)
{
  struct http_response *resp = &r->resp;
  const char *what = "";
  int err = r->stream != NULL ? http_stream_error(r->stream, &what) : 0;

  resp->curl_code = (int)code;
  resp->fail = r->too_large ? HTTP_TOO_LARGE : http_classify(code);
  if (resp->fail == HTTP_TOO_LARGE)
    http_resp_set_error(resp, "response body over %zu bytes",
                        r->conf->max_body);
  else if (r->nomem)
    http_resp_set_error(resp, "out of memory buffering the response body");
  else if (code != CURLE_OK && err != 0) {
    resp->body_err = err;
    http_resp_set_error(resp, "request body: %s: %s", what, strerror(-err));
  } else if (code != CURLE_OK)
    http_resp_set_error(resp, "%s",
                        r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
}

void http_resp_fill(struct http_req *r, CURLcode code, uint64_t start_ns)
{
  struct http_response *resp = &r->resp;
  long status = 0;

  if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
    resp->status = (int)status;
  http_fill_fail(r, code);
  http_copy_header(r->easy, "Location", resp->location, sizeof(resp->location));
  http_copy_header(r->easy, "x-amz-request-id", resp->request_id,
                   sizeof(resp->request_id));
  http_copy_header(r->easy, "Content-Type", resp->content_type,
                   sizeof(resp->content_type));
  http_copy_header(r->easy, "Retry-After", resp->retry_after,
                   sizeof(resp->retry_after));
  if (resp->status != 0)
    http_keep_headers(r);
  resp->elapsed_ms = (uv_hrtime() - start_ns) / 1000000;
}

bool http_response_next_header(const struct http_response *r, size_t *pos,
                               const char **name, const char **value)
{
  const char *p = r->headers.data;
  size_t n;

  if (p == NULL || *pos >= r->headers.len)
    return false;
  *name = p + *pos;
  n = strlen(*name) + 1;
  *value = p + *pos + n;
  *pos += n + strlen(*value) + 1;
  return true;
}

const char *http_response_header(const struct http_response *r,
                                 const char *name)
{
  const char *n;
  const char *v;
  size_t pos = 0;

  while (http_response_next_header(r, &pos, &n, &v))
    if (strcasecmp(n, name) == 0)
      return v;
  return NULL;
}
