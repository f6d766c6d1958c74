/* SPDX-License-Identifier: MIT */
#ifndef CFW_CONFCHECK_H
#define CFW_CONFCHECK_H

#include <stddef.h>

#include "err.h"

/* Internal to config_key.c (and awsregion.c, which checks a region from
 * the environment or the AWS config as config_key.c checks its own): the
 * checks on one configuration value, and the normal forms of the values
 * that have one (endpoint, url_prefix, paths).  Nothing here knows the
 * key table or the layers.
 *
 * Each check returns 0, or -EINVAL with a message that reads well after
 * "<where>: <key>: " (the caller adds that prefix); it never keeps v. */

int confcheck_nonempty(const char *v, struct cfw_err *err);

/* A CloudFront distribution ID: A-Z and 0-9 only. */
int confcheck_dist_id(const char *v, struct cfw_err *err);

/* An AWS profile name: non-empty, no spaces or control characters. */
int confcheck_profile(const char *v, struct cfw_err *err);

/* A file name such as "index.html": no '/', not "." or "..". */
int confcheck_index_name(const char *v, struct cfw_err *err);

/* "" or a path starting with '/', without spaces, '*', '?' or '#'. */
int confcheck_url_prefix(const char *v, struct cfw_err *err);

/* An https:// URL, or http:// to a loopback host, with a valid host and
 * port and no credentials, query or fragment. */
int confcheck_endpoint(const char *v, struct cfw_err *err);

/* An S3 origin: s3://BUCKET[/PREFIX] (s3url.h). */
int confcheck_origin(const char *v, struct cfw_err *err);

/* x-amz-meta-NAME: the header an S3 origin returns a cache tag in. */
int confcheck_cache_tag_header(const char *v, struct cfw_err *err);
/* An AWS region name such as eu-west-1. */
int confcheck_region(const char *v, struct cfw_err *err);

/* A path as written in the config: non-empty, and no leading '~'. */
int confcheck_path(const char *v, struct cfw_err *err);

/* The NAME of a [site NAME] section; section (the whole header text) is
 * only for the message, which carries no key prefix. */
int confcheck_site_name(const char *name, const char *section,
                        struct cfw_err *err);

/* Finds v among the n names, ignoring case, and stores its index in
 * *out.  Otherwise -EINVAL, with a message that lists the names. */
int confcheck_enum(const char *v, const char *const *names, size_t n, int *out,
                   struct cfw_err *err);

/* Returns a copy of v without trailing slashes (free() it), or NULL on
 * ENOMEM. */
char *confcheck_dup_no_trailing_slash(const char *v);

/* Returns a copy of the absolute path in with ".", ".." and repeated '/'
 * resolved by text alone (free() it), or NULL on ENOMEM. */
char *confcheck_path_normalise(const char *in);

/* Sets *out to p made absolute against dir (the current directory if
 * NULL) and normalised; the caller frees it.  Returns 0, or a negative
 * errno (-ENAMETOOLONG, -ENOMEM, getcwd's error) with *out unset. */
int confcheck_path_absolute(const char *dir, const char *p, char **out,
                            struct cfw_err *err);

#endif
