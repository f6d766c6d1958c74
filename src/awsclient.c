/* SPDX-License-Identifier: MIT */
#include "awsclient.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "credproc.h"
#include "creds.h"
#include "log.h"
#include "sigv4.h"
#include "util.h"

#define AWS_URL_MAX 16384
/* Host, X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256 and
 * Authorization, besides the request's own. */
#define AWS_OWN_HEADERS 5

struct aws_call {
  struct aws_call *next;      /* in the waiting queue */
  struct aws_call *sent_prev; /* in the list of calls in flight */
  struct aws_call *sent_next;
  struct aws_client *c;         /* borrowed */
  const struct aws_request *rq; /* borrowed; NULL for a prepare */
  aws_cb cb;
  void *arg;
  bool in_flight;
  uint64_t http_id;
};

struct aws_client {
  uv_loop_t *loop;
  struct http *http; /* borrowed */
  struct log *log;   /* borrowed */
  const char *(*getenv)(const char *name);
  char *profile; /* owned or NULL */
  struct creds creds;
  bool have_creds;
  struct credproc *proc;     /* running credential_process, or NULL */
  struct aws_call *waiting;  /* FIFO of calls waiting for credentials */
  struct aws_call *flushing; /* calls being handed on by aws_flush */
  struct aws_call *sent;     /* calls in flight */
  unsigned flush_depth;      /* aws_flush calls on the stack */
  bool destroyed;            /* freed once nothing holds it any more */
  /* creds_resolve runs in the thread pool (it reads two files). */
  uv_work_t work;
  bool resolving;
  bool w_skip; /* the credentials are fine: just hand the queue on */
  int w_rc;
  char *w_cmd;
  struct creds w_creds;
  struct cfw_err w_err;
  char key_hint[8];
};

static void aws_client_free(struct aws_client *c)
{
  creds_free(&c->creds);
  creds_free(&c->w_creds);
  free(c->w_cmd);
  free(c->profile);
  free(c);
}

static void aws_call_end(struct aws_call *call, struct http_response *resp,
                         const struct cfw_err *err)
{
  call->cb(resp, err, call->arg);
  free(call);
}

static void aws_sent_link(struct aws_call *call)
{
  struct aws_client *c = call->c;

  call->in_flight = true;
  call->sent_prev = NULL;
  call->sent_next = c->sent;
  if (c->sent != NULL)
    c->sent->sent_prev = call;
  c->sent = call;
}

static void aws_on_response(struct http_response *resp, void *arg)
{
  struct aws_call *call = arg;

  if (call->sent_prev != NULL)
    call->sent_prev->sent_next = call->sent_next;
  else
    call->c->sent = call->sent_next;
  if (call->sent_next != NULL)
    call->sent_next->sent_prev = call->sent_prev;
  aws_call_end(call, resp, NULL);
}

/* The hex SHA-256 that signs the payload, and x-amz-content-sha256. */
static int aws_payload_hash(const struct aws_request *rq, char out[65],
                            struct cfw_err *err)
{
  unsigned char md[32];
  unsigned int len = 0;

  if (rq->payload_hash != NULL) {
    str_copy(out, 65, rq->payload_hash);
    return 0;
  }
  if (EVP_Digest(rq->body_len > 0 ? rq->body : "", rq->body_len, md, &len,
                 EVP_sha256(), NULL) != 1 ||
      len != sizeof(md))
    return cfw_err_set(err, -EIO, "SHA-256 failed");
  hex_encode(md, sizeof(md), out);
  return 0;
}

/* Collects the headers to sign: the client's own, then the request's. */
static size_t aws_headers(const struct aws_client *c,
                          const struct aws_request *rq, const char *amz_date,
                          const char *hash, struct sigv4_header *sh)
{
  size_t n = 0;
  size_t i;

  sh[n++] = (struct sigv4_header){"Host", rq->host};
  sh[n++] = (struct sigv4_header){"X-Amz-Date", amz_date};
  if (c->creds.session_token != NULL && c->creds.session_token[0] != '\0')
    sh[n++] =
        (struct sigv4_header){"X-Amz-Security-Token", c->creds.session_token};
  if (rq->content_sha256)
    sh[n++] = (struct sigv4_header){"x-amz-content-sha256", hash};
  for (i = 0; i < rq->n_headers; i++)
    sh[n++] = (struct sigv4_header){rq->headers[i].name, rq->headers[i].value};
  return n;
}

/* The texts the signed headers point to, which must live until
 * http_start has copied the headers. */
struct aws_texts {
  char amz_date[17];
  char hash[65];
};

static int aws_sign(const struct aws_client *c, const struct aws_request *rq,
                    struct aws_texts *t, struct sigv4_header *sh, size_t *n_sh,
                    struct sigv4_result *sig, struct cfw_err *err)
{
  struct sigv4_creds cr = {c->creds.access_key_id, c->creds.secret_access_key,
                           c->creds.session_token};
  struct sigv4_request req = {0};
  struct sigv4_params p = {rq->region, rq->service, NULL, rq->s3_path};
  char *amz_date = t->amz_date;
  char *hash = t->hash;
  int rc;

  if (sigv4_amz_date((int64_t)time(NULL), amz_date) < 0)
    return cfw_err_set(err, -ERANGE, "the clock is out of range");
  p.amz_date = amz_date;
  rc = aws_payload_hash(rq, hash, err);
  if (rc < 0)
    return rc;
  *n_sh = aws_headers(c, rq, amz_date, hash, sh);
  req.method = rq->method;
  req.path = rq->path;
  req.query = rq->query;
  req.headers = sh;
  req.n_headers = *n_sh;
  req.payload = rq->body;
  req.payload_len = rq->body_len;
  req.payload_hash = hash;
  return sigv4_sign(&req, &cr, &p, sig, err);
}

static int aws_url(const struct aws_request *rq, struct buf *url)
{
  int rc = buf_adds(url, rq->base_url);

  if (rc == 0 && rq->s3_path)
    rc = sigv4_uri_encode(url, rq->path, true);
  else if (rc == 0)
    rc = buf_adds(url, rq->path);
  if (rc == 0 && rq->query != NULL)
    rc = buf_addf(url, "?%s", rq->query);
  return rc;
}

/* Signs the call and hands it to http; the caller then links it into
 * the list of calls in flight.  The signature's texts are only needed
 * until http_start has copied the headers. */
static int aws_go(struct aws_call *call, struct cfw_err *err)
{
  const struct aws_request *rq = call->rq;
  size_t n = rq->n_headers + AWS_OWN_HEADERS;
  struct sigv4_header *sh = calloc(n, sizeof(*sh));
  struct http_header *hd = calloc(n, sizeof(*hd));
  struct http_request req = {0};
  struct sigv4_result sig;
  struct aws_texts texts;
  struct buf url;
  size_t i;
  int rc = sh != NULL && hd != NULL ? 0 : -ENOMEM;

  sigv4_result_init(&sig);
  buf_init(&url, AWS_URL_MAX);
  if (rc == 0)
    rc = aws_sign(call->c, rq, &texts, sh, &n, &sig, err);
  if (rc == 0 && aws_url(rq, &url) < 0)
    rc = cfw_err_set(err, -E2BIG, "URL over %d bytes", AWS_URL_MAX);
  if (rc == 0) {
    for (i = 0; i < n; i++)
      hd[i] = (struct http_header){sh[i].name, sh[i].value};
    hd[n++] =
        (struct http_header){"Authorization", buf_str(&sig.authorization)};
    req.method = rq->method;
    req.url = buf_str(&url);
    req.headers = hd;
    req.n_headers = n;
    req.body = rq->body;
    req.body_len = rq->body_len;
    req.file = rq->file;
    req.total_timeout_ms = rq->timeout_ms;
    rc = http_start(call->c->http, &req, aws_on_response, call, &call->http_id,
                    err);
  } else if (rc == -ENOMEM) {
    cfw_err_set(err, rc, "out of memory");
  }
  sigv4_result_free(&sig);
  buf_free(&url);
  free(sh);
  free(hd);
  return rc;
}

/* Sends a call whose credentials are ready, or ends it if it cannot go. */
static void aws_go_or_end(struct aws_call *call)
{
  struct cfw_err err = {0};

  if (call->rq == NULL) {
    aws_call_end(call, NULL, NULL); /* a prepare: nothing to send */
    return;
  }
  if (aws_go(call, &err) < 0)
    aws_call_end(call, NULL, &err);
  else
    aws_sent_link(call);
}

/* Hands every waiting call on, with the credentials or their error.  A
 * callback may add calls (they wait for the next round), cancel calls
 * not yet handed on, or destroy the client: then the outermost flush
 * frees it. */
static void aws_flush(struct aws_client *c, const struct cfw_err *err)
{
  struct aws_call **tail = &c->flushing;
  struct aws_call *call;

  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = c->waiting;
  c->waiting = NULL;
  c->flush_depth++;
  while ((call = c->flushing) != NULL) {
    c->flushing = call->next;
    if (err != NULL)
      aws_call_end(call, NULL, err);
    else
      aws_go_or_end(call);
  }
  c->flush_depth--;
  if (c->flush_depth == 0 && c->destroyed && !c->resolving && c->proc == NULL)
    aws_client_free(c);
}

static void aws_got_creds(struct aws_client *c)
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
  aws_flush(c, NULL);
}

static void aws_on_creds(struct credproc *p, int status, struct creds *creds,
                         const struct cfw_err *err, void *arg)
{
  struct aws_client *c = arg;

  (void)p; /* frees itself after this callback */
  c->proc = NULL;
  if (c->destroyed) {
    aws_client_free(c);
    return;
  }
  if (status < 0) {
    aws_flush(c, err);
    return;
  }
  creds_free(&c->creds);
  creds_move(&c->creds, creds);
  aws_got_creds(c);
}

/* Runs in the thread pool: reads the environment and the two files. */
static void aws_resolve_work(uv_work_t *w)
{
  struct aws_client *c = container_of(w, struct aws_client, work);
  struct creds_opts o = {c->profile, c->getenv};

  if (c->w_skip)
    return;
  cfw_err_clear(&c->w_err);
  c->w_rc = creds_resolve(&o, &c->w_creds, &c->w_cmd, &c->w_err);
}

static void aws_run_process(struct aws_client *c)
{
  struct credproc_opts po = {0};
  struct cfw_err err = {0};
  int rc;

  po.cmd = c->w_cmd;
  po.source = c->w_creds.source;
  rc = credproc_start(&c->proc, c->loop, &po, aws_on_creds, c, &err);
  free(c->w_cmd);
  c->w_cmd = NULL;
  creds_free(&c->w_creds);
  if (rc < 0) {
    cfw_err_prefix(&err, "credentials");
    aws_flush(c, &err);
  }
}

static void aws_resolve_done(uv_work_t *w, int status)
{
  struct aws_client *c = container_of(w, struct aws_client, work);

  c->resolving = false;
  if (c->destroyed) {
    aws_client_free(c);
    return;
  }
  if (c->w_skip || status < 0) {
    c->w_skip = false;
    aws_flush(c, NULL); /* a cancelled work cannot happen: the loop runs */
    return;
  }
  if (c->w_rc == CREDS_READY) {
    creds_free(&c->creds);
    creds_move(&c->creds, &c->w_creds);
    aws_got_creds(c);
  } else if (c->w_rc == CREDS_RUN_PROCESS) {
    aws_run_process(c);
  } else {
    creds_free(&c->w_creds);
    cfw_err_prefix(&c->w_err, "credentials");
    aws_flush(c, &c->w_err);
  }
}

/* Starts resolving (or, with skip, just a trip through the pool so that
 * queued calls go from a loop callback).  -errno if it cannot start. */
static int aws_resolve(struct aws_client *c, bool skip)
{
  int rc;

  if (c->resolving || c->proc != NULL)
    return 0;
  if (!skip) {
    c->have_creds = false;
    creds_free(&c->creds);
  }
  c->w_skip = skip;
  rc = uv_queue_work(c->loop, &c->work, aws_resolve_work, aws_resolve_done);
  if (rc == 0)
    c->resolving = true;
  return rc;
}

static bool aws_creds_ok(const struct aws_client *c)
{
  return c->have_creds && !creds_need_refresh(&c->creds, (int64_t)time(NULL));
}

static int aws_enqueue(struct aws_client *c, struct aws_call *call, bool skip,
                       struct cfw_err *err)
{
  struct aws_call **tail = &c->waiting;
  int rc = aws_resolve(c, skip);

  if (rc < 0) {
    free(call);
    return cfw_err_set(err, rc, "credentials: %s", uv_strerror(rc));
  }
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = call;
  return 0;
}

int aws_send(struct aws_client *c, const struct aws_request *rq, aws_cb cb,
             void *arg, struct aws_call **out, struct cfw_err *err)
{
  struct aws_call *call;
  int rc;

  if (rq->method == NULL || rq->path == NULL || rq->host == NULL ||
      rq->base_url == NULL || (rq->file != NULL && rq->payload_hash == NULL))
    return cfw_err_set(err, -EINVAL, "aws: incomplete request");
  call = calloc(1, sizeof(*call));
  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  call->c = c;
  call->rq = rq;
  call->cb = cb;
  call->arg = arg;
  if (aws_creds_ok(c) && c->waiting == NULL) {
    rc = aws_go(call, err);
    if (rc < 0) {
      free(call);
      return rc;
    }
    aws_sent_link(call);
  } else {
    rc = aws_enqueue(c, call, false, err);
    if (rc < 0)
      return rc;
  }
  if (out != NULL)
    *out = call;
  return 0;
}

int aws_client_prepare(struct aws_client *c, aws_cb cb, void *arg,
                       struct aws_call **out, struct cfw_err *err)
{
  struct aws_call *call = calloc(1, sizeof(*call));
  int rc;

  if (call == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  call->c = c;
  call->cb = cb;
  call->arg = arg;
  rc = aws_enqueue(c, call, aws_creds_ok(c), err);
  if (rc == 0 && out != NULL)
    *out = call;
  return rc;
}

/* Unlinks call from list; true if it was there. */
static bool aws_unlink(struct aws_call **list, const struct aws_call *call)
{
  struct aws_call **p = list;

  while (*p != NULL && *p != call)
    p = &(*p)->next;
  if (*p == NULL)
    return false;
  *p = call->next;
  return true;
}

void aws_cancel(struct aws_call *call)
{
  struct aws_client *c = call->c;
  struct cfw_err err = {-ECANCELED, "cancelled", CFW_CLASS_TRANSIENT};

  if (call->in_flight) {
    /* -ENOENT cannot happen: the callback, which frees call, has not
     * run yet. */
    (void)http_abort(c->http, call->http_id);
    return;
  }
  if (!aws_unlink(&c->waiting, call))
    (void)aws_unlink(&c->flushing, call); /* it is in one of them */
  aws_call_end(call, NULL, &err);
}

int aws_client_new(struct aws_client **out, uv_loop_t *loop,
                   const struct aws_client_opts *o, struct cfw_err *err)
{
  struct aws_client *c = calloc(1, sizeof(*c));

  if (c == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  c->loop = loop;
  c->http = o->http;
  c->log = o->log;
  c->getenv = o->getenv;
  if (o->profile != NULL) {
    c->profile = strdup(o->profile);
    if (c->profile == NULL) {
      free(c);
      return cfw_err_set(err, -ENOMEM, "out of memory");
    }
  }
  *out = c;
  return 0;
}

void aws_client_destroy(struct aws_client *c)
{
  struct cfw_err err = {-ECANCELED, "cancelled", CFW_CLASS_TRANSIENT};

  if (c == NULL)
    return;
  /* A resolve or credproc in flight still holds c: its callback frees
   * it.  Otherwise the flush does, unless a flush further up the stack
   * is still walking its list.  Calls in flight end first. */
  while (c->sent != NULL)
    (void)http_abort(c->http, c->sent->http_id); /* unlinks it */
  c->destroyed = true;
  if (c->proc != NULL)
    credproc_cancel(c->proc);
  aws_flush(c, &err);
}

void aws_client_drop_creds(struct aws_client *c)
{
  c->have_creds = false;
  creds_free(&c->creds);
}

const char *aws_client_key_hint(const struct aws_client *c)
{
  return c->have_creds ? c->key_hint : "";
}
