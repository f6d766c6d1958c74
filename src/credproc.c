#include "credproc.h"

#include "creds.h"
#include "err.h"
#include "json.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREDPROC_HANDLES 4

struct credproc {
  uv_timer_t timer; /* first: the handles in the order they are opened */
  uv_pipe_t out;    /* the child's stdout */
  uv_pipe_t errp;   /* the child's stderr */
  uv_process_t proc;
  int opened;   /* handles initialized, in the order above */
  int open;     /* handles not yet closed */
  bool started; /* start succeeded, so cb must run */
  bool exited;
  bool out_eof;
  bool err_eof;
  bool closing;
  int fail; /* our own failure (timeout...), set in err */
  int64_t exit_status;
  int term_signal;
  uint64_t timeout_ms;
  credproc_cb cb;
  void *arg;
  char *buf; /* owned; CREDPROC_MAX_OUTPUT bytes; wiped */
  size_t len;
  char scratch[1024]; /* stderr is read here, then its tail kept */
  char tail[CREDPROC_STDERR_TAIL + 1];
  size_t tail_len;
  char source[CREDS_SOURCE_LEN];
  struct creds creds;
  struct cfw_err err;
};

static bool credproc_nonempty(const char *s)
{
  return s != NULL && *s != '\0';
}

static uv_handle_t *credproc_handle(struct credproc *p, int i)
{
  uv_handle_t *h[CREDPROC_HANDLES] = {
      (uv_handle_t *)&p->timer, (uv_handle_t *)&p->out, (uv_handle_t *)&p->errp,
      (uv_handle_t *)&p->proc};

  return h[i];
}

/* Appends stderr bytes, keeping only the last CREDPROC_STDERR_TAIL. */
static void credproc_keep_tail(struct credproc *p, const char *s, size_t n)
{
  size_t cap = CREDPROC_STDERR_TAIL;
  size_t drop;

  if (n >= cap) {
    s += n - cap;
    n = cap;
  }
  if (p->tail_len + n > cap) {
    drop = p->tail_len + n - cap;
    memmove(p->tail, p->tail + drop, p->tail_len - drop);
    p->tail_len -= drop;
  }
  memcpy(p->tail + p->tail_len, s, n);
  p->tail_len += n;
  p->tail[p->tail_len] = '\0';
}

/* Makes the stderr tail fit for one log line: printable ASCII only. */
static const char *credproc_tail_text(struct credproc *p)
{
  size_t i;

  for (i = 0; i < p->tail_len; i++) {
    if (p->tail[i] < 0x20 || p->tail[i] > 0x7e)
      p->tail[i] = (p->tail[i] == '\n' || p->tail[i] == '\t') ? ' ' : '?';
  }
  while (p->tail_len > 0 && p->tail[p->tail_len - 1] == ' ')
    p->tail[--p->tail_len] = '\0';
  return p->tail_len > 0 ? p->tail : "(no stderr)";
}

/* Kills the process group (the child leads it, see UV_PROCESS_DETACHED),
 * so a shell's children die with it and stop holding our pipes. */
static void credproc_kill(struct credproc *p)
{
  if (p->proc.pid <= 0)
    return;
  if (uv_kill(-p->proc.pid, SIGKILL) < 0 && !p->exited)
    (void)uv_process_kill(&p->proc, SIGKILL); /* best effort, as above */
}

static void credproc_fail(struct credproc *p, int code, const char *why)
{
  if (p->fail != 0)
    return;
  p->fail = cfw_err_set(&p->err, code, "%s: %s", p->source, why);
  credproc_kill(p);
}

static void credproc_result(struct credproc *p)
{
  int rc;

  if (p->fail != 0)
    return;
  if (p->term_signal != 0) {
    p->fail = cfw_err_set(&p->err, -EIO, "%s: killed by signal %d: %s",
                          p->source, p->term_signal, credproc_tail_text(p));
    return;
  }
  if (p->exit_status != 0) {
    p->fail =
        cfw_err_set(&p->err, -EIO, "%s: exited with status %lld: %s", p->source,
                    (long long)p->exit_status, credproc_tail_text(p));
    return;
  }
  rc = credproc_parse_output(p->buf, p->len, &p->creds, &p->err);
  if (rc < 0) {
    p->fail = cfw_err_prefix(&p->err, "%s: output", p->source);
    return;
  }
  memcpy(p->creds.source, p->source, sizeof(p->source));
}

static void credproc_on_close(uv_handle_t *h)
{
  struct credproc *p = h->data;

  if (--p->open > 0)
    return;
  if (p->started) {
    credproc_result(p);
    p->cb(p, p->fail, p->fail == 0 ? &p->creds : NULL, &p->err, p->arg);
  }
  creds_free(&p->creds);
  if (p->buf != NULL)
    OPENSSL_cleanse(p->buf, p->len);
  free(p->buf);
  OPENSSL_cleanse(p->scratch, sizeof(p->scratch));
  free(p);
}

static void credproc_close_all(struct credproc *p)
{
  int i;

  p->closing = true;
  p->open = p->opened;
  if (p->open == 0) {
    free(p->buf);
    free(p);
    return;
  }
  for (i = 0; i < p->opened; i++) {
    credproc_handle(p, i)->data = p;
    uv_close(credproc_handle(p, i), credproc_on_close);
  }
}

/* Done once the child exited and its pipes hit EOF, or, after a failure
 * of ours killed it, as soon as it exited. */
static void credproc_maybe_finish(struct credproc *p)
{
  if (p->closing || !p->exited)
    return;
  if (p->fail == 0 && !(p->out_eof && p->err_eof))
    return;
  credproc_close_all(p);
}

static void credproc_on_exit(uv_process_t *proc, int64_t exit_status,
                             int term_signal)
{
  struct credproc *p = container_of(proc, struct credproc, proc);

  p->exited = true;
  p->exit_status = exit_status;
  p->term_signal = term_signal;
  credproc_maybe_finish(p);
}

static void credproc_on_timeout(uv_timer_t *timer)
{
  struct credproc *p = container_of(timer, struct credproc, timer);
  char why[64];

  (void)snprintf(why, sizeof(why), "timed out after %llu ms, killed",
                 (unsigned long long)p->timeout_ms); /* always fits */
  credproc_fail(p, -ETIMEDOUT, why);
  credproc_maybe_finish(p);
}

static void credproc_on_out_alloc(uv_handle_t *h, size_t suggested,
                                  uv_buf_t *buf)
{
  struct credproc *p = container_of(h, struct credproc, out);

  (void)suggested; /* we read straight into the capped buffer */
  *buf = uv_buf_init(p->buf + p->len, (unsigned)(CREDPROC_MAX_OUTPUT - p->len));
}

static void credproc_on_err_alloc(uv_handle_t *h, size_t suggested,
                                  uv_buf_t *buf)
{
  struct credproc *p = container_of(h, struct credproc, errp);

  (void)suggested; /* a fixed scratch buffer is enough */
  *buf = uv_buf_init(p->scratch, sizeof(p->scratch));
}

/* Shared end of both pipes: EOF or an error stops reading. */
static void credproc_pipe_end(struct credproc *p, uv_stream_t *s, ssize_t nread,
                              bool *eof)
{
  *eof = true;
  (void)uv_read_stop(s); /* always 0 on a reading stream */
  if (nread == UV_ENOBUFS)
    credproc_fail(p, -E2BIG, "output over 64 KiB, killed");
  else if (nread != UV_EOF)
    credproc_fail(p, (int)nread, uv_strerror((int)nread));
  credproc_maybe_finish(p);
}

static void credproc_on_out_read(uv_stream_t *s, ssize_t nread,
                                 const uv_buf_t *buf)
{
  struct credproc *p = container_of(s, struct credproc, out);

  (void)buf; /* it is p->buf + p->len */
  if (nread >= 0)
    p->len += (size_t)nread;
  else
    credproc_pipe_end(p, s, nread, &p->out_eof);
}

static void credproc_on_err_read(uv_stream_t *s, ssize_t nread,
                                 const uv_buf_t *buf)
{
  struct credproc *p = container_of(s, struct credproc, errp);

  if (nread >= 0)
    credproc_keep_tail(p, buf->base, (size_t)nread);
  else
    credproc_pipe_end(p, s, nread, &p->err_eof);
}

static int credproc_spawn(struct credproc *p, uv_loop_t *loop, const char *cmd)
{
  uv_process_options_t po;
  uv_stdio_container_t stdio[3];
  /* libuv's args are not const but only read (execvp). */
  char *args[] = {"sh", "-c", (char *)cmd, NULL};

  memset(&po, 0, sizeof(po));
  memset(stdio, 0, sizeof(stdio));
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&p->out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&p->errp;
  po.file = "/bin/sh";
  po.args = args;
  po.exit_cb = credproc_on_exit;
  po.flags = UV_PROCESS_DETACHED; /* its own process group, see kill */
  po.stdio = stdio;
  po.stdio_count = 3;
  p->opened++; /* uv_spawn initializes the handle even when it fails */
  return uv_spawn(loop, &p->proc, &po);
}

/* Opens the handles in credproc_handle() order, counting them. */
static int credproc_open(struct credproc *p, uv_loop_t *loop, const char *cmd)
{
  int rc;

  rc = uv_timer_init(loop, &p->timer);
  if (rc == 0) {
    p->opened++;
    rc = uv_pipe_init(loop, &p->out, 0);
  }
  if (rc == 0) {
    p->opened++;
    rc = uv_pipe_init(loop, &p->errp, 0);
  }
  if (rc == 0) {
    p->opened++;
    rc = credproc_spawn(p, loop, cmd);
  }
  return rc;
}

int credproc_start(struct credproc **out, uv_loop_t *loop,
                   const struct credproc_opts *o, credproc_cb cb, void *arg,
                   struct cfw_err *err)
{
  const char *source = o->source != NULL ? o->source : "credential_process";
  struct credproc *p;
  int rc;

  *out = NULL;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", source);
  p->buf = malloc(CREDPROC_MAX_OUTPUT);
  rc = p->buf == NULL ? -ENOMEM : credproc_open(p, loop, o->cmd);
  if (rc < 0) {
    credproc_close_all(p);
    return cfw_err_set(err, rc, "%s: cannot run sh: %s", source,
                       uv_strerror(rc));
  }
  (void)snprintf(p->source, sizeof(p->source), "%s", source); /* may cut */
  p->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : CREDPROC_TIMEOUT_MS;
  p->cb = cb;
  p->arg = arg;
  p->started = true;
  *out = p;
  /* From here on a failure is reported through cb. */
  rc = uv_read_start((uv_stream_t *)&p->out, credproc_on_out_alloc,
                     credproc_on_out_read);
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&p->errp, credproc_on_err_alloc,
                       credproc_on_err_read);
  if (rc == 0)
    rc = uv_timer_start(&p->timer, credproc_on_timeout, p->timeout_ms, 0);
  if (rc < 0)
    credproc_fail(p, rc, uv_strerror(rc));
  return 0;
}

void credproc_cancel(struct credproc *p)
{
  if (p == NULL || p->closing)
    return;
  credproc_fail(p, -ECANCELED, "cancelled");
  credproc_maybe_finish(p);
}

/* Reads "dd" (n digits) from s; -1 if any is not a digit. */
static int credproc_digits(const char *s, int n)
{
  int v = 0;
  int i;

  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t credproc_days_from_civil(int64_t y, int m, int d)
{
  int64_t era;
  int64_t yoe;
  int64_t doy;
  int64_t doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int credproc_month_days(int y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

  return m == 2 && leap ? 29 : days[m - 1];
}

/* Parses "Z" or "+hh:mm" / "-hh:mm" ending the string, in seconds. */
static int credproc_parse_offset(const char *p, int64_t *off_s)
{
  int h;
  int m;

  if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
    *off_s = 0;
    return 0;
  }
  if (p[0] != '+' && p[0] != '-')
    return -EINVAL;
  h = credproc_digits(p + 1, 2);
  m = h < 0 || p[3] != ':' ? -1 : credproc_digits(p + 4, 2);
  if (m < 0 || p[6] != '\0' || h > 23 || m > 59)
    return -EINVAL;
  *off_s = ((int64_t)h * 3600 + (int64_t)m * 60) * (p[0] == '-' ? -1 : 1);
  return 0;
}

/* ISO 8601 allows a lowercase 't' between date and time. */
static bool credproc_sep_ok(char c, char want)
{
  return c == want || (want == 'T' && c == 't');
}

/* Reads "YYYY-MM-DDTHH:MM:SS" into f (year, month, day, hour, minute,
 * second); 0 or -EINVAL. */
static int credproc_parse_fields(const char *s, int f[6])
{
  static const int pos[6] = {0, 5, 8, 11, 14, 17};
  static const char seps[] = "--T::";
  int i;

  if (strlen(s) < 20)
    return -EINVAL;
  for (i = 0; i < 6; i++) {
    f[i] = credproc_digits(s + pos[i], i == 0 ? 4 : 2);
    if (f[i] < 0 || (i < 5 && !credproc_sep_ok(s[pos[i + 1] - 1], seps[i])))
      return -EINVAL;
  }
  return 0;
}

/* Skips ".123" fractional seconds; NULL if the dot has no digits. */
static const char *credproc_skip_fraction(const char *p)
{
  if (*p != '.')
    return p;
  p++;
  if (!isdigit((unsigned char)*p))
    return NULL;
  while (isdigit((unsigned char)*p))
    p++;
  return p;
}

int credproc_parse_time(const char *s, int64_t *out_s)
{
  const char *p;
  int64_t off_s;
  int f[6]; /* year, month, day, hour, minute, second */

  if (credproc_parse_fields(s, f) < 0)
    return -EINVAL;
  p = credproc_skip_fraction(s + 19);
  if (p == NULL || credproc_parse_offset(p, &off_s) < 0 || f[1] < 1 ||
      f[1] > 12 || f[2] < 1 || f[2] > credproc_month_days(f[0], f[1]) ||
      f[3] > 23 || f[4] > 59 || f[5] > 60)
    return -EINVAL;
  *out_s = credproc_days_from_civil(f[0], f[1], f[2]) * 86400 +
           (int64_t)f[3] * 3600 + (int64_t)f[4] * 60 + f[5] - off_s;
  return *out_s > 0 ? 0 : -EINVAL;
}

/* A string or null member; -EINVAL if it has another type. */
static int credproc_json_opt_string(const struct json_object *o,
                                    const char *key, const char **out,
                                    struct cfw_err *err)
{
  const struct json_value *v = json_get(o, key);

  *out = NULL;
  if (v == NULL || v->type == JSON_NULL)
    return 0;
  if (v->type != JSON_STRING)
    return cfw_err_set(err, -EINVAL, "%s is not a string", key);
  *out = v->str;
  return 0;
}

static int credproc_fields(const struct json_object *o, struct creds *out,
                           struct cfw_err *err)
{
  const char *id = json_get_string(o, "AccessKeyId");
  const char *secret = json_get_string(o, "SecretAccessKey");
  const char *token;
  const char *exp;
  int64_t exp_s = 0;
  double version;

  if (json_get_number(o, "Version", &version) < 0)
    return cfw_err_set(err, -EINVAL, "no numeric Version");
  if (version != 1.0)
    return cfw_err_set(err, -EINVAL, "Version %g is not supported (only 1)",
                       version);
  if (!credproc_nonempty(id))
    return cfw_err_set(err, -EINVAL, "no AccessKeyId string");
  if (!credproc_nonempty(secret))
    return cfw_err_set(err, -EINVAL, "no SecretAccessKey string");
  if (credproc_json_opt_string(o, "SessionToken", &token, err) < 0 ||
      credproc_json_opt_string(o, "Expiration", &exp, err) < 0)
    return err != NULL ? err->code : -EINVAL;
  if (exp != NULL && credproc_parse_time(exp, &exp_s) < 0)
    return cfw_err_set(err, -EINVAL, "Expiration is not an ISO 8601 UTC time");
  if (creds_set_keys(out, id, secret, token, err) < 0)
    return -ENOMEM;
  out->expiration_s = exp_s;
  return 0;
}

int credproc_parse_output(const char *json, size_t len, struct creds *out,
                          struct cfw_err *err)
{
  struct json_object o;
  int rc;

  rc = json_object_parse(json, len, &o, err);
  if (rc < 0)
    return rc;
  rc = credproc_fields(&o, out, err);
  json_object_free(&o);
  return rc;
}
