/* SPDX-License-Identifier: MIT */
#include "xmltab.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <expat.h>

#include "buf.h"
#include "util.h"

/* Expat joins namespace URI and local name with this byte.  XML 1.0 can
 * hold it neither literally nor as a character reference, so a document
 * cannot forge it. */
#define XMLTAB_NS_SEP '\x01'

_Static_assert(XMLTAB_MAX_NODES <= 32, "parser.seen has 32 bits");

struct parser {
  XML_Parser xp;
  const struct xmltab_doc *doc;
  struct cfw_err *err; /* borrowed; may be NULL */
  int stack[XMLTAB_MAX_DEPTH];
  size_t depth;
  uint32_t seen;   /* nodes met inside the current instance of each parent */
  struct buf text; /* text of the current XMLTAB_TEXT node */
  bool cut;        /* that text was truncated */
  int rc;          /* the first failure */
};

static const char *local_name(const XML_Char *name)
{
  const char *sep = strrchr(name, XMLTAB_NS_SEP);

  return sep != NULL ? sep + 1 : name;
}

/* Records the first failure, prefixed with where expat is, and stops. */
static void parser_fail(struct parser *p, int rc)
{
  unsigned long long line = XML_GetCurrentLineNumber(p->xp);
  unsigned long long col = XML_GetCurrentColumnNumber(p->xp) + 1;

  if (p->rc < 0)
    return;
  p->rc = cfw_err_wrap(p->err, rc, "line %llu, column %llu", line, col);
  /* It fails only if parsing is already over, which is what we want. */
  (void)XML_StopParser(p->xp, XML_FALSE);
}

static int find_node(const struct xmltab_doc *doc, int parent, const char *name)
{
  size_t i;

  for (i = 0; i < doc->n_nodes; i++) {
    if (doc->nodes[i].parent == parent && strcmp(doc->nodes[i].name, name) == 0)
      return (int)i;
  }
  return XMLTAB_NONE;
}

static uint32_t children_of(const struct xmltab_doc *doc, int parent)
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
  const struct xmltab_node *nd = &p->doc->nodes[node];
  uint32_t bit = (uint32_t)1 << node;

  if ((p->seen & bit) != 0 && (nd->flags & XMLTAB_REPEATS) == 0)
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
  int parent = p->depth > 0 ? p->stack[p->depth - 1] : XMLTAB_NONE;
  int node = XMLTAB_NONE;
  int rc = 0;

  (void)attrs; /* CloudFront puts nothing we read in attributes */
  if (p->rc < 0)
    return;
  if (p->depth == XMLTAB_MAX_DEPTH)
    rc = cfw_err_set(p->err, -EBADMSG, "elements nested deeper than %d",
                     XMLTAB_MAX_DEPTH);
  else if (p->depth == 0 || parent != XMLTAB_NONE)
    node = find_node(p->doc, parent, local);
  if (rc == 0 && p->depth == 0 && node == XMLTAB_NONE)
    rc = cfw_err_set(p->err, -EBADMSG, "root element is <%.64s>, expected <%s>",
                     local, p->doc->nodes[0].name);
  if (rc == 0 && node != XMLTAB_NONE)
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
  const struct xmltab_node *nd;
  size_t room;
  size_t n = (size_t)len;
  int rc;

  if (p->rc < 0 || p->depth == 0 || p->stack[p->depth - 1] == XMLTAB_NONE)
    return;
  nd = &p->doc->nodes[p->stack[p->depth - 1]];
  if ((nd->flags & XMLTAB_TEXT) == 0)
    return;
  room = nd->max_len - p->text.len;
  if (n > room && (nd->flags & XMLTAB_TRUNCATE) != 0) {
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
  const struct xmltab_node *nd = &p->doc->nodes[node];
  struct xmltab_text t = {buf_str(&p->text), p->text.len, p->cut};

  if (memchr(t.s, '\0', t.len) != NULL)
    return cfw_err_set(p->err, -EBADMSG, "<%s> holds a NUL", nd->name);
  if (t.cut)
    t.len = utf8_cut(t.s, t.len);
  if ((nd->flags & XMLTAB_TRIM) != 0) {
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
  const struct xmltab_doc *doc = p->doc;
  size_t i;

  if ((doc->nodes[node].flags & XMLTAB_TEXT) != 0)
    return node_text(p, node);
  for (i = 0; i < doc->n_nodes; i++) {
    if (doc->nodes[i].parent == node &&
        (doc->nodes[i].flags & XMLTAB_REQUIRED) != 0 &&
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
  if (node == XMLTAB_NONE)
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

static int parser_create(struct parser *p, const struct xmltab_doc *doc,
                         struct cfw_err *err)
{
  memset(p, 0, sizeof(*p));
  p->doc = doc;
  p->err = err;
  buf_init(&p->text, doc->max_body);
  p->xp = XML_ParserCreateNS(NULL, XMLTAB_NS_SEP);
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
int xmltab_run(const struct xmltab_doc *doc, const char *body, size_t len,
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
void xmltab_copy_text(char *dst, size_t size, const struct xmltab_text *t)
{
  size_t len = t->len;

  assert(len < size);
  if (len >= size)
    len = size - 1;
  memcpy(dst, t->s, len);
  dst[len] = '\0';
}

int xmltab_parse_count(const char *what, const struct xmltab_text *t,
                       size_t max, size_t *out, struct cfw_err *err)
{
  char tmp[24];
  uint64_t v;

  if (t->len >= sizeof(tmp))
    return cfw_err_set(err, -EBADMSG, "<%s> is not a count", what);
  xmltab_copy_text(tmp, sizeof(tmp), t);
  if (parse_u64(tmp, 0, max, &v) < 0)
    return cfw_err_set(err, -EBADMSG, "<%s> \"%s\" is not a count in [0, %zu]",
                       what, tmp, max);
  *out = (size_t)v;
  return 0;
}

/* xsd:boolean, the only spellings rest-xml uses. */
int xmltab_parse_xsd_bool(const char *what, const struct xmltab_text *t,
                          bool *out, struct cfw_err *err)
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
