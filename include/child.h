/* SPDX-License-Identifier: MIT */
#ifndef CFW_CHILD_H
#define CFW_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cfw_err;

/* Runs a user's command as "sh -c CMD" on a libuv loop under a timeout,
 * for credential_process and upload_cmd.  The child gets stdin from
 * /dev/null and its own session (no controlling terminal), so a timeout
 * or a cancel kills its whole process group: a shell's children die with
 * it and stop holding our pipes.  stdout is captured into a capped buffer
 * or goes to /dev/null, never to cfwatch's own stdout; the tail of stderr
 * is kept for error messages. */

#define CHILD_TAIL_MAX 2048 /* most bytes of stderr a child keeps */

struct child; /* opaque; frees itself after its callback */

struct child_opts {
  const char *cmd; /* borrowed; only during child_start */
  const char *cwd; /* borrowed; only during child_start; NULL: ours */
  /* borrowed; only during child_start; "NAME=value" strings ending with
   * NULL (libuv's type); NULL: our environment */
  char **env;
  uint64_t timeout_ms; /* > 0 */
  size_t out_max;      /* 0: stdout to /dev/null; else bytes captured */
  size_t tail_max;     /* bytes of stderr kept, <= CHILD_TAIL_MAX */
};

struct child_result {
  /* 0 when the child ran to its own end (see exit_status and
   * term_signal); otherwise we killed it: -ETIMEDOUT, -ECANCELED, -E2BIG
   * (stdout over out_max) or a pipe's or libuv's negative errno. */
  int status;
  int64_t exit_status;
  int term_signal; /* 0 if it exited */
  const char *out; /* borrowed; stdout (not NUL-terminated); wiped later */
  size_t out_len;
  /* borrowed; the last tail_max bytes of stderr, NUL-terminated, with
   * '\t' as ' ', any other control byte or non-ASCII byte as '?', and no
   * trailing newlines or spaces; lines stay split by '\n'.  "" if none. */
  const char *tail;
};

/* r and everything it points to are borrowed until the callback returns;
 * then c and its buffers are wiped and freed. */
typedef void (*child_cb)(struct child *c, const struct child_result *r,
                         void *arg);

/* Starts the command.  Returns 0 with *out set (borrowed, valid until cb
 * returns) and cb runs exactly once, after every handle is closed; or a
 * negative errno with err set ("cannot run sh: ..."), and cb never runs
 * (the handles already opened are closed and freed on a later loop
 * iteration). */
int child_start(struct child **out, uv_loop_t *loop, const struct child_opts *o,
                child_cb cb, void *arg, struct cfw_err *err);

/* Kills the process group; cb then runs with status -ECANCELED unless it
 * had already ended.  NULL is fine.  For shutdown. */
void child_cancel(struct child *c);

#endif
