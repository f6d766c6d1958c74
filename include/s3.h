/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3_H
#define CFW_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "err.h"
#include "s3xml.h"

struct aws_client;
struct log;

/* Amazon S3 (API 2006-03-01), or an S3-compatible endpoint, for one
 * bucket: the calls an origin sync and shared state need, each one
 * operation with its retries.  Requests are path-style
 * (<endpoint>/BUCKET/KEY), signed by an aws_client (awsclient.h) for
 * service s3 and the bucket's region, the key encoded once as S3 wants.
 *
 * Each call retries transient failures (5xx, 503 SlowDown, 400
 * RequestTimeout, 409 ConditionalRequestConflict, resets, timeouts;
 * retry_classify_s3) with full-jitter exponential backoff until
 * retry_for_ms has passed since the call began, gets new credentials
 * once or twice on ExpiredToken, and follows a wrong region once: S3
 * names the bucket's region in an x-amz-bucket-region header or a
 * <Region> element; the client then signs for that region (and, on the
 * default endpoint, sends to s3.REGION.amazonaws.com) from that call on,
 * and logs a warning naming the region to configure and where the wrong
 * one came from (region_source).
 *
 * Plain http is refused for anything but a loopback endpoint (http.h):
 * s3_client_new fails with -EPERM.
 *
 * A retried write may have been done by an attempt whose answer was
 * lost (a reset or timeout after the request went out, or a 5xx): S3
 * then applies it twice, which is harmless for a plain PutObject, but a
 * conditional write's retry finds its own write and answers 412.  The
 * result says so (unsure): the caller compares the object's ETag (a
 * HEAD) with what it wrote before it concludes someone else won. */

#define S3_DEFAULT_REGION "us-east-1"
#define S3_SOURCE_MAX     256
#define S3_GET_MAX        ((size_t)4 << 20) /* http's default body cap */

struct s3_client; /* opaque */
struct s3_op;     /* one call in progress: for s3_cancel */

struct s3_client_opts {
  const char *bucket; /* copied; s3url.h's rules */
  const char *region; /* copied; NULL: S3_DEFAULT_REGION */
  /* Copied (cut to S3_SOURCE_MAX); where region came from ("--region",
   * "AWS_REGION", ...; awsregion.h), for the debug log and the warning
   * when S3 names another; NULL: "the default" or "region". */
  const char *region_source;
  /* Copied: "https://host[:port][/path]" of an S3-compatible service or
   * the stand-in; NULL: https://s3.REGION.amazonaws.com. */
  const char *endpoint;
  struct aws_client *aws;   /* borrowed: credentials, signing, http */
  struct log *log;          /* borrowed; NULL is fine */
  uint64_t retry_for_ms;    /* per call; 0: retry for ever (the daemon) */
  uint64_t backoff_base_ms; /* 0: 200 ms */
  uint64_t backoff_cap_ms;  /* 0: 20 s, or 5 min when retrying for ever */
  /* Each attempt's time bound, plus 1 s per 64 KiB of request body;
   * 0: 60 s. */
  uint64_t request_timeout_ms;
};

/* How a call ended.  Every outcome but S3_OK comes with r->err set,
 * naming the operation and key. */
enum s3_outcome {
  S3_OK = 0,
  S3_CHANGED,      /* S3 refused the bytes as not the ones hashed
                    * (XAmzContentSHA256Mismatch, BadDigest): the file
                    * changed since; hash it again */
  S3_PRECONDITION, /* 412: If-Match or If-None-Match did not hold */
  S3_NOT_FOUND,    /* 404: no such key or upload */
  S3_REFUSED,      /* refused for good, with a hint: CFW_CLASS_REFUSED */
  S3_GAVE_UP,      /* still transient at the deadline: CFW_CLASS_TRANSIENT */
  S3_CANCELLED,    /* s3_cancel or s3_client_destroy: CFW_CLASS_TRANSIENT */
  S3_FAILED        /* here: an answer over its cap, memory, a bad file */
};

const char *s3_outcome_str(enum s3_outcome o);

/* One x-amz-meta-NAME header; NAME is sent lowercased by S3's rules
 * (a token: letters, digits, '-', '_', '.'). */
struct s3_meta {
  const char *name;  /* without "x-amz-meta-" */
  const char *value; /* printable ASCII; no CR or LF */
};

/* What a write stores with the object besides its bytes, and its
 * conditions.  Every pointer is borrowed and NULL (or 0) means "not
 * sent".  CompleteMultipartUpload takes only the two conditions; the
 * stored headers go to CreateMultipartUpload. */
struct s3_put_opts {
  const char *content_type; /* default binary/octet-stream, as S3's */
  const char *cache_control;
  const char *content_encoding;
  const char *content_disposition;
  const struct s3_meta *meta;
  size_t n_meta;
  bool if_none_match;   /* If-None-Match: *: create only */
  const char *if_match; /* ETag ("quoted" or not): replace only that one */
};

/* An object's headers, from HeadObject and GetObject. */
struct s3_object_info {
  uint64_t size;  /* the bytes sent (a range's, for a ranged GET) */
  uint64_t total; /* the whole object's size (Content-Range's, on a 206) */
  char etag[S3_ETAG_MAX + 1];
  char last_modified[64];             /* as sent: an HTTP date */
  char checksum[S3_CHECKSUM_MAX + 1]; /* x-amz-checksum-sha256, or "" */
  char content_type[256];
  struct s3_meta_kv {
    char *name;  /* owned; lowercase, without "x-amz-meta-" */
    char *value; /* owned */
  } * meta;      /* owned */
  size_t n_meta;
};

/* What the callback gets.  The fields of the operation that ran are
 * filled when outcome is S3_OK; the callback may take the owned parts
 * (buf_take(&r->body), or move list or deleted out and init them). */
struct s3_result {
  enum s3_outcome outcome;
  int status;    /* the last HTTP status; 0 if none arrived */
  char code[64]; /* the last S3 error code; "" if none */
  struct cfw_err err;
  unsigned attempts; /* requests sent, redirects and retries included */
  bool unsure;       /* an earlier attempt may have been done: see above */
  uint64_t elapsed_ms;
  char etag[S3_ETAG_MAX + 1];           /* put, part, complete */
  char checksum[S3_CHECKSUM_MAX + 1];   /* put, part, complete: as stored */
  struct s3_object_info info;           /* head, get */
  struct buf body;                      /* get: the bytes */
  struct s3_list_page list;             /* list */
  struct s3_delete_result deleted;      /* delete: per-key errors */
  char upload_id[S3_UPLOAD_ID_MAX + 1]; /* mpu create */
};

/* Runs once per call that returned 0, from the loop, never from inside
 * the call that started it (but from inside s3_cancel and
 * s3_client_destroy).  r is valid during the call only. */
typedef void (*s3_cb)(struct s3_result *r, void *arg);

/* Creates a client.  Returns 0, -EINVAL (a bad bucket, region or
 * endpoint), -EPERM (plain http to a host that is not loopback) or
 * -ENOMEM; on failure nothing is left behind. */
int s3_client_new(struct s3_client **out, uv_loop_t *loop,
                  const struct s3_client_opts *o, struct cfw_err *err);

/* Ends every call not yet ended (each callback runs, with
 * S3_CANCELLED), then frees the client.  A call's timer is closed from
 * the loop: run it before uv_loop_close.  NULL is fine. */
void s3_client_destroy(struct s3_client *c);

/* Ends op now: its callback runs before this returns, with S3_CANCELLED
 * (a request in flight is aborted).  op is invalid once its callback
 * has run. */
void s3_cancel(struct s3_op *op);

/* Bounds op's retries to ms from now instead of the client's
 * retry_for_ms (0: no retry at all), e.g. for an abort at shutdown that
 * must not retry for ever. */
void s3_op_retry_for(struct s3_op *op, uint64_t ms);

/* The bucket's name. */
const char *s3_client_bucket(const struct s3_client *c);

/* The region requests are signed for: the configured one, or the one a
 * redirect named. */
const char *s3_client_region(const struct s3_client *c);

/* Every call below copies what it needs (key, options, buffers) before
 * it returns, except the file descriptor, which must stay open until cb
 * has run.  Each returns 0, or a negative errno with err set and cb
 * never run: -EINVAL (an empty key or one over S3_KEY_MAX bytes, a bad
 * header value or argument) or -ENOMEM.  *op (op may be NULL) is valid
 * until cb runs. */

/* PutObject of fd's bytes [0, size), streamed off the loop (http.h),
 * signed with sha256 (their digest, which the caller computed): sent as
 * x-amz-content-sha256 (hex) and x-amz-checksum-sha256 (base64), so S3
 * stores exactly those bytes or refuses them (S3_CHANGED).  r->etag and
 * r->checksum say what S3 stored. */
int s3_put_file(struct s3_client *c, const char *key, int fd, uint64_t size,
                const unsigned char sha256[32], const struct s3_put_opts *po,
                s3_cb cb, void *arg, struct s3_op **op, struct cfw_err *err);

/* PutObject of data[0..len) (copied), for small objects such as state
 * files: with po->if_none_match or po->if_match a conditional write. */
int s3_put_buf(struct s3_client *c, const char *key, const void *data,
               size_t len, const struct s3_put_opts *po, s3_cb cb, void *arg,
               struct s3_op **op, struct cfw_err *err);

/* GetObject into r->body, up to max bytes (at most S3_GET_MAX; 0 means
 * that): a larger object ends with S3_FAILED and -E2BIG.  r->info holds
 * its headers; S3_NOT_FOUND if there is no such key. */
int s3_get(struct s3_client *c, const char *key, size_t max, s3_cb cb,
           void *arg, struct s3_op **op, struct cfw_err *err);

/* GetObject of bytes [offset, offset + len) (len 1 to S3_GET_MAX) with
 * a Range header, and If-Match: if_match unless NULL (S3_PRECONDITION:
 * the object is no more that version).  r->body holds the bytes (fewer
 * at the object's end), r->info.total the whole object's size. */
int s3_get_range(struct s3_client *c, const char *key, uint64_t offset,
                 size_t len, const char *if_match, s3_cb cb, void *arg,
                 struct s3_op **op, struct cfw_err *err);

/* HeadObject, with x-amz-checksum-mode: ENABLED: r->info. */
int s3_head(struct s3_client *c, const char *key, s3_cb cb, void *arg,
            struct s3_op **op, struct cfw_err *err);

/* One ListObjectsV2 page (up to 1,000 keys) under prefix (NULL or ""
 * for all), after token (NULL for the first page): r->list, whose
 * next_token asks for the next. */
int s3_list(struct s3_client *c, const char *prefix, const char *token,
            s3_cb cb, void *arg, struct s3_op **op, struct cfw_err *err);

/* The same, listing only the keys after the key after (NULL or "" for
 * all): ListObjectsV2's start-after, so a listing of what follows a
 * known key costs one request however many came before it. */
int s3_list_after(struct s3_client *c, const char *prefix, const char *after,
                  const char *token, s3_cb cb, void *arg, struct s3_op **op,
                  struct cfw_err *err);

/* DeleteObjects of keys[0..n) (1 to S3_DELETE_MAX), in Quiet mode, with
 * Content-MD5.  S3_OK means the call succeeded: keys it could not
 * delete are in r->deleted.errors (absent keys count as deleted). */
int s3_delete_objects(struct s3_client *c, const char *const *keys, size_t n,
                      s3_cb cb, void *arg, struct s3_op **op,
                      struct cfw_err *err);

/* ---- Multipart upload: s3mpu.h drives these. ---- */

/* CreateMultipartUpload with x-amz-checksum-algorithm SHA256 and po's
 * stored headers: r->upload_id. */
int s3_mpu_create(struct s3_client *c, const char *key,
                  const struct s3_put_opts *po, s3_cb cb, void *arg,
                  struct s3_op **op, struct cfw_err *err);

/* UploadPart number (1 to 10,000) of fd's bytes [offset, offset + len),
 * signed and checked with their sha256 as s3_put_file: r->etag and
 * r->checksum for s3_mpu_complete. */
int s3_mpu_part(struct s3_client *c, const char *key, const char *upload_id,
                unsigned number, int fd, uint64_t offset, uint64_t len,
                const unsigned char sha256[32], s3_cb cb, void *arg,
                struct s3_op **op, struct cfw_err *err);

/* CompleteMultipartUpload with parts[0..n) and po's conditions (po may
 * be NULL): r->etag and r->checksum.  An <Error> in a 200 counts as that
 * error. */
int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
                    const struct s3_part *parts, size_t n,
                    const struct s3_put_opts *po, s3_cb cb, void *arg,
                    struct s3_op **op, struct cfw_err *err);

/* AbortMultipartUpload; an upload already gone (404) counts as S3_OK. */
int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id,
                 s3_cb cb, void *arg, struct s3_op **op, struct cfw_err *err);

#endif
