/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "jsonout.h"

/* A message keeps up to LOG_MSG_MAX bytes: two PATH_MAX paths (a rename
 * names two) and room for the reason.  A longer one loses its middle,
 * never its end, where the reason is (issue 11, item 14). */
#define LOG_REASON_ROOM 1024
#define LOG_MSG_MAX     (2 * PATH_MAX + LOG_REASON_ROOM)
/* Escaping grows a byte to at most 6 (\u00XX in JSON, \\xNN for a byte
 * that is not UTF-8), so a line never reaches its cap. */
#define LOG_LINE_MAX (6 * LOG_MSG_MAX + 256)
/* Messages that fit here need no heap. */
#define LOG_SMALL 1024

struct log {
  FILE *out; /* borrowed */
  enum log_level level;
  enum log_format format;
};

static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          "trace"};

struct log *log_new(FILE *out, enum log_level level, enum log_format format)
{
  struct log *log;

  log = calloc(1, sizeof(*log));
  if (log == NULL)
    return NULL;
  log->out = out;
  log->level = level;
  log->format = format;
  return log;
}

void log_destroy(struct log *log)
{
  free(log);
}

void log_set_level(struct log *log, enum log_level level)
{
  log->level = level;
}

void log_set_format(struct log *log, enum log_format format)
{
  log->format = format;
}

int log_enabled(const struct log *log, enum log_level level)
{
  return log != NULL && level <= log->level;
}

/* Messages carry file names, which may hold any byte: a newline must not
 * forge a second log line.  Control bytes become \n, \t or \xHH; other
 * bytes go out as they are. */
static void log_escape_text(struct buf *b, const char *msg, size_t len)
{
  const unsigned char *s = (const unsigned char *)msg;
  size_t run = 0;
  size_t i;

  /* The buf calls fail only on ENOMEM (the cap is out of reach), which
   * costs the line a piece and cannot be reported anywhere. */
  for (i = 0; i < len; i++) {
    if (s[i] >= 0x20 && s[i] != 0x7f)
      continue;
    (void)buf_add(b, s + run, i - run);
    if (s[i] == '\n')
      (void)buf_adds(b, "\\n");
    else if (s[i] == '\t')
      (void)buf_adds(b, "\\t");
    else
      (void)buf_addf(b, "\\x%02x", s[i]);
    run = i + 1;
  }
  (void)buf_add(b, s + run, len - run);
}

/* Whether s[i] continues a UTF-8 character (10xxxxxx). */
static bool log_is_cont(const char *s, size_t i)
{
  return ((unsigned char)s[i] & 0xc0) == 0x80;
}

/* Writes the first and last LOG_MSG_MAX / 2 bytes of msg to out, the
 * middle replaced by a marker.  The cuts move by at most 3 bytes so as
 * not to split a UTF-8 character.  0 or -ENOMEM. */
static int log_elide(struct buf *out, const char *msg, size_t len)
{
  size_t head = LOG_MSG_MAX / 2;
  size_t tail = len - LOG_MSG_MAX / 2;
  int i;

  for (i = 0; i < 3 && log_is_cont(msg, head); i++)
    head--;
  for (i = 0; i < 3 && log_is_cont(msg, tail); i++)
    tail++;
  if (buf_add(out, msg, head) < 0 ||
      buf_addf(out, "[...%zu bytes cut...]", tail - head) < 0 ||
      buf_add(out, msg + tail, len - tail) < 0)
    return -ENOMEM;
  return 0;
}

static void log_timestamp(char *out, size_t n)
{
  struct timespec ts;
  struct tm tm;

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  if (strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    out[0] = '\0';
}

/* {"ts":"...Z","level":"...","msg":"..."} and a newline; the message is
 * mapped by jsonout_bytes, so the line is valid JSON whatever its bytes.
 * 0 or -ENOMEM. */
static int log_json_line(struct buf *b, enum log_level level, const char *msg,
                         size_t len)
{
  json_t *o = jsonout_object();
  char ts[40];
  int rc;

  log_timestamp(ts, sizeof(ts));
  rc = jsonout_set(o, "ts", json_string(ts));
  if (rc == 0)
    rc = jsonout_set(o, "level", json_string(level_names[level]));
  if (rc == 0)
    rc = jsonout_set(o, "msg", jsonout_bytes(msg, len));
  if (rc == 0)
    rc = jsonout_dump(o, b);
  json_decref(o);
  return rc == 0 ? buf_addc(b, '\n') : rc;
}

static void log_write(struct log *log, enum log_level level, const char *msg,
                      size_t len)
{
  struct buf cut;
  struct buf b;

  buf_init(&cut, LOG_MSG_MAX + 64);
  if (len > LOG_MSG_MAX && log_elide(&cut, msg, len) == 0) {
    msg = buf_str(&cut);
    len = cut.len;
  }
  buf_init(&b, LOG_LINE_MAX);
  if (log->format == LOG_JSON && log_json_line(&b, level, msg, len) < 0) {
    buf_reset(&b);
    (void)buf_addf(&b, "{\"level\":\"%s\",\"msg\":\"(out of memory)\"}\n",
                   level_names[level]);
  } else if (log->format != LOG_JSON) {
    (void)buf_adds(&b, "cfwatch: ");
    if (level != LOG_INFO)
      (void)buf_addf(&b, "%s: ", level_names[level]);
    log_escape_text(&b, msg, len);
    (void)buf_addc(&b, '\n');
  }
  /* Write failures of stderr cannot be reported anywhere. */
  (void)fwrite(buf_str(&b), 1, b.len, log->out);
  (void)fflush(log->out);
  buf_free(&b);
  buf_free(&cut);
}

void log_msg(struct log *log, enum log_level level, const char *fmt, ...)
{
  char small[LOG_SMALL];
  char *msg = small;
  va_list ap;
  int n;

  if (!log_enabled(log, level))
    return;
  va_start(ap, fmt);
  n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0)
    return; /* an encoding error: there is nothing to write */
  if ((size_t)n >= sizeof(small)) {
    msg = malloc((size_t)n + 1);
    if (msg != NULL) {
      va_start(ap, fmt);
      (void)vsnprintf(msg, (size_t)n + 1, fmt, ap); /* n again */
      va_end(ap);
    } else { /* cut short beats lost */
      msg = small;
      n = (int)sizeof(small) - 1;
    }
  }
  log_write(log, level, msg, (size_t)n);
  if (msg != small)
    free(msg);
}
