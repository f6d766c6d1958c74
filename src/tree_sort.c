/* SPDX-License-Identifier: MIT */
/* A tree sorted by path in little room (tree.h, tree_sort).  qsort(3)
 * sorts entries of this size through an array of pointers and a merge
 * buffer of as many more, 16 bytes an entry beside the tree; this sorts
 * 32-bit indices in a merge buffer of its own, 8 bytes an entry, then
 * moves each entry once, a cycle at a time (issue 13: the sort's room
 * is part of a full rewrite's peak). */
#include "tree.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Runs this short are sorted by insertion: fewer passes over memory. */
#define SORT_RUN 16

static int cmp(const struct tree_entry *v, uint32_t a, uint32_t b)
{
  return strcmp(v[a].path, v[b].path);
}

static void insertion_sort(const struct tree_entry *v, uint32_t *a, size_t n)
{
  uint32_t x;
  size_t i;
  size_t j;

  for (i = 1; i < n; i++) {
    x = a[i];
    for (j = i; j > 0 && cmp(v, x, a[j - 1]) < 0; j--)
      a[j] = a[j - 1];
    a[j] = x;
  }
}

/* Merges the sorted a[0, h) and a[h, n) through tmp; of equal paths the
 * first run's comes first. */
static void merge(const struct tree_entry *v, uint32_t *a, uint32_t *tmp,
                  size_t h, size_t n)
{
  size_t i = 0;
  size_t j = h;
  size_t k = 0;

  while (i < h && j < n)
    tmp[k++] = cmp(v, a[j], a[i]) < 0 ? a[j++] : a[i++];
  while (i < h)
    tmp[k++] = a[i++];
  /* a[j, n) is in place already */
  memcpy(a, tmp, k * sizeof(*a));
}

/* Sorts a[0, n), indices into v, by path, with tmp[0, n) as room: top
 * down, so that the small merges run in the cache. */
static void sort_index(const struct tree_entry *v, uint32_t *a, uint32_t *tmp,
                       size_t n)
{
  size_t h = n / 2;

  if (n <= SORT_RUN) {
    insertion_sort(v, a, n);
    return;
  }
  sort_index(v, a, tmp, h);
  sort_index(v, a + h, tmp, n - h);
  if (cmp(v, a[h - 1], a[h]) > 0)
    merge(v, a, tmp, h, n);
}

/* Puts v in the order idx gives (v[k] becomes the old v[idx[k]]), a
 * cycle at a time, so each entry moves once; idx is spent. */
static void permute(struct tree_entry *v, uint32_t *idx, size_t n)
{
  struct tree_entry hold;
  size_t i;
  size_t j;
  size_t k;

  for (i = 0; i < n; i++) {
    if (idx[i] == i)
      continue;
    hold = v[i];
    for (j = i; idx[j] != i; j = k) {
      k = idx[j];
      v[j] = v[k];
      idx[j] = (uint32_t)j;
    }
    v[j] = hold;
    idx[j] = (uint32_t)j;
  }
}

void tree_sort(struct tree *t)
{
  uint32_t *idx = NULL;
  size_t i;

  if (t->n < 2)
    return;
  if (t->n <= UINT32_MAX && t->n <= SIZE_MAX / (2 * sizeof(*idx)))
    idx = malloc(2 * t->n * sizeof(*idx));
  if (idx == NULL) { /* qsort needs no room it cannot do without */
    qsort(t->v, t->n, sizeof(*t->v), tree_entry_cmp);
    return;
  }
  for (i = 0; i < t->n; i++)
    idx[i] = (uint32_t)i;
  sort_index(t->v, idx, idx + t->n, t->n);
  permute(t->v, idx, t->n);
  free(idx);
}
