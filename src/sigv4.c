/* SPDX-License-Identifier: MIT */
#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4_canon.h"
#include "util.h"

#define SIGV4_ALGORITHM  "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SHA256_LEN       32
#define SHA256_HEX_LEN   (2 * SHA256_LEN)
#define AMZ_DATE_LEN     16 /* "20150830T123600Z" */
#define AMZ_DAY_LEN      8  /* "20150830" */
/* AWS secret access keys have 40 characters; anything this long is a
 * mistake, and the bound lets "AWS4" + secret live on the stack. */
#define SECRET_MAX 128
/* 9999-12-31T23:59:59Z, the last second with a four-digit year. */
#define AMZ_DATE_MAX_S INT64_C(253402300799)

static int sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1],
                      struct cfw_err *err)
{
  unsigned char md[SHA256_LEN];
  unsigned int len = 0;

  if (EVP_Digest(n > 0 ? p : "", n, md, &len, EVP_sha256(), NULL) != 1 ||
      len != SHA256_LEN)
    return cfw_err_set(err, -EIO, "SHA-256 failed");
  hex_encode(md, SHA256_LEN, out);
  return 0;
}

/* Appends everything after the method and path lines. */
static int add_request_tail(struct buf *b, struct buf *names,
                            const struct sigv4_request *req, const char *token,
                            struct cfw_err *err)
{
  char payload_hash[SHA256_HEX_LEN + 1];
  int rc;

  rc = sigv4_canon_add_query(b, req->query, err);
  if (rc == 0)
    rc = buf_addc(b, '\n');
  if (rc == 0)
    rc = sigv4_canon_add_headers(b, names, req, token, err);
  if (rc == 0 && req->payload_hash != NULL)
    str_copy(payload_hash, sizeof(payload_hash), req->payload_hash);
  else if (rc == 0)
    rc = sha256_hex(req->payload, req->payload_len, payload_hash, err);
  if (rc == 0)
    rc = buf_addf(b, "\n%s\n%s", buf_str(names), payload_hash);
  return rc;
}

static int build_canonical_request(const struct sigv4_request *req,
                                   const struct sigv4_creds *c,
                                   const struct sigv4_params *p, struct buf *b,
                                   struct buf *names, struct cfw_err *err)
{
  int rc;

  rc = buf_addf(b, "%s\n", req->method);
  if (rc == 0 && p->s3_style_path)
    rc = sigv4_canon_uri_encode(b, req->path, strlen(req->path), true);
  else if (rc == 0)
    rc = sigv4_canon_add_normalized_path(b, req->path);
  if (rc == 0)
    rc = buf_addc(b, '\n');
  if (rc == 0)
    rc = add_request_tail(b, names, req, c->session_token, err);
  return rc;
}

/* Appends "20150830/us-east-1/service/aws4_request". */
static int add_scope(struct buf *b, const struct sigv4_params *p)
{
  return buf_addf(b, "%.*s/%s/%s/%s", AMZ_DAY_LEN, p->amz_date, p->region,
                  p->service, SIGV4_TERMINATOR);
}

static int build_string_to_sign(const struct sigv4_params *p,
                                const struct buf *creq, struct buf *sts,
                                struct cfw_err *err)
{
  char creq_hash[SHA256_HEX_LEN + 1];
  int rc;

  rc = sha256_hex(creq->data, creq->len, creq_hash, err);
  if (rc == 0)
    rc = buf_addf(sts, "%s\n%s\n", SIGV4_ALGORITHM, p->amz_date);
  if (rc == 0)
    rc = add_scope(sts, p);
  if (rc == 0)
    rc = buf_addf(sts, "\n%s", creq_hash);
  return rc;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data,
                       size_t n, unsigned char out[SHA256_LEN])
{
  unsigned int len = 0;

  if (key_len > INT_MAX)
    return -EINVAL;
  if (HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len) == NULL ||
      len != SHA256_LEN)
    return -EIO;
  return 0;
}

/* Derives kSigning from the secret; every intermediate key is wiped. */
static int derive_signing_key(const char *secret, const struct sigv4_params *p,
                              unsigned char key[SHA256_LEN])
{
  static const char prefix[4] = {'A', 'W', 'S', '4'};
  unsigned char k_secret[sizeof(prefix) + SECRET_MAX + 1];
  unsigned char k_date[SHA256_LEN];
  unsigned char k_region[SHA256_LEN];
  size_t n = strlen(secret); /* at most SECRET_MAX, checked on entry */
  int rc;

  /* The key is "AWS4" + secret; the NUL copied along is not part of it. */
  memcpy(k_secret, prefix, sizeof(prefix));
  memcpy(k_secret + sizeof(prefix), secret, n + 1);
  rc = hmac_sha256(k_secret, sizeof(prefix) + n, p->amz_date, AMZ_DAY_LEN,
                   k_date);
  if (rc == 0)
    rc =
        hmac_sha256(k_date, SHA256_LEN, p->region, strlen(p->region), k_region);
  if (rc == 0)
    rc = hmac_sha256(k_region, SHA256_LEN, p->service, strlen(p->service),
                     k_date);
  if (rc == 0)
    rc = hmac_sha256(k_date, SHA256_LEN, SIGV4_TERMINATOR,
                     strlen(SIGV4_TERMINATOR), key);
  OPENSSL_cleanse(k_secret, sizeof(k_secret));
  OPENSSL_cleanse(k_date, sizeof(k_date));
  OPENSSL_cleanse(k_region, sizeof(k_region));
  return rc;
}

static int compute_signature(const char *secret, const struct sigv4_params *p,
                             const struct buf *sts,
                             char sig[SHA256_HEX_LEN + 1], struct cfw_err *err)
{
  unsigned char key[SHA256_LEN];
  unsigned char mac[SHA256_LEN];
  int rc;

  rc = derive_signing_key(secret, p, key);
  if (rc == 0)
    rc = hmac_sha256(key, SHA256_LEN, sts->data, sts->len, mac);
  if (rc == 0)
    hex_encode(mac, SHA256_LEN, sig);
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(mac, sizeof(mac));
  if (rc < 0)
    return cfw_err_set(err, rc, "HMAC-SHA256 failed");
  return 0;
}

static int build_authorization(const struct sigv4_creds *c,
                               const struct sigv4_params *p,
                               const struct buf *names, const char *sig,
                               struct buf *b)
{
  int rc;

  rc = buf_addf(b, "%s Credential=%s/", SIGV4_ALGORITHM, c->access_key_id);
  if (rc == 0)
    rc = add_scope(b, p);
  if (rc == 0)
    rc = buf_addf(b, ", SignedHeaders=%s, Signature=%s", buf_str(names), sig);
  return rc;
}

/* Checks "YYYYMMDDTHHMMSSZ" by shape; the value itself is the caller's. */
static bool is_amz_date(const char *s)
{
  size_t i;

  if (s == NULL || strlen(s) != AMZ_DATE_LEN)
    return false;
  for (i = 0; i < AMZ_DATE_LEN - 1; i++)
    if (i != AMZ_DAY_LEN && (s[i] < '0' || s[i] > '9'))
      return false;
  return s[AMZ_DAY_LEN] == 'T' && s[AMZ_DATE_LEN - 1] == 'Z';
}

/* Messages name the field but quote no value: a caller that swapped two
 * fields must not see a secret in a log. */
static int check_params(const struct sigv4_creds *c,
                        const struct sigv4_params *p, struct cfw_err *err)
{
  if (!sigv4_canon_all_of(c->access_key_id, sigv4_canon_is_alnum))
    return cfw_err_set(err, -EINVAL,
                       "access key id is empty or not alphanumeric");
  if (c->secret_access_key == NULL || c->secret_access_key[0] == '\0')
    return cfw_err_set(err, -EINVAL, "secret access key is empty");
  if (strlen(c->secret_access_key) > SECRET_MAX)
    return cfw_err_set(err, -EINVAL, "secret access key over %d bytes",
                       SECRET_MAX);
  if (c->session_token != NULL && c->session_token[0] == '\0')
    return cfw_err_set(err, -EINVAL, "session token is empty");
  if (!sigv4_canon_all_of(p->region, sigv4_canon_is_unreserved))
    return cfw_err_set(err, -EINVAL, "region is empty or not A-Za-z0-9-._~");
  if (!sigv4_canon_all_of(p->service, sigv4_canon_is_unreserved))
    return cfw_err_set(err, -EINVAL, "service is empty or not A-Za-z0-9-._~");
  if (!is_amz_date(p->amz_date))
    return cfw_err_set(err, -EINVAL, "amz_date is not YYYYMMDDTHHMMSSZ");
  return 0;
}

/* 64 lowercase hex digits, or the one literal S3 takes instead. */
static bool is_payload_hash(const char *s)
{
  size_t i;

  if (strcmp(s, "UNSIGNED-PAYLOAD") == 0)
    return true;
  for (i = 0; i < (size_t)SHA256_HEX_LEN; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[(size_t)SHA256_HEX_LEN] == '\0';
}

static int check_request(const struct sigv4_request *req,
                         const struct sigv4_params *p, struct cfw_err *err)
{
  if (!sigv4_canon_all_of(req->method, sigv4_canon_is_tchar))
    return cfw_err_set(err, -EINVAL, "method is empty or not a token");
  if (req->path == NULL || req->path[0] != '/')
    return cfw_err_set(err, -EINVAL, "path does not start with '/'");
  /* A raw S3 key may hold them: it is encoded whole. */
  if (!p->s3_style_path && strpbrk(req->path, "?#") != NULL)
    return cfw_err_set(err, -EINVAL, "path contains '?' or '#'");
  if (req->headers == NULL && req->n_headers > 0)
    return cfw_err_set(err, -EINVAL, "headers missing");
  if (req->payload == NULL && req->payload_len > 0)
    return cfw_err_set(err, -EINVAL, "payload missing");
  if (req->payload_hash != NULL && !is_payload_hash(req->payload_hash))
    return cfw_err_set(err, -EINVAL,
                       "payload hash is not 64 lowercase hex digits");
  return 0;
}

static void wipe_buf(struct buf *b)
{
  if (b->data != NULL)
    OPENSSL_cleanse(b->data, b->cap);
  buf_reset(b);
}

static void result_wipe(struct sigv4_result *r)
{
  wipe_buf(&r->canonical_request);
  wipe_buf(&r->string_to_sign);
  wipe_buf(&r->authorization);
  OPENSSL_cleanse(r->signature, sizeof(r->signature));
  r->signature[0] = '\0';
}

void sigv4_result_init(struct sigv4_result *r)
{
  buf_init(&r->canonical_request, SIGV4_TEXT_MAX);
  buf_init(&r->string_to_sign, SIGV4_TEXT_MAX);
  buf_init(&r->authorization, SIGV4_TEXT_MAX);
  r->signature[0] = '\0';
}

void sigv4_result_free(struct sigv4_result *r)
{
  if (r == NULL)
    return;
  result_wipe(r);
  buf_free(&r->canonical_request);
  buf_free(&r->string_to_sign);
  buf_free(&r->authorization);
}

static int sign_checked(const struct sigv4_request *req,
                        const struct sigv4_creds *c,
                        const struct sigv4_params *p, struct sigv4_result *out,
                        struct cfw_err *err)
{
  struct buf names;
  int rc;

  buf_init(&names, SIGV4_TEXT_MAX);
  rc = build_canonical_request(req, c, p, &out->canonical_request, &names, err);
  if (rc == 0)
    rc = build_string_to_sign(p, &out->canonical_request, &out->string_to_sign,
                              err);
  if (rc == 0)
    rc = compute_signature(c->secret_access_key, p, &out->string_to_sign,
                           out->signature, err);
  if (rc == 0)
    rc = build_authorization(c, p, &names, out->signature, &out->authorization);
  buf_free(&names);
  return rc;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *c,
               const struct sigv4_params *p, struct sigv4_result *out,
               struct cfw_err *err)
{
  int rc;

  result_wipe(out);
  rc = check_request(req, p, err);
  if (rc == 0)
    rc = check_params(c, p, err);
  if (rc == 0)
    rc = sign_checked(req, c, p, out, err);
  if (rc == 0)
    return 0;
  result_wipe(out);
  /* Codes from buf and calloc arrive without a message; every other
   * failure has set err already. */
  if (rc == -E2BIG)
    rc = cfw_err_set(err, rc, "request text over %zu bytes", SIGV4_TEXT_MAX);
  else if (rc == -ENOMEM)
    rc = cfw_err_set(err, rc, "out of memory");
  return cfw_err_wrap(err, rc, "sigv4");
}

int sigv4_uri_encode(struct buf *out, const char *s, bool keep_slash)
{
  return sigv4_canon_uri_encode(out, s, strlen(s), keep_slash);
}

int sigv4_amz_date(int64_t unix_s, char out[17])
{
  struct tm tm;
  time_t t;

  if (unix_s < 0 || unix_s > AMZ_DATE_MAX_S ||
      (int64_t)(time_t)unix_s != unix_s)
    return -ERANGE;
  t = (time_t)unix_s;
  if (gmtime_r(&t, &tm) == NULL)
    return -ERANGE;
  if (strftime(out, AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != AMZ_DATE_LEN)
    return -ERANGE;
  return 0;
}
