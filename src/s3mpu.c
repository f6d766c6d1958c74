/* SPDX-License-Identifier: MIT */
#include "s3mpu.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define S3MPU_READ_CHUNK ((size_t)1 << 20)
#define S3MPU_MIB        ((uint64_t)1 << 20)

struct s3mpu {
  struct s3_client *s3;  /* borrowed */
  uv_loop_t *loop;       /* borrowed */
  struct log *log;       /* borrowed */
  char *key;             /* owned */
  char *if_match;        /* owned or NULL */
  struct s3_part *parts; /* owned; n_parts */
  EVP_MD_CTX *whole;     /* owned; fed part by part, in order */
  struct s3_op *op;      /* the request in flight */
  s3mpu_cb cb;
  void *arg;
  uint64_t size;
  uint64_t part_size;
  /* The part being hashed in the pool: its range, the buffer, and what
   * the loop reads back once it returns. */
  uv_work_t work;
  char *buf; /* owned; S3MPU_READ_CHUNK */
  uint64_t w_off;
  uint64_t w_len;
  struct s3mpu_result r;
  char upload_id[S3_UPLOAD_ID_MAX + 1];
  unsigned char want[32]; /* the caller's digest of the whole file */
  unsigned char w_md[32];
  int w_err;
  int fd; /* borrowed */
  unsigned n_parts;
  unsigned next; /* parts uploaded */
  bool if_none_match;
  bool cancelled;
  bool failing; /* the outcome is known: aborting, then done */
};

static void s3mpu_next(struct s3mpu *m);

uint64_t s3mpu_part_size(uint64_t size, uint64_t want)
{
  uint64_t p = want != 0 ? want : S3MPU_PART_SIZE;
  uint64_t least = (size + S3_PARTS_MAX - 1) / S3_PARTS_MAX;

  if (p < S3MPU_MIN_PART_SIZE)
    p = S3MPU_MIN_PART_SIZE;
  if (p < least) /* whole MiB, so parts line up with pages */
    p = (least + S3MPU_MIB - 1) / S3MPU_MIB * S3MPU_MIB;
  return p;
}

static void s3mpu_free(struct s3mpu *m)
{
  free(m->key);
  free(m->if_match);
  free(m->parts);
  free(m->buf);
  EVP_MD_CTX_free(m->whole);
  free(m);
}

static void s3mpu_finish(struct s3mpu *m)
{
  if (m->r.outcome == S3_REFUSED)
    cfw_err_class(&m->r.err, CFW_CLASS_REFUSED);
  else if (m->r.outcome == S3_GAVE_UP || m->r.outcome == S3_CANCELLED)
    cfw_err_class(&m->r.err, CFW_CLASS_TRANSIENT);
  m->cb(m, &m->r, m->arg);
  s3mpu_free(m);
}

static void s3mpu_on_aborted(struct s3_result *r, void *arg)
{
  struct s3mpu *m = arg;

  m->op = NULL;
  m->r.requests += r->attempts;
  if (r->outcome == S3_OK) {
    m->r.aborted = true;
  } else {
    m->r.leftover = true;
    log_msg(m->log, LOG_WARN,
            "multipart upload %.40s... of %s left behind (%s): it is "
            "billed until aborted; a lifecycle rule with "
            "AbortIncompleteMultipartUpload removes such uploads",
            m->upload_id, m->key, r->err.msg);
  }
  s3mpu_finish(m);
}

/* Records why the upload ends, then aborts it if it was created. */
static void s3mpu_fail(struct s3mpu *m, enum s3_outcome o,
                       const struct cfw_err *err)
{
  struct cfw_err e = {0};

  m->failing = true;
  m->r.outcome = o;
  m->r.err = *err;
  if (m->upload_id[0] == '\0') {
    s3mpu_finish(m);
    return;
  }
  if (s3_mpu_abort(m->s3, m->key, m->upload_id, s3mpu_on_aborted, m, &m->op,
                   &e) < 0) {
    m->r.leftover = true;
    log_msg(m->log, LOG_WARN, "multipart upload of %s left behind: %s", m->key,
            e.msg);
    s3mpu_finish(m);
    return;
  }
  s3_op_retry_for(m->op, S3MPU_ABORT_RETRY_MS);
}

static void s3mpu_fail_msg(struct s3mpu *m, enum s3_outcome o, int code,
                           const char *what)
{
  struct cfw_err e = {0};

  cfw_err_set(&e, code, "S3 multipart upload s3://%s/%s: %s",
              s3_client_bucket(m->s3), m->key, what);
  s3mpu_fail(m, o, &e);
}

/* A request's end: true if the upload goes on. */
static bool s3mpu_went_ok(struct s3mpu *m, const struct s3_result *r)
{
  m->op = NULL;
  m->r.requests += r->attempts;
  if (r->outcome == S3_OK && !m->cancelled)
    return true;
  if (r->outcome == S3_OK)
    s3mpu_fail_msg(m, S3_CANCELLED, -ECANCELED, "cancelled");
  else
    s3mpu_fail(m, r->outcome, &r->err);
  return false;
}

static void s3mpu_on_completed(struct s3_result *r, void *arg)
{
  struct s3mpu *m = arg;

  if (!s3mpu_went_ok(m, r))
    return;
  m->r.outcome = S3_OK;
  str_copy(m->r.etag, sizeof(m->r.etag), r->etag);
  str_copy(m->r.checksum, sizeof(m->r.checksum), r->checksum);
  s3mpu_finish(m);
}

/* Every part is up: the whole file must be what the caller hashed. */
static void s3mpu_complete(struct s3mpu *m)
{
  struct s3_put_opts cond = {0};
  struct cfw_err e = {0};
  unsigned char md[32];

  if (EVP_DigestFinal_ex(m->whole, md, NULL) != 1) {
    s3mpu_fail_msg(m, S3_FAILED, -EIO, "SHA-256 failed");
    return;
  }
  if (CRYPTO_memcmp(md, m->want, sizeof(md)) != 0) {
    s3mpu_fail_msg(m, S3_CHANGED, -ESTALE,
                   "the file changed since it was hashed");
    return;
  }
  cond.if_none_match = m->if_none_match;
  cond.if_match = m->if_match;
  if (s3_mpu_complete(m->s3, m->key, m->upload_id, m->parts, m->n_parts, &cond,
                      s3mpu_on_completed, m, &m->op, &e) < 0)
    s3mpu_fail(m, S3_FAILED, &e);
}

static void s3mpu_on_part(struct s3_result *r, void *arg)
{
  struct s3mpu *m = arg;
  struct s3_part *p = &m->parts[m->next];

  if (!s3mpu_went_ok(m, r))
    return;
  p->number = m->next + 1;
  str_copy(p->etag, sizeof(p->etag), r->etag);
  str_copy(p->checksum, sizeof(p->checksum), r->checksum);
  m->next++;
  m->r.parts = m->next;
  s3mpu_next(m);
}

/* Runs in the pool: hashes [w_off, w_off + w_len) into w_md and into
 * the whole file's digest. */
static void s3mpu_hash_work(uv_work_t *w)
{
  struct s3mpu *m = container_of(w, struct s3mpu, work);
  EVP_MD_CTX *part = EVP_MD_CTX_new();
  uint64_t done = 0;
  size_t want;
  ssize_t n;

  m->w_err = part != NULL && EVP_DigestInit_ex(part, EVP_sha256(), NULL) == 1
                 ? 0
                 : -ENOMEM;
  while (m->w_err == 0 && done < m->w_len) {
    want = m->w_len - done < S3MPU_READ_CHUNK ? (size_t)(m->w_len - done)
                                              : S3MPU_READ_CHUNK;
    n = pread(m->fd, m->buf, want, (off_t)(m->w_off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      m->w_err = n < 0 ? -errno : -ENODATA;
      break;
    }
    if (EVP_DigestUpdate(part, m->buf, (size_t)n) != 1 ||
        EVP_DigestUpdate(m->whole, m->buf, (size_t)n) != 1)
      m->w_err = -EIO;
    done += (uint64_t)n;
  }
  if (m->w_err == 0 && EVP_DigestFinal_ex(part, m->w_md, NULL) != 1)
    m->w_err = -EIO;
  EVP_MD_CTX_free(part);
}

static void s3mpu_hashed(uv_work_t *w, int status)
{
  struct s3mpu *m = container_of(w, struct s3mpu, work);
  struct cfw_err e = {0};

  if (m->cancelled) {
    s3mpu_fail_msg(m, S3_CANCELLED, -ECANCELED, "cancelled");
    return;
  }
  if (status < 0) {
    s3mpu_fail_msg(m, S3_FAILED, status, uv_strerror(status));
    return;
  }
  if (m->w_err == -ENODATA) {
    s3mpu_fail_msg(m, S3_CHANGED, -ESTALE,
                   "the file is shorter than when it was hashed");
    return;
  }
  if (m->w_err < 0) {
    s3mpu_fail_msg(m, S3_FAILED, m->w_err, strerror(-m->w_err));
    return;
  }
  if (s3_mpu_part(m->s3, m->key, m->upload_id, m->next + 1, m->fd, m->w_off,
                  m->w_len, m->w_md, s3mpu_on_part, m, &m->op, &e) < 0)
    s3mpu_fail(m, S3_FAILED, &e);
}

static void s3mpu_next(struct s3mpu *m)
{
  int rc;

  if (m->cancelled) {
    s3mpu_fail_msg(m, S3_CANCELLED, -ECANCELED, "cancelled");
    return;
  }
  if (m->next == m->n_parts) {
    s3mpu_complete(m);
    return;
  }
  m->w_off = (uint64_t)m->next * m->part_size;
  m->w_len =
      m->size - m->w_off < m->part_size ? m->size - m->w_off : m->part_size;
  rc = uv_queue_work(m->loop, &m->work, s3mpu_hash_work, s3mpu_hashed);
  if (rc < 0)
    s3mpu_fail_msg(m, S3_FAILED, rc, uv_strerror(rc));
}

static void s3mpu_on_created(struct s3_result *r, void *arg)
{
  struct s3mpu *m = arg;

  if (r->outcome == S3_OK) /* known now, so a cancel can abort it */
    str_copy(m->upload_id, sizeof(m->upload_id), r->upload_id);
  if (!s3mpu_went_ok(m, r))
    return;
  log_msg(m->log, LOG_DEBUG, "S3 multipart upload of %s: %u parts of %llu",
          m->key, m->n_parts, (unsigned long long)m->part_size);
  s3mpu_next(m);
}

static int s3mpu_setup(struct s3mpu *m, const struct s3mpu_opts *o)
{
  m->s3 = o->s3;
  m->loop = o->loop;
  m->log = o->log;
  m->fd = o->fd;
  m->size = o->size;
  memcpy(m->want, o->sha256, sizeof(m->want));
  m->part_size = s3mpu_part_size(o->size, o->part_size);
  m->n_parts = (unsigned)((o->size + m->part_size - 1) / m->part_size);
  m->key = strdup(o->key);
  m->parts = calloc(m->n_parts, sizeof(*m->parts));
  m->buf = malloc(S3MPU_READ_CHUNK);
  m->whole = EVP_MD_CTX_new();
  if (o->po != NULL && o->po->if_match != NULL)
    m->if_match = strdup(o->po->if_match);
  m->if_none_match = o->po != NULL && o->po->if_none_match;
  if (m->key == NULL || m->parts == NULL || m->buf == NULL ||
      m->whole == NULL || (o->po && o->po->if_match && m->if_match == NULL) ||
      EVP_DigestInit_ex(m->whole, EVP_sha256(), NULL) != 1)
    return -ENOMEM;
  return 0;
}

int s3mpu_start(struct s3mpu **out, const struct s3mpu_opts *o, s3mpu_cb cb,
                void *arg, struct cfw_err *err)
{
  struct s3_put_opts stored = {0};
  struct s3mpu *m;
  int rc;

  if (o->key == NULL || o->fd < 0 || o->size == 0 || o->sha256 == NULL)
    return cfw_err_set(err, -EINVAL, "S3 multipart upload: bad arguments");
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  m->cb = cb;
  m->arg = arg;
  rc = s3mpu_setup(m, o);
  if (rc < 0) {
    s3mpu_free(m);
    return cfw_err_set(err, rc, "out of memory");
  }
  if (o->po != NULL) /* the conditions go to the completion */
    stored = *o->po;
  stored.if_none_match = false;
  stored.if_match = NULL;
  rc = s3_mpu_create(m->s3, m->key, &stored, s3mpu_on_created, m, &m->op, err);
  if (rc < 0) {
    s3mpu_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void s3mpu_cancel(struct s3mpu *m)
{
  if (m == NULL || m->cancelled)
    return;
  m->cancelled = true;
  /* The abort, once under way, must run; a hash in the pool is let
   * finish and then sees the flag. */
  if (m->op != NULL && !m->failing)
    s3_cancel(m->op);
}
