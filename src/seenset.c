/* SPDX-License-Identifier: MIT */
#include "seenset.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct seenset {
  const struct tree_entry *base; /* m's first entry; borrowed */
  size_t n;
  /* A bit an entry; set with an atomic OR, as the walk's threads share
   * bytes. */
  _Atomic unsigned char *bits;
};

int seenset_new(struct seenset **out, const struct manifest *m)
{
  struct seenset *s;
  size_t n = manifest_count(m);

  *out = NULL;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->bits = calloc(n / 8 + 1, sizeof(*s->bits));
  if (s->bits == NULL) {
    free(s);
    return -ENOMEM;
  }
  s->base = manifest_at(m, 0);
  s->n = n;
  *out = s;
  return 0;
}

/* e's place in m, or SIZE_MAX if e is not one of its entries.  By
 * address, compared as integers: e may be any entry at all. */
static size_t seenset_index(const struct seenset *s, const struct tree_entry *e)
{
  uintptr_t at = (uintptr_t)e;
  uintptr_t base = (uintptr_t)s->base;
  size_t i;

  if (s->base == NULL || at < base)
    return SIZE_MAX;
  i = (at - base) / sizeof(*e);
  return i < s->n && (at - base) % sizeof(*e) == 0 ? i : SIZE_MAX;
}

void seenset_mark(struct seenset *s, const struct tree_entry *e)
{
  size_t i = seenset_index(s, e);

  if (i != SIZE_MAX)
    atomic_fetch_or_explicit(&s->bits[i / 8], (unsigned char)(1u << (i % 8)),
                             memory_order_relaxed);
}

bool seenset_has(const struct seenset *s, const struct tree_entry *e)
{
  size_t i = seenset_index(s, e);

  return i != SIZE_MAX &&
         (atomic_load_explicit(&s->bits[i / 8], memory_order_relaxed) &
          (1u << (i % 8))) != 0;
}

size_t seenset_count(const struct seenset *s, size_t first, size_t n)
{
  size_t end = first + n < s->n && first + n >= first ? first + n : s->n;
  size_t count = 0;
  size_t i;

  for (i = first; i < end; i++)
    if (atomic_load_explicit(&s->bits[i / 8], memory_order_relaxed) &
        (1u << (i % 8)))
      count++;
  return count;
}

void seenset_destroy(struct seenset *s)
{
  if (s == NULL)
    return;
  free(s->bits);
  free(s);
}
