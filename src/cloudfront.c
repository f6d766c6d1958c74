/* SPDX-License-Identifier: MIT */
#include "cloudfront.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "credproc.h"
#include "creds.h"
#include "sigv4.h"

#define CF_API_VERSION "2020-05-31"
/* CloudFront is global: always signed for us-east-1. */
#define CF_REGION   "us-east-1"
#define CF_SERVICE  "cloudfront"
#define CF_BODY_MAX ((size_t)2 * 1024 * 1024)
#define CF_URL_MAX  8192

struct cf_call {
  struct cf_call *next; /* in the client's waiting queue */
  struct cf_client *c;  /* borrowed */
  enum cf_op op;
  bool prepare_only; /* cf_client_prepare: no request */
  char *path;        /* owned; as sent and signed */
  char *query;       /* owned or NULL */
  struct buf body;
  cf_cb cb;
  void *arg;
  char amz_date[17];
};

/* Host, X-Amz-Date, X-Amz-Security-Token, Content-Type, Authorization. */
#define CF_MAX_HEADERS 5

struct cf_client {
  uv_loop_t *loop;
  struct http *http; /* borrowed */
  struct log *log;   /* borrowed */
  const char *(*getenv)(const char *name);
  char *dist;      /* owned */
  char *profile;   /* owned or NULL */
  char *base_url;  /* owned: scheme://host[:port] */
  char *base_path; /* owned: "" or "/prefix" */
  char *host;      /* owned: Host header value, signed */
  struct creds creds;
  bool have_creds;
  struct credproc *proc;   /* running credential_process, or NULL */
  struct cf_call *waiting; /* FIFO of calls waiting for credentials */
  bool destroyed;          /* freed when the running credproc reports back */
  uint64_t timeout_ms;     /* per request; 0: the http client's */
  char key_hint[8];
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

static void cf_result_init(struct cf_result *r, enum cf_op op)
{
  memset(r, 0, sizeof(*r));
  r->op = op;
  cf_invalidation_init(&r->inv);
  cf_invalidation_list_init(&r->list);
}

static void cf_result_free(struct cf_result *r)
{
  cf_invalidation_free(&r->inv);
  cf_invalidation_list_free(&r->list);
}

/* Ends a call that never reached the network. */
static void cf_call_fail(struct cf_call *call, enum cf_verdict v,
                         const struct cfw_err *err)
{
  struct cf_result r;

  cf_result_init(&r, call->op);
  r.verdict = v;
  r.err = *err;
  call->cb(&r, call->arg);
  cf_result_free(&r);
  cf_call_free(call);
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

  if (r->op == CF_OP_LIST)
    return cfxml_parse_invalidation_list(p, body->len, &r->list, &r->err);
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

static void cf_on_response(struct http_response *h, void *arg)
{
  struct cf_call *call = arg;
  struct cf_result r;

  cf_result_init(&r, call->op);
  r.status = h->status;
  r.fail = h->fail;
  r.elapsed_ms = h->elapsed_ms;
  if (h->fail == HTTP_CANCELLED) {
    r.verdict = CF_FATAL;
    cfw_err_set(&r.err, -ECANCELED, "CloudFront: request cancelled");
  } else {
    cf_classify(&r, h);
  }
  log_msg(call->c->log, LOG_DEBUG, "CloudFront %s%s: %d %s in %llu ms (%s)",
          call->path, call->query ? "?..." : "", h->status,
          r.error.code[0] ? r.error.code : http_fail_str(h->fail),
          (unsigned long long)h->elapsed_ms, retry_verdict_str(r.verdict));
  call->cb(&r, call->arg);
  cf_result_free(&r);
  cf_call_free(call);
}

/* Signs call with the client's credentials into hd (Host, X-Amz-Date,
 * maybe X-Amz-Security-Token and Content-Type, then Authorization). */
static int cf_sign(struct cf_client *c, struct cf_call *call,
                   struct http_header *hd, size_t *n_hd,
                   struct sigv4_result *sig, struct cfw_err *err)
{
  struct sigv4_header sh[CF_MAX_HEADERS];
  struct sigv4_request req = {0};
  struct sigv4_creds cr = {c->creds.access_key_id, c->creds.secret_access_key,
                           c->creds.session_token};
  struct sigv4_params p = {CF_REGION, CF_SERVICE, call->amz_date, false};
  size_t n = 0;
  int rc;

  rc = sigv4_amz_date((int64_t)time(NULL), call->amz_date);
  if (rc < 0)
    return cfw_err_set(err, rc, "the clock is out of range");
  sh[n++] = (struct sigv4_header){"Host", c->host};
  sh[n++] = (struct sigv4_header){"X-Amz-Date", call->amz_date};
  if (c->creds.session_token != NULL && c->creds.session_token[0] != '\0')
    sh[n++] =
        (struct sigv4_header){"X-Amz-Security-Token", c->creds.session_token};
  if (call->op == CF_OP_CREATE)
    sh[n++] = (struct sigv4_header){"Content-Type", "application/xml"};
  req.method = call->op == CF_OP_CREATE ? "POST" : "GET";
  req.path = call->path;
  req.query = call->query;
  req.headers = sh;
  req.n_headers = n;
  req.payload = call->body.data;
  req.payload_len = call->body.len;
  rc = sigv4_sign(&req, &cr, &p, sig, err);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < n; i++)
    hd[i] = (struct http_header){sh[i].name, sh[i].value};
  hd[n++] = (struct http_header){"Authorization", buf_str(&sig->authorization)};
  *n_hd = n;
  return 0;
}

static int cf_call_send(struct cf_call *call, struct cfw_err *err)
{
  struct cf_client *c = call->c;
  struct http_header hd[CF_MAX_HEADERS];
  struct http_request req = {0};
  struct sigv4_result sig;
  struct buf url;
  int rc;

  sigv4_result_init(&sig);
  buf_init(&url, CF_URL_MAX);
  rc = cf_sign(c, call, hd, &req.n_headers, &sig, err);
  if (rc == 0)
    rc = buf_addf(&url, "%s%s%s%s", c->base_url, call->path,
                  call->query ? "?" : "", call->query ? call->query : "");
  if (rc == 0) {
    req.method = call->op == CF_OP_CREATE ? "POST" : "GET";
    req.url = buf_str(&url);
    req.headers = hd;
    req.body = call->body.data;
    req.body_len = call->body.len;
    req.total_timeout_ms = c->timeout_ms;
    rc = http_send(c->http, &req, cf_on_response, call, err);
  } else if (err->code == 0) {
    cfw_err_set(err, rc, "CloudFront: URL too long");
  }
  sigv4_result_free(&sig); /* http copied the headers */
  buf_free(&url);
  return rc;
}

/* Sends a call whose credentials are ready, or ends it if it cannot go. */
static void cf_call_go(struct cf_call *call)
{
  struct cf_result r;
  struct cfw_err err = {0};

  if (call->prepare_only) {
    cf_result_init(&r, call->op);
    r.verdict = CF_DONE;
    call->cb(&r, call->arg);
    cf_result_free(&r);
    cf_call_free(call);
    return;
  }
  if (cf_call_send(call, &err) < 0)
    cf_call_fail(call, CF_FATAL, &err);
}

/* Hands every waiting call on, with the credentials or their error. */
static void cf_flush_waiting(struct cf_client *c, const struct cfw_err *err)
{
  struct cf_call *call;

  while ((call = c->waiting) != NULL) {
    c->waiting = call->next;
    if (err != NULL)
      cf_call_fail(call, CF_FATAL, err);
    else
      cf_call_go(call);
  }
}

static void cf_got_creds(struct cf_client *c)
{
  int64_t now = (int64_t)time(NULL);

  c->have_creds = true;
  creds_mask_key_id(c->creds.access_key_id, c->key_hint);
  log_msg(c->log, LOG_DEBUG, "credentials: key %s from %s", c->key_hint,
          c->creds.source);
  if (c->creds.expiration_s != 0 && c->creds.expiration_s <= now)
    log_msg(c->log, LOG_WARN,
            "credentials from %s expired %lld s ago; trying them anyway",
            c->creds.source, (long long)(now - c->creds.expiration_s));
  cf_flush_waiting(c, NULL);
}

static void cf_on_creds(struct credproc *p, int status, struct creds *creds,
                        const struct cfw_err *err, void *arg)
{
  struct cf_client *c = arg;

  (void)p; /* frees itself after this callback */
  c->proc = NULL;
  if (c->destroyed) {
    cf_client_destroy(c);
    return;
  }
  if (status < 0) {
    cf_flush_waiting(c, err);
    return;
  }
  creds_free(&c->creds);
  creds_move(&c->creds, creds);
  cf_got_creds(c);
}

static void cf_load_creds(struct cf_client *c)
{
  struct creds_opts o = {c->profile, c->getenv};
  struct credproc_opts po = {0};
  struct cfw_err err = {0};
  char *cmd = NULL;
  int rc;

  creds_free(&c->creds);
  c->have_creds = false;
  /* Two small files, read once per refresh: cheap enough on the loop. */
  rc = creds_resolve(&o, &c->creds, &cmd, &err);
  if (rc == CREDS_READY) {
    cf_got_creds(c);
    return;
  }
  if (rc == CREDS_RUN_PROCESS) {
    po.cmd = cmd;
    po.source = c->creds.source;
    rc = credproc_start(&c->proc, c->loop, &po, cf_on_creds, c, &err);
    free(cmd);
    if (rc == 0)
      return;
  }
  cfw_err_prefix(&err, "credentials");
  cf_flush_waiting(c, &err);
}

static void cf_call_start(struct cf_call *call)
{
  struct cf_client *c = call->c;
  struct cf_call **tail = &c->waiting;

  if (c->have_creds && !creds_need_refresh(&c->creds, (int64_t)time(NULL))) {
    cf_call_go(call);
    return;
  }
  while (*tail != NULL)
    tail = &(*tail)->next;
  call->next = NULL;
  *tail = call;
  if (c->proc == NULL)
    cf_load_creds(c);
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

/* Builds "<base>/2020-05-31/distribution/<id>/invalidation<tail>". */
static int cf_call_path(struct cf_call *call, const char *tail)
{
  struct buf p;
  int rc;

  buf_init(&p, CF_URL_MAX);
  rc = buf_addf(&p, "%s/" CF_API_VERSION "/distribution/%s/invalidation%s",
                call->c->base_path, call->c->dist, tail);
  if (rc < 0) {
    buf_free(&p);
    return rc;
  }
  call->path = buf_take(&p);
  return call->path != NULL ? 0 : -ENOMEM;
}

int cf_client_prepare(struct cf_client *c, cf_cb cb, void *arg,
                      struct cfw_err *err)
{
  struct cf_call *call = cf_call_new(c, CF_OP_GET, cb, arg);

  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  call->prepare_only = true;
  cf_call_start(call);
  return 0;
}

int cf_create_invalidation(struct cf_client *c, const char *caller_ref,
                           const char *const *paths, size_t n, cf_cb cb,
                           void *arg, struct cfw_err *err)
{
  struct cf_call *call = cf_call_new(c, CF_OP_CREATE, cb, arg);
  int rc;

  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = cfxml_invalidation_batch(&call->body, caller_ref, paths, n, err);
  if (rc == 0)
    rc = cf_call_path(call, "");
  if (rc < 0) {
    if (err != NULL && err->code == 0)
      cfw_err_set(err, rc, "out of memory");
    cf_call_free(call);
    return rc;
  }
  cf_call_start(call);
  return 0;
}

static bool cf_id_ok(const char *id)
{
  size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

  return n > 0 && n < 128 && id[n] == '\0';
}

int cf_get_invalidation(struct cf_client *c, const char *id, cf_cb cb,
                        void *arg, struct cfw_err *err)
{
  struct cf_call *call;
  struct buf tail;
  int rc;

  if (!cf_id_ok(id))
    return cfw_err_set(err, -EINVAL, "bad invalidation id");
  call = cf_call_new(c, CF_OP_GET, cb, arg);
  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  buf_init(&tail, 256);
  rc = buf_addf(&tail, "/%s", id);
  if (rc == 0)
    rc = cf_call_path(call, buf_str(&tail));
  buf_free(&tail);
  if (rc < 0) {
    cf_call_free(call);
    return cfw_err_set(err, rc, "out of memory");
  }
  cf_call_start(call);
  return 0;
}

int cf_list_invalidations(struct cf_client *c, const char *marker,
                          unsigned max_items, cf_cb cb, void *arg,
                          struct cfw_err *err)
{
  struct cf_call *call;
  struct buf q;
  int rc;

  if (marker != NULL && marker[0] != '\0' && !cf_id_ok(marker))
    return cfw_err_set(err, -EINVAL, "bad list marker");
  call = cf_call_new(c, CF_OP_LIST, cb, arg);
  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  buf_init(&q, 512);
  rc = buf_addf(&q, "Marker=%s&MaxItems=%u", marker ? marker : "", max_items);
  call->query = rc == 0 ? buf_take(&q) : NULL;
  buf_free(&q);
  rc = call->query != NULL ? cf_call_path(call, "") : -ENOMEM;
  if (rc < 0) {
    cf_call_free(call);
    return cfw_err_set(err, rc, "out of memory");
  }
  cf_call_start(call);
  return 0;
}

/* Splits the endpoint into what the URL and the signature need. */
static int cf_parse_endpoint(struct cf_client *c, const char *endpoint,
                             struct cfw_err *err)
{
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  struct buf b;
  int rc = -EINVAL;

  buf_init(&b, CF_URL_MAX);
  if (u != NULL && curl_url_set(u, CURLUPART_URL, endpoint, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: default */
    while (path[0] != '\0' && path[strlen(path) - 1] == '/')
      path[strlen(path) - 1] = '\0';
    rc = buf_addf(&b, "%s%s%s", host, port ? ":" : "", port ? port : "");
    c->host = rc == 0 ? buf_take(&b) : NULL;
    rc = buf_addf(&b, "%s://%s", scheme, c->host ? c->host : "");
    c->base_url = rc == 0 ? buf_take(&b) : NULL;
    c->base_path = strdup(path);
    rc = c->host && c->base_url && c->base_path ? 0 : -ENOMEM;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  buf_free(&b);
  if (rc < 0)
    return cfw_err_set(err, rc, "endpoint %s: not a URL", endpoint);
  return 0;
}

int cf_client_new(struct cf_client **out, uv_loop_t *loop,
                  const struct cf_client_opts *o, struct cfw_err *err)
{
  struct cf_client *c;
  int rc;

  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  c->loop = loop;
  c->http = o->http;
  c->log = o->log;
  c->getenv = o->getenv;
  c->dist = strdup(o->distribution_id);
  c->profile = o->profile ? strdup(o->profile) : NULL;
  rc = cf_parse_endpoint(c, o->endpoint, err);
  if (rc == 0 && (c->dist == NULL || (o->profile && c->profile == NULL)))
    rc = cfw_err_set(err, -ENOMEM, "out of memory");
  if (rc == 0 && c->dist != NULL && !cf_id_ok(c->dist))
    rc = cfw_err_set(err, -EINVAL, "bad distribution id");
  if (rc < 0) {
    cf_client_destroy(c);
    return rc;
  }
  *out = c;
  return 0;
}

void cf_client_destroy(struct cf_client *c)
{
  struct cfw_err err = {-ECANCELED, "CloudFront: cancelled",
                        CFW_CLASS_TRANSIENT};

  if (c == NULL)
    return;
  cf_flush_waiting(c, &err);
  if (c->proc != NULL && !c->destroyed) {
    /* Its callback still holds c: it finishes the job. */
    c->destroyed = true;
    credproc_cancel(c->proc);
    return;
  }
  creds_free(&c->creds);
  free(c->dist);
  free(c->profile);
  free(c->base_url);
  free(c->base_path);
  free(c->host);
  free(c);
}

void cf_client_set_timeout(struct cf_client *c, uint64_t ms)
{
  c->timeout_ms = ms;
}

void cf_client_drop_creds(struct cf_client *c)
{
  c->have_creds = false;
  creds_free(&c->creds);
}

const char *cf_client_key_hint(const struct cf_client *c)
{
  return c->have_creds ? c->key_hint : "";
}
