/* SPDX-License-Identifier: MIT */
#ifndef CFW_AWSCLIENT_H
#define CFW_AWSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "http.h"

struct log;

/* What every AWS API client here shares: the credentials chain (creds.h,
 * and credproc.h for a credential_process), resolved off the loop thread
 * and cached, and resolved again before temporary credentials expire;
 * SigV4 signing of each request with them (sigv4.h); and sending it on
 * the http client.  The CloudFront and S3 clients build their requests
 * and read the answers; neither touches a credential.  One aws_client
 * may serve both, so the chain runs once. */
struct aws_client; /* opaque */
struct aws_call;   /* one request, waiting for credentials or in flight */

struct aws_client_opts {
  const char *profile; /* copied; NULL: AWS_PROFILE, else "default" */
  struct http *http;   /* borrowed */
  struct log *log;     /* borrowed; NULL is fine */
  /* Reads the environment for credentials, possibly from a thread-pool
   * thread; NULL means getenv. */
  const char *(*getenv)(const char *name);
};

/* A request to sign and send.  The signed headers are Host, X-Amz-Date,
 * X-Amz-Security-Token with temporary credentials, x-amz-content-sha256
 * when content_sha256 is set, and every one in headers. */
struct aws_request {
  const char *method;   /* "GET", "PUT", ... */
  const char *service;  /* "s3", "cloudfront" */
  const char *region;   /* the signing region */
  const char *base_url; /* "https://host[:port]", no path */
  const char *host;     /* the Host header: "host[:port]" */
  /* Without s3_path: the path as sent, which the signer normalises and
   * encodes again (every service but S3).  With s3_path: the raw path
   * ("/bucket/a key"), encoded once for both the URL and the signature,
   * as S3 wants. */
  const char *path;
  bool s3_path;
  const char *query; /* after '?', encoded as sent; NULL: none */
  const struct http_header *headers;
  size_t n_headers;
  const void *body; /* a body in memory, or NULL */
  size_t body_len;
  const struct http_file_body *file; /* or a body read from a file */
  /* The body's SHA-256 as 64 lowercase hex digits (or
   * "UNSIGNED-PAYLOAD"); NULL: computed from body.  Required with
   * file. */
  const char *payload_hash;
  bool content_sha256; /* send x-amz-content-sha256 (S3 requires it) */
  uint64_t timeout_ms; /* 0: the http client's */
};

/* Runs exactly once per call aws_send accepted, from the loop, never
 * from inside aws_send.  resp is the answer (valid during the call only;
 * its fail may be HTTP_CANCELLED), or NULL when nothing was sent: then
 * err says why (the credentials chain failed, signing failed, the call
 * was cancelled while it waited: -ECANCELED).  For aws_client_prepare,
 * resp is NULL and err NULL once credentials are ready. */
typedef void (*aws_cb)(struct http_response *resp, const struct cfw_err *err,
                       void *arg);

/* Creates a client; nothing is resolved until the first call.  Returns
 * 0 or -ENOMEM; on failure nothing is left behind. */
int aws_client_new(struct aws_client **out, uv_loop_t *loop,
                   const struct aws_client_opts *o, struct cfw_err *err);

/* Frees the client.  Every call not yet ended ends first: one in flight
 * with the HTTP_CANCELLED response, one waiting for credentials with
 * -ECANCELED.  While the chain is being resolved in the thread pool the
 * client lingers until that work returns, so run the loop before
 * uv_loop_close.  NULL is fine. */
void aws_client_destroy(struct aws_client *c);

/* Signs rq and sends it, once credentials are ready (resolving them
 * first if need be).  rq and everything it points to are borrowed until
 * cb runs.  *out (if out is not NULL) is a handle for aws_cancel, valid
 * until cb runs.  Returns 0, or a negative errno with err set and cb
 * never run: -EINVAL (no method, path or host; a file body without its
 * hash), -ENOMEM, or http_start's refusal when credentials were ready. */
int aws_send(struct aws_client *c, const struct aws_request *rq, aws_cb cb,
             void *arg, struct aws_call **out, struct cfw_err *err);

/* Makes sure usable credentials are loaded, then runs cb(NULL, NULL, arg)
 * or cb(NULL, err, arg), from the loop.  Lets a command fail early,
 * before any work.  out and the errors are as for aws_send. */
int aws_client_prepare(struct aws_client *c, aws_cb cb, void *arg,
                       struct aws_call **out, struct cfw_err *err);

/* Ends call now: its callback runs before this returns, with resp NULL
 * and -ECANCELED if it was waiting for credentials, or with the
 * HTTP_CANCELLED response if it was in flight. */
void aws_cancel(struct aws_call *call);

/* Forgets the credentials, so the next call resolves them again (after
 * ExpiredToken, say). */
void aws_client_drop_creds(struct aws_client *c);

/* "…WXYZ" for the key in use, or "" before one is loaded. */
const char *aws_client_key_hint(const struct aws_client *c);

/* An endpoint URL split into what a request and its signature need. */
struct aws_endpoint {
  char *base_url; /* owned: "scheme://host[:port]" */
  char *host;     /* owned: "host[:port]", the Host header */
  char *path;     /* owned: "" or "/prefix", without a trailing '/' */
  bool https;     /* else plain http */
  bool loopback;  /* the host is a loopback one (http_host_is_loopback) */
};

/* Fills e from url.  0, or -EINVAL (not a URL) or -ENOMEM with e
 * empty. */
int aws_endpoint_parse(struct aws_endpoint *e, const char *url,
                       struct cfw_err *err);

void aws_endpoint_free(struct aws_endpoint *e); /* NULL is fine */

#endif
