/* SPDX-License-Identifier: MIT */
#ifndef CFW_EXCLUDE_H
#define CFW_EXCLUDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A set of globs, compiled once and matched against relative paths
 * ('/'-separated, no leading '/') of files and directories: the one home
 * of cfwatch's glob rules, for the excludes (urlmap.c) and for the
 * [headers GLOB] rules (headers.c), which match exactly as excludes do.
 *
 * A glob means what fnmatch(3) makes of it, without FNM_PERIOD (so '*'
 * matches a leading dot) and with '\' escaping the next byte:
 *   - a glob without '/' matches any single component (the file's name or
 *     that of any parent directory): "*.swp", ".git/";
 *   - a glob with a '/' matches the whole relpath with FNM_PATHNAME, so
 *     '*' stops at '/'; a leading '/' is allowed and changes nothing, the
 *     match being anchored at the root anyway: "/blog/2019-*";
 *   - a glob ending in '/' matches directories only;
 *   - a glob that matches a directory also excludes everything under it.
 * There is no "**" and no negation.
 *
 * Cost: a glob that is a literal name, or a literal with one run of '*'
 * ("*.swp", ".#*", "#*#"), or a literal path, is compared bytewise; any
 * other ('?', '[', two runs of '*', a '*' in a glob with '/') goes to
 * fnmatch(3).  cfwatch never calls setlocale(3), so fnmatch compares
 * bytes in the C locale just as the comparison does. */

struct exclude; /* opaque */

/* An empty set, which excludes nothing.  Returns 0 or -ENOMEM; on failure
 * *out is NULL. */
int exclude_new(struct exclude **out, struct cfw_err *err);
void exclude_destroy(struct exclude *x); /* NULL is fine */

/* Adds a copy of glob.  Returns 0, -EINVAL (empty once its leading and
 * trailing '/' are taken off) or -ENOMEM, with x as it was.  The globs
 * added are numbered from 0 in the order added (a refused one takes no
 * number), as exclude_first() reports them. */
int exclude_add(struct exclude *x, const char *glob, struct cfw_err *err);

/* What exclude_add() would say of glob, without a set: 0, -EINVAL or
 * -ENOMEM.  For checking a config file's globs where they are read. */
int exclude_glob_check(const char *glob, struct cfw_err *err);

/* True if relpath (a file, or a directory if is_dir) or one of its parent
 * directories matches a glob of x; "" (the root) never does.  Every
 * component is tested, so callers need not have tested the parents.
 * Allocates nothing and writes nothing, so it is safe to call from
 * several threads at once.  O(globs * components), with one pass over
 * relpath for the globs without '/'. */
bool exclude_match(const struct exclude *x, const char *relpath, bool is_dir);

/* No glob matched. */
#define EXCLUDE_NONE SIZE_MAX

/* The number (see exclude_add) of the first glob of x that matches
 * relpath or one of its parent directories, as exclude_match() means it,
 * or EXCLUDE_NONE: exclude_match() is exclude_first() != EXCLUDE_NONE.
 * For rules where the first match wins.  Thread-safe like exclude_match,
 * and as cheap but for trying every glob whose key a component holds
 * instead of stopping at the first that matches. */
size_t exclude_first(const struct exclude *x, const char *relpath, bool is_dir);

/* The default excludes (listed with their reasons in urlmap.h): sets
 * *globs to a static array and returns its length. */
size_t exclude_defaults(const char *const **globs);

#endif
