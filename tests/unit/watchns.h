/* SPDX-License-Identifier: MIT */
/* A watch test's run (watchrun.h) in a namespace of its own
 * (mountns.h): its mounts, or a low limit on inotify watches, touch
 * nothing of the host's.  Both before any thread is started. */
#ifndef CFW_TEST_WATCHNS_H
#define CFW_TEST_WATCHNS_H

#include <stdbool.h>

#include "mountns.h"
#include "test.h"
#include "watchrun.h"

/* run_init in a private mount namespace; false (the case is over) where
 * mounting is not permitted. */
static inline bool run_init_mounts(struct run *r)
{
  int rc;

  run_init(r);
  rc = test_private_mounts();
  if (rc == 0)
    return true;
  CHECK(test_mount_refused(rc));
  run_stop(r);
  return false;
}

/* run_init_mounts, then a watch on a one-file root, settled and past
 * the mount table's first look, so that the next mount change is the
 * case's own; false (the case is over) where mounting is not
 * permitted. */
static inline bool run_init_settled(struct run *r)
{
  if (!run_init_mounts(r))
    return false;
  test_write(r->root, "a.html", "a");
  run_watch(r);
  CHECK(run_until(r, run_settled, 5000));
  CHECK(!run_until(r, run_never, 50)); /* the mount table's first look */
  return true;
}

/* run_init in a user namespace where no more than max_watches inotify
 * watches can be added; false (the case is over) where that is not
 * permitted. */
static inline bool run_init_watches(struct run *r, unsigned max_watches)
{
  int rc;

  run_init(r);
  rc = test_private_watches(max_watches);
  if (rc == 0)
    return true;
  CHECK(test_userns_refused(rc));
  run_stop(r);
  return false;
}

#endif
