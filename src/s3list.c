/* SPDX-License-Identifier: MIT */
#include "s3xml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xmltab.h"

/* ListObjectsV2's ListBucketResult (s3xml.h). */

#define TOKEN (XMLTAB_TEXT | XMLTAB_TRIM)
/* A key of S3_KEY_MAX bytes, each percent-encoded. */
#define ENCODED_KEY_MAX ((size_t)S3_KEY_MAX * 3)

enum list_node {
  L_ROOT,
  L_TRUNCATED,
  L_NEXT_TOKEN,
  L_ENCODING,
  L_CONTENTS,
  L_KEY,
  L_SIZE,
  L_ETAG,
  L_LAST_MODIFIED,
  L_N
};

static const struct xmltab_node list_nodes[] = {
    [L_ROOT] = {"ListBucketResult", XMLTAB_NONE, 0, 0},
    [L_TRUNCATED] = {"IsTruncated", L_ROOT, TOKEN | XMLTAB_REQUIRED, 16},
    [L_NEXT_TOKEN] = {"NextContinuationToken", L_ROOT, TOKEN, S3_TOKEN_MAX},
    [L_ENCODING] = {"EncodingType", L_ROOT, TOKEN, 16},
    [L_CONTENTS] = {"Contents", L_ROOT, XMLTAB_REPEATS, 0},
    [L_KEY] = {"Key", L_CONTENTS, XMLTAB_TEXT | XMLTAB_REQUIRED,
               ENCODED_KEY_MAX},
    [L_SIZE] = {"Size", L_CONTENTS, TOKEN | XMLTAB_REQUIRED, 24},
    [L_ETAG] = {"ETag", L_CONTENTS, TOKEN, S3_ETAG_MAX},
    [L_LAST_MODIFIED] = {"LastModified", L_CONTENTS, TOKEN, 39},
};
_Static_assert(ARRAY_SIZE(list_nodes) == L_N, "one entry per node");

struct list_out {
  struct s3_list_page *p;
  size_t cap;
  bool url_encoded;
};

void s3_list_page_init(struct s3_list_page *p)
{
  memset(p, 0, sizeof(*p));
}

void s3_list_page_free(struct s3_list_page *p)
{
  size_t i;

  if (p == NULL)
    return;
  for (i = 0; i < p->n; i++)
    free(p->items[i].key);
  free(p->items);
  free(p->next_token);
  s3_list_page_init(p);
}

/* Decodes a key in place, as botocore's unquote_plus: %XX is a byte,
 * '+' a space.  -EBADMSG for a broken escape or a NUL. */
static int url_decode(char *s, struct cfw_err *err)
{
  char *w = s;
  int hi;
  int lo;

  for (; *s != '\0'; s++) {
    if (*s == '+') {
      *w++ = ' ';
      continue;
    }
    if (*s != '%') {
      *w++ = *s;
      continue;
    }
    hi = hex_digit(s[1]);
    lo = hi < 0 ? -1 : hex_digit(s[2]);
    if (lo < 0 || (hi == 0 && lo == 0))
      return cfw_err_set(err, -EBADMSG, "<Key> has a bad %%-escape");
    *w++ = (char)(hi * 16 + lo);
    s += 2;
  }
  *w = '\0';
  return 0;
}

static int list_on_start(void *out, int node, struct cfw_err *err)
{
  struct list_out *o = out;
  struct s3_list_item *v;

  if (node != L_CONTENTS)
    return 0;
  if (o->p->n == S3_LIST_MAX)
    return cfw_err_set(err, -EBADMSG, "more than %d <Contents>", S3_LIST_MAX);
  v = array_grow(o->p->items, o->p->n, &o->cap, sizeof(*v));
  if (v == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  o->p->items = v;
  memset(&v[o->p->n++], 0, sizeof(*v));
  return 0;
}

static int item_text(struct s3_list_item *it, int node,
                     const struct xmltab_text *t, struct cfw_err *err)
{
  char num[24];

  switch (node) {
  case L_KEY:
    it->key = strndup(t->s, t->len);
    return it->key != NULL ? 0 : cfw_err_set(err, -ENOMEM, "out of memory");
  case L_SIZE:
    xmltab_copy_text(num, sizeof(num), t);
    if (parse_u64(num, 0, UINT64_MAX, &it->size) < 0)
      return cfw_err_set(err, -EBADMSG, "<Size> \"%s\" is not a size", num);
    return 0;
  case L_ETAG:
    xmltab_copy_text(it->etag, sizeof(it->etag), t);
    return 0;
  case L_LAST_MODIFIED:
    xmltab_copy_text(it->last_modified, sizeof(it->last_modified), t);
    return 0;
  default:
    return 0;
  }
}

static int list_on_text(void *out, int node, const struct xmltab_text *t,
                        struct cfw_err *err)
{
  struct list_out *o = out;

  switch (node) {
  case L_TRUNCATED:
    return xmltab_parse_xsd_bool("IsTruncated", t, &o->p->truncated, err);
  case L_NEXT_TOKEN:
    o->p->next_token = strndup(t->s, t->len);
    return o->p->next_token ? 0 : cfw_err_set(err, -ENOMEM, "out of memory");
  case L_ENCODING:
    o->url_encoded = t->len == 3 && memcmp(t->s, "url", 3) == 0;
    return 0;
  default:
    if (o->p->n == 0)
      return 0; /* unreachable: the other nodes sit inside <Contents> */
    return item_text(&o->p->items[o->p->n - 1], node, t, err);
  }
}

/* Decodes the keys once the whole page is read: EncodingType may come
 * after them. */
static int list_finish(struct list_out *o, struct cfw_err *err)
{
  struct s3_list_page *p = o->p;
  size_t i;
  int rc;

  if (p->truncated && (p->next_token == NULL || p->next_token[0] == '\0'))
    return cfw_err_set(err, -EBADMSG,
                       "<IsTruncated> without <NextContinuationToken>");
  if (!p->truncated) {
    free(p->next_token);
    p->next_token = NULL;
  }
  for (i = 0; i < p->n; i++) {
    if (o->url_encoded) {
      rc = url_decode(p->items[i].key, err);
      if (rc < 0)
        return rc;
    }
    if (p->items[i].key[0] == '\0' || strlen(p->items[i].key) > S3_KEY_MAX)
      return cfw_err_set(err, -EBADMSG, "a <Key> of %zu bytes",
                         strlen(p->items[i].key));
  }
  return 0;
}

int s3xml_parse_list(const char *body, size_t len, struct s3_list_page *p,
                     struct cfw_err *err)
{
  struct list_out o = {p, 0, false};
  const struct xmltab_doc doc = {.nodes = list_nodes,
                                 .n_nodes = L_N,
                                 .max_body = S3XML_MAX_BODY,
                                 .out = &o,
                                 .on_start = list_on_start,
                                 .on_text = list_on_text};
  int rc;

  s3_list_page_free(p);
  rc = xmltab_run(&doc, body, len, err);
  if (rc == 0)
    rc = list_finish(&o, err);
  if (rc < 0)
    s3_list_page_free(p);
  return rc;
}
