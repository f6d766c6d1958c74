/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATE_INT_H
#define CFW_STATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "manifest.h"
#include "state.h"

/* Internal to state.c (loading, replay, the records' effects) and
 * state_write.c (appending records, snapshots). */

struct state {
  char *dir;            /* owned */
  char *root;           /* owned: the root the state names */
  char *distribution;   /* owned: "" if none yet */
  char *tag_header;     /* owned: what TREE_TAGGED refers to; "" if none */
  char *urlmap;         /* owned: the URL mapping recorded; "" if none */
  int snapshot_version; /* of the snapshot loaded; 0 for a fresh state */
  unsigned char id[STATE_ID_LEN];
  struct manifest *m;  /* owned */
  struct intent *open; /* owned, oldest first */
  size_t n_open;
  size_t cap_open;
  uint64_t next_seq;   /* the next record's */
  int64_t snapshot_ns; /* when the snapshot was written */
  uint64_t snapshot_bytes;
  uint64_t journal_bytes; /* valid length of the journal file */
  uint64_t compact_min;   /* STATE_COMPACT_MIN, or the test hook's */
  int jfd;                /* the journal, open for appending; or -1 */
  bool fresh;             /* no snapshot on disk yet */
  bool snapshot_due;      /* the next write writes a snapshot first */
  bool readonly;
  bool any_root; /* STATE_ANY_ROOT */
};

/* The records' effects, one home for replay and live writes. */
int state_add_intent(struct state *s, struct intent *in); /* takes *in */
size_t state_find_intent(const struct state *s, const char *ref);
/* Applies an ENTRIES record's changes (stat refreshes): as
 * manifest_apply, but a TOUCHED change keeps an entry that is
 * TREE_STALE, or holds other bytes, TREE_STALE.  0 or -ENOMEM. */
int state_apply_entries(struct state *s, const struct change *v, size_t n,
                        struct cfw_err *err);
void state_mark_uploaded(struct intent *in, uint32_t **stale, size_t *n_stale);
/* Notes that dist accepted the open intent ref (none: nothing to do).
 * 0 or -ENOMEM. */
int state_note_accepted(struct state *s, const char *ref, const char *dist);
int state_close_intent(struct state *s, size_t i, const uint32_t *stale,
                       size_t n_stale, struct cfw_err *err);

#endif
