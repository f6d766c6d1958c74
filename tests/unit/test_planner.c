/* SPDX-License-Identifier: MIT */
#include "planner.h"

#include "buf.h"
#include "cflimits.h"
#include "manifest.h"
#include "pathref.h"
#include "strlist.h"
#include "test.h"
#include "urlmap.h"

#include <math.h> /* NAN only */
#include <stdbool.h>

static double dabs(double x)
{
  return x < 0 ? -x : x;
}

/* A site for one plan: the manifest as CloudFront knows it, the changes
 * found against it, and the planner's input and options. */
struct fx {
  struct manifest *m;
  struct change *v; /* owned, with each path */
  size_t n;
  size_t cap;
  struct urlmap *map;
  struct urlmap_opts uo;
  struct planner_opts o;
  struct planner_inflight inflight;
  uint64_t month_paths;
  size_t copies;            /* distributions */
  struct seenset *deferred; /* owned; NULL: none (fx_defer) */
  struct seenset *fresh;    /* owned; NULL: none (fx_sent) */
  struct planner_plan p;
};

static void fx_init(struct fx *f)
{
  memset(f, 0, sizeof(*f));
  if (manifest_new(&f->m) < 0)
    exit(2);
  planner_opts_init(&f->o);
  planner_plan_init(&f->p);
}

static void fx_free(struct fx *f)
{
  planner_plan_free(&f->p);
  seenset_destroy(f->deferred);
  seenset_destroy(f->fresh);
  changes_free(f->v, f->n);
  manifest_destroy(f->m);
  urlmap_destroy(f->map);
}

/* An unchanged file: in the manifest, not among the changes. */
static void fx_file(struct fx *f, const char *path)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* manifest_put copies it */
  e.flags = TREE_HASHED;
  if (manifest_put(f->m, &e) < 0) {
    TEST_FAIL_("manifest_put(%s)", path);
    exit(1);
  }
}

/* A change; all but ADDED are in the manifest too. */
static void fx_change(struct fx *f, enum change_kind kind, const char *path)
{
  struct change *v;

  if (kind != CHANGE_ADDED)
    fx_file(f, path);
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    v = realloc(f->v, f->cap * sizeof(*v));
    if (v == NULL)
      exit(2);
    f->v = v;
  }
  memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
  change_set_kind(&f->v[f->n], kind);
  f->v[f->n].entry.path = pathref_dup(path);
  f->v[f->n].entry.flags = TREE_HASHED;
  f->n++;
}

static void fx_input(struct fx *f, struct planner_input *in)
{
  struct cfw_err err = {0};

  if (f->map == NULL && urlmap_new(&f->map, &f->uo, &err) < 0) {
    TEST_FAIL_("urlmap_new: %s", err.msg);
    exit(1);
  }
  memset(in, 0, sizeof(*in));
  in->manifest = f->m;
  in->changes = f->v;
  in->n_changes = f->n;
  in->urlmap = f->map;
  in->inflight = f->inflight;
  in->month_paths = f->month_paths;
  in->copies = f->copies;
  in->deferred = f->deferred;
  in->fresh = f->fresh;
}

static int fx_try(struct fx *f, struct cfw_err *err)
{
  struct planner_input in;

  fx_input(f, &in);
  return planner_plan(&f->p, &in, &f->o, err);
}

static void fx_plan(struct fx *f)
{
  struct cfw_err err = {0};
  int rc = fx_try(f, &err);

  if (rc < 0)
    TEST_FAIL_("planner_plan: %d: %s", rc, err.msg);
}

/* Batch i's paths joined by spaces (a path never holds a raw space). */
static char *fx_paths(const struct fx *f, size_t i)
{
  const struct strlist *l = &f->p.v[i].b.paths;
  struct buf b;
  size_t k;

  buf_init(&b, 1 << 24);
  for (k = 0; k < l->n; k++)
    if (buf_addf(&b, "%s%s", k ? " " : "", l->v[k]) < 0)
      exit(2);
  return buf_take(&b);
}

static void check_batch(const struct fx *f, size_t i, const char *want)
{
  char *got;

  if (f->p.n <= i) {
    TEST_FAIL_("no batch %zu (%zu batches)", i, f->p.n);
    return;
  }
  got = fx_paths(f, i);
  CHECK_EQ_STR(got, want);
  free(got);
}

/* Adds n pages "dir/pNNNN.html" of the given kind. */
static void fx_pages(struct fx *f, enum change_kind kind, const char *dir,
                     size_t from, size_t n)
{
  char path[256];
  size_t i;

  for (i = from; i < from + n; i++) {
    (void)snprintf(path, sizeof(path), "%s/p%05zu.html", dir, i);
    if (kind == CHANGE_TOUCHED) /* stands for "unchanged" here */
      fx_file(f, path);
    else
      fx_change(f, kind, path);
  }
}

static void test_single_file_yields_its_url(void)
{
  struct fx f;

  fx_init(&f);
  fx_file(&f, "a/other.html");
  fx_change(&f, CHANGE_MODIFIED, "a/b.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 1);
  check_batch(&f, 0, "/a/b.html");
  CHECK(f.p.v[0].ready);
  CHECK_EQ_INT(f.p.v[0].n_changes, 1);
  CHECK_EQ_INT(f.p.v[0].changes[0], 0);
  CHECK_EQ_INT(f.p.v[0].b.n_files, 1);
  CHECK_EQ_INT(f.p.v[0].b.n_wildcards, 0);
  CHECK(f.p.cost_usd == 0.0);
  CHECK(!f.p.over_budget);
  fx_free(&f);
}

static void test_index_keeps_dir_and_file_urls(void)
{
  struct fx f;

  fx_init(&f);
  fx_file(&f, "a/x.html");
  fx_change(&f, CHANGE_MODIFIED, "a/index.html");
  fx_plan(&f);
  check_batch(&f, 0, "/a/ /a/index.html");
  fx_free(&f);
}

static void test_touched_change_is_not_sent(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_TOUCHED, "a.html");
  fx_change(&f, CHANGE_ADDED, "b.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 1);
  check_batch(&f, 0, "/b.html");
  CHECK_EQ_INT(f.p.n_no_send, 1);
  CHECK_EQ_INT(f.p.no_send[0], 0);
  CHECK_EQ_INT(f.p.v[0].changes[0], 1);
  fx_free(&f);
}

static void test_deleted_file_is_invalidated(void)
{
  struct fx f;

  fx_init(&f);
  fx_file(&f, "keep.html");
  fx_change(&f, CHANGE_DELETED, "gone.html");
  fx_plan(&f);
  check_batch(&f, 0, "/gone.html");
  fx_free(&f);
}

static void test_no_changes_no_batches(void)
{
  struct fx f;

  fx_init(&f);
  fx_file(&f, "a.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 0);
  CHECK_EQ_INT(f.p.n_paths, 0);
  fx_free(&f);
}

static void test_dir_over_threshold_becomes_wildcard(void)
{
  struct fx f;
  size_t i;

  fx_init(&f);
  fx_file(&f, "about.html");
  f.o.wildcard_threshold = 10;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 11);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 1);
  check_batch(&f, 0, "/blog/*");
  CHECK_EQ_INT(f.p.v[0].n_changes, 11);
  for (i = 0; i < f.p.v[0].n_changes; i++)
    CHECK_EQ_INT(f.p.v[0].changes[i], i);
  CHECK_EQ_INT(f.p.v[0].b.n_wildcards, 1);
  CHECK_EQ_INT(f.p.n_evicted, 0);
  fx_free(&f);
}

static void test_threshold_not_reached_keeps_exact_paths(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 11;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 11);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK_EQ_INT(f.p.n_paths, 11);
  fx_free(&f);
}

static void test_wildcard_on_deepest_common_prefix(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 5;
  fx_file(&f, "a/x.html");
  fx_file(&f, "a/b/y.html");
  fx_pages(&f, CHANGE_MODIFIED, "a/b/c", 0, 4);
  fx_pages(&f, CHANGE_ADDED, "a/b/c/d", 0, 4);
  fx_plan(&f);
  check_batch(&f, 0, "/a/b/c/*");
  fx_free(&f);
}

static void test_wildcard_refused_when_it_evicts_too_much(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 10;
  f.o.max_evict_ratio = 0.5;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 20);
  fx_pages(&f, CHANGE_TOUCHED, "blog", 20, 21); /* 21 unchanged of 41 */
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK_EQ_INT(f.p.n_paths, 20);
  fx_free(&f);
}

static void test_wildcard_taken_at_the_evict_ratio(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 10;
  f.o.max_evict_ratio = 0.5;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 20);
  fx_pages(&f, CHANGE_TOUCHED, "blog", 20, 20); /* 20 unchanged of 40 */
  fx_plan(&f);
  check_batch(&f, 0, "/blog/*");
  CHECK_EQ_INT(f.p.n_evicted, 20);
  CHECK(!f.p.evict_forced);
  fx_free(&f);
}

/* Marks the manifest's files "dir/pNNNN.html", from..from + n - 1, in
 * *set (made on first use); after every fx_file, since the set knows an
 * entry by its place. */
static void fx_mark(struct fx *f, struct seenset **set, const char *dir,
                    size_t from, size_t n)
{
  char path[256];
  size_t i;

  if (*set == NULL && seenset_new(set, f->m) < 0)
    exit(2);
  for (i = from; i < from + n; i++) {
    (void)snprintf(path, sizeof(path), "%s/p%05zu.html", dir, i);
    seenset_mark(*set, manifest_find(f->m, path));
  }
}

/* Those files, left for a later pass. */
static void fx_defer(struct fx *f, const char *dir, size_t from, size_t n)
{
  fx_mark(f, &f->deferred, dir, from, n);
}

/* Issue 13: a bounded pass that left files for later does not count
 * them as unchanged files a wildcard would evict when every file it
 * hashed had changed: a whole-site rewrite sent in bounded passes still
 * collapses. */
static void test_files_left_for_later_are_not_taken_as_unchanged(void)
{
  struct fx f;
  int pass;

  for (pass = 0; pass < 2; pass++) {
    fx_init(&f);
    f.o.wildcard_threshold = 10;
    f.o.max_evict_ratio = 0;
    fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 20);
    fx_pages(&f, CHANGE_TOUCHED, "blog", 20, 20); /* in the manifest */
    if (pass == 1)
      fx_defer(&f, "blog", 20, 20);
    fx_plan(&f);
    if (pass == 0)
      CHECK_EQ_INT(f.p.n_wildcards, 0);
    else
      check_batch(&f, 0, "/blog/*");
    CHECK_EQ_INT(f.p.n_evicted, 0);
    fx_free(&f);
  }
}

/* Those files, sent by an earlier pass of the run (passrun.h). */
static void fx_sent(struct fx *f, const char *dir, size_t from, size_t n)
{
  fx_mark(f, &f->fresh, dir, from, n);
}

/* Issue 13: the files an earlier pass of a run of bounded passes sent
 * were invalidated moments ago, so a later pass's wildcard does not
 * count them as evicted: each pass of a rewrite of every file collapses
 * as the first did (4 paths, not 481, for 100,000 files in four
 * passes).  Files it did not send still count. */
static void test_files_an_earlier_pass_sent_are_not_evicted(void)
{
  struct fx f;
  int pass;

  for (pass = 0; pass < 3; pass++) {
    fx_init(&f);
    f.o.wildcard_threshold = 10;
    f.o.max_evict_ratio = 0;
    fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 20);
    fx_pages(&f, CHANGE_TOUCHED, "blog", 20, 20); /* in the manifest */
    if (pass == 1)
      fx_sent(&f, "blog", 20, 20);
    if (pass == 2) { /* half of them sent, half left for later */
      fx_sent(&f, "blog", 20, 10);
      fx_defer(&f, "blog", 30, 10);
    }
    fx_plan(&f);
    if (pass == 0) {
      CHECK_EQ_INT(f.p.n_wildcards, 0);
      CHECK_EQ_INT(f.p.n_paths, 20);
    } else {
      check_batch(&f, 0, "/blog/*");
      CHECK_EQ_INT(f.p.n_evicted, 0);
    }
    fx_free(&f);
  }
}

/* ... but only in the share the pass found changed among what it hashed:
 * a build that rewrote every file, most with the same bytes, does not
 * make the deferred files look changed.  Here half the hashed files
 * changed, so 20 of the 40 deferred count as unchanged: 40 of 60 files
 * would be evicted, over the ratio, where all 40 taken as changed would
 * have made it 20 of 40, at the ratio. */
static void test_files_left_for_later_count_as_changed_in_share(void)
{
  char path[256];
  struct fx f;
  size_t i;

  fx_init(&f);
  f.o.wildcard_threshold = 10;
  f.o.max_evict_ratio = 0.5;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 20);
  for (i = 20; i < 40; i++) { /* hashed again: the same bytes */
    (void)snprintf(path, sizeof(path), "blog/p%05zu.html", i);
    fx_change(&f, CHANGE_TOUCHED, path);
  }
  fx_pages(&f, CHANGE_TOUCHED, "blog", 40, 40); /* in the manifest */
  fx_defer(&f, "blog", 40, 40);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK_EQ_INT(f.p.n_paths, 20);
  fx_free(&f);
}

static void test_touched_files_count_as_evicted(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 10;
  f.o.max_evict_ratio = 0;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 20);
  fx_change(&f, CHANGE_TOUCHED, "blog/same.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  fx_free(&f);
}

static void test_never_wildcard_keeps_exact_paths(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 0;
  f.o.never_wildcard = true;
  fx_pages(&f, CHANGE_MODIFIED, "blog", 0, 50);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK_EQ_INT(f.p.n_paths, 50);
  fx_free(&f);
}

static void test_whole_site_rebuild_is_one_wildcard(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, "index.html");
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 100);
  fx_pages(&f, CHANGE_MODIFIED, "b", 0, 100);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 1);
  check_batch(&f, 0, "/*");
  CHECK_EQ_INT(f.p.v[0].n_changes, 201);
  fx_free(&f);
}

static void test_wildcard_keeps_url_outside_its_dir(void)
{
  struct fx f;

  fx_init(&f);
  f.uo.dir_without_slash = true;
  f.o.wildcard_threshold = 5;
  fx_file(&f, "other.html");
  fx_change(&f, CHANGE_MODIFIED, "a/index.html");
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 5);
  fx_plan(&f);
  /* "/a" is not under "/a/": it stays, in the same batch. */
  check_batch(&f, 0, "/a /a/*");
  fx_free(&f);
}

static void test_prefix_applies_to_wildcards(void)
{
  struct fx f;

  fx_init(&f);
  f.uo.prefix = "/site";
  f.o.wildcard_threshold = 5;
  fx_pages(&f, CHANGE_TOUCHED, "z", 0, 10);
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 6);
  fx_change(&f, CHANGE_MODIFIED, "b.html");
  fx_plan(&f);
  check_batch(&f, 0, "/site/a/* /site/b.html");
  fx_free(&f);
}

static void test_wildcard_dir_is_percent_encoded(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = 5;
  fx_file(&f, "x.html");
  fx_pages(&f, CHANGE_MODIFIED, "caf\xC3\xA9 #1", 0, 6);
  fx_plan(&f);
  check_batch(&f, 0, "/caf%C3%A9%20%231/*");
  fx_free(&f);
}

static void test_dir_with_tilde_gets_no_wildcard_of_its_own(void)
{
  struct fx f;
  size_t k;

  fx_init(&f);
  f.o.wildcard_threshold = 5;
  fx_pages(&f, CHANGE_TOUCHED, "a", 0, 10);
  fx_pages(&f, CHANGE_MODIFIED, "a/v~1", 0, 6);
  fx_plan(&f);
  /* urlmap covers each file with "/a/v*", which is all it can do. */
  check_batch(&f, 0, "/a/v*");
  for (k = 0; k < f.p.v[0].b.paths.n; k++)
    CHECK(strchr(f.p.v[0].b.paths.v[k], '~') == NULL);
  fx_free(&f);
}

static void test_urlmap_wildcard_drops_covered_paths(void)
{
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, "a/b~c.html");
  fx_change(&f, CHANGE_MODIFIED, "a/bar.html");
  fx_change(&f, CHANGE_MODIFIED, "a/x.html");
  fx_plan(&f);
  check_batch(&f, 0, "/a/b* /a/x.html");
  CHECK_EQ_INT(f.p.v[0].n_changes, 3);
  fx_free(&f);
}

static void test_large_set_splits_at_the_limit(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, CF_MAX_FILE_PATHS_IN_PROGRESS + 500);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 2);
  CHECK_EQ_INT(f.p.v[0].b.paths.n, CF_MAX_FILE_PATHS_IN_PROGRESS);
  CHECK(f.p.v[0].ready);
  CHECK_EQ_INT(f.p.v[1].b.paths.n, 500);
  CHECK(!f.p.v[1].ready);
  fx_free(&f);
}

static void test_in_flight_paths_shrink_the_ready_batch(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.inflight.file_paths = CF_MAX_FILE_PATHS_IN_PROGRESS - 10;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 25);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 2);
  CHECK(f.p.v[0].ready);
  CHECK_EQ_INT(f.p.v[0].b.paths.n, 10);
  CHECK(!f.p.v[1].ready);
  CHECK_EQ_INT(f.p.v[1].b.paths.n, 15);
  fx_free(&f);
}

static void test_max_paths_per_batch_splits(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.max_paths_per_batch = 10;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 25);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 3);
  CHECK_EQ_INT(f.p.v[0].b.paths.n, 10);
  CHECK_EQ_INT(f.p.v[1].b.paths.n, 10);
  CHECK_EQ_INT(f.p.v[2].b.paths.n, 5);
  CHECK(f.p.v[2].ready);
  fx_free(&f);
}

static void test_a_file_is_never_split_across_batches(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.max_paths_per_batch = 3;
  fx_change(&f, CHANGE_MODIFIED, "a/index.html");
  fx_change(&f, CHANGE_MODIFIED, "b/index.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 2);
  check_batch(&f, 0, "/a/ /a/index.html");
  check_batch(&f, 1, "/b/ /b/index.html");
  fx_free(&f);
}

static void test_wildcard_waits_when_none_is_free(void)
{
  struct fx f;

  fx_init(&f);
  f.inflight.wildcards = CF_MAX_WILDCARDS_IN_PROGRESS;
  f.o.wildcard_threshold = 5;
  fx_pages(&f, CHANGE_TOUCHED, "z", 0, 10);
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 6);
  fx_change(&f, CHANGE_MODIFIED, "b.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 2);
  check_batch(&f, 0, "/b.html");
  CHECK(f.p.v[0].ready);
  check_batch(&f, 1, "/a/*");
  CHECK(!f.p.v[1].ready);
  fx_free(&f);
}

static void test_too_many_paths_collapse_to_fit_now(void)
{
  struct fx f;

  fx_init(&f);
  f.o.wildcard_threshold = SIZE_MAX;
  f.month_paths = 0;
  f.o.monthly_free_paths = UINT64_MAX;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 2000);
  fx_pages(&f, CHANGE_MODIFIED, "b", 0, 2000);
  fx_pages(&f, CHANGE_TOUCHED, "b", 2000, 100);
  fx_file(&f, "c.html");
  fx_plan(&f);
  /* "a" evicts nothing and saves 1,999 paths: that is enough. */
  CHECK_EQ_INT(f.p.n, 1);
  CHECK_EQ_INT(f.p.n_wildcards, 1);
  CHECK_EQ_INT(f.p.n_paths, 2001);
  CHECK(strlist_contains(&f.p.v[0].b.paths, "/a/*"));
  fx_free(&f);
}

static void test_past_free_tier_prefers_wildcards(void)
{
  struct fx f;

  fx_init(&f);
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  fx_file(&f, "x.html");
  fx_change(&f, CHANGE_MODIFIED, "d/index.html");
  fx_change(&f, CHANGE_MODIFIED, "d/b.html");
  fx_plan(&f);
  check_batch(&f, 0, "/d/*");
  CHECK(dabs(f.p.cost_usd - CF_PRICE_PER_PATH_USD) < 1e-12);
  fx_free(&f);
}

static void test_within_free_tier_keeps_exact_paths(void)
{
  struct fx f;

  fx_init(&f);
  fx_file(&f, "x.html");
  fx_change(&f, CHANGE_MODIFIED, "d/index.html");
  fx_change(&f, CHANGE_MODIFIED, "d/b.html");
  fx_plan(&f);
  check_batch(&f, 0, "/d/ /d/b.html /d/index.html");
  fx_free(&f);
}

static void test_new_wildcard_must_save_two_paths(void)
{
  struct fx f;

  fx_init(&f);
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  fx_file(&f, "x.html");
  fx_change(&f, CHANGE_MODIFIED, "d/index.html");
  fx_plan(&f);
  check_batch(&f, 0, "/d/ /d/index.html");
  fx_free(&f);
}

static void test_cost_counts_paths_past_the_free_tier(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.max_paths_per_batch = 15;
  f.month_paths = CF_FREE_PATHS_PER_MONTH - 10;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 20);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 2);
  CHECK(dabs(f.p.v[0].cost_usd - 5 * CF_PRICE_PER_PATH_USD) < 1e-12);
  CHECK(dabs(f.p.v[1].cost_usd - 5 * CF_PRICE_PER_PATH_USD) < 1e-12);
  CHECK(dabs(f.p.cost_usd - 10 * CF_PRICE_PER_PATH_USD) < 1e-12);
  CHECK(dabs(planner_cost_usd(0, 1001, 1000) - CF_PRICE_PER_PATH_USD) < 1e-12);
  fx_free(&f);
}

/* Two distributions: each batch is sent, and billed, twice. */
static void test_cost_counts_each_distribution(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.copies = 2;
  f.month_paths = CF_FREE_PATHS_PER_MONTH - 10;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 20);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_paths, 20);
  CHECK(dabs(f.p.cost_usd - 30 * CF_PRICE_PER_PATH_USD) < 1e-12);
  fx_free(&f);
}

/* A budget of 10 paid paths over two distributions leaves room for 5
 * paths a distribution past the free tier. */
static void test_budget_counts_each_distribution(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.has_budget = true;
  f.o.monthly_budget_usd = 10 * CF_PRICE_PER_PATH_USD;
  f.copies = 2;
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 20);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_paths, 5);
  CHECK_EQ_INT(f.p.n_left, 15);
  CHECK(f.p.over_budget);
  fx_free(&f);
}

static void test_budget_forces_a_cheaper_cover(void)
{
  struct fx f;

  fx_init(&f);
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  f.o.has_budget = true;
  f.o.monthly_budget_usd = 2 * CF_PRICE_PER_PATH_USD;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 3);
  fx_pages(&f, CHANGE_TOUCHED, "a", 3, 50);
  fx_pages(&f, CHANGE_MODIFIED, "b", 0, 3);
  fx_pages(&f, CHANGE_TOUCHED, "b", 3, 50);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_left, 0);
  CHECK(f.p.n_paths <= 2);
  CHECK(f.p.evict_forced);
  CHECK(!f.p.over_budget);
  CHECK(f.p.cost_usd <= f.o.monthly_budget_usd + 1e-12);
  fx_free(&f);
}

static void test_strict_ratio_leaves_over_budget_changes_pending(void)
{
  struct fx f;

  fx_init(&f);
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  f.o.has_budget = true;
  f.o.strict_evict_ratio = true;
  f.o.monthly_budget_usd = 2 * CF_PRICE_PER_PATH_USD;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 3);
  fx_pages(&f, CHANGE_TOUCHED, "a", 3, 50);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_paths, 2);
  CHECK_EQ_INT(f.p.n_wildcards, 0);
  CHECK_EQ_INT(f.p.n_left, 1);
  CHECK_EQ_INT(f.p.left[0], 2);
  CHECK(f.p.over_budget);
  CHECK(!f.p.evict_forced);
  fx_free(&f);
}

static void test_spent_budget_leaves_changes_pending(void)
{
  struct fx f;

  fx_init(&f);
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  f.o.has_budget = true;
  f.o.monthly_budget_usd = 0;
  fx_change(&f, CHANGE_MODIFIED, "a.html");
  fx_change(&f, CHANGE_TOUCHED, "b.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 0);
  CHECK_EQ_INT(f.p.n_left, 1);
  CHECK_EQ_INT(f.p.left[0], 0);
  CHECK_EQ_INT(f.p.n_no_send, 1);
  CHECK(f.p.over_budget);
  fx_free(&f);
}

static void test_never_wildcard_over_budget_plans_what_fits(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.has_budget = true;
  f.o.monthly_budget_usd = 0;
  f.month_paths = CF_FREE_PATHS_PER_MONTH - 5;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 10);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_paths, 5);
  CHECK_EQ_INT(f.p.n_left, 5);
  CHECK_EQ_INT(f.p.left[0], 5);
  CHECK(f.p.over_budget);
  CHECK(f.p.cost_usd == 0.0);
  fx_free(&f);
}

static void test_allow_over_budget_plans_all_and_says_so(void)
{
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.has_budget = true;
  f.o.allow_over_budget = true;
  f.o.monthly_budget_usd = 0;
  f.month_paths = CF_FREE_PATHS_PER_MONTH;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 10);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n_paths, 10);
  CHECK_EQ_INT(f.p.n_left, 0);
  CHECK(f.p.over_budget);
  CHECK(f.p.cost_usd > 0);
  fx_free(&f);
}

static void test_same_input_gives_same_plan(void)
{
  struct fx f;
  struct planner_plan first;
  size_t i, k;

  fx_init(&f);
  f.o.wildcard_threshold = 3;
  f.o.max_paths_per_batch = 4;
  fx_pages(&f, CHANGE_MODIFIED, "a", 0, 7);
  fx_pages(&f, CHANGE_ADDED, "b/c", 0, 9);
  fx_pages(&f, CHANGE_TOUCHED, "b", 0, 9);
  fx_plan(&f);
  first = f.p;
  planner_plan_init(&f.p);
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, first.n);
  for (i = 0; i < f.p.n && i < first.n; i++) {
    CHECK_EQ_INT(f.p.v[i].b.paths.n, first.v[i].b.paths.n);
    for (k = 0; k < f.p.v[i].b.paths.n && k < first.v[i].b.paths.n; k++)
      CHECK_EQ_STR(f.p.v[i].b.paths.v[k], first.v[i].b.paths.v[k]);
  }
  planner_plan_free(&first);
  fx_free(&f);
}

static void test_bad_options_are_refused(void)
{
  struct cfw_err err = {0};
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_MODIFIED, "a.html");
  f.o.max_paths_per_batch = URLMAP_MAX_PATHS_PER_FILE - 1;
  CHECK_EQ_INT(fx_try(&f, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "max_paths_per_batch");
  f.o.max_paths_per_batch = CF_MAX_FILE_PATHS_IN_PROGRESS + 1;
  CHECK_EQ_INT(fx_try(&f, &err), -EINVAL);
  planner_opts_init(&f.o);
  f.o.max_evict_ratio = NAN;
  CHECK_EQ_INT(fx_try(&f, &err), -EINVAL);
  planner_opts_init(&f.o);
  f.o.has_budget = true;
  f.o.monthly_budget_usd = -1;
  CHECK_EQ_INT(fx_try(&f, &err), -EINVAL);
  CHECK_EQ_INT(f.p.n, 0);
  fx_free(&f);
}

static void test_bad_change_path_is_named(void)
{
  struct cfw_err err = {0};
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_ADDED, "a//b.html");
  CHECK_EQ_INT(fx_try(&f, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "a//b.html");
  fx_free(&f);
}

static void test_gather_copies_the_batch_changes(void)
{
  struct change out[2];
  struct fx f;

  fx_init(&f);
  f.o.never_wildcard = true;
  f.o.max_paths_per_batch = 3;
  fx_change(&f, CHANGE_MODIFIED, "a/index.html");
  fx_change(&f, CHANGE_ADDED, "b.html");
  fx_change(&f, CHANGE_MODIFIED, "c/index.html");
  fx_plan(&f);
  CHECK_EQ_INT(f.p.n, 2);
  CHECK_EQ_INT(f.p.v[0].n_changes, 2);
  planner_batch_gather(&f.p.v[0], f.v, out);
  CHECK_EQ_STR(out[0].entry.path, "a/index.html");
  CHECK_EQ_STR(out[1].entry.path, "b.html");
  fx_free(&f);
}

static void test_null_manifest_is_empty(void)
{
  struct planner_input in;
  struct cfw_err err = {0};
  struct fx f;

  fx_init(&f);
  fx_change(&f, CHANGE_ADDED, "a.html");
  fx_input(&f, &in);
  in.manifest = NULL;
  CHECK_EQ_INT(planner_plan(&f.p, &in, &f.o, &err), 0);
  check_batch(&f, 0, "/a.html");
  fx_free(&f);
}

/* Property checks over random trees.  Each iteration derives its own
 * seed, so a failure prints one number that replays it:
 *   CFW_PLANNER_SEED=<seed> CFW_PLANNER_ITERS=1 ./test_planner \
 *       test_properties_over_random_trees */

#define PROP_ITERS_DEFAULT 400
#define PROP_EPSILON       1e-9

struct rng {
  uint64_t s;
};

/* xorshift64*: the test's own generator, no global state. */
static uint64_t rng_next(struct rng *r)
{
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * UINT64_C(2685821657736338717);
}

static size_t rng_below(struct rng *r, size_t n)
{
  return n > 0 ? (size_t)(rng_next(r) % n) : 0;
}

#define RNG_PICK(r, arr) ((arr)[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

enum tstate { T_SAME, T_MODIFIED, T_ADDED, T_DELETED, T_TOUCHED };

/* The random site, as the test knows it independently of the planner. */
struct tsite {
  struct strlist dirs;  /* "" first, then "a3", "a3/x y5"... */
  struct strlist files; /* relative paths */
  enum tstate *state;   /* per file */
  char stems[64][512];  /* per dir: "<prefix>/<encoded dir>/" or "" */
};

static const char *const tdir_names[] = {"a",  "posts", "x y",  "caf\xC3\xA9",
                                         "v~", "p#q",   "2024", "index"};

static void tsite_dirs(struct tsite *t, struct rng *r)
{
  size_t n = 1 + rng_below(r, 12);
  char name[512];
  const char *parent;
  size_t i;

  strlist_init(&t->dirs);
  if (strlist_push(&t->dirs, "") < 0)
    exit(2);
  for (i = 1; i <= n; i++) {
    parent = t->dirs.v[rng_below(r, t->dirs.n)];
    (void)snprintf(name, sizeof(name), "%s%s%s%zu", parent,
                   parent[0] ? "/" : "", RNG_PICK(r, tdir_names), i);
    if (strlist_push(&t->dirs, name) < 0)
      exit(2);
  }
}

/* One file name in dir d: an index file at most once per dir. */
static void tsite_name(struct rng *r, const char *dir, size_t i, bool index,
                       char *out, size_t n)
{
  static const char *const heads[] = {"f", "f", "g ", "h", "f"};
  static const char *const tails[] = {".html", ".html", ".css", "~.html",
                                      ".html"};
  size_t form = rng_below(r, sizeof(heads) / sizeof(heads[0]));
  char base[64];

  if (index)
    (void)snprintf(base, sizeof(base), "index.html");
  else
    (void)snprintf(base, sizeof(base), "%s%zu%s", heads[form], i, tails[form]);
  (void)snprintf(out, n, "%s%s%s", dir, dir[0] ? "/" : "", base);
}

static enum tstate tsite_state(struct rng *r, double rate)
{
  static const enum tstate changed[] = {T_MODIFIED, T_MODIFIED, T_ADDED,
                                        T_DELETED};

  if ((double)rng_below(r, 1000) >= rate * 1000)
    return rng_below(r, 10) == 0 ? T_TOUCHED : T_SAME;
  return RNG_PICK(r, changed);
}

static void tsite_files(struct tsite *t, struct rng *r)
{
  static const size_t sizes[] = {5, 40, 300, 300, 4000};
  static const double rates[] = {0, 0.1, 0.5, 0.9, 1.0};
  size_t n = 1 + rng_below(r, RNG_PICK(r, sizes));
  double rate[64] = {0};
  bool has_index[64] = {false};
  char path[1024];
  size_t i, d;

  strlist_init(&t->files);
  t->state = calloc(n, sizeof(*t->state));
  if (t->state == NULL)
    exit(2);
  for (d = 0; d < t->dirs.n; d++) {
    rate[d] = RNG_PICK(r, rates);
    has_index[d] = false;
  }
  for (i = 0; i < n; i++) {
    d = rng_below(r, t->dirs.n);
    tsite_name(r, t->dirs.v[d], i, !has_index[d] && rng_below(r, 3) == 0, path,
               sizeof(path));
    has_index[d] = has_index[d] || strstr(path, "index.html") != NULL;
    t->state[i] = tsite_state(r, rate[d]);
    if (strlist_push(&t->files, path) < 0)
      exit(2);
  }
}

static void tsite_stems(struct tsite *t, const char *prefix)
{
  struct buf b;
  size_t d;

  for (d = 0; d < t->dirs.n; d++) {
    buf_init(&b, sizeof(t->stems[d]));
    if (buf_adds(&b, prefix) < 0 || buf_addc(&b, '/') < 0 ||
        urlmap_encode(t->dirs.v[d], strlen(t->dirs.v[d]), &b) < 0 ||
        (d > 0 && buf_addc(&b, '/') < 0))
      exit(2);
    (void)snprintf(t->stems[d], sizeof(t->stems[d]), "%s", buf_str(&b));
    buf_free(&b);
  }
}

static void tsite_free(struct tsite *t)
{
  strlist_free(&t->dirs);
  strlist_free(&t->files);
  free(t->state);
}

static int change_cmp(const void *a, const void *b)
{
  return strcmp(((const struct change *)a)->entry.path,
                ((const struct change *)b)->entry.path);
}

static void tsite_load(const struct tsite *t, struct fx *f, bool sort)
{
  static const enum change_kind kinds[] = {CHANGE_TOUCHED, CHANGE_MODIFIED,
                                           CHANGE_ADDED, CHANGE_DELETED,
                                           CHANGE_TOUCHED};
  size_t i;

  for (i = 0; i < t->files.n; i++) {
    if (t->state[i] == T_SAME)
      fx_file(f, t->files.v[i]);
    else
      fx_change(f, kinds[t->state[i]], t->files.v[i]);
  }
  if (sort && f->n > 1)
    qsort(f->v, f->n, sizeof(*f->v), change_cmp);
}

static void prop_options(struct fx *f, struct rng *r)
{
  static const size_t thresholds[] = {0, 3, 20, 100, SIZE_MAX};
  static const double ratios[] = {0, 0.1, 0.25, 0.5, 1};
  static const size_t per_batch[] = {3, 4, 10, 100, 3000};
  static const size_t in_files[] = {0, 0, 100, 2990, 3000, 5000};
  static const size_t in_wild[] = {0, 0, 5, 14, 15, 20};
  static const uint64_t months[] = {0, 0, 500, 990, 1000, 20000};
  static const uint64_t frees[] = {1000, 1000, 0};
  static const double budgets[] = {0, 0.005, 0.02, 1, 100};

  f->uo.prefix = rng_below(r, 2) ? "" : "/pre";
  f->uo.dir_without_slash = rng_below(r, 2);
  f->uo.pretty = rng_below(r, 2);
  f->o.wildcard_threshold = RNG_PICK(r, thresholds);
  f->o.max_evict_ratio = RNG_PICK(r, ratios);
  f->o.never_wildcard = rng_below(r, 10) == 0;
  f->o.max_paths_per_batch = RNG_PICK(r, per_batch);
  f->inflight.file_paths = RNG_PICK(r, in_files);
  f->inflight.wildcards = RNG_PICK(r, in_wild);
  f->month_paths = RNG_PICK(r, months);
  f->o.monthly_free_paths = RNG_PICK(r, frees);
  f->o.has_budget = rng_below(r, 5) < 2;
  f->o.monthly_budget_usd = RNG_PICK(r, budgets);
  f->o.allow_over_budget = rng_below(r, 4) == 0;
  f->o.strict_evict_ratio = rng_below(r, 4) == 0;
}

/* Every change is in exactly one batch, in left or (if TOUCHED) in
 * no_send, and each list is ascending. */
static void prop_partition(const struct fx *f)
{
  unsigned char *seen = calloc(f->n + 1, 1);
  size_t i, k;

  if (seen == NULL)
    exit(2);
  for (i = 0; i < f->p.n; i++)
    for (k = 0; k < f->p.v[i].n_changes; k++) {
      seen[f->p.v[i].changes[k]]++;
      CHECK(k == 0 || f->p.v[i].changes[k - 1] < f->p.v[i].changes[k]);
      CHECK(change_kind(&f->v[f->p.v[i].changes[k]]) != CHANGE_TOUCHED);
    }
  for (k = 0; k < f->p.n_left; k++)
    seen[f->p.left[k]]++;
  for (k = 0; k < f->p.n_no_send; k++) {
    seen[f->p.no_send[k]]++;
    CHECK(change_kind(&f->v[f->p.no_send[k]]) == CHANGE_TOUCHED);
  }
  for (i = 0; i < f->n; i++)
    if (seen[i] != 1)
      TEST_FAIL_("change %zu (%s) planned %d times", i, f->v[i].entry.path,
                 seen[i]);
  free(seen);
}

static bool prop_covered_by(const struct strlist *l, const char *url)
{
  size_t k, len;

  for (k = 0; k < l->n; k++) {
    len = strlen(l->v[k]);
    if (strcmp(l->v[k], url) == 0)
      return true;
    if (l->v[k][len - 1] == '*' && strncmp(l->v[k], url, len - 1) == 0)
      return true;
  }
  return false;
}

/* Sorted, unique, nothing covered twice, counts right, within limits. */
static void prop_batch_shape(const struct fx *f, const struct planner_batch *pb)
{
  const struct strlist *l = &pb->b.paths;
  size_t k, j, wild = 0, len;

  for (k = 0; k < l->n; k++) {
    CHECK(k == 0 || strcmp(l->v[k - 1], l->v[k]) < 0);
    len = strlen(l->v[k]);
    wild += urlmap_is_wildcard(l->v[k]) ? 1 : 0;
    for (j = 0; j < l->n && l->v[k][len - 1] == '*'; j++)
      if (j != k && strncmp(l->v[k], l->v[j], len - 1) == 0)
        TEST_FAIL_("%s covers %s in one batch", l->v[k], l->v[j]);
  }
  CHECK_EQ_INT(pb->b.n_wildcards, wild);
  CHECK_EQ_INT(pb->b.n_files, pb->n_changes);
  CHECK(pb->n_changes > 0);
  CHECK(wild <= CF_MAX_WILDCARDS_IN_PROGRESS);
  CHECK(l->n - wild <= f->o.max_paths_per_batch);
}

/* Every URL of every change of the batch is in it or under a wildcard. */
static void prop_batch_covers(const struct fx *f,
                              const struct planner_batch *pb)
{
  struct cfw_err err = {0};
  struct strlist urls;
  size_t k, u;

  for (k = 0; k < pb->n_changes; k++) {
    strlist_init(&urls);
    CHECK_EQ_INT(
        urlmap_paths(f->map, f->v[pb->changes[k]].entry.path, &urls, &err), 0);
    for (u = 0; u < urls.n; u++)
      if (!prop_covered_by(&pb->b.paths, urls.v[u]))
        TEST_FAIL_("%s of %s is not in its batch", urls.v[u],
                   f->v[pb->changes[k]].entry.path);
    strlist_free(&urls);
  }
}

static void prop_limits(const struct fx *f)
{
  size_t free_f = f->inflight.file_paths < CF_MAX_FILE_PATHS_IN_PROGRESS
                      ? CF_MAX_FILE_PATHS_IN_PROGRESS - f->inflight.file_paths
                      : 0;
  size_t free_w = f->inflight.wildcards < CF_MAX_WILDCARDS_IN_PROGRESS
                      ? CF_MAX_WILDCARDS_IN_PROGRESS - f->inflight.wildcards
                      : 0;
  size_t ready_f = 0, ready_w = 0, paths = 0, i;
  bool queued = false;

  for (i = 0; i < f->p.n; i++) {
    prop_batch_shape(f, &f->p.v[i]);
    prop_batch_covers(f, &f->p.v[i]);
    paths += f->p.v[i].b.paths.n;
    CHECK(!(queued && f->p.v[i].ready)); /* ready ones come first */
    queued = queued || !f->p.v[i].ready;
    if (!f->p.v[i].ready)
      continue;
    ready_w += f->p.v[i].b.n_wildcards;
    ready_f += f->p.v[i].b.paths.n - f->p.v[i].b.n_wildcards;
  }
  CHECK(ready_f <= free_f);
  CHECK(ready_w <= free_w);
  CHECK_EQ_INT(paths, f->p.n_paths);
}

/* The dir whose stem a planner wildcard is, or SIZE_MAX. */
static size_t prop_dir_of(const struct tsite *t, const char *w)
{
  size_t d, len = strlen(w);

  for (d = 0; d < t->dirs.n; d++)
    if (strlen(t->stems[d]) == len - 1 && strncmp(t->stems[d], w, len - 1) == 0)
      return d;
  return SIZE_MAX;
}

static bool prop_is_own_url(const struct fx *f, const struct planner_batch *pb,
                            const char *w)
{
  struct cfw_err err = {0};
  struct strlist urls;
  bool own = false;
  size_t k;

  for (k = 0; k < pb->n_changes && !own; k++) {
    strlist_init(&urls);
    if (urlmap_paths(f->map, f->v[pb->changes[k]].entry.path, &urls, &err) == 0)
      own = strlist_contains(&urls, w);
    strlist_free(&urls);
  }
  return own;
}

/* A planner wildcard evicts at most max_evict_ratio unchanged files,
 * counted from the test's own view of the tree. */
static void prop_eviction(const struct fx *f, const struct tsite *t,
                          const char *w)
{
  size_t d = prop_dir_of(t, w);
  const char *dir;
  size_t i, dl, same = 0, changed = 0;

  if (d == SIZE_MAX) {
    TEST_FAIL_("wildcard %s names no directory", w);
    return;
  }
  dir = t->dirs.v[d];
  dl = strlen(dir);
  for (i = 0; i < t->files.n; i++) {
    if (dl > 0 &&
        (strncmp(t->files.v[i], dir, dl) != 0 || t->files.v[i][dl] != '/'))
      continue;
    if (t->state[i] == T_SAME || t->state[i] == T_TOUCHED)
      same++;
    else
      changed++;
  }
  CHECK(changed > 0);
  CHECK(!(f->p.evict_forced && f->o.strict_evict_ratio));
  if (!f->p.evict_forced &&
      (double)same >
          f->o.max_evict_ratio * (double)(same + changed) + PROP_EPSILON)
    TEST_FAIL_("%s evicts %zu unchanged of %zu (ratio %g)", w, same,
               same + changed, f->o.max_evict_ratio);
}

static void prop_batch_wildcards(const struct fx *f, const struct tsite *t,
                                 const struct planner_batch *pb)
{
  const struct strlist *l = &pb->b.paths;
  size_t k;

  for (k = 0; k < l->n; k++) {
    if (!urlmap_is_wildcard(l->v[k]) || prop_is_own_url(f, pb, l->v[k]))
      continue;
    CHECK(!f->o.never_wildcard);
    prop_eviction(f, t, l->v[k]);
  }
}

static void prop_wildcards(const struct fx *f, const struct tsite *t)
{
  size_t i;

  for (i = 0; i < f->p.n; i++)
    prop_batch_wildcards(f, t, &f->p.v[i]);
}

static void prop_budget(const struct fx *f)
{
  uint64_t free_p = f->o.monthly_free_paths;
  double total = 0;
  size_t i;

  for (i = 0; i < f->p.n; i++)
    total += f->p.v[i].cost_usd;
  CHECK(dabs(total - f->p.cost_usd) < PROP_EPSILON);
  CHECK(dabs(total - planner_cost_usd(f->month_paths, f->p.n_paths, free_p)) <
        PROP_EPSILON);
  if (!f->o.has_budget || f->o.allow_over_budget) {
    CHECK_EQ_INT(f->p.n_left, 0);
    return;
  }
  if (f->p.n_paths > 0 &&
      planner_cost_usd(0, f->month_paths + f->p.n_paths, free_p) >
          f->o.monthly_budget_usd + PROP_EPSILON)
    TEST_FAIL_("%zu paths after %llu cost more than $%g", f->p.n_paths,
               (unsigned long long)f->month_paths, f->o.monthly_budget_usd);
  CHECK(f->p.over_budget == (f->p.n_left > 0));
}

static void prop_one(uint64_t seed)
{
  struct rng r = {seed * UINT64_C(0x9E3779B97F4A7C15) + 1};
  struct tsite t;
  struct fx f;

  fx_init(&f);
  prop_options(&f, &r);
  tsite_dirs(&t, &r);
  tsite_files(&t, &r);
  tsite_stems(&t, f.uo.prefix);
  tsite_load(&t, &f, rng_below(&r, 2) == 0);
  fx_plan(&f);
  prop_partition(&f);
  prop_limits(&f);
  prop_wildcards(&f, &t);
  prop_budget(&f);
  tsite_free(&t);
  fx_free(&f);
}

static void test_properties_over_random_trees(void)
{
  const char *s = getenv("CFW_PLANNER_SEED");
  const char *n = getenv("CFW_PLANNER_ITERS");
  uint64_t base = s != NULL ? strtoull(s, NULL, 10) : 1;
  uint64_t iters = n != NULL ? strtoull(n, NULL, 10) : PROP_ITERS_DEFAULT;
  uint64_t i;
  int before;

  for (i = 0; i < iters; i++) {
    before = test_failures;
    prop_one(base + i);
    if (test_failures != before) {
      TEST_FAIL_("failed with CFW_PLANNER_SEED=%llu",
                 (unsigned long long)(base + i));
      return;
    }
  }
  CHECK(iters > 0);
}

/* The report's table: a 10,000-page site (10 sections of 1,000 page
 * folders, "posts/<year>/pNNNN/index.html", plus 200 images and the home
 * page), default options, a fresh month, nothing in progress.  Set
 * CFW_PLANNER_TABLE=1 to print it. */
#define TABLE_YEARS  10
#define TABLE_PAGES  1000
#define TABLE_IMAGES 200

enum table_pick { PICK_RANDOM, PICK_SECTION, PICK_ALL };

static void table_site(struct fx *f, size_t n, enum table_pick pick,
                       struct rng *r)
{
  size_t total = (size_t)TABLE_YEARS * TABLE_PAGES;
  unsigned char *chg = calloc(total, 1);
  char path[128];
  size_t i, k;

  if (chg == NULL)
    exit(2);
  for (k = 0; pick == PICK_RANDOM && k < n;) {
    i = rng_below(r, total);
    k += chg[i] ? 0 : 1;
    chg[i] = 1;
  }
  for (i = 0; pick != PICK_RANDOM && i < n && i < total; i++)
    chg[i] = 1;
  for (i = 0; i < TABLE_IMAGES; i++) {
    (void)snprintf(path, sizeof(path), "img/i%04zu.png", i);
    if (pick == PICK_ALL)
      fx_change(f, CHANGE_MODIFIED, path);
    else
      fx_file(f, path);
  }
  if (pick == PICK_ALL)
    fx_change(f, CHANGE_MODIFIED, "index.html");
  else
    fx_file(f, "index.html");
  for (i = 0; i < total; i++) {
    (void)snprintf(path, sizeof(path), "posts/%zu/p%04zu/index.html",
                   2015 + i / TABLE_PAGES, i % TABLE_PAGES);
    if (chg[i])
      fx_change(f, CHANGE_MODIFIED, path);
    else
      fx_file(f, path);
  }
  free(chg);
}

/* budget_usd < 0: none. */
static void table_row(const char *what, size_t n, enum table_pick pick,
                      uint64_t month, double budget_usd, struct fx *out)
{
  struct rng r = {UINT64_C(42)};
  size_t i, ready = 0;

  fx_init(out);
  out->month_paths = month;
  out->o.has_budget = budget_usd >= 0;
  out->o.monthly_budget_usd = budget_usd;
  table_site(out, n, pick, &r);
  fx_plan(out);
  for (i = 0; i < out->p.n; i++)
    ready += out->p.v[i].ready ? 1 : 0;
  if (getenv("CFW_PLANNER_TABLE") != NULL)
    printf("| %-28s | %5zu | %5llu | %2zu+%-2zu | %5zu | %4zu | %6zu | "
           "%-3s | $%7.3f |\n",
           what, out->n, (unsigned long long)month, ready, out->p.n - ready,
           out->p.n_paths, out->p.n_wildcards, out->p.n_evicted,
           out->p.evict_forced ? "yes" : "no", out->p.cost_usd);
}

static void test_table_of_change_set_sizes(void)
{
  static const size_t sizes[] = {1, 10, 100, 1000, 2000};
  struct fx f;
  size_t i;

  if (getenv("CFW_PLANNER_TABLE") != NULL)
    printf("| change set | files | month | ready+queued | paths | wild | "
           "evicted | forced | cost |\n");
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    table_row("random pages", sizes[i], PICK_RANDOM, 0, -1, &f);
    CHECK_EQ_INT(f.p.n_left, 0);
    if (sizes[i] == 1)
      CHECK_EQ_INT(f.p.n_paths, 2);
    fx_free(&f);
    table_row("random pages, free tier used", sizes[i], PICK_RANDOM,
              CF_FREE_PATHS_PER_MONTH, -1, &f);
    fx_free(&f);
    table_row("random pages, budget $1", sizes[i], PICK_RANDOM,
              CF_FREE_PATHS_PER_MONTH, 1.0, &f);
    CHECK(f.p.cost_usd <= 1.0 + PROP_EPSILON);
    fx_free(&f);
  }
  table_row("one section (1,000 pages)", TABLE_PAGES, PICK_SECTION, 0, -1, &f);
  CHECK_EQ_INT(f.p.n_paths, 1);
  fx_free(&f);
  table_row("whole-site rebuild", SIZE_MAX, PICK_ALL, 0, -1, &f);
  CHECK_EQ_INT(f.p.n_paths, 1);
  CHECK_EQ_INT(f.p.n_wildcards, 1);
  check_batch(&f, 0, "/*");
  fx_free(&f);
}

TEST_MAIN(TEST(test_single_file_yields_its_url),
          TEST(test_index_keeps_dir_and_file_urls),
          TEST(test_touched_change_is_not_sent),
          TEST(test_deleted_file_is_invalidated),
          TEST(test_no_changes_no_batches),
          TEST(test_dir_over_threshold_becomes_wildcard),
          TEST(test_threshold_not_reached_keeps_exact_paths),
          TEST(test_wildcard_on_deepest_common_prefix),
          TEST(test_wildcard_refused_when_it_evicts_too_much),
          TEST(test_wildcard_taken_at_the_evict_ratio),
          TEST(test_touched_files_count_as_evicted),
          TEST(test_files_left_for_later_are_not_taken_as_unchanged),
          TEST(test_files_left_for_later_count_as_changed_in_share),
          TEST(test_files_an_earlier_pass_sent_are_not_evicted),
          TEST(test_never_wildcard_keeps_exact_paths),
          TEST(test_whole_site_rebuild_is_one_wildcard),
          TEST(test_wildcard_keeps_url_outside_its_dir),
          TEST(test_prefix_applies_to_wildcards),
          TEST(test_wildcard_dir_is_percent_encoded),
          TEST(test_dir_with_tilde_gets_no_wildcard_of_its_own),
          TEST(test_urlmap_wildcard_drops_covered_paths),
          TEST(test_large_set_splits_at_the_limit),
          TEST(test_in_flight_paths_shrink_the_ready_batch),
          TEST(test_max_paths_per_batch_splits),
          TEST(test_a_file_is_never_split_across_batches),
          TEST(test_wildcard_waits_when_none_is_free),
          TEST(test_too_many_paths_collapse_to_fit_now),
          TEST(test_past_free_tier_prefers_wildcards),
          TEST(test_within_free_tier_keeps_exact_paths),
          TEST(test_new_wildcard_must_save_two_paths),
          TEST(test_cost_counts_paths_past_the_free_tier),
          TEST(test_cost_counts_each_distribution),
          TEST(test_budget_counts_each_distribution),
          TEST(test_budget_forces_a_cheaper_cover),
          TEST(test_strict_ratio_leaves_over_budget_changes_pending),
          TEST(test_spent_budget_leaves_changes_pending),
          TEST(test_never_wildcard_over_budget_plans_what_fits),
          TEST(test_allow_over_budget_plans_all_and_says_so),
          TEST(test_same_input_gives_same_plan),
          TEST(test_bad_options_are_refused),
          TEST(test_bad_change_path_is_named),
          TEST(test_gather_copies_the_batch_changes),
          TEST(test_null_manifest_is_empty),
          TEST(test_properties_over_random_trees),
          TEST(test_table_of_change_set_sizes))
