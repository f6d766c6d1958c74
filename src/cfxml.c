#include "cfxml.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "cflimits.h"
#include "util.h"

/* One batch holds at most what CloudFront allows in progress. */
#define CFXML_MAX_PATHS                                                        \
  (CF_MAX_FILE_PATHS_IN_PROGRESS + CF_MAX_WILDCARDS_IN_PROGRESS)

/* Expat joins namespace URI and local name with this byte.  XML 1.0 can
 * hold it neither literally nor as a character reference, so a document
 * cannot forge it. */
#define CFXML_NS_SEP '\x01'

/* The longest text a fixed char array in an output struct takes. */
#define FIELD_MAX(type, member) (sizeof(((type *)0)->member) - 1)

_Static_assert(CFXML_MAX_INVALIDATION_BODY <= INT_MAX, "XML_Parse takes int");
_Static_assert(CFXML_MAX_LIST_BODY <= INT_MAX, "XML_Parse takes int");
_Static_assert(CFXML_MAX_ERROR_BODY <= INT_MAX, "XML_Parse takes int");

/* ---- The request body ---- */

/* Paths come percent-encoded (urlmap), so anything outside printable
 * ASCII means the caller skipped that step; CloudFront would refuse the
 * batch or, worse, invalidate the wrong object. */
static int batch_check_path(const char *path, size_t *n_wild,
                            struct cfw_err *err)
{
  size_t len = strlen(path);
  const char *star = strchr(path, '*');
  size_t i;

  if (path[0] != '/')
    return cfw_err_set(err, -EINVAL, "path \"%.64s\" does not start with /",
                       path);
  if (len > CF_MAX_PATH_LEN)
    return cfw_err_set(err, -EINVAL, "path of %zu bytes is over %d", len,
                       CF_MAX_PATH_LEN);
  if (star != NULL && star != path + len - 1)
    return cfw_err_set(err, -EINVAL, "path \"%.64s\": '*' before the end",
                       path);
  for (i = 0; i < len; i++) {
    if (path[i] <= ' ' || path[i] > '~')
      return cfw_err_set(err, -EINVAL,
                         "path \"%.64s\": byte 0x%02x is not percent-encoded",
                         path, (unsigned)(unsigned char)path[i]);
  }
  if (star != NULL)
    (*n_wild)++;
  return 0;
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

/* ---- The parser engine ----
 *
 * A document is a table of the elements we read, each naming its parent,
 * so an element counts only at its place under the root, in any order.
 * Elements not in the table are skipped with everything inside them. */

#define NODE_TEXT     0x01u /* its text is a field */
#define NODE_REQUIRED 0x02u /* its parent must hold it */
#define NODE_REPEATS  0x04u /* its parent may hold it more than once */
#define NODE_TRUNCATE 0x08u /* longer text is cut, not refused */
#define NODE_TRIM     0x10u /* surrounding whitespace is dropped */

#define NODE_NONE (-1) /* a root's parent; an element not in the table */

struct node {
  const char *name; /* local name */
  int parent;       /* index in the table, or NODE_NONE for a root */
  unsigned flags;
  size_t max_len; /* longest text, for NODE_TEXT */
};

/* The text of an element, not NUL-terminated. */
struct text {
  const char *s; /* borrowed from the parser */
  size_t len;
  bool cut; /* NODE_TRUNCATE dropped the rest */
};

struct doc {
  const struct node *nodes; /* at most 32, for parser.seen */
  size_t n_nodes;
  size_t max_body;
  void *out; /* borrowed; what the callbacks fill */
  /* Called as a node begins, if not NULL. */
  int (*on_start)(void *out, int node, struct cfw_err *err);
  /* Called as a NODE_TEXT node ends. */
  int (*on_text)(void *out, int node, const struct text *t,
                 struct cfw_err *err);
};

struct parser {
  XML_Parser xp;
  const struct doc *doc;
  struct cfw_err *err; /* borrowed; may be NULL */
  int stack[CFXML_MAX_DEPTH];
  size_t depth;
  uint32_t seen;   /* nodes met inside the current instance of each parent */
  struct buf text; /* text of the current NODE_TEXT node */
  bool cut;        /* that text was truncated */
  int rc;          /* the first failure */
};

static const char *local_name(const XML_Char *name)
{
  const char *sep = strrchr(name, CFXML_NS_SEP);

  return sep != NULL ? sep + 1 : name;
}

/* Records the first failure, prefixed with where expat is, and stops. */
static void parser_fail(struct parser *p, int rc)
{
  unsigned long long line = XML_GetCurrentLineNumber(p->xp);
  unsigned long long col = XML_GetCurrentColumnNumber(p->xp) + 1;

  if (p->rc < 0)
    return;
  p->rc = rc;
  if (p->err != NULL)
    p->rc = cfw_err_prefix(p->err, "line %llu, column %llu", line, col);
  /* It fails only if parsing is already over, which is what we want. */
  (void)XML_StopParser(p->xp, XML_FALSE);
}

static int find_node(const struct doc *doc, int parent, const char *name)
{
  size_t i;

  for (i = 0; i < doc->n_nodes; i++) {
    if (doc->nodes[i].parent == parent && strcmp(doc->nodes[i].name, name) == 0)
      return (int)i;
  }
  return NODE_NONE;
}

static uint32_t children_of(const struct doc *doc, int parent)
{
  uint32_t mask = 0;
  size_t i;

  for (i = 0; i < doc->n_nodes; i++) {
    if (doc->nodes[i].parent == parent)
      mask |= (uint32_t)1 << i;
  }
  return mask;
}

static int node_begin(struct parser *p, int node)
{
  const struct node *nd = &p->doc->nodes[node];
  uint32_t bit = (uint32_t)1 << node;

  if ((p->seen & bit) != 0 && (nd->flags & NODE_REPEATS) == 0)
    return cfw_err_set(p->err, -EBADMSG, "duplicate <%s>", nd->name);
  p->seen = (p->seen | bit) & ~children_of(p->doc, node);
  buf_reset(&p->text);
  p->cut = false;
  if (p->doc->on_start != NULL)
    return p->doc->on_start(p->doc->out, node, p->err);
  return 0;
}

static void XMLCALL parser_on_start(void *ud, const XML_Char *name,
                                    const XML_Char **attrs)
{
  struct parser *p = ud;
  const char *local = local_name(name);
  int parent = p->depth > 0 ? p->stack[p->depth - 1] : NODE_NONE;
  int node = NODE_NONE;
  int rc = 0;

  (void)attrs; /* CloudFront puts nothing we read in attributes */
  if (p->rc < 0)
    return;
  if (p->depth == CFXML_MAX_DEPTH)
    rc = cfw_err_set(p->err, -EBADMSG, "elements nested deeper than %d",
                     CFXML_MAX_DEPTH);
  else if (p->depth == 0 || parent != NODE_NONE)
    node = find_node(p->doc, parent, local);
  if (rc == 0 && p->depth == 0 && node == NODE_NONE)
    rc = cfw_err_set(p->err, -EBADMSG, "root element is <%.64s>, expected <%s>",
                     local, p->doc->nodes[0].name);
  if (rc == 0 && node != NODE_NONE)
    rc = node_begin(p, node);
  if (rc < 0) {
    parser_fail(p, rc);
    return;
  }
  p->stack[p->depth++] = node;
}

static void XMLCALL parser_on_text(void *ud, const XML_Char *s, int len)
{
  struct parser *p = ud;
  const struct node *nd;
  size_t room;
  size_t n = (size_t)len;
  int rc;

  if (p->rc < 0 || p->depth == 0 || p->stack[p->depth - 1] == NODE_NONE)
    return;
  nd = &p->doc->nodes[p->stack[p->depth - 1]];
  if ((nd->flags & NODE_TEXT) == 0)
    return;
  room = nd->max_len - p->text.len;
  if (n > room && (nd->flags & NODE_TRUNCATE) != 0) {
    p->cut = true;
    n = room;
  }
  if (n > room)
    rc = cfw_err_set(p->err, -EBADMSG, "<%s> longer than %zu bytes", nd->name,
                     nd->max_len);
  else
    rc = buf_add(&p->text, s, n);
  if (rc == -ENOMEM)
    rc = cfw_err_set(p->err, rc, "out of memory");
  if (rc < 0)
    parser_fail(p, rc);
}

/* Drops the bytes of a character that the cut left incomplete.  Expat
 * hands out valid UTF-8, so only the tail needs a look. */
static size_t utf8_cut(const char *s, size_t len)
{
  size_t i = len;
  size_t need;
  unsigned char lead;

  while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
    i--;
  if (i == 0)
    return 0;
  lead = (unsigned char)s[i - 1];
  need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  return len - (i - 1) < need ? i - 1 : len;
}

static bool is_xml_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int node_text(struct parser *p, int node)
{
  const struct node *nd = &p->doc->nodes[node];
  struct text t = {buf_str(&p->text), p->text.len, p->cut};

  if (memchr(t.s, '\0', t.len) != NULL)
    return cfw_err_set(p->err, -EBADMSG, "<%s> holds a NUL", nd->name);
  if (t.cut)
    t.len = utf8_cut(t.s, t.len);
  if ((nd->flags & NODE_TRIM) != 0) {
    while (t.len > 0 && is_xml_space(t.s[0])) {
      t.s++;
      t.len--;
    }
    while (t.len > 0 && is_xml_space(t.s[t.len - 1]))
      t.len--;
  }
  return p->doc->on_text(p->doc->out, node, &t, p->err);
}

/* Checks that the node that ends holds every required child. */
static int node_end(struct parser *p, int node)
{
  const struct doc *doc = p->doc;
  size_t i;

  if ((doc->nodes[node].flags & NODE_TEXT) != 0)
    return node_text(p, node);
  for (i = 0; i < doc->n_nodes; i++) {
    if (doc->nodes[i].parent == node &&
        (doc->nodes[i].flags & NODE_REQUIRED) != 0 &&
        (p->seen & ((uint32_t)1 << i)) == 0)
      return cfw_err_set(p->err, -EBADMSG, "<%s> without <%s>",
                         doc->nodes[node].name, doc->nodes[i].name);
  }
  return 0;
}

static void XMLCALL parser_on_end(void *ud, const XML_Char *name)
{
  struct parser *p = ud;
  int node;
  int rc;

  (void)name; /* expat has checked that it matches the start tag */
  if (p->rc < 0 || p->depth == 0)
    return;
  node = p->stack[--p->depth];
  if (node == NODE_NONE)
    return;
  rc = node_end(p, node);
  if (rc < 0)
    parser_fail(p, rc);
}

/* A DTD could declare entities that expand without bound (billion
 * laughs) or fetch files; CloudFront never sends one. */
static void XMLCALL parser_on_doctype(void *ud, const XML_Char *name,
                                      const XML_Char *sysid,
                                      const XML_Char *pubid,
                                      int has_internal_subset)
{
  struct parser *p = ud;

  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  parser_fail(p, cfw_err_set(p->err, -EBADMSG, "DOCTYPE refused"));
}

static void XMLCALL parser_on_entity(void *ud, const XML_Char *name,
                                     int is_param, const XML_Char *value,
                                     int value_len, const XML_Char *base,
                                     const XML_Char *sysid,
                                     const XML_Char *pubid,
                                     const XML_Char *notation)
{
  struct parser *p = ud;

  (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
  (void)pubid, (void)notation;
  parser_fail(p,
              cfw_err_set(p->err, -EBADMSG,
                          "entity declaration <!ENTITY %.64s> refused", name));
}

static int parser_create(struct parser *p, const struct doc *doc,
                         struct cfw_err *err)
{
  memset(p, 0, sizeof(*p));
  p->doc = doc;
  p->err = err;
  buf_init(&p->text, doc->max_body);
  p->xp = XML_ParserCreateNS(NULL, CFXML_NS_SEP);
  if (p->xp == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, parser_on_start, parser_on_end);
  XML_SetCharacterDataHandler(p->xp, parser_on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, parser_on_doctype);
  XML_SetEntityDeclHandler(p->xp, parser_on_entity);
  return 0;
}

/* Parses body[0..len) as doc.  0, or a negative errno with err set. */
static int cfxml_run(const struct doc *doc, const char *body, size_t len,
                     struct cfw_err *err)
{
  struct parser p;
  enum XML_Status st;
  int rc;

  if (body == NULL && len > 0)
    return cfw_err_set(err, -EINVAL, "no body");
  if (len > doc->max_body)
    return cfw_err_set(err, -E2BIG, "<%s> body of %zu bytes is over %zu",
                       doc->nodes[0].name, len, doc->max_body);
  rc = parser_create(&p, doc, err);
  if (rc < 0)
    return rc;
  st = XML_Parse(p.xp, body != NULL ? body : "", (int)len, XML_TRUE);
  rc = p.rc;
  if (rc == 0 && st != XML_STATUS_OK) {
    rc = cfw_err_set(err, -EBADMSG, "line %llu, column %llu: %s",
                     (unsigned long long)XML_GetErrorLineNumber(p.xp),
                     (unsigned long long)XML_GetErrorColumnNumber(p.xp) + 1,
                     XML_ErrorString(XML_GetErrorCode(p.xp)));
  }
  XML_ParserFree(p.xp);
  buf_free(&p.text);
  return rc;
}

/* Copies text the engine has already held to the field's size. */
static void copy_text(char *dst, size_t size, const struct text *t)
{
  size_t len = t->len;

  assert(len < size);
  if (len >= size)
    len = size - 1;
  memcpy(dst, t->s, len);
  dst[len] = '\0';
}

static int parse_count(const char *what, const struct text *t, size_t max,
                       size_t *out, struct cfw_err *err)
{
  char tmp[24];
  uint64_t v;

  if (t->len >= sizeof(tmp))
    return cfw_err_set(err, -EBADMSG, "<%s> is not a count", what);
  copy_text(tmp, sizeof(tmp), t);
  if (parse_u64(tmp, 0, max, &v) < 0)
    return cfw_err_set(err, -EBADMSG, "<%s> \"%s\" is not a count in [0, %zu]",
                       what, tmp, max);
  *out = (size_t)v;
  return 0;
}

/* xsd:boolean, the only spellings rest-xml uses. */
static int parse_xsd_bool(const char *what, const struct text *t, bool *out,
                          struct cfw_err *err)
{
  static const char *const spellings[] = {"false", "true", "0", "1"};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(spellings); i++) {
    if (t->len == strlen(spellings[i]) &&
        memcmp(t->s, spellings[i], t->len) == 0) {
      *out = i % 2 == 1;
      return 0;
    }
  }
  return cfw_err_set(err, -EBADMSG, "<%s> is not a boolean", what);
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

#define INV_TOKEN (NODE_TEXT | NODE_REQUIRED | NODE_TRIM)

static const struct node inv_nodes[] = {
    [INV_ROOT] = {"Invalidation", NODE_NONE, 0, 0},
    [INV_ID] = {"Id", INV_ROOT, INV_TOKEN,
                FIELD_MAX(struct cf_invalidation, id)},
    [INV_STATUS] = {"Status", INV_ROOT, INV_TOKEN,
                    FIELD_MAX(struct cf_invalidation, status)},
    [INV_CREATE_TIME] = {"CreateTime", INV_ROOT, INV_TOKEN,
                         FIELD_MAX(struct cf_invalidation, create_time)},
    [INV_BATCH] = {"InvalidationBatch", INV_ROOT, NODE_REQUIRED, 0},
    [INV_PATHS] = {"Paths", INV_BATCH, NODE_REQUIRED, 0},
    [INV_QUANTITY] = {"Quantity", INV_PATHS, INV_TOKEN, 20},
    [INV_ITEMS] = {"Items", INV_PATHS, 0, 0},
    [INV_PATH] = {"Path", INV_ITEMS, NODE_TEXT | NODE_REPEATS, CF_MAX_PATH_LEN},
    [INV_CALLER_REF] = {"CallerReference", INV_BATCH, NODE_TEXT | NODE_REQUIRED,
                        FIELD_MAX(struct cf_invalidation, caller_reference)},
};
_Static_assert(ARRAY_SIZE(inv_nodes) == INV_N, "one entry per node");
_Static_assert(INV_N <= 32, "parser.seen has 32 bits");

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

static int inv_on_text(void *out, int node, const struct text *t,
                       struct cfw_err *err)
{
  struct cf_invalidation *inv = out;

  switch (node) {
  case INV_ID:
    copy_text(inv->id, sizeof(inv->id), t);
    return 0;
  case INV_STATUS:
    copy_text(inv->status, sizeof(inv->status), t);
    return 0;
  case INV_CREATE_TIME:
    copy_text(inv->create_time, sizeof(inv->create_time), t);
    return 0;
  case INV_CALLER_REF:
    copy_text(inv->caller_reference, sizeof(inv->caller_reference), t);
    return 0;
  case INV_QUANTITY:
    return parse_count("Quantity", t, CFXML_MAX_PATHS, &inv->quantity, err);
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
  const struct doc doc = {.nodes = inv_nodes,
                          .n_nodes = INV_N,
                          .max_body = CFXML_MAX_INVALIDATION_BODY,
                          .out = out,
                          .on_text = inv_on_text};
  int rc;

  cf_invalidation_free(out);
  rc = cfxml_run(&doc, body, len, err);
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

#define LIST_TOKEN (NODE_TEXT | NODE_REQUIRED | NODE_TRIM)

static const struct node list_nodes[] = {
    [LIST_ROOT] = {"InvalidationList", NODE_NONE, 0, 0},
    [LIST_NEXT_MARKER] = {"NextMarker", LIST_ROOT, NODE_TEXT | NODE_TRIM,
                          FIELD_MAX(struct cf_invalidation_list, next_marker)},
    [LIST_TRUNCATED] = {"IsTruncated", LIST_ROOT, LIST_TOKEN, 16},
    [LIST_QUANTITY] = {"Quantity", LIST_ROOT, LIST_TOKEN, 20},
    [LIST_ITEMS] = {"Items", LIST_ROOT, 0, 0},
    [LIST_SUMMARY] = {"InvalidationSummary", LIST_ITEMS, NODE_REPEATS, 0},
    [LIST_ID] = {"Id", LIST_SUMMARY, LIST_TOKEN,
                 FIELD_MAX(struct cf_invalidation_summary, id)},
    [LIST_STATUS] = {"Status", LIST_SUMMARY, LIST_TOKEN,
                     FIELD_MAX(struct cf_invalidation_summary, status)},
    [LIST_CREATE_TIME] = {"CreateTime", LIST_SUMMARY, LIST_TOKEN,
                          FIELD_MAX(struct cf_invalidation_summary,
                                    create_time)},
};
_Static_assert(ARRAY_SIZE(list_nodes) == LIST_N, "one entry per node");
_Static_assert(LIST_N <= 32, "parser.seen has 32 bits");

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

/* Grows items by one summary, zeroed; O(n) copies overall. */
static int list_on_start(void *out, int node, struct cfw_err *err)
{
  struct cf_invalidation_list *l = out;
  struct cf_invalidation_summary *items;

  if (node != LIST_SUMMARY)
    return 0;
  if (l->n == CFXML_MAX_LIST_ITEMS)
    return cfw_err_set(err, -EBADMSG, "more than %d <InvalidationSummary>",
                       CFXML_MAX_LIST_ITEMS);
  /* Powers of two from 8; the cap keeps the product far from overflow. */
  if (l->n >= 8 && (l->n & (l->n - 1)) == 0) {
    items = realloc(l->items, 2 * l->n * sizeof(*items));
  } else if (l->n == 0) {
    items = malloc(8 * sizeof(*items));
  } else {
    items = l->items;
  }
  if (items == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  l->items = items;
  memset(&l->items[l->n++], 0, sizeof(*items));
  return 0;
}

/* Fills the summary that list_on_start added last. */
static int summary_on_text(struct cf_invalidation_list *l, int node,
                           const struct text *t)
{
  struct cf_invalidation_summary *it;

  if (l->n == 0)
    return 0; /* unreachable: these nodes sit inside a summary */
  it = &l->items[l->n - 1];
  if (node == LIST_ID)
    copy_text(it->id, sizeof(it->id), t);
  else if (node == LIST_STATUS)
    copy_text(it->status, sizeof(it->status), t);
  else if (node == LIST_CREATE_TIME)
    copy_text(it->create_time, sizeof(it->create_time), t);
  return 0;
}

static int list_on_text(void *out, int node, const struct text *t,
                        struct cfw_err *err)
{
  struct cf_invalidation_list *l = out;

  switch (node) {
  case LIST_NEXT_MARKER:
    copy_text(l->next_marker, sizeof(l->next_marker), t);
    return 0;
  case LIST_TRUNCATED:
    return parse_xsd_bool("IsTruncated", t, &l->is_truncated, err);
  case LIST_QUANTITY:
    return parse_count("Quantity", t, CFXML_MAX_LIST_ITEMS, &l->quantity, err);
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
  const struct doc doc = {.nodes = list_nodes,
                          .n_nodes = LIST_N,
                          .max_body = CFXML_MAX_LIST_BODY,
                          .out = out,
                          .on_start = list_on_start,
                          .on_text = list_on_text};
  int rc;

  cf_invalidation_list_free(out);
  rc = cfxml_run(&doc, body, len, err);
  if (rc == 0)
    rc = list_check(out, err);
  if (rc < 0)
    cf_invalidation_list_free(out);
  return rc;
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

#define ERR_TOKEN       (NODE_TEXT | NODE_TRIM)
#define ERR_MAX(member) FIELD_MAX(struct cf_error, member)

static const struct node error_nodes[] = {
    [ERR_ROOT] = {"ErrorResponse", NODE_NONE, 0, 0},
    [ERR_ERROR] = {"Error", ERR_ROOT, NODE_REQUIRED, 0},
    [ERR_TYPE] = {"Type", ERR_ERROR, ERR_TOKEN, ERR_MAX(type)},
    [ERR_CODE] = {"Code", ERR_ERROR, ERR_TOKEN | NODE_REQUIRED, ERR_MAX(code)},
    [ERR_MESSAGE] = {"Message", ERR_ERROR, NODE_TEXT | NODE_TRUNCATE,
                     ERR_MAX(message)},
    [ERR_REQUEST_ID] = {"RequestId", ERR_ROOT, ERR_TOKEN, ERR_MAX(request_id)},
    [ERR_BARE] = {"Error", NODE_NONE, 0, 0},
    [ERR_BARE_TYPE] = {"Type", ERR_BARE, ERR_TOKEN, ERR_MAX(type)},
    [ERR_BARE_CODE] = {"Code", ERR_BARE, ERR_TOKEN | NODE_REQUIRED,
                       ERR_MAX(code)},
    [ERR_BARE_MESSAGE] = {"Message", ERR_BARE, NODE_TEXT | NODE_TRUNCATE,
                          ERR_MAX(message)},
    [ERR_BARE_REQUEST_ID] = {"RequestId", ERR_BARE, ERR_TOKEN,
                             ERR_MAX(request_id)},
};
_Static_assert(ARRAY_SIZE(error_nodes) == ERR_N, "one entry per node");
_Static_assert(ERR_N <= 32, "parser.seen has 32 bits");

static int error_on_text(void *out, int node, const struct text *t,
                         struct cfw_err *err)
{
  struct cf_error *e = out;

  (void)err; /* nothing here can fail: the engine capped every length */
  switch (node) {
  case ERR_TYPE:
  case ERR_BARE_TYPE:
    copy_text(e->type, sizeof(e->type), t);
    return 0;
  case ERR_CODE:
  case ERR_BARE_CODE:
    copy_text(e->code, sizeof(e->code), t);
    return 0;
  case ERR_MESSAGE:
  case ERR_BARE_MESSAGE:
    copy_text(e->message, sizeof(e->message), t);
    e->message_truncated = t->cut;
    return 0;
  case ERR_REQUEST_ID:
  case ERR_BARE_REQUEST_ID:
    copy_text(e->request_id, sizeof(e->request_id), t);
    return 0;
  default:
    return 0;
  }
}

int cfxml_parse_error(const char *body, size_t len, struct cf_error *out,
                      struct cfw_err *err)
{
  const struct doc doc = {.nodes = error_nodes,
                          .n_nodes = ERR_N,
                          .max_body = CFXML_MAX_ERROR_BODY,
                          .out = out,
                          .on_text = error_on_text};
  int rc;

  memset(out, 0, sizeof(*out));
  rc = cfxml_run(&doc, body, len, err);
  if (rc < 0)
    memset(out, 0, sizeof(*out));
  return rc;
}
