/* SPDX-License-Identifier: MIT */
#ifndef CFW_HTTP_INT_H
#define CFW_HTTP_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "http.h"
#include "http_req.h"

struct castore;

/* Internal to http.c (the client's life cycle and its requests),
 * http_multi.c (libcurl's multi handle driven by the loop's polls and
 * timer) and http_ca.c (the CA store, and the requests waiting for it):
 * the client's state and the record of a request in flight. */

/* An intrusive circular list, as libuv's queue: the head is a sentinel. */
struct http_link {
  struct http_link *prev;
  struct http_link *next;
};

static inline void http_link_init(struct http_link *l)
{
  l->prev = l;
  l->next = l;
}

static inline void http_link_insert(struct http_link *head, struct http_link *l)
{
  l->next = head;
  l->prev = head->prev;
  head->prev->next = l;
  head->prev = l;
}

static inline void http_link_remove(struct http_link *l)
{
  l->prev->next = l->next;
  l->next->prev = l->prev;
  http_link_init(l);
}

static inline bool http_link_empty(const struct http_link *head)
{
  return head->next == head;
}

/* One request in flight. */
struct http_xfer {
  struct http_req req; /* owned: the easy handle and the response */
  struct http *h;      /* borrowed */
  http_cb cb;
  void *arg;
  uint64_t start_ns; /* uv_hrtime() at http_send */
  bool parked;       /* waits for the CA store, not in the multi handle */
  struct http_link link;
};

struct http {
  uv_loop_t *loop; /* borrowed */
  uv_timer_t timer;
  CURLM *multi;              /* owned; NULL once closing */
  char *ca_file;             /* owned; NULL: system store only */
  struct http_req_conf conf; /* conf.ca_file borrows ca_file */
  struct castore *ca;        /* owned; NULL: libcurl loads the CA itself */
  bool closing;
  uint64_t next_id;
  size_t n_handles;        /* open uv handles: the timer and the sockets */
  size_t n_streams;        /* file bodies not yet freed (http_stream.h) */
  struct http_link socks;  /* struct http_sock */
  struct http_link reqs;   /* struct http_xfer */
  void (*done)(void *arg); /* from http_close */
  void *done_arg;
};

/* http.c: takes x off the client's list, runs its callback once with
 * x's response, and frees x.  Its easy handle must already be out of
 * the multi handle (http_multi_remove). */
void http_xfer_end(struct http_xfer *x);

/* http.c: ends x before libcurl finished it (cancelled, or refused by
 * the multi handle): status 0, an empty body, fail and curl_code (a
 * CURLcode) as given and the error "what: detail"; then as
 * http_xfer_end. */
void http_xfer_fail(struct http_xfer *x, enum http_fail fail, int curl_code,
                    const char *what, const char *detail);

/* http.c: frees h once it is closing and its last handle, file body and
 * CA store are gone, then runs http_close's done. */
void http_maybe_finish(struct http *h);

/* http_multi.c: makes h->multi and points its socket and timer
 * callbacks at h.  0, or -ENOMEM or -EIO with err set and h->multi
 * NULL. */
int http_multi_init(struct http *h, struct cfw_err *err);

/* http_multi.c: closes the sockets libcurl still keeps (its connection
 * cache), letting go of them first so that curl_multi_cleanup finds
 * nothing of ours. */
void http_close_socks(struct http *h);

/* http_multi.c: takes x's easy handle out of the multi handle, unless x
 * is parked (then it was never in); a failure is logged. */
void http_multi_remove(struct http *h, struct http_xfer *x);

/* http_multi.c: frees h->multi and sets it NULL; a failure is logged. */
void http_multi_cleanup(struct http *h);

/* http_ca.c: starts building h's CA store from h->ca_file and the
 * system's; when it is ready, the parked requests go to libcurl.
 * Without a store (libcurl on another TLS library, or the job not
 * queued) libcurl loads the CA itself.  Cannot fail. */
void http_ca_start(struct http *h);

/* http_ca.c: true while the CA store is being built: a request sent now
 * is parked. */
bool http_ca_pending(const struct http *h);

/* http_ca.c: lets go of the CA store as h closes.  h->ca is NULL now,
 * or once the load in flight returned (then http_maybe_finish runs). */
void http_ca_release(struct http *h);

#endif
