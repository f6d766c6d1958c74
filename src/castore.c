/* SPDX-License-Identifier: MIT */
#include "castore.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct castore {
  uv_work_t work;
  char *file; /* owned; read by the job too */
  char *dir;  /* owned; read by the job too */
  void (*on_ready)(void *arg);
  void (*on_freed)(void *arg);
  void *arg;
  /* Written by the job, read on the loop once it returned. */
  X509_STORE *built;
  char job_why[256];
  /* The loop's. */
  X509_STORE *store; /* owned; NULL until built, or if it failed */
  char why[256];
  bool loading;
  bool released;
};

/* libcurl 7.88's populate_x509_store, off the loop: the bundle, the
 * directory (looked up by hash at each verification, so only its
 * existence is checked here), and the flags libcurl sets when it
 * verifies the peer: trusted certificates first, and a trusted
 * intermediate may end the chain (X509_V_FLAG_PARTIAL_CHAIN, libcurl's
 * default since 7.68, CURLSSLOPT_NO_PARTIALCHAIN). */
static X509_STORE *castore_build(const char *file, const char *dir, char *why,
                                 size_t whylen)
{
  X509_STORE *st = X509_STORE_new();
  const char *what = NULL;

  if (st == NULL) {
    (void)snprintf(why, whylen, "out of memory");
    return NULL;
  }
  if (file != NULL && X509_STORE_load_file(st, file) != 1)
    what = file;
  else if (dir != NULL && X509_STORE_load_path(st, dir) != 1)
    what = dir;
  if (what != NULL) {
    const char *reason = ERR_reason_error_string(ERR_peek_last_error());

    (void)snprintf(why, whylen, "CA certificates %s: %s", what,
                   reason != NULL ? reason : "cannot be loaded");
    ERR_clear_error();
    X509_STORE_free(st);
    return NULL;
  }
  (void)X509_STORE_set_flags(st, X509_V_FLAG_TRUSTED_FIRST |
                                     X509_V_FLAG_PARTIAL_CHAIN);
  return st;
}

static void castore_free(struct castore *cs)
{
  X509_STORE_free(cs->store);
  X509_STORE_free(cs->built);
  free(cs->file);
  free(cs->dir);
  free(cs);
}

/* On a pool thread: touches only the job's fields. */
static void castore_on_work(uv_work_t *w)
{
  struct castore *cs = container_of(w, struct castore, work);

  cs->built =
      castore_build(cs->file, cs->dir, cs->job_why, sizeof(cs->job_why));
}

static void castore_on_done(uv_work_t *w, int status)
{
  struct castore *cs = container_of(w, struct castore, work);

  cs->loading = false;
  if (cs->released) {
    void (*freed)(void *arg) = cs->on_freed;
    void *arg = cs->arg;

    castore_free(cs);
    if (freed != NULL)
      freed(arg);
    return;
  }
  cs->store = cs->built;
  cs->built = NULL;
  if (status < 0)
    (void)snprintf(cs->why, sizeof(cs->why), "threadpool: %s",
                   uv_strerror(status));
  else if (cs->store == NULL)
    str_copy(cs->why, sizeof(cs->why), cs->job_why);
  if (cs->on_ready != NULL)
    cs->on_ready(cs->arg);
}

static int castore_dup(char **out, const char *s)
{
  *out = NULL;
  if (s == NULL)
    return 0;
  *out = strdup(s);
  return *out == NULL ? -ENOMEM : 0;
}

/* libcurl's built-in CA file (unless ca_file replaces it) and
 * directory, copied into cs. */
static int castore_paths(struct castore *cs, const char *ca_file)
{
  char *def_file = NULL;
  char *def_dir = NULL;
  CURL *e = curl_easy_init();
  int rc;

  if (e == NULL)
    return -ENOMEM;
  if (curl_easy_getinfo(e, CURLINFO_CAINFO, &def_file) != CURLE_OK)
    def_file = NULL;
  if (curl_easy_getinfo(e, CURLINFO_CAPATH, &def_dir) != CURLE_OK)
    def_dir = NULL;
  rc = castore_dup(&cs->file, ca_file != NULL ? ca_file : def_file);
  if (rc == 0)
    rc = castore_dup(&cs->dir, def_dir);
  curl_easy_cleanup(e); /* the strings are copied */
  return rc;
}

int castore_new(struct castore **out, uv_loop_t *loop,
                const struct castore_opts *o, struct cfw_err *err)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  struct castore *cs;
  int rc;

  *out = NULL;
  if (v == NULL || v->ssl_version == NULL ||
      strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
    return cfw_err_set(err, -ENOTSUP, "libcurl's TLS is not OpenSSL");
  cs = calloc(1, sizeof(*cs));
  if (cs == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = castore_paths(cs, o->ca_file);
  if (rc < 0) {
    castore_free(cs);
    return cfw_err_set(err, rc, "out of memory");
  }
  cs->on_ready = o->on_ready;
  cs->on_freed = o->on_freed;
  cs->arg = o->arg;
  rc = uv_queue_work(loop, &cs->work, castore_on_work, castore_on_done);
  if (rc < 0) {
    castore_free(cs);
    return cfw_err_set(err, rc, "threadpool: %s", uv_strerror(rc));
  }
  cs->loading = true;
  *out = cs;
  return 0;
}

bool castore_ready(const struct castore *cs)
{
  return !cs->loading;
}

const char *castore_error(const struct castore *cs)
{
  return cs->why;
}

CURLcode castore_on_ssl_ctx(CURL *easy, void *ssl_ctx, void *arg)
{
  const struct castore *cs = arg;

  (void)easy; /* the store is the client's, not the request's */
  if (cs->store == NULL)
    return CURLE_SSL_CACERT_BADFILE;
  /* Takes a reference: the SSL_CTX may outlive the castore. */
  SSL_CTX_set1_cert_store((SSL_CTX *)ssl_ctx, cs->store);
  return CURLE_OK;
}

bool castore_release(struct castore *cs)
{
  if (cs == NULL)
    return true;
  if (cs->loading) {
    cs->released = true;
    return false;
  }
  castore_free(cs);
  return true;
}
