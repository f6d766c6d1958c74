/* SPDX-License-Identifier: MIT */
/* A site's state as S3 objects (s3state.h): records created with
 * If-None-Match: *, the snapshot replaced with If-Match, each 412
 * checked against what we wrote before it counts as someone else's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s3state.h"
#include "strlist.h"
#include "util.h"

enum s3state_phase {
  PH_IDLE,
  PH_PUT,
  PH_VERIFY,
  PH_GET,
  PH_LIST,
  PH_TRIM_LIST,
  PH_TRIM_DELETE
};

struct s3state {
  struct s3_client *s3; /* borrowed */
  char *prefix;         /* owned: "" or "a/b/" */
  char *host;           /* owned */
  char pid[24];
  char *where; /* owned: "s3://BUCKET/a/b" */
  unsigned requests;

  /* The call in flight. */
  enum s3state_phase ph;
  struct s3_op *op;
  char key[S3_KEY_MAX + 1];
  unsigned char *data; /* owned: what a put wrote, for a 412's check */
  size_t len;
  size_t max;
  bool snapshot;
  bool if_match;
  char after_key[S3_KEY_MAX + 1]; /* list */
  size_t cap_seqs;
  uint64_t below;          /* trim: records before it go */
  size_t trim_i;           /* trim: the next of res.seqs to delete */
  struct strlist trim_key; /* trim: the keys of the call in flight */
  s3state_cb cb;
  void *arg;
  struct s3state_result res;
};

static void s3state_on_s3(struct s3_result *r, void *arg);

static int s3state_key(struct s3state *st, char *out, size_t outlen,
                       uint64_t seq, struct cfw_err *err)
{
  int n;

  if (seq == 0)
    n = snprintf(out, outlen, "%s%s", st->prefix, S3STATE_SNAPSHOT);
  else
    n = snprintf(out, outlen, "%s%s%020llu", st->prefix, S3STATE_JOURNAL,
                 (unsigned long long)seq);
  if (n < 0 || (size_t)n >= outlen)
    return cfw_err_set(err, -EINVAL, "%s: prefix too long for a key",
                       st->where);
  return 0;
}

/* "a/b//" -> "a/b/"; "" stays "". */
static char *s3state_prefix(const char *p, size_t *n)
{
  char *out;

  *n = strlen(p);
  while (*n > 0 && p[*n - 1] == '/')
    (*n)--;
  if (*n > S3_KEY_MAX - 64)
    return NULL;
  out = malloc(*n + 2);
  if (out == NULL)
    return NULL;
  memcpy(out, p, *n);
  out[*n] = '/';
  out[*n > 0 ? *n + 1 : 0] = '\0';
  return out;
}

int s3state_new(struct s3state **out, const struct s3state_opts *o,
                struct cfw_err *err)
{
  char host[256] = "unknown";
  struct s3state *st;
  struct buf b;
  size_t n = 0;

  *out = NULL;
  if (o->s3 == NULL)
    return cfw_err_set(err, -EINVAL, "s3state: no S3 client");
  st = calloc(1, sizeof(*st));
  if (st == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  st->s3 = o->s3;
  strlist_init(&st->trim_key);
  (void)snprintf(st->pid, sizeof(st->pid), "%ld", (long)getpid()); /* fits */
  if (o->host == NULL && gethostname(host, sizeof(host) - 1) < 0)
    str_copy(host, sizeof(host), "unknown");
  st->host = strdup(o->host != NULL ? o->host : host);
  st->prefix = s3state_prefix(o->prefix != NULL ? o->prefix : "", &n);
  buf_init(&b, S3_KEY_MAX + 512);
  if (st->prefix != NULL &&
      buf_addf(&b, "s3://%s/%.*s", s3_client_bucket(o->s3), (int)n,
               st->prefix) == 0)
    st->where = buf_take(&b);
  buf_free(&b);
  if (st->host == NULL || st->prefix == NULL || st->where == NULL) {
    s3state_destroy(st);
    return cfw_err_set(err, -EINVAL, "s3state: prefix too long, or no memory");
  }
  *out = st;
  return 0;
}

void s3state_destroy(struct s3state *st)
{
  if (st == NULL)
    return;
  if (st->op != NULL)
    s3_cancel(st->op); /* finishes the call */
  strlist_free(&st->trim_key);
  free(st->prefix);
  free(st->host);
  free(st->where);
  free(st);
}

unsigned s3state_requests(const struct s3state *st)
{
  return st->requests;
}

const char *s3state_where(const struct s3state *st)
{
  return st->where;
}

/* Ends the call: the callback may start the next one. */
static void s3state_finish(struct s3state *st, enum s3state_outcome o)
{
  struct s3state_result res = st->res;
  s3state_cb cb = st->cb;

  res.outcome = o;
  memset(&st->res, 0, sizeof(st->res));
  free(st->data);
  st->data = NULL;
  st->ph = PH_IDLE;
  st->op = NULL;
  st->cap_seqs = 0;
  strlist_free(&st->trim_key);
  cb(&res, st->arg);
  buf_free(&res.body);
  free(res.seqs);
}

/* A failed S3 call: its message (naming the operation and key) and
 * class go to the result. */
static void s3state_fail(struct s3state *st, const struct s3_result *r)
{
  st->res.err = r->err;
  if (st->res.err.cls == CFW_CLASS_NONE)
    cfw_err_class(&st->res.err, CFW_CLASS_TRANSIENT);
  s3state_finish(st, S3STATE_FAILED);
}

static int s3state_begin(struct s3state *st, enum s3state_phase ph,
                         s3state_cb cb, void *arg)
{
  if (st->ph != PH_IDLE)
    return -EBUSY;
  memset(&st->res, 0, sizeof(st->res));
  buf_init(&st->res.body, S3_GET_MAX);
  st->ph = ph;
  st->cb = cb;
  st->arg = arg;
  return 0;
}

/* Who writes, as stored with each object. */
static void s3state_now(char *out, size_t outlen)
{
  time_t t = time(NULL);
  struct tm tm;

  if (gmtime_r(&t, &tm) == NULL ||
      strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    str_copy(out, outlen, "unknown");
}

/* "host pid 12": who, as a string. */
static void s3state_who_text(char *out, size_t outlen, const char *host,
                             const char *pid)
{
  int n;

  if (pid[0] == '\0')
    n = snprintf(out, outlen, "%s", host);
  else
    n = snprintf(out, outlen, "%s pid %s", host, pid);
  if (n < 0 || (size_t)n >= outlen)
    str_copy(out, outlen, host); /* truncated */
}

static int s3state_send_put(struct s3state *st, struct cfw_err *err)
{
  struct s3_put_opts po = {0};
  struct s3_meta meta[3];

  s3state_now(st->res.at, sizeof(st->res.at));
  s3state_who_text(st->res.who, sizeof(st->res.who), st->host, st->pid);
  meta[0].name = "cfw-host";
  meta[0].value = st->host;
  meta[1].name = "cfw-pid";
  meta[1].value = st->pid;
  meta[2].name = "cfw-at";
  meta[2].value = st->res.at;
  po.meta = meta;
  po.n_meta = 3;
  po.if_none_match = !st->if_match;
  po.if_match = st->if_match ? st->res.etag : NULL;
  return s3_put_buf(st->s3, st->key, st->data, st->len, &po, s3state_on_s3, st,
                    &st->op, err);
}

static int s3state_put(struct s3state *st, uint64_t seq, const char *etag,
                       const void *data, size_t len, s3state_cb cb, void *arg,
                       struct cfw_err *err)
{
  int rc;

  if (s3state_key(st, st->key, sizeof(st->key), seq, err) < 0)
    return -EINVAL;
  rc = s3state_begin(st, PH_PUT, cb, arg);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: a call is in flight", st->where);
  st->data = malloc(len + 1);
  if (st->data == NULL) {
    st->ph = PH_IDLE;
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  memcpy(st->data, data, len);
  st->len = len;
  st->snapshot = seq == 0;
  st->if_match = etag != NULL && etag[0] != '\0';
  str_copy(st->res.etag, sizeof(st->res.etag), st->if_match ? etag : "");
  rc = s3state_send_put(st, err);
  if (rc < 0) {
    free(st->data);
    st->data = NULL;
    st->ph = PH_IDLE;
  }
  return rc;
}

int s3state_put_record(struct s3state *st, uint64_t seq, const void *data,
                       size_t len, s3state_cb cb, void *arg,
                       struct cfw_err *err)
{
  if (seq == 0)
    return cfw_err_set(err, -EINVAL, "%s: record 0", st->where);
  return s3state_put(st, seq, NULL, data, len, cb, arg, err);
}

int s3state_put_snapshot(struct s3state *st, const char *etag, const void *data,
                         size_t len, s3state_cb cb, void *arg,
                         struct cfw_err *err)
{
  return s3state_put(st, 0, etag, data, len, cb, arg, err);
}

int s3state_get(struct s3state *st, uint64_t seq, size_t max, s3state_cb cb,
                void *arg, struct cfw_err *err)
{
  int rc;

  if (s3state_key(st, st->key, sizeof(st->key), seq, err) < 0)
    return -EINVAL;
  rc = s3state_begin(st, PH_GET, cb, arg);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: a call is in flight", st->where);
  st->max = max;
  rc = s3_get(st->s3, st->key, max, s3state_on_s3, st, &st->op, err);
  if (rc < 0)
    st->ph = PH_IDLE;
  return rc;
}

int s3state_trim(struct s3state *st, uint64_t below, s3state_cb cb, void *arg,
                 struct cfw_err *err)
{
  int rc;

  rc = s3state_begin(st, PH_TRIM_LIST, cb, arg);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: a call is in flight", st->where);
  st->below = below;
  st->trim_i = 0;
  st->after_key[0] = '\0';
  rc = s3_list_after(st->s3, st->prefix, NULL, NULL, s3state_on_s3, st, &st->op,
                     err);
  if (rc < 0)
    st->ph = PH_IDLE;
  return rc;
}

int s3state_get_part(struct s3state *st, uint64_t seq, uint64_t offset,
                     size_t len, const char *etag, s3state_cb cb, void *arg,
                     struct cfw_err *err)
{
  int rc;

  if (s3state_key(st, st->key, sizeof(st->key), seq, err) < 0)
    return -EINVAL;
  rc = s3state_begin(st, PH_GET, cb, arg);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: a call is in flight", st->where);
  st->max = len;
  rc = s3_get_range(st->s3, st->key, offset, len, etag, s3state_on_s3, st,
                    &st->op, err);
  if (rc < 0)
    st->ph = PH_IDLE;
  return rc;
}

int s3state_list(struct s3state *st, uint64_t after, s3state_cb cb, void *arg,
                 struct cfw_err *err)
{
  int rc;

  st->after_key[0] = '\0';
  if (after > 0 &&
      s3state_key(st, st->after_key, sizeof(st->after_key), after, err) < 0)
    return -EINVAL;
  rc = s3state_begin(st, PH_LIST, cb, arg);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: a call is in flight", st->where);
  rc = s3_list_after(st->s3, st->prefix, st->after_key, NULL, s3state_on_s3, st,
                     &st->op, err);
  if (rc < 0)
    st->ph = PH_IDLE;
  return rc;
}

/* Who wrote an object and when, from its metadata. */
static void s3state_who(struct s3state *st, const struct s3_object_info *in)
{
  const char *host = "";
  const char *pid = "";
  const char *at = "";
  size_t i;

  for (i = 0; i < in->n_meta; i++) {
    if (strcmp(in->meta[i].name, "cfw-host") == 0)
      host = in->meta[i].value;
    else if (strcmp(in->meta[i].name, "cfw-pid") == 0)
      pid = in->meta[i].value;
    else if (strcmp(in->meta[i].name, "cfw-at") == 0)
      at = in->meta[i].value;
  }
  st->res.who[0] = '\0';
  st->res.at[0] = '\0';
  if (host[0] == '\0')
    return;
  s3state_who_text(st->res.who, sizeof(st->res.who), host, pid);
  str_copy(st->res.at, sizeof(st->res.at), at);
}

/* A 412: is the object there ours (a retry after a lost answer)? */
static void s3state_verify(struct s3state *st)
{
  struct cfw_err err = {0};

  st->ph = PH_VERIFY;
  if (s3_get(st->s3, st->key, 0, s3state_on_s3, st, &st->op, &err) < 0) {
    st->res.err = err;
    s3state_finish(st, S3STATE_FAILED);
  }
}

static void s3state_on_put(struct s3state *st, const struct s3_result *r)
{
  if (r->outcome == S3_OK) {
    str_copy(st->res.etag, sizeof(st->res.etag), r->etag);
    s3state_finish(st, S3STATE_OK);
  } else if (r->outcome == S3_PRECONDITION) {
    s3state_verify(st);
  } else if (r->outcome == S3_NOT_FOUND && st->if_match) {
    (void)cfw_err_set(&st->res.err, -ESTALE, "%s: the snapshot is gone",
                      st->where);
    s3state_finish(st, S3STATE_CONFLICT);
  } else {
    s3state_fail(st, r);
  }
}

static void s3state_on_verify(struct s3state *st, const struct s3_result *r)
{
  if (r->outcome != S3_OK && r->outcome != S3_NOT_FOUND) {
    s3state_fail(st, r);
    return;
  }
  if (r->outcome == S3_OK && r->body.len == st->len &&
      memcmp(r->body.data, st->data, st->len) == 0) {
    str_copy(st->res.etag, sizeof(st->res.etag), r->info.etag);
    st->res.lost_reply = true;
    s3state_finish(st, S3STATE_OK);
    return;
  }
  (void)cfw_err_set(&st->res.err, -EAGAIN,
                    "%s: another writer moved the state (%s)", st->where,
                    st->key);
  s3state_finish(st, S3STATE_CONFLICT);
}

static void s3state_on_get(struct s3state *st, struct s3_result *r)
{
  if (r->outcome == S3_NOT_FOUND) {
    s3state_finish(st, S3STATE_NOT_FOUND);
    return;
  }
  if (r->outcome == S3_PRECONDITION) {
    (void)cfw_err_set(&st->res.err, -EAGAIN,
                      "%s: %s was replaced while being read", st->where,
                      st->key);
    s3state_finish(st, S3STATE_CONFLICT);
    return;
  }
  if (r->outcome != S3_OK) {
    s3state_fail(st, r);
    return;
  }
  buf_free(&st->res.body);
  st->res.body = r->body;
  buf_init(&r->body, S3_GET_MAX);
  str_copy(st->res.etag, sizeof(st->res.etag), r->info.etag);
  st->res.total = r->info.total;
  s3state_who(st, &r->info);
  s3state_finish(st, S3STATE_OK);
}

/* Takes one listed key: a record after the one asked, or the snapshot. */
static int s3state_listed(struct s3state *st, const struct s3_list_item *it)
{
  size_t plen = strlen(st->prefix);
  size_t jlen = strlen(S3STATE_JOURNAL);
  const char *rest;
  uint64_t *grown;
  uint64_t seq;

  if (strncmp(it->key, st->prefix, plen) != 0)
    return 0;
  rest = it->key + plen;
  if (strcmp(rest, S3STATE_SNAPSHOT) == 0) {
    str_copy(st->res.snapshot_etag, sizeof(st->res.snapshot_etag), it->etag);
    return 0;
  }
  if (strncmp(rest, S3STATE_JOURNAL, jlen) != 0 || strlen(rest + jlen) != 20 ||
      parse_u64(rest + jlen, 1, UINT64_MAX, &seq) < 0)
    return 0; /* not ours */
  grown =
      array_grow(st->res.seqs, st->res.n_seqs, &st->cap_seqs, sizeof(*grown));
  if (grown == NULL)
    return -ENOMEM;
  st->res.seqs = grown;
  st->res.seqs[st->res.n_seqs++] = seq;
  return 0;
}

/* Deletes the next S3_DELETE_MAX listed records before st->below, or
 * ends the trim: r->n_seqs then counts the records deleted. */
static void s3state_trim_next(struct s3state *st)
{
  char key[S3_KEY_MAX + 1];
  struct cfw_err err = {0};
  int rc = 0;

  strlist_free(&st->trim_key);
  st->ph = PH_TRIM_DELETE;
  while (rc == 0 && st->trim_i < st->res.n_seqs &&
         st->trim_key.n < S3_DELETE_MAX &&
         st->res.seqs[st->trim_i] < st->below) {
    rc = s3state_key(st, key, sizeof(key), st->res.seqs[st->trim_i], &err);
    if (rc == 0 && strlist_push(&st->trim_key, key) < 0)
      rc = cfw_err_set(&err, -ENOMEM, "out of memory");
    st->trim_i++;
  }
  if (rc == 0 && st->trim_key.n == 0) {
    st->res.n_seqs = st->trim_i;
    s3state_finish(st, S3STATE_OK);
    return;
  }
  if (rc == 0)
    rc = s3_delete_objects(st->s3, (const char *const *)st->trim_key.v,
                           st->trim_key.n, s3state_on_s3, st, &st->op, &err);
  if (rc < 0) {
    st->res.err = err;
    s3state_finish(st, S3STATE_FAILED);
  }
}

static void s3state_on_list(struct s3state *st, struct s3_result *r)
{
  struct cfw_err err = {0};
  size_t i;
  int rc = 0;

  if (r->outcome != S3_OK) {
    s3state_fail(st, r);
    return;
  }
  bool more = r->list.truncated;

  for (i = 0; i < r->list.n && rc == 0; i++)
    rc = s3state_listed(st, &r->list.items[i]);
  /* Keys come sorted: a trim stops at the first record it keeps. */
  if (st->ph == PH_TRIM_LIST && st->res.n_seqs > 0 &&
      st->res.seqs[st->res.n_seqs - 1] >= st->below)
    more = false;
  if (rc == 0 && more)
    rc = s3_list_after(st->s3, st->prefix, st->after_key, r->list.next_token,
                       s3state_on_s3, st, &st->op, &err);
  else if (rc < 0)
    rc = cfw_err_set(&err, rc, "out of memory");
  if (rc < 0) {
    st->res.err = err;
    s3state_finish(st, S3STATE_FAILED);
  } else if (!more && st->ph == PH_TRIM_LIST) {
    s3state_trim_next(st);
  } else if (!more) {
    s3state_finish(st, S3STATE_OK);
  }
}

static void s3state_on_s3(struct s3_result *r, void *arg)
{
  struct s3state *st = arg;

  st->op = NULL;
  st->requests += r->attempts;
  st->res.requests += r->attempts;
  switch (st->ph) {
  case PH_PUT:
    s3state_on_put(st, r);
    return;
  case PH_VERIFY:
    s3state_on_verify(st, r);
    return;
  case PH_GET:
    s3state_on_get(st, r);
    return;
  case PH_LIST:
  case PH_TRIM_LIST:
    s3state_on_list(st, r);
    return;
  case PH_TRIM_DELETE:
    if (r->outcome != S3_OK)
      s3state_fail(st, r);
    else
      s3state_trim_next(st);
    return;
  case PH_IDLE:
    return;
  }
}
