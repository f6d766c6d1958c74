/* SPDX-License-Identifier: MIT */
/* What --account and --discover add to `cfwatch status`, as text and as
 * JSON (status_int.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonout.h"
#include "status_int.h"
#include "util.h"

json_t *status_json_usd(double usd)
{
  return json_real((double)(uint64_t)(usd * 1000 + 0.5) / 1000);
}

/* 1234567 as "1,234,567" into out (27 bytes hold any uint64_t). */
static const char *status_count(uint64_t v, char out[32])
{
  char digits[24];
  size_t n;
  size_t i;
  size_t o = 0;

  n = (size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
  for (i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      out[o++] = ',';
    out[o++] = digits[i];
  }
  out[o] = '\0';
  return out;
}

static int status_text_site_month(const struct status_report *r,
                                  struct buf *out)
{
  char free_paths[32];

  return buf_addf(out,
                  "this month:   %llu paths, estimated $%.2f (the first %s "
                  "are free; this site's ledger only: --account counts the "
                  "account)\n",
                  (unsigned long long)r->month_paths, r->month_cost_usd,
                  status_count(r->free_paths, free_paths));
}

/* What the budget left unread, when it did. */
static int status_text_unread(const struct cfaccount_result *a, struct buf *out)
{
  if (a->complete)
    return 0;
  return buf_addf(
      out,
      "              a lower bound: %zu invalidation%s and %zu "
      "distribution%s%s not read (%zu requests of a budget of "
      "%zu: --account-budget)\n",
      a->unread_invalidations, a->unread_invalidations == 1 ? "" : "s",
      a->unread_distributions, a->unread_distributions == 1 ? "" : "s",
      a->more_distributions ? " (and more, unlisted)" : "", a->requests,
      a->max_requests);
}

int status_text_month(const struct status_report *r, struct buf *out)
{
  const struct cfaccount_result *a = &r->remote.acct;
  char n[32];
  char free_paths[32];
  int rc;

  if (!r->remote.account)
    return status_text_site_month(r, out);
  if (a->status < 0)
    rc = buf_addf(out, "this month:   not counted: %s\n", a->err.msg);
  else
    rc = buf_addf(out,
                  "this month:   %s%s paths over %zu distribution%s (%s free "
                  "per account); estimated cost %s$%.2f\n",
                  a->complete ? "" : "at least ",
                  status_count(a->month_paths, n), a->distributions,
                  a->distributions == 1 ? "" : "s",
                  status_count(r->free_paths, free_paths),
                  a->complete ? "" : "at least ", r->account_cost_usd);
  if (rc == 0 && a->status == 0)
    rc = status_text_unread(a, out);
  if (rc == 0)
    rc = buf_addf(out,
                  "this site:    %llu paths this month (its ledger)\n"
                  "account:      %zu requests, %zu of %zu invalidations "
                  "counted from the cache\n",
                  (unsigned long long)r->month_paths, a->requests,
                  a->from_cache, a->invalidations);
  return rc;
}

static int status_text_origin(const struct cfdiscover_report *d,
                              struct buf *out)
{
  if (!d->found)
    return buf_adds(out, "origin:       none found\n");
  return buf_addf(
      out, "origin:       %s (%s, origin path \"%s\", %s; found by %s)\n",
      d->origin.id, d->origin.domain_name, d->origin.origin_path,
      d->origin.s3 ? "S3" : "custom",
      d->by_bucket ? "its bucket" : "the default cache behavior");
}

int status_text_discover(const struct status_report *r, struct buf *out)
{
  const struct cfdiscover_report *d = &r->remote.disc;
  size_t i;
  int rc;

  if (!r->remote.discover)
    return 0;
  if (r->remote.discover_status < 0)
    return buf_addf(out, "discover:     %s\n", r->remote.discover_err.msg);
  rc = status_text_origin(d, out);
  if (rc == 0)
    rc = buf_addf(out,
                  "root object:  %s\n"
                  "cache tags:   %s%s\n",
                  d->default_root_object[0] ? d->default_root_object : "none",
                  d->has_cache_tags ? "header " : "none (a tag drops nothing)",
                  d->has_cache_tags ? d->cache_tag_header : "");
  for (i = 0; rc == 0 && i < d->warnings.n; i++)
    rc = buf_addf(out, "warning:      %s\n", d->warnings.v[i]);
  return rc;
}

static json_t *status_json_str(const char *s)
{
  return s != NULL ? jsonout_bytes(s, strlen(s)) : json_null();
}

/* o if every set succeeded, else NULL (o released). */
static json_t *status_json_done(json_t *o, int rc)
{
  if (rc == 0)
    return o;
  json_decref(o);
  return NULL;
}

static json_t *status_json_account(const struct status_report *r)
{
  const struct cfaccount_result *a = &r->remote.acct;
  const struct {
    const char *key;
    uint64_t v;
  } counts[] = {
      {"month_paths", a->month_paths},
      {"distributions", a->distributions},
      {"free_paths", r->free_paths},
      {"invalidations", a->invalidations},
      {"from_cache", a->from_cache},
      {"requests", a->requests},
      {"request_budget", a->max_requests},
      {"unread_invalidations", a->unread_invalidations},
      {"unread_distributions", a->unread_distributions},
  };
  json_t *o = jsonout_object();
  size_t i;
  int rc;

  if (a->status < 0) {
    rc = jsonout_set(o, "error", status_json_str(a->err.msg));
    return status_json_done(o, rc);
  }
  rc = jsonout_set(o, "month", status_json_str(a->month));
  for (i = 0; rc == 0 && i < ARRAY_SIZE(counts); i++)
    rc = jsonout_set(o, counts[i].key, json_integer((json_int_t)counts[i].v));
  if (rc == 0)
    rc = jsonout_set(o, "cost_usd", status_json_usd(r->account_cost_usd));
  if (rc == 0)
    rc = jsonout_set(o, "complete", json_boolean(a->complete));
  if (rc == 0)
    rc = jsonout_set(o, "more_distributions",
                     json_boolean(a->more_distributions));
  return status_json_done(o, rc);
}

static json_t *status_json_origin(const struct cfdiscover_report *d)
{
  json_t *o;
  int rc;

  if (!d->found)
    return json_null();
  o = jsonout_object();
  rc = jsonout_set(o, "id", status_json_str(d->origin.id));
  if (rc == 0)
    rc = jsonout_set(o, "domain_name", status_json_str(d->origin.domain_name));
  if (rc == 0)
    rc = jsonout_set(o, "origin_path", status_json_str(d->origin.origin_path));
  if (rc == 0)
    rc = jsonout_set(o, "type", json_string(d->origin.s3 ? "s3" : "custom"));
  if (rc == 0)
    rc = jsonout_set(o, "found_by",
                     json_string(d->by_bucket ? "bucket" : "default_behavior"));
  return status_json_done(o, rc);
}

static json_t *status_json_discover(const struct status_report *r)
{
  const struct cfdiscover_report *d = &r->remote.disc;
  json_t *o = jsonout_object();
  json_t *w = json_array();
  size_t i;
  int rc;

  for (i = 0; w != NULL && i < d->warnings.n; i++)
    if (json_array_append_new(w, status_json_str(d->warnings.v[i])) < 0)
      break;
  if (r->remote.discover_status < 0) {
    json_decref(w);
    rc = jsonout_set(o, "error", status_json_str(r->remote.discover_err.msg));
    return status_json_done(o, rc);
  }
  rc = jsonout_set(o, "origin", status_json_origin(d));
  if (rc == 0)
    rc = jsonout_set(o, "default_root_object",
                     status_json_str(d->default_root_object));
  if (rc == 0)
    rc = jsonout_set(o, "cache_tag_header",
                     d->has_cache_tags ? status_json_str(d->cache_tag_header)
                                       : json_null());
  if (rc == 0)
    rc = jsonout_set(o, "warnings", w);
  else
    json_decref(w);
  return status_json_done(o, rc);
}

int status_json_remote(json_t *obj, const struct status_report *r)
{
  int rc = 0;

  if (r->remote.account)
    rc = jsonout_set(obj, "account", status_json_account(r));
  if (rc == 0 && r->remote.discover)
    rc = jsonout_set(obj, "discover", status_json_discover(r));
  return rc;
}
