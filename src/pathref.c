/* SPDX-License-Identifier: MIT */
#include "pathref.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The count sits just before the string: a header of 4 bytes, which
 * rarely moves a path into a larger malloc size class, where a separate
 * count would cost a pointer. */
struct pathref {
  atomic_uint_least32_t holds;
  char s[];
};

static struct pathref *pathref_of(char *p)
{
  return (struct pathref *)(void *)(p - offsetof(struct pathref, s));
}

char *pathref_new(const char *s, size_t len)
{
  struct pathref *r;

  if (len > SIZE_MAX - sizeof(*r) - 1)
    return NULL;
  r = malloc(sizeof(*r) + len + 1);
  if (r == NULL)
    return NULL;
  atomic_init(&r->holds, 1);
  memcpy(r->s, s, len);
  r->s[len] = '\0';
  return r->s;
}

char *pathref_dup(const char *s)
{
  return pathref_new(s, strlen(s));
}

char *pathref_hold(char *p)
{
  if (p != NULL)
    /* A new hold needs no ordering: the holder already sees the bytes. */
    atomic_fetch_add_explicit(&pathref_of(p)->holds, 1, memory_order_relaxed);
  return p;
}

void pathref_drop(char *p)
{
  struct pathref *r;

  if (p == NULL)
    return;
  r = pathref_of(p);
  /* Release so that every holder's reads come before the free, and
   * acquire on the last so the free comes after them. */
  if (atomic_fetch_sub_explicit(&r->holds, 1, memory_order_acq_rel) == 1)
    free(r);
}
