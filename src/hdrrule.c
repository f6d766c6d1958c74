/* SPDX-License-Identifier: MIT */
#include "hdrrule.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exclude.h"
#include "hdrval.h"
#include "util.h"

#define HDRRULE_SECTION "headers"

/* The keys a rule holds as one string each, and how each is checked. */
static const struct {
  const char *key;
  size_t off;
  int (*check)(const char *v, struct cfw_err *err);
} hdrrule_keys[] = {
    {"cache_control", offsetof(struct hdrrule, cache_control),
     hdrval_cache_control},
    {"content_type", offsetof(struct hdrrule, content_type), hdrval_media_type},
    {"content_encoding", offsetof(struct hdrrule, content_encoding),
     hdrval_content_encoding},
    {"content_disposition", offsetof(struct hdrrule, content_disposition),
     hdrval_disposition},
    {"site", offsetof(struct hdrrule, site), hdrval_text},
};

static void hdrrule_free(struct hdrrule *h)
{
  size_t i;

  free(h->glob);
  free(h->site);
  free(h->cache_control);
  free(h->content_type);
  free(h->content_encoding);
  free(h->content_disposition);
  for (i = 0; i < h->n_meta; i++) {
    free(h->meta[i].name);
    free(h->meta[i].value);
  }
  free(h->meta);
}

void hdrrules_free(struct hdrrules *r)
{
  size_t i;

  if (r == NULL)
    return;
  for (i = 0; i < r->n; i++)
    hdrrule_free(&r->v[i]);
  free(r->v);
  memset(r, 0, sizeof(*r));
}

bool hdrrules_is_section(const char *section)
{
  size_t n = strlen(HDRRULE_SECTION);

  return strncmp(section, HDRRULE_SECTION, n) == 0 &&
         (section[n] == '\0' || section[n] == ' ');
}

static bool hdrrule_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* True if glob[i] follows an odd run of backslashes. */
static bool hdrrule_escaped(const char *glob, size_t i)
{
  size_t k = i;

  while (k > 0 && glob[k - 1] == '\\')
    k--;
  return (i - k) % 2 == 1;
}

/* What the INI grammar lets a section header hold decides what a glob
 * there can be: the header ends at its first ']', so a '[' could only
 * open a class that is never closed (fnmatch would take it literally,
 * surely not what was meant); and blanks at either end are surely
 * typos. */
static int hdrrule_check_glob(const char *section, const char *glob,
                              struct cfw_err *err)
{
  size_t n = strlen(glob);
  const char *s;
  int rc;

  if (n == 0)
    return cfw_err_set(err, -EINVAL,
                       "[%s]: a rule needs a glob, as in [headers *.html]",
                       section);
  if (hdrrule_blank(glob[0]) ||
      (hdrrule_blank(glob[n - 1]) && !hdrrule_escaped(glob, n - 1)))
    return cfw_err_set(err, -EINVAL,
                       "[%s]: the glob starts or ends with a blank; write "
                       "'\\ ' for a space that belongs to it",
                       section);
  for (s = glob; *s != '\0'; s++) {
    if (*s == '\\' && s[1] != '\0')
      s++;
    else if (*s == '[')
      return cfw_err_set(err, -EINVAL,
                         "[%s]: a section header ends at its first ']', so "
                         "its glob cannot hold a [...] class; use '?' or "
                         "'*', or '\\[' for a '['",
                         section);
  }
  rc = exclude_glob_check(glob, err);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc,
                       "[%s]: the glob is empty once its leading and "
                       "trailing '/' are taken off",
                       section);
  return rc;
}

int hdrrules_begin(struct hdrrules *r, const char *section, unsigned line,
                   struct cfw_err *err)
{
  const char *glob = section + strlen(HDRRULE_SECTION);
  struct hdrrule *v;
  char *copy;
  int rc;

  if (*glob == ' ')
    glob++;
  rc = hdrrule_check_glob(section, glob, err);
  if (rc < 0)
    return rc;
  v = array_grow(r->v, r->n, &r->cap, sizeof(*v));
  copy = strdup(glob);
  if (v == NULL || copy == NULL) {
    free(copy);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  r->v = v;
  memset(&v[r->n], 0, sizeof(v[r->n]));
  v[r->n].glob = copy;
  v[r->n].line = line;
  r->n++;
  return 0;
}

/* The bytes S3 counts for h's metadata, with name's value replaced by
 * value (or added). */
static size_t hdrrule_meta_bytes(const struct hdrrule *h, const char *name,
                                 const char *value)
{
  size_t total = strlen(HDRRULE_META_PREFIX) + strlen(name) + strlen(value);
  size_t i;

  for (i = 0; i < h->n_meta; i++)
    if (strcmp(h->meta[i].name, name) != 0)
      total += strlen(HDRRULE_META_PREFIX) + strlen(h->meta[i].name) +
               strlen(h->meta[i].value);
  return total;
}

/* Stores name = value (name already checked and lower case); copies
 * both. */
static int hdrrule_meta_put(struct hdrrule *h, const char *name,
                            const char *value)
{
  struct hdrrule_meta *v;
  char *n = strdup(name);
  char *val = strdup(value);
  size_t i;

  for (i = 0; i < h->n_meta && strcmp(h->meta[i].name, name) != 0; i++)
    ;
  v = i < h->n_meta ? h->meta
                    : array_grow(h->meta, h->n_meta, &h->cap_meta, sizeof(*v));
  if (n == NULL || val == NULL || v == NULL) {
    free(n);
    free(val);
    return -ENOMEM;
  }
  h->meta = v;
  if (i == h->n_meta) {
    v[i].name = n;
    h->n_meta++;
  } else {
    free(n);
    free(v[i].value);
  }
  v[i].value = val;
  return 0;
}

static int hdrrule_set_meta(struct hdrrule *h, const char *key,
                            const char *value, struct cfw_err *err)
{
  char name[256];
  size_t len = strlen(key + strlen(HDRRULE_META_PREFIX));
  size_t i;
  int rc;

  if (len >= sizeof(name))
    return cfw_err_set(err, -EINVAL,
                       "the metadata name is longer than %zu "
                       "bytes",
                       sizeof(name) - 1);
  for (i = 0; i <= len; i++)
    name[i] = key[strlen(HDRRULE_META_PREFIX) + i];
  rc = hdrval_meta_name(name, err);
  if (rc == 0)
    rc = hdrval_text(value, err);
  if (rc < 0)
    return rc;
  for (i = 0; i < len; i++)
    if (name[i] >= 'A' && name[i] <= 'Z')
      name[i] = (char)(name[i] - 'A' + 'a');
  if (hdrrule_meta_bytes(h, name, value) > HDRRULE_MAX_META_BYTES)
    return cfw_err_set(err, -EINVAL,
                       "the rule's metadata would pass S3's limit of %d "
                       "bytes (names with their x-amz-meta- and values)",
                       HDRRULE_MAX_META_BYTES);
  if (hdrrule_meta_put(h, name, value) < 0)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return 0;
}

int hdrrules_set(struct hdrrules *r, const char *key, const char *value,
                 unsigned line, struct cfw_err *err)
{
  struct hdrrule *h;
  char **field;
  char *copy;
  size_t i;
  int rc;

  assert(r->n > 0); /* config_ini.c begins a rule at each header */
  h = &r->v[r->n - 1];
  if (strncasecmp(key, HDRRULE_META_PREFIX, strlen(HDRRULE_META_PREFIX)) == 0)
    return hdrrule_set_meta(h, key, value, err);
  for (i = 0; i < ARRAY_SIZE(hdrrule_keys); i++)
    if (strcmp(key, hdrrule_keys[i].key) == 0)
      break;
  if (i == ARRAY_SIZE(hdrrule_keys))
    return cfw_err_set(err, -EINVAL,
                       "unknown key in [headers GLOB] (cache_control, "
                       "content_type, content_encoding, content_disposition, "
                       "x-amz-meta-NAME, site)");
  rc = hdrrule_keys[i].check(value, err);
  if (rc < 0)
    return rc;
  copy = strdup(value);
  if (copy == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  field = (char **)((char *)h + hdrrule_keys[i].off);
  free(*field);
  *field = copy;
  if (field == &h->site)
    h->site_line = line;
  return 0;
}

static int hdrrule_dup(char **dst, const char *src)
{
  *dst = src != NULL ? strdup(src) : NULL;
  return src != NULL && *dst == NULL ? -ENOMEM : 0;
}

static int hdrrule_copy(struct hdrrule *d, const struct hdrrule *s)
{
  size_t i;

  memset(d, 0, sizeof(*d));
  d->line = s->line;
  d->site_line = s->site_line;
  if (s->n_meta > 0) {
    d->meta = calloc(s->n_meta, sizeof(*d->meta));
    if (d->meta == NULL)
      return -ENOMEM;
    d->n_meta = d->cap_meta = s->n_meta;
  }
  for (i = 0; i < s->n_meta; i++)
    if (hdrrule_dup(&d->meta[i].name, s->meta[i].name) < 0 ||
        hdrrule_dup(&d->meta[i].value, s->meta[i].value) < 0)
      return -ENOMEM;
  if (hdrrule_dup(&d->glob, s->glob) < 0 ||
      hdrrule_dup(&d->site, s->site) < 0 ||
      hdrrule_dup(&d->cache_control, s->cache_control) < 0 ||
      hdrrule_dup(&d->content_type, s->content_type) < 0 ||
      hdrrule_dup(&d->content_encoding, s->content_encoding) < 0 ||
      hdrrule_dup(&d->content_disposition, s->content_disposition) < 0)
    return -ENOMEM;
  return 0;
}

int hdrrules_push_copy(struct hdrrules *r, const struct hdrrule *rule)
{
  struct hdrrule *v = array_grow(r->v, r->n, &r->cap, sizeof(*v));

  if (v == NULL)
    return -ENOMEM;
  r->v = v;
  if (hdrrule_copy(&v[r->n], rule) < 0) {
    hdrrule_free(&v[r->n]);
    return -ENOMEM;
  }
  r->n++;
  return 0;
}

static bool hdrrule_same(const char *a, const char *b)
{
  return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Rule j repeats the glob of an earlier rule that applies wherever j
 * does, so it can never be the first to match. */
static int hdrrule_check_dead(const struct hdrrules *r, size_t j,
                              unsigned *line, struct cfw_err *err)
{
  const struct hdrrule *b = &r->v[j];
  const struct hdrrule *a;
  size_t i;

  for (i = 0; i < j; i++) {
    a = &r->v[i];
    if (strcmp(a->glob, b->glob) != 0 ||
        (a->site != NULL && !hdrrule_same(a->site, b->site)))
      continue;
    *line = b->line;
    return cfw_err_set(err, -EINVAL,
                       "[headers %s] can never match: the one at line %u "
                       "matches every file it would, and the first match "
                       "wins (put the keys in one section)",
                       b->glob, a->line);
  }
  return 0;
}

int hdrrules_check(const struct hdrrules *r, const char *const *sites,
                   size_t n_sites, unsigned *line, struct cfw_err *err)
{
  const struct hdrrule *h;
  size_t i;
  size_t k;
  int rc;

  for (i = 0; i < r->n; i++) {
    h = &r->v[i];
    for (k = 0; h->site != NULL && k < n_sites; k++)
      if (strcmp(h->site, sites[k]) == 0)
        break;
    if (h->site != NULL && k == n_sites) {
      *line = h->site_line;
      return cfw_err_set(err, -EINVAL, "site: no [site %s] in this file",
                         h->site);
    }
    rc = hdrrule_check_dead(r, i, line, err);
    if (rc < 0)
      return rc;
  }
  return 0;
}
