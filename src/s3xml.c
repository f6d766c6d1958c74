/* SPDX-License-Identifier: MIT */
#include "s3xml.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xmltab.h"

#define FIELD_MAX(type, member) (sizeof(((type *)0)->member) - 1)
#define TOKEN                   (XMLTAB_TEXT | XMLTAB_TRIM)

_Static_assert(S3XML_MAX_BODY <= INT_MAX, "XML_Parse takes int");

/* ---- Error ---- */

enum err_node {
  ERR_ROOT,
  ERR_CODE,
  ERR_MESSAGE,
  ERR_REGION,
  ERR_ENDPOINT,
  ERR_REQUEST_ID,
  ERR_N
};

#define ERR_MAX(m) FIELD_MAX(struct s3_error, m)

static const struct xmltab_node err_nodes[] = {
    [ERR_ROOT] = {"Error", XMLTAB_NONE, 0, 0},
    [ERR_CODE] = {"Code", ERR_ROOT, TOKEN | XMLTAB_REQUIRED, ERR_MAX(code)},
    [ERR_MESSAGE] = {"Message", ERR_ROOT, XMLTAB_TEXT | XMLTAB_TRUNCATE,
                     ERR_MAX(message)},
    [ERR_REGION] = {"Region", ERR_ROOT, TOKEN, ERR_MAX(region)},
    [ERR_ENDPOINT] = {"Endpoint", ERR_ROOT, TOKEN, ERR_MAX(endpoint)},
    [ERR_REQUEST_ID] = {"RequestId", ERR_ROOT, TOKEN, ERR_MAX(request_id)},
};
_Static_assert(ARRAY_SIZE(err_nodes) == ERR_N, "one entry per node");

/* Fills an s3_error from a node of any table whose Error nodes have
 * err_nodes' numbers. */
static int error_text(struct s3_error *e, int node, const struct xmltab_text *t)
{
  switch (node) {
  case ERR_CODE:
    xmltab_copy_text(e->code, sizeof(e->code), t);
    break;
  case ERR_MESSAGE:
    xmltab_copy_text(e->message, sizeof(e->message), t);
    e->message_cut = t->cut;
    break;
  case ERR_REGION:
    xmltab_copy_text(e->region, sizeof(e->region), t);
    break;
  case ERR_ENDPOINT:
    xmltab_copy_text(e->endpoint, sizeof(e->endpoint), t);
    break;
  case ERR_REQUEST_ID:
    xmltab_copy_text(e->request_id, sizeof(e->request_id), t);
    break;
  default:
    break;
  }
  return 0;
}

static int err_on_text(void *out, int node, const struct xmltab_text *t,
                       struct cfw_err *err)
{
  (void)err; /* the engine capped every length */
  return error_text(out, node, t);
}

int s3xml_parse_error(const char *body, size_t len, struct s3_error *out,
                      struct cfw_err *err)
{
  const struct xmltab_doc doc = {.nodes = err_nodes,
                                 .n_nodes = ERR_N,
                                 .max_body = S3XML_MAX_BODY,
                                 .out = out,
                                 .on_text = err_on_text};
  int rc;

  memset(out, 0, sizeof(*out));
  rc = xmltab_run(&doc, body, len, err);
  if (rc < 0)
    memset(out, 0, sizeof(*out));
  return rc;
}

/* ---- InitiateMultipartUploadResult ---- */

enum init_node { INIT_ROOT, INIT_UPLOAD_ID, INIT_N };

static const struct xmltab_node init_nodes[] = {
    [INIT_ROOT] = {"InitiateMultipartUploadResult", XMLTAB_NONE, 0, 0},
    [INIT_UPLOAD_ID] = {"UploadId", INIT_ROOT, TOKEN | XMLTAB_REQUIRED,
                        S3_UPLOAD_ID_MAX},
};

struct init_out {
  char *id;
  size_t n;
};

static int init_on_text(void *out, int node, const struct xmltab_text *t,
                        struct cfw_err *err)
{
  struct init_out *o = out;

  if (node != INIT_UPLOAD_ID)
    return 0;
  if (t->len == 0 || t->len >= o->n)
    return cfw_err_set(err, -EBADMSG, "<UploadId> of %zu bytes", t->len);
  xmltab_copy_text(o->id, o->n, t);
  return 0;
}

int s3xml_parse_initiate(const char *body, size_t len, char *out, size_t n,
                         struct cfw_err *err)
{
  struct init_out o = {out, n};
  const struct xmltab_doc doc = {.nodes = init_nodes,
                                 .n_nodes = INIT_N,
                                 .max_body = S3XML_MAX_BODY,
                                 .out = &o,
                                 .on_text = init_on_text};

  out[0] = '\0';
  return xmltab_run(&doc, body, len, err);
}

/* ---- CompleteMultipartUpload ---- */

static int add_escaped(struct buf *out, const char *s)
{
  static const char specials[] = "&<>\"'\r\n\t";
  static const char *const escapes[] = {"&amp;",  "&lt;",  "&gt;",  "&quot;",
                                        "&apos;", "&#13;", "&#10;", "&#9;"};
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

static int add_element(struct buf *out, const char *name, const char *text)
{
  int rc = buf_addf(out, "<%s>", name);

  if (rc == 0)
    rc = add_escaped(out, text);
  if (rc == 0)
    rc = buf_addf(out, "</%s>", name);
  return rc;
}

/* Cuts out back to len after a failed append. */
static int body_fail(struct buf *out, size_t len, int rc, const char *what,
                     struct cfw_err *err)
{
  out->len = len;
  if (out->data != NULL)
    out->data[len] = '\0';
  if (rc == -E2BIG)
    return cfw_err_set(err, rc, "%s body over %zu bytes", what, out->max);
  return cfw_err_set(err, rc, "%s body: out of memory", what);
}

static int complete_check(const struct s3_part *parts, size_t n,
                          struct cfw_err *err)
{
  size_t i;

  if (n == 0 || n > S3_PARTS_MAX)
    return cfw_err_set(err, -EINVAL, "%zu parts (1 to %d)", n, S3_PARTS_MAX);
  for (i = 0; i < n; i++) {
    if (parts[i].number == 0 || parts[i].number > S3_PARTS_MAX ||
        (i > 0 && parts[i].number <= parts[i - 1].number))
      return cfw_err_set(err, -EINVAL, "part numbers must ascend from 1");
  }
  return 0;
}

int s3xml_complete_body(struct buf *out, const struct s3_part *parts, size_t n,
                        struct cfw_err *err)
{
  size_t old = out->len;
  size_t i;
  int rc;

  rc = complete_check(parts, n, err);
  if (rc < 0)
    return rc;
  rc = buf_addf(out, "<CompleteMultipartUpload xmlns=\"%s\">", S3XML_NAMESPACE);
  for (i = 0; i < n && rc == 0; i++) {
    rc = buf_addf(out, "<Part><PartNumber>%u</PartNumber>", parts[i].number);
    if (rc == 0)
      rc = add_element(out, "ETag", parts[i].etag);
    if (rc == 0 && parts[i].checksum[0] != '\0')
      rc = add_element(out, "ChecksumSHA256", parts[i].checksum);
    if (rc == 0)
      rc = buf_adds(out, "</Part>");
  }
  if (rc == 0)
    rc = buf_adds(out, "</CompleteMultipartUpload>");
  return rc == 0 ? 0 : body_fail(out, old, rc, "CompleteMultipartUpload", err);
}

enum done_node {
  DONE_ROOT = ERR_N, /* Error's nodes come first: error_text's numbers */
  DONE_ETAG,
  DONE_CHECKSUM,
  DONE_N
};

static const struct xmltab_node done_nodes[] = {
    [ERR_ROOT] = {"Error", XMLTAB_NONE, 0, 0},
    [ERR_CODE] = {"Code", ERR_ROOT, TOKEN | XMLTAB_REQUIRED, ERR_MAX(code)},
    [ERR_MESSAGE] = {"Message", ERR_ROOT, XMLTAB_TEXT | XMLTAB_TRUNCATE,
                     ERR_MAX(message)},
    [ERR_REGION] = {"Region", ERR_ROOT, TOKEN, ERR_MAX(region)},
    [ERR_ENDPOINT] = {"Endpoint", ERR_ROOT, TOKEN, ERR_MAX(endpoint)},
    [ERR_REQUEST_ID] = {"RequestId", ERR_ROOT, TOKEN, ERR_MAX(request_id)},
    [DONE_ROOT] = {"CompleteMultipartUploadResult", XMLTAB_NONE, 0, 0},
    [DONE_ETAG] = {"ETag", DONE_ROOT, TOKEN | XMLTAB_REQUIRED,
                   FIELD_MAX(struct s3_complete_result, etag)},
    [DONE_CHECKSUM] = {"ChecksumSHA256", DONE_ROOT, TOKEN,
                       FIELD_MAX(struct s3_complete_result, checksum)},
};
_Static_assert(ARRAY_SIZE(done_nodes) == DONE_N, "one entry per node");

struct done_out {
  struct s3_complete_result *res;
  struct s3_error *e;
};

static int done_on_text(void *out, int node, const struct xmltab_text *t,
                        struct cfw_err *err)
{
  struct done_out *o = out;

  (void)err; /* the engine capped every length */
  if (node == DONE_ETAG)
    xmltab_copy_text(o->res->etag, sizeof(o->res->etag), t);
  else if (node == DONE_CHECKSUM)
    xmltab_copy_text(o->res->checksum, sizeof(o->res->checksum), t);
  else
    return error_text(o->e, node, t);
  return 0;
}

int s3xml_parse_complete(const char *body, size_t len,
                         struct s3_complete_result *res, struct s3_error *e,
                         struct cfw_err *err)
{
  struct done_out o = {res, e};
  const struct xmltab_doc doc = {.nodes = done_nodes,
                                 .n_nodes = DONE_N,
                                 .max_body = S3XML_MAX_BODY,
                                 .out = &o,
                                 .on_text = done_on_text};
  int rc;

  memset(res, 0, sizeof(*res));
  memset(e, 0, sizeof(*e));
  rc = xmltab_run(&doc, body, len, err);
  if (rc < 0)
    return rc;
  return e->code[0] != '\0' ? 1 : 0;
}

/* ---- DeleteObjects ---- */

/* XML 1.0 carries no control byte but TAB, CR and LF, not even as a
 * character reference. */
static bool key_ok(const char *k)
{
  if (*k == '\0')
    return false;
  for (; *k != '\0'; k++) {
    unsigned char c = (unsigned char)*k;

    if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
      return false;
  }
  return true;
}

int s3xml_delete_body(struct buf *out, const char *const *keys, size_t n,
                      bool quiet, struct cfw_err *err)
{
  size_t old = out->len;
  size_t i;
  int rc;

  if (n == 0 || n > S3_DELETE_MAX)
    return cfw_err_set(err, -EINVAL, "%zu keys to delete (1 to %d)", n,
                       S3_DELETE_MAX);
  for (i = 0; i < n; i++)
    if (!key_ok(keys[i]))
      return cfw_err_set(err, -EINVAL,
                         "key #%zu is empty or holds a control byte that "
                         "XML cannot carry",
                         i);
  rc = buf_addf(out, "<Delete xmlns=\"%s\">%s", S3XML_NAMESPACE,
                quiet ? "<Quiet>true</Quiet>" : "");
  for (i = 0; i < n && rc == 0; i++) {
    rc = buf_adds(out, "<Object>");
    if (rc == 0)
      rc = add_element(out, "Key", keys[i]);
    if (rc == 0)
      rc = buf_adds(out, "</Object>");
  }
  if (rc == 0)
    rc = buf_adds(out, "</Delete>");
  return rc == 0 ? 0 : body_fail(out, old, rc, "Delete", err);
}

enum del_node {
  DEL_ROOT,
  DEL_DELETED,
  DEL_ERROR,
  DEL_KEY,
  DEL_CODE,
  DEL_MESSAGE,
  DEL_N
};

static const struct xmltab_node del_nodes[] = {
    [DEL_ROOT] = {"DeleteResult", XMLTAB_NONE, 0, 0},
    [DEL_DELETED] = {"Deleted", DEL_ROOT, XMLTAB_REPEATS, 0},
    [DEL_ERROR] = {"Error", DEL_ROOT, XMLTAB_REPEATS, 0},
    [DEL_KEY] = {"Key", DEL_ERROR, XMLTAB_TEXT | XMLTAB_REQUIRED,
                 (size_t)S3_KEY_MAX * 4},
    [DEL_CODE] = {"Code", DEL_ERROR, TOKEN,
                  FIELD_MAX(struct s3_delete_error, code)},
    [DEL_MESSAGE] = {"Message", DEL_ERROR, XMLTAB_TEXT | XMLTAB_TRUNCATE,
                     FIELD_MAX(struct s3_delete_error, message)},
};
_Static_assert(ARRAY_SIZE(del_nodes) == DEL_N, "one entry per node");

void s3_delete_result_init(struct s3_delete_result *r)
{
  memset(r, 0, sizeof(*r));
}

void s3_delete_result_free(struct s3_delete_result *r)
{
  size_t i;

  if (r == NULL)
    return;
  for (i = 0; i < r->n_errors; i++)
    free(r->errors[i].key);
  free(r->errors);
  s3_delete_result_init(r);
}

struct del_out {
  struct s3_delete_result *r;
  size_t cap;
};

static int del_on_start(void *out, int node, struct cfw_err *err)
{
  struct del_out *o = out;
  struct s3_delete_error *v;

  if (node == DEL_DELETED) {
    o->r->n_deleted++;
    return 0;
  }
  if (node != DEL_ERROR)
    return 0;
  if (o->r->n_errors == S3_DELETE_MAX)
    return cfw_err_set(err, -EBADMSG, "more than %d <Error>", S3_DELETE_MAX);
  v = array_grow(o->r->errors, o->r->n_errors, &o->cap, sizeof(*v));
  if (v == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  o->r->errors = v;
  memset(&v[o->r->n_errors++], 0, sizeof(*v));
  return 0;
}

static int del_on_text(void *out, int node, const struct xmltab_text *t,
                       struct cfw_err *err)
{
  struct del_out *o = out;
  struct s3_delete_error *e;

  if (o->r->n_errors == 0)
    return 0; /* unreachable: these nodes sit inside an <Error> */
  e = &o->r->errors[o->r->n_errors - 1];
  if (node == DEL_KEY) {
    e->key = strndup(t->s, t->len);
    if (e->key == NULL)
      return cfw_err_set(err, -ENOMEM, "out of memory");
  } else if (node == DEL_CODE) {
    xmltab_copy_text(e->code, sizeof(e->code), t);
  } else if (node == DEL_MESSAGE) {
    xmltab_copy_text(e->message, sizeof(e->message), t);
  }
  return 0;
}

int s3xml_parse_delete(const char *body, size_t len, struct s3_delete_result *r,
                       struct cfw_err *err)
{
  struct del_out o = {r, 0};
  const struct xmltab_doc doc = {.nodes = del_nodes,
                                 .n_nodes = DEL_N,
                                 .max_body = S3XML_MAX_BODY,
                                 .out = &o,
                                 .on_start = del_on_start,
                                 .on_text = del_on_text};
  int rc;

  s3_delete_result_free(r);
  rc = xmltab_run(&doc, body, len, err);
  if (rc < 0)
    s3_delete_result_free(r);
  return rc;
}
