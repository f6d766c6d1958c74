/* SPDX-License-Identifier: MIT */
/* Where a site's state lives (config_layer.h): a state dir given or
 * derived from the site, or a state in S3 with a cache dir derived
 * from its URL.  The cache is keyed by the URL alone, so every site of
 * one machine that names the URL shares it (config.c refuses two sites
 * sharing a state dir). */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "confcheck.h"
#include "config_layer.h"
#include "util.h"

#define STATE_ID_BYTES 8 /* 16 hex digits of SHA-256 */
#define S3_SCHEME      "s3://"

bool config_state_is_url(const char *v)
{
  return strncmp(v, S3_SCHEME, strlen(S3_SCHEME)) == 0;
}

/* 16 hex digits of SHA-256(text). */
static int state_id(const char *text, size_t len, char *out,
                    struct cfw_err *err)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1)
    return cfw_err_set(err, -EIO, "cannot hash the state dir's name");
  hex_encode(md, STATE_ID_BYTES, out);
  return 0;
}

/* $<var>/cfwatch/<id>, else $HOME/<home_sub>/cfwatch/<id>. */
static int state_home_dir(struct site_config *s, const char *var,
                          const char *home_sub, const char *id,
                          struct cfw_err *err)
{
  const char *xdg = getenv(var);
  const char *home = getenv("HOME");
  char path[PATH_MAX];
  int n;

  /* The XDG spec ignores a relative XDG_*_HOME. */
  if (xdg != NULL && xdg[0] == '/')
    n = snprintf(path, sizeof(path), "%s/cfwatch/%s", xdg, id);
  else if (home != NULL && home[0] == '/')
    n = snprintf(path, sizeof(path), "%s/%s/cfwatch/%s", home, home_sub, id);
  else
    return cfw_err_set(err, -EINVAL, "no state_dir: set state_dir, %s or HOME",
                       var);
  if (n < 0 || (size_t)n >= sizeof(path))
    return cfw_err_set(err, -ENAMETOOLONG, "state_dir: path too long");
  free(s->state_dir);
  s->state_dir = confcheck_path_normalise(path);
  if (s->state_dir == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return 0;
}

static int state_dir_default(struct site_config *s, struct cfw_err *err)
{
  char id[2 * STATE_ID_BYTES + 1];
  struct buf b;
  int rc;

  buf_init(&b, (size_t)2 * PATH_MAX);
  rc = buf_addf(&b, "%s\n%s", s->root,
                s->distribution_set ? s->distribution_set : "");
  if (rc < 0)
    rc = cfw_err_set(err, rc, "cannot hash the root for the state dir");
  if (rc == 0)
    rc = state_id(b.data, b.len, id, err);
  buf_free(&b);
  if (rc < 0)
    return rc;
  return state_home_dir(s, "XDG_STATE_HOME", ".local/state", id, err);
}

/* A state in S3: the URL moves to state_url, its cache to state_dir. */
static int state_cache_dir(struct site_config *s, struct cfw_err *err)
{
  char id[2 * STATE_ID_BYTES + 1];
  int rc;

  free(s->state_url);
  s->state_url = s->state_dir; /* moved */
  s->state_dir = NULL;
  rc = state_id(s->state_url, strlen(s->state_url), id, err);
  if (rc < 0)
    return rc;
  return state_home_dir(s, "XDG_CACHE_HOME", ".cache", id, err);
}

int config_state_home(struct site_config *r, struct cfw_err *err)
{
  if (r->state_dir == NULL)
    return state_dir_default(r, err);
  if (config_state_is_url(r->state_dir))
    return state_cache_dir(r, err);
  return 0;
}
