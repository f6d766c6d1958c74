/* SPDX-License-Identifier: MIT */
#ifndef CFW_CHANGE_H
#define CFW_CHANGE_H

#include "tree.h"

/* What happened to one file since the manifest last recorded it: what
 * diff.h finds, the state journals and manifest_apply records. */
enum change_kind {
  CHANGE_ADDED,
  CHANGE_MODIFIED,
  CHANGE_DELETED,
  /* Same bytes, new stat or flags: refresh the shortcut only; nothing to
   * invalidate. */
  CHANGE_TOUCHED
};

struct change {
  enum change_kind kind;
  /* Owned.  The file as now on disk, hashed; for DELETED the manifest's
   * old entry. */
  struct tree_entry entry;
};

#endif
