/* SPDX-License-Identifier: MIT */
/* A site's distributions: distribution_id may be given several times (in
 * one section, or as --distribution-id on the command line), and the
 * state names the set it serves (state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "confcheck.h"
#include "config_layer.h"

int config_dist_add(struct strlist *l, const char *id, struct cfw_err *err)
{
  int rc;

  rc = confcheck_dist_id(id, err);
  if (rc < 0)
    return rc;
  if (strlist_contains(l, id))
    return cfw_err_set(err, -EINVAL,
                       "%s is given twice: each distribution once", id);
  rc = strlist_push(l, id);
  return rc < 0 ? cfw_err_set(err, rc, "out of memory") : 0;
}

/* The set, sorted and joined with ',': one id is itself, so a state of
 * one distribution is named as before. */
static int config_dist_join(const struct strlist *ids, char **out)
{
  struct strlist sorted;
  struct buf b;
  size_t i;
  int rc = 0;

  strlist_init(&sorted);
  for (i = 0; i < ids->n && rc == 0; i++)
    rc = strlist_push(&sorted, ids->v[i]);
  strlist_sort_unique(&sorted);
  buf_init(&b, CONFIG_DIST_SET_MAX);
  for (i = 0; i < sorted.n && rc == 0; i++)
    rc = buf_addf(&b, "%s%s", i > 0 ? "," : "", sorted.v[i]);
  strlist_free(&sorted);
  if (rc == 0 && (*out = buf_take(&b)) == NULL)
    rc = -ENOMEM;
  buf_free(&b);
  return rc;
}

int config_dist_resolve(struct site_config *r, struct cfw_err *err)
{
  int rc;

  free(r->distribution_id);
  free(r->distribution_set);
  r->distribution_id = NULL;
  r->distribution_set = NULL;
  if (r->distributions.n == 0)
    return 0;
  r->distribution_id = strdup(r->distributions.v[0]);
  if (r->distribution_id == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = config_dist_join(&r->distributions, &r->distribution_set);
  if (rc == -E2BIG)
    return cfw_err_set(err, -EINVAL,
                       "distribution_id: %zu distributions are too many for "
                       "one site (their ids take more than %d characters "
                       "together)",
                       r->distributions.n, CONFIG_DIST_SET_MAX);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  return 0;
}
