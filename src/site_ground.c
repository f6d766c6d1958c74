/* SPDX-License-Identifier: MIT */
/* A first run on an S3 origin (ground.h): the bucket, listed under the
 * origin's prefix, becomes the baseline, and the tree is diffed against
 * it, so what changed while no state existed is uploaded and
 * invalidated instead of forgotten. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site_int.h"

static bool ground_excluded(void *ctx, const char *rel, bool is_dir)
{
  return site_excluded(ctx, rel, is_dir);
}

static void site_list_next(struct site *s);

static void site_on_list(struct s3_result *r, void *arg)
{
  struct site *s = arg;
  struct cfw_err err = r->err;
  const struct s3_list_page *p = &r->list;
  int rc;

  s->list_op = NULL;
  s->list_pages++;
  if (r->outcome != S3_OK) {
    if (err.cls == CFW_CLASS_NONE)
      cfw_err_class(&err, r->outcome == S3_REFUSED ? CFW_CLASS_REFUSED
                                                   : CFW_CLASS_TRANSIENT);
    cfw_err_prefix(&err, "%s: listing %s", s->cfg->root, s->cfg->origin);
    site_fail(s, err.code < 0 ? err.code : -EIO, &err);
    return;
  }
  rc = ground_add_page(&s->ground, &s->origin, p, ground_excluded, s);
  free(s->list_token);
  s->list_token = NULL;
  if (rc == 0 && p->truncated &&
      (s->list_token = strdup(p->next_token)) == NULL)
    rc = -ENOMEM;
  if (rc < 0) {
    (void)cfw_err_set(&err, rc, "%s: listing %s: out of memory", s->cfg->root,
                      s->cfg->origin);
    site_fail(s, rc, &err);
    return;
  }
  if (s->list_token != NULL) {
    site_list_next(s);
    return;
  }
  site_advance(s);
}

/* The keys under "PREFIX/" only: "site" alone would list (and pay for)
 * "site2/" too. */
static void site_list_next(struct site *s)
{
  char prefix[S3URL_PREFIX_MAX + 2];
  struct cfw_err err = {0};
  int rc;

  (void)snprintf(prefix, sizeof(prefix), "%s/", s->origin.prefix);
  rc = s3_list(s->s3, s->origin.prefix[0] != '\0' ? prefix : NULL,
               s->list_token, site_on_list, s, &s->list_op, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
}

void site_ground(struct site *s)
{
  log_msg(s->o.log, LOG_INFO,
          "%s: no state in %s yet: comparing the tree with %s (the bucket "
          "is the ground truth)",
          s->cfg->root, site_state_home(s->cfg), s->cfg->origin);
  ground_free(&s->ground);
  s->list_pages = 0;
  site_list_next(s);
}

/* On the threadpool: the baseline the bucket gives, recorded; the
 * pass's first diff is done with. */
int site_job_ground(struct site *s, struct cfw_err *err)
{
  struct change *v = NULL;
  size_t n = 0;
  int rc;

  rc = ground_baseline(&s->ground, s->cfg->root, s->changes, s->n_changes, &v,
                       &n, &s->ground_stats, err);
  if (rc == 0)
    rc = site_relock(s, err);
  if (rc == 0)
    rc = state_baseline(s->state, v, n, err);
  changes_free(v, n);
  changes_free(s->changes, s->n_changes);
  s->changes = NULL;
  s->n_changes = 0;
  ground_free(&s->ground);
  return rc;
}

void site_grounded(struct site *s)
{
  const struct ground_stats *st = &s->ground_stats;

  log_msg(s->o.log, LOG_INFO,
          "%s: %zu ListObjectsV2 requests: %zu files already in the bucket "
          "with their bytes, %zu with other bytes, %zu not there, %zu "
          "objects without a file; the differences go out now",
          s->cfg->root, s->list_pages, st->same, st->differ, st->missing,
          st->extra);
  s->rep.grounded = true;
}

void site_ground_cancel(struct site *s)
{
  if (s->list_op != NULL)
    s3_cancel(s->list_op);
}

void site_ground_free(struct site *s)
{
  ground_free(&s->ground);
  free(s->list_token);
  s->list_token = NULL;
}
