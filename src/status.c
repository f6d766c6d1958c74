/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <string.h>
#include <time.h>

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
                  "\"month_cost_usd\":%.3f,\"invalidations\":",
                  r->root_missing ? "true" : "false",
                  r->daemon_running ? "true" : "false",
                  r->has_manifest ? "true" : "false", r->manifest_files,
                  r->pending_files, r->pending_paths, r->in_flight,
                  (unsigned long long)r->month_paths, r->month_cost_usd);
  if (rc == 0)
    rc = status_json_entries(r, out);
  return rc == 0 ? buf_adds(out, "}\n") : rc;
}
