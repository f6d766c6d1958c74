/* SPDX-License-Identifier: MIT */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "http_fixture.h"
#include "log.h"
#include "looplag.h"
#include "test.h"
#include "util.h"

static void test_get_reaches_server_with_user_agent(void)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_get(&fx, true, "/echo?x=1", &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_OK);
  CHECK_EQ_INT(s.got.resp.status, 200);
  CHECK_EQ_INT(s.got.resp.curl_code, 0);
  CHECK_EQ_STR(s.got.resp.error, "");
  CHECK_EQ_STR(s.got.resp.content_type, "application/json");
  CHECK_CONTAINS(s.got.body, "\"method\": \"GET\"");
  CHECK_CONTAINS(s.got.body, "\"path\": \"/echo?x=1\"");
  CHECK_CONTAINS(s.got.body, "\"user-agent\": \"cfwatch/");
  CHECK(strstr(s.got.body, "\"expect\"") == NULL);
  sent_free(&s);
  fx_done(&fx);
}

static void test_post_sends_body_and_headers(void)
{
  static const struct http_header hdrs[] = {
      {"Content-Type", "text/xml"},
      {"X-Test", "hello world"},
  };
  struct http_opts o = {0};
  struct http_request req = {0};
  struct fx fx;
  struct sent s;
  char url[256];

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_url(&fx, true, "/echo", url, sizeof(url));
  req.method = "POST";
  req.url = url;
  req.headers = hdrs;
  req.n_headers = ARRAY_SIZE(hdrs);
  req.body = "payload-123";
  req.body_len = strlen("payload-123");
  fx.n_want = 1;
  fx_send(&fx, &req, &s);
  fx_run(&fx);
  CHECK_EQ_INT(s.got.resp.status, 200);
  CHECK_CONTAINS(s.got.body, "\"method\": \"POST\"");
  CHECK_CONTAINS(s.got.body, "\"body\": \"payload-123\"");
  CHECK_CONTAINS(s.got.body, "\"content-length\": \"11\"");
  CHECK_CONTAINS(s.got.body, "\"content-type\": \"text/xml\"");
  CHECK_CONTAINS(s.got.body, "\"x-test\": \"hello world\"");
  CHECK_CONTAINS(s.got.body, "\"user-agent\": \"cfwatch/");
  sent_free(&s);
  fx_done(&fx);
}

static void test_201_location_and_request_id_parsed(void)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_get(&fx, true, "/created", &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_OK);
  CHECK_EQ_INT(s.got.resp.status, 201);
  CHECK_EQ_STR(s.got.resp.location, "https://cloudfront.example/inv/I2J0");
  CHECK_EQ_STR(s.got.resp.request_id, "req-1234-abcd");
  CHECK_EQ_STR(s.got.resp.retry_after, "7");
  CHECK_EQ_STR(s.got.resp.content_type, "text/xml");
  CHECK_EQ_STR(s.got.body, "<Invalidation/>");
  sent_free(&s);
  fx_done(&fx);
}

static void test_tls_fails_without_ca_file(void)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  fx_new_http(&fx, &o);
  fx_get(&fx, true, "/echo", &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_TLS);
  CHECK_EQ_INT(s.got.resp.curl_code, CURLE_PEER_FAILED_VERIFICATION);
  CHECK_EQ_INT(s.got.resp.status, 0);
  CHECK(s.got.resp.error[0] != '\0');
  sent_free(&s);
  fx_done(&fx);
}

static void test_tls_succeeds_with_ca_file(void)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_get(&fx, true, "/echo", &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_OK);
  CHECK_EQ_INT(s.got.resp.status, 200);
  sent_free(&s);
  fx_done(&fx);
}

static void test_missing_ca_file_fails_at_new(void)
{
  struct http_opts o = {0};
  struct cfw_err err = {0};
  struct http *h = (struct http *)&o;
  struct fx fx;

  fx_init(&fx, false);
  o.ca_file = "/nonexistent/ca.pem";
  CHECK_EQ_INT(http_new(&h, &fx.loop, &o, &err), -ENOENT);
  CHECK(h == NULL);
  CHECK_CONTAINS(err.msg, "/nonexistent/ca.pem");
  CHECK_EQ_INT(uv_loop_close(&fx.loop), 0);
  fx_done(&fx);
}

static void test_plain_http_to_loopback_allowed(void)
{
  struct http_opts o = {0};
  struct http_request req = {0};
  struct fx fx;
  struct sent s[2];
  char url[256];
  int n;

  fx_init(&fx, true);
  fx_new_http(&fx, &o);
  fx_url(&fx, false, "/echo", url, sizeof(url));
  req.url = url;
  fx.n_want = 2;
  fx_send(&fx, &req, &s[0]);
  n = snprintf(url, sizeof(url), "http://localhost:%d/echo", fx.http_port);
  CHECK(n > 0 && (size_t)n < sizeof(url));
  fx_send(&fx, &req, &s[1]);
  fx_run(&fx);
  for (n = 0; n < 2; n++) {
    CHECK_EQ_INT(s[n].got.resp.fail, HTTP_OK);
    CHECK_EQ_INT(s[n].got.resp.status, 200);
    CHECK_CONTAINS(s[n].got.body, "\"method\": \"GET\"");
    sent_free(&s[n]);
  }
  fx_done(&fx);
}

static void on_never(struct http_response *resp, void *arg)
{
  (void)resp;
  *(bool *)arg = true;
}

/* Each of these is refused by http_send before libcurl sees it, so no
 * name is resolved and nothing is connected to. */
static void test_plain_http_to_non_loopback_refused(void)
{
  static const char *const urls[] = {
      "http://example.com/",
      "http://10.1.2.3/x",
      "http://127.0.0.1.nip.io/",
      "http://localhost.example.com/",
      "http://[::2]/",
      "http://128.0.0.1/",
      "HTTP://cloudfront.amazonaws.com/2020-05-31/distribution",
  };
  struct http_opts o = {0};
  struct http_request req = {0};
  struct cfw_err err = {0};
  struct fx fx;
  bool called = false;
  size_t i;

  fx_init(&fx, false);
  fx_new_http(&fx, &o);
  for (i = 0; i < ARRAY_SIZE(urls); i++) {
    req.url = urls[i];
    CHECK_EQ_INT(http_send(fx.h, &req, on_never, &called, &err), -EPERM);
    CHECK_CONTAINS(err.msg, "plain http");
    CHECK_CONTAINS(err.msg, "refused");
  }
  req.url = "ftp://127.0.0.1/";
  CHECK_EQ_INT(http_send(fx.h, &req, on_never, &called, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "scheme");
  req.url = "not a url";
  CHECK_EQ_INT(http_send(fx.h, &req, on_never, &called, &err), -EINVAL);
  http_close(fx.h, on_closed, &fx);
  fx_run(&fx);
  CHECK(!called);
  fx_done(&fx);
}

static void test_bad_header_or_method_refused(void)
{
  static const struct http_header evil[] = {{"X-A", "a\r\nX-Evil: 1"}};
  static const struct http_header colon[] = {{"X:A", "a"}};
  struct http_opts o = {0};
  struct http_request req = {0};
  struct cfw_err err = {0};
  struct fx fx;
  bool called = false;

  fx_init(&fx, false);
  fx_new_http(&fx, &o);
  req.url = "https://127.0.0.1:1/";
  req.headers = evil;
  req.n_headers = 1;
  CHECK_EQ_INT(http_send(fx.h, &req, on_never, &called, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "header #0");
  CHECK(strstr(err.msg, "Evil") == NULL);
  req.headers = colon;
  CHECK_EQ_INT(http_send(fx.h, &req, on_never, &called, &err), -EINVAL);
  req.n_headers = 0;
  req.method = "GE T";
  CHECK_EQ_INT(http_send(fx.h, &req, on_never, &called, &err), -EINVAL);
  http_close(fx.h, on_closed, &fx);
  fx_run(&fx);
  CHECK(!called);
  fx_done(&fx);
}

/* A port bound but not listening refuses connections, and stays ours for
 * the test so nobody else can start listening on it. */
static int bound_port(int *fd)
{
  struct sockaddr_in a = {0};
  socklen_t len = sizeof(a);

  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      getsockname(*fd, (struct sockaddr *)&a, &len) < 0)
    exit(2);
  return ntohs(a.sin_port);
}

static void test_connection_refused_is_connect(void)
{
  struct http_opts o = {0};
  struct http_request req = {0};
  struct fx fx;
  struct sent s;
  char url[64];
  int fd;

  fx_init(&fx, false);
  fx_new_http(&fx, &o);
  CHECK(snprintf(url, sizeof(url), "https://127.0.0.1:%d/", bound_port(&fd)) <
        (int)sizeof(url));
  req.url = url;
  fx.n_want = 1;
  fx_send(&fx, &req, &s);
  fx_run(&fx);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_CONNECT);
  CHECK_EQ_INT(s.got.resp.curl_code, CURLE_COULDNT_CONNECT);
  CHECK(s.got.resp.error[0] != '\0');
  close(fd);
  sent_free(&s);
  fx_done(&fx);
}

static void test_hanging_server_times_out(void)
{
  struct http_opts o = {0};
  struct http_request req = {0};
  struct fx fx;
  struct sent s;
  char url[256];

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  o.total_timeout_ms = 30000;
  fx_new_http(&fx, &o);
  fx_url(&fx, true, "/hang", url, sizeof(url));
  req.url = url;
  req.total_timeout_ms = 1000; /* overrides the client's 30 s */
  fx.n_want = 1;
  fx_send(&fx, &req, &s);
  fx_run(&fx);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_TIMEOUT);
  CHECK_EQ_INT(s.got.resp.curl_code, CURLE_OPERATION_TIMEDOUT);
  CHECK(s.got.resp.elapsed_ms >= 900);
  CHECK(s.got.resp.elapsed_ms < 10000);
  sent_free(&s);
  fx_done(&fx);
}

static void test_reset_mid_response_is_recv(void)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_get(&fx, true, "/reset", &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_RECV);
  CHECK(s.got.resp.curl_code == CURLE_RECV_ERROR ||
        s.got.resp.curl_code == CURLE_PARTIAL_FILE);
  CHECK_EQ_INT(s.got.resp.status, 200);
  sent_free(&s);
  fx_done(&fx);
}

static void check_too_large(const char *path, int curl_code)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  o.max_body = 65536;
  fx_new_http(&fx, &o);
  fx_get(&fx, true, path, &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_TOO_LARGE);
  CHECK_EQ_INT(s.got.resp.curl_code, curl_code);
  CHECK_CONTAINS(s.got.resp.error, "over 65536 bytes");
  CHECK(strlen(s.got.body) <= 65536);
  sent_free(&s);
  fx_done(&fx);
}

/* Content-Length says too much: libcurl stops before reading the body. */
static void test_declared_body_over_cap_is_too_large(void)
{
  check_too_large("/big?n=200000", CURLE_FILESIZE_EXCEEDED);
}

/* Chunked: the write callback notices and aborts the transfer. */
static void test_streamed_body_over_cap_is_too_large(void)
{
  check_too_large("/big?n=200000&chunked=1", CURLE_WRITE_ERROR);
}

static void test_body_at_cap_is_kept(void)
{
  struct http_opts o = {0};
  struct fx fx;
  struct sent s;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  o.max_body = 65536;
  fx_new_http(&fx, &o);
  fx_get(&fx, true, "/big?n=65536&chunked=1", &s);
  CHECK_EQ_INT(s.got.resp.fail, HTTP_OK);
  CHECK_EQ_INT(strlen(s.got.body), 65536);
  sent_free(&s);
  fx_done(&fx);
}

#define N_PARALLEL 8

/* Eight 600 ms responses finish in far less than 8 * 600 ms. */
static void test_many_requests_in_flight(void)
{
  struct http_opts o = {0};
  struct http_request req = {0};
  struct sent s[N_PARALLEL];
  struct fx fx;
  char url[256];
  uint64_t t0;
  uint64_t took_ms;
  int i;

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_url(&fx, true, "/slow?ms=600", url, sizeof(url));
  req.url = url;
  fx.n_want = N_PARALLEL;
  t0 = uv_hrtime();
  for (i = 0; i < N_PARALLEL; i++)
    fx_send(&fx, &req, &s[i]);
  fx_run(&fx);
  took_ms = (uv_hrtime() - t0) / 1000000;
  CHECK(fprintf(stderr, "%d parallel 600 ms requests took %llu ms\n",
                N_PARALLEL, (unsigned long long)took_ms) > 0);
  CHECK(took_ms < 2400); /* serially: 4800 */
  for (i = 0; i < N_PARALLEL; i++) {
    CHECK_EQ_INT(s[i].got.resp.fail, HTTP_OK);
    CHECK_EQ_STR(s[i].got.body, "ssssssssss");
    sent_free(&s[i]);
  }
  fx_done(&fx);
}

struct lag {
  struct looplag ll; /* first */
  struct fx *fx;
  struct sent s;
};

static void lag_on_response(struct http_response *resp, void *arg)
{
  struct lag *l = arg;

  on_response(resp, &l->s.got);
  looplag_stop(&l->ll);
  http_close(l->fx->h, on_closed, l->fx);
}

/* A 10 ms timer keeps ticking on time while a 1 s response trickles in. */
static void test_loop_never_blocks(void)
{
  struct http_opts o = {0};
  struct http_request req = {0};
  struct cfw_err err = {0};
  struct lag l = {0};
  struct fx fx;
  char url[256];

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_url(&fx, true, "/slow?ms=1000", url, sizeof(url));
  req.url = url;
  l.fx = &fx;
  CHECK_EQ_INT(looplag_start(&l.ll, &fx.loop), 0);
  CHECK_EQ_INT(http_send(fx.h, &req, lag_on_response, &l, &err), 0);
  fx_run(&fx);
  CHECK(fprintf(stderr,
                "loop lag: max gap %.1f ms, of which outside the poll %.1f "
                "ms, over %u ticks in %llu ms\n",
                (double)l.ll.max_gap_ns / 1e6, (double)l.ll.max_busy_ns / 1e6,
                l.ll.ticks, (unsigned long long)l.s.got.resp.elapsed_ms) > 0);
  CHECK_EQ_INT(l.s.got.resp.fail, HTTP_OK);
  CHECK(l.s.got.resp.elapsed_ms >= 900);
  CHECK(l.ll.ticks >= 30);
  CHECK(l.ll.max_busy_ns < 100 * 1000000ULL);
  free(l.s.got.body);
  fx_done(&fx);
}

struct cancel {
  uv_timer_t timer;
  struct fx *fx;
  struct got got;
  int send_rc_in_cb;
  bool closed_before_cb;
};

static void cancel_on_response(struct http_response *resp, void *arg)
{
  struct cancel *c = arg;
  struct http_request req = {0};
  struct cfw_err err = {0};

  c->closed_before_cb = c->fx->closed;
  on_response(resp, &c->got);
  req.url = "https://127.0.0.1:1/";
  c->send_rc_in_cb = http_send(c->fx->h, &req, on_never, NULL, &err);
}

static void cancel_on_timer(uv_timer_t *t)
{
  struct cancel *c = (struct cancel *)(void *)t;

  uv_close((uv_handle_t *)&c->timer, NULL);
  http_close(c->fx->h, on_closed, c->fx);
  CHECK(c->got.called);  /* the callback ran inside http_close */
  CHECK(!c->fx->closed); /* done waits for the close callbacks */
}

static void test_close_cancels_in_flight(void)
{
  struct http_opts o = {0};
  struct http_request req = {0};
  struct cfw_err err = {0};
  struct cancel c = {0};
  struct fx fx;
  char url[256];

  fx_init(&fx, true);
  o.ca_file = fx.ca;
  fx_new_http(&fx, &o);
  fx_url(&fx, true, "/hang", url, sizeof(url));
  req.url = url;
  c.fx = &fx;
  CHECK_EQ_INT(http_send(fx.h, &req, cancel_on_response, &c, &err), 0);
  CHECK_EQ_INT(uv_timer_init(&fx.loop, &c.timer), 0);
  CHECK_EQ_INT(uv_timer_start(&c.timer, cancel_on_timer, 500, 0), 0);
  fx_run(&fx);
  CHECK(c.got.called);
  CHECK(!c.closed_before_cb);
  CHECK_EQ_INT(c.got.resp.fail, HTTP_CANCELLED);
  CHECK_EQ_INT(c.got.resp.status, 0);
  CHECK_EQ_STR(c.got.body, "");
  CHECK_CONTAINS(c.got.resp.error, "cancelled");
  CHECK_EQ_INT(c.send_rc_in_cb, -ESHUTDOWN);
  free(c.got.body);
  fx_done(&fx);
}

static char *read_all(FILE *f)
{
  struct buf b;
  char chunk[4096];
  size_t n;

  buf_init(&b, (size_t)16 * 1024 * 1024);
  rewind(f);
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    CHECK_EQ_INT(buf_add(&b, chunk, n), 0);
  return buf_take(&b);
}

/* The trace shows the exchange but neither secret header's value. */
static void test_trace_redacts_secrets(void)
{
  static const struct http_header hdrs[] = {
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRETVALUE/x, "
                        "Signature=SIGSECRETVALUE"},
      {"X-Amz-Security-Token", "TOKENSECRETVALUE"},
  };
  struct http_opts o = {0};
  struct http_request req = {0};
  FILE *f = tmpfile();
  struct fx fx;
  struct sent s;
  char url[256];
  char *text;

  CHECK(f != NULL);
  fx_init(&fx, true);
  o.ca_file = fx.ca;
  o.trace = true;
  o.log = log_new(f, LOG_TRACE, LOG_TEXT);
  CHECK(o.log != NULL);
  fx_new_http(&fx, &o);
  fx_url(&fx, true, "/echo", url, sizeof(url));
  req.url = url;
  req.headers = hdrs;
  req.n_headers = ARRAY_SIZE(hdrs);
  fx.n_want = 1;
  fx_send(&fx, &req, &s);
  fx_run(&fx);
  CHECK_EQ_INT(s.got.resp.status, 200);
  CHECK_CONTAINS(s.got.body, "TOKENSECRETVALUE"); /* the server got it */
  CHECK_EQ_INT(fflush(f), 0);
  text = read_all(f);
  CHECK_CONTAINS(text, "User-Agent: cfwatch/");
  CHECK_CONTAINS(text, "Authorization [redacted]");
  CHECK_CONTAINS(text, "X-Amz-Security-Token [redacted]");
  CHECK(strstr(text, "SECRETVALUE") == NULL);
  free(text);
  sent_free(&s);
  log_destroy(o.log);
  CHECK_EQ_INT(fclose(f), 0);
  fx_done(&fx);
}

TEST_MAIN(TEST(test_get_reaches_server_with_user_agent),
          TEST(test_post_sends_body_and_headers),
          TEST(test_201_location_and_request_id_parsed),
          TEST(test_tls_fails_without_ca_file),
          TEST(test_tls_succeeds_with_ca_file),
          TEST(test_missing_ca_file_fails_at_new),
          TEST(test_plain_http_to_loopback_allowed),
          TEST(test_plain_http_to_non_loopback_refused),
          TEST(test_bad_header_or_method_refused),
          TEST(test_connection_refused_is_connect),
          TEST(test_hanging_server_times_out),
          TEST(test_reset_mid_response_is_recv),
          TEST(test_declared_body_over_cap_is_too_large),
          TEST(test_streamed_body_over_cap_is_too_large),
          TEST(test_body_at_cap_is_kept), TEST(test_many_requests_in_flight),
          TEST(test_loop_never_blocks), TEST(test_close_cancels_in_flight),
          TEST(test_trace_redacts_secrets))
