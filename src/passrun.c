/* SPDX-License-Identifier: MIT */
#include "passrun.h"

#include <errno.h>
#include <stdlib.h>

#include "pathref.h"
#include "util.h"

void passrun_init(struct passrun *r)
{
  r->v = NULL;
  r->n = 0;
  r->cap = 0;
}

static bool passrun_keeps(const struct change *c)
{
  return change_kind(c) == CHANGE_ADDED || change_kind(c) == CHANGE_MODIFIED;
}

int passrun_add(struct passrun *r, const struct change *v, size_t n)
{
  char **grown;
  size_t i;

  for (i = 0; i < n; i++) {
    if (!passrun_keeps(&v[i]))
      continue;
    grown = array_grow(r->v, r->n, &r->cap, sizeof(*r->v));
    if (grown == NULL)
      return -ENOMEM;
    r->v = grown;
    r->v[r->n++] = pathref_hold(v[i].entry.path);
  }
  return 0;
}

int passrun_mark(const struct passrun *r, const struct manifest *m,
                 const struct seenset *skip, struct seenset **out)
{
  size_t i;
  int rc;

  *out = NULL;
  if (r->n == 0)
    return 0;
  rc = seenset_new(out, m);
  if (rc < 0)
    return rc;
  for (i = 0; i < r->n; i++) {
    const struct tree_entry *e = manifest_find(m, r->v[i]);

    if (e != NULL && (skip == NULL || !seenset_has(skip, e)))
      seenset_mark(*out, e);
  }
  return 0;
}

void passrun_clear(struct passrun *r)
{
  size_t i;

  for (i = 0; i < r->n; i++)
    pathref_drop(r->v[i]);
  free(r->v);
  passrun_init(r);
}
