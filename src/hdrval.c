/* SPDX-License-Identifier: MIT */
#include "hdrval.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* IANA's HTTP Content Coding Registry, but "identity", which RFC 9110
 * s.8.4.1 reserves for Accept-Encoding (it means no coding at all).
 * S3's own "aws-chunked" is the uploader's, never a rule's. */
static const char *const hdrval_codings[] = {
    "aes128gcm", "br",           "compress",   "dcb",    "dcz",  "deflate",
    "exi",       "pack200-gzip", "x-compress", "x-gzip", "gzip", "zstd",
};

/* RFC 9110 s.5.6.2: tchar. */
static bool hdrval_tchar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool hdrval_printable(char c)
{
  return c >= ' ' && c <= '~';
}

/* A run of tchar at *p, which moves past it; false if there is none. */
static bool hdrval_token(const char **p)
{
  const char *s = *p;

  while (hdrval_tchar(**p))
    (*p)++;
  return *p > s;
}

/* RFC 9110 s.5.6.4, printable ASCII only: a quoted-string at *p. */
static bool hdrval_quoted(const char **p)
{
  const char *s = *p;

  if (*s++ != '"')
    return false;
  for (; *s != '"'; s++) {
    if (*s == '\\')
      s++;
    if (!hdrval_printable(*s))
      return false;
  }
  *p = s + 1;
  return true;
}

static void hdrval_ows(const char **p)
{
  while (**p == ' ')
    (*p)++;
}

/* token or quoted-string, after an '='. */
static bool hdrval_value(const char **p)
{
  if (**p == '"')
    return hdrval_quoted(p);
  return hdrval_token(p);
}

/* *( OWS sep OWS item ) to the end of s, where item is "token=value",
 * or "token[=value]" if the value is optional (Cache-Control). */
static bool hdrval_list(const char *s, char sep, bool value_optional)
{
  for (;;) {
    hdrval_ows(&s);
    if (*s == '\0')
      return true;
    if (*s++ != sep)
      return false;
    hdrval_ows(&s);
    if (!hdrval_token(&s))
      return false;
    if (*s != '=') {
      if (!value_optional)
        return false;
      continue;
    }
    s++;
    if (!hdrval_value(&s))
      return false;
  }
}

int hdrval_text(const char *v, struct cfw_err *err)
{
  const char *s;

  if (*v == '\0')
    return cfw_err_set(err, -EINVAL, "empty value: leave the key out");
  for (s = v; *s != '\0'; s++)
    if (!hdrval_printable(*s))
      return cfw_err_set(err, -EINVAL,
                         "\"%s\": only printable ASCII is allowed (byte "
                         "0x%02x at %zu)",
                         v, (unsigned char)*s, (size_t)(s - v) + 1);
  return 0;
}

int hdrval_media_type(const char *v, struct cfw_err *err)
{
  const char *s = v;
  int rc = hdrval_text(v, err);

  if (rc < 0)
    return rc;
  if (!hdrval_token(&s) || *s++ != '/' || !hdrval_token(&s) ||
      !hdrval_list(s, ';', false))
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" is not a media type (type/subtype, then any "
                       "\"; name=value\")",
                       v);
  return 0;
}

static int hdrval_bad_cache_control(const char *v, struct cfw_err *err)
{
  return cfw_err_set(err, -EINVAL,
                     "\"%s\" is not a list of Cache-Control directives "
                     "(name or name=value, separated by commas)",
                     v);
}

int hdrval_cache_control(const char *v, struct cfw_err *err)
{
  const char *s = v;
  int rc = hdrval_text(v, err);

  if (rc < 0)
    return rc;
  /* The first directive, then the others after commas. */
  hdrval_ows(&s);
  if (!hdrval_token(&s))
    return hdrval_bad_cache_control(v, err);
  if (*s == '=') {
    s++;
    if (!hdrval_value(&s))
      return hdrval_bad_cache_control(v, err);
  }
  if (!hdrval_list(s, ',', true))
    return hdrval_bad_cache_control(v, err);
  return 0;
}

static bool hdrval_known_coding(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < ARRAY_SIZE(hdrval_codings); i++)
    if (strlen(hdrval_codings[i]) == n &&
        strncasecmp(s, hdrval_codings[i], n) == 0)
      return true;
  return false;
}

int hdrval_content_encoding(const char *v, struct cfw_err *err)
{
  const char *s = v;
  const char *start;
  int rc = hdrval_text(v, err);

  if (rc < 0)
    return rc;
  for (;;) {
    hdrval_ows(&s);
    start = s;
    if (!hdrval_token(&s) || !hdrval_known_coding(start, (size_t)(s - start)))
      break;
    hdrval_ows(&s);
    if (*s == '\0')
      return 0;
    if (*s++ != ',')
      break;
  }
  return cfw_err_set(err, -EINVAL,
                     "\"%s\" is not a list of registered content codings "
                     "(gzip, br, zstd, deflate, compress, ...)",
                     v);
}

int hdrval_disposition(const char *v, struct cfw_err *err)
{
  const char *s = v;
  int rc = hdrval_text(v, err);

  if (rc < 0)
    return rc;
  if (!hdrval_token(&s) || !hdrval_list(s, ';', false))
    return cfw_err_set(err, -EINVAL,
                       "\"%s\" is not a Content-Disposition (inline or "
                       "attachment, then any \"; name=value\")",
                       v);
  return 0;
}

int hdrval_meta_name(const char *v, struct cfw_err *err)
{
  const char *s;

  for (s = v; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
      return cfw_err_set(err, -EINVAL,
                         "\"%s\": a metadata name is letters, digits, '-' "
                         "and '_'",
                         v);
  if (*v == '\0')
    return cfw_err_set(err, -EINVAL, "the metadata name is empty");
  return 0;
}
