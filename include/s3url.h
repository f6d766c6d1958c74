/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3URL_H
#define CFW_S3URL_H

#include <stddef.h>

#include "err.h"

/* "s3://BUCKET" or "s3://BUCKET/PREFIX", the one spelling of an S3
 * location cfwatch reads (origin, and the state's home).  The bucket
 * follows S3's naming rules for buckets an endpoint can address by path
 * (3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit,
 * no "..", not an IP address); the prefix is a key prefix without a
 * leading or trailing '/', "" for none. */

#define S3URL_BUCKET_MAX 63
#define S3URL_PREFIX_MAX 512

struct s3url {
  char bucket[S3URL_BUCKET_MAX + 1];
  char prefix[S3URL_PREFIX_MAX + 1];
};

/* 0, or -EINVAL with a message that says what is wrong with v. */
int s3url_parse(const char *v, struct s3url *out, struct cfw_err *err);

/* The object key of rel (a path relative to the root) under u's prefix,
 * into out (n bytes): 0, or -ENAMETOOLONG. */
int s3url_key(const struct s3url *u, const char *rel, char *out, size_t n);

#endif
