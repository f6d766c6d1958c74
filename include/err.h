/* SPDX-License-Identifier: MIT */
#ifndef CFW_ERR_H
#define CFW_ERR_H

/* An error travels up as a negative errno plus a message.  The code that
 * fails fills the message; each caller may prefix its own context, so the
 * line main.c finally prints reads "state dir /x: manifest: bad checksum".
 * No secret ever goes into a message. */
struct cfw_err {
  int code;      /* negative errno, or 0 */
  char msg[512]; /* NUL-terminated, possibly truncated */
};

/* Sets err (which may be NULL) and returns code, so callers can write
 * "return cfw_err_set(err, -EINVAL, "bad %s", x);". */
int cfw_err_set(struct cfw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message; returns err->code. */
int cfw_err_prefix(struct cfw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void cfw_err_clear(struct cfw_err *err);

#endif
