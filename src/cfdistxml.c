/* SPDX-License-Identifier: MIT */
#include "cfdistxml.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xmltab.h"

/* The longest text a fixed char array in an output struct takes. */
#define FIELD_MAX(type, member) (sizeof(((type *)0)->member) - 1)
#define TOKEN                   (XMLTAB_TEXT | XMLTAB_REQUIRED | XMLTAB_TRIM)

_Static_assert(CFDISTXML_MAX_LIST_BODY <= INT_MAX, "XML_Parse takes int");
_Static_assert(CFDISTXML_MAX_CONFIG_BODY <= INT_MAX, "XML_Parse takes int");

/* Grows *v (of *n elements of size bytes) by one zeroed element, at most
 * max of them; what names the element in the message. */
static int grow_one(void **v, size_t *n, size_t *cap, size_t size, size_t max,
                    const char *what, struct cfw_err *err)
{
  void *nv;

  if (*n == max)
    return cfw_err_set(err, -EBADMSG, "more than %zu <%s>", max, what);
  nv = array_grow(*v, *n, cap, size);
  if (nv == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  *v = nv;
  memset((char *)nv + *n * size, 0, size);
  (*n)++;
  return 0;
}

/* ---- DistributionList ---- */

enum list_node {
  L_ROOT,
  L_NEXT_MARKER,
  L_TRUNCATED,
  L_QUANTITY,
  L_ITEMS,
  L_SUMMARY,
  L_ID,
  L_STATUS,
  L_DOMAIN,
  L_N
};

#define L_MAX(member) FIELD_MAX(struct cf_distribution_summary, member)

static const struct xmltab_node list_nodes[] = {
    [L_ROOT] = {"DistributionList", XMLTAB_NONE, 0, 0},
    [L_NEXT_MARKER] = {"NextMarker", L_ROOT, XMLTAB_TEXT | XMLTAB_TRIM,
                       FIELD_MAX(struct cf_distribution_list, next_marker)},
    [L_TRUNCATED] = {"IsTruncated", L_ROOT, TOKEN, 16},
    [L_QUANTITY] = {"Quantity", L_ROOT, TOKEN, 20},
    [L_ITEMS] = {"Items", L_ROOT, 0, 0},
    [L_SUMMARY] = {"DistributionSummary", L_ITEMS, XMLTAB_REPEATS, 0},
    [L_ID] = {"Id", L_SUMMARY, TOKEN, L_MAX(id)},
    [L_STATUS] = {"Status", L_SUMMARY, XMLTAB_TEXT | XMLTAB_TRIM,
                  L_MAX(status)},
    [L_DOMAIN] = {"DomainName", L_SUMMARY, XMLTAB_TEXT | XMLTAB_TRIM,
                  L_MAX(domain_name)},
};
_Static_assert(ARRAY_SIZE(list_nodes) == L_N, "one entry per node");

struct list_parse {
  struct cf_distribution_list *l;
  size_t cap;
};

void cf_distribution_list_init(struct cf_distribution_list *l)
{
  memset(l, 0, sizeof(*l));
}

void cf_distribution_list_free(struct cf_distribution_list *l)
{
  if (l == NULL)
    return;
  free(l->items);
  cf_distribution_list_init(l);
}

static int list_on_start(void *out, int node, struct cfw_err *err)
{
  struct list_parse *p = out;
  void *v = p->l->items;
  int rc;

  if (node != L_SUMMARY)
    return 0;
  rc = grow_one(&v, &p->l->n, &p->cap, sizeof(*p->l->items),
                CFDISTXML_MAX_LIST_ITEMS, "DistributionSummary", err);
  p->l->items = v;
  return rc;
}

/* Fills the summary that list_on_start added last. */
static void summary_on_text(struct cf_distribution_list *l, int node,
                            const struct xmltab_text *t)
{
  struct cf_distribution_summary *it;

  if (l->n == 0)
    return; /* unreachable: these nodes sit inside a summary */
  it = &l->items[l->n - 1];
  if (node == L_ID)
    xmltab_copy_text(it->id, sizeof(it->id), t);
  else if (node == L_STATUS)
    xmltab_copy_text(it->status, sizeof(it->status), t);
  else if (node == L_DOMAIN)
    xmltab_copy_text(it->domain_name, sizeof(it->domain_name), t);
}

static int list_on_text(void *out, int node, const struct xmltab_text *t,
                        struct cfw_err *err)
{
  struct cf_distribution_list *l = ((struct list_parse *)out)->l;

  switch (node) {
  case L_NEXT_MARKER:
    xmltab_copy_text(l->next_marker, sizeof(l->next_marker), t);
    return 0;
  case L_TRUNCATED:
    return xmltab_parse_xsd_bool("IsTruncated", t, &l->is_truncated, err);
  case L_QUANTITY:
    return xmltab_parse_count("Quantity", t, CFDISTXML_MAX_LIST_ITEMS,
                              &l->quantity, err);
  default:
    summary_on_text(l, node, t);
    return 0;
  }
}

int cfdistxml_parse_list(const char *body, size_t len,
                         struct cf_distribution_list *out, struct cfw_err *err)
{
  struct list_parse p = {out, 0};
  const struct xmltab_doc doc = {.nodes = list_nodes,
                                 .n_nodes = L_N,
                                 .max_body = CFDISTXML_MAX_LIST_BODY,
                                 .out = &p,
                                 .on_start = list_on_start,
                                 .on_text = list_on_text};
  int rc;

  cf_distribution_list_free(out);
  rc = xmltab_run(&doc, body, len, err);
  if (rc == 0 && out->quantity != out->n)
    rc = cfw_err_set(err, -EBADMSG,
                     "<Quantity> is %zu but %zu <DistributionSummary>",
                     out->quantity, out->n);
  /* An empty marker would restart paging at the first page, forever. */
  if (rc == 0 && out->is_truncated && out->next_marker[0] == '\0')
    rc = cfw_err_set(err, -EBADMSG, "<IsTruncated> without <NextMarker>");
  if (rc < 0)
    cf_distribution_list_free(out);
  return rc;
}

/* ---- DistributionConfig ---- */

enum config_node {
  C_ROOT,
  C_ROOT_OBJECT,
  C_ORIGINS,
  C_ORIGINS_QUANTITY,
  C_ORIGINS_ITEMS,
  C_ORIGIN,
  C_ORIGIN_ID,
  C_ORIGIN_DOMAIN,
  C_ORIGIN_PATH,
  C_ORIGIN_S3,
  C_ORIGIN_CUSTOM,
  C_BEHAVIOR,
  C_TARGET,
  C_TAGS,
  C_TAG_HEADER,
  C_N
};

#define C_MAX(member) FIELD_MAX(struct cf_origin, member)

static const struct xmltab_node config_nodes[] = {
    [C_ROOT] = {"DistributionConfig", XMLTAB_NONE, 0, 0},
    [C_ROOT_OBJECT] = {"DefaultRootObject", C_ROOT, XMLTAB_TEXT,
                       FIELD_MAX(struct cf_distribution_config,
                                 default_root_object)},
    [C_ORIGINS] = {"Origins", C_ROOT, XMLTAB_REQUIRED, 0},
    [C_ORIGINS_QUANTITY] = {"Quantity", C_ORIGINS, TOKEN, 20},
    [C_ORIGINS_ITEMS] = {"Items", C_ORIGINS, XMLTAB_REQUIRED, 0},
    [C_ORIGIN] = {"Origin", C_ORIGINS_ITEMS, XMLTAB_REPEATS, 0},
    [C_ORIGIN_ID] = {"Id", C_ORIGIN, TOKEN, C_MAX(id)},
    [C_ORIGIN_DOMAIN] = {"DomainName", C_ORIGIN, TOKEN, C_MAX(domain_name)},
    [C_ORIGIN_PATH] = {"OriginPath", C_ORIGIN, XMLTAB_TEXT, C_MAX(origin_path)},
    [C_ORIGIN_S3] = {"S3OriginConfig", C_ORIGIN, 0, 0},
    [C_ORIGIN_CUSTOM] = {"CustomOriginConfig", C_ORIGIN, 0, 0},
    [C_BEHAVIOR] = {"DefaultCacheBehavior", C_ROOT, XMLTAB_REQUIRED, 0},
    [C_TARGET] = {"TargetOriginId", C_BEHAVIOR, TOKEN,
                  FIELD_MAX(struct cf_distribution_config, target_origin_id)},
    [C_TAGS] = {"CacheTagConfig", C_ROOT, 0, 0},
    [C_TAG_HEADER] = {"HeaderName", C_TAGS, TOKEN,
                      FIELD_MAX(struct cf_distribution_config,
                                cache_tag_header)},
};
_Static_assert(ARRAY_SIZE(config_nodes) == C_N, "one entry per node");
_Static_assert(C_N <= XMLTAB_MAX_NODES, "xmltab takes 32 nodes");

struct config_parse {
  struct cf_distribution_config *c;
  size_t cap;
  size_t quantity;
};

void cf_distribution_config_init(struct cf_distribution_config *c)
{
  memset(c, 0, sizeof(*c));
}

void cf_distribution_config_free(struct cf_distribution_config *c)
{
  if (c == NULL)
    return;
  free(c->origins);
  cf_distribution_config_init(c);
}

static int config_on_start(void *out, int node, struct cfw_err *err)
{
  struct config_parse *p = out;
  struct cf_distribution_config *c = p->c;
  void *v = c->origins;
  int rc;

  switch (node) {
  case C_ORIGIN:
    rc = grow_one(&v, &c->n_origins, &p->cap, sizeof(*c->origins),
                  CFDISTXML_MAX_ORIGINS, "Origin", err);
    c->origins = v;
    return rc;
  case C_ORIGIN_S3:
  case C_ORIGIN_CUSTOM:
    if (c->n_origins == 0)
      return 0; /* unreachable: these nodes sit inside an origin */
    if (node == C_ORIGIN_S3)
      c->origins[c->n_origins - 1].s3 = true;
    else
      c->origins[c->n_origins - 1].custom = true;
    return 0;
  case C_TAGS:
    c->has_cache_tags = true;
    return 0;
  default:
    return 0;
  }
}

static void origin_on_text(struct cf_origin *o, int node,
                           const struct xmltab_text *t)
{
  if (node == C_ORIGIN_ID)
    xmltab_copy_text(o->id, sizeof(o->id), t);
  else if (node == C_ORIGIN_DOMAIN)
    xmltab_copy_text(o->domain_name, sizeof(o->domain_name), t);
  else if (node == C_ORIGIN_PATH)
    xmltab_copy_text(o->origin_path, sizeof(o->origin_path), t);
}

static int config_on_text(void *out, int node, const struct xmltab_text *t,
                          struct cfw_err *err)
{
  struct config_parse *p = out;
  struct cf_distribution_config *c = p->c;

  switch (node) {
  case C_ROOT_OBJECT:
    xmltab_copy_text(c->default_root_object, sizeof(c->default_root_object), t);
    return 0;
  case C_ORIGINS_QUANTITY:
    return xmltab_parse_count("Quantity", t, CFDISTXML_MAX_ORIGINS,
                              &p->quantity, err);
  case C_TARGET:
    xmltab_copy_text(c->target_origin_id, sizeof(c->target_origin_id), t);
    return 0;
  case C_TAG_HEADER:
    xmltab_copy_text(c->cache_tag_header, sizeof(c->cache_tag_header), t);
    return 0;
  default:
    if (c->n_origins > 0)
      origin_on_text(&c->origins[c->n_origins - 1], node, t);
    return 0;
  }
}

int cfdistxml_parse_config(const char *body, size_t len,
                           struct cf_distribution_config *out,
                           struct cfw_err *err)
{
  struct config_parse p = {out, 0, 0};
  const struct xmltab_doc doc = {.nodes = config_nodes,
                                 .n_nodes = C_N,
                                 .max_body = CFDISTXML_MAX_CONFIG_BODY,
                                 .out = &p,
                                 .on_start = config_on_start,
                                 .on_text = config_on_text};
  int rc;

  cf_distribution_config_free(out);
  rc = xmltab_run(&doc, body, len, err);
  if (rc == 0 && p.quantity != out->n_origins)
    rc = cfw_err_set(err, -EBADMSG, "<Quantity> is %zu but %zu <Origin>",
                     p.quantity, out->n_origins);
  if (rc == 0 && out->n_origins == 0)
    rc = cfw_err_set(err, -EBADMSG, "<Origins> without <Origin>");
  if (rc < 0)
    cf_distribution_config_free(out);
  return rc;
}

const struct cf_origin *
cf_distribution_origin(const struct cf_distribution_config *c, const char *id)
{
  size_t i;

  for (i = 0; i < c->n_origins; i++)
    if (strcmp(c->origins[i].id, id) == 0)
      return &c->origins[i];
  return NULL;
}
