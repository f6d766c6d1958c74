/* SPDX-License-Identifier: MIT */
/* `status` for a site of several distributions: per distribution, the
 * recorded batches it has not accepted yet (state.h: ACCEPTED records).
 * A site of one prints and emits what it always did. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "status_int.h"

void status_dists_free(struct status_report *r)
{
  size_t i;

  for (i = 0; i < r->n_dists; i++)
    strlist_free(&r->dists[i].unaccepted);
  free(r->dists);
  r->dists = NULL;
  r->n_dists = 0;
}

int status_dists_fill(struct status_report *r, const struct site_config *cfg,
                      const struct state *st)
{
  const struct intent *in;
  struct status_dist *d;
  size_t i;
  size_t k;
  int rc = 0;

  if (cfg->distributions.n < 2)
    return 0;
  r->dists = calloc(cfg->distributions.n, sizeof(*r->dists));
  if (r->dists == NULL)
    return -ENOMEM;
  r->n_dists = cfg->distributions.n;
  for (i = 0; i < r->n_dists; i++) {
    d = &r->dists[i];
    d->id = cfg->distributions.v[i];
    for (k = 0; rc == 0 && k < state_intent_count(st); k++) {
      in = state_intent_at(st, k);
      if (!intent_accepted_by(in, d->id))
        rc = strlist_push(&d->unaccepted, in->ref);
    }
  }
  return rc;
}

int status_text_dists(const struct status_report *r, struct buf *out)
{
  const struct status_dist *d;
  size_t i;
  int rc = 0;

  for (i = 0; rc == 0 && i < r->n_dists; i++) {
    d = &r->dists[i];
    if (d->unaccepted.n == 0)
      rc = buf_addf(out, "  %s: every recorded batch accepted\n", d->id);
    else
      rc = buf_addf(out,
                    "  %s: %zu batch%s recorded and not accepted by it "
                    "(sent there by the next run), first %s\n",
                    d->id, d->unaccepted.n, d->unaccepted.n == 1 ? "" : "es",
                    d->unaccepted.v[0]);
  }
  return rc;
}

/* {"id": ID, "unaccepted": [ref, ...]} */
static json_t *status_json_dist(const struct status_dist *d)
{
  json_t *o = jsonout_object();
  json_t *a = json_array();
  size_t i;
  int rc;

  rc = a != NULL ? 0 : -ENOMEM;
  for (i = 0; rc == 0 && i < d->unaccepted.n; i++)
    if (json_array_append_new(a, json_string(d->unaccepted.v[i])) < 0)
      rc = -ENOMEM;
  if (rc == 0)
    rc = jsonout_set(o, "id", json_string(d->id));
  if (rc == 0)
    rc = jsonout_set(o, "unaccepted", a);
  else
    json_decref(a);
  if (rc == 0)
    return o;
  json_decref(o);
  return NULL;
}

int status_json_dists(json_t *obj, const struct status_report *r)
{
  json_t *a;
  size_t i;

  if (r->n_dists == 0)
    return 0;
  a = json_array();
  for (i = 0; a != NULL && i < r->n_dists; i++) {
    if (json_array_append_new(a, status_json_dist(&r->dists[i])) < 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return jsonout_set(obj, "distributions", a);
}
