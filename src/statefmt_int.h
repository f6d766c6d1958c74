/* SPDX-License-Identifier: MIT */
#ifndef CFW_STATEFMT_INT_H
#define CFW_STATEFMT_INT_H

/* Internal to statefmt.c (changes, intents, the journal) and
 * statefmt_snap.c (the snapshot's decoder): what both decode. */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "state.h"
#include "wire.h"

#define STATEFMT_HINT                                                          \
  " Nothing was sent. To start over, remove the state dir: the next run "      \
  "records a new baseline (then invalidate \"/*\" once if the cache may "      \
  "be stale)."

/* The smallest encoded entry: an empty path's length and the fields. */
#define STATEFMT_ENTRY_MIN_LEN (4 + 8 * 5 + 4 + WIRE_HASH_LEN)

/* Sets err to "file is corrupt (why)" and the hint: -EBADMSG. */
int statefmt_corrupt(struct cfw_err *err, const char *file, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));

/* Reads a count of items at least min_len bytes each, refusing counts
 * the input cannot hold before anything is allocated: 0 or -EBADMSG. */
int statefmt_get_count(struct wire_in *r, size_t min_len, size_t *n);

/* A list of indices into an intent's changes; *out is owned (also on
 * failure).  0, -EBADMSG or -ENOMEM. */
int statefmt_get_stale(struct wire_in *r, uint32_t **out, size_t *n_out);

/* An intent's body as an INTENT record holds it: 0, -EBADMSG or
 * -ENOMEM (then free *in). */
int statefmt_get_intent_body(struct wire_in *r, struct intent *in);

#endif
