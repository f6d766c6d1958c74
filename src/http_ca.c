/* SPDX-License-Identifier: MIT */
/* The client's CA store (castore.h, http_int.h): built on the threadpool
 * as the client is made, while the requests sent before it is ready wait
 * outside the multi handle ("parked"). */
#include "http_int.h"

#include <curl/curl.h>

#include "castore.h"
#include "log.h"
#include "util.h"

static struct http_xfer *http_first_parked(const struct http *h)
{
  struct http_xfer *x;
  struct http_link *l;

  for (l = h->reqs.next; l != &h->reqs; l = l->next) {
    x = container_of(l, struct http_xfer, link);
    if (x->parked)
      return x;
  }
  return NULL;
}

/* The CA store is built, or could not be (each handshake then fails
 * with CURLE_SSL_CACERT_BADFILE, as libcurl's own load would have): the
 * requests held back go to libcurl, whose timer starts them.  A
 * failure's callback may send, abort or close, so each turn looks for
 * the first one still held: O(n^2) for the few sent before the store
 * was ready. */
static void http_on_ca_ready(void *arg)
{
  struct http *h = arg;
  struct http_xfer *x;
  CURLMcode mc;

  if (castore_error(h->ca)[0] != '\0')
    log_msg(h->conf.log, LOG_WARN, "http: %s", castore_error(h->ca));
  while (!h->closing && (x = http_first_parked(h)) != NULL) {
    x->parked = false;
    mc = curl_multi_add_handle(h->multi, x->req.easy);
    if (mc != CURLM_OK)
      http_xfer_fail(x, HTTP_OTHER, CURLE_FAILED_INIT, "curl_multi_add_handle",
                     curl_multi_strerror(mc));
  }
}

static void http_on_ca_freed(void *arg)
{
  struct http *h = arg;

  h->ca = NULL;
  http_maybe_finish(h);
}

/* The CA store; without one (libcurl on another TLS library, or the
 * job not queued) libcurl loads the CA itself, on the loop, as it always
 * did. */
void http_ca_start(struct http *h)
{
  struct castore_opts co = {0};
  struct cfw_err err = {0};

  co.ca_file = h->ca_file;
  co.on_ready = http_on_ca_ready;
  co.on_freed = http_on_ca_freed;
  co.arg = h;
  if (castore_new(&h->ca, h->loop, &co, &err) < 0)
    log_msg(h->conf.log, LOG_DEBUG, "http: %s; libcurl loads the CA itself",
            err.msg);
  h->conf.ca = h->ca;
}

bool http_ca_pending(const struct http *h)
{
  return h->ca != NULL && !castore_ready(h->ca);
}

void http_ca_release(struct http *h)
{
  if (castore_release(h->ca))
    h->ca = NULL; /* else http_on_ca_freed, once its load returned */
}
