/* SPDX-License-Identifier: MIT */
/* The pipeline's steps on an S3 origin: uploading a pass's files (assets
 * first, then HTML, so a page never goes live before what it links to)
 * and deleting the objects of removed files once CloudFront accepted the
 * invalidation that covers them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3mpu.h"
#include "site_int.h"
#include "util.h"

/* What a change of the pass is to the origin: a recorded batch's (a
 * recovered one's too) are its intent's, a batch not recorded yet the
 * pass's. */
static const struct change *origin_change(const struct site *s,
                                          const struct site_item *it, size_t k,
                                          size_t *n)
{
  const struct intent *in;

  /* A recorded batch's changes moved into its intent (site_job_intend). */
  if (it->batch != SIZE_MAX && it->ref[0] == '\0') {
    *n = s->plan.v[it->batch].n_changes;
    return k < *n ? &s->changes[s->plan.v[it->batch].changes[k]] : NULL;
  }
  in = site_intent(s, it->ref);
  *n = in != NULL ? in->n_changes : 0;
  return k < *n ? &in->changes[k] : NULL;
}

static bool origin_is_html(const char *type)
{
  return strncmp(type, "text/html", 9) == 0 &&
         (type[9] == '\0' || type[9] == ';');
}

void site_origin_free(struct site *s)
{
  size_t i;

  for (i = 0; i < s->n_up; i++) {
    free(s->up[i].key);
    free(s->up[i].path);
    free(s->up[i].meta);
  }
  free(s->up);
  free(s->up_objs);
  free(s->up_stale);
  free(s->up_index);
  s->up = NULL;
  s->up_objs = NULL;
  s->up_stale = NULL;
  s->up_index = NULL;
  s->n_up = 0;
  s->n_up_stale = 0;
  s->up_phase = 0;
}

/* With cache_tag_header, the object carries its tag as metadata (the
 * header's NAME after x-amz-meta-; S3 stores it and returns it as that
 * header on GET and HEAD, which is where CloudFront reads it).  A
 * [headers] rule's metadata of the same name gives way to the tag. */
static int origin_tag(const struct site *s, struct site_upload *u)
{
  const char *name;
  size_t i;

  if (site_tags_header(s) == NULL)
    return 0;
  name = cachetag_meta_name(site_tags_header(s));
  cachetag_of_key(u->key, u->tag);
  u->meta = calloc(u->h.n_meta + 1, sizeof(*u->meta));
  if (u->meta == NULL)
    return -ENOMEM;
  for (i = 0; i < u->h.n_meta; i++)
    if (strcasecmp(u->h.meta[i].name, name) != 0) {
      u->meta[u->n_meta].name = u->h.meta[i].name;
      u->meta[u->n_meta++].value = u->h.meta[i].value;
    }
  u->meta[u->n_meta].name = name;
  u->meta[u->n_meta++].value = u->tag;
  return 0;
}

/* Adds change c (of item i, index k) to the upload list. */
static int origin_add(struct site *s, size_t i, size_t k,
                      const struct change *c)
{
  struct site_upload *u = &s->up[s->n_up];
  char key[S3_KEY_MAX + 1];
  struct buf path;
  int rc;

  memset(u, 0, sizeof(*u));
  rc = s3url_key(&s->origin, c->entry.path, key, sizeof(key));
  if (rc < 0)
    return rc;
  buf_init(&path, (size_t)16 * 1024);
  rc = buf_addf(&path, "%s/%s", s->cfg->root, c->entry.path);
  u->key = strdup(key);
  u->path = rc == 0 ? buf_take(&path) : NULL;
  buf_free(&path);
  if (u->key == NULL || u->path == NULL) {
    free(u->key);
    free(u->path);
    return -ENOMEM;
  }
  u->item = i;
  u->change = k;
  u->size = c->entry.size;
  memcpy(u->sha256, c->entry.hash, sizeof(u->sha256));
  headers_for(s->hdrs, s->mime, c->entry.path, &u->h);
  u->html = origin_is_html(u->h.content_type);
  s->n_up++;
  return origin_tag(s, u);
}

/* The files of the items not uploaded yet: added and modified ones
 * (deletions go after the invalidation, same bytes nowhere). */
static int origin_list(struct site *s)
{
  const struct change *c;
  size_t total = 0;
  size_t i;
  size_t k;
  size_t n;
  int rc = 0;

  for (i = 0; i < s->n_items; i++)
    if (!s->items[i].uploaded) {
      (void)origin_change(s, &s->items[i], 0, &n);
      total += n;
    }
  s->up = calloc(total + 1, sizeof(*s->up));
  s->up_objs = calloc(total + 1, sizeof(*s->up_objs));
  s->up_stale = calloc(total + 1, sizeof(*s->up_stale));
  if (s->up == NULL || s->up_objs == NULL || s->up_stale == NULL)
    return -ENOMEM;
  for (i = 0; rc == 0 && i < s->n_items; i++) {
    if (s->items[i].uploaded)
      continue;
    for (k = 0; rc == 0 && (c = origin_change(s, &s->items[i], k, &n)); k++)
      if (change_kind(c) == CHANGE_ADDED || change_kind(c) == CHANGE_MODIFIED)
        rc = origin_add(s, i, k, c);
  }
  return rc;
}

static void origin_put_opts(const struct site_upload *u, struct s3_put_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->content_type = u->h.content_type;
  o->cache_control = u->h.cache_control;
  o->content_encoding = u->h.content_encoding;
  o->content_disposition = u->h.content_disposition;
  /* hdrrule_meta and s3_meta are both a name and a value. */
  o->meta = (const struct s3_meta *)u->h.meta;
  o->n_meta = u->h.n_meta;
  if (u->meta != NULL) {
    o->meta = u->meta;
    o->n_meta = u->n_meta;
  }
}

_Static_assert(sizeof(struct hdrrule_meta) == sizeof(struct s3_meta),
               "a rule's metadata is sent as it is");

static void site_on_put_object(size_t index, const struct s3put_report *rep,
                               void *arg)
{
  struct site *s = arg;
  struct site_upload *u = &s->up[s->up_index[index]];

  if (rep->outcome == S3_CHANGED) {
    log_msg(s->o.log, LOG_INFO,
            "%s: %s changed since it was hashed; it is sent again next",
            s->cfg->root, u->key);
    s->up_stale[s->n_up_stale++] = s->up_index[index];
  } else if (rep->outcome == S3_OK) {
    s->rep.uploaded++;
    s->rep.uploaded_bytes += u->size;
  }
}

static void site_upload_phase(struct site *s);

/* The chaos test sends files of a few MiB as multipart uploads, so that
 * its kills and faults fall into them without 64 MiB files:
 * CFWATCH_TEST_MULTIPART_BYTES lowers the threshold, and parts are then
 * S3's least (5 MiB), so a file over it goes in two parts or more. */
static void origin_test_multipart(struct s3put_opts *po)
{
  const char *v = getenv("CFWATCH_TEST_MULTIPART_BYTES");
  uint64_t n;

  if (v == NULL || parse_u64(v, 1, S3MPU_THRESHOLD, &n) < 0)
    return;
  po->multipart_threshold = n;
  po->part_size = S3MPU_MIN_PART_SIZE;
}

static void site_on_put_done(struct s3put *p, const struct s3put_summary *sum,
                             void *arg)
{
  struct site *s = arg;
  struct cfw_err err = sum->err;

  (void)p; /* frees itself after this */
  s->put = NULL;
  if (sum->outcome != S3_OK) {
    if (err.cls == CFW_CLASS_NONE)
      cfw_err_class(&err, CFW_CLASS_TRANSIENT);
    cfw_err_prefix(&err, "%s: uploading to %s", s->cfg->root, s->cfg->origin);
    site_fail(s, err.code < 0 ? err.code : -EIO, &err);
    return;
  }
  site_upload_phase(s);
}

/* Starts the next phase: 1 assets, 2 HTML; then the pass goes on. */
static void site_upload_phase(struct site *s)
{
  struct s3put_opts po = {0};
  struct cfw_err err = {0};
  bool html;
  size_t n = 0;
  size_t i;
  int rc;

  if (++s->up_phase > 2) {
    site_advance(s);
    return;
  }
  html = s->up_phase == 2;
  for (i = 0; i < s->n_up; i++) {
    if (s->up[i].html != html)
      continue;
    s->up_index[n] = i;
    s->up_objs[n].key = s->up[i].key;
    s->up_objs[n].path = s->up[i].path;
    s->up_objs[n].size = s->up[i].size;
    memcpy(s->up_objs[n].sha256, s->up[i].sha256, 32);
    origin_put_opts(&s->up[i], &s->up[i].po);
    s->up_objs[n].po = &s->up[i].po;
    n++;
  }
  po.s3 = s->s3;
  po.loop = s->o.loop;
  po.log = s->o.log;
  po.objs = s->up_objs;
  po.n = n;
  po.on_object = site_on_put_object;
  po.on_done = site_on_put_done;
  po.arg = s;
  origin_test_multipart(&po);
  rc = s3put_start(&s->put, &po, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
}

void site_origin_upload(struct site *s)
{
  struct cfw_err err = {0};
  int rc;

  site_origin_free(s);
  rc = origin_list(s);
  if (rc == 0 && (s->up_index = calloc(s->n_up + 1, sizeof(size_t))) == NULL)
    rc = -ENOMEM;
  if (rc < 0) {
    (void)cfw_err_set(&err, rc, "%s: listing the uploads: %s", s->cfg->root,
                      strerror(-rc));
    site_fail(s, rc, &err);
    return;
  }
  site_upload_phase(s);
}

/* The stale indices of item i, for its UPLOADED record: into out (room
 * for all).  O(uploads). */
size_t site_origin_stale(const struct site *s, size_t i, uint32_t *out)
{
  size_t n = 0;
  size_t k;

  for (k = 0; k < s->n_up_stale; k++)
    if (s->up[s->up_stale[k]].item == i)
      out[n++] = (uint32_t)s->up[s->up_stale[k]].change;
  return n;
}

/* Deleting. */

void site_origin_free_keys(struct site *s)
{
  size_t i;

  for (i = 0; s->del_keys != NULL && i < s->n_del; i++)
    free(s->del_keys[i]);
  free(s->del_keys);
  s->del_keys = NULL;
  s->n_del = 0;
}

static void site_on_deleted(struct s3del *d, const struct s3del_result *r,
                            void *arg)
{
  struct site *s = arg;
  struct cfw_err err = r->err;

  (void)d; /* frees itself after this */
  s->del = NULL;
  site_origin_free_keys(s);
  if (r->outcome == S3_OK && r->kept == 0) {
    s->rep.deleted_objects += r->deleted;
    site_advance(s);
    return;
  }
  if (r->outcome == S3_OK)
    (void)cfw_err_set(&err, -EACCES,
                      "%zu of the objects to delete were refused one by one",
                      r->kept);
  if (err.cls == CFW_CLASS_NONE)
    cfw_err_class(&err, CFW_CLASS_REFUSED);
  cfw_err_prefix(&err, "%s: deleting from %s", s->cfg->root, s->cfg->origin);
  site_fail(s, err.code < 0 ? err.code : -EIO, &err);
}

static int origin_cmp_path(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The files the items after item i upload (added or modified), sorted,
 * borrowed from the changes; NULL when there are none (*n = 0) or on
 * -ENOMEM (*n = SIZE_MAX).  An item deleting a file must not delete it
 * when a newer batch uploaded it again: the objects would be gone while
 * the manifest, once both are committed, says the origin holds them.
 * Only a batch recorded by an earlier pass can be followed by one that
 * names its files again (a scan names each file once, and recorded
 * batches go first), so the callers ask for those only.  O(L log L) for
 * L later changes. */
static const char **origin_later_uploads(const struct site *s, size_t i,
                                         size_t *n)
{
  const struct change *c;
  const char **v;
  size_t total = 0;
  size_t j;
  size_t k;
  size_t m;

  *n = 0;
  for (j = i + 1; j < s->n_items; j++) {
    (void)origin_change(s, &s->items[j], 0, &m);
    total += m;
  }
  if (total == 0)
    return NULL;
  v = calloc(total, sizeof(*v));
  if (v == NULL) {
    *n = SIZE_MAX;
    return NULL;
  }
  for (j = i + 1; j < s->n_items; j++)
    for (k = 0; (c = origin_change(s, &s->items[j], k, &m)) != NULL; k++)
      if (change_kind(c) == CHANGE_ADDED || change_kind(c) == CHANGE_MODIFIED)
        v[(*n)++] = c->entry.path;
  qsort(v, *n, sizeof(*v), origin_cmp_path);
  return v;
}

/* The keys of the item's deleted files but those a later item uploads;
 * 0 when there are none, SIZE_MAX on -ENOMEM. */
static size_t origin_delete_keys(struct site *s, const struct site_item *it)
{
  const struct change *c;
  char key[S3_KEY_MAX + 1];
  const char **later = NULL;
  size_t n_later = 0;
  size_t n = 0;
  size_t k;
  size_t total;

  (void)origin_change(s, it, 0, &total);
  s->del_keys = calloc(total + 1, sizeof(*s->del_keys));
  if (it->batch == SIZE_MAX)
    later = origin_later_uploads(s, (size_t)(it - s->items), &n_later);
  if (s->del_keys == NULL || n_later == SIZE_MAX) {
    free(later);
    return SIZE_MAX;
  }
  for (k = 0; (c = origin_change(s, it, k, &total)) != NULL; k++) {
    if (change_kind(c) != CHANGE_DELETED ||
        (later != NULL && bsearch(&c->entry.path, later, n_later,
                                  sizeof(*later), origin_cmp_path)) ||
        s3url_key(&s->origin, c->entry.path, key, sizeof(key)) < 0)
      continue;
    s->del_keys[n] = strdup(key);
    if (s->del_keys[n] == NULL)
      break;
    n++;
  }
  free(later);
  s->n_del = n;
  return c != NULL ? SIZE_MAX : n;
}

/* Deletes the objects of the current item's removed files; false if
 * there are none (nothing started). */
bool site_origin_delete(struct site *s)
{
  struct s3del_opts o = {0};
  struct cfw_err err = {0};
  size_t n;
  int rc;

  site_origin_free_keys(s);
  n = origin_delete_keys(s, &s->items[s->next]);
  if (n == 0) {
    site_origin_free_keys(s);
    return false;
  }
  if (n == SIZE_MAX) {
    site_origin_free_keys(s);
    (void)cfw_err_set(&err, -ENOMEM, "out of memory");
    site_fail(s, -ENOMEM, &err);
    return true;
  }
  o.s3 = s->s3;
  o.keys = (const char *const *)s->del_keys;
  o.n = n;
  o.on_done = site_on_deleted;
  o.arg = s;
  rc = s3del_start(&s->del, &o, &err);
  if (rc < 0)
    site_fail(s, rc, &err);
  return true;
}
