/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_CF_FIXTURE_H
#define CFW_TEST_CF_FIXTURE_H

#include <curl/curl.h>
#include <uv.h>

#include "cloudfront.h"
#include "http.h"
#include "log.h"
#include "standin.h"
#include "test.h"

/* A CloudFront client on a real loop, talking to the stand-in over
 * loopback TLS with the stand-in's example keys: for the tests of the
 * calls beyond invalidations (the distributions, the account).  A test
 * starts a call with the client, runs cffx_wait() until its callback
 * set done, and ends with cffx_stop(), which checks that the loop
 * closes. */

#define CFFX_DIST "EDFDVBD6EXAMPLE"

struct cffx {
  struct standin cf;
  uv_loop_t loop;
  struct log *log;
  struct http *http;
  struct cf_client *c;
  int done; /* set by the test's callbacks */
};

static inline const char *cffx_getenv(const char *name)
{
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
    return STANDIN_KEY_ID;
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return STANDIN_SECRET;
  return NULL;
}

/* Starts the stand-in with config_json (or NULL) and a client for dist
 * (NULL: one that names a distribution in each call). */
static inline void cffx_start(struct cffx *f, const char *config_json,
                              const char *dist)
{
  struct http_opts ho = {0};
  struct cf_client_opts co = {0};
  struct cfw_err err = {0};

  memset(f, 0, sizeof(*f));
  REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == 0);
  standin_start(&f->cf, config_json);
  REQUIRE(uv_loop_init(&f->loop) == 0);
  f->log = log_new(stderr, LOG_WARN, LOG_TEXT);
  REQUIRE(f->log != NULL);
  ho.ca_file = f->cf.ca;
  ho.log = f->log;
  REQUIRE(http_new(&f->http, &f->loop, &ho, &err) == 0);
  co.endpoint = f->cf.endpoint;
  co.distribution_id = dist;
  co.http = f->http;
  co.log = f->log;
  co.getenv = cffx_getenv;
  if (cf_client_new(&f->c, &f->loop, &co, &err) < 0)
    TEST_FAIL_("cf_client_new: %s", err.msg);
  REQUIRE(f->c != NULL);
}

/* Runs the loop until done reaches n. */
static inline void cffx_wait(struct cffx *f, int n)
{
  while (f->done < n && uv_run(&f->loop, UV_RUN_ONCE) != 0)
    continue;
  REQUIRE(f->done >= n);
}

static inline void cffx_stop(struct cffx *f)
{
  cf_client_destroy(f->c);
  http_close(f->http, NULL, NULL);
  while (uv_run(&f->loop, UV_RUN_DEFAULT) != 0)
    continue;
  CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
  log_destroy(f->log);
  standin_stop(&f->cf);
  curl_global_cleanup();
}

#endif
