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

/* A change is its entry: the kind lies in the entry's user field, not
 * in a field of its own, which would cost 8 bytes a change with the
 * padding (a rewrite of a million files holds a million changes).  So
 * set the kind after writing a whole entry (a copy or a decode writes
 * the field too). */
struct change {
  /* Owned.  The file as now on disk, hashed; for DELETED the manifest's
   * old entry. */
  struct tree_entry entry;
};

static inline enum change_kind change_kind(const struct change *c)
{
  return (enum change_kind)c->entry.user;
}

static inline void change_set_kind(struct change *c, enum change_kind kind)
{
  c->entry.user = (uint32_t)kind;
}

/* A change of kind to e (taken as it is, path and all). */
static inline struct change change_make(enum change_kind kind,
                                        struct tree_entry e)
{
  struct change c = {.entry = e};

  change_set_kind(&c, kind);
  return c;
}

#endif
