/* SPDX-License-Identifier: MIT */
#ifndef CFW_ONCE_H
#define CFW_ONCE_H

#include <stdbool.h>
#include <uv.h>

#include "batch.h"
#include "cloudfront.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "log.h"

/* `cfwatch once` and `cfwatch plan` for one site: diff the tree against
 * the manifest, send the batch (or print it), and record it in the
 * manifest only once CloudFront accepted it. */
struct once_opts {
  uv_loop_t *loop;   /* run here until the site is done */
  struct log *log;   /* borrowed */
  struct http *http; /* borrowed; NULL when nothing is sent */
  bool plan_only;    /* `plan`: print, never write state */
  bool all;          /* first run: every file instead of a baseline */
  bool wait;         /* follow the invalidation until it completes */
  const char *(*getenv)(const char *name); /* credentials; NULL: getenv */
  /* Prints a batch that is planned or, in a dry run, "sent". */
  void (*print)(const struct strlist *paths, void *arg);
  void *print_arg;
};

/* The CloudFront client for site s, with o's loop, http, log and
 * environment. */
int once_client_new(struct cf_client **out, const struct once_opts *o,
                    const struct site_config *s, struct cfw_err *err);

/* True if the site sends nothing: --dry-run or no distribution. */
bool once_is_dry(const struct site_config *s);

/* Returns 0, or a negative errno with err set: -ETIMEDOUT (gave up on
 * transient errors; the changes stay pending), -EREMOTEIO (refused by AWS),
 * -EINVAL (bad input), others for the root or state dir. */
int once_site(const struct once_opts *o, const struct site_config *s,
              struct cfw_err *err);

#endif
