/* SPDX-License-Identifier: MIT */
#ifndef CFW_HTTP_REQ_H
#define CFW_HTTP_REQ_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "http_stream.h"

struct castore;
struct log;

/* Internal to http.c: turning a struct http_request into a libcurl easy
 * handle ready for the multi handle.  That covers the URL policy (https
 * anywhere, plain http only to loopback hosts, no proxy for those), the
 * easy handle's options, the header list, and the write and trace
 * callbacks, the latter redacting secrets.  The multi handle, sockets,
 * timer and completion are http_multi.c's. */

/* What every request of one client shares; http.c fills it once. */
struct http_req_conf {
  const char *ca_file; /* borrowed; NULL: system store only */
  /* Borrowed: the CA store built off the loop (castore.h), which
   * replaces ca_file and libcurl's defaults; NULL: libcurl loads them. */
  struct castore *ca;
  uint64_t connect_timeout_ms;      /* never 0 */
  uint64_t total_timeout_ms;        /* never 0; a request may override */
  size_t max_body;                  /* response body cap; never 0 */
  struct log *log;                  /* borrowed; NULL is fine */
  bool trace;                       /* log libcurl's trace at LOG_TRACE */
  struct http_stream_owner streams; /* for file bodies */
};

/* One request's easy handle and what it owns.  http.c embeds it in its
 * record of a request in flight, and CURLOPT_PRIVATE points here. */
struct http_req {
  const struct http_req_conf *conf; /* borrowed */
  CURL *easy;                       /* owned */
  CURLU *url;                       /* owned; the easy handle uses it */
  struct curl_slist *headers;       /* owned; wiped before free */
  struct http_stream *stream;       /* owned; a file body, or NULL */
  uint64_t id;                      /* for trace lines */
  bool too_large;                   /* the body passed conf->max_body */
  bool nomem;                       /* buffering the body failed */
  char errbuf[CURL_ERROR_SIZE];
  struct http_response resp; /* the write callback fills resp.body */
};

/* Fills r, whose storage the caller provides, with an easy handle set up
 * for q; q and everything it points to are copied.  The request takes
 * the number after *next_id (and stores it there) once its URL passes
 * the checks, so a refused URL uses up no number.  conf must outlive r.
 * Returns 0, or a negative errno as http_send documents (-EPERM, -EINVAL,
 * -ENOMEM, -EIO) with err set; on failure r holds nothing to free. */
int http_req_init(struct http_req *r, const struct http_req_conf *conf,
                  const struct http_request *q, uint64_t *next_id,
                  struct cfw_err *err);

/* Releases what r owns, wiping the header list first: it may hold a
 * signature or a session token.  The easy handle must already be out of
 * the multi handle.  The storage of r stays the caller's; NULL is fine. */
void http_req_free(struct http_req *r);

/* Fills r->resp from the finished transfer: status, transport verdict
 * and message, the headers; start_ns is when it was sent. */
void http_resp_fill(struct http_req *r, CURLcode code, uint64_t start_ns);

/* Formats resp->error (cut short if need be). */
void http_resp_set_error(struct http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
