/* SPDX-License-Identifier: MIT */
/* The planner with cache tags (planner.h, tag_origin): one '#tag' item
 * for a changed or deleted file whose entry is TREE_TAGGED, its URL
 * paths for every other. */
#include "planner.h"

#include "cachetag.h"
#include "cfpath.h"
#include "manifest.h"
#include "strlist.h"
#include "test.h"
#include "urlmap.h"

struct fx {
  struct manifest *m;
  struct change v[8];
  size_t n;
  struct urlmap *map;
  struct urlmap_opts uo;
  struct s3url origin;
  struct planner_opts o;
  struct planner_plan p;
};

static void fx_init(struct fx *f)
{
  memset(f, 0, sizeof(*f));
  REQUIRE(manifest_new(&f->m) == 0);
  planner_opts_init(&f->o);
  planner_plan_init(&f->p);
  (void)snprintf(f->origin.bucket, sizeof(f->origin.bucket), "www");
  (void)snprintf(f->origin.prefix, sizeof(f->origin.prefix), "site");
}

static void fx_free(struct fx *f)
{
  planner_plan_free(&f->p);
  manifest_destroy(f->m);
  urlmap_destroy(f->map);
}

/* A change of path; all but ADDED are in the manifest, with flags. */
static void fx_change(struct fx *f, enum change_kind kind, const char *path,
                      uint32_t flags)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* copied by manifest_put; borrowed below */
  e.flags = TREE_HASHED | flags;
  if (kind != CHANGE_ADDED)
    REQUIRE(manifest_put(f->m, &e) == 0);
  REQUIRE(f->n < 8);
  f->v[f->n].entry = e;
  change_set_kind(&f->v[f->n], kind);
  f->v[f->n].entry.flags = TREE_HASHED;
  f->n++;
}

static void fx_plan(struct fx *f, bool tags)
{
  struct planner_input in;
  struct cfw_err err = {0};

  REQUIRE(urlmap_new(&f->map, &f->uo, &err) == 0);
  memset(&in, 0, sizeof(in));
  in.manifest = f->m;
  in.changes = f->v;
  in.n_changes = f->n;
  in.urlmap = f->map;
  in.tag_origin = tags ? &f->origin : NULL;
  CHECK_EQ_INT(planner_plan(&f->p, &in, &f->o, &err), 0);
  REQUIRE(f->p.n == 1);
}

static const struct strlist *fx_paths(const struct fx *f)
{
  return &f->p.v[0].b.paths;
}

static void tag_of(const char *key, char *out)
{
  out[0] = '#';
  cachetag_of_key(key, out + 1);
}

static void test_tagged_modified_file_goes_as_one_tag(void)
{
  char item[CACHETAG_ITEM_SIZE];
  struct cfw_err err = {0};
  struct fx f;

  fx_init(&f);
  f.uo.dir_without_slash = true;
  fx_change(&f, CHANGE_MODIFIED, "x/index.html", TREE_TAGGED);
  fx_plan(&f, true);
  tag_of("site/x/index.html", item);
  REQUIRE(fx_paths(&f)->n == 1);
  CHECK_EQ_STR(fx_paths(&f)->v[0], item);
  CHECK_EQ_INT(cfpath_check(item, &err), 0);
  CHECK_EQ_INT(f.p.n_by_tag, 1);
  CHECK_EQ_INT(f.p.n_by_path, 0);
  /* /x/index.html, /x/ and /x: three paths, one item. */
  CHECK_EQ_INT(f.p.tag_saved, 2);
  CHECK_EQ_INT(f.p.n_paths, 1);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK_EQ_INT(f.p.v[0].b.n_wildcards, 0);
  fx_free(&f);
}

static void test_untagged_entry_goes_by_path(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, "a.html", 0);
  fx_plan(&f, true);
  REQUIRE(fx_paths(&f)->n == 1);
  CHECK_EQ_STR(fx_paths(&f)->v[0], "/a.html");
  CHECK_EQ_INT(f.p.n_by_tag, 0);
  CHECK_EQ_INT(f.p.n_by_path, 1);
  fx_free(&f);
}

static void test_stale_tagged_entry_goes_by_path(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, "a.html", TREE_TAGGED | TREE_STALE);
  fx_plan(&f, true);
  REQUIRE(fx_paths(&f)->n == 1);
  CHECK_EQ_STR(fx_paths(&f)->v[0], "/a.html");
  fx_free(&f);
}

static void test_added_file_goes_by_path(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_ADDED, "new.html", 0);
  fx_plan(&f, true);
  REQUIRE(fx_paths(&f)->n == 1);
  CHECK_EQ_STR(fx_paths(&f)->v[0], "/new.html");
  fx_free(&f);
}

static void test_deleted_tagged_file_goes_as_its_tag(void)
{
  char item[CACHETAG_ITEM_SIZE];
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_DELETED, "old.css", TREE_TAGGED);
  fx_plan(&f, true);
  tag_of("site/old.css", item);
  REQUIRE(fx_paths(&f)->n == 1);
  CHECK_EQ_STR(fx_paths(&f)->v[0], item);
  fx_free(&f);
}

static void test_without_tag_origin_everything_goes_by_path(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, "a.html", TREE_TAGGED);
  fx_plan(&f, false);
  REQUIRE(fx_paths(&f)->n == 1);
  CHECK_EQ_STR(fx_paths(&f)->v[0], "/a.html");
  CHECK_EQ_INT(f.p.n_by_tag, 0);
  fx_free(&f);
}

/* With query strings each URL is a wildcard; a tag is none. */
static void test_tag_replaces_query_string_wildcards(void)
{
  struct fx f;

  fx_init(&f);
  f.uo.query_strings = true;
  fx_change(&f, CHANGE_MODIFIED, "a/index.html", TREE_TAGGED);
  fx_change(&f, CHANGE_MODIFIED, "b.css", 0);
  fx_plan(&f, true);
  CHECK_EQ_INT(f.p.n_by_tag, 1);
  CHECK_EQ_INT(f.p.n_by_path, 1);
  CHECK_EQ_INT(f.p.n_wildcards, 1); /* "/b.css*" only */
  CHECK_EQ_INT(f.p.n_paths, 2);
  /* The wildcard "/a/" star covers /a/, /a/index.html and their queries: the
   * tag saves no path, but one of the 15 wildcards in progress. */
  CHECK_EQ_INT(f.p.tag_saved, 0);
  fx_free(&f);
}

/* A tagged file whose object key is too long for S3 fails the plan:
 * going on would leave the changes after it in a batch without their
 * paths, and the manifest would take them as invalidated. */
static void test_tag_key_too_long_fails_the_plan(void)
{
  char path[1200];
  struct planner_input in;
  struct cfw_err err = {0};
  struct fx f;

  memset(path, 'k', sizeof(path) - 1);
  path[sizeof(path) - 1] = '\0';
  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, path, TREE_TAGGED);
  fx_change(&f, CHANGE_MODIFIED, "b.html", 0);
  REQUIRE(urlmap_new(&f.map, &f.uo, &err) == 0);
  memset(&in, 0, sizeof(in));
  in.manifest = f.m;
  in.changes = f.v;
  in.n_changes = f.n;
  in.urlmap = f.map;
  in.tag_origin = &f.origin;
  CHECK_EQ_INT(planner_plan(&f.p, &in, &f.o, &err), -ENAMETOOLONG);
  CHECK_EQ_INT(err.code, -ENAMETOOLONG);
  CHECK_CONTAINS(err.msg, "kkkk");
  CHECK_EQ_INT(f.p.n, 0);
  CHECK_EQ_INT(f.p.n_no_send, 0);
  fx_free(&f);
}

TEST_MAIN(TEST(test_tagged_modified_file_goes_as_one_tag),
          TEST(test_tag_key_too_long_fails_the_plan),
          TEST(test_untagged_entry_goes_by_path),
          TEST(test_stale_tagged_entry_goes_by_path),
          TEST(test_added_file_goes_by_path),
          TEST(test_deleted_tagged_file_goes_as_its_tag),
          TEST(test_without_tag_origin_everything_goes_by_path),
          TEST(test_tag_replaces_query_string_wildcards))
