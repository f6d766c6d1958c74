/* SPDX-License-Identifier: MIT */
#include "s3del.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct s3del {
  struct s3del_opts o;
  size_t first; /* the first key of the call in flight */
  size_t count; /* its keys */
  struct s3_op *op;
  bool cancelled;
  struct s3del_result r;
};

static void s3del_end(struct s3del *d)
{
  d->o.on_done(d, &d->r, d->o.arg);
  free(d);
}

/* Finds key among the call's keys, from *from on (errors come in the
 * order of the request): its index, or SIZE_MAX. */
static size_t s3del_find(const struct s3del *d, const char *key, size_t *from)
{
  size_t i;

  for (i = *from; i < d->first + d->count; i++) {
    if (strcmp(d->o.keys[i], key) == 0) {
      *from = i + 1;
      return i;
    }
  }
  for (i = d->first; i < *from && i < d->first + d->count; i++)
    if (strcmp(d->o.keys[i], key) == 0)
      return i;
  return SIZE_MAX;
}

/* Reports every key of a call that succeeded: O(keys + errors * keys)
 * at worst, errors being rare.  err_of[i] is 1 + the index of key i's
 * error, or 0. */
static void s3del_report(struct s3del *d, const struct s3_delete_result *res)
{
  size_t *err_of = calloc(d->count, sizeof(size_t));
  size_t from = d->first;
  size_t i;
  size_t k;

  for (i = 0; err_of != NULL && i < res->n_errors; i++) {
    k = s3del_find(d, res->errors[i].key ? res->errors[i].key : "", &from);
    if (k != SIZE_MAX)
      err_of[k - d->first] = i + 1;
  }
  d->r.calls++;
  d->r.kept += res->n_errors;
  d->r.deleted += d->count - res->n_errors;
  for (i = 0; d->o.on_key != NULL && i < d->count; i++)
    d->o.on_key(d->first + i,
                err_of && err_of[i] ? &res->errors[err_of[i] - 1] : NULL,
                d->o.arg);
  free(err_of);
}

static int s3del_next(struct s3del *d, struct cfw_err *err);

static void s3del_on_result(struct s3_result *r, void *arg)
{
  struct s3del *d = arg;
  struct cfw_err err = {0};

  d->op = NULL;
  if (r->outcome == S3_OK)
    s3del_report(d, &r->deleted);
  if (r->outcome != S3_OK || d->cancelled) {
    d->r.outcome = r->outcome != S3_OK ? r->outcome : S3_CANCELLED;
    d->r.err = r->err;
    if (r->outcome == S3_OK)
      cfw_err_set(&d->r.err, -ECANCELED, "S3 delete: cancelled");
    s3del_end(d);
    return;
  }
  d->first += d->count;
  if (d->first == d->o.n) {
    s3del_end(d);
    return;
  }
  if (s3del_next(d, &err) < 0) {
    d->r.outcome = S3_FAILED;
    d->r.err = err;
    s3del_end(d);
  }
}

static int s3del_next(struct s3del *d, struct cfw_err *err)
{
  size_t left = d->o.n - d->first;

  d->count = left < S3_DELETE_MAX ? left : S3_DELETE_MAX;
  return s3_delete_objects(d->o.s3, d->o.keys + d->first, d->count,
                           s3del_on_result, d, &d->op, err);
}

int s3del_start(struct s3del **out, const struct s3del_opts *o,
                struct cfw_err *err)
{
  struct s3del *d;
  int rc;

  if (o->s3 == NULL || o->on_done == NULL || o->n == 0)
    return cfw_err_set(err, -EINVAL, "s3del: no client, on_done or key");
  d = calloc(1, sizeof(*d));
  if (d == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  d->o = *o;
  rc = s3del_next(d, err);
  if (rc < 0) {
    free(d);
    return rc;
  }
  *out = d;
  return 0;
}

void s3del_cancel(struct s3del *d)
{
  if (d == NULL || d->cancelled)
    return;
  d->cancelled = true;
  if (d->op != NULL)
    s3_cancel(d->op);
}
