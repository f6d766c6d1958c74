/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include "guard.h"
#include "manifest.h"
#include "planner.h"
#include "site.h"
#include "state.h"
#include "statelock.h"
#include "util.h"

/* One status run: the site in plan mode, then the ledger and the lock on
 * the threadpool. */
struct status_run {
  const struct site_config *cfg; /* borrowed */
  struct log *log;               /* borrowed */
  uv_loop_t *loop;
  uv_work_t work;
  struct status_report r;
  int status;
  struct cfw_err err;
  status_cb cb;
  void *arg;
};

void status_report_free(struct status_report *r)
{
  if (r == NULL)
    return;
  ledger_free(&r->ledger);
}

static void status_from_pass(struct status_report *r,
                             const struct site_config *cfg, struct site *site,
                             const struct site_report *rep)
{
  const struct state *st = site_state(site);
  const struct planner_plan *pl = rep->plan;
  size_t i;

  r->root_missing = rep->root_missing;
  if (st == NULL)
    return;
  r->has_manifest = !state_fresh(st);
  r->manifest_files = manifest_count(state_manifest(st));
  r->manifest_written_ns = state_snapshot_ns(st);
  r->unacknowledged = state_intent_count(st);
  for (i = 0; pl != NULL && i < pl->n; i++)
    r->pending_files += pl->v[i].n_changes;
  if (pl != NULL) {
    r->pending_files += pl->n_left;
    r->pending_paths = pl->n_paths;
  }
  if (!cfg->allow_delete &&
      guard_mass_deletion(rep->n_deleted, r->manifest_files, cfg->max_delete,
                          cfg->max_delete_share))
    r->held = rep->n_deleted;
}

static void status_on_work(uv_work_t *w)
{
  struct status_run *run = container_of(w, struct status_run, work);
  struct status_report *r = &run->r;
  struct cfw_err err = {0};
  int64_t now = (int64_t)time(NULL);
  size_t i;

  r->daemon_running =
      statelock_holder(r->state_dir, r->daemon_pid, sizeof(r->daemon_pid));
  if (ledger_load(&r->ledger, r->state_dir, &err) < 0)
    log_msg(run->log, LOG_WARN, "%s", err.msg);
  for (i = 0; i < r->ledger.n; i++)
    if (strcmp(r->ledger.v[i].status, "Completed") != 0)
      r->in_flight++;
  r->month_paths = ledger_month_paths(&r->ledger, now);
  r->free_paths = run->cfg->monthly_free_paths;
  r->month_cost_usd = planner_cost_usd(0, r->month_paths, r->free_paths);
}

static void status_on_work_done(uv_work_t *w, int rc)
{
  struct status_run *run = container_of(w, struct status_run, work);

  if (rc < 0 && run->status == 0)
    run->status = cfw_err_set(&run->err, rc, "threadpool: %s", uv_strerror(rc));
  run->cb(run->status, &run->r, &run->err, run->arg);
  status_report_free(&run->r);
  free(run);
}

static void status_on_closed(void *arg)
{
  struct status_run *run = arg;
  int rc;

  rc = run->status < 0 ? run->status
                       : uv_queue_work(run->loop, &run->work, status_on_work,
                                       status_on_work_done);
  if (rc == 0)
    return;
  if (run->status == 0)
    run->status = cfw_err_set(&run->err, rc, "threadpool: %s", uv_strerror(rc));
  run->cb(run->status, &run->r, &run->err, run->arg);
  status_report_free(&run->r);
  free(run);
}

static void status_on_pass(struct site *site, const struct site_report *rep,
                           void *arg)
{
  struct status_run *run = arg;

  if (rep->status < 0 && !rep->root_missing) {
    run->status = rep->status;
    run->err = rep->err;
  } else {
    status_from_pass(&run->r, run->cfg, site, rep);
  }
  site_close(site, status_on_closed, run);
}

int status_start(const struct site_config *s, uv_loop_t *loop, struct log *log,
                 status_cb cb, void *arg, struct cfw_err *err)
{
  struct site_opts so = {0};
  struct status_run *run;
  struct site *site;
  int rc;

  run = calloc(1, sizeof(*run));
  if (run == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  run->cfg = s;
  run->log = log;
  run->loop = loop;
  run->cb = cb;
  run->arg = arg;
  run->r.root = s->root;
  run->r.state_dir = s->state_dir;
  run->r.distribution_id = s->distribution_id;
  ledger_init(&run->r.ledger);
  so.loop = loop;
  so.log = log;
  so.cfg = s;
  so.mode = SITE_PLAN;
  rc = site_start(&site, &so, status_on_pass, run, err);
  if (rc < 0)
    free(run);
  return rc;
}

static void status_time(int64_t ns, char *out, size_t n)
{
  time_t t = (time_t)(ns / 1000000000);
  struct tm tm;

  gmtime_r(&t, &tm);
  if (ns == 0 || strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
    (void)snprintf(out, n, "never");
}

int status_format_text(const struct status_report *r, struct buf *out)
{
  char when[40];
  int rc;

  status_time(r->manifest_written_ns, when, sizeof(when));
  rc = buf_addf(out,
                "root:         %s%s\n"
                "distribution: %s\n"
                "state dir:    %s\n"
                "daemon:       %s%s%s\n",
                r->root, r->root_missing ? " (missing)" : "",
                r->distribution_id ? r->distribution_id : "none (dry run)",
                r->state_dir, r->daemon_running ? "running, pid " : "",
                r->daemon_running ? r->daemon_pid : "not running", "");
  if (rc == 0 && !r->has_manifest)
    rc = buf_adds(out, "manifest:     none yet (the first run records a "
                       "baseline)\n");
  else if (rc == 0)
    rc = buf_addf(out,
                  "manifest:     %zu files, written %s\n"
                  "pending:      %zu files, %zu paths\n",
                  r->manifest_files, when, r->pending_files, r->pending_paths);
  if (rc == 0)
    rc = buf_addf(out,
                  "in flight:    %zu invalidation%s (as last seen)\n"
                  "this month:   %llu paths, estimated $%.2f (the first "
                  "%llu are free)\n",
                  r->in_flight, r->in_flight == 1 ? "" : "s",
                  (unsigned long long)r->month_paths, r->month_cost_usd,
                  (unsigned long long)r->free_paths);
  if (rc == 0 && r->unacknowledged > 0)
    rc = buf_addf(out,
                  "unacknowledged: %zu batch%s recorded but not acknowledged "
                  "(sent first by the next run)\n",
                  r->unacknowledged, r->unacknowledged == 1 ? "" : "es");
  if (rc == 0 && r->held > 0)
    rc = buf_addf(out,
                  "held:         %zu deletions, more than max_delete or "
                  "max_delete_share allow (once: --allow-delete)\n",
                  r->held);
  return rc;
}

/* JSON string: quotes, backslashes and control bytes escaped; other
 * bytes as they are (a path is bytes, not always UTF-8). */
static int status_json_str(struct buf *out, const char *s)
{
  int rc = buf_addc(out, '"');

  for (; rc == 0 && s != NULL && *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;

    if (c == '"' || c == '\\')
      rc = buf_addf(out, "\\%c", c);
    else if (c < 0x20)
      rc = buf_addf(out, "\\u%04x", c);
    else
      rc = buf_addc(out, (char)c);
  }
  return rc == 0 ? buf_addc(out, '"') : rc;
}

static int status_json_entries(const struct status_report *r, struct buf *out)
{
  const struct ledger_entry *e;
  size_t i;
  int rc = buf_adds(out, "[");

  for (i = 0; rc == 0 && i < r->ledger.n; i++) {
    e = &r->ledger.v[i];
    rc = buf_addf(out, "%s{\"id\":", i ? "," : "");
    if (rc == 0)
      rc = status_json_str(out, e->id);
    if (rc == 0)
      rc = buf_addf(out,
                    ",\"created\":%lld,\"paths\":%u,\"wildcards\":%u,"
                    "\"status\":",
                    (long long)e->created_s, e->n_paths, e->n_wildcards);
    if (rc == 0)
      rc = status_json_str(out, e->status);
    if (rc == 0)
      rc = buf_addc(out, '}');
  }
  return rc == 0 ? buf_adds(out, "]") : rc;
}

int status_format_json(const struct status_report *r, struct buf *out)
{
  int rc = buf_adds(out, "{\"root\":");

  if (rc == 0)
    rc = status_json_str(out, r->root);
  if (rc == 0)
    rc = buf_adds(out, ",\"state_dir\":");
  if (rc == 0)
    rc = status_json_str(out, r->state_dir);
  if (rc == 0)
    rc = buf_addf(out,
                  ",\"root_missing\":%s,\"daemon_running\":%s,"
                  "\"has_manifest\":%s,\"manifest_files\":%zu,"
                  "\"pending_files\":%zu,\"pending_paths\":%zu,"
                  "\"in_flight\":%zu,\"month_paths\":%llu,"
                  "\"month_free_paths\":%llu,\"month_cost_usd\":%.3f,"
                  "\"unacknowledged\":%zu,\"held_deletions\":%zu,"
                  "\"invalidations\":",
                  r->root_missing ? "true" : "false",
                  r->daemon_running ? "true" : "false",
                  r->has_manifest ? "true" : "false", r->manifest_files,
                  r->pending_files, r->pending_paths, r->in_flight,
                  (unsigned long long)r->month_paths,
                  (unsigned long long)r->free_paths, r->month_cost_usd,
                  r->unacknowledged, r->held);
  if (rc == 0)
    rc = status_json_entries(r, out);
  return rc == 0 ? buf_adds(out, "}\n") : rc;
}
