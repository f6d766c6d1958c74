/* SPDX-License-Identifier: MIT */
/* The client (http.h): its life cycle, and starting, aborting and
 * cancelling requests.  Driving libcurl's multi handle from the loop is
 * http_multi.c's; making one request's easy handle is http_req.c's. */
#include "http.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_int.h"
#include "log.h"
#include "util.h"

/* Defined checks keep analysers that skip system headers quiet. */
#if defined(LIBCURL_VERSION_NUM) && LIBCURL_VERSION_NUM < 0x075500
#error "libcurl 7.85 or newer is needed (curl_easy_header, PROTOCOLS_STR)"
#endif

#define HTTP_DEFAULT_CONNECT_MS 10000
#define HTTP_DEFAULT_TOTAL_MS   60000
#define HTTP_DEFAULT_MAX_BODY   ((size_t)4 * 1024 * 1024)

/* Frees everything a request owns.  The easy handle must already be out
 * of the multi handle (or never have been in it). */
static void http_xfer_free(struct http_xfer *x)
{
  http_req_free(&x->req);
  free(x);
}

void http_xfer_end(struct http_xfer *x)
{
  http_link_remove(&x->link);
  x->cb(&x->req.resp, x->arg);
  http_xfer_free(x);
}

void http_xfer_fail(struct http_xfer *x, enum http_fail fail, int curl_code,
                    const char *what, const char *detail)
{
  struct http_response *resp = &x->req.resp;

  buf_reset(&resp->body);
  buf_reset(&resp->headers);
  resp->status = 0;
  resp->fail = fail;
  resp->curl_code = curl_code;
  http_resp_set_error(resp, "%s: %s", what, detail);
  resp->elapsed_ms = (uv_hrtime() - x->start_ns) / 1000000;
  http_xfer_end(x);
}

/* ---- Closing ------------------------------------------------------- */

void http_maybe_finish(struct http *h)
{
  void (*done)(void *arg) = h->done;
  void *arg = h->done_arg;

  if (!h->closing || h->n_handles > 0 || h->n_streams > 0 || h->ca != NULL)
    return;
  free(h->ca_file);
  free(h);
  if (done != NULL)
    done(arg);
}

/* A file body released while its read was in flight is freed later. */
static void http_on_stream_freed(void *arg)
{
  http_maybe_finish(arg);
}

static void http_on_timer_close(uv_handle_t *handle)
{
  struct http *h = container_of(handle, struct http, timer);

  h->n_handles--;
  http_maybe_finish(h);
}

int http_start(struct http *h, const struct http_request *req, http_cb cb,
               void *arg, uint64_t *id, struct cfw_err *err)
{
  struct http_xfer *x;
  CURLMcode mc;
  int rc;

  assert(cb != NULL);
  if (h->closing)
    return cfw_err_set(err, -ESHUTDOWN, "http: client is closing");
  x = calloc(1, sizeof(*x));
  if (x == NULL)
    return cfw_err_set(err, -ENOMEM, "http: out of memory");
  rc = http_req_init(&x->req, &h->conf, req, &h->next_id, err);
  if (rc < 0) {
    free(x); /* a failed init leaves nothing in x->req to free */
    return rc;
  }
  x->h = h;
  x->cb = cb;
  x->arg = arg;
  http_link_init(&x->link);
  x->start_ns = uv_hrtime();
  x->parked = http_ca_pending(h);
  mc = x->parked ? CURLM_OK : curl_multi_add_handle(h->multi, x->req.easy);
  if (mc != CURLM_OK) {
    http_xfer_free(x);
    return cfw_err_set(err, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                       "http: curl_multi_add_handle: %s",
                       curl_multi_strerror(mc));
  }
  http_link_insert(&h->reqs, &x->link);
  if (id != NULL)
    *id = x->req.id;
  return 0;
}

int http_send(struct http *h, const struct http_request *req, http_cb cb,
              void *arg, struct cfw_err *err)
{
  return http_start(h, req, cb, arg, NULL, err);
}

/* ---- Life cycle ------------------------------------------------------ */

static int http_copy_opts(struct http *h, const struct http_opts *o,
                          struct cfw_err *err)
{
  h->conf.log = o->log;
  h->conf.trace = o->trace;
  h->conf.connect_timeout_ms =
      o->connect_timeout_ms ? o->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS;
  h->conf.total_timeout_ms =
      o->total_timeout_ms ? o->total_timeout_ms : HTTP_DEFAULT_TOTAL_MS;
  h->conf.max_body = o->max_body ? o->max_body : HTTP_DEFAULT_MAX_BODY;
  h->conf.streams.loop = h->loop;
  h->conf.streams.live = &h->n_streams;
  h->conf.streams.on_freed = http_on_stream_freed;
  h->conf.streams.arg = h;
  if (o->ca_file == NULL)
    return 0;
  /* Fail at startup rather than on the first handshake. */
  if (access(o->ca_file, R_OK) < 0)
    return cfw_err_set(err, -errno, "http: ca_file %s: %s", o->ca_file,
                       strerror(errno));
  h->ca_file = strdup(o->ca_file);
  if (h->ca_file == NULL)
    return cfw_err_set(err, -ENOMEM, "http: out of memory");
  h->conf.ca_file = h->ca_file;
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
  h->loop = loop; /* before http_copy_opts, which hands it on */
  http_link_init(&h->socks);
  http_link_init(&h->reqs);
  rc = http_copy_opts(h, o, err);
  if (rc == 0)
    rc = http_multi_init(h, err);
  if (rc == 0) {
    rc = uv_timer_init(loop, &h->timer);
    if (rc < 0) {
      http_multi_cleanup(h);
      cfw_err_set(err, rc, "http: uv_timer_init: %s", uv_strerror(rc));
    }
  }
  if (rc < 0) {
    free(h->ca_file);
    free(h);
    return rc;
  }
  h->n_handles = 1;
  http_ca_start(h);
  *out = h;
  return 0;
}

/* Takes x out of the multi handle and ends it as cancelled. */
static void http_cancel_one(struct http *h, struct http_xfer *x,
                            const char *why)
{
  http_multi_remove(h, x);
  http_xfer_fail(x, HTTP_CANCELLED, CURLE_ABORTED_BY_CALLBACK,
                 "request cancelled", why);
}

int http_abort(struct http *h, uint64_t id)
{
  struct http_link *l;
  struct http_xfer *x;

  if (h->closing)
    return -ENOENT;
  for (l = h->reqs.next; l != &h->reqs; l = l->next) {
    x = container_of(l, struct http_xfer, link);
    if (x->req.id == id) {
      http_cancel_one(h, x, "aborted");
      return 0;
    }
  }
  return -ENOENT;
}

/* Callbacks run here cannot add requests (h is closing), so the list
 * only loses the entry at hand and a saved next pointer stays valid. */
static void http_cancel_all(struct http *h)
{
  struct http_link *l;
  struct http_link *next;

  for (l = h->reqs.next; l != &h->reqs; l = next) {
    next = l->next;
    http_cancel_one(h, container_of(l, struct http_xfer, link),
                    "http client closing");
  }
}

void http_close(struct http *h, void (*done)(void *arg), void *arg)
{
  assert(!h->closing);
  h->closing = true;
  h->done = done;
  h->done_arg = arg;
  http_cancel_all(h);
  http_close_socks(h);
  http_ca_release(h);
  http_multi_cleanup(h);
  uv_close((uv_handle_t *)&h->timer, http_on_timer_close);
}
