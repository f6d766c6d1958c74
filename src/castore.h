/* SPDX-License-Identifier: MIT */
#ifndef CFW_CASTORE_H
#define CFW_CASTORE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <uv.h>

#include "err.h"

/* Internal to http_ca.c and http_req.c: the CA store TLS verifies
 * servers with, built on libuv's threadpool.  Left to itself, libcurl
 * reads and parses the CA bundle at a client's first handshake, on the
 * loop thread: the system's 140-odd certificates take tens of
 * milliseconds with OpenSSL 3 (tests/e2e/strace_survey.py found the
 * read there).  castore_new starts the load at once; http_ca.c holds
 * requests back until it returned (castore_ready), and
 * castore_on_ssl_ctx then hands each handshake the finished store.  The
 * trust is libcurl's own: the file and the directory it would have
 * used, with the flags it sets (below). */
struct castore; /* opaque */

struct castore_opts {
  const char *ca_file;         /* copied; NULL: libcurl's default bundle */
  void (*on_ready)(void *arg); /* the load returned; not after release */
  void (*on_freed)(void *arg); /* see castore_release */
  void *arg;
};

/* Queues the load on loop's threadpool: ca_file (or libcurl's default
 * bundle) and libcurl's default directory, as libcurl would have used
 * them (CURLINFO_CAINFO and CURLINFO_CAPATH, libcurl 7.84, give its
 * built-in defaults).  Returns 0, -ENOTSUP when libcurl's TLS library
 * is not OpenSSL (only OpenSSL builds take CURLOPT_SSL_CTX_FUNCTION),
 * -ENOMEM or uv_queue_work's error; on failure nothing is left and no
 * callback ever runs. */
int castore_new(struct castore **out, uv_loop_t *loop,
                const struct castore_opts *o, struct cfw_err *err);

/* Whether the load returned, the store built or not. */
bool castore_ready(const struct castore *cs);

/* Why the store could not be built ("" if it was, or not yet). */
const char *castore_error(const struct castore *cs);

/* CURLOPT_SSL_CTX_FUNCTION, with the castore as CURLOPT_SSL_CTX_DATA
 * (OpenSSL builds of libcurl only): puts the store in the SSL_CTX.
 * CURLE_SSL_CACERT_BADFILE if there is none. */
CURLcode castore_on_ssl_ctx(CURL *easy, void *ssl_ctx, void *arg);

/* Lets go of cs.  Returns true if it was freed now; false if its load
 * is still running, and on_freed runs from the loop once it returned.
 * NULL is fine (true). */
bool castore_release(struct castore *cs);

#endif
