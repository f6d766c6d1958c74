/* SPDX-License-Identifier: MIT */
#ifndef CFW_CREDPROC_H
#define CFW_CREDPROC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cfw_err;
struct creds;

/* Runs a profile's credential_process on a libuv loop, as "sh -c CMD",
 * and parses what it prints.  The child gets stdin from /dev/null and
 * its own session (no controlling terminal), so on a timeout its whole
 * process group is killed; a command that prompts (for an MFA code, say)
 * cannot work here. */

#define CREDPROC_TIMEOUT_MS  60000
#define CREDPROC_MAX_OUTPUT  ((size_t)64 * 1024) /* bytes of stdout */
#define CREDPROC_STDERR_TAIL 200 /* bytes of stderr kept for errors */

struct credproc; /* opaque; frees itself after its callback */

struct credproc_opts {
  const char *cmd; /* borrowed; copied by credproc_start */
  /* borrowed; "credential_process of profile x": starts every error
   * message and becomes creds->source */
  const char *source;
  uint64_t timeout_ms; /* 0: CREDPROC_TIMEOUT_MS */
};

/* status is 0 with creds filled, or a negative errno with creds NULL and
 * err set (-ETIMEDOUT, -E2BIG, -ECANCELED, -EIO for a non-zero exit or a
 * signal, with the tail of stderr; -EINVAL for bad output).  creds is
 * borrowed from p: take it with creds_move(); whatever is left is wiped
 * once the callback returns, and so is p. */
typedef void (*credproc_cb)(struct credproc *p, int status, struct creds *creds,
                            const struct cfw_err *err, void *arg);

/* Starts the command.  Returns 0 with *out set (borrowed, valid until cb
 * returns) and cb runs exactly once, after every handle is closed; or a
 * negative errno with err set, and cb never runs (the handles already
 * opened are closed and freed on the next loop iteration). */
int credproc_start(struct credproc **out, uv_loop_t *loop,
                   const struct credproc_opts *o, credproc_cb cb, void *arg,
                   struct cfw_err *err);

/* Kills the command's process group; cb then runs with -ECANCELED unless
 * it had already finished.  For shutdown. */
void credproc_cancel(struct credproc *p);

/* Parses credential_process output: a JSON object with "Version": 1,
 * "AccessKeyId", "SecretAccessKey" and optionally "SessionToken" and
 * "Expiration" (ISO 8601: 2026-11-25T12:00:00Z, fractional seconds and
 * a +hh:mm offset allowed; null or absent means none).  Other members are
 * ignored.  jansson's json_loadb parses it (jsonmem.h: every block it
 * allocated is wiped when freed), strictly: one object and nothing after
 * it, valid UTF-8, no duplicate key (two readers could pick different
 * values), no \u0000, numbers that fit a double, at most
 * CREDPROC_MAX_OUTPUT bytes.  An error reads "json: offset N: reason" or
 * names the member at fault, and never quotes the input.  Returns 0 with
 * the keys and expiration of the empty *out set, -EINVAL, -E2BIG or
 * -ENOMEM.  json is not modified; the caller wipes it. */
int credproc_parse_output(const char *json, size_t len, struct creds *out,
                          struct cfw_err *err);

/* Parses an ISO 8601 date-time ("2026-11-25T12:00:00.5+00:00") into
 * seconds since the epoch; fractions are dropped.  0 or -EINVAL. */
int credproc_parse_time(const char *s, int64_t *out_s);

#endif
