/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFPATH_H
#define CFW_CFPATH_H

#include "err.h"

/* CloudFront's rule for an invalidation path, in one place: it starts
 * with '/', is at most CF_MAX_PATH_LEN bytes, has '*' only as its last
 * character, holds no literal '~' (refused, and "%7E" does not
 * invalidate), and every byte that must be percent-encoded is (urlmap.h
 * says which; "%XX" escapes are taken as they are, a '%' that starts
 * none is refused).  Returns 0 or -EINVAL with a message that shows the
 * encoded form when that is the problem. */
int cfpath_check(const char *path, struct cfw_err *err);

#endif
