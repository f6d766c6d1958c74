/* SPDX-License-Identifier: MIT */
#ifndef CFW_UPLOAD_H
#define CFW_UPLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cfw_err;
struct log;

/* Runs upload_cmd for a batch before it is invalidated.  CloudFront
 * refetches an invalidated object from the origin on the next request;
 * if the origin (an S3 bucket, say) does not have the new bytes yet, the
 * edge caches the old ones again and the invalidation was wasted.  So
 * the batch's files are uploaded first, and invalidated only if the
 * command exits 0.
 *
 * The command runs as "sh -c CMD" in root, with stdin and stdout on
 * /dev/null (cfwatch's stdout carries its own output) and in its own
 * session, so a timeout or a cancel kills its whole process group.  Its
 * environment is cfwatch's plus CFWATCH_CHANGED_FILES, naming a file
 * that lists the batch's changed, added and deleted files relative to
 * root, one per line, and CFWATCH_ROOT, the root.  The list is
 * <state_dir>/upload-list (mode 0600), replaced atomically before each
 * run off the loop thread; a name holding a newline cannot be listed
 * and is left out with a warning. */

#define UPLOAD_TIMEOUT_MS   ((uint64_t)600 * 1000) /* 10 minutes */
#define UPLOAD_LIST_NAME    "upload-list"
#define UPLOAD_STDERR_TAIL  2048 /* bytes of stderr kept */
#define UPLOAD_STDERR_LINES 20   /* lines of it in a message */
#define UPLOAD_ENV_LIST     "CFWATCH_CHANGED_FILES"
#define UPLOAD_ENV_ROOT     "CFWATCH_ROOT"

struct upload; /* opaque; frees itself after its callback */

struct upload_opts {
  const char *cmd;       /* borrowed; copied by upload_start */
  const char *root;      /* borrowed; copied; the command's cwd */
  const char *state_dir; /* borrowed; copied; must exist */
  /* borrowed, only during upload_start: the files relative to root */
  const char *const *paths;
  size_t n;
  uint64_t timeout_ms; /* 0: UPLOAD_TIMEOUT_MS */
  struct log *log;     /* borrowed; NULL is fine */
};

/* status is 0 when the command exited 0, else a negative errno with err
 * set: -EIO for a non-zero exit ("upload_cmd exited 3: <its last lines
 * of stderr>") or a signal ("upload_cmd killed by signal 9: ..."),
 * -ETIMEDOUT ("upload_cmd timed out after 600 s: ..."), -ECANCELED after
 * upload_cancel, or the errno of writing the list or of starting sh
 * (-ENOENT when root is gone, -ENOSPC...).  Stderr lines in a message
 * are joined by " | ", the oldest cut first to fit.  u and err are
 * borrowed; u is freed once the callback returns. */
typedef void (*upload_cb)(struct upload *u, int status,
                          const struct cfw_err *err, void *arg);

/* Writes the list, then starts the command.  Returns 0 with *out set
 * (borrowed, valid until cb returns) and cb runs exactly once, from a
 * loop callback, never from upload_start; or a negative errno (-ENOMEM,
 * or -EINVAL for an empty cmd) with err set, and cb never runs.  When sh
 * could not start, a few of its handles may still be closing as cb
 * runs: let uv_run finish before uv_loop_close. */
int upload_start(struct upload **out, uv_loop_t *loop,
                 const struct upload_opts *o, upload_cb cb, void *arg,
                 struct cfw_err *err);

/* Stops the upload for shutdown: kills the command's process group, or
 * keeps it from starting if the list is still being written.  cb then
 * runs with -ECANCELED unless the command had already ended.  NULL is
 * fine; so is a second call. */
void upload_cancel(struct upload *u);

#endif
