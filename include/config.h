/* SPDX-License-Identifier: MIT */
#ifndef CFW_CONFIG_H
#define CFW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hdrrule.h"
#include "log.h"
#include "strlist.h"

/* Configuration from an INI file and the command line.
 *
 * The file has one [cfwatch] section and optional [site NAME] sections;
 * keys are the long options with '-' written '_', plus root.  A [site]
 * key overrides [cfwatch], and a command-line value overrides both, for
 * every site.  A scalar key given twice in one section keeps the last
 * value (as git and systemd do); exclude and distribution_id append
 * (an id given twice in one layer is an error), and excludes from
 * [cfwatch], the site and the command line all apply.  log_level and
 * log_format are global: only [cfwatch] and the command line set them.
 *
 * Call order: config_init, config_load_file (optional), config_set_cli
 * for each command-line value, config_finish, then config_sites. */

#define CONFIG_KEYS     39          /* entries in the key table */
#define CONFIG_LINE_CLI 0xffffffffu /* origin: the command line */

#define CONFIG_DEFAULT_MAX_DELETE       256 /* as s3deploy */
#define CONFIG_DEFAULT_MAX_DELETE_SHARE 0.5
#define CONFIG_DEFAULT_DELETE_GRACE_MS  30000
/* A pass of this many files held 35 MiB above the idle 149 MiB of a
 * site of a million (bench/RESULTS.md); a change of fewer files goes in
 * one pass (issue 13). */
#define CONFIG_DEFAULT_PASS_FILES 262144

struct site_config {
  char *name; /* owned; "" for the site made from [cfwatch], NULL in
                 the [cfwatch] and command-line layers */
  char *root; /* owned; absolute, lexically normalised */
  /* distribution_id, repeatable: each line (or --distribution-id)
   * adds one, in the order given; a later layer's list replaces an
   * earlier one's.  Resolved, distribution_id is the first (owned;
   * NULL if none) and distribution_set the sorted set joined with ','
   * (owned; NULL if none), which the state records: for one
   * distribution the two are equal. */
  struct strlist distributions;
  char *distribution_id;
  char *distribution_set;
  char *profile;   /* owned; NULL if unset */
  char *endpoint;  /* owned; no trailing '/' */
  char *ca_file;   /* owned; absolute; NULL if unset */
  char *state_dir; /* owned; absolute */
  /* owned; "s3://BUCKET/PREFIX" when state_dir named one (the state
   * lives in S3 and state_dir is its cache), else NULL */
  char *state_url;
  uint64_t quiet_ms;
  uint64_t max_delay_ms;
  uint64_t retry_for_s;
  bool dry_run;
  char *url_prefix; /* owned; "" or "/x" without a trailing '/' */
  char *index_name; /* owned; "index.html" by default */
  bool dir_without_slash;
  bool pretty_urls;
  bool query_strings; /* cached by query string: urlmap.h */
  bool no_default_excludes;
  struct strlist excludes; /* globs, in the order given */

  /* The planner's options; config_planner_opts() (planner_config.h)
   * turns them into struct planner_opts. */
  uint64_t max_paths_per_batch; /* file paths per invalidation */
  uint64_t wildcard_threshold;  /* paths a directory needs to collapse */
  uint64_t monthly_free_paths;  /* CloudFront's free tier */
  bool never_wildcard;
  bool strict_evict_ratio;
  bool allow_over_budget;
  bool has_budget;           /* monthly_budget_usd was set; 0 is a budget */
  double max_evict_ratio;    /* in [0, 1] */
  double monthly_budget_usd; /* >= 0; meaningful only with has_budget */

  /* Run before each batch is invalidated (upload.h); NULL if unset. */
  char *upload_cmd;          /* owned; never "" */
  uint64_t upload_timeout_s; /* 1 to 86400; 600 by default */

  /* The mass-deletion guard (guard.h): a pass that deletes more than
   * max_delete files, or more than max_delete_share of them (when that
   * is at least GUARD_SHARE_FLOOR files), is held until allow_delete or,
   * in the daemon, delete_grace_ms of quiet. */
  uint64_t max_delete;
  double max_delete_share;
  uint64_t delete_grace_ms;
  bool allow_delete;

  /* The most files one pass takes in to hash and send (scan.h's
   * bound): a bigger change goes out in several passes, so that a
   * pass's memory stays flat.  0: no bound. */
  uint64_t pass_files;

  /* An S3 origin cfwatch uploads to itself (s3url.h), its region and an
   * S3-compatible endpoint (path-style); NULL if unset. */
  char *origin;      /* owned; "s3://bucket/prefix" as given */
  char *region;      /* owned; NULL if unset: awsregion.h finds one */
  char *s3_endpoint; /* owned; no trailing '/' */
  /* Resolved only: where region was set ("--region" or "FILE:LINE:
   * region"), owned; NULL when region is. */
  char *region_from;

  /* Requests `--account` may make to count the account's month
   * (cfaccount.h); past them the count is a lower bound. */
  uint64_t account_budget;

  /* With an S3 origin: the header (x-amz-meta-NAME) each uploaded
   * object carries its cache tag in (cachetag.h), and the one the
   * distribution's CacheTagConfig must name for cfwatch to invalidate
   * by tag.  Owned; NULL if unset. */
  char *cache_tag_header;

  /* Private bookkeeping: a bit per key set in this layer, and where each
   * came from (file line, CONFIG_LINE_CLI, or 0 for the default). */
  uint64_t set_mask;
  unsigned line[CONFIG_KEYS];
};

struct config {
  /* Before config_finish: the [cfwatch] layer.  After it, unchanged; read
   * the sites through config_sites() instead. */
  struct site_config base;
  /* Before config_finish: the raw [site NAME] layers.  After it: every
   * site resolved (defaults < [cfwatch] < [site] < command line), in
   * file order.  With no [site] section, one site named "" made from
   * [cfwatch]; with any, [cfwatch] only gives defaults. */
  struct site_config *sites; /* owned */
  size_t n_sites;
  size_t cap_sites;         /* private: the room sites has */
  enum log_level log_level; /* LOG_INFO by default */
  enum log_format log_format;
  char *path;             /* owned; the file as given, NULL if none */
  struct site_config cli; /* private: the command-line layer */
  /* The file's [headers GLOB] sections, the headers of an S3 origin's
   * objects (hdrrule.h), in file order: each applies to every site or
   * names one; headers_set_new() (headers.h) picks a site's rules. */
  struct hdrrules headers;
};

/* Sets the defaults; cannot fail.  Pair with config_free. */
void config_init(struct config *c);
void config_free(struct config *c); /* NULL is fine */

/* Reads an INI file.  Relative root, state_dir and ca_file are taken
 * relative to the file's folder.  Stops at the first error and returns a
 * negative errno (-EINVAL for any bad content, the open(2) error for a
 * file that cannot be read) with a one-line message such as
 * "cfwatch.ini:7: quiet_msec: unknown key" or "cfwatch.ini:9: syntax
 * error".  Call it at most once per config. */
int config_load_file(struct config *c, const char *path, struct cfw_err *err);

/* Sets one command-line value.  key is in the file's spelling
 * ("quiet_ms"); the message names the option ("--quiet-ms: ...", or
 * "ROOT: ..." for root).  A relative path is taken relative to the
 * current directory.  Returns 0 or a negative errno. */
int config_set_cli(struct config *c, const char *key, const char *value,
                   struct cfw_err *err);

/* Resolves every site: inheritance, string defaults, the default
 * state_dir ($XDG_STATE_HOME/cfwatch/<id>, else
 * $HOME/.local/state/cfwatch/<id>, where <id> is 16 hex digits of
 * SHA-256(root "\n" distribution_id)); a state_dir s3://BUCKET/PREFIX
 * becomes state_url, with state_dir its cache
 * ($XDG_CACHE_HOME/cfwatch/<id>, else $HOME/.cache/cfwatch/<id>, <id>
 * of SHA-256(URL)); and the checks that span keys: a
 * root is required, max_delay_ms >= quiet_ms, and no two sites share a
 * state_dir.  distribution_id stays optional here (plan needs none).
 * Call once; returns 0 or a negative errno. */
int config_finish(struct config *c, struct cfw_err *err);

/* The resolved sites (>= 1 after a successful config_finish); borrowed
 * from c. */
const struct site_config *config_sites(const struct config *c, size_t *n);

#endif
