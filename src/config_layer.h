/* SPDX-License-Identifier: MIT */
#ifndef CFW_CONFIG_LAYER_H
#define CFW_CONFIG_LAYER_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

/* Internal to config.c, config_key.c and config_ini.c: what the INI
 * reader and site resolution need of the key table and the layers.
 * config_key.c owns the table and what is done to one key; config.c owns
 * the layers and site resolution; config_ini.c only turns a file's
 * sections and lines into calls to these.  A key is named by its index
 * in the table (0 to CONFIG_KEYS - 1), which config_key_find gives and
 * enum key_id spells. */

/* The order is the bit order in site_config.set_mask. */
enum key_id {
  K_ROOT,
  K_DISTRIBUTION_ID,
  K_PROFILE,
  K_ENDPOINT,
  K_CA_FILE,
  K_STATE_DIR,
  K_QUIET_MS,
  K_MAX_DELAY_MS,
  K_RETRY_FOR,
  K_DRY_RUN,
  K_LOG_FORMAT,
  K_LOG_LEVEL,
  K_URL_PREFIX,
  K_INDEX_NAME,
  K_DIR_WITHOUT_SLASH,
  K_PRETTY_URLS,
  K_QUERY_STRINGS,
  K_EXCLUDE,
  K_NO_DEFAULT_EXCLUDES,
  K_MAX_PATHS_PER_BATCH,
  K_WILDCARD_THRESHOLD,
  K_NEVER_WILDCARD,
  K_MAX_EVICT_RATIO,
  K_STRICT_EVICT_RATIO,
  K_MONTHLY_FREE_PATHS,
  K_MONTHLY_BUDGET_USD,
  K_ALLOW_OVER_BUDGET,
  K_UPLOAD_CMD,
  K_UPLOAD_TIMEOUT,
  K_MAX_DELETE,
  K_MAX_DELETE_SHARE,
  K_DELETE_GRACE_MS,
  K_ALLOW_DELETE,
  K_PASS_FILES,
  K_ORIGIN,
  K_REGION,
  K_S3_ENDPOINT,
  K_ACCOUNT_BUDGET,
  K_CACHE_TAG_HEADER,
  K_COUNT
};

/* The index of the key spelt name ("quiet_ms"), or -1 if there is none. */
int config_key_find(const char *name);

/* True if every key of the table has its entry: the designated
 * initialisers let one be forgotten without a compiler warning. */
bool config_key_table_whole(void);

/* True for log_level and log_format, which only [cfwatch] and the command
 * line may set. */
bool config_key_is_global(int ki);

/* Checks v for key ki and stores it in layer, one of c's layers, noting
 * line as where it came from.  Relative paths are taken against dir (the
 * current directory if NULL).  Returns 0, or a negative errno with a
 * message that names no key (the caller adds where and which). */
int config_key_store(struct config *c, struct site_config *layer, int ki,
                     const char *v, const char *dir, unsigned line,
                     struct cfw_err *err);

/* Copies the keys src set over dst (excludes add up, a list of
 * distributions replaces dst's), and where each came from.  Returns 0
 * or -ENOMEM. */
int config_site_apply(struct site_config *dst, const struct site_config *src);

/* Names where s's value of key ki came from, in out: "FILE:3: quiet_ms",
 * "--quiet-ms", or "quiet_ms" for the default; cut to the key's name if
 * outlen is too short for the rest. */
void config_key_where(const struct config *c, const struct site_config *s,
                      int ki, char *out, size_t outlen);

/* Appends an empty [site name] layer to c->sites and points *out at it;
 * that pointer lasts until the next call.  name is copied.  Returns 0 or
 * -ENOMEM; on failure c is unchanged. */
int config_site_add(struct config *c, const char *name,
                    struct site_config **out, struct cfw_err *err);

/* config_dist.c: a site's distributions. */

/* The longest set of ids joined with ',' (six of CloudFront's
 * 14-character ids): the state's and the CallerReference's fields for
 * the distribution have room for it (statefmt.h, batch.h). */
#define CONFIG_DIST_SET_MAX 90

/* Checks id and appends it to l; -EINVAL if it is not an id or l has
 * it already (the message names the id, not the key or line). */
int config_dist_add(struct strlist *l, const char *id, struct cfw_err *err);

/* Sets r->distribution_id and r->distribution_set from
 * r->distributions; -EINVAL if the set is too long, -ENOMEM. */
int config_dist_resolve(struct site_config *r, struct cfw_err *err);

/* config_state.c: where a site's state lives. */

/* True if a state_dir value names a state in S3 ("s3://..."). */
bool config_state_is_url(const char *v);

/* Resolves r's state_dir: an s3:// value moves to state_url and
 * state_dir becomes its cache, $XDG_CACHE_HOME/cfwatch/<id> (else
 * $HOME/.cache/cfwatch/<id>), <id> 16 hex digits of SHA-256(URL); an
 * unset one becomes $XDG_STATE_HOME/cfwatch/<id> (else
 * $HOME/.local/state/cfwatch/<id>), <id> of SHA-256(root "\n"
 * distribution_id).  0 or a negative errno. */
int config_state_home(struct site_config *r, struct cfw_err *err);

#endif
