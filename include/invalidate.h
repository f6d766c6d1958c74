/* SPDX-License-Identifier: MIT */
#ifndef CFW_INVALIDATE_H
#define CFW_INVALIDATE_H

#include "config.h"
#include "err.h"
#include "once.h"
#include "strlist.h"

/* `cfwatch invalidate PATH...`: sends the given URL paths as they are
 * (a wildcard such as "/blog/" followed by a star), with the checks,
 * signing, retries and
 * idempotency of `once`, and counts them in the site's ledger.  The
 * manifest is not touched. */

/* Checks one path the way CloudFront will: it starts with '/', '*' only
 * as its last character, no literal '~', and every byte that must be
 * percent-encoded is ("%XX" escapes are accepted as they are).  The
 * message shows the encoded form when that is the problem. */
int invalidate_check_path(const char *path, struct cfw_err *err);

/* Sends paths (checked, sorted and deduplicated first) to the site's
 * distribution; o->wait follows the invalidation to completion.  Errors
 * as for once_site. */
int invalidate_run(const struct once_opts *o, const struct site_config *s,
                   struct strlist *paths, struct cfw_err *err);

#endif
