/* SPDX-License-Identifier: MIT */
#ifndef CFW_CONFIG_LAYER_H
#define CFW_CONFIG_LAYER_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

/* Internal to config.c and config_ini.c: what the INI reader needs of the
 * key table and the layers.  config.c owns the table, the layers and site
 * resolution; config_ini.c only turns a file's sections and lines into
 * calls to these.  A key is named by its index in the table (0 to
 * CONFIG_KEYS - 1), which config_key_find gives. */

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
