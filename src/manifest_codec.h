/* SPDX-License-Identifier: MIT */
#ifndef CFW_MANIFEST_CODEC_H
#define CFW_MANIFEST_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tree.h"

/* Internal to manifest.c: the manifest file format (see manifest.h) to
 * and from bytes.  Neither function touches the file system. */

/* What one manifest file holds. */
struct manifest_codec_content {
  struct tree_entry *v; /* sorted by path, unique; each path too */
  size_t n;
  char *root;
  int64_t written_at_ns;
};

/* Encodes m, which it borrows, into a fresh buffer: *out (free() it) of
 * *len_out bytes, trailer included.  Returns 0, -EFBIG (over
 * MANIFEST_MAX_BYTES, or a root over MANIFEST_PATH_MAX) or -ENOMEM. */
int manifest_codec_encode(const struct manifest_codec_content *m,
                          unsigned char **out, size_t *len_out);

/* Decodes data[0..len), trusting no length in it: the magic, version and
 * length first, then the checksum, then the body with bounds checks.  On
 * success the caller owns what *out holds: root, v and each entry's
 * path.  Returns 0, -EBADMSG (damaged), -EPROTO (unknown version) or
 * -ENOMEM, with a message naming file; on failure *out is empty and
 * nothing is left allocated. */
int manifest_codec_decode(const unsigned char *data, size_t len,
                          const char *file, struct manifest_codec_content *out,
                          struct cfw_err *err);

#endif
