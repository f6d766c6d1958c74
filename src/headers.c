/* SPDX-License-Identifier: MIT */
#include "headers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exclude.h"
#include "mime.h"
#include "util.h"

struct headers_set {
  struct exclude *globs; /* owned; glob number i is rules.v[i]'s */
  struct hdrrules rules; /* owned: copies of the site's rules */
};

/* The codings whose files are named with a suffix, as Python's
 * mimetypes.encodings_map has them (the AWS CLI guesses with it). */
static const struct {
  const char *coding;
  const char *suffix;
} headers_suffixes[] = {
    {"gzip", ".gz"},
    {"x-gzip", ".gz"},
    {"br", ".br"},
    {"zstd", ".zst"},
};

void headers_set_destroy(struct headers_set *s)
{
  if (s == NULL)
    return;
  exclude_destroy(s->globs);
  hdrrules_free(&s->rules);
  free(s);
}

static int headers_add(struct headers_set *s, const struct hdrrule *h,
                       struct cfw_err *err)
{
  int rc = exclude_add(s->globs, h->glob, err);

  if (rc < 0)
    return cfw_err_wrap(err, rc, "[headers %s]", h->glob);
  if (hdrrules_push_copy(&s->rules, h) < 0)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return 0;
}

int headers_set_new(struct headers_set **out, const struct hdrrules *rules,
                    const char *site, struct cfw_err *err)
{
  struct headers_set *s = calloc(1, sizeof(*s));
  const struct hdrrule *h;
  size_t i;
  int rc;

  *out = NULL;
  if (s == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = exclude_new(&s->globs, err);
  for (i = 0; rc == 0 && rules != NULL && i < rules->n; i++) {
    h = &rules->v[i];
    if (h->site == NULL || strcmp(h->site, site) == 0)
      rc = headers_add(s, h, err);
  }
  if (rc < 0) {
    headers_set_destroy(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* The type of a file whose rule gives no content_type: the MIME table's,
 * for the name without the suffix of the rule's content coding if it has
 * it (see headers.h). */
static const char *headers_type(const struct mime_table *mime,
                                const char *relpath, const char *coding)
{
  size_t len = strlen(relpath);
  size_t n;
  size_t i;

  for (i = 0; coding != NULL && i < ARRAY_SIZE(headers_suffixes); i++) {
    if (strcasecmp(coding, headers_suffixes[i].coding) != 0)
      continue;
    n = strlen(headers_suffixes[i].suffix);
    if (len > n && relpath[len - n - 1] != '/' &&
        strcasecmp(relpath + len - n, headers_suffixes[i].suffix) == 0)
      len -= n;
    break;
  }
  return mime_type_of(mime, relpath, len);
}

void headers_for(const struct headers_set *s, const struct mime_table *mime,
                 const char *relpath, struct headers_out *out)
{
  const struct hdrrule *h = NULL;
  size_t i;

  memset(out, 0, sizeof(*out));
  if (s != NULL) {
    i = exclude_first(s->globs, relpath, false);
    if (i != EXCLUDE_NONE)
      h = &s->rules.v[i];
  }
  if (h == NULL) {
    out->content_type = headers_type(mime, relpath, NULL);
    return;
  }
  out->content_type = h->content_type != NULL
                          ? h->content_type
                          : headers_type(mime, relpath, h->content_encoding);
  out->cache_control = h->cache_control;
  out->content_encoding = h->content_encoding;
  out->content_disposition = h->content_disposition;
  out->meta = h->meta;
  out->n_meta = h->n_meta;
  out->rule_glob = h->glob;
  out->rule_line = h->line;
}
