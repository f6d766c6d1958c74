/* SPDX-License-Identifier: MIT */
#include "passrun.h"

#include <errno.h>
#include <stdlib.h>

#include "pathref.h"

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

static int passrun_reserve(struct passrun *r, size_t more)
{
  size_t cap = r->cap > 0 ? r->cap : 1024;
  char **v;

  if (more <= r->cap - r->n)
    return 0;
  while (cap - r->n < more) {
    if (cap > SIZE_MAX / 2 / sizeof(*v))
      return -ENOMEM;
    cap *= 2;
  }
  v = realloc(r->v, cap * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  r->v = v;
  r->cap = cap;
  return 0;
}

int passrun_add(struct passrun *r, const struct change *v, size_t n)
{
  size_t more = 0;
  size_t i;

  for (i = 0; i < n; i++)
    more += passrun_keeps(&v[i]);
  if (passrun_reserve(r, more) < 0)
    return -ENOMEM;
  for (i = 0; i < n; i++) {
    if (passrun_keeps(&v[i]))
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
