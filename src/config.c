/* SPDX-License-Identifier: MIT */
/* The layers (defaults, [cfwatch], each [site], the command line) and
 * their resolution into sites, with the checks that span keys.  The key
 * table and what is done to one key are config_key.c's. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cfaccount.h" /* its default only */
#include "cflimits.h"
#include "config_layer.h"
#include "planner.h" /* its defaults only: config calls no planner code */
#include "upload.h"  /* its default only */
#include "util.h"

#define DEFAULT_ENDPOINT   "https://cloudfront.amazonaws.com"
#define DEFAULT_INDEX_NAME "index.html"

static void site_init(struct site_config *s)
{
  memset(s, 0, sizeof(*s));
  s->quiet_ms = 2000;
  s->max_delay_ms = 60000;
  s->retry_for_s = 120;
  s->max_paths_per_batch = CF_MAX_FILE_PATHS_IN_PROGRESS;
  s->wildcard_threshold = PLANNER_DEFAULT_WILDCARD_THRESHOLD;
  s->max_evict_ratio = PLANNER_DEFAULT_MAX_EVICT_RATIO;
  s->monthly_free_paths = CF_FREE_PATHS_PER_MONTH;
  s->upload_timeout_s = UPLOAD_TIMEOUT_MS / 1000;
  s->max_delete = CONFIG_DEFAULT_MAX_DELETE;
  s->max_delete_share = CONFIG_DEFAULT_MAX_DELETE_SHARE;
  s->delete_grace_ms = CONFIG_DEFAULT_DELETE_GRACE_MS;
  s->pass_files = CONFIG_DEFAULT_PASS_FILES;
  s->account_budget = CFACCOUNT_DEFAULT_BUDGET;
  strlist_init(&s->excludes);
  strlist_init(&s->distributions);
}

static void site_free(struct site_config *s)
{
  if (s == NULL)
    return;
  free(s->name);
  free(s->root);
  free(s->distribution_id);
  free(s->distribution_set);
  strlist_free(&s->distributions);
  free(s->profile);
  free(s->endpoint);
  free(s->ca_file);
  free(s->state_dir);
  free(s->state_url);
  free(s->url_prefix);
  free(s->index_name);
  free(s->upload_cmd);
  free(s->cache_tag_header);
  free(s->origin);
  free(s->region);
  free(s->region_from);
  free(s->s3_endpoint);
  strlist_free(&s->excludes);
  site_init(s);
}

void config_init(struct config *c)
{
  memset(c, 0, sizeof(*c));
  site_init(&c->base);
  site_init(&c->cli);
  c->log_level = LOG_INFO;
  c->log_format = LOG_TEXT;
}

void config_free(struct config *c)
{
  size_t i;

  if (c == NULL)
    return;
  site_free(&c->base);
  site_free(&c->cli);
  for (i = 0; i < c->n_sites; i++)
    site_free(&c->sites[i]);
  free(c->sites);
  free(c->path);
  hdrrules_free(&c->headers);
  config_init(c);
}

int config_site_add(struct config *c, const char *name,
                    struct site_config **out, struct cfw_err *err)
{
  struct site_config *v;
  char *copy;

  copy = strdup(name);
  if (copy == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  v = array_grow(c->sites, c->n_sites, &c->cap_sites, sizeof(*v));
  if (v == NULL) {
    free(copy);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  c->sites = v;
  site_init(&v[c->n_sites]);
  v[c->n_sites].name = copy;
  *out = &v[c->n_sites++];
  return 0;
}

/* ---- resolving the sites ---- */

static int site_string_defaults(struct site_config *s)
{
  if (s->endpoint == NULL)
    s->endpoint = strdup(DEFAULT_ENDPOINT);
  if (s->index_name == NULL)
    s->index_name = strdup(DEFAULT_INDEX_NAME);
  if (s->url_prefix == NULL)
    s->url_prefix = strdup("");
  if (s->endpoint == NULL || s->index_name == NULL || s->url_prefix == NULL)
    return -ENOMEM;
  return 0;
}

static int check_delays(const struct config *c, const struct site_config *s,
                        struct cfw_err *err)
{
  char where[300];
  int ki;

  if (s->max_delay_ms >= s->quiet_ms)
    return 0;
  /* Blame the key that was set; the defaults agree with each other. */
  ki = s->line[K_MAX_DELAY_MS] != 0 ? K_MAX_DELAY_MS : K_QUIET_MS;
  config_key_where(c, s, ki, where, sizeof(where));
  return cfw_err_set(err, -EINVAL,
                     "%s: max_delay_ms (%" PRIu64
                     ") must be at least quiet_ms (%" PRIu64 ")",
                     where, s->max_delay_ms, s->quiet_ms);
}

/* Records where the region was set, for the S3 client's messages. */
static int region_from(const struct config *c, struct site_config *s,
                       struct cfw_err *err)
{
  char where[300];

  config_key_where(c, s, K_REGION, where, sizeof(where));
  s->region_from = strdup(where);
  return s->region_from != NULL ? 0
                                : cfw_err_set(err, -ENOMEM, "out of memory");
}

/* Builds the resolved site from defaults, [cfwatch], the site and the
 * command line, in rising priority, and checks it. */
static int site_resolve(const struct config *c, const struct site_config *raw,
                        struct site_config *r, struct cfw_err *err)
{
  int rc;

  site_init(r);
  r->name = strdup(raw->name);
  if (r->name == NULL || config_site_apply(r, &c->base) < 0 ||
      config_site_apply(r, raw) < 0 || config_site_apply(r, &c->cli) < 0 ||
      site_string_defaults(r) < 0)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  if (r->root == NULL)
    return cfw_err_set(err, -EINVAL,
                       "no root: give ROOT or root = in the config");
  rc = check_delays(c, r, err);
  if (rc == 0 && r->region != NULL)
    rc = region_from(c, r, err);
  if (rc == 0)
    rc = config_dist_resolve(r, err);
  if (rc == 0 && r->origin != NULL && r->upload_cmd != NULL)
    rc = cfw_err_set(err, -EINVAL,
                     "origin and upload_cmd together: with an S3 origin "
                     "cfwatch uploads the changes itself; drop one");
  if (rc == 0 && r->cache_tag_header != NULL && r->origin == NULL)
    rc = cfw_err_set(err, -EINVAL,
                     "cache_tag_header without an S3 origin: cfwatch tags "
                     "only the objects it uploads itself (origin = s3://...)");
  if (rc == 0)
    rc = config_state_home(r, err);
  return rc;
}

/* Two sites writing one manifest would each lose the other's work. */
static int check_state_dirs(const struct config *c, struct cfw_err *err)
{
  size_t i;
  size_t j;

  for (i = 0; i < c->n_sites; i++) {
    for (j = 0; j < i; j++) {
      if (strcmp(c->sites[i].state_dir, c->sites[j].state_dir) != 0)
        continue;
      return cfw_err_set(err, -EINVAL,
                         "[site %s] and [site %s] share state_dir %s; give "
                         "each its own root, distribution_id or state_dir",
                         c->sites[j].name, c->sites[i].name,
                         c->sites[i].state_dir);
    }
  }
  return 0;
}

int config_finish(struct config *c, struct cfw_err *err)
{
  struct site_config *raw;
  struct site_config r;
  size_t i;
  int rc;

  if (c->n_sites == 0) {
    rc = config_site_add(c, "", &raw, err);
    if (rc < 0)
      return rc;
  }
  for (i = 0; i < c->n_sites; i++) {
    raw = &c->sites[i];
    rc = site_resolve(c, raw, &r, err);
    if (rc < 0) {
      site_free(&r);
      if (raw->name[0] != '\0')
        return cfw_err_wrap(err, rc, "[site %s]", raw->name);
      return rc;
    }
    site_free(raw);
    *raw = r;
  }
  return check_state_dirs(c, err);
}

const struct site_config *config_sites(const struct config *c, size_t *n)
{
  *n = c->n_sites;
  return c->sites;
}
