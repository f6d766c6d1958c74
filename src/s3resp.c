/* SPDX-License-Identifier: MIT */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3_int.h"
#include "util.h"

/* What each S3 call reads from a 2xx answer (s3_int.h). */

#define META_PREFIX "x-amz-meta-"

/* Copies header name of h into out, or "" (cut short: never longer than
 * S3 sends). */
static void copy_header(const struct http_response *h, const char *name,
                        char *out, size_t n)
{
  const char *v = http_response_header(h, name);

  str_copy(out, n, v != NULL ? v : "");
}

static int add_meta(struct s3_object_info *info, size_t *cap, const char *name,
                    const char *value)
{
  struct s3_meta_kv *v;
  char *n;
  size_t i;

  v = array_grow(info->meta, info->n_meta, cap, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  info->meta = v;
  n = strdup(name);
  v[info->n_meta].value = strdup(value);
  v[info->n_meta].name = n;
  if (n == NULL || v[info->n_meta].value == NULL) {
    free(n);
    free(v[info->n_meta].value);
    return -ENOMEM;
  }
  for (i = 0; n[i] != '\0'; i++)
    n[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
  info->n_meta++;
  return 0;
}

/* A 206's "Content-Range: bytes FIRST-LAST/TOTAL": TOTAL. */
static int read_total(const struct http_response *h, uint64_t *total)
{
  const char *v = http_response_header(h, "Content-Range");
  const char *slash;

  if (v == NULL || strncmp(v, "bytes ", 6) != 0)
    return -EBADMSG;
  slash = strchr(v, '/');
  if (slash == NULL)
    return -EBADMSG;
  return parse_u64(slash + 1, 1, UINT64_MAX, total);
}

/* HeadObject's and GetObject's headers. */
static int read_info(struct s3_object_info *info, const struct http_response *h,
                     char *why, size_t n)
{
  const char *len = http_response_header(h, "Content-Length");
  const char *name;
  const char *value;
  size_t cap = 0;
  size_t pos = 0;

  if (len == NULL || parse_u64(len, 0, UINT64_MAX, &info->size) < 0) {
    (void)snprintf(why, n, "no Content-Length in the answer");
    return -EBADMSG;
  }
  info->total = info->size;
  if (h->status == 206 && read_total(h, &info->total) < 0) {
    (void)snprintf(why, n, "a 206 without a Content-Range total");
    return -EBADMSG;
  }
  copy_header(h, "ETag", info->etag, sizeof(info->etag));
  copy_header(h, "Last-Modified", info->last_modified,
              sizeof(info->last_modified));
  copy_header(h, "x-amz-checksum-sha256", info->checksum,
              sizeof(info->checksum));
  copy_header(h, "Content-Type", info->content_type,
              sizeof(info->content_type));
  while (http_response_next_header(h, &pos, &name, &value)) {
    if (strncasecmp(name, META_PREFIX, strlen(META_PREFIX)) == 0 &&
        add_meta(info, &cap, name + strlen(META_PREFIX), value) < 0) {
      (void)snprintf(why, n, "out of memory");
      return -ENOMEM;
    }
  }
  return 0;
}

static enum s3_verdict on_get(struct s3_op *op, struct http_response *h,
                              char *why, size_t n, int *failed)
{
  int rc;

  if (h->body.len > op->get_max) {
    (void)snprintf(why, n, "object of %zu bytes, over %zu", h->body.len,
                   op->get_max);
    *failed = -E2BIG;
    return S3V_FATAL;
  }
  rc = read_info(&op->r.info, h, why, n);
  if (rc == -ENOMEM)
    *failed = rc;
  if (rc < 0)
    return S3V_RETRY;
  buf_free(&op->r.body);
  op->r.body = h->body; /* the response's body is ours to take */
  buf_init(&h->body, h->body.max);
  return S3V_DONE;
}

/* A document parser's failure: retried, as the answer was garbled. */
static enum s3_verdict unreadable(int rc, const struct cfw_err *e, char *why,
                                  size_t n, int *failed)
{
  if (rc == -ENOMEM)
    *failed = rc;
  (void)snprintf(why, n, "unreadable answer: %s", e->msg);
  return S3V_RETRY;
}

static enum s3_verdict on_complete(struct s3_op *op, struct http_response *h,
                                   struct s3_error *e, char *why, size_t n,
                                   int *failed)
{
  struct s3_complete_result res;
  struct cfw_err err = {0};
  int rc;

  rc = s3xml_parse_complete(buf_str(&h->body), h->body.len, &res, e, &err);
  if (rc < 0)
    return unreadable(rc, &err, why, n, failed);
  if (rc == 1) /* an error after the 200: judged as if it were a 400 */
    return retry_classify_s3(1, 0, 400, e->code, e->region[0] != '\0');
  str_copy(op->r.etag, sizeof(op->r.etag), res.etag);
  str_copy(op->r.checksum, sizeof(op->r.checksum), res.checksum);
  return S3V_DONE;
}

static enum s3_verdict on_document(struct s3_op *op, struct http_response *h,
                                   char *why, size_t n, int *failed)
{
  struct cfw_err err = {0};
  const char *p = buf_str(&h->body);
  int rc;

  if (op->kind == S3K_LIST)
    rc = s3xml_parse_list(p, h->body.len, &op->r.list, &err);
  else if (op->kind == S3K_DELETE)
    rc = s3xml_parse_delete(p, h->body.len, &op->r.deleted, &err);
  else
    rc = s3xml_parse_initiate(p, h->body.len, op->r.upload_id,
                              sizeof(op->r.upload_id), &err);
  return rc < 0 ? unreadable(rc, &err, why, n, failed) : S3V_DONE;
}

enum s3_verdict s3ops_on_2xx(struct s3_op *op, struct http_response *resp,
                             struct s3_error *e, char *why, size_t n,
                             int *failed)
{
  switch (op->kind) {
  case S3K_PUT:
  case S3K_MPU_PART:
    copy_header(resp, "ETag", op->r.etag, sizeof(op->r.etag));
    copy_header(resp, "x-amz-checksum-sha256", op->r.checksum,
                sizeof(op->r.checksum));
    return S3V_DONE;
  case S3K_GET:
    return on_get(op, resp, why, n, failed);
  case S3K_HEAD:
    if (read_info(&op->r.info, resp, why, n) == -ENOMEM)
      *failed = -ENOMEM;
    return why[0] != '\0' ? S3V_RETRY : S3V_DONE;
  case S3K_MPU_COMPLETE:
    return on_complete(op, resp, e, why, n, failed);
  case S3K_LIST:
  case S3K_DELETE:
  case S3K_MPU_CREATE:
    return on_document(op, resp, why, n, failed);
  case S3K_MPU_ABORT:
    break;
  }
  return S3V_DONE;
}
