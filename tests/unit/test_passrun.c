/* SPDX-License-Identifier: MIT */
/* What a run of bounded passes knows of its earlier passes (passrun.h):
 * the files they sent, found again in a manifest that moved since. */
#include "passrun.h"

#include "pathref.h"
#include "test.h"

/* A manifest of "f00" ... "f<n-1>", every other one from skip_from on
 * left out: a commit in between inserts and removes entries. */
static struct manifest *make_manifest(size_t n, size_t skip_from)
{
  struct tree_entry *v = calloc(n, sizeof(*v));
  struct manifest *m;
  char name[32];
  size_t k = 0;
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < n; i++) {
    if (i >= skip_from && i % 2 == 1)
      continue;
    (void)snprintf(name, sizeof(name), "f%02zu", i);
    REQUIRE((v[k].path = pathref_dup(name)) != NULL);
    v[k++].flags = TREE_HASHED;
  }
  REQUIRE(manifest_adopt(&m, v, k) == 0);
  return m;
}

static struct change change_of(enum change_kind kind, const char *path)
{
  struct tree_entry e = {0};

  e.path = pathref_dup(path);
  REQUIRE(e.path != NULL);
  return change_make(kind, e);
}

/* Only what a batch invalidates and the manifest keeps is held: a
 * TOUCHED file was not sent, a DELETED one is gone. */
static void test_holds_the_sent_files_the_manifest_keeps(void)
{
  struct change v[4];
  struct passrun r;
  size_t i;

  v[0] = change_of(CHANGE_ADDED, "f01");
  v[1] = change_of(CHANGE_MODIFIED, "f02");
  v[2] = change_of(CHANGE_TOUCHED, "f03");
  v[3] = change_of(CHANGE_DELETED, "f04");
  passrun_init(&r);
  REQUIRE(passrun_add(&r, v, 4) == 0);
  CHECK_EQ_INT(r.n, 2);
  CHECK_EQ_STR(r.v[0], "f01");
  CHECK_EQ_STR(r.v[1], "f02");
  for (i = 0; i < 4; i++)
    tree_entry_free(&v[i].entry); /* the run holds its own */
  CHECK_EQ_STR(r.v[1], "f02");
  passrun_clear(&r);
  CHECK_EQ_INT(r.n, 0);
  passrun_clear(&r); /* empty: nothing to drop */
}

/* The set is built against the manifest that asks, by path: entries
 * moved by a commit in between are found where they are now, a path
 * the manifest lost is skipped, and so is one in skip. */
static void test_marks_by_path_in_a_moved_manifest(void)
{
  struct manifest *m = make_manifest(20, 6);
  struct seenset *skip;
  struct seenset *set;
  struct change v[4];
  struct passrun r;
  size_t i;

  v[0] = change_of(CHANGE_MODIFIED, "f02");
  v[1] = change_of(CHANGE_MODIFIED, "f07"); /* not in m: skipped */
  v[2] = change_of(CHANGE_ADDED, "f10");
  v[3] = change_of(CHANGE_MODIFIED, "f12");
  passrun_init(&r);
  REQUIRE(passrun_add(&r, v, 4) == 0);
  for (i = 0; i < 4; i++)
    tree_entry_free(&v[i].entry);
  REQUIRE(seenset_new(&skip, m) == 0);
  seenset_mark(skip, manifest_find(m, "f12")); /* rewritten since */
  REQUIRE(passrun_mark(&r, m, skip, &set) == 0);
  REQUIRE(set != NULL);
  CHECK_EQ_INT(seenset_count(set, 0, manifest_count(m)), 2);
  CHECK(seenset_has(set, manifest_find(m, "f02")));
  CHECK(seenset_has(set, manifest_find(m, "f10")));
  CHECK(!seenset_has(set, manifest_find(m, "f12")));
  seenset_destroy(set);
  REQUIRE(passrun_mark(&r, m, NULL, &set) == 0);
  CHECK_EQ_INT(seenset_count(set, 0, manifest_count(m)), 3);
  seenset_destroy(set);
  seenset_destroy(skip);
  passrun_clear(&r);
  REQUIRE(passrun_mark(&r, m, NULL, &set) == 0);
  CHECK(set == NULL); /* no run: nothing to mark */
  manifest_destroy(m);
}

TEST_MAIN(TEST(test_holds_the_sent_files_the_manifest_keeps),
          TEST(test_marks_by_path_in_a_moved_manifest))
