/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATUS_INT_H
#define CFW_STATUS_INT_H

#include <jansson.h>

#include "buf.h"
#include "state.h"
#include "status.h"

/* Internal to status.c and status_remote.c: the parts of the report
 * that --account and --discover add, and the month's line. */

/* "this month:" (the account's count with --account, else the site's
 * ledger, said to be the site's only) and, with --account, the site's
 * line and the count's requests.  0 or buf's error. */
int status_text_month(const struct status_report *r, struct buf *out);

/* The --discover lines: the origin found, the default root object, the
 * tag header and each warning.  Nothing without --discover. */
int status_text_discover(const struct status_report *r, struct buf *out);

/* obj["account"] and obj["discover"], when asked.  0 or -ENOMEM. */
int status_json_remote(json_t *obj, const struct status_report *r);

/* status_dist.c: a site of several distributions (none: no-ops). */
void status_dists_free(struct status_report *r);
/* r->dists from the open intents of st.  0 or -ENOMEM. */
int status_dists_fill(struct status_report *r, const struct site_config *cfg,
                      const struct state *st);
/* A line per distribution: what it has not accepted. */
int status_text_dists(const struct status_report *r, struct buf *out);
/* obj["distributions"]: [{"id", "unaccepted": [ref...]}].  0 or
 * -ENOMEM. */
int status_json_dists(json_t *obj, const struct status_report *r);

/* A cost in USD rounded to a tenth of a cent, as printed before jansson:
 * the cost is never negative, so the conversion rounds half up. */
json_t *status_json_usd(double usd);

#endif
