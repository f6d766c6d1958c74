/* SPDX-License-Identifier: MIT */
#include "awsregion.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsconfig.h"
#include "confcheck.h"
#include "creds.h"
#include "err.h"
#include "util.h"

/* The S3 client's region, in the AWS CLI's order: awsregion.h. */

/* What one shared file says about the profile's region. */
struct awsregion_file {
  char path[PATH_MAX];
  bool section_found;
};

static const char *awsregion_env(const struct awsregion_opts *o,
                                 const char *name)
{
  const char *v = o->getenv != NULL ? o->getenv(name) : getenv(name);

  return v != NULL && *v != '\0' ? v : NULL;
}

/* Takes v as the region if confcheck_region (the config's own check)
 * accepts it; the message names out->source, filled already. */
static int awsregion_take(struct awsregion *out, const char *v,
                          struct cfw_err *err)
{
  int rc = confcheck_region(v, err);

  if (rc < 0) {
    cfw_err_prefix(err, "%s", out->source);
    cfw_err_class(err, CFW_CLASS_USAGE);
    return rc;
  }
  str_copy(out->name, sizeof(out->name), v);
  return 0;
}

static int awsregion_usage(struct cfw_err *err, int rc)
{
  cfw_err_class(err, CFW_CLASS_USAGE);
  return rc;
}

/* The region of section sect: 1 with *out filled, 0 if unset or "". */
static int awsregion_value(const struct awsconfig *cfg, size_t sect,
                           const char *profile, const char *path,
                           struct awsregion *out, struct cfw_err *err)
{
  struct awsconfig_value v;
  char val[AWSREGION_MAX];
  int rc;

  if (!awsconfig_get(cfg, sect, "region", &v) || v.text.len == 0)
    return 0;
  str_label(out->source, sizeof(out->source), "profile %s in %s:%u: region",
            profile, path, v.line);
  if (v.sub)
    return awsregion_usage(err, cfw_err_set(err, -EINVAL,
                                            "%s: a sub-section (indented "
                                            "lines after an empty value), "
                                            "not a region",
                                            out->source));
  if (v.text.len >= sizeof(val) || memchr(v.text.s, '\0', v.text.len))
    return awsregion_usage(err, cfw_err_set(err, -EINVAL,
                                            "%s: not a region (a region "
                                            "looks like eu-west-1)",
                                            out->source));
  memcpy(val, v.text.s, v.text.len);
  val[v.text.len] = '\0';
  rc = awsregion_take(out, val, err);
  return rc < 0 ? rc : 1;
}

/* Reads one shared file as botocore does (awsconfig.h): 1 with *out
 * filled if the profile's section sets a region, 0 if not (or no such
 * file), or an error. */
static int awsregion_file(struct awsregion_file *f, bool config,
                          const char *profile, struct awsregion *out,
                          struct cfw_err *err)
{
  struct creds_section s;
  int rc;

  rc = creds_section_load(&s, f->path, config, profile, err);
  if (rc == -EINVAL)
    cfw_err_class(err, CFW_CLASS_USAGE);
  f->section_found = s.found;
  if (rc == 0 && s.found)
    rc = awsregion_value(s.cfg, s.sect, profile, f->path, out, err);
  creds_section_free(&s);
  return rc;
}

/* Step 3: the credentials file's section, then the config file's. */
static int awsregion_profile(const struct awsregion_opts *o,
                             struct awsregion *out, struct cfw_err *err)
{
  struct creds_opts co = {o->profile, o->getenv};
  struct awsregion_file f[2];
  const char *profile;
  bool named;
  size_t i;
  int rc = 0;

  memset(f, 0, sizeof(f));
  profile = creds_profile(&co, &named);
  for (i = 0; rc == 0 && i < ARRAY_SIZE(f); i++) {
    rc = creds_file_path(&co, i == 1, f[i].path, sizeof(f[i].path), err);
    if (rc == 0)
      rc = awsregion_file(&f[i], i == 1, profile, out, err);
  }
  if (rc != 0)
    return rc;
  if (named && !f[0].section_found && !f[1].section_found)
    return awsregion_usage(
        err, cfw_err_set(err, -EINVAL,
                         "profile %s not found (for its region): searched "
                         "%s and %s",
                         profile, f[0].path, f[1].path));
  return 0;
}

int awsregion_resolve(const struct awsregion_opts *o, struct awsregion *out,
                      struct cfw_err *err)
{
  static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
  const char *v;
  size_t i;
  int rc;

  memset(out, 0, sizeof(*out));
  if (o->region != NULL) {
    str_label(out->source, sizeof(out->source), "%s",
              o->source != NULL ? o->source : "region");
    return awsregion_take(out, o->region, err);
  }
  for (i = 0; i < ARRAY_SIZE(vars); i++) {
    v = awsregion_env(o, vars[i]);
    if (v == NULL)
      continue;
    str_label(out->source, sizeof(out->source), "%s", vars[i]);
    return awsregion_take(out, v, err);
  }
  rc = awsregion_profile(o, out, err);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  str_label(out->source, sizeof(out->source), "the default");
  str_copy(out->name, sizeof(out->name), AWSREGION_DEFAULT);
  return 0;
}
