/* SPDX-License-Identifier: MIT */
#include "urlmapdesc.h"

#include <errno.h>
#include <string.h>

#define URLMAPDESC_HEAD "urlmap 1"

int urlmapdesc_format(const struct urlmap_desc *d, struct buf *out)
{
  return buf_addf(out,
                  URLMAPDESC_HEAD "\nurl_prefix=%s\npretty_urls=%d\n"
                                  "dir_without_slash=%d\nquery_strings=%d\n"
                                  "index_name=%s",
                  d->prefix, d->pretty ? 1 : 0, d->dir_without_slash ? 1 : 0,
                  d->query_strings ? 1 : 0, d->index_name);
}

/* Takes the line "key=value" at *p, NUL-terminating it (unless last):
 * its value, or NULL if the key is another. */
static char *urlmapdesc_line(char **p, const char *key, bool last)
{
  size_t n = strlen(key);
  char *v;
  char *nl;

  if (*p == NULL || strncmp(*p, key, n) != 0 || (*p)[n] != '=')
    return NULL;
  v = *p + n + 1;
  if (last) {
    *p = NULL;
    return v;
  }
  nl = strchr(v, '\n');
  if (nl == NULL)
    return NULL;
  *nl = '\0';
  *p = nl + 1;
  return v;
}

/* A "0" or "1" value. */
static int urlmapdesc_bool(const char *v, bool *out)
{
  if (v == NULL || (strcmp(v, "0") != 0 && strcmp(v, "1") != 0))
    return -EINVAL;
  *out = v[0] == '1';
  return 0;
}

int urlmapdesc_parse(char *text, struct urlmap_desc *d)
{
  size_t head = strlen(URLMAPDESC_HEAD);
  char *p = text;
  int rc;

  memset(d, 0, sizeof(*d));
  if (strncmp(p, URLMAPDESC_HEAD, head) != 0 || p[head] != '\n')
    return -EINVAL;
  p += head + 1;
  d->prefix = urlmapdesc_line(&p, "url_prefix", false);
  rc = urlmapdesc_bool(urlmapdesc_line(&p, "pretty_urls", false), &d->pretty);
  if (rc == 0)
    rc = urlmapdesc_bool(urlmapdesc_line(&p, "dir_without_slash", false),
                         &d->dir_without_slash);
  if (rc == 0)
    rc = urlmapdesc_bool(urlmapdesc_line(&p, "query_strings", false),
                         &d->query_strings);
  d->index_name = urlmapdesc_line(&p, "index_name", true);
  if (rc < 0 || d->prefix == NULL || d->index_name == NULL ||
      d->index_name[0] == '\0')
    return -EINVAL;
  return 0;
}

/* A form that was on and is off now drops its URLs. */
static bool urlmapdesc_dropped(bool was, bool now)
{
  return was && !now;
}

enum urlmapdesc_change urlmapdesc_compare(const struct urlmap_desc *was,
                                          const struct urlmap_desc *now)
{
  if (strcmp(was->prefix, now->prefix) != 0 ||
      strcmp(was->index_name, now->index_name) != 0 ||
      urlmapdesc_dropped(was->pretty, now->pretty) ||
      urlmapdesc_dropped(was->dir_without_slash, now->dir_without_slash) ||
      urlmapdesc_dropped(was->query_strings, now->query_strings))
    return URLMAPDESC_DROPS;
  if (was->pretty != now->pretty ||
      was->dir_without_slash != now->dir_without_slash ||
      was->query_strings != now->query_strings)
    return URLMAPDESC_ADDS;
  return URLMAPDESC_SAME;
}

static const char *urlmapdesc_onoff(bool b)
{
  return b ? "on" : "off";
}

static const char *urlmapdesc_none(const char *s)
{
  return s[0] != '\0' ? s : "(none)";
}

/* Appends ", " unless out holds nothing past start, then "key a -> b". */
static int urlmapdesc_item(struct buf *out, size_t start, const char *key,
                           const char *a, const char *b)
{
  return buf_addf(out, "%s%s %s -> %s", out->len > start ? ", " : "", key, a,
                  b);
}

int urlmapdesc_what(const struct urlmap_desc *was,
                    const struct urlmap_desc *now, struct buf *out)
{
  size_t start = out->len;
  int rc = 0;

  if (rc == 0 && was->pretty != now->pretty)
    rc = urlmapdesc_item(out, start, "pretty_urls",
                         urlmapdesc_onoff(was->pretty),
                         urlmapdesc_onoff(now->pretty));
  if (rc == 0 && was->dir_without_slash != now->dir_without_slash)
    rc = urlmapdesc_item(out, start, "dir_without_slash",
                         urlmapdesc_onoff(was->dir_without_slash),
                         urlmapdesc_onoff(now->dir_without_slash));
  if (rc == 0 && was->query_strings != now->query_strings)
    rc = urlmapdesc_item(out, start, "query_strings",
                         urlmapdesc_onoff(was->query_strings),
                         urlmapdesc_onoff(now->query_strings));
  if (rc == 0 && strcmp(was->prefix, now->prefix) != 0)
    rc = urlmapdesc_item(out, start, "url_prefix", urlmapdesc_none(was->prefix),
                         urlmapdesc_none(now->prefix));
  if (rc == 0 && strcmp(was->index_name, now->index_name) != 0)
    rc = urlmapdesc_item(out, start, "index_name", was->index_name,
                         now->index_name);
  return rc;
}

int urlmapdesc_flush(const struct urlmap_desc *was, struct strlist *out)
{
  size_t n = strlen(was->prefix);
  char path[8192];
  int rc;

  if (n + 3 > sizeof(path))
    return -ENAMETOOLONG;
  memcpy(path, was->prefix, n);
  memcpy(path + n, "/*", 3);
  /* Only a prefix gives the root's index a URL without a '/': "/blog",
   * or with query_strings "/blog*", which the old map itself sent and
   * which covers the rest too. */
  if (was->dir_without_slash && n > 0 && was->query_strings)
    memcpy(path + n, "*", 2);
  rc = strlist_push(out, path);
  if (rc == 0 && was->dir_without_slash && n > 0 && !was->query_strings)
    rc = strlist_push(out, was->prefix);
  return rc;
}
