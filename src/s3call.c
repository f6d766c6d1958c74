/* SPDX-License-Identifier: MIT */
#include "s3.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3_int.h"
#include "util.h"

/* One S3 call's life: signed and sent through the aws_client, its
 * answer classified (retry_classify_s3), retried with backoff until its
 * deadline, sent again for a new region or new credentials, and ended
 * with one callback. */

#define S3_SERVICE "s3"
/* An attempt gets a second more per this many bytes of body: 64 KiB/s
 * is the slowest link it waits for. */
#define S3_SLOWEST_BPS ((uint64_t)64 * 1024)
#define S3_MAX_REFRESH 2

static void s3_attempt(struct s3_op *op);

/* ---- A call's life ---- */

static void s3_result_free(struct s3_result *r)
{
  size_t i;

  for (i = 0; i < r->info.n_meta; i++) {
    free(r->info.meta[i].name);
    free(r->info.meta[i].value);
  }
  free(r->info.meta);
  buf_free(&r->body);
  s3_list_page_free(&r->list);
  s3_delete_result_free(&r->deleted);
}

void s3_op_free(struct s3_op *op)
{
  if (op == NULL)
    return;
  s3_result_free(&op->r);
  free(op->key);
  free(op->path);
  free(op->query);
  strlist_free(&op->hdrs);
  free(op->hd);
  buf_free(&op->body);
  free(op->base_url);
  free(op->host);
  free(op->region);
  free(op);
}

static void s3_op_on_close(uv_handle_t *h)
{
  s3_op_free(container_of((uv_timer_t *)h, struct s3_op, timer));
}

static void s3_op_unlink(struct s3_op *op)
{
  if (op->prev != NULL)
    op->prev->next = op->next;
  else
    op->c->ops = op->next;
  if (op->next != NULL)
    op->next->prev = op->prev;
  op->prev = op->next = NULL;
}

/* Ends the call: out of the client's list first, so the callback may
 * destroy the client; then freed once its timer is closed. */
static void s3_op_end(struct s3_op *op, enum s3_outcome o)
{
  struct s3_result *r = &op->r;

  r->outcome = o;
  r->elapsed_ms = uv_now(op->c->loop) - op->start_ms;
  if (o == S3_REFUSED)
    cfw_err_class(&r->err, CFW_CLASS_REFUSED);
  else if (o == S3_GAVE_UP || o == S3_CANCELLED)
    cfw_err_class(&r->err, CFW_CLASS_TRANSIENT);
  s3_op_unlink(op);
  op->cb(r, op->arg);
  (void)uv_timer_stop(&op->timer); /* a live handle: cannot fail */
  uv_close((uv_handle_t *)&op->timer, s3_op_on_close);
}

/* "S3 PUT s3://bucket/key: " and what happened. */
static void s3_op_fail(struct s3_op *op, enum s3_outcome o, int code,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s3_op_fail(struct s3_op *op, enum s3_outcome o, int code,
                       const char *fmt, ...)
{
  char msg[sizeof(op->r.err.msg)];
  va_list ap;

  va_start(ap, fmt);
  /* Cut short if need be: the start says the most. */
  (void)vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  cfw_err_set(&op->r.err, code, "S3 %s s3://%s/%s: %s", op->method,
              op->c->bucket, op->key, msg);
  s3_op_end(op, o);
}

void s3_cancel(struct s3_op *op)
{
  if (op->call != NULL) {
    aws_cancel(op->call); /* the reply ends op as cancelled */
    return;
  }
  s3_op_fail(op, S3_CANCELLED, -ECANCELED, "cancelled");
}

/* ---- Retrying ---- */

static void s3_on_timer(uv_timer_t *t)
{
  s3_attempt(container_of(t, struct s3_op, timer));
}

/* A first line, without SignatureDoesNotMatch's canonical request. */
static int s3_line_len(const char *s)
{
  size_t n = strcspn(s, "\r\n");

  return n > 200 ? 200 : (int)n;
}

/* What the answer said, for messages: "503 SlowDown: Please reduce..."
 * or the transport's failure. */
static void s3_describe(const struct http_response *h, const struct s3_error *e,
                        char *out, size_t n)
{
  if (h->fail != HTTP_OK)
    (void)snprintf(out, n, "%s: %s", http_fail_str(h->fail), h->error);
  else if (e->code[0] != '\0')
    (void)snprintf(out, n, "%d %s: %.*s", h->status, e->code,
                   s3_line_len(e->message), e->message);
  else
    (void)snprintf(out, n, "HTTP %d", h->status);
}

/* Whether waiting ms more passes the call's deadline. */
static bool s3_past_deadline(const struct s3_op *op, uint64_t ms)
{
  const struct s3_client *c = op->c;
  uint64_t now = uv_now(c->loop);

  if (op->bounded)
    return now + ms > op->retry_until_ms;
  return c->retry_for_ms != 0 && now - op->start_ms + ms > c->retry_for_ms;
}

void s3_op_retry_for(struct s3_op *op, uint64_t ms)
{
  op->bounded = true;
  op->retry_until_ms = uv_now(op->c->loop) + ms;
}

static void s3_retry_later(struct s3_op *op, const char *what)
{
  struct s3_client *c = op->c;
  uint64_t spent = uv_now(c->loop) - op->start_ms;
  uint64_t ms = retry_backoff_ms(op->retry++, c->base_ms, c->cap_ms,
                                 retry_jitter(&c->rng));

  if (s3_past_deadline(op, ms)) {
    s3_op_fail(
        op, S3_GAVE_UP, -ETIMEDOUT, "gave up after %llu s and %u attempts: %s",
        (unsigned long long)((spent + 999) / 1000), op->r.attempts, what);
    return;
  }
  log_msg(c->log, LOG_WARN, "S3 %s s3://%s/%s: %s; retrying in %llu ms",
          op->method, c->bucket, op->key, what, (unsigned long long)ms);
  (void)uv_timer_start(&op->timer, s3_on_timer, ms, 0); /* live handle */
}

/* Follows a wrong region once per call: the region comes from the
 * x-amz-bucket-region header, else the error's <Region>. */
static bool s3_follow_region(struct s3_op *op, const char *region)
{
  struct s3_client *c = op->c;
  char old[S3_REGION_MAX];

  if (op->redirected || region == NULL || strcmp(region, op->region) == 0)
    return false;
  str_copy(old, sizeof(old), op->region);
  if (strcmp(region, c->region) != 0 &&
      s3_client_set_region(c, region, NULL) < 0)
    return false;
  op->redirected = true;
  log_msg(c->log, LOG_WARN,
          "S3 bucket %s is in region %s, not %s (from %s): following it; "
          "set region = %s (or --region) to save a round trip",
          c->bucket, c->region, old, c->region_source, c->region);
  return true;
}

static const char *s3_named_region(const struct http_response *h,
                                   const struct s3_error *e)
{
  const char *r = http_response_header(h, "x-amz-bucket-region");

  if (r != NULL && r[0] != '\0')
    return r;
  return e->region[0] != '\0' ? e->region : NULL;
}

/* ---- Answers ---- */

static void s3_on_verdict(struct s3_op *op, enum s3_verdict v,
                          const struct http_response *h,
                          const struct s3_error *e)
{
  char what[400];

  s3_describe(h, e, what, sizeof(what));
  switch (v) {
  case S3V_DONE:
    s3_op_end(op, S3_OK);
    return;
  case S3V_RETRY:
    s3_retry_later(op, what);
    return;
  case S3V_REFRESH:
    if (op->refreshes++ < S3_MAX_REFRESH) {
      aws_client_drop_creds(op->c->aws);
      s3_attempt(op);
      return;
    }
    break;
  case S3V_REDIRECT:
    if (s3_follow_region(op, s3_named_region(h, e))) {
      s3_attempt(op);
      return;
    }
    break;
  case S3V_PRECONDITION:
    s3_op_fail(op, S3_PRECONDITION, -EEXIST, "%s", what);
    return;
  case S3V_CHANGED:
    s3_op_fail(op, S3_CHANGED, -ESTALE,
               "%s: the file changed since it was "
               "hashed",
               what);
    return;
  case S3V_NOT_FOUND:
    if (op->kind == S3K_MPU_ABORT)
      s3_op_end(op, S3_OK); /* already gone: what abort wants */
    else
      s3_op_fail(op, S3_NOT_FOUND, -ENOENT, "%s", what);
    return;
  case S3V_FATAL:
    break;
  }
  s3_op_fail(op, S3_REFUSED, -EREMOTEIO, "%s; %s", what,
             retry_hint_s3(h->fail == HTTP_TLS ? "TLS" : e->code, h->status));
}

static void s3_on_http(struct s3_op *op, struct http_response *h)
{
  struct s3_error e = {0};
  enum s3_verdict v;
  bool ok = h->fail == HTTP_OK;
  char why[256] = "";
  int failed = 0;

  if (h->fail == HTTP_TOO_LARGE) {
    s3_op_fail(op, S3_FAILED, -E2BIG, "%s", h->error);
    return;
  }
  /* The file ran out under the upload (truncated, or replaced by a
   * shorter one, since it was hashed): no retry of these bytes can
   * succeed, and the file goes back to be hashed again. */
  if (h->fail != HTTP_OK && h->body_err == -ENODATA) {
    s3_op_fail(op, S3_CHANGED, -ESTALE,
               "%s: the file changed since it was hashed", h->error);
    return;
  }
  op->r.status = h->status;
  if (ok && (h->status < 200 || h->status >= 300) && h->body.len > 0)
    (void)s3xml_parse_error(buf_str(&h->body), h->body.len, &e, NULL);
  v = retry_classify_s3(ok, h->fail == HTTP_TLS, h->status, e.code,
                        s3_named_region(h, &e) != NULL);
  if (v == S3V_RETRY && (!ok || h->status >= 500))
    op->r.unsure = true; /* it may have been done all the same */
  if (v == S3V_DONE)
    v = s3ops_on_2xx(op, h, &e, why, sizeof(why), &failed);
  str_copy(op->r.code, sizeof(op->r.code), e.code);
  if (failed < 0)
    s3_op_fail(op, S3_FAILED, failed, "%s", why);
  else if (why[0] != '\0')
    s3_retry_later(op, why); /* a 2xx it could not read */
  else
    s3_on_verdict(op, v, h, &e);
}

static void s3_on_reply(struct http_response *h, const struct cfw_err *err,
                        void *arg)
{
  struct s3_op *op = arg;

  op->call = NULL;
  if ((h != NULL && h->fail == HTTP_CANCELLED) ||
      (h == NULL && err->code == -ECANCELED))
    s3_op_fail(op, S3_CANCELLED, -ECANCELED, "cancelled");
  else if (h != NULL)
    s3_on_http(op, h);
  else /* nothing was sent: the credentials chain or the signer */
    s3_op_fail(op, S3_REFUSED, err->code, "%s", err->msg);
}

/* ---- Attempts ---- */

static int s3_attempt_prepare(struct s3_op *op)
{
  struct s3_client *c = op->c;
  uint64_t body = op->has_file ? op->file.len : op->body.len;

  free(op->base_url);
  free(op->host);
  free(op->region);
  op->base_url = strdup(c->ep.base_url);
  op->host = strdup(c->ep.host);
  op->region = strdup(c->region);
  if (op->base_url == NULL || op->host == NULL || op->region == NULL)
    return -ENOMEM;
  op->rq.region = op->region;
  op->rq.base_url = op->base_url;
  op->rq.host = op->host;
  op->rq.timeout_ms = c->timeout_ms + body / S3_SLOWEST_BPS * 1000;
  cfw_err_clear(&op->r.err);
  return 0;
}

/* Sends one attempt: from s3_op_start (errors go to its caller), and
 * from retries (errors end the call). */
static int s3_send(struct s3_op *op, struct cfw_err *err)
{
  int rc = s3_attempt_prepare(op);

  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  op->r.attempts++;
  return aws_send(op->c->aws, &op->rq, s3_on_reply, op, &op->call, err);
}

static void s3_attempt(struct s3_op *op)
{
  struct cfw_err err = {0};
  int rc = s3_send(op, &err);

  if (rc < 0)
    s3_op_fail(op, rc == -EPERM ? S3_REFUSED : S3_FAILED, rc, "%s", err.msg);
}

static int s3_op_build(struct s3_op *op)
{
  struct s3_client *c = op->c;
  struct buf p;
  size_t i;
  int rc;

  buf_init(&p, S3_KEY_MAX + 8192);
  rc = buf_addf(&p, "%s/%s%s%s", c->ep.path, c->bucket,
                op->key[0] != '\0' ? "/" : "", op->key);
  op->path = rc == 0 ? buf_take(&p) : NULL;
  buf_free(&p);
  op->hd = calloc(op->hdrs.n / 2 + 1, sizeof(*op->hd));
  if (op->path == NULL || op->hd == NULL)
    return -ENOMEM;
  for (i = 0; i + 1 < op->hdrs.n; i += 2)
    op->hd[i / 2] = (struct http_header){op->hdrs.v[i], op->hdrs.v[i + 1]};
  op->rq = (struct aws_request){0};
  op->rq.method = op->method;
  op->rq.service = S3_SERVICE;
  op->rq.path = op->path;
  op->rq.s3_path = true;
  op->rq.query = op->query;
  op->rq.headers = op->hd;
  op->rq.n_headers = op->hdrs.n / 2;
  op->rq.body = op->body.data;
  op->rq.body_len = op->body.len;
  op->rq.file = op->has_file ? &op->file : NULL;
  op->rq.payload_hash = op->payload_hash[0] ? op->payload_hash : NULL;
  op->rq.content_sha256 = true;
  return 0;
}

int s3_op_start(struct s3_op *op, struct s3_op **out, struct cfw_err *err)
{
  struct s3_client *c = op->c;
  int rc = s3_op_build(op);

  if (rc < 0) {
    s3_op_free(op);
    return cfw_err_set(err, rc, "out of memory");
  }
  op->start_ms = uv_now(c->loop);
  rc = s3_send(op, err);
  if (rc < 0) {
    cfw_err_prefix(err, "S3 %s s3://%s/%s", op->method, c->bucket, op->key);
    s3_op_free(op);
    return rc;
  }
  (void)uv_timer_init(c->loop, &op->timer); /* cannot fail */
  op->next = c->ops;
  if (c->ops != NULL)
    c->ops->prev = op;
  c->ops = op;
  if (out != NULL)
    *out = op;
  return 0;
}

/* ---- Calls and the client ---- */

static bool s3_key_ok(const char *key, enum s3_kind kind)
{
  size_t n = strlen(key);

  if (kind == S3K_LIST || kind == S3K_DELETE)
    return n == 0;
  return n > 0 && n <= S3_KEY_MAX;
}

struct s3_op *s3_op_new(struct s3_client *c, enum s3_kind kind,
                        const char *method, const char *key, s3_cb cb,
                        void *arg, struct cfw_err *err)
{
  struct s3_op *op;

  if (!s3_key_ok(key, kind)) {
    cfw_err_set(err, -EINVAL, "S3 %s: a key of 1 to %d bytes", method,
                S3_KEY_MAX);
    return NULL;
  }
  op = calloc(1, sizeof(*op));
  if (op == NULL || (op->key = strdup(key)) == NULL) {
    free(op);
    cfw_err_set(err, -ENOMEM, "out of memory");
    return NULL;
  }
  op->c = c;
  op->kind = kind;
  op->method = method;
  op->cb = cb;
  op->arg = arg;
  strlist_init(&op->hdrs);
  buf_init(&op->body, S3XML_MAX_BODY);
  buf_init(&op->r.body, S3_GET_MAX);
  s3_list_page_init(&op->r.list);
  s3_delete_result_init(&op->r.deleted);
  return op;
}

int s3_op_header(struct s3_op *op, const char *name, const char *value)
{
  if (strpbrk(value, "\r\n") != NULL)
    return -EINVAL;
  if (strlist_push(&op->hdrs, name) < 0 || strlist_push(&op->hdrs, value) < 0)
    return -ENOMEM;
  return 0;
}
