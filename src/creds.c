/* SPDX-License-Identifier: MIT */
#include "creds.h"

#include "awsconfig.h"
#include "cfgfile.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The profile keys we read.  Those from CREDS_K_ROLE_ARN on need STS, SSO
 * or the login service, which we do not speak yet; they are the keys that
 * make botocore pick those providers. */
enum creds_key {
  CREDS_K_KEY_ID,
  CREDS_K_SECRET,
  CREDS_K_TOKEN,
  CREDS_K_PROCESS,
  CREDS_K_ROLE_ARN,
  CREDS_K_WEB_IDENTITY,
  CREDS_K_SSO_ACCOUNT_ID,
  CREDS_K_SSO_ROLE_NAME,
  CREDS_K_LOGIN_SESSION, /* after the credentials file, before a process */
  CREDS_K_COUNT
};

static const char *const creds_key_names[CREDS_K_COUNT] = {
    "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", "credential_process",
    "role_arn",          "web_identity_token_file",
    "sso_account_id",    "sso_role_name",
    "login_session",
};

/* What one file says about the wanted profile. */
struct creds_file {
  char path[PATH_MAX];
  bool is_config; /* sections are [profile x] and [default] */
  bool exists;
  bool section_found;
  char *v[CREDS_K_COUNT]; /* owned; wiped on free */
};

struct creds_chain {
  const char *profile;        /* borrowed from opts or the environment */
  bool named;                 /* --profile or AWS_PROFILE: must exist */
  bool explicit_profile;      /* --profile: the environment was skipped */
  struct creds_file files[2]; /* credentials, then config */
};

static void creds_wipe_free(char *s)
{
  if (s == NULL)
    return;
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

static bool creds_set(const char *s)
{
  return s != NULL && *s != '\0';
}

void creds_free(struct creds *c)
{
  if (c == NULL)
    return;
  creds_wipe_free(c->access_key_id);
  creds_wipe_free(c->secret_access_key);
  creds_wipe_free(c->session_token);
  memset(c, 0, sizeof(*c));
}

void creds_move(struct creds *to, struct creds *from)
{
  creds_free(to);
  *to = *from;
  memset(from, 0, sizeof(*from));
}

void creds_mask_key_id(const char *id, char out[8])
{
  size_t n = id != NULL ? strlen(id) : 0;

  memcpy(out, "\xe2\x80\xa6", 4); /* U+2026 and its NUL */
  if (n >= 8)
    memcpy(out + 3, id + n - 4, 5);
}

bool creds_need_refresh(const struct creds *c, int64_t now_s)
{
  if (c == NULL || c->expiration_s <= 0)
    return false;
  return now_s >= c->expiration_s - CREDS_REFRESH_MARGIN_S;
}

int creds_set_keys(struct creds *c, const char *id, const char *secret,
                   const char *token, struct cfw_err *err)
{
  c->access_key_id = strdup(id);
  c->secret_access_key = strdup(secret);
  c->session_token = creds_set(token) ? strdup(token) : NULL;
  if (c->access_key_id == NULL || c->secret_access_key == NULL ||
      (creds_set(token) && c->session_token == NULL)) {
    creds_free(c);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  return 0;
}

/* Copies the value of key k of section sect into f->v[k]. */
static int creds_file_key(struct creds_file *f, const struct awsconfig *cfg,
                          size_t sect, const char *profile, enum creds_key k,
                          struct cfw_err *err)
{
  struct awsconfig_value v;

  if (!awsconfig_get(cfg, sect, creds_key_names[k], &v))
    return 0;
  if (v.sub)
    return cfw_err_set(err, -EINVAL,
                       "profile %s in %s:%u: %s is a sub-section (indented "
                       "lines after an empty value), not a value",
                       profile, f->path, v.line, creds_key_names[k]);
  if (memchr(v.text.s, '\0', v.text.len) != NULL)
    return cfw_err_set(err, -EINVAL, "profile %s in %s:%u: %s holds a NUL byte",
                       profile, f->path, v.line, creds_key_names[k]);
  f->v[k] = strndup(v.text.s, v.text.len);
  if (f->v[k] == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return 0;
}

int creds_section_load(struct creds_section *s, const char *path, bool config,
                       const char *profile, struct cfw_err *err)
{
  enum awsconfig_file kind = config ? AWSCONFIG_CONFIG : AWSCONFIG_CREDENTIALS;
  int rc;

  memset(s, 0, sizeof(*s));
  rc = cfgfile_read(path, CREDS_MAX_FILE_SIZE, true, &s->data, &s->len, err);
  if (rc == -ENOENT || rc == -ENOTDIR)
    return 0;
  s->exists = true;
  if (rc == 0)
    rc = awsconfig_parse(&s->cfg, s->data, s->len, path, err);
  if (rc == 0)
    rc = awsconfig_profile(s->cfg, kind, profile, strlen(profile), &s->sect);
  if (rc == -ENOMEM)
    cfw_err_set(err, rc, "out of memory");
  s->found = rc == 1;
  return rc == 1 ? 0 : rc;
}

void creds_section_free(struct creds_section *s)
{
  awsconfig_destroy(s->cfg);
  cfgfile_free(s->data, s->len);
  memset(s, 0, sizeof(*s));
}

/* Reads f->path and keeps the keys of the wanted profile.  A missing
 * file is not an error: f->exists says so. */
static int creds_file_load(struct creds_file *f, const char *profile,
                           struct cfw_err *err)
{
  struct creds_section s;
  size_t k;
  int rc;

  rc = creds_section_load(&s, f->path, f->is_config, profile, err);
  if (rc == -EFBIG)
    err->code = rc = -E2BIG;
  f->exists = s.exists;
  f->section_found = s.found;
  for (k = 0; rc == 0 && s.found && k < CREDS_K_COUNT; k++)
    rc = creds_file_key(f, s.cfg, s.sect, profile, (enum creds_key)k, err);
  creds_section_free(&s);
  return rc;
}

static const char *creds_env(const struct creds_opts *o, const char *name)
{
  const char *v = o->getenv != NULL ? o->getenv(name) : getenv(name);

  return creds_set(v) ? v : NULL;
}

/* Expands a leading "~/" as the CLI does, with $HOME or the passwd entry. */
static int creds_path(const struct creds_opts *o, const char *var,
                      const char *dflt, char *out, size_t n,
                      struct cfw_err *err)
{
  const char *v = creds_env(o, var);
  const char *home = creds_env(o, "HOME");
  struct passwd pw;
  struct passwd *pwp = NULL;
  char pwbuf[4096];
  int len;

  if (v == NULL)
    v = dflt;
  if (v[0] != '~' || (v[1] != '/' && v[1] != '\0')) {
    home = "";
  } else if (home == NULL) {
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 ||
        pwp == NULL)
      return cfw_err_set(err, -ENOENT, "no home directory for %s", v);
    home = pw.pw_dir;
  }
  len = snprintf(out, n, "%s%s", home, v + (*home != '\0'));
  if (len < 0 || (size_t)len >= n)
    return cfw_err_set(err, -ENAMETOOLONG, "path too long: %s", v);
  return 0;
}

static void creds_chain_free(struct creds_chain *ch)
{
  size_t i;
  size_t k;

  for (i = 0; i < ARRAY_SIZE(ch->files); i++) {
    for (k = 0; k < CREDS_K_COUNT; k++)
      creds_wipe_free(ch->files[i].v[k]);
  }
}

/* The environment; 1 if it held credentials, 0 if not, or an error. */
static int creds_from_env(const struct creds_opts *o, struct creds *out,
                          struct cfw_err *err)
{
  const char *id = creds_env(o, "AWS_ACCESS_KEY_ID");
  const char *secret = creds_env(o, "AWS_SECRET_ACCESS_KEY");
  char masked[8];

  if (id == NULL)
    return 0;
  if (secret == NULL) {
    creds_mask_key_id(id, masked);
    return cfw_err_set(err, -EINVAL,
                       "AWS_ACCESS_KEY_ID (%s) is set but "
                       "AWS_SECRET_ACCESS_KEY is not",
                       masked);
  }
  if (creds_set_keys(out, id, secret, creds_env(o, "AWS_SESSION_TOKEN"), err) <
      0)
    return -ENOMEM;
  str_label(out->source, sizeof(out->source), "environment");
  return 1;
}

/* EKS and similar set these for botocore's web identity provider, which
 * comes before the profile; say so rather than use other credentials. */
static int creds_env_web_identity(const struct creds_opts *o,
                                  struct cfw_err *err)
{
  if (creds_env(o, "AWS_WEB_IDENTITY_TOKEN_FILE") == NULL ||
      creds_env(o, "AWS_ROLE_ARN") == NULL)
    return 0;
  return cfw_err_set(err, -EINVAL,
                     "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set "
                     "(web identity), which cfwatch does not support yet; "
                     "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use "
                     "a profile with credential_process");
}

/* Static keys of one file; 1 if found, 0 if none, or an error. */
static int creds_from_file(const struct creds_chain *ch,
                           const struct creds_file *f, struct creds *out,
                           struct cfw_err *err)
{
  const char *const *v = (const char *const *)f->v;
  char masked[8];

  if (!creds_set(v[CREDS_K_KEY_ID]))
    return 0;
  if (!creds_set(v[CREDS_K_SECRET])) {
    creds_mask_key_id(v[CREDS_K_KEY_ID], masked);
    return cfw_err_set(err, -EINVAL,
                       "profile %s in %s: aws_access_key_id (%s) without "
                       "aws_secret_access_key",
                       ch->profile, f->path, masked);
  }
  if (creds_set_keys(out, v[CREDS_K_KEY_ID], v[CREDS_K_SECRET],
                     v[CREDS_K_TOKEN], err) < 0)
    return -ENOMEM;
  str_label(out->source, sizeof(out->source), "profile %s in %s", ch->profile,
            f->path);
  return 1;
}

/* The first key in [from, to) set in either file is an error. */
static int creds_unsupported(const struct creds_chain *ch, size_t from,
                             size_t to, struct cfw_err *err)
{
  size_t k;
  size_t i;

  for (k = from; k < to; k++) {
    for (i = 0; i < ARRAY_SIZE(ch->files); i++) {
      if (!creds_set(ch->files[i].v[k]))
        continue;
      return cfw_err_set(err, -EINVAL,
                         "profile %s uses %s (in %s), which cfwatch does "
                         "not support yet; use credential_process with `aws "
                         "configure export-credentials --profile %s "
                         "--format process`",
                         ch->profile, creds_key_names[k], ch->files[i].path,
                         ch->profile);
    }
  }
  return 0;
}

static const char *creds_file_state(const struct creds_file *f)
{
  if (!f->exists)
    return "no such file";
  if (!f->section_found)
    return "no such profile";
  return "no keys or credential_process";
}

/* The error when nothing gave credentials: it lists what was tried. */
static int creds_none(const struct creds_chain *ch, struct cfw_err *err)
{
  const struct creds_file *cf = &ch->files[0];
  const struct creds_file *cfg = &ch->files[1];

  if (ch->named && !cf->section_found && !cfg->section_found)
    return cfw_err_set(err, -ENOENT,
                       "profile %s not found: searched %s (%s) and %s (%s)",
                       ch->profile, cf->path, creds_file_state(cf), cfg->path,
                       creds_file_state(cfg));
  return cfw_err_set(
      err, -ENOENT,
      "no AWS credentials found; tried %sprofile %s in %s "
      "(%s) and %s (%s)",
      ch->explicit_profile ? "" : "environment (no AWS_ACCESS_KEY_ID), ",
      ch->profile, cf->path, creds_file_state(cf), cfg->path,
      creds_file_state(cfg));
}

/* Steps 2a to 2d of the chain in creds.h. */
static int creds_from_profile(const struct creds_chain *ch, struct creds *out,
                              char **cmd_out, struct cfw_err *err)
{
  const struct creds_file *cf = &ch->files[0];
  const struct creds_file *cfg = &ch->files[1];
  const char *cmd;
  int rc;

  rc = creds_unsupported(ch, CREDS_K_ROLE_ARN, CREDS_K_LOGIN_SESSION, err);
  if (rc == 0)
    rc = creds_from_file(ch, cf, out, err);
  if (rc == 0)
    rc = creds_unsupported(ch, CREDS_K_LOGIN_SESSION, CREDS_K_COUNT, err);
  if (rc != 0)
    return rc < 0 ? rc : CREDS_READY;
  cmd = creds_set(cf->v[CREDS_K_PROCESS]) ? cf->v[CREDS_K_PROCESS]
                                          : cfg->v[CREDS_K_PROCESS];
  if (creds_set(cmd)) {
    *cmd_out = strdup(cmd);
    if (*cmd_out == NULL)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    str_label(out->source, sizeof(out->source),
              "credential_process of profile %s", ch->profile);
    return CREDS_RUN_PROCESS;
  }
  rc = creds_from_file(ch, cfg, out, err);
  if (rc != 0)
    return rc < 0 ? rc : CREDS_READY;
  return creds_none(ch, err);
}

/* botocore's order (configprovider.py): AWS_DEFAULT_PROFILE, the older
 * name, before AWS_PROFILE, so that a shell setting both gets the
 * profile the AWS CLI uses. */
const char *creds_profile(const struct creds_opts *o, bool *named)
{
  const char *p = creds_set(o->profile) ? o->profile : NULL;

  if (p == NULL)
    p = creds_env(o, "AWS_DEFAULT_PROFILE");
  if (p == NULL)
    p = creds_env(o, "AWS_PROFILE");

  *named = p != NULL;
  return p != NULL ? p : "default";
}

int creds_file_path(const struct creds_opts *o, bool config, char *out,
                    size_t n, struct cfw_err *err)
{
  if (config)
    return creds_path(o, "AWS_CONFIG_FILE", "~/.aws/config", out, n, err);
  return creds_path(o, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", out,
                    n, err);
}

static int creds_load_profile(const struct creds_opts *o,
                              struct creds_chain *ch, struct cfw_err *err)
{
  struct creds_file *cf = &ch->files[0];
  struct creds_file *cfg = &ch->files[1];
  int rc;

  ch->profile = creds_profile(o, &ch->named);
  ch->explicit_profile = creds_set(o->profile);
  cfg->is_config = true;
  rc = creds_file_path(o, false, cf->path, sizeof(cf->path), err);
  if (rc == 0)
    rc = creds_file_path(o, true, cfg->path, sizeof(cfg->path), err);
  if (rc == 0)
    rc = creds_file_load(cf, ch->profile, err);
  if (rc == 0)
    rc = creds_file_load(cfg, ch->profile, err);
  return rc;
}

int creds_resolve(const struct creds_opts *o, struct creds *out, char **cmd_out,
                  struct cfw_err *err)
{
  struct creds_chain ch;
  int rc = 0;

  *cmd_out = NULL;
  /* An explicit --profile skips the environment, as in the AWS CLI. */
  if (!creds_set(o->profile))
    rc = creds_from_env(o, out, err);
  if (rc == 0 && !creds_set(o->profile))
    rc = creds_env_web_identity(o, err);
  if (rc != 0)
    return rc < 0 ? rc : CREDS_READY;
  memset(&ch, 0, sizeof(ch));
  rc = creds_load_profile(o, &ch, err);
  if (rc == 0)
    rc = creds_from_profile(&ch, out, cmd_out, err);
  creds_chain_free(&ch);
  return rc;
}
