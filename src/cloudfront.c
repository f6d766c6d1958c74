/* SPDX-License-Identifier: MIT */
#include "cloudfront.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awsclient.h"
#include "buf.h"
#include "util.h"

#define CF_API_VERSION "2020-05-31"
/* CloudFront is global: always signed for us-east-1. */
#define CF_REGION   "us-east-1"
#define CF_SERVICE  "cloudfront"
#define CF_BODY_MAX ((size_t)2 * 1024 * 1024)
#define CF_URL_MAX  8192

struct cf_call {
  struct cf_call *prev; /* in the client's list of calls not yet ended */
  struct cf_call *next;
  struct cf_client *c; /* borrowed */
  enum cf_op op;
  bool prepare_only; /* cf_client_prepare: no request */
  char *path;        /* owned; as sent and signed */
  char *query;       /* owned or NULL */
  struct buf body;
  struct http_header content_type;
  struct aws_request rq;
  struct aws_call *aws; /* until the callback runs */
  cf_cb cb;
  void *arg;
};

struct cf_client {
  struct aws_client *aws; /* owned if own_aws, else borrowed */
  bool own_aws;
  struct log *log;        /* borrowed */
  char *dist;             /* owned */
  struct aws_endpoint ep; /* owned */
  struct cf_call *calls;  /* not yet ended */
  uint64_t timeout_ms;    /* per request; 0: the http client's */
};

static void cf_call_free(struct cf_call *call)
{
  if (call == NULL)
    return;
  free(call->path);
  free(call->query);
  buf_free(&call->body);
  free(call);
}

static void cf_call_unlink(struct cf_call *call)
{
  if (call->prev != NULL)
    call->prev->next = call->next;
  else
    call->c->calls = call->next;
  if (call->next != NULL)
    call->next->prev = call->prev;
  call->prev = call->next = NULL;
}

static void cf_result_init(struct cf_result *r, enum cf_op op)
{
  memset(r, 0, sizeof(*r));
  r->op = op;
  cf_invalidation_init(&r->inv);
  cf_invalidation_list_init(&r->list);
  cf_distribution_list_init(&r->dists);
  cf_distribution_config_init(&r->config);
}

static void cf_result_free(struct cf_result *r)
{
  cf_invalidation_free(&r->inv);
  cf_invalidation_list_free(&r->list);
  cf_distribution_list_free(&r->dists);
  cf_distribution_config_free(&r->config);
}

/* The first line of a message: SignatureDoesNotMatch carries the whole
 * canonical request after a newline, which helps nobody on one line. */
static int cf_first_line_len(const char *s)
{
  size_t n = strcspn(s, "\r\n");

  return n > 300 ? 300 : (int)n;
}

static void cf_result_summary(struct cf_result *r,
                              const struct http_response *h)
{
  if (h->fail != HTTP_OK) {
    cfw_err_set(&r->err, -EIO, "CloudFront: %s: %s", http_fail_str(h->fail),
                h->error);
    return;
  }
  if (r->error.code[0] != '\0') {
    cfw_err_set(&r->err, -EIO, "CloudFront: %d %s: %.*s", h->status,
                r->error.code, cf_first_line_len(r->error.message),
                r->error.message);
    return;
  }
  cfw_err_set(&r->err, -EIO, "CloudFront: HTTP %d without an error document",
              h->status);
}

static int cf_parse_ok(struct cf_result *r, const struct buf *body)
{
  const char *p = buf_str(body);

  switch (r->op) {
  case CF_OP_LIST:
    return cfxml_parse_invalidation_list(p, body->len, &r->list, &r->err);
  case CF_OP_LIST_DISTRIBUTIONS:
    return cfdistxml_parse_list(p, body->len, &r->dists, &r->err);
  case CF_OP_GET_CONFIG:
    return cfdistxml_parse_config(p, body->len, &r->config, &r->err);
  case CF_OP_CREATE:
  case CF_OP_GET:
    break;
  }
  return cfxml_parse_invalidation(p, body->len, &r->inv, &r->err);
}

static void cf_classify(struct cf_result *r, const struct http_response *h)
{
  bool ok = h->fail == HTTP_OK;
  bool is_2xx = ok && h->status >= 200 && h->status < 300;

  if (ok && !is_2xx && h->body.len > 0)
    (void)cfxml_parse_error(buf_str(&h->body), h->body.len, &r->error,
                            NULL); /* no document: the status decides */
  r->verdict = retry_classify(ok, h->fail == HTTP_TLS, h->status, r->error.code,
                              r->error.message);
  if (r->verdict != CF_DONE) {
    cf_result_summary(r, h);
    return;
  }
  /* An accepted call with an unreadable answer is retried: for a create,
   * the same CallerReference returns what was created. */
  if (cf_parse_ok(r, &h->body) < 0) {
    r->verdict = CF_RETRY;
    cfw_err_prefix(&r->err, "CloudFront: HTTP %d: unreadable answer",
                   h->status);
  }
}

static void cf_on_http(struct cf_call *call, struct cf_result *r,
                       const struct http_response *h)
{
  r->status = h->status;
  r->fail = h->fail;
  r->elapsed_ms = h->elapsed_ms;
  if (h->fail == HTTP_CANCELLED) {
    r->verdict = CF_FATAL;
    cfw_err_set(&r->err, -ECANCELED, "CloudFront: request cancelled");
  } else {
    cf_classify(r, h);
  }
  log_msg(call->c->log, LOG_DEBUG, "CloudFront %s%s: %d %s in %llu ms (%s)",
          call->path, call->query ? "?..." : "", h->status,
          r->error.code[0] ? r->error.code : http_fail_str(h->fail),
          (unsigned long long)h->elapsed_ms, retry_verdict_str(r->verdict));
}

/* The call is out of the client's list before its callback runs, so the
 * callback may destroy the client. */
static void cf_on_reply(struct http_response *h, const struct cfw_err *err,
                        void *arg)
{
  struct cf_call *call = arg;
  struct cf_result r;

  cf_result_init(&r, call->op);
  if (h != NULL) {
    cf_on_http(call, &r, h);
  } else if (err != NULL) {
    r.verdict = CF_FATAL; /* credentials, or cancelled while waiting */
    r.err = *err;
  } else {
    r.verdict = CF_DONE; /* a prepare: the credentials are ready */
  }
  cf_call_unlink(call);
  call->cb(&r, call->arg);
  cf_result_free(&r);
  cf_call_free(call);
}

/* Hands the call to the AWS client, which signs it once credentials are
 * ready.  On failure the call is freed and cb never runs. */
static int cf_call_start(struct cf_call *call, struct cfw_err *err)
{
  struct cf_client *c = call->c;
  struct aws_request *rq = &call->rq;
  int rc;

  if (call->prepare_only) {
    rc = aws_client_prepare(c->aws, cf_on_reply, call, &call->aws, err);
  } else {
    rq->method = call->op == CF_OP_CREATE ? "POST" : "GET";
    rq->service = CF_SERVICE;
    rq->region = CF_REGION;
    rq->base_url = c->ep.base_url;
    rq->host = c->ep.host;
    rq->path = call->path;
    rq->query = call->query;
    if (call->op == CF_OP_CREATE) {
      call->content_type =
          (struct http_header){"Content-Type", "application/xml"};
      rq->headers = &call->content_type;
      rq->n_headers = 1;
    }
    rq->body = call->body.data;
    rq->body_len = call->body.len;
    rq->timeout_ms = c->timeout_ms;
    rc = aws_send(c->aws, rq, cf_on_reply, call, &call->aws, err);
  }
  if (rc < 0) {
    cf_call_free(call);
    return rc;
  }
  call->next = c->calls;
  if (c->calls != NULL)
    c->calls->prev = call;
  c->calls = call;
  return 0;
}

static struct cf_call *cf_call_new(struct cf_client *c, enum cf_op op, cf_cb cb,
                                   void *arg)
{
  struct cf_call *call;

  call = calloc(1, sizeof(*call));
  if (call == NULL)
    return NULL;
  call->c = c;
  call->op = op;
  call->cb = cb;
  call->arg = arg;
  buf_init(&call->body, CF_BODY_MAX);
  return call;
}

/* Builds "<base>/2020-05-31/distribution" and then "/<dist>" (unless
 * dist is NULL) and tail. */
static int cf_call_path(struct cf_call *call, const char *dist,
                        const char *tail)
{
  struct buf p;
  int rc;

  buf_init(&p, CF_URL_MAX);
  rc =
      buf_addf(&p, "%s/" CF_API_VERSION "/distribution%s%s%s", call->c->ep.path,
               dist != NULL ? "/" : "", dist != NULL ? dist : "", tail);
  if (rc < 0) {
    buf_free(&p);
    return rc;
  }
  call->path = buf_take(&p);
  return call->path != NULL ? 0 : -ENOMEM;
}

bool cf_id_ok(const char *id)
{
  size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

  return n > 0 && n < 128 && id[n] == '\0';
}

static int cf_check_dist(const char *dist, struct cfw_err *err)
{
  if (dist == NULL)
    return cfw_err_set(err, -EINVAL, "no distribution id");
  if (!cf_id_ok(dist))
    return cfw_err_set(err, -EINVAL, "bad distribution id");
  return 0;
}

int cf_client_prepare(struct cf_client *c, cf_cb cb, void *arg,
                      struct cfw_err *err)
{
  struct cf_call *call = cf_call_new(c, CF_OP_GET, cb, arg);

  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  call->prepare_only = true;
  return cf_call_start(call, err);
}

int cf_create_invalidation(struct cf_client *c, const char *caller_ref,
                           const char *const *paths, size_t n, cf_cb cb,
                           void *arg, struct cfw_err *err)
{
  struct cf_call *call = cf_call_new(c, CF_OP_CREATE, cb, arg);
  int rc;

  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = cf_check_dist(c->dist, err);
  if (rc == 0)
    rc = cfxml_invalidation_batch(&call->body, caller_ref, paths, n, err);
  if (rc == 0)
    rc = cf_call_path(call, c->dist, "/invalidation");
  if (rc < 0) {
    if (err != NULL && err->code == 0)
      cfw_err_set(err, rc, "out of memory");
    cf_call_free(call);
    return rc;
  }
  return cf_call_start(call, err);
}

int cf_get_invalidation(struct cf_client *c, const char *id, cf_cb cb,
                        void *arg, struct cfw_err *err)
{
  return cf_get_invalidation_of(c, c->dist, id, cb, arg, err);
}

int cf_get_invalidation_of(struct cf_client *c, const char *dist,
                           const char *id, cf_cb cb, void *arg,
                           struct cfw_err *err)
{
  struct cf_call *call;
  struct buf tail;
  int rc;

  rc = cf_check_dist(dist, err);
  if (rc < 0)
    return rc;
  if (!cf_id_ok(id))
    return cfw_err_set(err, -EINVAL, "bad invalidation id");
  call = cf_call_new(c, CF_OP_GET, cb, arg);
  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  buf_init(&tail, 256);
  rc = buf_addf(&tail, "/invalidation/%s", id);
  if (rc == 0)
    rc = cf_call_path(call, dist, buf_str(&tail));
  buf_free(&tail);
  if (rc < 0) {
    cf_call_free(call);
    return cfw_err_set(err, rc, "out of memory");
  }
  return cf_call_start(call, err);
}

/* A paged GET: "Marker=..&MaxItems=.." on dist's tail (dist NULL: the
 * distributions themselves). */
static int cf_list(struct cf_client *c, enum cf_op op, const char *dist,
                   const char *tail, const char *marker, unsigned max_items,
                   cf_cb cb, void *arg, struct cfw_err *err)
{
  struct cf_call *call;
  struct buf q;
  int rc;

  if (marker != NULL && marker[0] != '\0' && !cf_id_ok(marker))
    return cfw_err_set(err, -EINVAL, "bad list marker");
  call = cf_call_new(c, op, cb, arg);
  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  buf_init(&q, 512);
  rc = buf_addf(&q, "Marker=%s&MaxItems=%u", marker ? marker : "", max_items);
  call->query = rc == 0 ? buf_take(&q) : NULL;
  buf_free(&q);
  rc = call->query != NULL ? cf_call_path(call, dist, tail) : -ENOMEM;
  if (rc < 0) {
    cf_call_free(call);
    return cfw_err_set(err, rc, "out of memory");
  }
  return cf_call_start(call, err);
}

int cf_list_invalidations(struct cf_client *c, const char *marker,
                          unsigned max_items, cf_cb cb, void *arg,
                          struct cfw_err *err)
{
  return cf_list_invalidations_of(c, c->dist, marker, max_items, cb, arg, err);
}

int cf_list_invalidations_of(struct cf_client *c, const char *dist,
                             const char *marker, unsigned max_items, cf_cb cb,
                             void *arg, struct cfw_err *err)
{
  int rc = cf_check_dist(dist, err);

  if (rc < 0)
    return rc;
  return cf_list(c, CF_OP_LIST, dist, "/invalidation", marker, max_items, cb,
                 arg, err);
}

int cf_list_distributions(struct cf_client *c, const char *marker,
                          unsigned max_items, cf_cb cb, void *arg,
                          struct cfw_err *err)
{
  return cf_list(c, CF_OP_LIST_DISTRIBUTIONS, NULL, "", marker, max_items, cb,
                 arg, err);
}

int cf_get_distribution_config(struct cf_client *c, const char *dist, cf_cb cb,
                               void *arg, struct cfw_err *err)
{
  struct cf_call *call;
  int rc;

  rc = cf_check_dist(dist, err);
  if (rc < 0)
    return rc;
  call = cf_call_new(c, CF_OP_GET_CONFIG, cb, arg);
  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = cf_call_path(call, dist, "/config");
  if (rc < 0) {
    cf_call_free(call);
    return cfw_err_set(err, rc, "out of memory");
  }
  return cf_call_start(call, err);
}

static int cf_own_aws(struct cf_client *c, uv_loop_t *loop,
                      const struct cf_client_opts *o, struct cfw_err *err)
{
  struct aws_client_opts ao = {o->profile, o->http, o->log, o->getenv};

  if (o->aws != NULL) {
    c->aws = o->aws;
    return 0;
  }
  c->own_aws = true;
  return aws_client_new(&c->aws, loop, &ao, err);
}

int cf_client_new(struct cf_client **out, uv_loop_t *loop,
                  const struct cf_client_opts *o, struct cfw_err *err)
{
  struct cf_client *c;
  int rc;

  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  c->log = o->log;
  c->dist = o->distribution_id ? strdup(o->distribution_id) : NULL;
  rc = aws_endpoint_parse(&c->ep, o->endpoint, err);
  if (rc == 0 && o->distribution_id != NULL && c->dist == NULL)
    rc = cfw_err_set(err, -ENOMEM, "out of memory");
  if (rc == 0 && c->dist != NULL && !cf_id_ok(c->dist))
    rc = cfw_err_set(err, -EINVAL, "bad distribution id");
  if (rc == 0)
    rc = cf_own_aws(c, loop, o, err);
  if (rc < 0) {
    cf_client_destroy(c);
    return rc;
  }
  *out = c;
  return 0;
}

void cf_client_destroy(struct cf_client *c)
{
  if (c == NULL)
    return;
  /* Each callback runs here, with CF_FATAL, and unlinks its call. */
  while (c->calls != NULL)
    aws_cancel(c->calls->aws);
  if (c->own_aws)
    aws_client_destroy(c->aws);
  free(c->dist);
  aws_endpoint_free(&c->ep);
  free(c);
}

void cf_client_set_timeout(struct cf_client *c, uint64_t ms)
{
  c->timeout_ms = ms;
}

void cf_client_drop_creds(struct cf_client *c)
{
  aws_client_drop_creds(c->aws);
}

const char *cf_client_key_hint(const struct cf_client *c)
{
  return aws_client_key_hint(c->aws);
}
