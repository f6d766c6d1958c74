/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_S3_FIXTURE_H
#define CFW_TEST_S3_FIXTURE_H

#include <openssl/evp.h>

#include "awsclient.h"
#include "http.h"
#include "s3.h"
#include "standin.h"
#include "test.h"
#include "util.h"

/* The S3 tests' fixture: a loop, an http client trusting the stand-in's
 * CA, an aws_client with the stand-in's example credentials (from an
 * injected environment, so no file on this machine is read), an S3
 * client for its bucket, and a scratch directory for files. */

struct s3fx {
  struct standin si;
  char tmp[256];
  uv_loop_t loop;
  struct http *http;
  struct aws_client *aws;
  struct s3_client *s3;
  bool http_closed;
  int n_want; /* s3fx_run stops after this many results */
  int n_done;
};

static inline const char *s3fx_getenv(const char *name)
{
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
    return STANDIN_KEY_ID;
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return STANDIN_SECRET;
  if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0 ||
      strcmp(name, "AWS_CONFIG_FILE") == 0)
    return "/dev/null";
  return NULL;
}

/* Starts the stand-in (with config_json, or NULL) and the clients; o (or
 * NULL) is the S3 client's options, whose bucket, endpoint and aws are
 * filled here when unset. */
static inline void s3fx_init(struct s3fx *f, const char *config_json,
                             const struct s3_client_opts *o)
{
  struct s3_client_opts so = {0};
  struct aws_client_opts ao = {0};
  struct http_opts ho = {0};
  struct cfw_err err = {0};

  memset(f, 0, sizeof(*f));
  REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  standin_start(&f->si, config_json);
  test_tmpdir(f->tmp, sizeof(f->tmp));
  REQUIRE(uv_loop_init(&f->loop) == 0);
  ho.ca_file = f->si.ca;
  ho.max_body = (size_t)16 << 20;
  REQUIRE(http_new(&f->http, &f->loop, &ho, &err) == 0);
  ao.http = f->http;
  ao.getenv = s3fx_getenv;
  REQUIRE(aws_client_new(&f->aws, &f->loop, &ao, &err) == 0);
  if (o != NULL)
    so = *o;
  so.bucket = so.bucket ? so.bucket : STANDIN_BUCKET;
  so.endpoint = so.endpoint ? so.endpoint : f->si.endpoint;
  so.aws = f->aws;
  so.retry_for_ms = so.retry_for_ms ? so.retry_for_ms : 20000;
  so.backoff_base_ms = so.backoff_base_ms ? so.backoff_base_ms : 20;
  so.backoff_cap_ms = so.backoff_cap_ms ? so.backoff_cap_ms : 200;
  if (s3_client_new(&f->s3, &f->loop, &so, &err) < 0)
    fprintf(stderr, "s3_client_new: %s\n", err.msg);
  REQUIRE(f->s3 != NULL);
}

static inline void s3fx_on_http_closed(void *arg)
{
  ((struct s3fx *)arg)->http_closed = true;
}

/* Closes the clients, runs the loop dry, checks nothing is left. */
static inline void s3fx_done(struct s3fx *f)
{
  s3_client_destroy(f->s3);
  aws_client_destroy(f->aws);
  http_close(f->http, s3fx_on_http_closed, f);
  CHECK_EQ_INT(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  CHECK(f->http_closed);
  CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
  standin_stop(&f->si);
  test_rmtree(f->tmp);
  curl_global_cleanup();
}

/* Runs the loop until n_done reaches n_want (each result callback bumps
 * n_done and stops the loop when it is reached). */
static inline void s3fx_run(struct s3fx *f, int n)
{
  f->n_want = n;
  while (f->n_done < f->n_want)
    REQUIRE(uv_run(&f->loop, UV_RUN_ONCE) != 0 || f->n_done >= f->n_want);
}

/* A result kept past its callback. */
struct s3got {
  struct s3fx *f;
  bool called;
  enum s3_outcome outcome;
  int status;
  char code[64];
  struct cfw_err err;
  unsigned attempts;
  bool unsure;
  char etag[S3_ETAG_MAX + 1];
  char checksum[S3_CHECKSUM_MAX + 1];
  char upload_id[S3_UPLOAD_ID_MAX + 1];
  struct s3_object_info info; /* taken: free with s3got_free */
  char *body;
  size_t body_len;
  struct s3_list_page list;
  struct s3_delete_result deleted;
};

static inline void s3got_on_result(struct s3_result *r, void *arg)
{
  struct s3got *g = arg;

  CHECK(!g->called);
  g->called = true;
  g->outcome = r->outcome;
  g->status = r->status;
  str_copy(g->code, sizeof(g->code), r->code);
  g->err = r->err;
  g->attempts = r->attempts;
  g->unsure = r->unsure;
  str_copy(g->etag, sizeof(g->etag), r->etag);
  str_copy(g->checksum, sizeof(g->checksum), r->checksum);
  str_copy(g->upload_id, sizeof(g->upload_id), r->upload_id);
  g->info = r->info;
  memset(&r->info, 0, sizeof(r->info));
  g->body_len = r->body.len;
  g->body = buf_take(&r->body);
  g->list = r->list;
  s3_list_page_init(&r->list);
  g->deleted = r->deleted;
  s3_delete_result_init(&r->deleted);
  if (g->f != NULL)
    g->f->n_done++;
}

static inline void s3got_free(struct s3got *g)
{
  size_t i;

  for (i = 0; i < g->info.n_meta; i++) {
    free(g->info.meta[i].name);
    free(g->info.meta[i].value);
  }
  free(g->info.meta);
  free(g->body);
  s3_list_page_free(&g->list);
  s3_delete_result_free(&g->deleted);
  memset(g, 0, sizeof(*g));
}

/* Writes n bytes of a pattern to f->tmp/name; returns an open fd (read
 * only) and the file's SHA-256 in md (and its hex in hex, if not NULL). */
static inline int s3fx_file(struct s3fx *f, const char *name, uint64_t n,
                            unsigned char md[32], char *hex)
{
  static char chunk[65536];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  char path[512];
  uint64_t done;
  size_t len;
  size_t i;
  int fd;

  REQUIRE(snprintf(path, sizeof(path), "%s/%s", f->tmp, name) <
          (int)sizeof(path));
  fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
  REQUIRE(fd >= 0 && ctx != NULL);
  REQUIRE(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
  for (done = 0; done < n; done += len) {
    len = n - done < sizeof(chunk) ? (size_t)(n - done) : sizeof(chunk);
    for (i = 0; i < len; i++)
      chunk[i] = (char)('A' + ((done + i) * 31 + (done + i) / 65521) % 57);
    REQUIRE(write(fd, chunk, len) == (ssize_t)len);
    REQUIRE(EVP_DigestUpdate(ctx, chunk, len) == 1);
  }
  REQUIRE(EVP_DigestFinal_ex(ctx, md, NULL) == 1);
  EVP_MD_CTX_free(ctx);
  if (hex != NULL)
    hex_encode(md, 32, hex);
  return fd;
}

/* The base64 of a SHA-256, as S3 shows checksums. */
static inline void s3fx_b64(const unsigned char md[32], char out[45])
{
  REQUIRE(EVP_EncodeBlock((unsigned char *)out, md, 32) == 44);
}

/* Calls fn(arg) once the stand-in has a multipart upload in progress:
 * with part, once its injected UploadPart fault has been taken too (the
 * part is in flight, held); without, 300 ms after the upload appeared,
 * time for the client to read CreateMultipartUpload's answer (a cancel
 * while that answer is in flight leaves an upload no one can name).
 * Polls the stand-in, whatever the machine's speed: a fixed delay fails
 * under TSan.  After 30 s it calls fn anyway. */
struct s3fx_when {
  uv_timer_t timer;
  const struct standin *si;
  void (*fn)(void *arg);
  void *arg;
  bool part;
  int ticks;
  int seen; /* ticks since the upload appeared */
};

/* True while the test's UploadPart fault waits for its request. */
static inline bool s3fx_part_fault_queued(const struct standin *si)
{
  json_t *f = standin_json(si, "GET", "faults", NULL);
  json_t *v;
  const char *action;
  size_t i;
  bool queued = false;

  json_array_foreach(json_object_get(f, "faults"), i, v)
  {
    action = json_string_value(json_object_get(v, "action"));
    if (action != NULL && strcmp(action, "UploadPart") == 0)
      queued = true;
  }
  json_decref(f);
  return queued;
}

static inline void s3fx_when_tick(uv_timer_t *t)
{
  struct s3fx_when *w = container_of(t, struct s3fx_when, timer);
  json_t *j =
      standin_json(w->si, "GET", "s3/uploads?bucket=" STANDIN_BUCKET, NULL);
  bool listed = json_array_size(json_object_get(j, "uploads")) > 0;
  bool ready;

  json_decref(j);
  if (listed)
    w->seen++;
  ready = w->part ? listed && !s3fx_part_fault_queued(w->si) : w->seen > 15;
  if (!ready && ++w->ticks < 1500)
    return;
  w->fn(w->arg);
  uv_close((uv_handle_t *)t, NULL);
}

static inline void s3fx_when_uploading(struct s3fx *f, struct s3fx_when *w,
                                       bool part, void (*fn)(void *arg),
                                       void *arg)
{
  memset(w, 0, sizeof(*w));
  w->si = &f->si;
  w->fn = fn;
  w->arg = arg;
  w->part = part;
  REQUIRE(uv_timer_init(&f->loop, &w->timer) == 0);
  REQUIRE(uv_timer_start(&w->timer, s3fx_when_tick, 20, 20) == 0);
}

#endif
