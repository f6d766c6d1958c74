/* SPDX-License-Identifier: MIT */
#include "wdmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WDMAP_DELETED (-1)

void wdmap_init(struct wdmap *m)
{
  memset(m, 0, sizeof(*m));
}

static void wdmap_entry_clear(struct wdmap_entry *e)
{
  size_t i;

  for (i = 0; i < e->n_rels; i++)
    free(e->rels[i]);
  free(e->rels);
  e->rels = NULL;
  e->n_rels = 0;
  e->pins = 0;
  e->removing = false;
}

void wdmap_free(struct wdmap *m)
{
  size_t i;

  for (i = 0; i < m->cap; i++)
    if (m->v[i].wd > 0)
      wdmap_entry_clear(&m->v[i]);
  free(m->v);
  wdmap_init(m);
}

static size_t wdmap_slot(size_t cap, int wd)
{
  /* Fibonacci hashing spreads sequential wds over the table. */
  return (size_t)(((uint64_t)(unsigned)wd * 11400714819323198485ull) >> 32) &
         (cap - 1);
}

static struct wdmap_entry *wdmap_find(const struct wdmap *m, int wd,
                                      bool for_insert)
{
  struct wdmap_entry *tomb = NULL;
  size_t i;
  size_t n;

  if (m->cap == 0)
    return NULL;
  for (i = wdmap_slot(m->cap, wd), n = 0; n < m->cap;
       i = (i + 1) & (m->cap - 1), n++) {
    if (m->v[i].wd == wd)
      return &m->v[i];
    if (m->v[i].wd == WDMAP_DELETED && tomb == NULL)
      tomb = &m->v[i];
    if (m->v[i].wd == 0)
      return for_insert ? (tomb ? tomb : &m->v[i]) : NULL;
  }
  return for_insert ? tomb : NULL;
}

static int wdmap_grow(struct wdmap *m)
{
  struct wdmap old = *m;
  struct wdmap_entry *e;
  size_t cap = m->cap ? m->cap * 2 : 64;
  size_t i;

  /* Mostly deleted slots: rebuild at the same size instead of growing. */
  if (m->used * 2 < m->cap)
    cap = m->cap;

  if (cap > SIZE_MAX / sizeof(*m->v))
    return -ENOMEM;
  m->v = calloc(cap, sizeof(*m->v));
  if (m->v == NULL) {
    *m = old;
    return -ENOMEM;
  }
  m->cap = cap;
  m->used = 0;
  m->filled = 0;
  for (i = 0; i < old.cap; i++) {
    if (old.v[i].wd <= 0)
      continue;
    e = wdmap_find(m, old.v[i].wd, true);
    *e = old.v[i];
    m->used++;
    m->filled++;
  }
  free(old.v);
  return 0;
}

struct wdmap_entry *wdmap_get(const struct wdmap *m, int wd)
{
  return wd > 0 ? wdmap_find(m, wd, false) : NULL;
}

/* Finds wd's entry, making an empty one if there is none. */
static struct wdmap_entry *wdmap_entry(struct wdmap *m, int wd)
{
  struct wdmap_entry *e = wdmap_get(m, wd);

  if (e != NULL)
    return e;
  if ((m->filled + 1) * 4 > m->cap * 3 && wdmap_grow(m) < 0)
    return NULL;
  e = wdmap_find(m, wd, true);
  if (e->wd == 0)
    m->filled++;
  m->used++;
  memset(e, 0, sizeof(*e));
  e->wd = wd;
  return e;
}

struct wdmap_entry *wdmap_add(struct wdmap *m, int wd, const char *rel)
{
  struct wdmap_entry *e;
  char **v;
  size_t i;

  e = wdmap_entry(m, wd);
  if (e == NULL || rel == NULL)
    return e;
  for (i = 0; i < e->n_rels; i++)
    if (strcmp(e->rels[i], rel) == 0)
      return e;
  if (e->n_rels >= SIZE_MAX / sizeof(*v) - 1)
    return NULL;
  v = realloc(e->rels, (e->n_rels + 1) * sizeof(*v));
  if (v == NULL)
    return NULL;
  e->rels = v;
  v[e->n_rels] = strdup(rel);
  if (v[e->n_rels] == NULL)
    return NULL;
  e->n_rels++;
  return e;
}

void wdmap_del(struct wdmap *m, int wd)
{
  struct wdmap_entry *e = wdmap_get(m, wd);

  if (e == NULL)
    return;
  wdmap_entry_clear(e);
  e->wd = WDMAP_DELETED;
  m->used--;
}

bool wdmap_covers(const char *prefix, const char *path)
{
  size_t n = strlen(prefix);

  if (n == 0)
    return true;
  return strncmp(prefix, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

size_t wdmap_drop_under(struct wdmap_entry *e, const char *prefix)
{
  size_t i;
  size_t j;

  for (i = 0, j = 0; i < e->n_rels; i++) {
    if (wdmap_covers(prefix, e->rels[i]))
      free(e->rels[i]);
    else
      e->rels[j++] = e->rels[i];
  }
  e->n_rels = j;
  return j;
}
