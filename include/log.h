/* SPDX-License-Identifier: MIT */
#ifndef CFW_LOG_H
#define CFW_LOG_H

#include <stdio.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* The only writer of diagnostics.  Text lines look like
 * "cfwatch: warn: message", control bytes written as \n, \t or \xNN and
 * other bytes as they are.  JSON lines are one object per line with
 * "ts", "level" and "msg", built with jansson; msg is mapped by
 * jsonout_bytes (jsonout.h), so the line is valid JSON for any bytes.
 * A message over 2 * PATH_MAX + 1024 bytes loses its middle, replaced
 * by "[...N bytes cut...]", so the reason at its end survives.
 * Messages must never hold a secret. */
struct log;

/* out is borrowed (stderr in the binary); returns NULL on ENOMEM. */
struct log *log_new(FILE *out, enum log_level level, enum log_format format);
void log_destroy(struct log *log); /* NULL is fine */

void log_set_level(struct log *log, enum log_level level);
void log_set_format(struct log *log, enum log_format format);
int log_enabled(const struct log *log, enum log_level level);

/* NULL log is fine (drops the message), so modules work without one. */
void log_msg(struct log *log, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
