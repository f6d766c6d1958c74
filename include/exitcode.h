/* SPDX-License-Identifier: MIT */
#ifndef CFW_EXITCODE_H
#define CFW_EXITCODE_H

/* Exit statuses, documented in the README.  Small numbers on purpose:
 * scripts test them, and 2 for a usage error is what users expect. */
enum cfw_exit {
  CFW_EXIT_OK = 0,
  CFW_EXIT_TRANSIENT = 1, /* gave up retrying; the changes stay pending */
  CFW_EXIT_USAGE = 2,     /* bad flag or config; nothing was done */
  CFW_EXIT_STATE = 3,     /* root, state dir or manifest unusable */
  CFW_EXIT_REFUSED = 4,   /* CloudFront or AWS refused: fix and rerun */
  CFW_EXIT_LOCKED = 5,    /* another cfwatch owns this state dir */
  CFW_EXIT_HELD = 6,      /* held back for safety: needs the user's word */
  CFW_EXIT_BASELINE = 7   /* no state and no origin: --baseline or --all */
};

#endif
