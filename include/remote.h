/* SPDX-License-Identifier: MIT */
#ifndef CFW_REMOTE_H
#define CFW_REMOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cfaccount.h"
#include "cfdiscover.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "log.h"

/* The read-only questions a command may ask CloudFront about a site
 * beyond its own invalidations, in one place for `status`, `plan` and
 * `once`: the account's paths this month (--account, cfaccount.h) and
 * the distribution's own settings (--discover: GetDistributionConfig,
 * compared by cfdiscover.h; its warnings are logged at LOG_WARN).
 * Nothing is ever changed at CloudFront.  A question that fails is
 * reported in the report, never as the command's failure: the command
 * goes on without its answer. */

struct remote_opts {
  uv_loop_t *loop;
  struct log *log;                         /* borrowed */
  struct http *http;                       /* borrowed */
  const char *(*getenv)(const char *name); /* credentials; NULL: getenv */
  bool account;
  bool discover;
  int64_t now_s; /* the wall clock: the month counted is its */
};

struct remote_report {
  bool account;                 /* asked */
  struct cfaccount_result acct; /* its answer, if asked */
  bool discover;                /* asked */
  int discover_status;          /* 0, or why there is no report */
  struct cfw_err discover_err;
  struct cfdiscover_report disc; /* owned */
};

void remote_report_init(struct remote_report *r);
void remote_report_free(struct remote_report *r); /* NULL is fine */

/* Moves src into dst (freed first); src is left empty. */
void remote_report_take(struct remote_report *dst, struct remote_report *src);

/* Runs once, from the loop; r is borrowed for the call (take it with
 * remote_report_take). */
typedef void (*remote_cb)(struct remote_report *r, void *arg);

/* Asks what o says about site s.  0, or a negative errno (the client
 * could not be made; cb never runs). */
int remote_start(const struct remote_opts *o, const struct site_config *s,
                 remote_cb cb, void *arg, struct cfw_err *err);

#endif
