/* SPDX-License-Identifier: MIT */
#include "inflight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cflimits.h"
#include "strlist.h"
#include "urlmap.h"
#include "util.h"

/* The status CloudFront gives an invalidation still running. */
#define INFLIGHT_IN_PROGRESS "InProgress"

struct inflight_entry {
  char id[64];
  size_t file_paths;
  size_t wildcards;
  bool own;        /* added by inflight_add, not found by a refresh */
  int64_t added_s; /* for own entries */
  uint64_t seq;    /* when it was added, in inflight_add calls */
  bool seen;       /* listed by the running refresh */
};

struct inflight_table {
  struct inflight_entry *v; /* owned */
  size_t n;
  size_t cap;
};

struct inflight {
  struct inflight_table t;
  uint64_t seq; /* inflight_add calls so far */
  /* The running refresh. */
  bool busy;
  bool destroyed; /* free when the outstanding call reports back */
  struct inflight_calls calls;
  int64_t now_s;
  uint64_t start_seq;
  unsigned pages;
  char marker[256];
  struct strlist todo; /* ids listed InProgress, to GET */
  size_t next;         /* the next of todo to GET */
  struct inflight_table found;
  size_t listed;
  inflight_cb cb;
  void *arg;
};

static void inflight_next_get(struct inflight *f);

static int inflight_push(struct inflight_table *t,
                         const struct inflight_entry *e)
{
  struct inflight_entry *v;

  v = array_grow(t->v, t->n, &t->cap, sizeof(*t->v));
  if (v == NULL)
    return -ENOMEM;
  t->v = v;
  t->v[t->n++] = *e;
  return 0;
}

static struct inflight_entry *inflight_find(const struct inflight_table *t,
                                            const char *id)
{
  size_t i;

  for (i = 0; i < t->n; i++)
    if (strcmp(t->v[i].id, id) == 0)
      return &t->v[i];
  return NULL;
}

int inflight_new(struct inflight **out)
{
  *out = calloc(1, sizeof(**out));
  if (*out == NULL)
    return -ENOMEM;
  strlist_init(&(*out)->todo);
  return 0;
}

static void inflight_free(struct inflight *f)
{
  free(f->t.v);
  free(f->found.v);
  strlist_free(&f->todo);
  free(f);
}

void inflight_destroy(struct inflight *f)
{
  if (f == NULL)
    return;
  if (f->busy) {
    f->destroyed = true;
    return;
  }
  inflight_free(f);
}

int inflight_add(struct inflight *f, const char *id, size_t file_paths,
                 size_t wildcards, int64_t now_s)
{
  struct inflight_entry e;
  struct inflight_entry *old;
  size_t len = strlen(id);

  if (len == 0 || len >= sizeof(e.id))
    return -EINVAL;
  memset(&e, 0, sizeof(e));
  memcpy(e.id, id, len + 1);
  e.file_paths = file_paths;
  e.wildcards = wildcards;
  e.own = true;
  e.added_s = now_s;
  e.seq = f->seq++;
  old = inflight_find(&f->t, id);
  if (old != NULL) {
    *old = e;
    return 0;
  }
  return inflight_push(&f->t, &e);
}

int inflight_complete(struct inflight *f, const char *id)
{
  struct inflight_entry *e = inflight_find(&f->t, id);

  if (e == NULL)
    return -ENOENT;
  *e = f->t.v[--f->t.n];
  return 0;
}

void inflight_counts(const struct inflight *f, size_t *file_paths,
                     size_t *wildcards)
{
  size_t i;

  *file_paths = 0;
  *wildcards = 0;
  for (i = 0; i < f->t.n; i++) {
    *file_paths += f->t.v[i].file_paths;
    *wildcards += f->t.v[i].wildcards;
  }
}

bool inflight_fits(const struct inflight *f, size_t file_paths,
                   size_t wildcards)
{
  size_t nf;
  size_t nw;

  inflight_counts(f, &nf, &nw);
  return nf <= CF_MAX_FILE_PATHS_IN_PROGRESS &&
         file_paths <= CF_MAX_FILE_PATHS_IN_PROGRESS - nf &&
         nw <= CF_MAX_WILDCARDS_IN_PROGRESS &&
         wildcards <= CF_MAX_WILDCARDS_IN_PROGRESS - nw;
}

/* Keeps an own entry the refresh did not list if it is too fresh for the
 * list to show, or was added while the refresh ran. */
static bool inflight_keep_unlisted(const struct inflight *f,
                                   const struct inflight_entry *e)
{
  return e->own && !e->seen &&
         (e->seq >= f->start_seq || e->added_s + INFLIGHT_GRACE_S > f->now_s);
}

/* Replaces the table with what the refresh found, plus the own entries
 * it could not have seen.  All or nothing. */
static int inflight_merge(struct inflight *f)
{
  size_t i;
  int rc = 0;

  for (i = 0; i < f->t.n && rc == 0; i++)
    if (inflight_keep_unlisted(f, &f->t.v[i]) &&
        inflight_find(&f->found, f->t.v[i].id) == NULL)
      rc = inflight_push(&f->found, &f->t.v[i]);
  if (rc < 0)
    return rc;
  free(f->t.v);
  f->t = f->found;
  memset(&f->found, 0, sizeof(f->found));
  return 0;
}

/* Ends the refresh and reports it; f must not be touched afterwards, as
 * the callback may destroy it. */
static void inflight_finish(struct inflight *f, int status,
                            enum cf_verdict verdict, const struct cfw_err *err)
{
  struct inflight_result r;
  size_t i;

  memset(&r, 0, sizeof(r));
  r.listed = f->listed;
  r.in_progress = f->found.n;
  if (status == 0 && inflight_merge(f) < 0)
    status = cfw_err_set(&r.err, -ENOMEM, "in progress: out of memory");
  else if (status < 0)
    r.err = *err;
  r.status = status;
  r.verdict = status < 0 && verdict == CF_DONE ? CF_FATAL : verdict;
  for (i = 0; i < f->t.n; i++)
    f->t.v[i].seen = false;
  free(f->found.v);
  memset(&f->found, 0, sizeof(f->found));
  strlist_free(&f->todo);
  f->busy = false;
  f->cb(f, &r, f->arg);
}

/* True if the call's callback came back to a destroyed f (now freed). */
static bool inflight_gone(struct inflight *f)
{
  if (!f->destroyed)
    return false;
  f->busy = false;
  inflight_free(f);
  return true;
}

/* True if the page's oldest item (the last: newest come first) is past
 * the horizon.  An unreadable time does not stop the paging, which
 * INFLIGHT_MAX_PAGES still bounds. */
static bool inflight_page_is_old(const struct inflight *f,
                                 const struct cf_invalidation_list *l)
{
  int64_t t;

  if (l->n == 0)
    return true;
  t = cfxml_time_s(l->items[l->n - 1].create_time);
  return t >= 0 && t + INFLIGHT_HORIZON_S < f->now_s;
}

/* Notes each listed invalidation; queues the InProgress ones. */
static int inflight_note_page(struct inflight *f,
                              const struct cf_invalidation_list *l)
{
  struct inflight_entry *own;
  size_t i;
  int rc;

  for (i = 0; i < l->n; i++) {
    f->listed++;
    own = inflight_find(&f->t, l->items[i].id);
    if (own != NULL)
      own->seen = true;
    /* A page may repeat an id if the list moved while we paged. */
    if (strcmp(l->items[i].status, INFLIGHT_IN_PROGRESS) != 0 ||
        strlist_contains(&f->todo, l->items[i].id))
      continue;
    rc = strlist_push(&f->todo, l->items[i].id);
    if (rc < 0)
      return rc;
  }
  return 0;
}

static void inflight_on_list(struct cf_result *r, void *arg);

static void inflight_list(struct inflight *f)
{
  struct cfw_err err = {0};
  int rc;

  f->pages++;
  rc = f->calls.list(f->calls.ctx, f->marker, INFLIGHT_PAGE_ITEMS,
                     inflight_on_list, f, &err);
  if (rc < 0)
    inflight_finish(f, rc, CF_FATAL, &err);
}

static void inflight_on_list(struct cf_result *r, void *arg)
{
  struct inflight *f = arg;
  const struct cf_invalidation_list *l = &r->list;
  struct cfw_err err = {0};

  if (inflight_gone(f))
    return;
  if (r->verdict != CF_DONE) {
    inflight_finish(f, r->err.code < 0 ? r->err.code : -EIO, r->verdict,
                    &r->err);
    return;
  }
  if (inflight_note_page(f, l) < 0) {
    cfw_err_set(&err, -ENOMEM, "in progress: out of memory");
    inflight_finish(f, -ENOMEM, CF_FATAL, &err);
    return;
  }
  if (l->is_truncated && f->pages < INFLIGHT_MAX_PAGES &&
      !inflight_page_is_old(f, l)) {
    (void)snprintf(f->marker, sizeof(f->marker), "%s", l->next_marker);
    inflight_list(f);
    return;
  }
  inflight_next_get(f);
}

/* Counts the paths of an invalidation GetInvalidation reports running. */
static int inflight_note_inv(struct inflight *f,
                             const struct cf_invalidation *inv)
{
  struct inflight_entry e;
  size_t i;

  if (strcmp(inv->status, INFLIGHT_IN_PROGRESS) != 0)
    return 0; /* completed since it was listed */
  memset(&e, 0, sizeof(e));
  (void)snprintf(e.id, sizeof(e.id), "%s", inv->id);
  for (i = 0; i < inv->paths.n; i++) {
    if (urlmap_is_wildcard(inv->paths.v[i]))
      e.wildcards++;
    else
      e.file_paths++;
  }
  return inflight_push(&f->found, &e);
}

static void inflight_on_get(struct cf_result *r, void *arg)
{
  struct inflight *f = arg;
  struct cfw_err err = {0};

  if (inflight_gone(f))
    return;
  if (r->verdict != CF_DONE) {
    inflight_finish(f, r->err.code < 0 ? r->err.code : -EIO, r->verdict,
                    &r->err);
    return;
  }
  if (inflight_note_inv(f, &r->inv) < 0) {
    cfw_err_set(&err, -ENOMEM, "in progress: out of memory");
    inflight_finish(f, -ENOMEM, CF_FATAL, &err);
    return;
  }
  f->next++;
  inflight_next_get(f);
}

static void inflight_next_get(struct inflight *f)
{
  struct cfw_err err = {0};
  int rc;

  if (f->next == f->todo.n) {
    inflight_finish(f, 0, CF_DONE, NULL);
    return;
  }
  rc = f->calls.get(f->calls.ctx, f->todo.v[f->next], inflight_on_get, f, &err);
  if (rc < 0)
    inflight_finish(f, rc, CF_FATAL, &err);
}

int inflight_refresh_with(struct inflight *f, const struct inflight_calls *c,
                          int64_t now_s, inflight_cb cb, void *arg,
                          struct cfw_err *err)
{
  int rc;

  if (f->busy)
    return cfw_err_set(err, -EBUSY, "in progress: a refresh is running");
  f->busy = true;
  f->calls = *c;
  f->now_s = now_s;
  f->start_seq = f->seq;
  f->pages = 1;
  f->marker[0] = '\0';
  f->next = 0;
  f->listed = 0;
  f->cb = cb;
  f->arg = arg;
  /* The first call's failure is returned, not reported: no callback. */
  rc = c->list(c->ctx, NULL, INFLIGHT_PAGE_ITEMS, inflight_on_list, f, err);
  if (rc < 0)
    f->busy = false;
  return rc;
}

static int inflight_cf_list(void *ctx, const char *marker, unsigned max_items,
                            cf_cb cb, void *arg, struct cfw_err *err)
{
  return cf_list_invalidations(ctx, marker, max_items, cb, arg, err);
}

static int inflight_cf_get(void *ctx, const char *id, cf_cb cb, void *arg,
                           struct cfw_err *err)
{
  return cf_get_invalidation(ctx, id, cb, arg, err);
}

int inflight_refresh(struct inflight *f, struct cf_client *cf, int64_t now_s,
                     inflight_cb cb, void *arg, struct cfw_err *err)
{
  struct inflight_calls c = {inflight_cf_list, inflight_cf_get, cf};

  return inflight_refresh_with(f, &c, now_s, cb, arg, err);
}
