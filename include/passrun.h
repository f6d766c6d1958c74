/* SPDX-License-Identifier: MIT */
#ifndef CFW_PASSRUN_H
#define CFW_PASSRUN_H

#include <stddef.h>

#include "change.h"
#include "manifest.h"
#include "seenset.h"

/* What a run of bounded passes (pass_files, scan.h's bound) knows of its
 * earlier passes: the files they sent.  Such a file was invalidated
 * moments ago, so a later pass's wildcard that reaches it again evicts
 * nothing the edges would have kept; the planner takes it as free to
 * evict (planner_input.fresh).  Without that, each pass sees the files
 * of the ones before as unchanged, and a rewrite of every file that one
 * pass sends as one wildcard cost hundreds of paths in four passes
 * (issue 13).
 *
 *   passrun_add(&r, v, n);           after each pass of the run plans
 *   passrun_mark(&r, m, skip, &set); for the next pass's planner
 *   passrun_clear(&r);               when the run ends
 *
 * It holds the changes' paths (pathref.h), 8 bytes a file, not copies,
 * and looks them up in the manifest of the pass that asks, since a
 * commit between two passes moves the manifest's entries. */
struct passrun {
  char **v; /* owned holds, in the order added */
  size_t n;
  size_t cap;
};

void passrun_init(struct passrun *r);

/* Holds the paths of v[0, n) that a batch invalidates and the manifest
 * keeps: ADDED and MODIFIED (a DELETED file leaves the manifest, a
 * TOUCHED one is not sent).  0 or -ENOMEM (then r holds some of them,
 * and the pass fails). */
int passrun_add(struct passrun *r, const struct change *v, size_t n);

/* In *out, a set of m's entries with a path r holds, but those in
 * skip (NULL: none; a file sent and rewritten again since, that this
 * pass left for later) and paths m lacks; NULL when r holds none.
 * O(r log m).  0 or -ENOMEM. */
int passrun_mark(const struct passrun *r, const struct manifest *m,
                 const struct seenset *skip, struct seenset **out);

/* Drops every hold: the run is over.  r is empty and reusable. */
void passrun_clear(struct passrun *r);

#endif
