/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFLIMITS_H
#define CFW_CFLIMITS_H

/* CloudFront's documented invalidation limits and prices (API 2020-05-31,
 * Developer Guide "Invalidation" and "Quotas").  Named once, here. */

/* File (non-wildcard) paths allowed in invalidations in progress, per
 * distribution. */
#define CF_MAX_FILE_PATHS_IN_PROGRESS 3000

/* Wildcard paths allowed in progress, per distribution; independent of
 * the file-path limit. */
#define CF_MAX_WILDCARDS_IN_PROGRESS 15

/* Longest invalidation path, in characters. */
#define CF_MAX_PATH_LEN 4000

/* Longest cache tag, in characters, without the '#' that makes an
 * invalidation item a tag (Developer Guide, "What you need to know when
 * invalidating tags": "The maximum length of a tag is 256 characters").
 * The limit is the tag's, as the origin sends it, so an item naming the
 * longest tag has 257 characters. */
#define CF_MAX_TAG_LEN 256

/* Paths a month that cost nothing, then the price of each further one. */
#define CF_FREE_PATHS_PER_MONTH 1000
#define CF_PRICE_PER_PATH_USD   0.005

#endif
