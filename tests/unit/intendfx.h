/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_INTENDFX_H
#define CFW_TEST_INTENDFX_H

/* Records a batch the way the daemon does, with state_intend_take, from
 * a test's changes (whose paths may be borrowed): the batch is v[idx[i]]
 * (idx NULL: v[0..n)), i < n, out of v[0..n_v).  An owned copy of v is
 * handed over and what the intent did not take is freed, so the test's
 * v is left as it was. */

#include "state.h"
#include "test.h"

static int intend_copy(struct state *s, const char *dist,
                       const struct strlist *paths, const struct change *v,
                       size_t n_v, const size_t *idx, size_t n,
                       const struct intent **out, struct cfw_err *err)
{
  struct change *c = calloc(n_v + 1, sizeof(*c));
  size_t n_c = n_v;
  size_t i;
  int rc;

  REQUIRE(c != NULL);
  for (i = 0; i < n_v; i++) {
    c[i] = v[i];
    c[i].entry.path = strdup(v[i].entry.path);
    REQUIRE(c[i].entry.path != NULL);
  }
  rc = state_intend_take(s, dist, paths, &c, &n_c, idx, n, out, err);
  changes_free(c, n_c);
  return rc;
}

#endif
