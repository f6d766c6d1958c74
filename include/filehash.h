/* SPDX-License-Identifier: MIT */
#ifndef CFW_FILEHASH_H
#define CFW_FILEHASH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Bytes read at a time; memory use per call is bounded by this. */
#define FILEHASH_CHUNK ((size_t)64 * 1024)

/* Computes the SHA-256 of the regular file path (relative to dirfd, or
 * AT_FDCWD) into out and its length into *size_out (may be NULL).  A
 * symlink is followed.  The file is opened non-blocking and checked with
 * fstat before any read, so a FIFO or device swapped in never blocks:
 * that gives -EINVAL ("not a regular file").  Only the length fstat gave
 * at open is read, so a file that keeps growing cannot hold the caller
 * for ever; if it grew, *size_out exceeds what was hashed, a size that
 * moved, and the caller must not trust the hash (as for any size it did
 * not expect).  Other errors are the open/read errno (-ENOENT when the
 * file vanished, -EACCES...), or -ENOMEM.  Thread-safe: it touches
 * nothing but its arguments. */
int filehash_file(int dirfd, const char *path, unsigned char out[32],
                  uint64_t *size_out, struct cfw_err *err);

/* The same for the MD5 of the file, which is what S3 reports as the
 * ETag of an object stored by one PutObject without SSE-KMS: how a first
 * run tells which objects of an origin already hold a file's bytes
 * (ground.h).  Never used to decide that content changed. */
int filehash_md5(int dirfd, const char *path, unsigned char out[16],
                 uint64_t *size_out, struct cfw_err *err);

#endif
