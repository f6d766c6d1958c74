/* SPDX-License-Identifier: MIT */
#include "confcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "cachetag.h"
#include "s3url.h"
#include "util.h"

#define DIST_ID_MAX   64 /* CloudFront IDs are far shorter */
#define SITE_NAME_MAX 40 /* inih keeps 49 bytes of a section name */

/* ---- value checks; each message follows "<where>: <key>: " ---- */

static bool has_space_or_control(const char *v)
{
  for (; *v != '\0'; v++)
    if ((unsigned char)*v <= ' ' || *v == 0x7f)
      return true;
  return false;
}

int confcheck_nonempty(const char *v, struct cfw_err *err)
{
  if (*v == '\0')
    return cfw_err_set(err, -EINVAL, "must not be empty");
  return 0;
}

int confcheck_dist_id(const char *v, struct cfw_err *err)
{
  size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

  if (n == 0 || v[n] != '\0' || n > DIST_ID_MAX)
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" is not a distribution ID (1 to %d of A-Z and "
                       "0-9, e.g. E2QWRUHAPOMQZL)",
                       v, DIST_ID_MAX);
  return 0;
}

int confcheck_profile(const char *v, struct cfw_err *err)
{
  if (*v == '\0' || has_space_or_control(v))
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" is not a profile name (non-empty, no spaces "
                       "or control characters)",
                       v);
  return 0;
}

int confcheck_index_name(const char *v, struct cfw_err *err)
{
  if (*v == '\0' || strchr(v, '/') != NULL || strcmp(v, ".") == 0 ||
      strcmp(v, "..") == 0)
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" is not a file name (non-empty, no '/')", v);
  return 0;
}

int confcheck_url_prefix(const char *v, struct cfw_err *err)
{
  if (*v == '\0')
    return 0;
  if (*v != '/' || has_space_or_control(v) || strpbrk(v, "*?#") != NULL)
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" is not a URL prefix (empty, or starting with "
                       "'/' without spaces, '*', '?' or '#')",
                       v);
  return 0;
}

/* ---- the endpoint ---- */

static bool host_is_loopback(const char *host, bool bracketed)
{
  unsigned char a[16];

  if (bracketed)
    return inet_pton(AF_INET6, host, a) == 1 &&
           memcmp(a, &in6addr_loopback, sizeof(a)) == 0;
  if (strcasecmp(host, "localhost") == 0)
    return true;
  return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

static int endpoint_port(const char *p, size_t n, struct cfw_err *err)
{
  char port[8];
  uint64_t v;

  if (n == 0 || n >= sizeof(port))
    return cfw_err_set(err, -EINVAL, "bad port");
  memcpy(port, p, n);
  port[n] = '\0';
  if (parse_u64(port, 1, 65535, &v) < 0)
    return cfw_err_set(err, -EINVAL, "bad port \"%s\"", port);
  return 0;
}

/* Copies the host of an authority ("h:port", "[::1]:port") into host. */
static int endpoint_host(const char *auth, size_t n, char *host, size_t hostlen,
                         bool *bracketed, struct cfw_err *err)
{
  const char *end;
  const char *close;

  *bracketed = auth[0] == '[';
  close = *bracketed ? memchr(auth, ']', n) : NULL;
  if (*bracketed && close == NULL)
    return cfw_err_set(err, -EINVAL, "no ']' after the IPv6 address");
  if (*bracketed)
    auth++;
  end = *bracketed ? close : auth + strcspn(auth, ":/");
  if (end == auth || (size_t)(end - auth) >= hostlen)
    return cfw_err_set(err, -EINVAL, "no host, or a host too long");
  memcpy(host, auth, (size_t)(end - auth));
  host[end - auth] = '\0';
  if (*bracketed)
    end++; /* past the ']' */
  if (*end == ':')
    return endpoint_port(end + 1, strcspn(end + 1, "/"), err);
  if (*end != '\0' && *end != '/')
    return cfw_err_set(err, -EINVAL, "junk after the host");
  return 0;
}

int confcheck_endpoint(const char *v, struct cfw_err *err)
{
  char host[256];
  const char *auth;
  int rc;
  size_t n;
  bool https = strncasecmp(v, "https://", 8) == 0;
  bool bracketed;

  if (!https && strncasecmp(v, "http://", 7) != 0)
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" must start with https:// (or http:// for a "
                       "loopback host)",
                       v);
  if (has_space_or_control(v) || strpbrk(v, "?#") != NULL)
    return cfw_err_set(err, -EINVAL,
                       "\"%s\": no spaces, query or fragment in the endpoint",
                       v);
  auth = v + (https ? 8 : 7);
  n = strcspn(auth, "/");
  if (memchr(auth, '@', n) != NULL)
    return cfw_err_set(err, -EINVAL,
                       "credentials do not belong in the endpoint URL");
  rc = endpoint_host(auth, n, host, sizeof(host), &bracketed, err);
  if (rc < 0)
    return cfw_err_wrap(err, rc, "\"%s\"", v);
  if (!https && !host_is_loopback(host, bracketed))
    return cfw_err_set(err, -EINVAL,
                       "\"%s\": plain http:// would send signed requests "
                       "in the clear; it is allowed only to 127.0.0.0/8, "
                       "localhost or [::1], so use https://",
                       v);
  return 0;
}

/* A copy of v without trailing slashes. */
char *confcheck_dup_no_trailing_slash(const char *v)
{
  size_t n = strlen(v);

  while (n > 0 && v[n - 1] == '/')
    n--;
  return strndup(v, n);
}

/* ---- paths ---- */

/* Resolves ".", ".." and repeated '/' in an absolute path by text alone;
 * the path need not exist.  Returns NULL on ENOMEM. */
char *confcheck_path_normalise(const char *in)
{
  char *out = malloc(strlen(in) + 2);
  size_t o = 0;
  size_t n;

  if (out == NULL)
    return NULL;
  while (*in != '\0') {
    n = strcspn(in, "/");
    if (n == 2 && in[0] == '.' && in[1] == '.') {
      while (o > 0 && out[o - 1] != '/')
        o--;
      if (o > 0)
        o--;
    } else if (n > 0 && !(n == 1 && in[0] == '.')) {
      out[o++] = '/';
      memcpy(out + o, in, n);
      o += n;
    }
    in += n + (in[n] == '/');
  }
  if (o == 0)
    out[o++] = '/';
  out[o] = '\0';
  return out;
}

/* Makes p absolute against dir (the current directory if NULL). */
int confcheck_path_absolute(const char *dir, const char *p, char **out,
                            struct cfw_err *err)
{
  char cwd[PATH_MAX];
  struct buf b;
  int rc;

  if (p[0] != '/' && dir == NULL) {
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
      rc = -errno;
      return cfw_err_set(err, rc, "current directory: %s", strerror(-rc));
    }
    dir = cwd;
  }
  buf_init(&b, PATH_MAX);
  if (p[0] == '/')
    rc = buf_adds(&b, p);
  else
    rc = buf_addf(&b, "%s/%s", dir, p);
  if (rc < 0) {
    buf_free(&b);
    return cfw_err_set(err, rc == -E2BIG ? -ENAMETOOLONG : rc,
                       "path too long or out of memory");
  }
  *out = confcheck_path_normalise(buf_str(&b));
  buf_free(&b);
  if (*out == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return 0;
}

/* A shell would expand "~/www"; we cannot know which home was meant. */
int confcheck_path(const char *v, struct cfw_err *err)
{
  if (v[0] == '~')
    return cfw_err_set(err, -EINVAL,
                       "\"%s\": '~' is not expanded; write the whole path", v);
  return confcheck_nonempty(v, err);
}

/* ---- names ---- */

int confcheck_site_name(const char *name, const char *section,
                        struct cfw_err *err)
{
  size_t n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "abcdefghijklmnopqrstuvwxyz0123456789._-");

  if (n == 0 || name[n] != '\0' || n > SITE_NAME_MAX)
    return cfw_err_set(err, -EINVAL,
                       "[%s]: a site name is 1 to %d of A-Z, a-z, 0-9, '.', "
                       "'_' and '-', as in [site docs]",
                       section, SITE_NAME_MAX);
  return 0;
}

int confcheck_enum(const char *v, const char *const *names, size_t n, int *out,
                   struct cfw_err *err)
{
  struct buf list;
  size_t i;

  for (i = 0; i < n; i++) {
    if (strcasecmp(v, names[i]) == 0) {
      *out = (int)i;
      return 0;
    }
  }
  buf_init(&list, 256);
  for (i = 0; i < n; i++)
    if (buf_addf(&list, "%s%s", i ? ", " : "", names[i]) < 0)
      break;
  cfw_err_set(err, -EINVAL, "\"%s\" is not one of %s", v, buf_str(&list));
  buf_free(&list);
  return -EINVAL;
}

int confcheck_origin(const char *v, struct cfw_err *err)
{
  struct s3url u;

  return s3url_parse(v, &u, err);
}

int confcheck_cache_tag_header(const char *v, struct cfw_err *err)
{
  if (!cachetag_header_ok(v))
    return cfw_err_set(err, -EINVAL,
                       "\"%s\": the header S3 returns an object's metadata "
                       "in, x-amz-meta-NAME (NAME of letters, digits, '-' "
                       "and '_'), e.g. x-amz-meta-cache-tag",
                       v);
  return 0;
}

int confcheck_region(const char *v, struct cfw_err *err)
{
  size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-");

  if (n == 0 || v[n] != '\0' || n > 32 || v[0] == '-' || v[n - 1] == '-')
    return cfw_err_set(err, -EINVAL, "\"%s\": a region looks like eu-west-1",
                       v);
  return 0;
}
