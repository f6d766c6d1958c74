/* SPDX-License-Identifier: MIT */
#ifndef CFW_ONCE_H
#define CFW_ONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "err.h"
#include "hdrrule.h"
#include "http.h"
#include "log.h"
#include "strlist.h"

/* `cfwatch once` and `cfwatch plan`: one pass of each site's pipeline
 * (site.h), one site after the other, stopping at the first failure.
 * `once` sends and records; `plan` prints what `once` would send and
 * writes nothing. */
struct once_opts {
  uv_loop_t *loop;
  struct log *log;   /* borrowed */
  struct http *http; /* borrowed; NULL when nothing is sent */
  bool plan_only;    /* `plan` */
  bool all;          /* first run: every file instead of a baseline */
  bool baseline;     /* first run: a baseline is what the user wants */
  bool wait;         /* follow each invalidation until it completes */
  bool offline;      /* plan: a state in S3 read from its cache, unpulled */
  /* Before each site's pass (remote.h): count the account's month, so
   * the plan's cost and budget start from it, and check the
   * distribution's settings.  Both need http. */
  bool account;
  bool discover;
  const struct hdrrules *rules; /* the config's [headers] rules; NULL: none */
  const char *(*getenv)(const char *name); /* credentials; NULL: getenv */
  /* Prints a batch that is planned or, in a dry run, "sent". */
  void (*print)(const struct strlist *paths, void *arg);
  void *print_arg;
};

/* Runs when every site is done, or one failed: status 0, or a negative
 * errno with err (and its class) set.  err is borrowed for the call. */
typedef void (*once_cb)(int status, const struct cfw_err *err, void *arg);

/* Starts; cb runs once, from the loop, unless this fails.  sites must
 * outlive the run.  A pass that the mass-deletion guard held fails with
 * -EAGAIN, class CFW_CLASS_HELD. */
int once_start(const struct once_opts *o, const struct site_config *sites,
               size_t n, once_cb cb, void *arg, struct cfw_err *err);

#endif
