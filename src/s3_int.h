/* SPDX-License-Identifier: MIT */
#ifndef CFW_S3_INT_H
#define CFW_S3_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "awsclient.h"
#include "buf.h"
#include "http.h"
#include "retry.h"
#include "s3.h"
#include "s3url.h"
#include "strlist.h"

/* Internal to s3.c (the client and the call engine: signing through
 * aws_client, classifying, retrying, following a region) and s3ops.c
 * (what each operation sends and reads back). */

enum s3_kind {
  S3K_PUT,
  S3K_GET,
  S3K_HEAD,
  S3K_LIST,
  S3K_DELETE,
  S3K_MPU_CREATE,
  S3K_MPU_PART,
  S3K_MPU_COMPLETE,
  S3K_MPU_ABORT
};

struct s3_op {
  struct s3_op *prev; /* in the client's list of calls not yet ended */
  struct s3_op *next;
  struct s3_client *c; /* borrowed */
  uv_timer_t timer;    /* the backoff; initialised once the call is on */
  enum s3_kind kind;
  const char *method;     /* static */
  char *key;              /* owned; "" for a bucket call */
  char *path;             /* owned: endpoint path + "/bucket/key", raw */
  char *query;            /* owned or NULL; encoded as sent */
  struct strlist hdrs;    /* owned: name, value, name, value... */
  struct http_header *hd; /* owned array over hdrs */
  struct buf body;        /* owned; a body in memory */
  bool has_file;
  struct http_file_body file; /* fd borrowed */
  char payload_hash[65];      /* hex; "" to hash body */
  size_t get_max;
  /* The attempt: what it borrows must outlive it, so it owns copies of
   * the client's endpoint and region, which a redirect may change. */
  char *base_url;
  char *host;
  char *region;
  struct aws_request rq;
  struct aws_call *call; /* in flight or waiting for credentials */
  unsigned retry;
  unsigned refreshes;
  bool redirected;
  uint64_t start_ms;
  uint64_t retry_until_ms; /* uv_now bound on retries; 0: the client's */
  bool bounded;            /* retry_until_ms applies */
  s3_cb cb;
  void *arg;
  struct s3_result r;
};

#define S3_REGION_MAX 64

struct s3_client {
  uv_loop_t *loop;
  struct aws_client *aws; /* borrowed */
  struct log *log;        /* borrowed */
  char bucket[S3URL_BUCKET_MAX + 1];
  char region[S3_REGION_MAX];
  char region_source[S3_SOURCE_MAX]; /* where the configured one came from */
  bool default_endpoint;             /* follows the region */
  struct aws_endpoint ep;
  uint64_t retry_for_ms;
  uint64_t base_ms;
  uint64_t cap_ms;
  uint64_t timeout_ms;
  uint64_t rng;      /* xorshift state for the jitter; never zero */
  struct s3_op *ops; /* calls not yet ended */
};

/* Signs for region from now on; on the default endpoint, sends there
 * too.  0, or -EINVAL (not a region name) or -ENOMEM. */
int s3_client_set_region(struct s3_client *c, const char *region,
                         struct cfw_err *err);

/* Allocates a call; key is copied ("" for bucket calls).  NULL on
 * ENOMEM or a bad key (empty for an object call, over S3_KEY_MAX), with
 * err set. */
struct s3_op *s3_op_new(struct s3_client *c, enum s3_kind kind,
                        const char *method, const char *key, s3_cb cb,
                        void *arg, struct cfw_err *err);

/* Frees a call that never started. */
void s3_op_free(struct s3_op *op);

/* Adds a header to send (copied).  -EINVAL for a CR or LF, -ENOMEM. */
int s3_op_header(struct s3_op *op, const char *name, const char *value);

/* Sends the first attempt.  On failure op is freed, err set and the
 * callback never runs. */
int s3_op_start(struct s3_op *op, struct s3_op **out, struct cfw_err *err);

/* Reads a 2xx answer into op->r.  Returns S3V_DONE; or S3V_RETRY with
 * why set, for an answer it cannot read; or the verdict of an error
 * document inside a 200 (CompleteMultipartUpload), with e filled; or
 * sets *failed to a negative errno, and why, for a failure retrying
 * cannot mend (an object over the caller's cap). */
enum s3_verdict s3ops_on_2xx(struct s3_op *op, struct http_response *resp,
                             struct s3_error *e, char *why, size_t n,
                             int *failed);

#endif
