/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3XML_H
#define CFW_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* S3's XML (API 2006-03-01): the request bodies of DeleteObjects and
 * CompleteMultipartUpload out; the Error, ListBucketResult (V2),
 * InitiateMultipartUploadResult, CompleteMultipartUploadResult and
 * DeleteResult documents in.  Parsing uses expat through xmltab.h: an
 * element counts by its local name and place under the root, with or
 * without the namespace, in any order; unknown elements are skipped.
 *
 * Every body is untrusted: each parser refuses a body over its cap
 * (-E2BIG), a DOCTYPE or entity declaration, nesting deeper than 16, a
 * root other than those expected, a duplicated or missing required
 * element and text longer than its field (-EBADMSG for all of these,
 * with expat's line and column). */

#define S3XML_NAMESPACE "http://s3.amazonaws.com/doc/2006-03-01/"

#define S3_KEY_MAX       1024 /* bytes of UTF-8 in an object key */
#define S3_ETAG_MAX      128  /* "md5hex" or "md5hex-N", quotes included */
#define S3_CHECKSUM_MAX  64   /* base64 SHA-256, or "...=-N" (composite) */
#define S3_UPLOAD_ID_MAX 1024
#define S3_TOKEN_MAX     4096 /* a continuation token */
#define S3_LIST_MAX      1000 /* keys on one ListObjectsV2 page */
#define S3_DELETE_MAX    1000 /* keys in one DeleteObjects call */
#define S3_PARTS_MAX     10000
#define S3XML_MAX_BODY   ((size_t)8 << 20) /* a full page, or 10,000 parts */

/* <Error>: the fields a client acts on.  "" when absent. */
struct s3_error {
  char code[64];
  char message[512];
  bool message_cut;   /* longer in the document */
  char region[64];    /* AuthorizationHeaderMalformed names the right one */
  char endpoint[256]; /* PermanentRedirect */
  char request_id[128];
};

/* Parses an <Error> document (S3's errors have no ErrorResponse
 * wrapper).  0 with out filled, or a negative errno with out zeroed. */
int s3xml_parse_error(const char *body, size_t len, struct s3_error *out,
                      struct cfw_err *err);

/* ---- Multipart uploads ---- */

/* The UploadId of an InitiateMultipartUploadResult into out (n bytes,
 * at least S3_UPLOAD_ID_MAX + 1).  0, or a negative errno. */
int s3xml_parse_initiate(const char *body, size_t len, char *out, size_t n,
                         struct cfw_err *err);

struct s3_part {
  unsigned number;                    /* 1 to S3_PARTS_MAX */
  char etag[S3_ETAG_MAX + 1];         /* as UploadPart answered */
  char checksum[S3_CHECKSUM_MAX + 1]; /* base64 SHA-256, or "" */
};

/* Appends the CompleteMultipartUpload body for parts[0..n), in that
 * order (ascending part numbers, as S3 requires):
 *   <CompleteMultipartUpload xmlns="..."><Part><PartNumber>1</PartNumber>
 *   <ETag>"..."</ETag><ChecksumSHA256>...</ChecksumSHA256></Part>...
 * Returns 0, -EINVAL (no parts, more than S3_PARTS_MAX, numbers not
 * ascending) or buf's -E2BIG / -ENOMEM; on failure out is unchanged. */
int s3xml_complete_body(struct buf *out, const struct s3_part *parts, size_t n,
                        struct cfw_err *err);

struct s3_complete_result {
  char etag[S3_ETAG_MAX + 1];
  char checksum[S3_CHECKSUM_MAX + 1]; /* ChecksumSHA256, or "" */
};

/* Parses CompleteMultipartUpload's answer, which is a 200 even when
 * the completion failed after S3 sent its status line: returns 0 with
 * res filled, 1 with e filled for an <Error> document, or a negative
 * errno. */
int s3xml_parse_complete(const char *body, size_t len,
                         struct s3_complete_result *res, struct s3_error *e,
                         struct cfw_err *err);

/* ---- DeleteObjects ---- */

/* Appends <Delete xmlns="..."><Quiet>true</Quiet><Object><Key>k</Key>
 * </Object>...</Delete> for keys[0..n) (Quiet only if asked).  A key
 * is XML-escaped, with CR, LF and TAB as character references so that no
 * parser normalises them.  Returns 0, -EINVAL (no key, over
 * S3_DELETE_MAX, an empty key or one holding a byte XML 1.0 cannot
 * carry: control bytes other than TAB, CR and LF) or buf's -E2BIG /
 * -ENOMEM; on failure out is unchanged. */
int s3xml_delete_body(struct buf *out, const char *const *keys, size_t n,
                      bool quiet, struct cfw_err *err);

struct s3_delete_error {
  char *key; /* owned */
  char code[64];
  char message[256];
};

struct s3_delete_result {
  struct s3_delete_error *errors; /* owned */
  size_t n_errors;
  size_t n_deleted; /* <Deleted> entries: none in Quiet mode */
};

void s3_delete_result_init(struct s3_delete_result *r);
void s3_delete_result_free(struct s3_delete_result *r); /* NULL is fine */

/* Parses a DeleteResult into the empty r.  0, or a negative errno with r
 * emptied. */
int s3xml_parse_delete(const char *body, size_t len, struct s3_delete_result *r,
                       struct cfw_err *err);

/* ---- ListObjectsV2 ---- */

struct s3_list_item {
  char *key; /* owned; decoded from encoding-type=url */
  uint64_t size;
  char etag[S3_ETAG_MAX + 1];
  char last_modified[40]; /* "2009-10-12T17:50:30.000Z" */
};

struct s3_list_page {
  struct s3_list_item *items; /* owned; in S3's order (UTF-8 binary) */
  size_t n;
  bool truncated;
  char *next_token; /* owned; NULL unless truncated */
};

void s3_list_page_init(struct s3_list_page *p);
void s3_list_page_free(struct s3_list_page *p); /* NULL is fine */

/* Parses a ListBucketResult into the empty p.  With EncodingType url,
 * keys are percent-decoded ('+' is a space, as S3 encodes it).  A page
 * over S3_LIST_MAX keys, a Size that is not a number, or IsTruncated
 * without NextContinuationToken (paging would restart at the first
 * page, for ever) is -EBADMSG.  0, or a negative errno with p emptied. */
int s3xml_parse_list(const char *body, size_t len, struct s3_list_page *p,
                     struct cfw_err *err);

#endif
