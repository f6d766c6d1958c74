/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATESNAP_H
#define CFW_STATESNAP_H

#include <stddef.h>

#include "err.h"
#include "statefmt.h"

/* Loads dir's snapshot (STATEFMT_SNAPSHOT_FILE), decoding it as it is
 * read: the load holds the decoded state and STATEFMT_READ_BUF bytes
 * of the file, never the file whole (issue 13).  file names it in the
 * decoder's messages; *len is its size.  Blocking: call it off the
 * loop.  0, statefile_read's errors (-ENOENT: none, a first run) or
 * statefmt_read_snapshot's, with their messages. */
int statesnap_load(const char *dir, const char *file, struct snapshot *out,
                   size_t *len, struct cfw_err *err);

#endif
