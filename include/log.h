/* SPDX-License-Identifier: MIT */
#ifndef CFW_LOG_H
#define CFW_LOG_H

#include <stdio.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* The only writer of diagnostics.  Text lines look like
 * "cfwatch: warn: message"; JSON lines are one object per line with
 * "ts", "level" and "msg".  Messages must never hold a secret. */
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
