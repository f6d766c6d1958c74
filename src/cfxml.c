/* SPDX-License-Identifier: MIT */
#include "cfxml.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cflimits.h"
#include "cfpath.h"
#include "util.h"
#include "xmltab.h"

/* One batch holds at most what CloudFront allows in progress. */
#define CFXML_MAX_PATHS                                                        \
  (CF_MAX_FILE_PATHS_IN_PROGRESS + CF_MAX_WILDCARDS_IN_PROGRESS)

/* The longest text a fixed char array in an output struct takes. */
#define FIELD_MAX(type, member) (sizeof(((type *)0)->member) - 1)

_Static_assert(CFXML_MAX_INVALIDATION_BODY <= INT_MAX, "XML_Parse takes int");
_Static_assert(CFXML_MAX_LIST_BODY <= INT_MAX, "XML_Parse takes int");
_Static_assert(CFXML_MAX_ERROR_BODY <= INT_MAX, "XML_Parse takes int");
_Static_assert(CFXML_MAX_DEPTH == XMLTAB_MAX_DEPTH, "cfxml.h names the cap");

/* ---- The request body ---- */

/* Paths come percent-encoded (urlmap); anything else means the caller
 * skipped that step, and CloudFront would refuse the batch or, worse,
 * invalidate the wrong object. */
static int batch_check_path(const char *path, size_t *n_wild,
                            struct cfw_err *err)
{
  int rc = cfpath_check(path, err);

  if (rc == 0 && path[strlen(path) - 1] == '*')
    (*n_wild)++;
  return rc;
}

static int batch_check(const char *caller_ref, const char *const *paths,
                       size_t n, struct cfw_err *err)
{
  size_t len = strlen(caller_ref);
  size_t n_wild = 0;
  size_t i;
  int rc;

  if (len == 0 || len > CFXML_MAX_CALLER_REF)
    return cfw_err_set(err, -EINVAL, "caller reference of %zu bytes", len);
  for (i = 0; i < len; i++) {
    if ((unsigned char)caller_ref[i] < ' ' || caller_ref[i] == '\x7f')
      return cfw_err_set(err, -EINVAL, "caller reference: control byte");
  }
  if (n == 0)
    return cfw_err_set(err, -EINVAL, "invalidation batch without paths");
  for (i = 0; i < n; i++) {
    rc = batch_check_path(paths[i], &n_wild, err);
    if (rc < 0)
      return rc;
  }
  if (n - n_wild > CF_MAX_FILE_PATHS_IN_PROGRESS)
    return cfw_err_set(err, -E2BIG, "%zu file paths in one batch, over %d",
                       n - n_wild, CF_MAX_FILE_PATHS_IN_PROGRESS);
  if (n_wild > CF_MAX_WILDCARDS_IN_PROGRESS)
    return cfw_err_set(err, -E2BIG, "%zu wildcard paths in one batch, over %d",
                       n_wild, CF_MAX_WILDCARDS_IN_PROGRESS);
  return 0;
}

static int batch_add_escaped(struct buf *out, const char *s)
{
  static const char specials[] = "&<>\"'";
  static const char *const escapes[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                        "&apos;"};
  size_t span;
  int rc;

  for (;;) {
    span = strcspn(s, specials);
    rc = buf_add(out, s, span);
    if (rc < 0 || s[span] == '\0')
      return rc;
    rc = buf_adds(out, escapes[strchr(specials, s[span]) - specials]);
    if (rc < 0)
      return rc;
    s += span + 1;
  }
}

/* An element with escaped text content. */
static int batch_add_element(struct buf *out, const char *name,
                             const char *text)
{
  int rc;

  rc = buf_addf(out, "<%s>", name);
  if (rc == 0)
    rc = batch_add_escaped(out, text);
  if (rc == 0)
    rc = buf_addf(out, "</%s>", name);
  return rc;
}

static int batch_write(struct buf *out, const char *caller_ref,
                       const char *const *paths, size_t n)
{
  size_t i;
  int rc;

  rc = buf_addf(out,
                "<InvalidationBatch xmlns=\"%s\"><Paths>"
                "<Quantity>%zu</Quantity><Items>",
                CFXML_NAMESPACE, n);
  for (i = 0; i < n && rc == 0; i++)
    rc = batch_add_element(out, "Path", paths[i]);
  if (rc == 0)
    rc = buf_adds(out, "</Items></Paths>");
  if (rc == 0)
    rc = batch_add_element(out, "CallerReference", caller_ref);
  if (rc == 0)
    rc = buf_adds(out, "</InvalidationBatch>");
  return rc;
}

int cfxml_invalidation_batch(struct buf *out, const char *caller_ref,
                             const char *const *paths, size_t n,
                             struct cfw_err *err)
{
  size_t old_len = out->len;
  int rc;

  rc = batch_check(caller_ref, paths, n, err);
  if (rc < 0)
    return rc;
  rc = batch_write(out, caller_ref, paths, n);
  if (rc == 0)
    return 0;
  out->len = old_len;
  if (out->data != NULL)
    out->data[old_len] = '\0';
  if (rc == -E2BIG)
    return cfw_err_set(err, rc, "invalidation batch over %zu bytes", out->max);
  return cfw_err_set(err, rc, "invalidation batch: out of memory");
}

/* ---- Invalidation ---- */

enum inv_node {
  INV_ROOT,
  INV_ID,
  INV_STATUS,
  INV_CREATE_TIME,
  INV_BATCH,
  INV_PATHS,
  INV_QUANTITY,
  INV_ITEMS,
  INV_PATH,
  INV_CALLER_REF,
  INV_N
};

#define INV_TOKEN (XMLTAB_TEXT | XMLTAB_REQUIRED | XMLTAB_TRIM)

static const struct xmltab_node inv_nodes[] = {
    [INV_ROOT] = {"Invalidation", XMLTAB_NONE, 0, 0},
    [INV_ID] = {"Id", INV_ROOT, INV_TOKEN,
                FIELD_MAX(struct cf_invalidation, id)},
    [INV_STATUS] = {"Status", INV_ROOT, INV_TOKEN,
                    FIELD_MAX(struct cf_invalidation, status)},
    [INV_CREATE_TIME] = {"CreateTime", INV_ROOT, INV_TOKEN,
                         FIELD_MAX(struct cf_invalidation, create_time)},
    [INV_BATCH] = {"InvalidationBatch", INV_ROOT, XMLTAB_REQUIRED, 0},
    [INV_PATHS] = {"Paths", INV_BATCH, XMLTAB_REQUIRED, 0},
    [INV_QUANTITY] = {"Quantity", INV_PATHS, INV_TOKEN, 20},
    [INV_ITEMS] = {"Items", INV_PATHS, 0, 0},
    [INV_PATH] = {"Path", INV_ITEMS, XMLTAB_TEXT | XMLTAB_REPEATS,
                  CF_MAX_PATH_LEN},
    [INV_CALLER_REF] = {"CallerReference", INV_BATCH,
                        XMLTAB_TEXT | XMLTAB_REQUIRED,
                        FIELD_MAX(struct cf_invalidation, caller_reference)},
};
_Static_assert(ARRAY_SIZE(inv_nodes) == INV_N, "one entry per node");
_Static_assert(INV_N <= XMLTAB_MAX_NODES, "xmltab takes 32 nodes");

void cf_invalidation_init(struct cf_invalidation *inv)
{
  memset(inv, 0, sizeof(*inv));
  strlist_init(&inv->paths);
}

void cf_invalidation_free(struct cf_invalidation *inv)
{
  if (inv == NULL)
    return;
  strlist_free(&inv->paths);
  cf_invalidation_init(inv);
}

static int inv_on_text(void *out, int node, const struct xmltab_text *t,
                       struct cfw_err *err)
{
  struct cf_invalidation *inv = out;

  switch (node) {
  case INV_ID:
    xmltab_copy_text(inv->id, sizeof(inv->id), t);
    return 0;
  case INV_STATUS:
    xmltab_copy_text(inv->status, sizeof(inv->status), t);
    return 0;
  case INV_CREATE_TIME:
    xmltab_copy_text(inv->create_time, sizeof(inv->create_time), t);
    return 0;
  case INV_CALLER_REF:
    xmltab_copy_text(inv->caller_reference, sizeof(inv->caller_reference), t);
    return 0;
  case INV_QUANTITY:
    return xmltab_parse_count("Quantity", t, CFXML_MAX_PATHS, &inv->quantity,
                              err);
  case INV_PATH:
    if (inv->paths.n == CFXML_MAX_PATHS)
      return cfw_err_set(err, -EBADMSG, "more than %d <Path>", CFXML_MAX_PATHS);
    if (strlist_pushn(&inv->paths, t->s, t->len) < 0)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    return 0;
  default:
    return 0;
  }
}

int cfxml_parse_invalidation(const char *body, size_t len,
                             struct cf_invalidation *out, struct cfw_err *err)
{
  const struct xmltab_doc doc = {.nodes = inv_nodes,
                                 .n_nodes = INV_N,
                                 .max_body = CFXML_MAX_INVALIDATION_BODY,
                                 .out = out,
                                 .on_text = inv_on_text};
  int rc;

  cf_invalidation_free(out);
  rc = xmltab_run(&doc, body, len, err);
  if (rc == 0 && out->quantity != out->paths.n)
    rc = cfw_err_set(err, -EBADMSG, "<Quantity> is %zu but %zu <Path>",
                     out->quantity, out->paths.n);
  if (rc < 0)
    cf_invalidation_free(out);
  return rc;
}

/* ---- InvalidationList ---- */

enum list_node {
  LIST_ROOT,
  LIST_NEXT_MARKER,
  LIST_TRUNCATED,
  LIST_QUANTITY,
  LIST_ITEMS,
  LIST_SUMMARY,
  LIST_ID,
  LIST_STATUS,
  LIST_CREATE_TIME,
  LIST_N
};

#define LIST_TOKEN (XMLTAB_TEXT | XMLTAB_REQUIRED | XMLTAB_TRIM)

static const struct xmltab_node list_nodes[] = {
    [LIST_ROOT] = {"InvalidationList", XMLTAB_NONE, 0, 0},
    [LIST_NEXT_MARKER] = {"NextMarker", LIST_ROOT, XMLTAB_TEXT | XMLTAB_TRIM,
                          FIELD_MAX(struct cf_invalidation_list, next_marker)},
    [LIST_TRUNCATED] = {"IsTruncated", LIST_ROOT, LIST_TOKEN, 16},
    [LIST_QUANTITY] = {"Quantity", LIST_ROOT, LIST_TOKEN, 20},
    [LIST_ITEMS] = {"Items", LIST_ROOT, 0, 0},
    [LIST_SUMMARY] = {"InvalidationSummary", LIST_ITEMS, XMLTAB_REPEATS, 0},
    [LIST_ID] = {"Id", LIST_SUMMARY, LIST_TOKEN,
                 FIELD_MAX(struct cf_invalidation_summary, id)},
    [LIST_STATUS] = {"Status", LIST_SUMMARY, LIST_TOKEN,
                     FIELD_MAX(struct cf_invalidation_summary, status)},
    [LIST_CREATE_TIME] = {"CreateTime", LIST_SUMMARY, LIST_TOKEN,
                          FIELD_MAX(struct cf_invalidation_summary,
                                    create_time)},
};
_Static_assert(ARRAY_SIZE(list_nodes) == LIST_N, "one entry per node");
_Static_assert(LIST_N <= XMLTAB_MAX_NODES, "xmltab takes 32 nodes");

void cf_invalidation_list_init(struct cf_invalidation_list *l)
{
  memset(l, 0, sizeof(*l));
  l->items = NULL;
}

void cf_invalidation_list_free(struct cf_invalidation_list *l)
{
  if (l == NULL)
    return;
  free(l->items);
  cf_invalidation_list_init(l);
}

/* The list being parsed, and the room its items have. */
struct list_out {
  struct cf_invalidation_list *l;
  size_t cap;
};

/* Grows items by one summary, zeroed; O(n) copies overall. */
static int list_on_start(void *out, int node, struct cfw_err *err)
{
  struct list_out *o = out;
  struct cf_invalidation_list *l = o->l;
  struct cf_invalidation_summary *items;

  if (node != LIST_SUMMARY)
    return 0;
  if (l->n == CFXML_MAX_LIST_ITEMS)
    return cfw_err_set(err, -EBADMSG, "more than %d <InvalidationSummary>",
                       CFXML_MAX_LIST_ITEMS);
  items = array_grow(l->items, l->n, &o->cap, sizeof(*items));
  if (items == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  l->items = items;
  memset(&l->items[l->n++], 0, sizeof(*items));
  return 0;
}

/* Fills the summary that list_on_start added last. */
static int summary_on_text(struct cf_invalidation_list *l, int node,
                           const struct xmltab_text *t)
{
  struct cf_invalidation_summary *it;

  if (l->n == 0)
    return 0; /* unreachable: these nodes sit inside a summary */
  it = &l->items[l->n - 1];
  if (node == LIST_ID)
    xmltab_copy_text(it->id, sizeof(it->id), t);
  else if (node == LIST_STATUS)
    xmltab_copy_text(it->status, sizeof(it->status), t);
  else if (node == LIST_CREATE_TIME)
    xmltab_copy_text(it->create_time, sizeof(it->create_time), t);
  return 0;
}

static int list_on_text(void *out, int node, const struct xmltab_text *t,
                        struct cfw_err *err)
{
  struct cf_invalidation_list *l = ((struct list_out *)out)->l;

  switch (node) {
  case LIST_NEXT_MARKER:
    xmltab_copy_text(l->next_marker, sizeof(l->next_marker), t);
    return 0;
  case LIST_TRUNCATED:
    return xmltab_parse_xsd_bool("IsTruncated", t, &l->is_truncated, err);
  case LIST_QUANTITY:
    return xmltab_parse_count("Quantity", t, CFXML_MAX_LIST_ITEMS, &l->quantity,
                              err);
  default:
    return summary_on_text(l, node, t);
  }
}

static int list_check(const struct cf_invalidation_list *l, struct cfw_err *err)
{
  if (l->quantity != l->n)
    return cfw_err_set(err, -EBADMSG,
                       "<Quantity> is %zu but %zu <InvalidationSummary>",
                       l->quantity, l->n);
  /* An empty marker would restart paging at the first page, forever. */
  if (l->is_truncated && l->next_marker[0] == '\0')
    return cfw_err_set(err, -EBADMSG, "<IsTruncated> without <NextMarker>");
  return 0;
}

int cfxml_parse_invalidation_list(const char *body, size_t len,
                                  struct cf_invalidation_list *out,
                                  struct cfw_err *err)
{
  struct list_out o = {out, 0};
  const struct xmltab_doc doc = {.nodes = list_nodes,
                                 .n_nodes = LIST_N,
                                 .max_body = CFXML_MAX_LIST_BODY,
                                 .out = &o,
                                 .on_start = list_on_start,
                                 .on_text = list_on_text};
  int rc;

  cf_invalidation_list_free(out);
  rc = xmltab_run(&doc, body, len, err);
  if (rc == 0)
    rc = list_check(out, err);
  if (rc < 0)
    cf_invalidation_list_free(out);
  return rc;
}

/* ---- CreateTime ---- */

int64_t cfxml_time_s(const char *iso)
{
  struct tm tm;
  const char *end;

  memset(&tm, 0, sizeof(tm));
  end = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == NULL)
    return -1;
  return (int64_t)timegm(&tm);
}

/* ---- ErrorResponse ---- */

enum error_node {
  ERR_ROOT,
  ERR_ERROR,
  ERR_TYPE,
  ERR_CODE,
  ERR_MESSAGE,
  ERR_REQUEST_ID,
  /* A bare <Error> root, with RequestId inside. */
  ERR_BARE,
  ERR_BARE_TYPE,
  ERR_BARE_CODE,
  ERR_BARE_MESSAGE,
  ERR_BARE_REQUEST_ID,
  ERR_N
};

#define ERR_TOKEN       (XMLTAB_TEXT | XMLTAB_TRIM)
#define ERR_MAX(member) FIELD_MAX(struct cf_error, member)

static const struct xmltab_node error_nodes[] = {
    [ERR_ROOT] = {"ErrorResponse", XMLTAB_NONE, 0, 0},
    [ERR_ERROR] = {"Error", ERR_ROOT, XMLTAB_REQUIRED, 0},
    [ERR_TYPE] = {"Type", ERR_ERROR, ERR_TOKEN, ERR_MAX(type)},
    [ERR_CODE] = {"Code", ERR_ERROR, ERR_TOKEN | XMLTAB_REQUIRED,
                  ERR_MAX(code)},
    [ERR_MESSAGE] = {"Message", ERR_ERROR, XMLTAB_TEXT | XMLTAB_TRUNCATE,
                     ERR_MAX(message)},
    [ERR_REQUEST_ID] = {"RequestId", ERR_ROOT, ERR_TOKEN, ERR_MAX(request_id)},
    [ERR_BARE] = {"Error", XMLTAB_NONE, 0, 0},
    [ERR_BARE_TYPE] = {"Type", ERR_BARE, ERR_TOKEN, ERR_MAX(type)},
    [ERR_BARE_CODE] = {"Code", ERR_BARE, ERR_TOKEN | XMLTAB_REQUIRED,
                       ERR_MAX(code)},
    [ERR_BARE_MESSAGE] = {"Message", ERR_BARE, XMLTAB_TEXT | XMLTAB_TRUNCATE,
                          ERR_MAX(message)},
    [ERR_BARE_REQUEST_ID] = {"RequestId", ERR_BARE, ERR_TOKEN,
                             ERR_MAX(request_id)},
};
_Static_assert(ARRAY_SIZE(error_nodes) == ERR_N, "one entry per node");
_Static_assert(ERR_N <= XMLTAB_MAX_NODES, "xmltab takes 32 nodes");

static int error_on_text(void *out, int node, const struct xmltab_text *t,
                         struct cfw_err *err)
{
  struct cf_error *e = out;

  (void)err; /* nothing here can fail: the engine capped every length */
  switch (node) {
  case ERR_TYPE:
  case ERR_BARE_TYPE:
    xmltab_copy_text(e->type, sizeof(e->type), t);
    return 0;
  case ERR_CODE:
  case ERR_BARE_CODE:
    xmltab_copy_text(e->code, sizeof(e->code), t);
    return 0;
  case ERR_MESSAGE:
  case ERR_BARE_MESSAGE:
    xmltab_copy_text(e->message, sizeof(e->message), t);
    e->message_truncated = t->cut;
    return 0;
  case ERR_REQUEST_ID:
  case ERR_BARE_REQUEST_ID:
    xmltab_copy_text(e->request_id, sizeof(e->request_id), t);
    return 0;
  default:
    return 0;
  }
}

int cfxml_parse_error(const char *body, size_t len, struct cf_error *out,
                      struct cfw_err *err)
{
  const struct xmltab_doc doc = {.nodes = error_nodes,
                                 .n_nodes = ERR_N,
                                 .max_body = CFXML_MAX_ERROR_BODY,
                                 .out = out,
                                 .on_text = error_on_text};
  int rc;

  memset(out, 0, sizeof(*out));
  rc = xmltab_run(&doc, body, len, err);
  if (rc < 0)
    memset(out, 0, sizeof(*out));
  return rc;
}
