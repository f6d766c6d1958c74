/* SPDX-License-Identifier: MIT */
#include "pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomicfile.h"
#include "ledger.h"
#include "planner_config.h"
#include "scan.h"

/* What the scan callback hands back to pending_load's uv_run. */
struct pending_wait {
  struct pending *p;
  struct cfw_err *err;
  int status;
  bool done;
};

void pending_init(struct pending *p)
{
  memset(p, 0, sizeof(*p));
  planner_plan_init(&p->plan);
}

void pending_free(struct pending *p)
{
  if (p == NULL)
    return;
  manifest_destroy(p->manifest);
  urlmap_destroy(p->urlmap);
  changes_free(p->changes, p->n_changes);
  planner_plan_free(&p->plan);
  pending_init(p);
}

int pending_urlmap_new(struct urlmap **out, const struct site_config *site,
                       struct cfw_err *err)
{
  struct urlmap_opts o;

  memset(&o, 0, sizeof(o));
  o.prefix = site->url_prefix != NULL ? site->url_prefix : "";
  o.index_name = site->index_name;
  o.dir_without_slash = site->dir_without_slash;
  o.pretty = site->pretty_urls;
  o.excludes = (const char *const *)site->excludes.v;
  o.n_excludes = site->excludes.n;
  o.no_default_excludes = site->no_default_excludes;
  return urlmap_new(out, &o, err);
}

static int pending_open_manifest(struct pending *p, const char *state_dir,
                                 struct cfw_err *err)
{
  int rc;

  rc = manifest_load(&p->manifest, state_dir, err);
  if (rc == -ENOENT) {
    p->first_run = true;
    return manifest_new(&p->manifest);
  }
  return rc;
}

static void pending_on_scan(struct scan *s, struct scan_result *r, void *arg)
{
  struct pending_wait *w = arg;
  struct pending *p = w->p;

  w->done = true;
  w->status = r->status;
  if (r->status < 0) {
    *w->err = r->err;
    return;
  }
  p->changes = r->changes;
  p->n_changes = r->n_changes;
  r->changes = NULL; /* taken */
  r->n_changes = 0;
  p->n_files = r->n_files;
  p->n_hashed = r->n_hashed;
  p->scan_ms = r->elapsed_ms;
  (void)s; /* pending_scan destroys it once uv_run returns */
}

static int pending_scan(struct pending *p, const struct pending_opts *o,
                        struct cfw_err *err)
{
  struct pending_wait w = {p, err, 0, false};
  struct scan_opts so = {0};
  struct scan *s;
  int rc;

  so.root = o->site->root;
  so.manifest = p->manifest;
  so.urlmap = p->urlmap;
  so.log = o->log;
  rc = scan_start(&s, o->loop, &so, pending_on_scan, &w, err);
  if (rc < 0)
    return rc;
  while (!w.done && uv_run(o->loop, UV_RUN_ONCE) != 0)
    ;
  scan_destroy(s);
  if (!w.done)
    return cfw_err_set(err, -EIO, "scan did not finish");
  return w.status;
}

int pending_load(struct pending *p, const struct pending_opts *o,
                 struct cfw_err *err)
{
  int rc;

  rc = pending_urlmap_new(&p->urlmap, o->site, err);
  if (rc < 0)
    return rc;
  rc = pending_open_manifest(p, o->site->state_dir, err);
  if (rc == 0)
    rc = manifest_set_root(p->manifest, o->site->root);
  if (rc < 0)
    return rc;
  rc = pending_scan(p, o, err);
  if (rc < 0)
    return cfw_err_prefix(err, "%s", o->site->root);
  p->baseline = p->first_run && !o->all;
  if (p->baseline)
    return 0;
  return pending_plan(&p->plan, p->manifest, p->changes, p->n_changes,
                      p->urlmap, o->site, o->inflight, o->log, err);
}

int pending_plan(struct planner_plan *out, const struct manifest *m,
                 const struct change *v, size_t n, const struct urlmap *um,
                 const struct site_config *s,
                 const struct planner_inflight *inflight, struct log *log,
                 struct cfw_err *err)
{
  struct planner_input in = {0};
  struct planner_opts po;
  struct cfw_err lerr = {0, ""};
  struct ledger l;

  /* The ledger only informs the budget: a damaged one counts nothing. */
  if (ledger_load(&l, s->state_dir, &lerr) < 0)
    log_msg(log, LOG_WARN, "%s", lerr.msg);
  in.month_paths = ledger_month_paths(&l, (int64_t)time(NULL));
  ledger_free(&l);
  in.manifest = m;
  in.changes = v;
  in.n_changes = n;
  in.urlmap = um;
  if (inflight != NULL)
    in.inflight = *inflight;
  config_planner_opts(s, &po);
  return planner_plan(out, &in, &po, err);
}

int pending_apply(struct manifest *m, const struct change *v,
                  const size_t *idx, size_t n, const char *state_dir,
                  struct cfw_err *err)
{
  struct change *sel;
  size_t i;
  int rc;

  if (n == 0)
    return 0;
  sel = calloc(n, sizeof(*sel));
  if (sel == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  for (i = 0; i < n; i++)
    sel[i] = v[idx[i]]; /* shallow: the paths stay v's */
  rc = manifest_apply(m, sel, n, err);
  free(sel);
  if (rc < 0 || state_dir == NULL)
    return rc;
  rc = atomicfile_mkdirs(state_dir, 0700, err);
  return rc < 0 ? rc : manifest_save(m, state_dir, err);
}

int pending_save_empty(struct pending *p, const char *state_dir,
                       struct cfw_err *err)
{
  int rc;

  rc = atomicfile_mkdirs(state_dir, 0700, err);
  if (rc < 0)
    return rc;
  return manifest_save(p->manifest, state_dir, err);
}

int pending_commit(struct pending *p, const char *state_dir,
                   struct cfw_err *err)
{
  int rc;

  rc = manifest_apply(p->manifest, p->changes, p->n_changes, err);
  if (rc < 0)
    return rc;
  return pending_save_empty(p, state_dir, err);
}
