/* SPDX-License-Identifier: MIT */
#ifndef CFW_DAEMON_INT_H
#define CFW_DAEMON_INT_H

/* Internal to daemon*.c: daemon.c runs the sites, daemon_waits.c says
 * what a stop or a reload waits for. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon.h"
#include "debounce.h"
#include "site.h"
#include "strlist.h"
#include "tree.h"
#include "watch.h"

/* One site of the daemon: its pipeline, kicked by its watch through the
 * debounce. */
struct dsite {
  struct daemon *d;              /* borrowed */
  const struct site_config *cfg; /* borrowed */
  struct site *site;             /* owned; closed by dsite_close */
  struct site *gone;             /* site, closing, until its done ran */
  struct watch *w;               /* owned; closed by dsite_close */
  struct debounce deb;
  /* The start-up walk: the watch's visitor, told when it is done. */
  struct tree_visit visit;
  const struct tree_visit *seed; /* borrowed from w until its done */
  uv_timer_t timer;              /* the next flush */
  uv_timer_t grace;              /* a held pass: quiet for delete_grace_ms */
  uv_timer_t look;               /* the watch's first look is slow */
  uint64_t start_ms;             /* uv_now() when the site started */
  bool looked;                   /* that look is back */
  bool look_slow;                /* it was said to be slow */
  bool told_missing;             /* STATUS= says the root is missing */
  struct strlist dirty;          /* paths events named since the last flush */
  size_t dirty_unique;           /* dirty.n after the last dedupe */
  bool dirty_all;
  bool holding;  /* a pass was held by the guard, and no whole pass since */
  bool reported; /* the first pass has reported */
  uint64_t retry_at_ms; /* after a failure: no flush before this */
  uint64_t local_ms;    /* the last local failure's delay; 0 after a pass */
  int closing;          /* handles and parts still to close */
};

struct daemon {
  struct daemon_opts o;
  struct dsite *sites; /* owned */
  size_t n;
  size_t open;       /* sites not yet fully closed */
  size_t unreported; /* sites whose first pass has not reported */
  bool stopping;
  void (*done)(void *arg);
  void *done_arg;
};

#endif
