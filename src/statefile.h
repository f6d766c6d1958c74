/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATEFILE_H
#define CFW_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The file operations behind state.c, each naming the failing step in
 * its message ("appending to DIR/journal: no space left ..."). */

/* Reads dir/name whole into a fresh buffer (*out, free() it; zeroed past
 * the end).  0, -ENOENT, -EBADMSG (not a regular file), -EFBIG (over
 * max) or another negative errno, with a message naming the file. */
int statefile_read(const char *dir, const char *name, uint64_t max,
                   unsigned char **out, size_t *len, struct cfw_err *err);

/* Opens dir/name to be read as it goes (a file too big to hold whole):
 * a read-only fd (close it) on a regular file of *size bytes, at most
 * max, or statefile_read's errors and messages. */
int statefile_open_read(const char *dir, const char *name, uint64_t max,
                        size_t *size, struct cfw_err *err);

/* The first n bytes of dir/name (fewer if it is shorter) into p, their
 * number in *got: for a header, without reading the rest.  0, or
 * statefile_read's errors and messages. */
int statefile_read_head(const char *dir, const char *name, uint64_t max,
                        unsigned char *p, size_t n, size_t *got,
                        struct cfw_err *err);

/* One read(2) of up to n bytes into p, retried on EINTR: 0 with their
 * number in *got (0 at the end), or a negative errno. */
int statefile_read_some(int fd, void *p, size_t n, size_t *got);

/* Opens dir/name for appending, creating it (0600) if absent; with
 * created set if it did not exist.  The fd, or a negative errno. */
int statefile_open_append(const char *dir, const char *name, int *created,
                          struct cfw_err *err);

/* Appends the n pieces of iov, one after the other, at offset at (the
 * file's valid length) and syncs them once (and the directory when
 * created is set, so a new file's name is durable too): a record need
 * not be copied to put a header in front of it.  On failure the file is
 * cut back to at, and the message says nothing was recorded. */
struct iovec;
int statefile_append(int fd, const char *dir, const char *name, uint64_t at,
                     const struct iovec *iov, size_t n, int created,
                     struct cfw_err *err);

/* statefile_append for a record written in pieces as they are made, so
 * it need not be in memory whole: begin, write each piece, end.  end
 * takes the first error (rc, or a write's) and either syncs, as
 * statefile_append does, or cuts the file back to at (a file this append
 * created goes) with the message saying nothing was recorded. */
struct statefile_stream {
  int fd;
  const char *dir;  /* borrowed */
  const char *name; /* borrowed */
  uint64_t at;      /* where the record begins */
  int created;
  uint64_t written; /* bytes since at */
};
void statefile_stream_begin(struct statefile_stream *st, int fd,
                            const char *dir, const char *name, uint64_t at,
                            int created);
/* 0 or a negative errno (then end it with that code). */
int statefile_stream_write(struct statefile_stream *st, const void *p,
                           size_t n);
int statefile_stream_end(struct statefile_stream *st, int rc,
                         struct cfw_err *err);

/* Cuts dir/name to len bytes and syncs it: a torn last record goes. */
int statefile_truncate(const char *dir, const char *name, uint64_t len,
                       struct cfw_err *err);

/* Renames dir/from over dir/to and syncs the directory: to is then
 * the old file or the new one, whole, whatever happens. */
int statefile_rename(const char *dir, const char *from, const char *to,
                     struct cfw_err *err);

/* Removes dir/name (absent is fine) and syncs the directory. */
int statefile_remove(const char *dir, const char *name, struct cfw_err *err);

#endif
