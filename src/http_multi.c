/* SPDX-License-Identifier: MIT */
/* libcurl's multi handle on the loop (http_int.h): one uv_poll per socket
 * libcurl asks us to watch and the client's one uv_timer, each driving
 * curl_multi_socket_action, and the completion of finished transfers.
 * Requests are made and ended in http.c. */
#include "http_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "util.h"

/* One socket libcurl asked us to watch. */
struct http_sock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct http *h; /* borrowed */
  struct http_link link;
};

static void http_on_poll(uv_poll_t *poll, int status, int events);

static void http_on_poll_close(uv_handle_t *handle)
{
  struct http_sock *s = container_of(handle, struct http_sock, poll);
  struct http *h = s->h;

  free(s);
  h->n_handles--;
  http_maybe_finish(h);
}

static void http_sock_close(struct http_sock *s)
{
  http_link_remove(&s->link);
  uv_close((uv_handle_t *)&s->poll, http_on_poll_close);
}

/* ---- libcurl's socket and timer callbacks --------------------------- */

static int http_sock_new(struct http *h, curl_socket_t fd,
                         struct http_sock **out)
{
  struct http_sock *s;
  CURLMcode mc;
  int rc;

  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  rc = uv_poll_init_socket(h->loop, &s->poll, fd);
  if (rc < 0) {
    free(s); /* a failed init leaves no handle to close */
    return rc;
  }
  s->fd = fd;
  s->h = h;
  http_link_insert(&h->socks, &s->link);
  h->n_handles++;
  mc = curl_multi_assign(h->multi, fd, s);
  if (mc != CURLM_OK) {
    http_sock_close(s);
    return -EIO;
  }
  *out = s;
  return 0;
}

static int http_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                          void *socketp)
{
  struct http *h = userp;
  struct http_sock *s = socketp;
  int events = 0;
  int rc;

  (void)easy; /* the socket, not the transfer, is what we watch */
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL)
      http_sock_close(s);
    return 0;
  }
  if (h->closing)
    return 0;
  if (s == NULL) {
    rc = http_sock_new(h, fd, &s);
    if (rc < 0) {
      log_msg(h->conf.log, LOG_ERROR, "http: watching socket %d: %s", (int)fd,
              uv_strerror(rc));
      return -1;
    }
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  rc = uv_poll_start(&s->poll, events, http_on_poll);
  if (rc < 0) {
    log_msg(h->conf.log, LOG_ERROR, "http: uv_poll_start: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
}

/* ---- Completion ----------------------------------------------------- */

/* Takes x's easy handle out of the multi handle, unless x is parked
 * (then it was never in). */
void http_multi_remove(struct http *h, struct http_xfer *x)
{
  CURLMcode mc;

  if (x->parked)
    return;
  mc = curl_multi_remove_handle(h->multi, x->req.easy);
  if (mc != CURLM_OK)
    log_msg(h->conf.log, LOG_ERROR, "http: curl_multi_remove_handle: %s",
            curl_multi_strerror(mc));
}

/* Finishes every transfer libcurl reports done.  A callback may close the
 * client, after which the multi handle is gone and we stop. */
static void http_collect(struct http *h)
{
  struct http_xfer *x;
  CURLMsg *msg;
  char *priv;
  int left;

  while (!h->closing) {
    msg = curl_multi_info_read(h->multi, &left);
    if (msg == NULL)
      break;
    if (msg->msg != CURLMSG_DONE)
      continue;
    if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) !=
            CURLE_OK ||
        priv == NULL) {
      log_msg(h->conf.log, LOG_ERROR, "http: finished transfer has no request");
      continue;
    }
    /* http_req_init points CURLOPT_PRIVATE at the embedded request. */
    x = container_of((struct http_req *)(void *)priv, struct http_xfer, req);
    http_resp_fill(&x->req, msg->data.result, x->start_ns);
    http_multi_remove(h, x);
    http_xfer_end(x);
  }
}

static void http_drive(struct http *h, curl_socket_t fd, int flags)
{
  CURLMcode mc;
  int running;

  if (h->closing)
    return;
  mc = curl_multi_socket_action(h->multi, fd, flags, &running);
  if (mc != CURLM_OK)
    log_msg(h->conf.log, LOG_ERROR, "http: curl_multi_socket_action: %s",
            curl_multi_strerror(mc));
  http_collect(h);
}

static void http_on_poll(uv_poll_t *poll, int status, int events)
{
  struct http_sock *s = container_of(poll, struct http_sock, poll);
  int flags = 0;

  if (status < 0) {
    /* libuv reports POLLERR (e.g. a reset) as UV_EBADF and stops the
     * handle.  ERR alone makes libcurl fail with a bare "select/poll
     * returned error"; with IN and OUT it reads or writes and reports
     * what the socket says, such as "Connection reset by peer". */
    flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
  } else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  http_drive(s->h, s->fd, flags);
}

static void http_on_timeout(uv_timer_t *timer)
{
  struct http *h = container_of(timer, struct http, timer);

  http_drive(h, CURL_SOCKET_TIMEOUT, 0);
}

static int http_on_timer_update(CURLM *multi, long timeout_ms, void *userp)
{
  struct http *h = userp;
  int rc;

  (void)multi; /* h->multi, and NULL while closing */
  if (h->closing)
    return 0;
  if (timeout_ms < 0)
    rc = uv_timer_stop(&h->timer);
  else
    rc = uv_timer_start(&h->timer, http_on_timeout, (uint64_t)timeout_ms, 0);
  if (rc < 0) {
    log_msg(h->conf.log, LOG_ERROR, "http: timer: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
}

int http_multi_init(struct http *h, struct cfw_err *err)
{
  CURLMcode mc;

  h->multi = curl_multi_init();
  if (h->multi == NULL)
    return cfw_err_set(err, -ENOMEM, "http: curl_multi_init failed");
  mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_on_socket);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
                           http_on_timer_update);
  if (mc == CURLM_OK)
    mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  if (mc == CURLM_OK)
    return 0;
  http_multi_cleanup(h);
  return cfw_err_set(err, -EIO, "http: curl_multi_setopt: %s",
                     curl_multi_strerror(mc));
}

/* Closes the sockets libcurl still keeps (its connection cache).  We let
 * go of them first so that curl_multi_cleanup finds nothing of ours. */
void http_close_socks(struct http *h)
{
  struct http_sock *s;

  while (!http_link_empty(&h->socks)) {
    s = container_of(h->socks.next, struct http_sock, link);
    if (curl_multi_assign(h->multi, s->fd, NULL) != CURLM_OK)
      log_msg(h->conf.log, LOG_WARN, "http: curl_multi_assign failed");
    http_sock_close(s);
  }
}

void http_multi_cleanup(struct http *h)
{
  CURLMcode mc;

  mc = curl_multi_cleanup(h->multi);
  if (mc != CURLM_OK)
    log_msg(h->conf.log, LOG_WARN, "http: curl_multi_cleanup: %s",
            curl_multi_strerror(mc));
  h->multi = NULL;
}
