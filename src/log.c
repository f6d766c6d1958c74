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

/* A message keeps up to LOG_MSG_MAX bytes: two PATH_MAX paths (a rename
 * names two) and room for the reason.  A longer one loses its middle,
 * never its end, where the reason is (issue 11, item 14). */
#define LOG_REASON_ROOM 1024
#define LOG_MSG_MAX     (2 * PATH_MAX + LOG_REASON_ROOM)
/* Escaping grows a byte to at most 5 (\\xNN in JSON), so a line never
 * reaches its cap. */
#define LOG_LINE_MAX (5 * LOG_MSG_MAX + 256)
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

/* Length of the valid UTF-8 sequence at s, or 0.  Overlong forms and
 * surrogates are invalid, as JSON readers insist. */
static size_t log_utf8_len(const unsigned char *s)
{
  size_t n;
  size_t i;
  unsigned long cp;

  if (s[0] < 0xc2 || s[0] > 0xf4)
    return 0;
  n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
  cp = s[0] & (0x3f >> (n - 1));
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* Messages carry file names, which may hold any byte: a newline must not
 * forge a second log line, and a JSON line must stay valid JSON.  Control
 * bytes become \n, \t or \xHH; in JSON, bytes that are not UTF-8
 * become the text \xHH too. */
static void log_escape(struct buf *b, const char *msg, bool json)
{
  const unsigned char *s = (const unsigned char *)msg;
  size_t n;

  while (*s != '\0') {
    n = *s >= 0x80 ? log_utf8_len(s) : 1;
    if (*s == '\n')
      (void)buf_adds(b, "\\n");
    else if (*s == '\t')
      (void)buf_adds(b, "\\t");
    else if (json && (*s == '"' || *s == '\\'))
      (void)buf_addf(b, "\\%c", *s);
    else if (*s < 0x20 || *s == 0x7f || (json && n == 0))
      (void)buf_addf(b, json ? "\\\\x%02x" : "\\x%02x", *s);
    else
      (void)buf_add(b, s, n ? n : 1);
    s += n ? n : 1;
  }
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

static void log_write(struct log *log, enum log_level level, const char *msg,
                      size_t len)
{
  struct buf cut;
  struct buf b;
  char ts[40];

  buf_init(&cut, LOG_MSG_MAX + 64);
  if (len > LOG_MSG_MAX && log_elide(&cut, msg, len) == 0)
    msg = buf_str(&cut);
  buf_init(&b, LOG_LINE_MAX);
  if (log->format == LOG_JSON) {
    log_timestamp(ts, sizeof(ts));
    (void)buf_addf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
                   level_names[level]);
    log_escape(&b, msg, true);
    (void)buf_adds(&b, "\"}\n");
  } else {
    (void)buf_adds(&b, "cfwatch: ");
    if (level != LOG_INFO)
      (void)buf_addf(&b, "%s: ", level_names[level]);
    log_escape(&b, msg, false);
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
