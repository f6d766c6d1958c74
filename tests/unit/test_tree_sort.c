/* SPDX-License-Identifier: MIT */
/* tree_sort: the order qsort(3) gives, in less room. */
#include <stdint.h>

#include "pathref.h"
#include "test.h"
#include "tree.h"

/* A tree of n entries with random paths from a few short names, some
 * equal (each entry's size is its place, to see which came first). */
static void random_tree(struct tree *t, size_t n, unsigned *seed)
{
  static const char *const parts[] = {"a", "b", "ab", "a.b", "z", "é", "a-"};
  char path[64];
  size_t i;
  int k;

  tree_init(t);
  t->v = calloc(n + 1, sizeof(*t->v));
  REQUIRE(t->v != NULL);
  t->cap = n + 1;
  for (i = 0; i < n; i++) {
    path[0] = '\0';
    for (k = 0; k < 1 + (int)(rand_r(seed) % 3); k++) {
      if (k > 0)
        (void)strcat(path, "/");
      (void)strcat(path, parts[rand_r(seed) % 7]);
    }
    REQUIRE((t->v[i].path = pathref_dup(path)) != NULL);
    t->v[i].size = i;
    t->n++;
  }
}

/* Stable by path, like a merge sort: what tree_sort promises. */
static int by_path_then_place(const void *a, const void *b)
{
  const struct tree_entry *x = a;
  const struct tree_entry *y = b;
  int c = strcmp(x->path, y->path);

  if (c != 0)
    return c;
  return x->size < y->size ? -1 : x->size > y->size;
}

static void test_sorts_as_qsort_does(void)
{
  unsigned seed = 7;
  struct tree t;
  struct tree want;
  size_t sizes[] = {0, 1, 2, 3, 7, 16, 17, 100, 1000, 4099};
  size_t s;
  size_t i;

  for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    random_tree(&t, sizes[s], &seed);
    want = t;
    want.v = malloc((t.n + 1) * sizeof(*t.v));
    REQUIRE(want.v != NULL);
    memcpy(want.v, t.v, t.n * sizeof(*t.v));
    qsort(want.v, want.n, sizeof(*want.v), by_path_then_place);
    tree_sort(&t);
    for (i = 0; i < t.n; i++)
      if (t.v[i].path != want.v[i].path || t.v[i].size != want.v[i].size)
        break;
    CHECK_EQ_INT(i, t.n);
    free(want.v);
    tree_free(&t);
  }
}

TEST_MAIN(TEST(test_sorts_as_qsort_does))
