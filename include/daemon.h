/* SPDX-License-Identifier: MIT */
#ifndef CFW_DAEMON_H
#define CFW_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "batch.h"
#include "config.h"
#include "err.h"
#include "hdrrule.h"
#include "http.h"
#include "log.h"
#include "site.h"

/* `cfwatch ROOT`: follows live builds of one or more sites on one loop.
 * Per site: events mark paths dirty, the debounce decides when a burst
 * has settled, and the dirty paths go through the site's pipeline
 * (site.h: diffed by content, sent, recorded; never giving up on
 * transient errors).  At start the whole tree is diffed, so changes made
 * while cfwatch was stopped or killed are sent, and batches recorded but
 * not acknowledged are sent again.  A pass held by the mass-deletion
 * guard goes through once no event came for delete_grace_ms. */
struct daemon;

struct daemon_opts {
  uv_loop_t *loop;
  struct log *log;              /* borrowed */
  struct http *http;            /* borrowed; NULL if every site is dry */
  bool all;                     /* first run: invalidate every file */
  const struct hdrrules *rules; /* the config's [headers] rules; NULL: none */
  const char *(*getenv)(const char *name); /* credentials; NULL: getenv */
  /* Prints a dry-run batch. */
  void (*print)(const struct strlist *paths, void *arg);
  void *print_arg;
  /* Runs once per daemon_start, when every site has finished its first
   * diff, whatever its outcome (a failed scan is retried later and a
   * batch CloudFront does not take yet is retried for ever, so neither
   * may hold it up).  It may run before daemon_start returns.  NULL: none. */
  void (*on_ready)(void *arg);
  void *ready_arg;
  /* Runs if a site cannot open (its state dir is locked by another
   * cfwatch, its state is damaged or belongs to another site, its root
   * does not exist and never did): the caller should stop the daemon
   * and exit with err's class.  err is borrowed for the call. */
  void (*on_error)(const struct cfw_err *err, void *arg);
  void *error_arg;
  /* Runs when what the daemon waits for should be shown (systemd's
   * STATUS=): a root that does not answer at start (READY is withheld
   * until it does), or one missing after the first pass (the daemon is
   * ready: it follows the root's return); status is borrowed for the
   * call.  NULL status: the missing root is back, nothing is waited
   * for.  NULL: none. */
  void (*on_status)(const char *status, void *arg);
  void *status_arg;
};

/* Starts every site: its watch now; its pipeline opens (lock, state)
 * and diffs the whole tree on the threadpool, reporting failures to
 * on_error.  sites must outlive the daemon.  On error nothing is left
 * running. */
int daemon_start(struct daemon **out, const struct daemon_opts *o,
                 const struct site_config *sites, size_t n,
                 struct cfw_err *err);

/* Stops watching and retrying: a request in flight is finished (its
 * acknowledgement still recorded) unless http is closed meanwhile.
 * done runs once everything is closed; d is freed after it. */
void daemon_stop(struct daemon *d, void (*done)(void *arg), void *arg);

/* What a stop or a reload still waits for, until daemon_stop's done:
 * daemon_requests says whether a site has a request in flight (to
 * CloudFront or S3, or upload_cmd), which a stop gives a grace;
 * daemon_stuck calls each for every site whose step runs on the thread
 * pool (the walk, the hashing, the state's files: what a file system
 * that does not answer holds for ever), with how long, in ms, its pass
 * (or its start) has been running; it returns how many it named.
 * Valid on a running daemon too. */
typedef void (*daemon_stuck_fn)(void *arg, const char *root,
                                const struct site_wait_info *w, uint64_t ms);
bool daemon_requests(const struct daemon *d);
size_t daemon_stuck(const struct daemon *d, daemon_stuck_fn each, void *arg);

#endif
