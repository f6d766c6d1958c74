/* SPDX-License-Identifier: MIT */
#ifndef CFW_CLOUDFRONT_H
#define CFW_CLOUDFRONT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cfdistxml.h"
#include "cfxml.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "retry.h"

/* CloudFront's invalidation API (2020-05-31) and the two read-only
 * distribution calls cfwatch makes (ListDistributions,
 * GetDistributionConfig), one call at a time per request: the requests (service
 * cloudfront, region us-east-1, the global endpoint), signed and sent by an
 * aws_client (awsclient.h: the credentials chain, SigV4, the loop), and the XML
 * in and out. Retrying is the caller's business; each result carries a verdict
 * from retry_classify. */
struct aws_client;
struct cf_client;

struct cf_client_opts {
  const char *endpoint; /* "https://cloudfront.amazonaws.com" */
  /* Borrowed; NULL for a client that names the distribution in each
   * call (the _of calls) or lists them. */
  const char *distribution_id;
  /* Borrowed: the credentials and signing to share with another client
   * (S3's).  NULL: the client makes its own from profile, http and
   * getenv. */
  struct aws_client *aws;
  const char *profile; /* NULL: AWS_PROFILE or default */
  struct http *http;   /* borrowed */
  struct log *log;     /* borrowed */
  /* Reads the environment for credentials (from a thread-pool thread);
   * NULL means getenv. */
  const char *(*getenv)(const char *name);
};

enum cf_op {
  CF_OP_CREATE,
  CF_OP_GET,
  CF_OP_LIST,
  CF_OP_LIST_DISTRIBUTIONS,
  CF_OP_GET_CONFIG
};

struct cf_result {
  enum cf_op op;
  enum cf_verdict verdict;
  int status;                           /* HTTP status; 0 if none arrived */
  enum http_fail fail;                  /* transport outcome */
  struct cf_error error;                /* parsed ErrorResponse, if any */
  struct cf_invalidation inv;           /* CF_OP_CREATE / CF_OP_GET */
  struct cf_invalidation_list list;     /* CF_OP_LIST */
  struct cf_distribution_list dists;    /* CF_OP_LIST_DISTRIBUTIONS */
  struct cf_distribution_config config; /* CF_OP_GET_CONFIG */
  struct cfw_err err;                   /* a one-line summary when not done */
  uint64_t elapsed_ms;
};

/* Runs once per accepted call, from the loop (never from inside the
 * call that started it); r is valid only during the call.  A call that
 * returns an error never runs it. */
typedef void (*cf_cb)(struct cf_result *r, void *arg);

int cf_client_new(struct cf_client **out, uv_loop_t *loop,
                  const struct cf_client_opts *o, struct cfw_err *err);

/* Frees the client.  Every call not yet ended (waiting for credentials
 * or in flight) runs its callback first, with CF_FATAL and -ECANCELED.
 * A client that resolves its own credentials may linger in the loop
 * until a resolve in the thread pool returns.  NULL is fine. */
void cf_client_destroy(struct cf_client *c);

/* True if id can be a distribution or invalidation id: upper-case
 * letters and digits, 1 to 127 of them. */
bool cf_id_ok(const char *id);

/* Makes sure usable credentials are loaded (running credential_process
 * if the profile says so), then calls cb with the verdict: CF_DONE, or
 * CF_FATAL with err set.  Lets `once` fail early, before any scan. */
int cf_client_prepare(struct cf_client *c, cf_cb cb, void *arg,
                      struct cfw_err *err);

/* POST .../invalidation with paths (percent-encoded, unique). */
int cf_create_invalidation(struct cf_client *c, const char *caller_ref,
                           const char *const *paths, size_t n, cf_cb cb,
                           void *arg, struct cfw_err *err);

/* GET .../invalidation/{id}. */
int cf_get_invalidation(struct cf_client *c, const char *id, cf_cb cb,
                        void *arg, struct cfw_err *err);

/* GET .../invalidation?Marker=...&MaxItems=...; marker NULL for the
 * first page. */
int cf_list_invalidations(struct cf_client *c, const char *marker,
                          unsigned max_items, cf_cb cb, void *arg,
                          struct cfw_err *err);

/* The same two calls for the distribution dist, whatever the client's
 * own (which may be NULL). */
int cf_get_invalidation_of(struct cf_client *c, const char *dist,
                           const char *id, cf_cb cb, void *arg,
                           struct cfw_err *err);
int cf_list_invalidations_of(struct cf_client *c, const char *dist,
                             const char *marker, unsigned max_items, cf_cb cb,
                             void *arg, struct cfw_err *err);

/* GET /2020-05-31/distribution?Marker=...&MaxItems=...: the account's
 * distributions, a page at a time; marker NULL for the first page
 * (API Reference, ListDistributions; NextMarker is the Id of the last
 * distribution of a page).  Read-only: IAM action
 * cloudfront:ListDistributions. */
int cf_list_distributions(struct cf_client *c, const char *marker,
                          unsigned max_items, cf_cb cb, void *arg,
                          struct cfw_err *err);

/* GET /2020-05-31/distribution/{Id}/config: the distribution's
 * configuration (API Reference, GetDistributionConfig).  Read-only: IAM
 * action cloudfront:GetDistributionConfig. */
int cf_get_distribution_config(struct cf_client *c, const char *dist, cf_cb cb,
                               void *arg, struct cfw_err *err);

/* Bounds each following request to ms in total (0: the http client's
 * default), so a caller with a deadline is not held past it by one
 * request that hangs. */
void cf_client_set_timeout(struct cf_client *c, uint64_t ms);

/* Forgets the credentials so the next call resolves them again (after
 * CF_REFRESH). */
void cf_client_drop_creds(struct cf_client *c);

/* "…WXYZ" for the key in use, or "" before one is loaded. */
const char *cf_client_key_hint(const struct cf_client *c);

#endif
