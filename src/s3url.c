/* SPDX-License-Identifier: MIT */
#include "s3url.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool s3url_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Four dot-separated runs of digits: S3 refuses IP-like names. */
static bool s3url_ip_like(const char *b, size_t n)
{
  size_t dots = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    if (b[i] == '.')
      dots++;
    else if (b[i] < '0' || b[i] > '9')
      return false;
  }
  return dots == 3;
}

static int s3url_bucket(const char *b, size_t n, struct cfw_err *err)
{
  size_t i;

  if (n < 3 || n > S3URL_BUCKET_MAX)
    return cfw_err_set(err, -EINVAL, "a bucket name has 3 to %d characters",
                       S3URL_BUCKET_MAX);
  if (!s3url_alnum(b[0]) || !s3url_alnum(b[n - 1]))
    return cfw_err_set(err, -EINVAL,
                       "a bucket name starts and ends with a lowercase "
                       "letter or a digit");
  for (i = 0; i < n; i++) {
    if (!s3url_alnum(b[i]) && b[i] != '.' && b[i] != '-')
      return cfw_err_set(err, -EINVAL,
                         "a bucket name holds only a-z, 0-9, '.' and '-'");
    if (i > 0 && b[i] == '.' && b[i - 1] == '.')
      return cfw_err_set(err, -EINVAL, "a bucket name has no \"..\"");
  }
  if (s3url_ip_like(b, n))
    return cfw_err_set(err, -EINVAL, "a bucket name is not an IP address");
  return 0;
}

int s3url_parse(const char *v, struct s3url *out, struct cfw_err *err)
{
  const char *b;
  size_t n;
  size_t p;
  int rc;

  if (strncmp(v, "s3://", 5) != 0)
    return cfw_err_set(err, -EINVAL, "\"%s\": not s3://BUCKET[/PREFIX]", v);
  b = v + 5;
  n = strcspn(b, "/");
  rc = s3url_bucket(b, n, err);
  if (rc < 0)
    return cfw_err_wrap(err, rc, "\"%s\"", v);
  memcpy(out->bucket, b, n);
  out->bucket[n] = '\0';
  b += n;
  while (*b == '/')
    b++;
  p = strlen(b);
  while (p > 0 && b[p - 1] == '/')
    p--;
  if (p > S3URL_PREFIX_MAX)
    return cfw_err_set(err, -EINVAL, "\"%s\": a prefix of at most %d bytes", v,
                       S3URL_PREFIX_MAX);
  if (memchr(b, '\\', p) != NULL || strstr(b, "//") != NULL)
    return cfw_err_set(err, -EINVAL, "\"%s\": no '\\' or \"//\" in the prefix",
                       v);
  memcpy(out->prefix, b, p);
  out->prefix[p] = '\0';
  return 0;
}

int s3url_key(const struct s3url *u, const char *rel, char *out, size_t n)
{
  int len;

  if (u->prefix[0] == '\0')
    len = snprintf(out, n, "%s", rel);
  else
    len = snprintf(out, n, "%s/%s", u->prefix, rel);
  return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}
