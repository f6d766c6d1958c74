/* SPDX-License-Identifier: MIT */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cfw_err_set(struct cfw_err *err, int code, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return code;
  err->code = code;
  err->cls = CFW_CLASS_NONE;
  va_start(ap, fmt);
  /* Truncation is acceptable: a long message is still useful cut short. */
  (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  va_end(ap);
  return code;
}

__attribute__((format(printf, 2, 0))) static void
err_vprefix(struct cfw_err *err, const char *fmt, va_list ap)
{
  char head[256];
  char old[sizeof(err->msg)];
  size_t n;
  size_t rest;

  (void)vsnprintf(head, sizeof(head), fmt, ap);
  memcpy(old, err->msg, sizeof(old));
  /* Build by hand: snprintf of two buffers into one of the same size is
   * flagged as possible truncation, which is exactly what we accept. */
  n = strlen(head);
  if (n > sizeof(err->msg) - 3)
    n = sizeof(err->msg) - 3;
  memcpy(err->msg, head, n);
  memcpy(err->msg + n, ": ", 2);
  n += 2;
  rest = strnlen(old, sizeof(old));
  if (rest > sizeof(err->msg) - 1 - n)
    rest = sizeof(err->msg) - 1 - n;
  memcpy(err->msg + n, old, rest);
  err->msg[n + rest] = '\0';
}

void cfw_err_prefix(struct cfw_err *err, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return;
  va_start(ap, fmt);
  err_vprefix(err, fmt, ap);
  va_end(ap);
}

int cfw_err_wrap(struct cfw_err *err, int rc, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return rc;
  if (err->code == 0)
    err->code = rc;
  va_start(ap, fmt);
  err_vprefix(err, fmt, ap);
  va_end(ap);
  return rc;
}

void cfw_err_clear(struct cfw_err *err)
{
  if (err == NULL)
    return;
  err->code = 0;
  err->msg[0] = '\0';
  err->cls = CFW_CLASS_NONE;
}

void cfw_err_class(struct cfw_err *err, enum cfw_class cls)
{
  if (err != NULL)
    err->cls = cls;
}
