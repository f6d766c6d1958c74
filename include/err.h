/* SPDX-License-Identifier: MIT */
#ifndef CFW_ERR_H
#define CFW_ERR_H

/* An error travels up as a negative errno plus a message.  The code that
 * fails fills the message; each caller may prefix its own context, so the
 * line main.c finally prints reads "state dir /x: manifest: bad checksum".
 * No secret ever goes into a message. */
/* What kind of failure it is, for the exit status (exitcode.h): set
 * where the kind is known, kept by cfw_err_prefix and by copies, reset by
 * cfw_err_set.  An unclassified failure is a state or system problem. */
enum cfw_class {
  CFW_CLASS_NONE = 0,
  CFW_CLASS_USAGE,     /* bad option, config or input; nothing was done */
  CFW_CLASS_STATE,     /* root, state dir or state unusable */
  CFW_CLASS_REFUSED,   /* AWS refused: credentials, permissions, input */
  CFW_CLASS_LOCKED,    /* another cfwatch owns the state dir */
  CFW_CLASS_TRANSIENT, /* gave up on transient errors; work stays pending */
  CFW_CLASS_HELD,      /* held back for safety until the user says so */
  CFW_CLASS_BASELINE   /* no state: a baseline would hide changes */
};

struct cfw_err {
  int code;      /* negative errno, or 0 */
  char msg[512]; /* NUL-terminated, possibly truncated */
  enum cfw_class cls;
};

/* Sets err (which may be NULL) and returns code, so callers can write
 * "return cfw_err_set(err, -EINVAL, "bad %s", x);". */
int cfw_err_set(struct cfw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message (err may be NULL). */
void cfw_err_prefix(struct cfw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes as cfw_err_prefix and returns rc, the failure being passed up:
 * "return cfw_err_wrap(err, rc, "%s", path);".  It takes rc rather than
 * reading err->code because err may be NULL, or left unset by a callee
 * that failed without a message; either way the failure must not turn
 * into 0.  An unset err gets rc as its code. */
int cfw_err_wrap(struct cfw_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void cfw_err_clear(struct cfw_err *err);

/* Classifies err (which may be NULL). */
void cfw_err_class(struct cfw_err *err, enum cfw_class cls);

#endif
