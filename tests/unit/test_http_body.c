/* SPDX-License-Identifier: MIT */
#include "http.h"

#include <openssl/evp.h>

#include "http_fixture.h"
#include "test.h"
#include "util.h"

/* Bodies streamed from a file (struct http_file_body), the headers kept
 * from a response, and http_abort, against tests/unit/http_test_server.py
 * over loopback TLS. */

#define BIG_LEN ((size_t)3 * 1024 * 1024 + 123)

/* Writes n bytes of a pattern no two chunks share to dir/name; returns
 * an open read-only fd, and the pattern's bytes in *data (free() it). */
static int make_file(const char *dir, const char *name, size_t n, char **data)
{
  char path[512];
  char *p = malloc(n + 1);
  size_t i;
  int fd;

  REQUIRE(p != NULL);
  for (i = 0; i < n; i++)
    p[i] = (char)('a' + (i * 7 + i / 4093) % 26);
  REQUIRE(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
  fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, p, n) == (ssize_t)n);
  *data = p;
  return fd;
}

static void sha256_hex_of(const void *p, size_t n, char out[65])
{
  unsigned char md[32];
  unsigned int len = 0;

  REQUIRE(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1);
  hex_encode(md, sizeof(md), out);
}

/* PUTs (or method) fb to /digest and returns what the server saw. */
static void send_file(struct fx *fx, const char *method,
                      const struct http_file_body *fb, struct sent *s)
{
  struct http_request req = {0};
  char url[256];

  fx_url(fx, true, "/digest", url, sizeof(url));
  req.method = method;
  req.url = url;
  req.file = fb;
  fx->n_want = 1;
  fx_send(fx, &req, s);
  fx_run(fx);
  CHECK(s->got.called);
}

static void start(struct fx *fx)
{
  struct http_opts o = {0};

  fx_init(fx, true);
  o.ca_file = fx->ca;
  fx_new_http(fx, &o);
}

static void test_file_body_is_sent_whole(void)
{
  struct http_file_body fb = {0};
  struct fx fx;
  struct sent s;
  char want[128];
  char hex[65];
  char *data;

  start(&fx);
  fb.fd = make_file(fx.dir, "big", BIG_LEN, &data);
  fb.len = BIG_LEN;
  send_file(&fx, "PUT", &fb, &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_OK);
  CHECK_EQ_INT(s.got.resp.status, 200);
  sha256_hex_of(data, BIG_LEN, hex);
  CHECK(snprintf(want, sizeof(want), "\"sha256\": \"%s\"", hex) > 0);
  CHECK_CONTAINS(s.got.body, want);
  CHECK_CONTAINS(s.got.body, "\"content-length\": \"3145851\"");
  CHECK_CONTAINS(s.got.body, "\"method\": \"PUT\"");
  free(data);
  close(fb.fd);
  sent_free(&s);
  fx_done(&fx);
}

/* A multipart upload sends slices of one file under other methods. */
static void test_file_body_slice_with_post(void)
{
  struct http_file_body fb = {0};
  struct fx fx;
  struct sent s;
  char want[128];
  char hex[65];
  char *data;

  start(&fx);
  fb.fd = make_file(fx.dir, "big", BIG_LEN, &data);
  fb.offset = 1000;
  fb.len = 700001;
  send_file(&fx, "POST", &fb, &s);
  CHECK_EQ_INT(s.got.resp.status, 200);
  sha256_hex_of(data + 1000, 700001, hex);
  CHECK(snprintf(want, sizeof(want), "\"sha256\": \"%s\"", hex) > 0);
  CHECK_CONTAINS(s.got.body, want);
  CHECK_CONTAINS(s.got.body, "\"method\": \"POST\"");
  free(data);
  close(fb.fd);
  sent_free(&s);
  fx_done(&fx);
}

static void test_file_shorter_than_body_fails(void)
{
  struct http_file_body fb = {0};
  struct fx fx;
  struct sent s;
  char *data;

  start(&fx);
  fb.fd = make_file(fx.dir, "short", 1000, &data);
  fb.len = 1010;
  send_file(&fx, "PUT", &fb, &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_OTHER);
  CHECK_CONTAINS(s.got.resp.error, "the file ended before the body did");
  free(data);
  close(fb.fd);
  sent_free(&s);
  fx_done(&fx);
}

static void test_empty_file_and_empty_put_send_length_zero(void)
{
  struct http_file_body fb = {0};
  struct http_request req = {0};
  struct fx fx;
  struct sent s;
  char url[256];
  char *data;

  start(&fx);
  fb.fd = make_file(fx.dir, "empty", 0, &data);
  send_file(&fx, "PUT", &fb, &s);
  CHECK_CONTAINS(s.got.body, "\"content-length\": \"0\"");
  CHECK_CONTAINS(s.got.body, "\"length\": 0");
  sent_free(&s);
  fx_done(&fx);
  start(&fx);
  fx_url(&fx, true, "/digest", url, sizeof(url));
  req.method = "PUT";
  req.url = url;
  fx.n_want = 1;
  fx_send(&fx, &req, &s);
  fx_run(&fx);
  CHECK_CONTAINS(s.got.body, "\"content-length\": \"0\"");
  free(data);
  close(fb.fd);
  sent_free(&s);
  fx_done(&fx);
}

struct hdr_check {
  struct fx *fx;
  int found_one;
  int found_two;
  const char *one;
  int walked;
};

static void hdr_on_response(struct http_response *resp, void *arg)
{
  struct hdr_check *c = arg;
  const char *name;
  const char *value;
  size_t pos = 0;

  c->one = http_response_header(resp, "x-meta-ONE");
  c->found_one = c->one != NULL && strcmp(c->one, "1") == 0;
  CHECK(http_response_header(resp, "x-meta-three") == NULL);
  while (http_response_next_header(resp, &pos, &name, &value)) {
    c->walked++;
    if (strcmp(name, "x-meta-two") == 0 && strcmp(value, "zwei") == 0)
      c->found_two = 1;
  }
  CHECK(!resp->headers_cut);
  http_close(c->fx->h, on_closed, c->fx);
}

static void test_response_headers_are_kept(void)
{
  struct http_request req = {0};
  struct cfw_err err = {0};
  struct hdr_check c = {0};
  struct fx fx;
  char url[256];

  start(&fx);
  fx_url(&fx, true, "/digest", url, sizeof(url));
  req.url = url;
  c.fx = &fx;
  CHECK_EQ_INT(http_send(fx.h, &req, hdr_on_response, &c, &err), 0);
  fx_run(&fx);
  CHECK(c.found_one);
  CHECK(c.found_two);
  CHECK(c.walked >= 4); /* and Content-Type, Content-Length, ... */
  fx_done(&fx);
}

struct abort_run {
  struct fx *fx;
  uint64_t id[2];
  struct got got[2];
  uv_timer_t timer;
  int abort_rc;
  int again_rc;
  bool first_done_inside;
};

static void abort_on_response0(struct http_response *resp, void *arg)
{
  struct abort_run *a = arg;

  on_response(resp, &a->got[0]);
}

static void abort_on_response1(struct http_response *resp, void *arg)
{
  struct abort_run *a = arg;

  on_response(resp, &a->got[1]);
}

static void abort_on_timer(uv_timer_t *t)
{
  struct abort_run *a = container_of(t, struct abort_run, timer);

  a->abort_rc = http_abort(a->fx->h, a->id[0]);
  a->first_done_inside = a->got[0].called && !a->got[1].called;
  a->again_rc = http_abort(a->fx->h, a->id[0]);
  uv_close((uv_handle_t *)&a->timer, NULL);
  http_close(a->fx->h, on_closed, a->fx);
}

/* One request is ended, the other stays until the client closes; a
 * file body whose read may still be in flight is let go of cleanly. */
static void test_abort_ends_one_request(void)
{
  struct http_request req = {0};
  struct http_file_body fb = {0};
  struct cfw_err err = {0};
  struct abort_run a = {0};
  struct fx fx;
  char url[256];
  char *data;

  start(&fx);
  a.fx = &fx;
  fb.fd = make_file(fx.dir, "big", BIG_LEN, &data);
  fb.len = BIG_LEN;
  fx_url(&fx, true, "/hang", url, sizeof(url));
  req.url = url;
  req.method = "PUT";
  req.file = &fb;
  CHECK_EQ_INT(http_start(fx.h, &req, abort_on_response0, &a, &a.id[0], &err),
               0);
  req.file = NULL;
  req.method = NULL;
  CHECK_EQ_INT(http_start(fx.h, &req, abort_on_response1, &a, &a.id[1], &err),
               0);
  CHECK(a.id[0] != a.id[1]);
  CHECK_EQ_INT(uv_timer_init(&fx.loop, &a.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&a.timer, abort_on_timer, 300, 0), 0);
  fx_run(&fx);
  CHECK_EQ_INT(a.abort_rc, 0);
  CHECK_EQ_INT(a.again_rc, -ENOENT);
  CHECK(a.first_done_inside);
  CHECK_EQ_INT(a.got[0].resp.fail, HTTP_CANCELLED);
  CHECK_CONTAINS(a.got[0].resp.error, "aborted");
  CHECK_EQ_INT(a.got[1].resp.fail, HTTP_CANCELLED);
  CHECK_CONTAINS(a.got[1].resp.error, "closing");
  free(a.got[0].body);
  free(a.got[1].body);
  free(data);
  close(fb.fd);
  fx_done(&fx);
}

/* Aborted before the loop ever ran: the first read of the file is
 * still in the thread pool, so the stream outlives its request and the
 * client's done callback waits for it. */
static void test_abort_before_first_read_returns(void)
{
  struct http_request req = {0};
  struct http_file_body fb = {0};
  struct cfw_err err = {0};
  struct got g = {0};
  struct fx fx;
  uint64_t id = 0;
  char url[256];
  char *data;

  start(&fx);
  fb.fd = make_file(fx.dir, "big", BIG_LEN, &data);
  fb.len = BIG_LEN;
  fx_url(&fx, true, "/digest", url, sizeof(url));
  req.url = url;
  req.method = "PUT";
  req.file = &fb;
  CHECK_EQ_INT(http_start(fx.h, &req, on_response, &g, &id, &err), 0);
  CHECK_EQ_INT(http_abort(fx.h, id), 0);
  CHECK(g.called);
  CHECK_EQ_INT(g.resp.fail, HTTP_CANCELLED);
  http_close(fx.h, on_closed, &fx);
  CHECK(!fx.closed);
  fx_run(&fx);
  free(g.body);
  free(data);
  close(fb.fd);
  fx_done(&fx);
}

static void body_never(struct http_response *resp, void *arg)
{
  (void)resp;
  (void)arg;
  CHECK(!"a refused request's callback ran");
}

static void test_body_and_file_body_together_refused(void)
{
  struct http_request req = {0};
  struct http_file_body fb = {0};
  struct cfw_err err = {0};
  struct fx fx;
  char url[256];

  start(&fx);
  fx_url(&fx, true, "/digest", url, sizeof(url));
  req.url = url;
  req.method = "PUT";
  req.body = "x";
  req.body_len = 1;
  req.file = &fb;
  CHECK_EQ_INT(http_send(fx.h, &req, body_never, NULL, &err), -EINVAL);
  req.body = NULL;
  req.body_len = 0;
  fb.fd = -1;
  CHECK_EQ_INT(http_send(fx.h, &req, body_never, NULL, &err), -EINVAL);
  http_close(fx.h, on_closed, &fx);
  fx_run(&fx);
  fx_done(&fx);
}

TEST_MAIN(TEST(test_file_body_is_sent_whole),
          TEST(test_file_body_slice_with_post),
          TEST(test_file_shorter_than_body_fails),
          TEST(test_empty_file_and_empty_put_send_length_zero),
          TEST(test_response_headers_are_kept),
          TEST(test_abort_ends_one_request),
          TEST(test_abort_before_first_read_returns),
          TEST(test_body_and_file_body_together_refused))
