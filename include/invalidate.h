/* SPDX-License-Identifier: MIT */
#ifndef CFW_INVALIDATE_H
#define CFW_INVALIDATE_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "strlist.h"

/* `cfwatch invalidate PATH...`: sends the given URL paths as they are
 * (a wildcard such as "/blog/" followed by a star), with the checks of
 * cfpath.h and the signing and retries of `once`, and counts them in the
 * site's ledger.  The state is not touched: a reference unique to the
 * run makes retries within it replay, while the same paths sent again
 * later make a new invalidation, as asked. */
struct invalidate_opts {
  uv_loop_t *loop;
  struct log *log;   /* borrowed */
  struct http *http; /* borrowed; NULL in a dry run */
  bool wait;         /* follow the invalidation until it completes */
  const char *(*getenv)(const char *name); /* credentials; NULL: getenv */
  /* Prints the paths in a dry run. */
  void (*print)(const struct strlist *paths, void *arg);
  void *print_arg;
};

/* Runs once when done: status 0, or a negative errno with err (and its
 * class) set, borrowed for the call. */
typedef void (*invalidate_cb)(int status, const struct cfw_err *err, void *arg);

/* Checks paths (then sorts and dedupes them; they are taken over, left
 * empty) and sends them to site s's distributions, one after the other
 * with the same reference; the first that fails for good ends the run
 * (the message names it).  cb runs once, from the loop, unless this
 * fails (a bad path: -EINVAL, class usage). */
int invalidate_start(const struct invalidate_opts *o,
                     const struct site_config *s, struct strlist *paths,
                     invalidate_cb cb, void *arg, struct cfw_err *err);

#endif
