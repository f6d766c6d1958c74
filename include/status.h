/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATUS_H
#define CFW_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "ledger.h"
#include "log.h"
#include "remote.h"
#include "s3state.h"
#include "strlist.h"

/* `cfwatch status`: what a site has pending, what it has in flight and
 * what this month cost, gathered through the site's pipeline in plan
 * mode (site.h) without writing anything to the site's state.  With
 * --account it also counts the whole account's month (remote.h, which
 * keeps a cache of path counts in the state dir), and with --discover it
 * compares the distribution's settings with the site's. */
struct status_opts {
  uv_loop_t *loop;
  struct log *log;   /* borrowed */
  struct http *http; /* borrowed; only --account and --discover use it */
  const char *(*getenv)(const char *name); /* credentials; NULL: getenv */
  bool account;
  bool discover;
  bool offline; /* a state in S3: its cache as it is, not pulled */
};

/* One of a site's several distributions: the open batches it has not
 * accepted (their references, oldest first). */
struct status_dist {
  const char *id;            /* borrowed from the config */
  struct strlist unaccepted; /* owned */
};

struct status_report {
  const char *root;      /* borrowed from the site */
  const char *state_dir; /* borrowed */
  const char *state_url; /* borrowed; NULL unless the state is in S3 */
  /* A state in S3: pulled now (else the cache as of the last pull), its
   * version (the last record's sequence number, if known), and who
   * wrote the last object seen, and when ("" if unknown). */
  bool state_pulled;
  bool has_state_version;
  uint64_t state_version;
  char state_who[S3STATE_WHO_MAX + 1];
  char state_at[S3STATE_AT_MAX + 1];
  const char *distribution_id; /* borrowed; NULL if none */
  bool has_manifest;
  size_t manifest_files;
  int64_t manifest_written_ns;
  size_t pending_files; /* changed, added or deleted */
  size_t pending_paths;
  size_t unacknowledged; /* batches recorded, not yet acknowledged */
  size_t held;           /* deletions `once` would hold (guard.h) */
  /* With an S3 origin (NULL: none): files still to upload (changed, and
   * those of recorded batches the origin does not hold yet), and objects
   * still to delete. */
  const char *origin; /* borrowed */
  size_t pending_uploads;
  size_t pending_deletions;
  bool root_missing;
  char daemon_pid[32]; /* "" unless a cfwatch holds the state dir */
  bool daemon_running;
  struct ledger ledger; /* owned */
  size_t in_flight;     /* ledger entries not seen Completed */
  uint64_t month_paths; /* this state dir's ledger only */
  uint64_t free_paths;  /* the month's free paths the cost assumes */
  double month_cost_usd;
  /* --account and --discover: what was asked and answered (owned), and
   * the account's estimated cost by the planner's rule. */
  struct remote_report remote;
  double account_cost_usd;
  /* With several distributions, each (owned, n_dists); none with one. */
  struct status_dist *dists;
  size_t n_dists;
};

void status_report_free(struct status_report *r);

/* Runs when the report is ready: status 0 with r filled (borrowed for
 * the call), or a negative errno with err set.  A missing root is
 * reported in r, not as an error; a damaged state is an error. */
typedef void (*status_cb)(int status, const struct status_report *r,
                          const struct cfw_err *err, void *arg);

/* Gathers site s's status; cb runs once unless this fails. */
int status_start(const struct status_opts *o, const struct site_config *s,
                 status_cb cb, void *arg, struct cfw_err *err);

/* Appends r as aligned "key: value" lines, or as one JSON object. */
int status_format_text(const struct status_report *r, struct buf *out);
int status_format_json(const struct status_report *r, struct buf *out);

#endif
