/* SPDX-License-Identifier: MIT */
#ifndef CFW_HDRRULE_H
#define CFW_HDRRULE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The [headers GLOB] sections of the config file: the headers an S3
 * origin's objects are uploaded with, by glob, in file order.  This
 * module reads and checks them (config_ini.c feeds it a section's lines);
 * headers.h matches them against files.
 *
 *   [headers *.html]
 *   cache_control = max-age=300
 *   x-amz-meta-team = web
 *   site = www
 *
 * GLOB means what an exclude glob means (exclude.h): without '/' it
 * matches any path component, with '/' the whole relative path, and a
 * trailing '/' directories only, everything under them included.  As in
 * hugo deploy's [[deployment.matchers]] and s3deploy's routes, the first
 * rule that matches a file is its only rule: keys it leaves out are not
 * taken from later rules.  A rule with site = NAME applies to [site
 * NAME] alone and is passed over for the others; a rule without applies
 * to every site. */

/* S3's limit on user-defined metadata in a PUT request: 2 KB, the bytes
 * of every name and value.  Counted here with each name's "x-amz-meta-"
 * prefix, the stricter reading of the limit. */
#define HDRRULE_MAX_META_BYTES 2048
#define HDRRULE_META_PREFIX    "x-amz-meta-"

struct hdrrule_meta {
  char *name;  /* owned; lower case, without "x-amz-meta-" */
  char *value; /* owned */
};

/* One [headers GLOB] section.  Plain; each string is owned, and NULL
 * where the key was not given. */
struct hdrrule {
  char *glob;                /* as written after "headers " */
  char *site;                /* the one site it applies to; NULL: all */
  char *cache_control;       /* checked by hdrval.h, like the three below */
  char *content_type;        /* used as written: no charset is added */
  char *content_encoding;    /* "gzip" etc.: cfwatch never compresses */
  char *content_disposition; /* "attachment; filename=..." */
  struct hdrrule_meta *meta; /* owned; in the order given, names unique */
  size_t n_meta;
  size_t cap_meta;
  unsigned line;      /* of the [headers GLOB] line */
  unsigned site_line; /* of its site key, 0 if none */
};

/* The rules in file order.  Plain; zeroed is empty. */
struct hdrrules {
  struct hdrrule *v; /* owned, and each rule's strings */
  size_t n;
  size_t cap;
};

void hdrrules_free(struct hdrrules *r); /* NULL is fine; leaves it empty */

/* True if section (a header's text, "headers *.html") is a [headers]
 * section, well formed or not. */
bool hdrrules_is_section(const char *section);

/* Starts the rule of the section header section at line: checks its
 * glob (see the message for each refusal) and appends an empty rule.
 * Returns 0, -EINVAL with a message naming the section, or -ENOMEM; r is
 * unchanged on failure. */
int hdrrules_begin(struct hdrrules *r, const char *section, unsigned line,
                   struct cfw_err *err);

/* Sets key to value in the last rule begun (there must be one), as read
 * at line.  A key given twice keeps its last value, as elsewhere in the
 * file; so does an x-amz-meta- name, in any case.  Returns 0, or -EINVAL
 * with a message that reads well after "<file>:<line>: <key>: " ("unknown
 * key ..." for a key a rule cannot hold), or -ENOMEM. */
int hdrrules_set(struct hdrrules *r, const char *key, const char *value,
                 unsigned line, struct cfw_err *err);

/* Appends a copy of rule (every string and name) to r.  Returns 0 or
 * -ENOMEM, with r unchanged. */
int hdrrules_push_copy(struct hdrrules *r, const struct hdrrule *rule);

/* The checks that need the whole file, given the names of its [site
 * NAME] sections: each rule's site names one of them, and no rule
 * repeats the glob of an earlier one that applies to every site it does
 * (it could never match).  Returns 0, or -EINVAL with *line set to the
 * offending line and a message that reads well after "<file>:<line>: ". */
int hdrrules_check(const struct hdrrules *r, const char *const *sites,
                   size_t n_sites, unsigned *line, struct cfw_err *err);

#endif
