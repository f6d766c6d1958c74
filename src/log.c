/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

/* A log line is capped so one runaway message cannot eat memory. */
#define LOG_LINE_MAX 8192

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

static void log_timestamp(char *out, size_t n)
{
  struct timespec ts;
  struct tm tm;

  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  if (strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    out[0] = '\0';
}

static void log_write(struct log *log, enum log_level level, const char *msg)
{
  struct buf b;
  char ts[32];

  /* Write failures of stderr cannot be reported anywhere; the buf calls
   * below only fail at LOG_LINE_MAX, which truncates the line. */
  buf_init(&b, LOG_LINE_MAX);
  if (log->format == LOG_JSON) {
    log_timestamp(ts, sizeof(ts));
    (void)buf_addf(&b, "{\"ts\":\"%sZ\",\"level\":\"%s\",\"msg\":\"", ts,
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
  (void)fwrite(buf_str(&b), 1, b.len, log->out);
  (void)fflush(log->out);
  buf_free(&b);
}

void log_msg(struct log *log, enum log_level level, const char *fmt, ...)
{
  char msg[LOG_LINE_MAX / 2];
  va_list ap;

  if (!log_enabled(log, level))
    return;
  va_start(ap, fmt);
  /* A message longer than msg is cut short, which beats losing it. */
  (void)vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  log_write(log, level, msg);
}
