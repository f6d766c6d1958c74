/* SPDX-License-Identifier: MIT */
#include "child.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHILD_HANDLES 4

struct child {
  uv_timer_t timer; /* first: the handles in the order they are opened */
  uv_pipe_t out;    /* the child's stdout, if captured; else unused */
  uv_pipe_t errp;   /* the child's stderr */
  uv_process_t proc;
  bool has_out; /* stdout is captured into buf */
  int opened;   /* handles initialized, in the order above */
  int open;     /* handles not yet closed */
  bool started; /* start succeeded, so cb must run */
  bool exited;
  bool out_eof;
  bool err_eof;
  bool closing;
  bool tail_cut; /* stderr had more than tail_max bytes */
  int fail;      /* our own reason to kill it (timeout...) */
  int64_t exit_status;
  int term_signal;
  uint64_t timeout_ms;
  child_cb cb;
  void *arg;
  char *buf; /* owned; out_max bytes; wiped: it may hold a secret */
  size_t out_max;
  size_t len;
  size_t tail_max;
  size_t tail_len;
  char scratch[1024]; /* stderr is read here, then its tail kept */
  char tail[CHILD_TAIL_MAX + 1];
};

/* The i-th handle opened.  stdout's pipe is opened even when stdout goes
 * to /dev/null, unused, so that the order stays fixed. */
static uv_handle_t *child_handle(struct child *c, int i)
{
  uv_handle_t *h[CHILD_HANDLES] = {
      (uv_handle_t *)&c->timer, (uv_handle_t *)&c->out, (uv_handle_t *)&c->errp,
      (uv_handle_t *)&c->proc};

  return h[i];
}

/* Appends stderr bytes, keeping only the last tail_max. */
static void child_keep_tail(struct child *c, const char *s, size_t n)
{
  size_t cap = c->tail_max;
  size_t drop;

  if (n > cap) {
    c->tail_cut = true;
    s += n - cap;
    n = cap;
  }
  if (c->tail_len + n > cap) {
    c->tail_cut = true;
    drop = c->tail_len + n - cap;
    memmove(c->tail, c->tail + drop, c->tail_len - drop);
    c->tail_len -= drop;
  }
  memcpy(c->tail + c->tail_len, s, n);
  c->tail_len += n;
  c->tail[c->tail_len] = '\0';
}

/* Makes the stderr tail fit for a log line: printable ASCII and '\n',
 * whole lines when it was cut, no trailing blank. */
static const char *child_tail_text(struct child *c)
{
  char *t = c->tail;
  char *nl;
  size_t i;

  for (i = 0; i < c->tail_len; i++) {
    if (t[i] == '\t' || t[i] == '\r')
      t[i] = ' ';
    else if ((t[i] < 0x20 && t[i] != '\n') || t[i] > 0x7e)
      t[i] = '?';
  }
  while (c->tail_len > 0 &&
         (t[c->tail_len - 1] == ' ' || t[c->tail_len - 1] == '\n'))
    t[--c->tail_len] = '\0';
  nl = c->tail_cut ? memchr(t, '\n', c->tail_len) : NULL;
  return nl != NULL ? nl + 1 : t;
}

/* Kills the process group (the child leads it, see UV_PROCESS_DETACHED),
 * so a shell's children die with it and stop holding our pipes. */
static void child_kill(struct child *c)
{
  if (c->proc.pid <= 0)
    return;
  if (uv_kill(-c->proc.pid, SIGKILL) < 0 && !c->exited)
    (void)uv_process_kill(&c->proc, SIGKILL); /* best effort, as above */
}

static void child_fail(struct child *c, int code)
{
  if (c->fail != 0)
    return;
  c->fail = code;
  child_kill(c);
}

static void child_free(struct child *c)
{
  if (c->buf != NULL)
    OPENSSL_cleanse(c->buf, c->out_max);
  free(c->buf);
  OPENSSL_cleanse(c->scratch, sizeof(c->scratch));
  OPENSSL_cleanse(c->tail, sizeof(c->tail));
  free(c);
}

static void child_on_close(uv_handle_t *h)
{
  struct child *c = h->data;
  struct child_result r;

  if (--c->open > 0)
    return;
  if (c->started) {
    memset(&r, 0, sizeof(r));
    r.status = c->fail;
    r.exit_status = c->exit_status;
    r.term_signal = c->term_signal;
    r.out = c->buf;
    r.out_len = c->len;
    r.tail = child_tail_text(c);
    c->cb(c, &r, c->arg);
  }
  child_free(c);
}

static void child_close_all(struct child *c)
{
  int i;

  c->closing = true;
  c->open = c->opened;
  if (c->open == 0) {
    child_free(c);
    return;
  }
  for (i = 0; i < c->opened; i++) {
    child_handle(c, i)->data = c;
    uv_close(child_handle(c, i), child_on_close);
  }
}

/* Done once the child exited and its pipes hit EOF, or, after a failure
 * of ours killed it, as soon as it exited. */
static void child_maybe_finish(struct child *c)
{
  if (c->closing || !c->exited)
    return;
  if (c->fail == 0 && !(c->out_eof && c->err_eof))
    return;
  child_close_all(c);
}

static void child_on_exit(uv_process_t *proc, int64_t exit_status,
                          int term_signal)
{
  struct child *c = container_of(proc, struct child, proc);

  c->exited = true;
  c->exit_status = exit_status;
  c->term_signal = term_signal;
  child_maybe_finish(c);
}

static void child_on_timeout(uv_timer_t *timer)
{
  struct child *c = container_of(timer, struct child, timer);

  child_fail(c, -ETIMEDOUT);
  child_maybe_finish(c);
}

static void child_on_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct child *c = container_of(h, struct child, out);

  (void)suggested; /* we read straight into the capped buffer */
  *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->out_max - c->len));
}

static void child_on_err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct child *c = container_of(h, struct child, errp);

  (void)suggested; /* a fixed scratch buffer is enough */
  *buf = uv_buf_init(c->scratch, sizeof(c->scratch));
}

/* Shared end of both pipes: EOF or an error stops reading. */
static void child_pipe_end(struct child *c, uv_stream_t *s, ssize_t nread,
                           bool *eof)
{
  *eof = true;
  (void)uv_read_stop(s); /* always 0 on a reading stream */
  if (nread == UV_ENOBUFS)
    child_fail(c, -E2BIG);
  else if (nread != UV_EOF)
    child_fail(c, (int)nread);
  child_maybe_finish(c);
}

static void child_on_out_read(uv_stream_t *s, ssize_t nread,
                              const uv_buf_t *buf)
{
  struct child *c = container_of(s, struct child, out);

  (void)buf; /* it is c->buf + c->len */
  if (nread >= 0)
    c->len += (size_t)nread;
  else
    child_pipe_end(c, s, nread, &c->out_eof);
}

static void child_on_err_read(uv_stream_t *s, ssize_t nread,
                              const uv_buf_t *buf)
{
  struct child *c = container_of(s, struct child, errp);

  if (nread >= 0)
    child_keep_tail(c, buf->base, (size_t)nread);
  else
    child_pipe_end(c, s, nread, &c->err_eof);
}

static int child_spawn(struct child *c, uv_loop_t *loop,
                       const struct child_opts *o)
{
  uv_process_options_t po;
  uv_stdio_container_t stdio[3];
  /* libuv's args are not const but only read (execvp). */
  char *args[] = {"sh", "-c", (char *)o->cmd, NULL};

  memset(&po, 0, sizeof(po));
  memset(stdio, 0, sizeof(stdio));
  stdio[0].flags = UV_IGNORE; /* libuv opens /dev/null for it */
  stdio[1].flags = UV_IGNORE;
  if (c->has_out) {
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&c->out;
  }
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&c->errp;
  po.file = "/bin/sh";
  po.args = args;
  po.env = o->env;
  po.cwd = o->cwd;
  po.exit_cb = child_on_exit;
  po.flags = UV_PROCESS_DETACHED; /* its own process group, see kill */
  po.stdio = stdio;
  po.stdio_count = 3;
  c->opened++; /* uv_spawn initializes the handle even when it fails */
  return uv_spawn(loop, &c->proc, &po);
}

/* Opens the handles in child_handle() order, counting them. */
static int child_open(struct child *c, uv_loop_t *loop,
                      const struct child_opts *o)
{
  int rc;

  rc = uv_timer_init(loop, &c->timer);
  if (rc == 0) {
    c->opened++;
    rc = uv_pipe_init(loop, &c->out, 0);
  }
  if (rc == 0) {
    c->opened++;
    rc = uv_pipe_init(loop, &c->errp, 0);
  }
  if (rc == 0) {
    c->opened++;
    rc = child_spawn(c, loop, o);
  }
  return rc;
}

/* Starts reading and the timer; a failure here is reported through cb. */
static void child_watch(struct child *c)
{
  int rc = 0;

  if (c->has_out)
    rc = uv_read_start((uv_stream_t *)&c->out, child_on_out_alloc,
                       child_on_out_read);
  else
    c->out_eof = true;
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&c->errp, child_on_err_alloc,
                       child_on_err_read);
  if (rc == 0)
    rc = uv_timer_start(&c->timer, child_on_timeout, c->timeout_ms, 0);
  if (rc < 0)
    child_fail(c, rc);
}

int child_start(struct child **out, uv_loop_t *loop, const struct child_opts *o,
                child_cb cb, void *arg, struct cfw_err *err)
{
  struct child *c;
  int rc = 0;

  *out = NULL;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  c->has_out = o->out_max > 0;
  c->out_max = o->out_max;
  c->tail_max = o->tail_max < CHILD_TAIL_MAX ? o->tail_max : CHILD_TAIL_MAX;
  if (c->has_out) {
    c->buf = malloc(o->out_max);
    rc = c->buf == NULL ? -ENOMEM : 0;
  }
  if (rc == 0)
    rc = child_open(c, loop, o);
  if (rc < 0) {
    child_close_all(c);
    return cfw_err_set(err, rc, "cannot run sh: %s", uv_strerror(rc));
  }
  c->timeout_ms = o->timeout_ms;
  c->cb = cb;
  c->arg = arg;
  c->started = true;
  *out = c;
  child_watch(c);
  return 0;
}

void child_cancel(struct child *c)
{
  if (c == NULL || c->closing)
    return;
  child_fail(c, -ECANCELED);
  child_maybe_finish(c);
}
