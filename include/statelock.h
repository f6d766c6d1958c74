#ifndef CFW_STATELOCK_H
#define CFW_STATELOCK_H

#include <stddef.h>

#include "err.h"

/* One cfwatch per state dir: an flock(2) on <state_dir>/lock, held for
 * the life of the process (the kernel drops it when the process dies,
 * even by SIGKILL, so there is no stale lock to clean up).  The file
 * holds the owner's pid, for the message only. */

/* Creates the state dir (0700) if needed and takes the lock.  Returns
 * the lock's fd (keep it open), -EWOULDBLOCK if another process holds
 * it (the message names its pid), or another negative errno. */
int statelock_acquire(const char *state_dir, struct cfw_err *err);

/* Tells whether a process holds the lock now, without taking it: 1 with
 * its pid in pid_out (possibly ""), 0 if free or never created. */
int statelock_holder(const char *state_dir, char *pid_out, size_t n);

/* Releases a lock taken by statelock_acquire; a negative fd is fine. */
void statelock_release(int fd);

#endif
