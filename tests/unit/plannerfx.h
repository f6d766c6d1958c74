/* SPDX-License-Identifier: MIT */
/* A site for one plan, for the planner's memory tests: a manifest, the
 * changes found against it, and the planner's input, options and plan.
 * Header-only: each test links it into its own binary. */
#ifndef CFW_TEST_PLANNERFX_H
#define CFW_TEST_PLANNERFX_H

#include "manifest.h"
#include "pathref.h"
#include "planner.h"
#include "test.h"
#include "urlmap.h"

struct plannerfx {
  struct manifest *m;
  struct change *v; /* owned, with each path; room for n of them */
  size_t n;
  struct urlmap *map;
  struct planner_input in;
  struct planner_opts o;
  struct planner_plan p;
};

/* Empty, with room for n changes and the default urlmap and options. */
static inline void plannerfx_init(struct plannerfx *f, size_t n)
{
  struct urlmap_opts uo = {0};
  struct cfw_err err = {0};

  memset(f, 0, sizeof(*f));
  REQUIRE(manifest_new(&f->m) == 0);
  REQUIRE(urlmap_new(&f->map, &uo, &err) == 0);
  f->v = calloc(n + 1, sizeof(*f->v));
  REQUIRE(f->v != NULL);
  f->in.manifest = f->m;
  f->in.changes = f->v;
  f->in.urlmap = f->map;
  planner_opts_init(&f->o);
  planner_plan_init(&f->p);
}

/* A change of path (hashed), in the manifest too unless ADDED; the
 * caller made room for it with plannerfx_init. */
static inline void plannerfx_change(struct plannerfx *f, enum change_kind kind,
                                    const char *path)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* manifest_put copies it */
  e.flags = TREE_HASHED;
  if (kind != CHANGE_ADDED)
    REQUIRE(manifest_put(f->m, &e) == 0);
  f->v[f->n].entry = e;
  change_set_kind(&f->v[f->n], kind);
  f->v[f->n].entry.path = pathref_dup(path);
  REQUIRE(f->v[f->n].entry.path != NULL);
  f->in.n_changes = ++f->n;
}

static inline void plannerfx_free(struct plannerfx *f)
{
  planner_plan_free(&f->p);
  changes_free(f->v, f->n);
  manifest_destroy(f->m);
  urlmap_destroy(f->map);
}

#endif
