/* SPDX-License-Identifier: MIT */
#include "hardlinks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathref.h"
#include "tree.h"
#include "util.h"

struct hl_id {
  uint64_t dev;
  uint64_t ino;
};

/* One name of an inode that has several in the tree. */
struct hl_name {
  struct hl_id id;
  char *rel; /* owned */
};

/* An inode whose other names are wanted from a walk.  `next` means it
 * was asked for while a walk ran, which may have passed its names
 * already: the walk after that one answers it. */
struct hl_want {
  struct hl_id id;
  bool next;
};

struct hardlinks {
  uv_loop_t *loop;
  uv_work_t work;
  char *root; /* owned */
  void (*report)(void *ctx, const char *rel);
  void *ctx;
  /* From the last walk: the names of every inode with several, sorted
   * by id then name, and the id of every file, sorted. */
  struct hl_name *names; /* owned, and each rel */
  size_t n_names;
  size_t cap_names;
  struct hl_id *seen; /* owned */
  size_t n_seen;
  bool built;           /* a walk finished since the last reset */
  struct hl_want *want; /* owned */
  size_t n_want;
  size_t cap_want;
  bool walking;
  bool dead;      /* destroyed while walking: the walk's end frees h */
  uint64_t epoch; /* bumped by each reset; a walk of an older one is void */
  /* The walk in flight: written by the worker, read after it. */
  char *walk_root; /* owned */
  uint64_t walk_epoch;
  struct tree tree;
  int walk_rc;
};

static int hl_id_cmp(const struct hl_id *a, const struct hl_id *b)
{
  if (a->dev != b->dev)
    return a->dev < b->dev ? -1 : 1;
  if (a->ino != b->ino)
    return a->ino < b->ino ? -1 : 1;
  return 0;
}

static int hl_seen_cmp(const void *a, const void *b)
{
  return hl_id_cmp(a, b);
}

static int hl_entry_cmp(const void *a, const void *b)
{
  const struct tree_entry *x = a;
  const struct tree_entry *y = b;
  struct hl_id ix = {x->dev, x->ino};
  struct hl_id iy = {y->dev, y->ino};
  int c = hl_id_cmp(&ix, &iy);

  return c != 0 ? c : strcmp(x->path, y->path);
}

static struct hl_id hl_id_of(const struct stat *st)
{
  struct hl_id id = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};

  return id;
}

/* The first name of id in h->names, or n_names if it has none there. */
static size_t hl_names_find(const struct hardlinks *h, const struct hl_id *id)
{
  size_t lo = 0;
  size_t hi = h->n_names;
  size_t mid;

  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    if (hl_id_cmp(&h->names[mid].id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < h->n_names && hl_id_cmp(&h->names[lo].id, id) == 0 ? lo
                                                                 : h->n_names;
}

static bool hl_seen_has(const struct hardlinks *h, const struct hl_id *id)
{
  return h->n_seen > 0 &&
         bsearch(id, h->seen, h->n_seen, sizeof(*h->seen), hl_seen_cmp) != NULL;
}

/* Drops the index (not the wants). */
static void hl_drop_index(struct hardlinks *h)
{
  size_t i;

  for (i = 0; i < h->n_names; i++)
    pathref_drop(h->names[i].rel); /* a tree entry's path */
  free(h->names);
  h->names = NULL;
  h->n_names = 0;
  h->cap_names = 0;
  free(h->seen);
  h->seen = NULL;
  h->n_seen = 0;
  h->built = false;
}

static void hl_free(struct hardlinks *h)
{
  hl_drop_index(h);
  free(h->want);
  free(h->root);
  free(h->walk_root);
  tree_free(&h->tree);
  free(h);
}

/* Reports every name of id except skip (NULL: every name). */
static void hl_report_names(struct hardlinks *h, const struct hl_id *id,
                            const char *skip)
{
  size_t i;

  for (i = hl_names_find(h, id);
       i < h->n_names && hl_id_cmp(&h->names[i].id, id) == 0; i++)
    if (skip == NULL || strcmp(h->names[i].rel, skip) != 0)
      h->report(h->ctx, h->names[i].rel);
}

static void hl_on_walk(uv_work_t *req)
{
  struct hardlinks *h = container_of(req, struct hardlinks, work);
  struct cfw_err err;

  /* Links stay inside the root, as a scan keeps them; no excludes: the
   * consumer drops what it excludes. */
  h->walk_rc = tree_walk(&h->tree, h->walk_root, NULL, &err);
}

static void hl_walk(struct hardlinks *h);

/* Moves the n names of one inode from the tree into h->names. */
static void hl_take_names(struct hardlinks *h, struct tree_entry *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    h->names[h->n_names].id.dev = v[i].dev;
    h->names[h->n_names].id.ino = v[i].ino;
    h->names[h->n_names++].rel = v[i].path;
    v[i].path = NULL; /* taken */
  }
}

/* Keeps, from the sorted tree, every id and the names of ids with
 * several.  The tree is emptied. */
static int hl_index(struct hardlinks *h)
{
  struct tree_entry *v = h->tree.v;
  size_t n = h->tree.n;
  size_t i;
  size_t j;

  if (n > 1)
    qsort(v, n, sizeof(*v), hl_entry_cmp);
  h->seen = n > 0 ? calloc(n, sizeof(*h->seen)) : NULL;
  h->names = n > 0 ? calloc(n, sizeof(*h->names)) : NULL;
  if (n > 0 && (h->seen == NULL || h->names == NULL))
    return -ENOMEM;
  h->cap_names = n;
  for (i = 0; i < n; i = j) {
    for (j = i + 1; j < n && v[j].dev == v[i].dev && v[j].ino == v[i].ino; j++)
      ;
    h->seen[h->n_seen].dev = v[i].dev;
    h->seen[h->n_seen++].ino = v[i].ino;
    if (j - i > 1)
      hl_take_names(h, v + i, j - i);
  }
  return 0;
}

/* Answers the wants the walk was for, and starts the next walk if some
 * came in while it ran. */
static void hl_answer(struct hardlinks *h)
{
  size_t i;
  size_t j;

  for (i = 0, j = 0; i < h->n_want; i++) {
    if (h->want[i].next) {
      h->want[i].next = false;
      h->want[j++] = h->want[i];
    } else {
      hl_report_names(h, &h->want[i].id, NULL);
    }
  }
  h->n_want = j;
  if (h->n_want > 0)
    hl_walk(h);
}

static void hl_on_walked(uv_work_t *req, int status)
{
  struct hardlinks *h = container_of(req, struct hardlinks, work);
  bool current = h->walk_epoch == h->epoch;

  h->walking = false;
  if (h->dead) {
    hl_free(h);
    return;
  }
  if (current && status == 0 && h->walk_rc == 0) {
    hl_drop_index(h);
    if (hl_index(h) == 0)
      h->built = true;
    else
      hl_drop_index(h); /* out of memory: the next change retries */
  }
  tree_free(&h->tree);
  if (current)
    hl_answer(h);
  else if (h->n_want > 0)
    hl_walk(h);
}

/* Starts a walk for the wants; without one, they are dropped (a later
 * change asks again). */
static void hl_walk(struct hardlinks *h)
{
  size_t i;

  if (h->root == NULL)
    return;
  for (i = 0; i < h->n_want; i++)
    h->want[i].next = false; /* this walk starts after each was asked */
  free(h->walk_root);
  h->walk_root = strdup(h->root);
  h->walk_epoch = h->epoch;
  if (h->walk_root == NULL ||
      uv_queue_work(h->loop, &h->work, hl_on_walk, hl_on_walked) < 0) {
    h->n_want = 0;
    return;
  }
  h->walking = true;
}

int hardlinks_new(struct hardlinks **out, uv_loop_t *loop,
                  void (*report)(void *ctx, const char *rel), void *ctx)
{
  struct hardlinks *h = calloc(1, sizeof(*h));

  *out = h;
  if (h == NULL)
    return -ENOMEM;
  h->loop = loop;
  h->report = report;
  h->ctx = ctx;
  tree_init(&h->tree);
  return 0;
}

void hardlinks_destroy(struct hardlinks *h)
{
  if (h == NULL)
    return;
  if (!h->walking) {
    hl_free(h);
    return;
  }
  /* The walk's end frees h; if it has not started, it ends at once. */
  h->dead = true;
  (void)uv_cancel((uv_req_t *)&h->work); /* fails once it runs: fine */
}

int hardlinks_reset(struct hardlinks *h, const char *root)
{
  char *copy = strdup(root);

  if (copy == NULL)
    return -ENOMEM;
  free(h->root);
  h->root = copy;
  hl_drop_index(h);
  h->n_want = 0;
  h->epoch++;
  return 0;
}

static void hl_want(struct hardlinks *h, const struct hl_id *id)
{
  struct hl_want *v;
  size_t i;

  for (i = 0; i < h->n_want; i++)
    if (hl_id_cmp(&h->want[i].id, id) == 0 && h->want[i].next == h->walking)
      return;
  v = array_grow(h->want, h->n_want, &h->cap_want, sizeof(*v));
  if (v == NULL)
    return; /* out of memory: a later change asks again */
  h->want = v;
  v[h->n_want].id = *id;
  v[h->n_want++].next = h->walking;
  if (!h->walking)
    hl_walk(h);
}

void hardlinks_changed(struct hardlinks *h, const char *rel,
                       const struct stat *st)
{
  struct hl_id id = hl_id_of(st);

  if (!S_ISREG(st->st_mode) || st->st_nlink < 2 || h->root == NULL)
    return;
  if (hl_names_find(h, &id) < h->n_names) {
    hl_report_names(h, &id, rel);
    return;
  }
  /* The last walk found it under one name only: its other names lie
   * outside the tree (or were made since: hardlinks_named forgets it). */
  if (h->built && hl_seen_has(h, &id))
    return;
  hl_want(h, &id);
}

void hardlinks_named(struct hardlinks *h, const char *rel,
                     const struct stat *st)
{
  struct hl_id id = hl_id_of(st);
  struct hl_name *v;
  const struct hl_id *seen;
  size_t i;

  if (!S_ISREG(st->st_mode) || st->st_nlink < 2 || !h->built)
    return;
  i = hl_names_find(h, &id);
  if (i == h->n_names) {
    /* Known under one name: the walk must find the other one now. */
    seen = h->n_seen > 0
               ? bsearch(&id, h->seen, h->n_seen, sizeof(id), hl_seen_cmp)
               : NULL;
    if (seen != NULL) {
      i = (size_t)(seen - h->seen);
      memmove(&h->seen[i], &h->seen[i + 1],
              (h->n_seen - i - 1) * sizeof(*h->seen));
      h->n_seen--;
    }
    return;
  }
  for (; i < h->n_names && hl_id_cmp(&h->names[i].id, &id) == 0; i++)
    if (strcmp(h->names[i].rel, rel) == 0)
      return;
  v = array_grow(h->names, h->n_names, &h->cap_names, sizeof(*v));
  if (v == NULL)
    return; /* out of memory: this name is not reported for its twins */
  h->names = v;
  memmove(&v[i + 1], &v[i], (h->n_names - i) * sizeof(*v));
  v[i].id = id;
  v[i].rel = strdup(rel);
  if (v[i].rel == NULL) {
    memmove(&v[i], &v[i + 1], (h->n_names - i) * sizeof(*v));
    return;
  }
  h->n_names++;
}
