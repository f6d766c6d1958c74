/* SPDX-License-Identifier: MIT */
/* The walk's marks of unchanged manifest entries (seenset.h): set from
 * several threads at once, each entry known by its place. */
#include "seenset.h"

#include <uv.h>

#include "pathref.h"
#include "test.h"

#define ENTRIES 1000
#define THREADS 4

/* A manifest of ENTRIES files, f0000 ... */
static struct manifest *make_manifest(void)
{
  struct tree_entry *v = calloc(ENTRIES, sizeof(*v));
  struct manifest *m;
  char name[32];
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < ENTRIES; i++) {
    (void)snprintf(name, sizeof(name), "f%04zu", i);
    REQUIRE((v[i].path = pathref_dup(name)) != NULL);
    v[i].flags = TREE_HASHED;
  }
  REQUIRE(manifest_adopt(&m, v, ENTRIES) == 0);
  return m;
}

struct marker {
  struct seenset *s;
  const struct manifest *m;
  size_t first; /* marks every THREADS-th multiple of 3 from here */
};

static void mark_some(void *arg)
{
  struct marker *k = arg;
  size_t i;

  for (i = k->first * 3; i < ENTRIES; i += 3 * THREADS)
    seenset_mark(k->s, manifest_at(k->m, i));
}

/* Threads marking neighbouring bits of the same bytes lose none. */
static void test_marks_from_threads_at_once(void)
{
  struct manifest *m = make_manifest();
  struct marker k[THREADS];
  uv_thread_t t[THREADS];
  struct seenset *s;
  size_t i;

  REQUIRE(seenset_new(&s, m) == 0);
  for (i = 0; i < THREADS; i++) {
    k[i] = (struct marker){s, m, i};
    REQUIRE(uv_thread_create(&t[i], mark_some, &k[i]) == 0);
  }
  for (i = 0; i < THREADS; i++)
    REQUIRE(uv_thread_join(&t[i]) == 0);
  for (i = 0; i < ENTRIES; i++)
    if (seenset_has(s, manifest_at(m, i)) != (i % 3 == 0))
      CHECK(!"marked as asked");
  seenset_destroy(s);
  manifest_destroy(m);
}

/* An entry that is not the manifest's is never marked: a copy of one, or
 * a pointer into the middle of one. */
static void test_foreign_entries_are_not_marked(void)
{
  struct manifest *m = make_manifest();
  struct tree_entry copy = *manifest_at(m, 5);
  const char *mid = (const char *)manifest_at(m, 5) + 1;
  struct seenset *s;

  REQUIRE(seenset_new(&s, m) == 0);
  seenset_mark(s, &copy);
  seenset_mark(s, (const struct tree_entry *)(const void *)mid);
  CHECK(!seenset_has(s, manifest_at(m, 5)));
  CHECK(!seenset_has(s, manifest_at(m, 6)));
  CHECK(!seenset_has(s, &copy));
  seenset_mark(s, manifest_at(m, ENTRIES - 1));
  CHECK(seenset_has(s, manifest_at(m, ENTRIES - 1)));
  seenset_destroy(s);
  manifest_destroy(m);
}

static void test_empty_manifest(void)
{
  struct tree_entry e = {0};
  struct manifest *m;
  struct seenset *s;

  REQUIRE(manifest_new(&m) == 0);
  REQUIRE(seenset_new(&s, m) == 0);
  seenset_mark(s, &e);
  CHECK(!seenset_has(s, &e));
  seenset_destroy(s);
  seenset_destroy(NULL);
  manifest_destroy(m);
}

TEST_MAIN(TEST(test_marks_from_threads_at_once),
          TEST(test_foreign_entries_are_not_marked), TEST(test_empty_manifest))
