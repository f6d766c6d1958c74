/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include "guard.h"
#include "jsonout.h"
#include "manifest.h"
#include "planner.h"
#include "site.h"
#include "state.h"
#include "statecache.h"
#include "statelock.h"
#include "status_int.h"
#include "util.h"

/* One status run: the site in plan mode, then the ledger and the lock on
 * the threadpool. */
struct status_run {
  const struct site_config *cfg; /* borrowed */
  struct status_opts o;
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
  remote_report_free(&r->remote);
  status_dists_free(r);
}

/* What the origin still lacks: the diff's new bytes and removals, and
 * the files of recorded batches not uploaded yet (their deletions come
 * after their invalidation). */
static void status_origin(struct status_report *r, const struct state *st,
                          const struct site_report *rep)
{
  const struct intent *in;
  size_t i;
  size_t k;

  r->pending_uploads = rep->n_changes - rep->n_deleted;
  r->pending_deletions = rep->n_deleted;
  for (i = 0; i < state_intent_count(st); i++) {
    in = state_intent_at(st, i);
    for (k = 0; k < in->n_changes; k++) {
      if (change_kind(&in->changes[k]) == CHANGE_DELETED)
        r->pending_deletions++;
      else if (!in->uploaded)
        r->pending_uploads++;
    }
  }
}

static void status_from_pass(struct status_report *r,
                             const struct site_config *cfg, struct site *site,
                             const struct site_report *rep)
{
  const struct state *st = site_state(site);
  const struct planner_plan *pl = rep->plan;
  size_t i;

  r->root_missing = rep->root_missing;
  r->state_pulled = rep->pulled;
  if (st == NULL)
    return;
  r->has_manifest = !state_fresh(st);
  r->manifest_files = manifest_count(state_manifest(st));
  r->manifest_written_ns = state_snapshot_ns(st);
  r->unacknowledged = state_intent_count(st);
  /* Out of memory only leaves the per-distribution lines out. */
  if (status_dists_fill(r, cfg, st) < 0)
    status_dists_free(r);
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
  r->held += rep->kept; /* objects without a file: ground.h */
  r->pending_files += rep->kept;
  if (cfg->origin != NULL)
    status_origin(r, st, rep);
}

/* A state in S3: its version and last writer, as the cache knows them
 * (statecache.h); records before `confirmed` are in S3. */
static void status_state_mark(struct status_report *r)
{
  struct statecache_mark m;

  if (statecache_read_mark(r->state_dir, &m) < 0 || m.confirmed == 0)
    return;
  r->has_state_version = true;
  r->state_version = m.confirmed - 1;
  str_copy(r->state_who, sizeof(r->state_who), m.who);
  str_copy(r->state_at, sizeof(r->state_at), m.at);
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
    log_msg(run->o.log, LOG_WARN, "%s", err.msg);
  for (i = 0; i < r->ledger.n; i++)
    if (strcmp(r->ledger.v[i].status, "Completed") != 0)
      r->in_flight++;
  r->month_paths = ledger_month_paths(&r->ledger, now);
  r->free_paths = run->cfg->monthly_free_paths;
  r->month_cost_usd = planner_cost_usd(0, r->month_paths, r->free_paths);
  if (r->state_url != NULL)
    status_state_mark(r);
}

static void status_deliver(struct status_run *run)
{
  run->cb(run->status, &run->r, &run->err, run->arg);
  status_report_free(&run->r);
  free(run);
}

static void status_on_remote(struct remote_report *rep, void *arg)
{
  struct status_run *run = arg;

  remote_report_take(&run->r.remote, rep);
  run->r.account_cost_usd = planner_cost_usd(0, run->r.remote.acct.month_paths,
                                             run->cfg->monthly_free_paths);
  status_deliver(run);
}

/* --account and --discover come last: the site's own status does not
 * wait on them, and their failures are reported, not fatal. */
static void status_ask(struct status_run *run)
{
  struct remote_opts ro = {0};
  struct cfw_err err = {0};

  ro.loop = run->o.loop;
  ro.log = run->o.log;
  ro.http = run->o.http;
  ro.getenv = run->o.getenv;
  ro.account = run->o.account;
  ro.discover = run->o.discover;
  ro.now_s = (int64_t)time(NULL);
  if (remote_start(&ro, run->cfg, status_on_remote, run, &err) == 0)
    return;
  log_msg(run->o.log, LOG_WARN, "%s", err.msg);
  status_deliver(run);
}

static void status_on_work_done(uv_work_t *w, int rc)
{
  struct status_run *run = container_of(w, struct status_run, work);

  if (rc < 0 && run->status == 0)
    run->status = cfw_err_set(&run->err, rc, "threadpool: %s", uv_strerror(rc));
  if (run->status == 0 && run->o.http != NULL &&
      (run->o.account || run->o.discover))
    status_ask(run);
  else
    status_deliver(run);
}

static void status_on_closed(void *arg)
{
  struct status_run *run = arg;
  int rc;

  rc = run->status < 0 ? run->status
                       : uv_queue_work(run->o.loop, &run->work, status_on_work,
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

int status_start(const struct status_opts *o, const struct site_config *s,
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
  run->o = *o;
  run->cb = cb;
  run->arg = arg;
  run->r.root = s->root;
  run->r.state_dir = s->state_dir;
  run->r.state_url = s->state_url;
  run->r.distribution_id = s->distribution_id;
  run->r.origin = s->origin;
  ledger_init(&run->r.ledger);
  remote_report_init(&run->r.remote);
  so.loop = o->loop;
  so.log = o->log;
  so.cfg = s;
  so.mode = SITE_PLAN;
  so.http = o->http;
  so.getenv = o->getenv;
  so.offline = o->offline;
  rc = site_start(&site, &so, status_on_pass, run, err);
  if (rc < 0)
    free(run);
  return rc;
}

/* "E1" for one distribution, "E1, E2" for several. */
static const char *status_dist_names(const struct status_report *r, char *buf,
                                     size_t len)
{
  size_t used = 0;
  size_t i;
  int n;

  if (r->n_dists == 0)
    return r->distribution_id ? r->distribution_id : "none (dry run)";
  buf[0] = '\0';
  for (i = 0; i < r->n_dists; i++) {
    n = snprintf(buf + used, len - used, "%s%s", i > 0 ? ", " : "",
                 r->dists[i].id);
    if (n < 0 || (size_t)n >= len - used)
      return r->distribution_id; /* cannot happen: the set is capped */
    used += (size_t)n;
  }
  return buf;
}

static void status_time(int64_t ns, char *out, size_t n)
{
  time_t t = (time_t)(ns / 1000000000);
  struct tm tm;

  gmtime_r(&t, &tm);
  if (ns == 0 || strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
    (void)snprintf(out, n, "never");
}

/* "state:  s3://B/P, version 12, written by host pid 7 at TIME". */
static int status_text_state(const struct status_report *r, struct buf *out)
{
  int rc;

  rc = buf_addf(out, "state:        %s", r->state_url);
  if (rc == 0 && r->has_state_version)
    rc = buf_addf(out, ", version %" PRIu64, r->state_version);
  if (rc == 0 && r->state_who[0] != '\0')
    rc = buf_addf(out, ", written by %s at %s", r->state_who, r->state_at);
  if (rc == 0)
    rc = buf_adds(out, r->state_pulled
                           ? " (pulled now; the state dir is its cache)\n"
                           : " (the state dir is its cache, as of the last "
                             "pull)\n");
  return rc;
}

int status_format_text(const struct status_report *r, struct buf *out)
{
  char names[256];
  char when[40];
  int rc;

  status_time(r->manifest_written_ns, when, sizeof(when));
  rc = buf_addf(out,
                "root:         %s%s\n"
                "distribution: %s\n"
                "state dir:    %s\n"
                "daemon:       %s%s%s\n",
                r->root, r->root_missing ? " (missing)" : "",
                status_dist_names(r, names, sizeof(names)), r->state_dir,
                r->daemon_running ? "running, pid " : "",
                r->daemon_running ? r->daemon_pid : "not running", "");
  if (rc == 0 && r->state_url != NULL)
    rc = status_text_state(r, out);
  if (rc == 0 && !r->has_manifest)
    rc = buf_adds(out, "manifest:     none yet (the first run records a "
                       "baseline)\n");
  else if (rc == 0)
    rc = buf_addf(out,
                  "manifest:     %zu files, written %s\n"
                  "pending:      %zu files, %zu paths\n",
                  r->manifest_files, when, r->pending_files, r->pending_paths);
  if (rc == 0)
    rc = buf_addf(out, "in flight:    %zu invalidation%s (as last seen)\n",
                  r->in_flight, r->in_flight == 1 ? "" : "s");
  if (rc == 0)
    rc = status_text_month(r, out);
  if (rc == 0 && r->unacknowledged > 0)
    rc = buf_addf(out,
                  "unacknowledged: %zu batch%s recorded but not acknowledged "
                  "(sent first by the next run)\n",
                  r->unacknowledged, r->unacknowledged == 1 ? "" : "es");
  if (rc == 0 && r->unacknowledged > 0)
    rc = status_text_dists(r, out);
  if (rc == 0 && r->origin != NULL)
    rc = buf_addf(
        out, "origin:       %s: %zu upload%s, %zu deletion%s pending\n",
        r->origin, r->pending_uploads, r->pending_uploads == 1 ? "" : "s",
        r->pending_deletions, r->pending_deletions == 1 ? "" : "s");
  if (rc == 0 && r->held > 0)
    rc = buf_addf(out,
                  "held:         %zu deletions, more than max_delete or "
                  "max_delete_share allow (once: --allow-delete)\n",
                  r->held);
  if (rc == 0)
    rc = status_text_discover(r, out);
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
  /* Only a site of several distributions records them. */
  if (rc == 0 && e->dist[0] != '\0')
    rc = jsonout_set(o, "distribution", status_json_str(e->dist));
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
  const struct {
    const char *key;
    uint64_t v;
  } counts[] = {
      {"manifest_files", r->manifest_files},
      {"pending_files", r->pending_files},
      {"pending_paths", r->pending_paths},
      {"unacknowledged", r->unacknowledged},
      {"held_deletions", r->held},
      {"in_flight", r->in_flight},
      {"month_paths", r->month_paths},
      {"month_free_paths", r->free_paths},
      {"pending_uploads", r->pending_uploads},
      {"pending_deletions", r->pending_deletions},
  };
  size_t i;
  int rc;

  rc = jsonout_set(o, "root_missing", json_boolean(r->root_missing));
  if (rc == 0)
    rc = jsonout_set(o, "daemon_running", json_boolean(r->daemon_running));
  if (rc == 0)
    rc = jsonout_set(o, "has_manifest", json_boolean(r->has_manifest));
  if (rc == 0)
    rc = jsonout_set(o, "origin", status_json_str(r->origin));
  for (i = 0; rc == 0 && i < ARRAY_SIZE(counts); i++)
    rc = jsonout_set(o, counts[i].key, json_integer((json_int_t)counts[i].v));
  if (rc == 0)
    rc = jsonout_set(o, "month_cost_usd", status_json_usd(r->month_cost_usd));
  /* month_paths counts this state dir's ledger; "account" the account. */
  if (rc == 0)
    rc = jsonout_set(o, "month_paths_scope", json_string("site"));
  return rc;
}

/* A state in S3: {"version", "writer", "written_at", "pulled"}; null
 * for a local state, and null members for what is not known. */
static json_t *status_json_state(const struct status_report *r)
{
  json_t *o;
  int rc;

  if (r->state_url == NULL)
    return json_null();
  o = jsonout_object();
  rc = jsonout_set(o, "version",
                   r->has_state_version
                       ? json_integer((json_int_t)r->state_version)
                       : json_null());
  if (rc == 0)
    rc = jsonout_set(o, "writer",
                     status_json_str(r->state_who[0] ? r->state_who : NULL));
  if (rc == 0)
    rc = jsonout_set(o, "written_at",
                     status_json_str(r->state_at[0] ? r->state_at : NULL));
  if (rc == 0)
    rc = jsonout_set(o, "pulled", json_boolean(r->state_pulled));
  if (rc == 0)
    return o;
  json_decref(o);
  return NULL;
}

int status_format_json(const struct status_report *r, struct buf *out)
{
  json_t *o = jsonout_object();
  int rc;

  rc = jsonout_set(o, "root", status_json_str(r->root));
  if (rc == 0)
    rc = jsonout_set(o, "state_dir", status_json_str(r->state_dir));
  if (rc == 0)
    rc = jsonout_set(o, "state_url", status_json_str(r->state_url));
  if (rc == 0)
    rc = jsonout_set(o, "state", status_json_state(r));
  if (rc == 0)
    rc = status_json_counts(o, r);
  if (rc == 0)
    rc = jsonout_set(o, "invalidations", status_json_entries(r));
  if (rc == 0)
    rc = status_json_remote(o, r);
  if (rc == 0)
    rc = status_json_dists(o, r);
  if (rc == 0)
    rc = jsonout_dump(o, out);
  json_decref(o);
  return rc == 0 ? buf_adds(out, "\n") : rc;
}
