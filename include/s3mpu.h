/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3MPU_H
#define CFW_S3MPU_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "s3.h"

struct log;

/* One file uploaded as an S3 multipart upload, for files too large for
 * one PutObject to be retried whole (s3put.h sends files over
 * S3MPU_THRESHOLD this way):
 *
 *   CreateMultipartUpload (x-amz-checksum-algorithm SHA256, the stored
 *   headers), then for each part in turn: hash it in the thread pool (a
 *   1 MiB buffer, so memory stays bounded), feeding the same bytes to a
 *   SHA-256 of the whole file; UploadPart streamed from the file with
 *   the part's SHA-256 (S3 checks it: S3_CHANGED if the part changed
 *   since); then compare the whole file's SHA-256 with the caller's (a
 *   mismatch means the file changed after the caller hashed it:
 *   S3_CHANGED); then CompleteMultipartUpload with every part's ETag and
 *   checksum, and the conditions (If-None-Match, If-Match).
 *
 * Each request has the S3 client's retries.  Any failure, and a cancel,
 * aborts the upload (AbortMultipartUpload, retried for at most
 * S3MPU_ABORT_RETRY_MS) before the callback runs, so an upload ends
 * with nothing left behind, unless the abort itself failed (then a
 * warning names the upload: a bucket lifecycle rule with
 * AbortIncompleteMultipartUpload removes such leftovers). */

#define S3MPU_THRESHOLD      ((uint64_t)64 << 20) /* s3put's default */
#define S3MPU_PART_SIZE      ((uint64_t)16 << 20) /* default part size */
#define S3MPU_MIN_PART_SIZE  ((uint64_t)5 << 20)  /* S3's, but the last */
#define S3MPU_ABORT_RETRY_MS 10000

struct s3mpu; /* opaque; frees itself after its callback */

struct s3mpu_opts {
  struct s3_client *s3;        /* borrowed */
  uv_loop_t *loop;             /* borrowed */
  struct log *log;             /* borrowed; NULL is fine */
  const char *key;             /* copied */
  int fd;                      /* borrowed: open until the callback has run */
  uint64_t size;               /* bytes to send: [0, size) of fd */
  const unsigned char *sha256; /* copied: the 32 bytes of its digest */
  /* Stored headers and conditions; borrowed during s3mpu_start only.
   * NULL: none. */
  const struct s3_put_opts *po;
  /* 0: S3MPU_PART_SIZE.  Raised to S3MPU_MIN_PART_SIZE, and to what
   * keeps the count within 10,000 parts (whole MiB). */
  uint64_t part_size;
};

struct s3mpu_result {
  enum s3_outcome outcome;            /* S3_OK, or why it ended */
  struct cfw_err err;                 /* unless S3_OK */
  char etag[S3_ETAG_MAX + 1];         /* the object's ("...-N") */
  char checksum[S3_CHECKSUM_MAX + 1]; /* its composite "...-N" */
  unsigned parts;                     /* parts uploaded */
  unsigned requests;                  /* requests sent, retries included */
  bool aborted;  /* the upload was created and then aborted */
  bool leftover; /* the abort failed: the upload is still there */
};

/* Runs once, from the loop; r is valid during the call only, and the
 * upload is freed once it returns. */
typedef void (*s3mpu_cb)(struct s3mpu *m, struct s3mpu_result *r, void *arg);

/* Starts the upload.  Returns 0 (cb will run), or a negative errno with
 * err set and cb never run: -EINVAL (no key, fd < 0, size 0), -ENOMEM,
 * or s3_mpu_create's refusal. */
int s3mpu_start(struct s3mpu **out, const struct s3mpu_opts *o, s3mpu_cb cb,
                void *arg, struct cfw_err *err);

/* Stops the upload: a request in flight is cancelled (a part being
 * hashed is let finish), the upload aborted, and cb runs with
 * S3_CANCELLED.  NULL is fine; so is a call after the outcome is known
 * (the abort then still runs). */
void s3mpu_cancel(struct s3mpu *m);

/* The part size s3mpu uses for size bytes and a requested part size. */
uint64_t s3mpu_part_size(uint64_t size, uint64_t want);

#endif
