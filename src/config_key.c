/* SPDX-License-Identifier: MIT */
/* The key table (config_layer.h): every key's name, type, bounds and
 * field in struct site_config, and what is done to a key by its type:
 * checking and storing a value in a layer, copying it to another layer,
 * and naming where it came from.  Building the sites from the layers is
 * config.c's. */
#include "config_layer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cflimits.h"
#include "confcheck.h"
#include "urlmap.h"
#include "util.h"

#define QUIET_MS_MAX     3600000u  /* an hour */
#define MAX_DELAY_MS_MAX 86400000u /* a day */
#define RETRY_FOR_S_MAX  86400u    /* a day */
/* Past these, a value is surely a typo: no site changes 10 million
 * files at once, and the free tier is 1,000 paths, not a billion. */
#define WILDCARD_THRESHOLD_MAX 10000000u
#define MONTHLY_FREE_PATHS_MAX 1000000000u
#define MONTHLY_BUDGET_USD_MAX 1000000u
#define UPLOAD_TIMEOUT_S_MAX   86400u /* a day */
#define MAX_DELETE_MAX         100000000u
#define DELETE_GRACE_MS_MAX    86400000u   /* a day */
#define PASS_FILES_MAX         1000000000u /* more than any site has */
#define ACCOUNT_BUDGET_MAX     100000u     /* requests: hours at the pace */

enum key_type {
  KT_PATH,   /* made absolute and normalised */
  KT_STR,    /* checked by key_def.check */
  KT_URL,    /* the endpoint */
  KT_PREFIX, /* url_prefix */
  KT_U64,
  KT_BOOL,
  KT_DOUBLE, /* a decimal in [min, max], whole-number bounds */
  KT_GLOB,   /* repeatable */
  KT_DIST,   /* distribution_id: repeatable, unique, replaced by a layer */
  KT_LEVEL,  /* global: config.log_level */
  KT_FORMAT  /* global: config.log_format */
};

struct key_def {
  const char *name;
  enum key_type type;
  size_t off; /* the field in struct site_config, for per-site keys */
  uint64_t min;
  uint64_t max;
  int (*check)(const char *value, struct cfw_err *err); /* KT_STR */
};

#define SITE_FIELD(f) offsetof(struct site_config, f)

static const struct key_def keys[K_COUNT] = {
    [K_ROOT] = {"root", KT_PATH, SITE_FIELD(root), 0, 0, NULL},
    [K_DISTRIBUTION_ID] = {"distribution_id", KT_DIST,
                           SITE_FIELD(distributions), 0, 0, NULL},
    [K_PROFILE] = {"profile", KT_STR, SITE_FIELD(profile), 0, 0,
                   confcheck_profile},
    [K_ENDPOINT] = {"endpoint", KT_URL, SITE_FIELD(endpoint), 0, 0, NULL},
    [K_CA_FILE] = {"ca_file", KT_PATH, SITE_FIELD(ca_file), 0, 0, NULL},
    [K_STATE_DIR] = {"state_dir", KT_PATH, SITE_FIELD(state_dir), 0, 0, NULL},
    [K_QUIET_MS] = {"quiet_ms", KT_U64, SITE_FIELD(quiet_ms), 0, QUIET_MS_MAX,
                    NULL},
    [K_MAX_DELAY_MS] = {"max_delay_ms", KT_U64, SITE_FIELD(max_delay_ms), 1,
                        MAX_DELAY_MS_MAX, NULL},
    [K_RETRY_FOR] = {"retry_for", KT_U64, SITE_FIELD(retry_for_s), 0,
                     RETRY_FOR_S_MAX, NULL},
    [K_DRY_RUN] = {"dry_run", KT_BOOL, SITE_FIELD(dry_run), 0, 0, NULL},
    [K_LOG_FORMAT] = {"log_format", KT_FORMAT, 0, 0, 0, NULL},
    [K_LOG_LEVEL] = {"log_level", KT_LEVEL, 0, 0, 0, NULL},
    [K_URL_PREFIX] = {"url_prefix", KT_PREFIX, SITE_FIELD(url_prefix), 0, 0,
                      NULL},
    [K_INDEX_NAME] = {"index_name", KT_STR, SITE_FIELD(index_name), 0, 0,
                      confcheck_index_name},
    [K_DIR_WITHOUT_SLASH] = {"dir_without_slash", KT_BOOL,
                             SITE_FIELD(dir_without_slash), 0, 0, NULL},
    [K_PRETTY_URLS] = {"pretty_urls", KT_BOOL, SITE_FIELD(pretty_urls), 0, 0,
                       NULL},
    [K_QUERY_STRINGS] = {"query_strings", KT_BOOL, SITE_FIELD(query_strings), 0,
                         0, NULL},
    [K_EXCLUDE] = {"exclude", KT_GLOB, SITE_FIELD(excludes), 0, 0, NULL},
    [K_NO_DEFAULT_EXCLUDES] = {"no_default_excludes", KT_BOOL,
                               SITE_FIELD(no_default_excludes), 0, 0, NULL},
    [K_MAX_PATHS_PER_BATCH] = {"max_paths_per_batch", KT_U64,
                               SITE_FIELD(max_paths_per_batch),
                               URLMAP_MAX_PATHS_PER_FILE,
                               CF_MAX_FILE_PATHS_IN_PROGRESS, NULL},
    [K_WILDCARD_THRESHOLD] = {"wildcard_threshold", KT_U64,
                              SITE_FIELD(wildcard_threshold), 1,
                              WILDCARD_THRESHOLD_MAX, NULL},
    [K_NEVER_WILDCARD] = {"never_wildcard", KT_BOOL, SITE_FIELD(never_wildcard),
                          0, 0, NULL},
    [K_MAX_EVICT_RATIO] = {"max_evict_ratio", KT_DOUBLE,
                           SITE_FIELD(max_evict_ratio), 0, 1, NULL},
    [K_STRICT_EVICT_RATIO] = {"strict_evict_ratio", KT_BOOL,
                              SITE_FIELD(strict_evict_ratio), 0, 0, NULL},
    [K_MONTHLY_FREE_PATHS] = {"monthly_free_paths", KT_U64,
                              SITE_FIELD(monthly_free_paths), 0,
                              MONTHLY_FREE_PATHS_MAX, NULL},
    [K_MONTHLY_BUDGET_USD] = {"monthly_budget_usd", KT_DOUBLE,
                              SITE_FIELD(monthly_budget_usd), 0,
                              MONTHLY_BUDGET_USD_MAX, NULL},
    [K_ALLOW_OVER_BUDGET] = {"allow_over_budget", KT_BOOL,
                             SITE_FIELD(allow_over_budget), 0, 0, NULL},
    [K_UPLOAD_CMD] = {"upload_cmd", KT_STR, SITE_FIELD(upload_cmd), 0, 0,
                      confcheck_nonempty},
    [K_UPLOAD_TIMEOUT] = {"upload_timeout", KT_U64,
                          SITE_FIELD(upload_timeout_s), 1, UPLOAD_TIMEOUT_S_MAX,
                          NULL},
    [K_MAX_DELETE] = {"max_delete", KT_U64, SITE_FIELD(max_delete), 0,
                      MAX_DELETE_MAX, NULL},
    [K_MAX_DELETE_SHARE] = {"max_delete_share", KT_DOUBLE,
                            SITE_FIELD(max_delete_share), 0, 1, NULL},
    [K_DELETE_GRACE_MS] = {"delete_grace_ms", KT_U64,
                           SITE_FIELD(delete_grace_ms), 0, DELETE_GRACE_MS_MAX,
                           NULL},
    [K_ALLOW_DELETE] = {"allow_delete", KT_BOOL, SITE_FIELD(allow_delete), 0, 0,
                        NULL},
    [K_PASS_FILES] = {"pass_files", KT_U64, SITE_FIELD(pass_files), 0,
                      PASS_FILES_MAX, NULL},
    [K_ORIGIN] = {"origin", KT_STR, SITE_FIELD(origin), 0, 0, confcheck_origin},
    [K_REGION] = {"region", KT_STR, SITE_FIELD(region), 0, 0, confcheck_region},
    [K_S3_ENDPOINT] = {"s3_endpoint", KT_URL, SITE_FIELD(s3_endpoint), 0, 0,
                       NULL},
    [K_ACCOUNT_BUDGET] = {"account_budget", KT_U64, SITE_FIELD(account_budget),
                          1, ACCOUNT_BUDGET_MAX, NULL},
    [K_CACHE_TAG_HEADER] = {"cache_tag_header", KT_STR,
                            SITE_FIELD(cache_tag_header), 0, 0,
                            confcheck_cache_tag_header},
};

_Static_assert(K_COUNT == CONFIG_KEYS, "CONFIG_KEYS must match the table");
_Static_assert(K_COUNT <= 64, "set_mask has 64 bits");

static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          "trace"};
static const char *const format_names[] = {"text", "json"};

/* Field access by offset keeps one generic setter for all keys. */
static void *field(struct site_config *s, const struct key_def *k)
{
  return (char *)s + k->off;
}

static const void *cfield(const struct site_config *s, const struct key_def *k)
{
  return (const char *)s + k->off;
}

static char **str_field(struct site_config *s, const struct key_def *k)
{
  return field(s, k);
}

int config_key_find(const char *name)
{
  int i;

  for (i = 0; i < K_COUNT; i++)
    if (keys[i].name != NULL && strcmp(keys[i].name, name) == 0)
      return i;
  return -1;
}

bool config_key_table_whole(void)
{
  int i;

  for (i = 0; i < K_COUNT; i++)
    if (keys[i].name == NULL)
      return false;
  return true;
}

bool config_key_is_global(int ki)
{
  return keys[ki].type == KT_LEVEL || keys[ki].type == KT_FORMAT;
}

/* The command-line spelling of a key: "--quiet-ms", or "ROOT". */
static void key_cli_name(int ki, char *out, size_t outlen)
{
  size_t i;
  int n;

  if (ki == K_ROOT) {
    n = snprintf(out, outlen, "ROOT");
  } else {
    n = snprintf(out, outlen, "--%s", keys[ki].name);
  }
  if (n < 0 || (size_t)n >= outlen) {
    out[0] = '\0';
    return;
  }
  for (i = 0; out[i] != '\0'; i++)
    if (out[i] == '_')
      out[i] = '-';
}

/* ---- storing a value in a layer ---- */

/* log_level and log_format belong to the whole program.  The command
 * line wins whichever of the two is read first. */
static int store_global(struct config *c, const struct site_config *layer,
                        int ki, const char *v, struct cfw_err *err)
{
  int val;
  int rc;

  if (ki == K_LOG_LEVEL)
    rc = confcheck_enum(v, level_names, ARRAY_SIZE(level_names), &val, err);
  else
    rc = confcheck_enum(v, format_names, ARRAY_SIZE(format_names), &val, err);
  if (rc < 0)
    return rc;
  if (layer != &c->cli && (c->cli.set_mask & (UINT64_C(1) << ki)) != 0)
    return 0;
  if (ki == K_LOG_LEVEL)
    c->log_level = (enum log_level)val;
  else
    c->log_format = (enum log_format)val;
  return 0;
}

static int store_scalar(struct site_config *layer, const struct key_def *k,
                        const char *v, struct cfw_err *err)
{
  int b;
  int rc;

  if (k->type == KT_BOOL) {
    if (parse_bool(v, &b) < 0)
      return cfw_err_set(err, -EINVAL,
                         "\"%s\" is not a boolean (true/false, yes/no, "
                         "on/off, 1/0)",
                         v);
    *(bool *)field(layer, k) = b != 0;
    return 0;
  }
  if (k->type == KT_DOUBLE)
    rc = parse_double(v, (double)k->min, (double)k->max, field(layer, k));
  else
    rc = parse_u64(v, k->min, k->max, field(layer, k));
  if (rc < 0)
    return cfw_err_set(
        err, -EINVAL, "\"%s\" is not a number between %" PRIu64 " and %" PRIu64,
        v, k->min, k->max);
  return 0;
}

static int check_string(const struct key_def *k, const char *v,
                        struct cfw_err *err)
{
  if (k->type == KT_PATH)
    return confcheck_path(v, err);
  if (k->type == KT_GLOB)
    return confcheck_nonempty(v, err);
  if (k->type == KT_DIST)
    return 0; /* config_dist_add checks it */
  if (k->type == KT_URL)
    return confcheck_endpoint(v, err);
  if (k->type == KT_PREFIX)
    return confcheck_url_prefix(v, err);
  return k->check(v, err);
}

static int store_string(struct site_config *layer, const struct key_def *k,
                        const char *v, const char *dir, struct cfw_err *err)
{
  char *s = NULL;
  int rc;

  rc = check_string(k, v, err);
  if (rc < 0)
    return rc;
  if (k->type == KT_GLOB) {
    rc = strlist_push(&layer->excludes, v);
    return rc < 0 ? cfw_err_set(err, rc, "out of memory") : 0;
  }
  if (k->type == KT_DIST)
    return config_dist_add(&layer->distributions, v, err);
  if (k->type == KT_PATH && k == &keys[K_STATE_DIR] && config_state_is_url(v)) {
    rc = confcheck_origin(v, err);
    if (rc < 0)
      return rc;
    s = strdup(v); /* config_state_home takes it apart */
  } else if (k->type == KT_PATH) {
    rc = confcheck_path_absolute(dir, v, &s, err);
    if (rc < 0)
      return rc;
  } else if (k->type == KT_URL || k->type == KT_PREFIX) {
    s = confcheck_dup_no_trailing_slash(v);
  } else {
    s = strdup(v);
  }
  if (s == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  free(*str_field(layer, k));
  *str_field(layer, k) = s;
  return 0;
}

/* A budget of 0 means "stay within the free tier", so whether there is a
 * budget at all follows the key's set bit, not its value. */
static void site_note_budget(struct site_config *s)
{
  s->has_budget = (s->set_mask & (UINT64_C(1) << K_MONTHLY_BUDGET_USD)) != 0;
}

/* Validates v and stores it in layer; relative paths are taken against
 * dir (the current directory if NULL).  The message has no key. */
int config_key_store(struct config *c, struct site_config *layer, int ki,
                     const char *v, const char *dir, unsigned line,
                     struct cfw_err *err)
{
  const struct key_def *k = &keys[ki];
  int rc;

  if (config_key_is_global(ki))
    rc = store_global(c, layer, ki, v, err);
  else if (k->type == KT_U64 || k->type == KT_BOOL || k->type == KT_DOUBLE)
    rc = store_scalar(layer, k, v, err);
  else
    rc = store_string(layer, k, v, dir, err);
  if (rc < 0)
    return rc;
  layer->set_mask |= UINT64_C(1) << ki;
  layer->line[ki] = line;
  site_note_budget(layer);
  return 0;
}

int config_set_cli(struct config *c, const char *key, const char *value,
                   struct cfw_err *err)
{
  char opt[48];
  int ki = config_key_find(key);
  int rc;

  if (ki < 0)
    return cfw_err_set(err, -EINVAL, "%s: unknown key", key);
  rc = config_key_store(c, &c->cli, ki, value, NULL, CONFIG_LINE_CLI, err);
  if (rc < 0) {
    key_cli_name(ki, opt, sizeof(opt));
    return cfw_err_wrap(err, rc, "%s", opt);
  }
  return 0;
}

/* ---- layering ---- */

/* Copies one key's value from src to dst; excludes add up. */
static int site_copy_key(struct site_config *dst, const struct site_config *src,
                         const struct key_def *k)
{
  char *s;
  size_t i;

  if (k->type == KT_U64) {
    *(uint64_t *)field(dst, k) = *(const uint64_t *)cfield(src, k);
  } else if (k->type == KT_BOOL) {
    *(bool *)field(dst, k) = *(const bool *)cfield(src, k);
  } else if (k->type == KT_DOUBLE) {
    *(double *)field(dst, k) = *(const double *)cfield(src, k);
  } else if (k->type == KT_GLOB) {
    for (i = 0; i < src->excludes.n; i++)
      if (strlist_push(&dst->excludes, src->excludes.v[i]) < 0)
        return -ENOMEM;
  } else if (k->type == KT_DIST) {
    strlist_free(&dst->distributions);
    for (i = 0; i < src->distributions.n; i++)
      if (strlist_push(&dst->distributions, src->distributions.v[i]) < 0)
        return -ENOMEM;
  } else {
    s = strdup(*(char *const *)cfield(src, k));
    if (s == NULL)
      return -ENOMEM;
    free(*str_field(dst, k));
    *str_field(dst, k) = s;
  }
  return 0;
}

/* Copies the keys src set over dst. */
int config_site_apply(struct site_config *dst, const struct site_config *src)
{
  int ki;

  for (ki = 0; ki < K_COUNT; ki++) {
    if ((src->set_mask & (UINT64_C(1) << ki)) == 0 || config_key_is_global(ki))
      continue;
    if (site_copy_key(dst, src, &keys[ki]) < 0)
      return -ENOMEM;
    dst->set_mask |= UINT64_C(1) << ki;
    dst->line[ki] = src->line[ki];
  }
  site_note_budget(dst);
  return 0;
}

/* Names where a key's value came from: "file:3: quiet_ms", "--quiet-ms"
 * or "quiet_ms" for the default. */
void config_key_where(const struct config *c, const struct site_config *s,
                      int ki, char *out, size_t outlen)
{
  int n;

  if (s->line[ki] == CONFIG_LINE_CLI) {
    key_cli_name(ki, out, outlen);
    return;
  }
  if (s->line[ki] == 0)
    n = snprintf(out, outlen, "%s", keys[ki].name);
  else
    n = snprintf(out, outlen, "%s:%u: %s", c->path, s->line[ki], keys[ki].name);
  if (n < 0 || (size_t)n >= outlen)
    (void)snprintf(out, outlen, "%s", keys[ki].name); /* fits: short */
}
