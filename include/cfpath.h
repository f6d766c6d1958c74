/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFPATH_H
#define CFW_CFPATH_H

#include <stdbool.h>

#include "err.h"

/* CloudFront's rule for an invalidation item, in one place.  An item is
 * a path or, if it starts with '#', a cache tag.
 *
 * A path starts with '/', is at most CF_MAX_PATH_LEN bytes, has '*' only
 * as its last character, holds no literal '~' (refused, and "%7E" does
 * not invalidate), and every byte that must be percent-encoded is
 * (urlmap.h says which; "%XX" escapes are taken as they are, a '%' that
 * starts none is refused).
 *
 * A cache tag (Developer Guide, "Invalidating content by cache tags" and
 * "What you need to know when invalidating tags") is '#' and then 1 to
 * CF_MAX_TAG_LEN characters, each ASCII 33 to 126 but not ',' and not
 * '*': tags take no wildcard.  It invalidates every object whose origin
 * response listed the tag, on distributions with a CacheTagConfig.  Tags
 * are case-insensitive.  Each tag item costs one path and counts as one
 * path against the in-progress limits, like a file path (the same
 * pages, and "Pay for file invalidation").
 *
 * Returns 0 or -EINVAL with a message that shows the encoded form when
 * that is the problem. */
int cfpath_check(const char *item, struct cfw_err *err);

/* True if item names a cache tag (it starts with '#'); no check. */
bool cfpath_is_tag(const char *item);

/* True if a and b are cache tags naming the same tag: CloudFront
 * compares tags without regard to case. */
bool cfpath_same_tag(const char *a, const char *b);

#endif
