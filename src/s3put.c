/* SPDX-License-Identifier: MIT */
#include "s3put.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "s3mpu.h"
#include "util.h"

/* One file in flight: opened, checked, sent, closed. */
struct s3put_slot {
  struct s3put *p; /* borrowed */
  uv_fs_t req;
  size_t index; /* in p->o.objs */
  int fd;       /* owned, or -1 */
  bool busy;
  struct s3_op *op;  /* a PutObject in flight */
  struct s3mpu *mpu; /* or a multipart upload */
  struct s3put_report rep;
};

struct s3put {
  struct s3put_opts o;
  uv_timer_t timer; /* only for its close callback: on_done from the loop */
  struct s3put_slot *slots; /* owned; o.parallel */
  size_t next;              /* the first object not started */
  size_t active;            /* slots busy */
  bool stopped; /* start nothing more: a refusal, a give-up, a cancel */
  bool cancelled;
  bool filling; /* s3put_fill is on the stack */
  bool finished;
  uint64_t start_ms;
  struct s3put_summary s;
};

static void s3put_fill(struct s3put *p);

static void s3put_on_closed(uv_handle_t *h)
{
  struct s3put *p = container_of((uv_timer_t *)h, struct s3put, timer);

  p->o.on_done(p, &p->s, p->o.arg);
  free(p->slots);
  free(p);
}

/* Counts rep into the summary; the first failure names the outcome. */
static void s3put_count(struct s3put *p, const struct s3put_report *rep,
                        uint64_t size)
{
  struct s3put_summary *s = &p->s;

  s->requests += rep->requests;
  if (rep->outcome == S3_OK) {
    s->uploaded++;
    s->bytes += size;
    return;
  }
  if (rep->outcome == S3_CHANGED) {
    s->changed++;
    return;
  }
  if (rep->outcome == S3_CANCELLED)
    s->cancelled++;
  else
    s->failed++;
  if (s->outcome == S3_OK ||
      (s->outcome == S3_CANCELLED && rep->outcome != S3_CANCELLED)) {
    s->outcome = rep->outcome;
    s->err = rep->err;
  }
  if (rep->outcome == S3_REFUSED || rep->outcome == S3_GAVE_UP)
    p->stopped = true;
}

static void s3put_report(struct s3put *p, size_t index,
                         const struct s3put_report *rep)
{
  s3put_count(p, rep, p->o.objs[index].size);
  if (p->o.on_object != NULL)
    p->o.on_object(index, rep, p->o.arg);
}

/* Reports every object never started, once nothing is in flight. */
static void s3put_finish(struct s3put *p)
{
  struct s3put_report rep = {0};

  if (p->finished || p->active > 0 || p->filling)
    return;
  if (p->next < p->o.n) {
    rep.outcome = S3_CANCELLED;
    cfw_err_set(&rep.err, -ECANCELED, "not sent: %s",
                p->cancelled ? "cancelled" : "an earlier upload failed");
    cfw_err_class(&rep.err, CFW_CLASS_TRANSIENT);
  }
  for (; p->next < p->o.n; p->next++)
    s3put_report(p, p->next, &rep);
  p->finished = true;
  p->s.elapsed_ms = uv_now(p->o.loop) - p->start_ms;
  uv_close((uv_handle_t *)&p->timer, s3put_on_closed);
}

static void s3put_release(struct s3put_slot *slot)
{
  struct s3put *p = slot->p;

  slot->busy = false;
  p->active--;
  s3put_fill(p);
  s3put_finish(p);
}

static void s3put_on_close(uv_fs_t *req)
{
  struct s3put_slot *slot = container_of(req, struct s3put_slot, req);

  uv_fs_req_cleanup(req);
  s3put_release(slot);
}

/* The object's outcome is known: report it, then close the file. */
static void s3put_settle(struct s3put_slot *slot)
{
  struct s3put *p = slot->p;
  int fd = slot->fd;

  slot->fd = -1;
  s3put_report(p, slot->index, &slot->rep);
  if (fd < 0 || uv_fs_close(p->o.loop, &slot->req, fd, s3put_on_close) < 0)
    s3put_release(slot); /* a failed close leaves nothing to wait for */
}

static void s3put_fail(struct s3put_slot *slot, enum s3_outcome o, int code,
                       const char *what)
{
  const struct s3put_object *obj = &slot->p->o.objs[slot->index];

  slot->rep.outcome = o;
  cfw_err_set(&slot->rep.err, code, "S3 upload of %s to %s: %s", obj->path,
              obj->key, what);
  if (o == S3_CANCELLED)
    cfw_err_class(&slot->rep.err, CFW_CLASS_TRANSIENT);
  s3put_settle(slot);
}

static void s3put_on_put(struct s3_result *r, void *arg)
{
  struct s3put_slot *slot = arg;
  struct s3put_report *rep = &slot->rep;

  slot->op = NULL;
  rep->outcome = r->outcome;
  rep->err = r->err;
  rep->requests = r->attempts;
  str_copy(rep->etag, sizeof(rep->etag), r->etag);
  str_copy(rep->checksum, sizeof(rep->checksum), r->checksum);
  s3put_settle(slot);
}

static void s3put_on_mpu(struct s3mpu *m, struct s3mpu_result *r, void *arg)
{
  struct s3put_slot *slot = arg;
  struct s3put_report *rep = &slot->rep;

  (void)m; /* freed after this returns */
  slot->mpu = NULL;
  rep->outcome = r->outcome;
  rep->err = r->err;
  rep->requests = r->requests;
  str_copy(rep->etag, sizeof(rep->etag), r->etag);
  str_copy(rep->checksum, sizeof(rep->checksum), r->checksum);
  s3put_settle(slot);
}

static int s3put_send(struct s3put_slot *slot, struct cfw_err *err)
{
  struct s3put *p = slot->p;
  const struct s3put_object *obj = &p->o.objs[slot->index];
  struct s3mpu_opts mo = {0};

  if (obj->size <= p->o.multipart_threshold)
    return s3_put_file(p->o.s3, obj->key, slot->fd, obj->size, obj->sha256,
                       obj->po, s3put_on_put, slot, &slot->op, err);
  slot->rep.multipart = true;
  mo.s3 = p->o.s3;
  mo.loop = p->o.loop;
  mo.log = p->o.log;
  mo.key = obj->key;
  mo.fd = slot->fd;
  mo.size = obj->size;
  mo.sha256 = obj->sha256;
  mo.po = obj->po;
  mo.part_size = p->o.part_size;
  return s3mpu_start(&slot->mpu, &mo, s3put_on_mpu, slot, err);
}

static void s3put_on_stat(uv_fs_t *req)
{
  struct s3put_slot *slot = container_of(req, struct s3put_slot, req);
  const struct s3put_object *obj = &slot->p->o.objs[slot->index];
  bool regular = req->result == 0 && S_ISREG(req->statbuf.st_mode);
  uint64_t size = req->statbuf.st_size;
  struct cfw_err err = {0};
  char what[128];

  uv_fs_req_cleanup(req);
  if (slot->p->cancelled) {
    s3put_fail(slot, S3_CANCELLED, -ECANCELED, "cancelled");
  } else if (!regular || size != obj->size) {
    (void)snprintf(what, sizeof(what), "%s since it was hashed",
                   regular ? "its size changed" : "not a regular file");
    s3put_fail(slot, S3_CHANGED, -ESTALE, what);
  } else if (s3put_send(slot, &err) < 0) {
    slot->rep.outcome = S3_FAILED;
    slot->rep.err = err;
    s3put_settle(slot);
  }
}

static void s3put_on_open(uv_fs_t *req)
{
  struct s3put_slot *slot = container_of(req, struct s3put_slot, req);
  int rc = (int)req->result;

  uv_fs_req_cleanup(req);
  if (rc >= 0)
    slot->fd = rc;
  if (slot->p->cancelled)
    s3put_fail(slot, S3_CANCELLED, -ECANCELED, "cancelled");
  else if (rc == UV_ENOENT || rc == UV_ENOTDIR)
    s3put_fail(slot, S3_CHANGED, rc, "gone since it was hashed");
  else if (rc < 0)
    s3put_fail(slot, S3_FAILED, rc, uv_strerror(rc));
  else if (uv_fs_fstat(slot->p->o.loop, req, slot->fd, s3put_on_stat) < 0)
    s3put_fail(slot, S3_FAILED, -EIO, "fstat could not start");
}

/* Starts objects while there are free slots and objects to start. */
static void s3put_fill(struct s3put *p)
{
  struct s3put_slot *slot;
  size_t i;
  int rc;

  if (p->filling)
    return;
  p->filling = true;
  for (i = 0; i < p->o.parallel && !p->stopped && p->next < p->o.n; i++) {
    slot = &p->slots[i];
    if (slot->busy)
      continue;
    memset(&slot->rep, 0, sizeof(slot->rep));
    slot->busy = true;
    slot->fd = -1;
    slot->index = p->next++;
    if (++p->active > p->s.peak)
      p->s.peak = p->active;
    rc = uv_fs_open(p->o.loop, &slot->req, p->o.objs[slot->index].path,
                    O_RDONLY | O_CLOEXEC, 0, s3put_on_open);
    if (rc < 0) /* reported now; the slot is free again below */
      s3put_fail(slot, S3_FAILED, rc, uv_strerror(rc));
    if (!slot->busy)
      i = (size_t)-1; /* a slot came free: look again from the start */
  }
  p->filling = false;
}

int s3put_start(struct s3put **out, const struct s3put_opts *o,
                struct cfw_err *err)
{
  struct s3put *p;
  size_t i;

  if (o->s3 == NULL || o->loop == NULL || o->on_done == NULL)
    return cfw_err_set(err, -EINVAL, "s3put: no client, loop or on_done");
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  p->o = *o;
  if (p->o.parallel == 0)
    p->o.parallel = S3PUT_PARALLEL;
  if (p->o.multipart_threshold == 0)
    p->o.multipart_threshold = S3MPU_THRESHOLD;
  p->slots = calloc(p->o.parallel, sizeof(*p->slots));
  if (p->slots == NULL) {
    free(p);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  for (i = 0; i < p->o.parallel; i++)
    p->slots[i].p = p;
  (void)uv_timer_init(o->loop, &p->timer); /* cannot fail */
  p->start_ms = uv_now(o->loop);
  *out = p;
  s3put_fill(p);
  s3put_finish(p);
  return 0;
}

void s3put_cancel(struct s3put *p)
{
  struct s3put_slot *slot;
  size_t i;

  if (p == NULL || p->cancelled || p->finished)
    return;
  p->cancelled = true;
  p->stopped = true;
  for (i = 0; i < p->o.parallel; i++) {
    slot = &p->slots[i];
    if (slot->op != NULL)
      s3_cancel(slot->op); /* reports, and closes the file */
    else if (slot->mpu != NULL)
      s3mpu_cancel(slot->mpu);
  }
  s3put_finish(p);
}
