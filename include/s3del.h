/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3DEL_H
#define CFW_S3DEL_H

#include <stddef.h>

#include "err.h"
#include "s3.h"

/* Deletes any number of keys from the bucket: S3_DELETE_MAX keys per
 * DeleteObjects call (Quiet mode), one call at a time, each with the S3
 * client's retries.  A key that is already absent counts as deleted, as
 * S3 says.  After a call fails (refused, given up, cancelled) no further
 * call is made: the keys it and the later calls held are not reported,
 * so the caller keeps them pending. */

struct s3del; /* opaque; frees itself after on_done */

struct s3del_result {
  enum s3_outcome outcome; /* S3_OK once every call succeeded */
  struct cfw_err err;      /* unless S3_OK */
  size_t calls;            /* DeleteObjects calls that succeeded */
  size_t deleted;          /* keys S3 deleted (or never had) */
  size_t kept;             /* keys S3 answered with a per-key error */
};

struct s3del_opts {
  struct s3_client *s3; /* borrowed */
  /* Borrowed until on_done has run; each 1 to S3_KEY_MAX bytes. */
  const char *const *keys;
  size_t n;
  /* Runs for each key of a call that succeeded, in order: e is NULL if
   * it was deleted, else S3's per-key error (AccessDenied...); valid
   * during the call only.  May be NULL. */
  void (*on_key)(size_t index, const struct s3_delete_error *e, void *arg);
  /* Runs once, from the loop, never from inside s3del_start. */
  void (*on_done)(struct s3del *d, const struct s3del_result *r, void *arg);
  void *arg;
};

/* Starts deleting.  Returns 0 (on_done will run), or a negative errno
 * with err set and no callback run: -EINVAL (no client, no on_done, no
 * key), -ENOMEM, or the first call's refusal to start. */
int s3del_start(struct s3del **out, const struct s3del_opts *o,
                struct cfw_err *err);

/* Cancels the call in flight (on_done then runs with S3_CANCELLED).
 * NULL is fine. */
void s3del_cancel(struct s3del *d);

#endif
