/* SPDX-License-Identifier: MIT */
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

/* Checks that the lock held on *fd is still <state_dir>/lock.  A state
 * dir deleted (or replaced) under a running cfwatch takes the lock with
 * it, and a second cfwatch could then take a new one and write the same
 * manifest; call this before writing state.  If the lock file is gone or
 * another file, it recreates the state dir (0700), locks the new file
 * and swaps *fd.  Returns 0 if the lock was in place, 1 if it was taken
 * anew (worth a warning), -EWOULDBLOCK if another process got there
 * first (then *fd is unchanged and the caller must not write), or
 * another negative errno.  Cost: an fstat and an lstat. */
int statelock_renew(int *fd, const char *state_dir, struct cfw_err *err);

/* Two cfwatch with different state dirs on one root would each send
 * every change.  This takes a lock named by the root's real path, under
 * $XDG_RUNTIME_DIR/cfwatch (else /tmp/cfwatch-UID), holding our pid and
 * state dir; if another process holds it, it logs a warning naming that
 * one.  It never refuses: two state dirs may be meant (two
 * distributions).  Returns the fd to keep, or -1 (nothing to release). */
struct log;
int statelock_root(const char *root, const char *state_dir, struct log *log);

/* Releases a lock taken by statelock_acquire; a negative fd is fine. */
void statelock_release(int fd);

#endif
