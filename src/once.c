/* SPDX-License-Identifier: MIT */
#include "once.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remote.h"
#include "site.h"

struct once {
  struct once_opts o;
  const struct site_config *sites; /* borrowed */
  size_t n;
  size_t i; /* the site running */
  struct site *site;
  int status;
  struct cfw_err err;
  once_cb cb;
  void *arg;
};

static int once_next(struct once *run);

static void once_done(struct once *run)
{
  run->cb(run->status, &run->err, run->arg);
  free(run);
}

static void once_on_closed(void *arg)
{
  struct once *run = arg;

  run->site = NULL;
  if (run->status == 0 && ++run->i < run->n && once_next(run) == 0)
    return;
  once_done(run);
}

/* What a pass's outcome means for `once`'s exit. */
static void once_judge(struct once *run, const struct site_report *r)
{
  const struct site_config *s = &run->sites[run->i];

  if (r->status < 0) {
    run->status = r->status;
    run->err = r->err;
    if (!r->opened && r->err.cls == CFW_CLASS_NONE)
      cfw_err_class(&run->err, CFW_CLASS_STATE);
    return;
  }
  if (r->held > 0) {
    run->status = cfw_err_set(&run->err, -EAGAIN,
                              "%s: %zu deletions held back (of %zu changes): "
                              "nothing was uploaded or invalidated. If the "
                              "site really lost them, run again with "
                              "--allow-delete",
                              s->root, r->n_deleted, r->n_changes);
    cfw_err_class(&run->err, CFW_CLASS_HELD);
  } else if (r->kept > 0) {
    run->status = cfw_err_set(&run->err, -EAGAIN,
                              "%s: %zu objects without a file were kept in "
                              "the bucket (the rest went out); run again "
                              "with --allow-delete to delete them",
                              s->root, r->kept);
    cfw_err_class(&run->err, CFW_CLASS_HELD);
  }
}

static void once_on_pass(struct site *site, const struct site_report *r,
                         void *arg)
{
  struct once *run = arg;

  log_msg(run->o.log, LOG_DEBUG,
          "%s: %zu files, %zu hashed, %llu ms (%zu ruled out by their stat "
          "as walked, %zu left for the next pass)",
          run->sites[run->i].root, r->n_files, r->n_hashed,
          (unsigned long long)r->scan_ms, r->n_same, r->deferred);
  once_judge(run, r);
  if (run->status == 0 && r->again)
    return; /* the site passes again by itself for what this one left */
  site_close(site, once_on_closed, run);
}

/* Starts the site's pass; with the account's count, if it was read. */
static int once_pass(struct once *run, const struct cfaccount_result *acct)
{
  const struct site_config *s = &run->sites[run->i];
  struct site_opts so = {0};

  if (!run->o.plan_only && site_is_dry(s))
    log_msg(run->o.log, LOG_INFO, "%s: %s: dry run", s->root,
            s->dry_run ? "--dry-run" : "no distribution configured");
  so.loop = run->o.loop;
  so.log = run->o.log;
  so.http = run->o.http;
  so.cfg = s;
  so.mode = run->o.plan_only ? SITE_PLAN : SITE_ONCE;
  so.all = run->o.all;
  so.baseline = run->o.baseline;
  so.wait = run->o.wait;
  so.offline = run->o.offline;
  so.rules = run->o.rules;
  so.getenv = run->o.getenv;
  so.print = run->o.print;
  so.print_arg = run->o.print_arg;
  so.has_account_paths = acct != NULL && acct->status == 0;
  so.account_paths = so.has_account_paths ? acct->month_paths : 0;
  run->status = site_start(&run->site, &so, once_on_pass, run, &run->err);
  return run->status;
}

static void once_on_remote(struct remote_report *r, void *arg)
{
  struct once *run = arg;
  const struct cfaccount_result *a = &r->acct;

  if (r->account && a->status == 0)
    log_msg(run->o.log, LOG_INFO,
            "--account: %s%llu paths this month over %zu distributions; the "
            "plan's cost counts from there",
            a->complete ? "" : "at least ", (unsigned long long)a->month_paths,
            a->distributions);
  if (once_pass(run, r->account ? a : NULL) < 0)
    once_done(run);
}

static int once_next(struct once *run)
{
  const struct site_config *s = &run->sites[run->i];
  struct remote_opts ro = {0};

  if ((!run->o.account && !run->o.discover) || run->o.http == NULL)
    return once_pass(run, NULL);
  ro.loop = run->o.loop;
  ro.log = run->o.log;
  ro.http = run->o.http;
  ro.getenv = run->o.getenv;
  ro.account = run->o.account;
  ro.discover = run->o.discover;
  ro.now_s = (int64_t)time(NULL);
  run->status = remote_start(&ro, s, once_on_remote, run, &run->err);
  return run->status;
}

int once_start(const struct once_opts *o, const struct site_config *sites,
               size_t n, once_cb cb, void *arg, struct cfw_err *err)
{
  struct once *run;
  int rc;

  if (n == 0)
    return cfw_err_set(err, -EINVAL, "no site to run");
  run = calloc(1, sizeof(*run));
  if (run == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  run->o = *o;
  run->sites = sites;
  run->n = n;
  run->cb = cb;
  run->arg = arg;
  rc = once_next(run);
  if (rc < 0) {
    *err = run->err;
    free(run);
  }
  return rc;
}
