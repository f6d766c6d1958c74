/* SPDX-License-Identifier: MIT */
#ifndef CFW_ATOMICFILE_H
#define CFW_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Replaces dir/name with data so that a crash at any moment leaves either
 * the old or the new file whole: it writes dir/name.tmp (mode 0600,
 * replacing any stale one left by a crash), fsyncs it, renames it over
 * dir/name and fsyncs dir.  On failure the old file is untouched and the
 * temp file removed; ENOSPC, EDQUOT and EROFS say so plainly.  Returns 0
 * or a negative errno.  dir must exist.  Two processes must not write the
 * same name at once (the caller holds the state directory). */
int atomicfile_write(const char *dir, const char *name, const void *data,
                     size_t len, struct cfw_err *err);
/* atomicfile_write for content made as it is written, so it need not be
 * in memory whole: fill is called once, on the temp file, and writes it
 * with atomicfile_put; a negative errno from fill fails the write as a
 * failed write does (the old file untouched, the temp file removed). */
struct atomicfile_out; /* opaque: the temp file being written */
int atomicfile_write_from(const char *dir, const char *name,
                          int (*fill)(void *arg, struct atomicfile_out *o),
                          void *arg, struct cfw_err *err);
/* Appends n bytes to the temp file: 0 or a negative errno. */
int atomicfile_put(struct atomicfile_out *o, const void *p, size_t n);

/* Creates path and its missing parents (like mkdir -p) with mode, which
 * the umask narrows; existing directories are left as they are.  0, or
 * a negative errno (-ENOTDIR when a component is a file). */
int atomicfile_mkdirs(const char *path, mode_t mode, struct cfw_err *err);

/* Appends the whole file at path to out (capped by out's max: -E2BIG).
 * 0 or a negative errno (-ENOENT for a missing file); nothing is
 * logged. */
int atomicfile_read(const char *path, struct buf *out);

/* Opens (creating it, mode 0600) dir/name and takes an exclusive flock on
 * it, waiting for it: for small read-modify-writes of a file that two
 * processes may share.  Returns the fd (close it to unlock) or a
 * negative errno. */
int atomicfile_lock(const char *dir, const char *name);

#endif
