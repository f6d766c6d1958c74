/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "jsonout.h"
#include "manifest.h"
#include "pending.h"
#include "statelock.h"

void status_report_free(struct status_report *r)
{
  if (r == NULL)
    return;
  ledger_free(&r->ledger);
}

static void status_from_pending(struct status_report *r,
                                const struct pending *p)
{
  size_t i;

  r->has_manifest = !p->first_run;
  r->manifest_files = manifest_count(p->manifest);
  r->manifest_written_ns = manifest_written_at_ns(p->manifest);
  for (i = 0; i < p->plan.n; i++)
    r->pending_files += p->plan.v[i].n_changes;
  r->pending_files += p->plan.n_left;
  r->pending_paths = p->plan.n_paths;
}

static void status_from_ledger(struct status_report *r, struct log *log)
{
  struct cfw_err err = {0, ""};
  int64_t now = (int64_t)time(NULL);
  size_t i;

  if (ledger_load(&r->ledger, r->state_dir, &err) < 0)
    log_msg(log, LOG_WARN, "%s", err.msg);
  for (i = 0; i < r->ledger.n; i++)
    if (strcmp(r->ledger.v[i].status, "Completed") != 0)
      r->in_flight++;
  r->month_paths = ledger_month_paths(&r->ledger, now);
  r->month_cost_usd = ledger_cost_usd(r->month_paths);
}

int status_gather(struct status_report *r, const struct site_config *s,
                  uv_loop_t *loop, struct log *log, struct cfw_err *err)
{
  struct pending_opts po = {s, false, log, loop, NULL};
  struct pending p;
  int rc;

  memset(r, 0, sizeof(*r));
  r->root = s->root;
  r->state_dir = s->state_dir;
  r->distribution_id = s->distribution_id;
  r->daemon_running =
      statelock_holder(s->state_dir, r->daemon_pid, sizeof(r->daemon_pid));
  pending_init(&p);
  rc = pending_load(&p, &po, err);
  if (rc == -ENOENT) {
    r->root_missing = true;
    rc = 0;
  } else if (rc == 0) {
    status_from_pending(r, &p);
  }
  pending_free(&p);
  if (rc == 0)
    status_from_ledger(r, log);
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
                  "1,000 are free)\n",
                  r->in_flight, r->in_flight == 1 ? "" : "s",
                  (unsigned long long)r->month_paths, r->month_cost_usd);
  return rc;
}

/* A path or ledger field as a JSON string: bytes that are not UTF-8
 * are mapped by jsonout_bytes (see jsonout.h), so any root is valid
 * JSON. */
static json_t *status_json_str(const char *s)
{
  return s != NULL ? jsonout_bytes(s, strlen(s)) : json_null();
}

static json_t *status_json_entry(const struct ledger_entry *e)
{
  json_t *o = jsonout_object();
  int rc;

  rc = jsonout_set(o, "id", status_json_str(e->id));
  if (rc == 0)
    rc = jsonout_set(o, "created", json_integer(e->created_s));
  if (rc == 0)
    rc = jsonout_set(o, "paths", json_integer(e->n_paths));
  if (rc == 0)
    rc = jsonout_set(o, "wildcards", json_integer(e->n_wildcards));
  if (rc == 0)
    rc = jsonout_set(o, "status", status_json_str(e->status));
  if (rc == 0)
    return o;
  json_decref(o);
  return NULL;
}

static json_t *status_json_entries(const struct status_report *r)
{
  json_t *a = json_array();
  size_t i;

  for (i = 0; a != NULL && i < r->ledger.n; i++) {
    if (json_array_append_new(a, status_json_entry(&r->ledger.v[i])) < 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

/* The counters, in the order `status --json` has always printed them. */
static int status_json_counts(json_t *o, const struct status_report *r)
{
  int rc;

  rc = jsonout_set(o, "root_missing", json_boolean(r->root_missing));
  if (rc == 0)
    rc = jsonout_set(o, "daemon_running", json_boolean(r->daemon_running));
  if (rc == 0)
    rc = jsonout_set(o, "has_manifest", json_boolean(r->has_manifest));
  if (rc == 0)
    rc = jsonout_set(o, "manifest_files",
                     json_integer((json_int_t)r->manifest_files));
  if (rc == 0)
    rc = jsonout_set(o, "pending_files",
                     json_integer((json_int_t)r->pending_files));
  if (rc == 0)
    rc = jsonout_set(o, "pending_paths",
                     json_integer((json_int_t)r->pending_paths));
  if (rc == 0)
    rc = jsonout_set(o, "in_flight", json_integer((json_int_t)r->in_flight));
  if (rc == 0)
    rc =
        jsonout_set(o, "month_paths", json_integer((json_int_t)r->month_paths));
  /* Rounded to a tenth of a cent, as printed before jansson; the cost
   * is never negative, so the conversion rounds half up. */
  if (rc == 0)
    rc = jsonout_set(
        o, "month_cost_usd",
        json_real((double)(uint64_t)(r->month_cost_usd * 1000 + 0.5) / 1000));
  return rc;
}

int status_format_json(const struct status_report *r, struct buf *out)
{
  json_t *o = jsonout_object();
  int rc;

  rc = jsonout_set(o, "root", status_json_str(r->root));
  if (rc == 0)
    rc = jsonout_set(o, "state_dir", status_json_str(r->state_dir));
  if (rc == 0)
    rc = status_json_counts(o, r);
  if (rc == 0)
    rc = jsonout_set(o, "invalidations", status_json_entries(r));
  if (rc == 0)
    rc = jsonout_dump(o, out);
  json_decref(o);
  return rc == 0 ? buf_adds(out, "\n") : rc;
}
