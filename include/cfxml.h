/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFXML_H
#define CFW_CFXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "strlist.h"

/* CloudFront's XML (API 2020-05-31): the CreateInvalidation request body
 * out, and the Invalidation, InvalidationList and ErrorResponse documents
 * in.  Parsing uses expat, matches elements by local name and by their
 * place under the root (never by sibling order), accepts documents with
 * or without the namespace and ignores unknown elements.
 *
 * Every body is untrusted: each parser refuses a body over its cap
 * (-E2BIG), a DOCTYPE or entity declaration, nesting deeper than
 * CFXML_MAX_DEPTH, a root other than the one expected, a duplicated or
 * missing required element, and an identifier longer than its field
 * (-EBADMSG for all of these).  Messages name expat's line and column,
 * counted from 1. */

#define CFXML_NAMESPACE "http://cloudfront.amazonaws.com/doc/2020-05-31/"

/* A single invalidation echoes its batch, which may hold every path
 * allowed in progress (3,000 of up to 4,000 characters each, plus 15
 * wildcards): about 12 MB, so its cap is 16 MiB. */
#define CFXML_MAX_INVALIDATION_BODY ((size_t)16 << 20)

/* A list page holds only summaries, about 200 bytes each; the caller
 * asks for a page size (MaxItems) well under this count. */
#define CFXML_MAX_LIST_ITEMS 1000
#define CFXML_MAX_LIST_BODY  ((size_t)4 << 20)

/* An error document is a few hundred bytes; SignatureDoesNotMatch quotes
 * a canonical request, still far below this. */
#define CFXML_MAX_ERROR_BODY ((size_t)1 << 20)

/* The deepest expected element is Invalidation/InvalidationBatch/Paths/
 * Items/Path, at depth 5. */
#define CFXML_MAX_DEPTH 16

/* Appends the CreateInvalidation body for paths[0..n) and caller_ref to
 * out, in the order botocore sends (Paths: Quantity, Items; then
 * CallerReference), on one line with no XML declaration:
 *   <InvalidationBatch xmlns="..."><Paths><Quantity>n</Quantity><Items>
 *   <Path>..</Path>...</Items></Paths><CallerReference>..</CallerReference>
 *   </InvalidationBatch>
 * Paths must already be percent-encoded; &, <, >, " and ' are XML-escaped
 * here.  Returns 0, -EINVAL (no paths; a path that is empty, lacks the
 * leading '/', is longer than CF_MAX_PATH_LEN, holds a '*' before its end
 * or a control byte; an empty caller_ref, longer than
 * CFXML_MAX_CALLER_REF, or holding a control byte), -E2BIG (more file or
 * wildcard paths than CloudFront allows in progress, or out's cap) or
 * -ENOMEM.  On failure out is as it was before the call. */
#define CFXML_MAX_CALLER_REF 255
int cfxml_invalidation_batch(struct buf *out, const char *caller_ref,
                             const char *const *paths, size_t n,
                             struct cfw_err *err);

/* An Invalidation document: the 201 answer to CreateInvalidation and the
 * 200 answer to GetInvalidation.  Pair cf_invalidation_init with
 * cf_invalidation_free. */
struct cf_invalidation {
  char id[64];                /* "IDFDVBD632BHDS5" */
  char status[32];            /* "InProgress" or "Completed", as sent */
  char create_time[40];       /* ISO 8601 UTC, as sent */
  char caller_reference[256]; /* exactly as sent, not trimmed */
  struct strlist paths;       /* owned; unescaped, in document order */
  size_t quantity;            /* always equals paths.n after a parse */
};

void cf_invalidation_init(struct cf_invalidation *inv);
void cf_invalidation_free(struct cf_invalidation *inv); /* NULL is fine */

/* Parses body[0..len) (no NUL needed) into out, which must have been
 * initialised; its old contents are released first.  Requires Id, Status,
 * CreateTime, CallerReference and Paths/Quantity, and Quantity to equal
 * the number of Path elements (at most the 3,000 + 15 CloudFront allows).
 * A Path over CF_MAX_PATH_LEN is an error, not truncated.  Returns 0,
 * -EBADMSG, -E2BIG (over CFXML_MAX_INVALIDATION_BODY) or -ENOMEM; on
 * failure out is empty, as after init. */
int cfxml_parse_invalidation(const char *body, size_t len,
                             struct cf_invalidation *out, struct cfw_err *err);

struct cf_invalidation_summary {
  char id[64];
  char status[32];
  char create_time[40];
};

/* A ListInvalidations page, newest first as CloudFront sends it.  Pair
 * cf_invalidation_list_init with cf_invalidation_list_free. */
struct cf_invalidation_list {
  struct cf_invalidation_summary *items; /* owned; n of them */
  size_t n;
  size_t quantity;       /* always equals n after a parse */
  bool is_truncated;     /* pass next_marker as Marker for the next page */
  char next_marker[256]; /* "" unless is_truncated */
};

void cf_invalidation_list_init(struct cf_invalidation_list *l);
void cf_invalidation_list_free(struct cf_invalidation_list *l); /* NULL ok */

/* Parses an InvalidationList into out (initialised; old contents are
 * released).  Requires IsTruncated and Quantity, Quantity to equal the
 * number of summaries (at most CFXML_MAX_LIST_ITEMS), each summary to
 * have Id, Status and CreateTime, and a non-empty NextMarker when
 * IsTruncated is true, so a paging loop always advances.  Returns 0,
 * -EBADMSG, -E2BIG (over CFXML_MAX_LIST_BODY) or -ENOMEM; on failure out
 * is empty. */
int cfxml_parse_invalidation_list(const char *body, size_t len,
                                  struct cf_invalidation_list *out,
                                  struct cfw_err *err);

/* Seconds since the epoch of CloudFront's CreateTime, an ISO 8601 UTC
 * time such as "2019-10-17T14:32:47.123Z" (the fraction is dropped), or
 * -1 if it does not read so. */
int64_t cfxml_time_s(const char *iso);

/* An ErrorResponse.  Plain data; nothing to free. */
struct cf_error {
  char type[32];          /* "Sender" or "Receiver"; "" if absent */
  char code[64];          /* "Throttling"; always present after a parse */
  char message[4096];     /* may hold newlines; "" if absent */
  char request_id[80];    /* "" if absent */
  bool message_truncated; /* cut at a UTF-8 character boundary */
};

/* Parses an ErrorResponse (or a bare Error root, as some front ends send)
 * into out.  Code is required.  Message is kept byte for byte, newlines
 * included, and truncated (never an error) if it does not fit; the
 * caller decides what of it to print.  Type, Code and RequestId longer
 * than their fields are an error.  Returns 0, -EBADMSG, -E2BIG (over
 * CFXML_MAX_ERROR_BODY) or -ENOMEM; on failure out is zeroed. */
int cfxml_parse_error(const char *body, size_t len, struct cf_error *out,
                      struct cfw_err *err);

#endif
