/* SPDX-License-Identifier: MIT */
#include "s3.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_int.h"
#include "sigv4.h"
#include "util.h"

/* What each S3 call sends, and what it reads from a 2xx answer; s3.c
 * signs, sends, classifies and retries. */

#define META_PREFIX    "x-amz-meta-"
#define DEFAULT_TYPE   "binary/octet-stream"
#define XML_TYPE       "application/xml"
#define B64_SHA256_LEN 44 /* base64 of 32 bytes, padding included */
#define QUERY_MAX      ((size_t)16 * 1024)

/* ---- Building requests ---- */

static void sha256_b64(const unsigned char md[32], char out[B64_SHA256_LEN + 1])
{
  (void)EVP_EncodeBlock((unsigned char *)out, md, 32); /* always 44 */
}

static int digest(const EVP_MD *md, const void *p, size_t n, unsigned char *out)
{
  unsigned int len = 0;

  return EVP_Digest(n > 0 ? p : "", n, out, &len, md, NULL) == 1 ? 0 : -EIO;
}

/* x-amz-content-sha256 (hex, signed) and x-amz-checksum-sha256 (base64,
 * checked and stored by S3) for bytes whose digest is md. */
static int add_sha256(struct s3_op *op, const unsigned char md[32])
{
  char b64[B64_SHA256_LEN + 1];

  hex_encode(md, 32, op->payload_hash);
  sha256_b64(md, b64);
  return s3_op_header(op, "x-amz-checksum-sha256", b64);
}

/* A meta name is sent as x-amz-meta-NAME: an HTTP token. */
static bool meta_name_ok(const char *n)
{
  size_t len = strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-_.");

  return len > 0 && n[len] == '\0';
}

static int add_stored(struct s3_op *op, const struct s3_put_opts *po)
{
  char name[256];
  size_t i;
  int rc;

  rc = s3_op_header(op, "Content-Type",
                    po->content_type ? po->content_type : DEFAULT_TYPE);
  if (rc == 0 && po->cache_control != NULL)
    rc = s3_op_header(op, "Cache-Control", po->cache_control);
  if (rc == 0 && po->content_encoding != NULL)
    rc = s3_op_header(op, "Content-Encoding", po->content_encoding);
  if (rc == 0 && po->content_disposition != NULL)
    rc = s3_op_header(op, "Content-Disposition", po->content_disposition);
  for (i = 0; rc == 0 && i < po->n_meta; i++) {
    if (!meta_name_ok(po->meta[i].name) ||
        strlen(po->meta[i].name) + sizeof(META_PREFIX) > sizeof(name))
      return -EINVAL;
    (void)snprintf(name, sizeof(name), META_PREFIX "%s", po->meta[i].name);
    rc = s3_op_header(op, name, po->meta[i].value);
  }
  return rc;
}

static int add_conditions(struct s3_op *op, const struct s3_put_opts *po)
{
  char quoted[S3_ETAG_MAX + 3];
  int rc = 0;

  if (po->if_none_match)
    rc = s3_op_header(op, "If-None-Match", "*");
  if (rc == 0 && po->if_match != NULL) {
    if (po->if_match[0] == '"' || strlen(po->if_match) + 2 >= sizeof(quoted))
      return s3_op_header(op, "If-Match", po->if_match);
    (void)snprintf(quoted, sizeof(quoted), "\"%s\"", po->if_match);
    rc = s3_op_header(op, "If-Match", quoted);
  }
  return rc;
}

/* Starts op, or frees it and says why it could not be built. */
static int start_or_fail(struct s3_op *op, int rc, struct s3_op **out,
                         struct cfw_err *err)
{
  if (rc == 0)
    return s3_op_start(op, out, err);
  cfw_err_set(err, rc, "S3 %s s3://%s/%s: %s", op->method,
              s3_client_bucket(op->c), op->key,
              rc == -ENOMEM ? "out of memory" : "a bad header or argument");
  s3_op_free(op);
  return rc;
}

static int set_file(struct s3_op *op, int fd, uint64_t offset, uint64_t len,
                    const unsigned char sha256[32])
{
  if (fd < 0)
    return -EINVAL;
  op->has_file = true;
  op->file = (struct http_file_body){fd, offset, len};
  return add_sha256(op, sha256);
}

int s3_put_file(struct s3_client *c, const char *key, int fd, uint64_t size,
                const unsigned char sha256[32], const struct s3_put_opts *po,
                s3_cb cb, void *arg, struct s3_op **op, struct cfw_err *err)
{
  static const struct s3_put_opts none = {0};
  struct s3_op *o = s3_op_new(c, S3K_PUT, "PUT", key, cb, arg, err);
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  po = po != NULL ? po : &none;
  rc = set_file(o, fd, 0, size, sha256);
  if (rc == 0)
    rc = add_stored(o, po);
  if (rc == 0)
    rc = add_conditions(o, po);
  return start_or_fail(o, rc, op, err);
}

int s3_put_buf(struct s3_client *c, const char *key, const void *data,
               size_t len, const struct s3_put_opts *po, s3_cb cb, void *arg,
               struct s3_op **op, struct cfw_err *err)
{
  static const struct s3_put_opts none = {0};
  struct s3_op *o = s3_op_new(c, S3K_PUT, "PUT", key, cb, arg, err);
  unsigned char md[32];
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  po = po != NULL ? po : &none;
  o->body.max = len;
  rc = buf_add(&o->body, data, len);
  if (rc == 0)
    rc = digest(EVP_sha256(), data, len, md);
  if (rc == 0)
    rc = add_sha256(o, md);
  if (rc == 0)
    rc = add_stored(o, po);
  if (rc == 0)
    rc = add_conditions(o, po);
  return start_or_fail(o, rc, op, err);
}

static struct s3_op *new_read(struct s3_client *c, enum s3_kind kind,
                              const char *method, const char *key, s3_cb cb,
                              void *arg, struct cfw_err *err)
{
  struct s3_op *o = s3_op_new(c, kind, method, key, cb, arg, err);

  if (o != NULL && s3_op_header(o, "x-amz-checksum-mode", "ENABLED") < 0) {
    s3_op_free(o);
    cfw_err_set(err, -ENOMEM, "out of memory");
    return NULL;
  }
  return o;
}

int s3_get(struct s3_client *c, const char *key, size_t max, s3_cb cb,
           void *arg, struct s3_op **op, struct cfw_err *err)
{
  struct s3_op *o = new_read(c, S3K_GET, "GET", key, cb, arg, err);

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  o->get_max = max == 0 || max > S3_GET_MAX ? S3_GET_MAX : max;
  return start_or_fail(o, 0, op, err);
}

int s3_get_range(struct s3_client *c, const char *key, uint64_t offset,
                 size_t len, const char *if_match, s3_cb cb, void *arg,
                 struct s3_op **op, struct cfw_err *err)
{
  struct s3_put_opts po = {0};
  struct s3_op *o;
  char range[64];
  int rc;

  if (len == 0 || len > S3_GET_MAX || offset > UINT64_MAX - len)
    return cfw_err_set(err, -EINVAL, "%s: a bad range", key);
  o = new_read(c, S3K_GET, "GET", key, cb, arg, err);
  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  o->get_max = len;
  /* RFC 9110 14.1.2: "bytes=first-last", last inclusive. */
  (void)snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, offset,
                 offset + len - 1); /* fits: 2 * 20 digits */
  rc = s3_op_header(o, "Range", range);
  po.if_match = if_match;
  if (rc == 0)
    rc = add_conditions(o, &po);
  return start_or_fail(o, rc, op, err);
}

int s3_head(struct s3_client *c, const char *key, s3_cb cb, void *arg,
            struct s3_op **op, struct cfw_err *err)
{
  struct s3_op *o = new_read(c, S3K_HEAD, "HEAD", key, cb, arg, err);

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  return start_or_fail(o, 0, op, err);
}

/* Appends "&name=value", the value encoded as SigV4 encodes. */
static int add_param(struct buf *q, const char *name, const char *value)
{
  int rc = buf_addf(q, "&%s=", name);

  return rc == 0 ? sigv4_uri_encode(q, value, false) : rc;
}

int s3_list(struct s3_client *c, const char *prefix, const char *token,
            s3_cb cb, void *arg, struct s3_op **op, struct cfw_err *err)
{
  return s3_list_after(c, prefix, NULL, token, cb, arg, op, err);
}

int s3_list_after(struct s3_client *c, const char *prefix, const char *after,
                  const char *token, s3_cb cb, void *arg, struct s3_op **op,
                  struct cfw_err *err)
{
  struct s3_op *o = s3_op_new(c, S3K_LIST, "GET", "", cb, arg, err);
  struct buf q;
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  buf_init(&q, QUERY_MAX);
  rc = buf_adds(&q, "list-type=2&encoding-type=url&max-keys=1000");
  if (rc == 0 && prefix != NULL && prefix[0] != '\0')
    rc = add_param(&q, "prefix", prefix);
  if (rc == 0 && after != NULL && after[0] != '\0')
    rc = add_param(&q, "start-after", after);
  if (rc == 0 && token != NULL && token[0] != '\0')
    rc = add_param(&q, "continuation-token", token);
  o->query = rc == 0 ? buf_take(&q) : NULL;
  buf_free(&q);
  return start_or_fail(o, o->query != NULL ? 0 : -ENOMEM, op, err);
}

int s3_delete_objects(struct s3_client *c, const char *const *keys, size_t n,
                      s3_cb cb, void *arg, struct s3_op **op,
                      struct cfw_err *err)
{
  struct s3_op *o = s3_op_new(c, S3K_DELETE, "POST", "", cb, arg, err);
  unsigned char md5[16];
  char b64[32];
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  rc = s3xml_delete_body(&o->body, keys, n, true, err);
  if (rc < 0) {
    s3_op_free(o);
    return rc;
  }
  o->query = strdup("delete");
  /* S3 wants Content-MD5 or a checksum on DeleteObjects; MD5 is the
   * one every S3-compatible service knows. */
  rc = o->query != NULL ? digest(EVP_md5(), o->body.data, o->body.len, md5)
                        : -ENOMEM;
  if (rc == 0) {
    (void)EVP_EncodeBlock((unsigned char *)b64, md5, sizeof(md5));
    rc = s3_op_header(o, "Content-MD5", b64);
  }
  if (rc == 0)
    rc = s3_op_header(o, "Content-Type", XML_TYPE);
  return start_or_fail(o, rc, op, err);
}

/* ---- Multipart ---- */

/* "partNumber=N&uploadId=ID", or "uploadId=ID" for number 0. */
static int upload_query(struct s3_op *o, const char *upload_id, unsigned number)
{
  struct buf q;
  int rc;

  buf_init(&q, QUERY_MAX);
  rc = number > 0 ? buf_addf(&q, "partNumber=%u&", number) : 0;
  if (rc == 0)
    rc = buf_adds(&q, "uploadId=");
  if (rc == 0)
    rc = sigv4_uri_encode(&q, upload_id, false);
  o->query = rc == 0 ? buf_take(&q) : NULL;
  buf_free(&q);
  return o->query != NULL ? 0 : -ENOMEM;
}

int s3_mpu_create(struct s3_client *c, const char *key,
                  const struct s3_put_opts *po, s3_cb cb, void *arg,
                  struct s3_op **op, struct cfw_err *err)
{
  static const struct s3_put_opts none = {0};
  struct s3_op *o = s3_op_new(c, S3K_MPU_CREATE, "POST", key, cb, arg, err);
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  o->query = strdup("uploads");
  rc = o->query != NULL ? 0 : -ENOMEM;
  if (rc == 0)
    rc = s3_op_header(o, "x-amz-checksum-algorithm", "SHA256");
  if (rc == 0)
    rc = add_stored(o, po != NULL ? po : &none);
  return start_or_fail(o, rc, op, err);
}

int s3_mpu_part(struct s3_client *c, const char *key, const char *upload_id,
                unsigned number, int fd, uint64_t offset, uint64_t len,
                const unsigned char sha256[32], s3_cb cb, void *arg,
                struct s3_op **op, struct cfw_err *err)
{
  struct s3_op *o = s3_op_new(c, S3K_MPU_PART, "PUT", key, cb, arg, err);
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  rc = number >= 1 && number <= S3_PARTS_MAX ? 0 : -EINVAL;
  if (rc == 0)
    rc = upload_query(o, upload_id, number);
  if (rc == 0)
    rc = set_file(o, fd, offset, len, sha256);
  return start_or_fail(o, rc, op, err);
}

int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
                    const struct s3_part *parts, size_t n,
                    const struct s3_put_opts *po, s3_cb cb, void *arg,
                    struct s3_op **op, struct cfw_err *err)
{
  struct s3_op *o = s3_op_new(c, S3K_MPU_COMPLETE, "POST", key, cb, arg, err);
  int rc;

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  rc = s3xml_complete_body(&o->body, parts, n, err);
  if (rc < 0) {
    s3_op_free(o);
    return rc;
  }
  rc = upload_query(o, upload_id, 0);
  if (rc == 0)
    rc = s3_op_header(o, "Content-Type", XML_TYPE);
  if (rc == 0 && po != NULL)
    rc = add_conditions(o, po);
  return start_or_fail(o, rc, op, err);
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
                 s3_cb cb, void *arg, struct s3_op **op, struct cfw_err *err)
{
  struct s3_op *o = s3_op_new(c, S3K_MPU_ABORT, "DELETE", key, cb, arg, err);

  if (o == NULL)
    return err != NULL ? err->code : -EINVAL;
  return start_or_fail(o, upload_query(o, upload_id, 0), op, err);
}
