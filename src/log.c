#include "log.h"

#include <stdarg.h>
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

/* JSON string escaping; bytes >= 0x80 pass through, so valid UTF-8 stays
 * readable and invalid bytes are at worst replaced by the reader. */
static void log_json_escape(struct buf *b, const char *s)
{
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;

    if (c == '"' || c == '\\')
      (void)buf_addf(b, "\\%c", c);
    else if (c == '\n')
      (void)buf_adds(b, "\\n");
    else if (c < 0x20 || c == 0x7f)
      (void)buf_addf(b, "\\u%04x", c);
    else
      (void)buf_addc(b, (char)c);
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
    log_json_escape(&b, msg);
    (void)buf_adds(&b, "\"}\n");
  } else if (level == LOG_INFO) {
    (void)buf_addf(&b, "cfwatch: %s\n", msg);
  } else {
    (void)buf_addf(&b, "cfwatch: %s: %s\n", level_names[level], msg);
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
