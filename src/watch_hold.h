/* SPDX-License-Identifier: MIT */
#ifndef CFW_WATCH_HOLD_H
#define CFW_WATCH_HOLD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Coalesces IN_MODIFY and IN_ATTRIB of one file (a directory's watch and
 * a name in it).  IN_MODIFY fires for every write(2), so a file written
 * in 4 KiB steps would otherwise be reported thousands of times, and each
 * report costs the consumer a string.  A held name is reported once:
 *
 *  - by the caller, when another event of that name arrives (close-write,
 *    create, delete, move): that report covers what was held, and
 *    hold_take() forgets it;
 *  - else by the timer, WATCH_HOLD_MS after it was first held: a writer
 *    that keeps its file open, truncate(2) and chmod have no close-write,
 *    and are reported at most once per WATCH_HOLD_MS while they go on.
 *
 * So every modification is reported at most WATCH_HOLD_MS late, and a
 * plain open-write-close costs one report, not one per write. */

#define WATCH_HOLD_MS    250
#define WATCH_HOLD_SLOTS 16

struct watch_hold_key {
  int wd;
  char name[NAME_MAX + 1];
};

struct watch_hold {
  uv_timer_t timer;
  struct watch_hold_key keys[WATCH_HOLD_SLOTS]; /* oldest first */
  size_t n;
  /* Reports a held name; it may call back into this module. */
  void (*fire)(void *ctx, int wd, const char *name);
  /* After the timer fired what was held; may be NULL. */
  void (*flushed)(void *ctx);
  void *ctx;
};

/* Initialises h on loop (a timer handle: close it with hold_close).
 * flushed runs after each timer's fires: the caller may queue fires
 * and act on them all at once. */
void hold_init(struct watch_hold *h, uv_loop_t *loop,
               void (*fire)(void *ctx, int wd, const char *name),
               void (*flushed)(void *ctx), void *ctx);

/* Holds (wd, name), unless it is held already.  When every slot is taken,
 * the oldest is fired at once to make room.  A name too long for a file
 * name is fired at once. */
void hold_put(struct watch_hold *h, int wd, const char *name);

/* Forgets (wd, name), which the caller is reporting now.  Returns whether
 * it was held. */
bool hold_take(struct watch_hold *h, int wd, const char *name);

/* Forgets everything held, without firing (the caller reports a rescan). */
void hold_clear(struct watch_hold *h);

/* Fires everything held now. */
void hold_flush(struct watch_hold *h);

/* Closes the timer; cb as for uv_close.  Nothing fires after this. */
void hold_close(struct watch_hold *h, uv_close_cb cb);

#endif
