/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3PUT_H
#define CFW_S3PUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "s3.h"

struct log;

/* Uploads a list of files to S3 with at most `parallel` of them in
 * flight at once, on the S3 client's loop (one libcurl multi handle).
 * Each file is opened and checked off the loop (uv_fs), sent with
 * s3_put_file, or as a multipart upload (s3mpu.h) above the threshold,
 * each request with the client's retries; so at most `parallel`
 * requests are in flight.  Files go in the order given and the caller
 * runs phases (assets before HTML) as separate lists.
 *
 * Each object's outcome is reported as soon as it is known, so the
 * caller can record it (S3 answered 200: the object holds exactly the
 * bytes hashed) before the rest are done:
 *   S3_OK        uploaded; etag and checksum say what S3 stored;
 *   S3_CHANGED   the file is not what was hashed (its size differs, it
 *                is gone, or S3 found the bytes differ): hash it again;
 *   S3_CANCELLED s3put_cancel, or not started after an earlier refusal;
 *   anything else: failed (err says why and what to check).
 * After the first S3_REFUSED or S3_GAVE_UP no new file is started: they
 * would fail the same way.  The uploads in flight finish. */

#define S3PUT_PARALLEL 4

struct s3put; /* opaque; frees itself after on_done */

struct s3put_object {
  const char *key;  /* the object key */
  const char *path; /* the file: absolute, or relative to the cwd */
  uint64_t size;    /* as hashed */
  unsigned char sha256[32];
  const struct s3_put_opts *po; /* stored headers, conditions; or NULL */
};

struct s3put_report {
  enum s3_outcome outcome;
  struct cfw_err err; /* unless S3_OK */
  char etag[S3_ETAG_MAX + 1];
  char checksum[S3_CHECKSUM_MAX + 1];
  bool multipart;
  unsigned requests; /* sent for this object, retries included */
};

struct s3put_summary {
  size_t uploaded; /* S3_OK */
  size_t changed;  /* S3_CHANGED */
  size_t failed;   /* any other outcome but S3_CANCELLED */
  size_t cancelled;
  uint64_t bytes;    /* of the files uploaded */
  size_t peak;       /* most files in flight at once */
  unsigned requests; /* in all */
  uint64_t elapsed_ms;
  /* S3_OK when every object was uploaded or found changed; else the
   * first refusal, give-up or failure (err holds its message), or
   * S3_CANCELLED. */
  enum s3_outcome outcome;
  struct cfw_err err;
};

struct s3put_opts {
  struct s3_client *s3;         /* borrowed */
  uv_loop_t *loop;              /* borrowed */
  struct log *log;              /* borrowed; NULL is fine */
  unsigned parallel;            /* 0: S3PUT_PARALLEL */
  uint64_t multipart_threshold; /* files larger go multipart; 0: 64 MiB */
  uint64_t part_size;           /* 0: s3mpu's default */
  /* Borrowed: objs[0..n) and all they point to, until on_done has run. */
  const struct s3put_object *objs;
  size_t n;
  /* Runs as each object's outcome is known (may be NULL); index is its
   * place in objs; rep is valid during the call only. */
  void (*on_object)(size_t index, const struct s3put_report *rep, void *arg);
  /* Runs once, from the loop, when every object is settled and every
   * file closed; s is valid during the call only. */
  void (*on_done)(struct s3put *p, const struct s3put_summary *s, void *arg);
  void *arg;
};

/* Starts the uploads.  Returns 0 (on_done will run, even for n == 0),
 * or -ENOMEM / -EINVAL (no client, loop or on_done) with err set and
 * no callback run. */
int s3put_start(struct s3put **out, const struct s3put_opts *o,
                struct cfw_err *err);

/* Stops: files not started are reported S3_CANCELLED, requests in
 * flight are aborted and multipart uploads aborted; on_done follows
 * once all is closed (never from inside this call).  NULL is fine; so
 * is a second call. */
void s3put_cancel(struct s3put *p);

#endif
