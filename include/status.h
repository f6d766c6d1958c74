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
#include "ledger.h"
#include "log.h"

/* `cfwatch status`: what a site has pending, what it has in flight and
 * what this month cost, gathered without writing anything. */
struct status_report {
  const char *root;            /* borrowed from the site */
  const char *state_dir;       /* borrowed */
  const char *distribution_id; /* borrowed; NULL if none */
  bool has_manifest;
  size_t manifest_files;
  int64_t manifest_written_ns;
  size_t pending_files; /* changed, added or deleted */
  size_t pending_paths;
  bool root_missing;
  char daemon_pid[32]; /* "" unless a cfwatch holds the state dir */
  bool daemon_running;
  struct ledger ledger; /* owned */
  size_t in_flight;     /* ledger entries not seen Completed */
  uint64_t month_paths;
  double month_cost_usd;
};

void status_report_free(struct status_report *r);

/* Fills r for site s; loop runs the scan.  A missing root is reported
 * in r, not as an error; a corrupt manifest is an error. */
int status_gather(struct status_report *r, const struct site_config *s,
                  uv_loop_t *loop, struct log *log, struct cfw_err *err);

/* Appends r as aligned "key: value" lines, or as one JSON object. */
int status_format_text(const struct status_report *r, struct buf *out);
int status_format_json(const struct status_report *r, struct buf *out);

#endif
