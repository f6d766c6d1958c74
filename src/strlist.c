/* SPDX-License-Identifier: MIT */
#include "strlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void strlist_init(struct strlist *l)
{
  l->v = NULL;
  l->n = 0;
  l->cap = 0;
}

void strlist_free(struct strlist *l)
{
  size_t i;

  if (l == NULL)
    return;
  for (i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  strlist_init(l);
}

int strlist_push_take(struct strlist *l, char *s)
{
  char **v;

  if (s == NULL)
    return -ENOMEM;
  v = array_grow(l->v, l->n, &l->cap, sizeof(*v));
  if (v == NULL) {
    free(s);
    return -ENOMEM;
  }
  l->v = v;
  l->v[l->n++] = s;
  return 0;
}

int strlist_move_all(struct strlist *dst, struct strlist *src)
{
  char **v;

  if (dst->n == 0 || src->n == 0) { /* one array can stay as it is */
    if (dst->n == 0) {
      free(dst->v);
      *dst = *src;
    } else {
      free(src->v);
    }
    strlist_init(src);
    return 0;
  }
  if (src->n > dst->cap - dst->n) {
    if (src->n > SIZE_MAX / sizeof(*v) - dst->n)
      return -ENOMEM;
    v = realloc(dst->v, (dst->n + src->n) * sizeof(*v));
    if (v == NULL)
      return -ENOMEM;
    dst->v = v;
    dst->cap = dst->n + src->n;
  }
  memcpy(dst->v + dst->n, src->v, src->n * sizeof(*v));
  dst->n += src->n;
  free(src->v);
  strlist_init(src);
  return 0;
}

int strlist_push(struct strlist *l, const char *s)
{
  return strlist_push_take(l, strdup(s));
}

int strlist_pushn(struct strlist *l, const char *s, size_t len)
{
  return strlist_push_take(l, strndup(s, len));
}

static int strlist_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort_unique(struct strlist *l)
{
  size_t i;
  size_t j;

  if (l->n < 2)
    return;
  qsort(l->v, l->n, sizeof(*l->v), strlist_cmp);
  for (i = 1, j = 1; i < l->n; i++) {
    if (strcmp(l->v[i], l->v[j - 1]) == 0)
      free(l->v[i]);
    else
      l->v[j++] = l->v[i];
  }
  l->n = j;
}

int strlist_contains(const struct strlist *l, const char *s)
{
  size_t i;

  for (i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0)
      return 1;
  return 0;
}
