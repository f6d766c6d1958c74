/* SPDX-License-Identifier: MIT */
#ifndef CFW_CACHETAG_H
#define CFW_CACHETAG_H

#include <stdbool.h>
#include <stddef.h>

#include "s3url.h"

/* The cache tag cfwatch gives each object it uploads to an S3 origin
 * (cache_tag_header), and the header that carries it.
 *
 * A file's tag is derived from its object key alone, never from its
 * content, so every machine and every run names the same object with
 * the same tag: CACHETAG_PREFIX, then the lower-case base32 (RFC 4648
 * alphabet, no padding) of the first CACHETAG_HASH_BYTES of the
 * SHA-256 of the key.  It is 20 characters of a-z, 2-7 and '-', which
 * CloudFront's tag rule allows (ASCII 33-126 without ',' or '*', at
 * most 256 characters, case-insensitive: cfpath.h), and 80 bits keep
 * two keys of a site from sharing a tag by chance (about 1 in 2^40 for
 * a million objects).
 *
 * S3 stores user metadata given as "x-amz-meta-NAME" on PutObject and
 * CreateMultipartUpload and returns it as the same header on GET and
 * HEAD (Amazon S3 User Guide, "Working with object metadata",
 * user-defined metadata); CloudFront's CacheTagConfig names the
 * response header it reads tags from, and for an S3 origin that is
 * x-amz-meta-<key> (Developer Guide, "Invalidating content by cache
 * tags": "a metadata key of cache-tag would be returned as a
 * x-amz-meta-cache-tag header"). */

#define CACHETAG_PREFIX     "cfw-"
#define CACHETAG_HASH_BYTES 10
#define CACHETAG_LEN        (sizeof(CACHETAG_PREFIX) - 1 + 16)
/* '#', the tag, NUL: an invalidation item. */
#define CACHETAG_ITEM_SIZE (1 + CACHETAG_LEN + 1)
#define CACHETAG_META      "x-amz-meta-"
/* The longest metadata name cache_tag_header may give. */
#define CACHETAG_NAME_MAX 128

/* The tag of the object key (NUL-terminated) into out.  Pure. */
void cachetag_of_key(const char *key, char out[CACHETAG_LEN + 1]);

/* The invalidation item ("#" and the tag) of the file rel (relative to
 * the root) on origin o, whose key s3url_key gives.  0, or
 * -ENAMETOOLONG if the key is too long to be an object's. */
int cachetag_item(const struct s3url *o, const char *rel,
                  char out[CACHETAG_ITEM_SIZE]);

/* True if h is "x-amz-meta-NAME" (any case), NAME being 1 to
 * CACHETAG_NAME_MAX of a-z, A-Z, 0-9, '-' and '_'. */
bool cachetag_header_ok(const char *h);

/* NAME of a header cachetag_header_ok accepts: borrowed from h. */
const char *cachetag_meta_name(const char *h);

#endif
