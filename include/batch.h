/* SPDX-License-Identifier: MIT */
#ifndef CFW_BATCH_H
#define CFW_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "diff.h"
#include "err.h"
#include "strlist.h"
#include "urlmap.h"

/* The URL paths one set of changes needs invalidated.  Paths are sorted
 * bytewise and unique: CloudFront rejects a batch that names a path twice,
 * and a stable order makes the batch's identity (its CallerReference)
 * independent of the order the changes were found in. */
struct batch {
  struct strlist paths; /* owned */
  size_t n_files;       /* changed, added or deleted files covered */
  size_t n_wildcards;   /* paths ending in '*' */
};

void batch_init(struct batch *b);
void batch_free(struct batch *b); /* NULL is fine */

/* Maps every added, modified or deleted file in v to its URL paths and
 * appends them to b.  Touched files (same bytes) add nothing. */
int batch_add_changes(struct batch *b, const struct change *v, size_t n,
                      const struct urlmap *m, struct cfw_err *err);

/* Derives a batch's CallerReference ("cfw-" and 40 hex digits, in out)
 * from the distribution, the state's random id, the sequence number of
 * the batch's intent (unique within the state: state.h) and every
 * change: kind, path and content hash.  So a reference is never used
 * for other content, and a recorded batch sent again after a lost
 * answer replays the invalidation CloudFront made instead of creating
 * a second one. */
#define BATCH_REF_LEN 45
int batch_caller_ref(const char *distribution_id, const unsigned char *state_id,
                     size_t id_len, uint64_t seq, const struct change *v,
                     size_t n, char out[BATCH_REF_LEN], struct cfw_err *err);

#endif
