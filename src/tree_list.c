/* SPDX-License-Identifier: MIT */
/* A tree as a list of entries (tree.h): made, copied, compared, freed.
 * The walk that fills one is tree.c's. */
#include "tree.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pathref.h"
#include "util.h"

void tree_init(struct tree *t)
{
  t->v = NULL;
  t->n = 0;
  t->cap = 0;
  t->scanned_at_ns = 0;
  t->n_dirs = 0;
  t->n_same = 0;
}

void tree_entry_free(struct tree_entry *e)
{
  if (e == NULL)
    return;
  pathref_drop(e->path);
  e->path = NULL;
}

void tree_free(struct tree *t)
{
  size_t i;

  if (t == NULL)
    return;
  for (i = 0; i < t->n; i++)
    tree_entry_free(&t->v[i]);
  free(t->v);
  tree_init(t);
}

int tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src)
{
  char *p;

  p = pathref_dup(src->path);
  if (p == NULL)
    return -ENOMEM;
  *dst = *src;
  dst->path = p;
  return 0;
}

void tree_entry_share(struct tree_entry *dst, const struct tree_entry *src)
{
  *dst = *src;
  dst->path = pathref_hold(src->path);
}

int tree_entry_cmp(const void *a, const void *b)
{
  const struct tree_entry *x = a;
  const struct tree_entry *y = b;

  return strcmp(x->path, y->path);
}

int64_t tree_ts_ns(const struct timespec *ts)
{
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int tree_append(struct tree *t, struct tree_entry *e)
{
  struct tree_entry *v;

  v = array_grow(t->v, t->n, &t->cap, sizeof(*t->v));
  if (v == NULL) {
    tree_entry_free(e);
    return -ENOMEM;
  }
  t->v = v;
  t->v[t->n++] = *e;
  return 0;
}

void tree_entry_set_stat(struct tree_entry *e, const struct stat *st)
{
  e->size = (uint64_t)st->st_size;
  e->mtime_ns = tree_ts_ns(&st->st_mtim);
  e->ctime_ns = tree_ts_ns(&st->st_ctim);
  e->ino = (uint64_t)st->st_ino;
  e->dev = (uint64_t)st->st_dev;
}

bool tree_entry_same_stat(const struct tree_entry *a,
                          const struct tree_entry *b)
{
  return a->size == b->size && a->mtime_ns == b->mtime_ns &&
         a->ctime_ns == b->ctime_ns && a->ino == b->ino;
}

int tree_add_held(struct tree *t, char *path, const struct stat *st)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = path;
  tree_entry_set_stat(&e, st);
  return tree_append(t, &e);
}

int tree_add(struct tree *t, const char *path, const struct stat *st)
{
  char *p = pathref_dup(path);

  return p != NULL ? tree_add_held(t, p, st) : -ENOMEM;
}

/* Entries moved at a time by tree_move_all: the two arrays hold the
 * same entries for no more than this many bytes. */
#define TREE_MOVE_SLICE_BYTES ((size_t)1 << 20)

/* Moves src's entries to the end of t (room made), a slice at a time
 * from src's end, shrinking src as it goes.  A shrink that fails leaves
 * src's array as it was, only larger than it needs. */
static void move_slices(struct tree *t, struct tree *src)
{
  size_t slice = TREE_MOVE_SLICE_BYTES / sizeof(*src->v);
  size_t n = src->n;
  struct tree_entry *v;
  size_t k;

  while (src->n > 0) {
    k = src->n < slice ? src->n : slice;
    src->n -= k;
    memcpy(t->v + t->n + src->n, src->v + src->n, k * sizeof(*src->v));
    if (src->n == 0)
      break;
    v = realloc(src->v, src->n * sizeof(*v));
    if (v != NULL)
      src->v = v;
  }
  t->n += n;
  free(src->v);
  src->v = NULL;
  src->cap = 0;
}

int tree_move_all(struct tree *t, struct tree *src)
{
  struct tree_entry *v;

  if (src->n > t->cap - t->n) {
    if (src->n > SIZE_MAX / sizeof(*v) - t->n)
      return -ENOMEM;
    v = realloc(t->v, (t->n + src->n) * sizeof(*v));
    if (v == NULL)
      return -ENOMEM;
    t->v = v;
    t->cap = t->n + src->n;
  }
  move_slices(t, src);
  return 0;
}
