/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_HTTP_FIXTURE_H
#define CFW_TEST_HTTP_FIXTURE_H

#include <curl/curl.h>
#include <spawn.h>
#include <stdbool.h>
#include <uv.h>

#include "http.h"
#include "test.h"

/* The fixture of the http tests (test_http.c, test_http_body.c): a loop,
 * a client, and tests/unit/http_test_server.py on 127.0.0.1. */

#define SERVER_SCRIPT CFW_SOURCE_DIR "/tests/unit/http_test_server.py"

/* Real libcurl over real TLS against tests/unit/http_test_server.py on
 * 127.0.0.1.  Nothing here connects outside loopback. */

struct got {
  bool called;
  struct http_response resp; /* body moved out to body */
  char *body;
};

struct fx {
  char dir[256];
  pid_t pid;
  int server_stdin; /* write end; the server exits when it closes */
  int https_port;
  int http_port;
  char ca[320];
  uv_loop_t loop;
  struct http *h;
  int n_want; /* close the client after this many responses */
  int n_done;
  bool closed;
};

extern char **environ;

static inline void fx_spawn_server(struct fx *fx)
{
  char *argv[] = {"python3", SERVER_SCRIPT, fx->dir, NULL};
  posix_spawn_file_actions_t fa;
  int in[2];
  int out[2];
  char c;

  /* Close-on-exec everywhere: only the dup2'd 0 and 1 reach the server,
   * so its closing stdout is the EOF we wait for. */
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
    exit(2);
  if (posix_spawn_file_actions_init(&fa) != 0 ||
      posix_spawn_file_actions_adddup2(&fa, in[0], 0) != 0 ||
      posix_spawn_file_actions_adddup2(&fa, out[1], 1) != 0 ||
      posix_spawnp(&fx->pid, "python3", &fa, NULL, argv, environ) != 0)
    exit(2);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  fx->server_stdin = in[1];
  /* The server closes its stdout once the ports file is in place. */
  while (read(out[0], &c, 1) > 0)
    continue;
  close(out[0]);
}

static inline void fx_read_ports(struct fx *fx)
{
  char path[300];
  FILE *f;
  int n;

  n = snprintf(path, sizeof(path), "%s/ports", fx->dir);
  if (n < 0 || (size_t)n >= sizeof(path))
    exit(2);
  f = fopen(path, "r");
  /* Without a server nothing after this could mean anything. */
  if (f == NULL || fscanf(f, "%d %d", &fx->https_port, &fx->http_port) != 2)
    exit(2);
  CHECK_EQ_INT(fclose(f), 0);
  n = snprintf(fx->ca, sizeof(fx->ca), "%s/cert.pem", fx->dir);
  if (n < 0 || (size_t)n >= sizeof(fx->ca))
    exit(2);
}

static inline void fx_init(struct fx *fx, bool server)
{
  memset(fx, 0, sizeof(*fx));
  fx->pid = -1;
  fx->server_stdin = -1;
  CHECK_EQ_INT(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  CHECK_EQ_INT(uv_loop_init(&fx->loop), 0);
  if (!server)
    return;
  test_tmpdir(fx->dir, sizeof(fx->dir));
  fx_spawn_server(fx);
  fx_read_ports(fx);
}

static inline void fx_new_http(struct fx *fx, const struct http_opts *o)
{
  struct cfw_err err = {0};

  CHECK_EQ_INT(http_new(&fx->h, &fx->loop, o, &err), 0);
  CHECK_EQ_STR(err.msg, "");
  if (fx->h == NULL)
    exit(1);
}

static inline void on_closed(void *arg)
{
  struct fx *fx = arg;

  fx->closed = true;
}

/* Runs the loop until the client is closed, then checks that nothing is
 * left on it. */
static inline void fx_run(struct fx *fx)
{
  CHECK_EQ_INT(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  CHECK(fx->closed);
  CHECK_EQ_INT(uv_loop_close(&fx->loop), 0);
}

static inline void fx_done(struct fx *fx)
{
  int status;

  if (fx->pid > 0) {
    close(fx->server_stdin);
    kill(fx->pid, SIGTERM);
    waitpid(fx->pid, &status, 0);
    test_rmtree(fx->dir);
  }
  curl_global_cleanup();
}

static inline void on_response(struct http_response *resp, void *arg)
{
  struct got *g = arg;

  CHECK(!g->called);
  g->called = true;
  g->body = buf_take(&resp->body);
  g->resp = *resp; /* its body is empty now; ours is g->body */
}

struct sent {
  struct got got;
  struct fx *fx;
};

static inline void on_sent_response(struct http_response *resp, void *arg)
{
  struct sent *s = arg;
  struct fx *fx = s->fx;

  on_response(resp, &s->got);
  fx->n_done++;
  if (fx->n_done == fx->n_want)
    http_close(fx->h, on_closed, fx);
}

static inline void fx_url(const struct fx *fx, bool tls, const char *path,
                          char *out, size_t n)
{
  int len;

  len = snprintf(out, n, "%s://127.0.0.1:%d%s", tls ? "https" : "http",
                 tls ? fx->https_port : fx->http_port, path);
  if (len < 0 || (size_t)len >= n)
    exit(2);
}

/* Sends req and expects http_send to accept it. */
static inline void fx_send(struct fx *fx, const struct http_request *req,
                           struct sent *s)
{
  struct cfw_err err = {0};
  int rc;

  memset(s, 0, sizeof(*s));
  s->fx = fx;
  rc = http_send(fx->h, req, on_sent_response, s, &err);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_STR(err.msg, "");
}

/* One request to path on the fixture's server, run to completion. */
static inline void fx_get(struct fx *fx, bool tls, const char *path,
                          struct sent *s)
{
  char url[256];
  struct http_request req = {0};

  fx_url(fx, tls, path, url, sizeof(url));
  req.url = url;
  fx->n_want = 1;
  fx_send(fx, &req, s);
  fx_run(fx);
  CHECK(s->got.called);
}

static inline void sent_free(struct sent *s)
{
  free(s->got.body);
}

#endif
