/* SPDX-License-Identifier: MIT */
#ifndef CFW_HTTP_H
#define CFW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "err.h"

struct log;

/* An HTTP client on one libuv loop: libcurl's multi interface driven by
 * curl_multi_socket_action, with one uv_poll per socket and one uv_timer.
 * Nothing here waits on the network, and any number of requests may be in
 * flight.  Name lookups use libcurl's threaded resolver (http_new warns if
 * libcurl lacks one).  The CA certificates are read and parsed on the
 * threadpool as the client is made (src/castore.h; requests sent before
 * that is done wait for it); the TLS handshake's crypto does run on the
 * loop thread: a few milliseconds.
 *
 * TLS peer and host verification is always on.  Plain http:// is accepted
 * only for loopback hosts (127.0.0.0/8, localhost, [::1]).  Requests to
 * loopback hosts never use a proxy; others honour libcurl's proxy
 * environment variables (TLS still ends at the origin).  Redirects are not
 * followed. */
struct http; /* opaque */

/* ca_file replaces libcurl's default CA bundle file while its default CA
 * directory (Debian: /etc/ssl/certs) stays, so the file adds trust. */
struct http_opts {
  const char *ca_file;         /* copied; NULL: system store only */
  uint64_t connect_timeout_ms; /* 0: 10 s */
  uint64_t total_timeout_ms;   /* 0: 60 s; a request may override */
  size_t max_body;             /* response body cap; 0: 4 MiB */
  struct log *log;             /* borrowed; NULL is fine */
  bool trace;                  /* log libcurl's trace at LOG_TRACE */
};

/* Why a request failed, coarse enough for a retry policy to act on.  The
 * transport verdict only: HTTP_OK with status 503 is a server error. */
enum http_fail {
  HTTP_OK = 0,    /* a response arrived; see status */
  HTTP_CONNECT,   /* DNS or TCP connect failed; nothing was sent */
  HTTP_TIMEOUT,   /* connect or total timeout */
  HTTP_RECV,      /* connection reset or cut mid-exchange */
  HTTP_TLS,       /* handshake or certificate verification failed */
  HTTP_TOO_LARGE, /* response body over max_body; transfer aborted */
  HTTP_CANCELLED, /* http_close ran while the request was in flight */
  HTTP_OTHER      /* anything else (see curl_code and error) */
};

struct http_header {
  const char *name;  /* borrowed; no ':', CR or LF */
  const char *value; /* borrowed; no CR or LF; "" sends it empty */
};

/* A body read from an open file, for uploads too large to hold in
 * memory.  The bytes are read off the loop thread (uv_queue_work),
 * HTTP_STREAM_CHUNK at a time and at most two chunks ahead, so a slow
 * disk never stalls the loop and memory stays bounded whatever the
 * size.  The file is read again from offset if libcurl must resend the
 * body (a kept-alive connection found dead).  A read error, or a file
 * that ends before offset + len, fails the request with HTTP_OTHER and
 * says which in error. */
#define HTTP_STREAM_CHUNK ((size_t)256 * 1024)

struct http_file_body {
  int fd;          /* borrowed: open until the callback has run */
  uint64_t offset; /* first byte sent */
  uint64_t len;    /* bytes sent, as Content-Length */
};

struct http_request {
  const char *method; /* "GET", "POST", ...; NULL means GET */
  const char *url;    /* https://..., or http:// for loopback only */
  const struct http_header *headers;
  size_t n_headers;
  const void *body; /* sent when body_len > 0, or always for POST and
                     * PUT; set Content-Type, or libcurl sends a form
                     * type */
  size_t body_len;
  /* Copied; instead of body (which must then be NULL), a body streamed
   * from a file. */
  const struct http_file_body *file;
  uint64_t total_timeout_ms; /* 0: the client's */
};

/* Response header values are "" when absent or too long for the field. */
struct http_response {
  int status;          /* HTTP status, 0 if none arrived */
  enum http_fail fail; /* HTTP_OK unless the transfer failed */
  int curl_code;       /* CURLcode; 0 on success */
  char error[256];     /* human-readable; "" on success; no secrets */
  /* Why the request body's file could not be read (a negative errno:
   * -ENODATA when it ended before the length sent), else 0. */
  int body_err;
  struct buf body; /* owned; the callback may buf_take() it */
  char location[2048];
  char request_id[128]; /* x-amz-request-id */
  char content_type[128];
  char retry_after[64];
  uint64_t elapsed_ms; /* from http_send to completion */
  /* Owned: every header of the final response, as "name\0value\0"
   * pairs; read it with http_response_header(), or walk it with
   * http_response_next_header().  At most HTTP_MAX_RESPONSE_HEADERS
   * bytes are kept; headers_cut says some were dropped. */
  struct buf headers;
  bool headers_cut;
};

#define HTTP_MAX_RESPONSE_HEADERS ((size_t)64 * 1024)

/* Runs exactly once for every request that http_send accepted, from the
 * loop and never inside http_send.  resp is valid only during the call.
 * The callback may call http_send, and may call http_close unless resp->fail
 * is HTTP_CANCELLED (that callback runs inside http_close already). */
typedef void (*http_cb)(struct http_response *resp, void *arg);

/* Creates a client on loop.  The process must have called
 * curl_global_init(CURL_GLOBAL_DEFAULT) first (main.c does, once).  o and
 * the strings in it are copied.  Returns 0, -ENOMEM, -ENOTSUP (libcurl
 * without TLS), -EIO, or access(2)'s error for an unreadable ca_file; on
 * failure nothing is left behind. */
int http_new(struct http **out, uv_loop_t *loop, const struct http_opts *o,
             struct cfw_err *err);

/* Starts a request and copies everything it needs from req.  Returns 0,
 * or on failure a negative errno and cb is never run: -EPERM for plain
 * http to a non-loopback host (nothing touches the network), -EINVAL for a
 * bad URL, scheme or header, -ESHUTDOWN after http_close, -ENOMEM, -EIO. */
int http_send(struct http *h, const struct http_request *req, http_cb cb,
              void *arg, struct cfw_err *err);

/* As http_send, and stores the request's id in *id for http_abort. */
int http_start(struct http *h, const struct http_request *req, http_cb cb,
               void *arg, uint64_t *id, struct cfw_err *err);

/* Ends request id now: its callback runs before this returns, with
 * fail == HTTP_CANCELLED, status 0 and an empty body.  Returns 0, or
 * -ENOENT if no such request is in flight (its callback has run). */
int http_abort(struct http *h, uint64_t id);

/* Cancels every request in flight: each callback runs before this returns,
 * with fail == HTTP_CANCELLED, status 0 and an empty body.  Then closes the
 * multi handle, every uv_poll and the timer.  done (may be NULL) runs from
 * the loop after the last close callback, when h is already freed; never
 * from inside http_close.  Call it once.  From then until done runs,
 * http_send fails with -ESHUTDOWN; after done, h is gone.  The loop has
 * nothing of h's left once done has run, so uv_loop_close() can succeed. */
void http_close(struct http *h, void (*done)(void *arg), void *arg);

/* The value of the response's first header called name (any case), or
 * NULL.  Borrowed from r. */
const char *http_response_header(const struct http_response *r,
                                 const char *name);

/* Walks the response's headers in the order they came: *pos starts at
 * 0.  Returns true with *name and *value set (borrowed from r), false
 * after the last. */
bool http_response_next_header(const struct http_response *r, size_t *pos,
                               const char **name, const char **value);

/* True for the hosts plain http may reach: 127.0.0.0/8, localhost and
 * [::1] (as a URL spells them). */
bool http_host_is_loopback(const char *host);

/* A static name for f, e.g. "timeout". */
const char *http_fail_str(enum http_fail f);

#endif
