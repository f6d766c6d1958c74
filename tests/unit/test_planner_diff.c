/* SPDX-License-Identifier: MIT */
/* The planner against itself: many seeded random sites (trees, sizes,
 * thresholds, budgets, in-progress work, URL map options, cache tags),
 * each planned and checked two ways.  Properties: every changed file's
 * items are in its one batch (or under a wildcard there), batches are
 * sorted and unique, within CloudFront's limits, and the index lists are
 * ascending.  Digests: a hash of each plan's whole observable output,
 * recorded from the planner as it was before its memory rework (issue
 * 13), so a rework must reproduce every plan byte for byte.
 *
 * CFW_PLANNER_DIGESTS=1 ./test_planner_diff test_plans_match_recorded_digests
 * prints the table instead of checking it. */
#include "planner.h"

#include "buf.h"
#include "cachetag.h"
#include "cflimits.h"
#include "manifest.h"
#include "pathref.h"
#include "s3url.h"
#include "strlist.h"
#include "test.h"
#include "urlmap.h"

#include <stdbool.h>

#define DIFF_SEEDS 300

/* splitmix64: a fixed generator, so a seed names the same site on every
 * platform. */
static uint64_t rnd_next(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static size_t rnd_below(uint64_t *s, size_t n)
{
  return n > 0 ? (size_t)(rnd_next(s) % n) : 0;
}

/* One random site and its plan. */
struct site {
  uint64_t rs;
  struct manifest *m;
  struct change *v; /* owned, with each path */
  size_t n;
  size_t cap;
  struct strlist dirs; /* the directories files go in; "" is the root */
  struct urlmap *map;
  struct urlmap_opts uo;
  struct s3url origin;
  struct planner_input in;
  struct planner_opts o;
  struct planner_plan p;
  struct cfw_err err;
  int rc;
};

/* Directory names, some that CloudFront cannot name exactly. */
static const char *const dir_names[] = {
    "a",    "b",    "posts", "img",  "x y",  "caf\xC3\xA9", "we~rd",
    "st*r", "100%", "q?",    "docs", "2024", "deep",        "zz"};

/* File names: index files, pages, assets, odd bytes. */
static const char *const file_names[] = {
    "index.html", "index.html", "p.html", ".html", "s.css", "app.js",
    "a b.html",   "t~.html",    "w*.png", "n",     "r%.txt"};

static void site_add_dirs(struct site *s, size_t n_dirs, size_t depth)
{
  struct buf b;
  size_t i, d, k;

  REQUIRE(strlist_push(&s->dirs, "") == 0);
  for (i = 0; i < n_dirs; i++) {
    buf_init(&b, 1 << 16);
    d = 1 + rnd_below(&s->rs, depth);
    for (k = 0; k < d; k++) {
      if (k > 0)
        REQUIRE(buf_addc(&b, '/') == 0);
      if (rnd_below(&s->rs, 60) == 0) /* too long for a wildcard */
        for (size_t j = 0; j < 700; j++)
          REQUIRE(buf_addc(&b, 'L') == 0);
      else
        REQUIRE(buf_adds(&b, dir_names[rnd_below(&s->rs, 14)]) == 0);
    }
    REQUIRE(strlist_push(&s->dirs, buf_str(&b)) == 0);
    buf_free(&b);
  }
}

/* A random file path of the site, in one of the directories; skewed
 * picks make some directories hold most of the files. */
static void site_path(struct site *s, bool skewed, char *out, size_t n)
{
  size_t d = rnd_below(&s->rs, s->dirs.n);
  const char *dir;
  int len;

  if (skewed && rnd_below(&s->rs, 4) != 0)
    d = rnd_below(&s->rs, s->dirs.n < 3 ? s->dirs.n : 3);
  dir = s->dirs.v[d];
  len = snprintf(out, n, "%s%s%zu%s", dir, dir[0] != '\0' ? "/" : "",
                 rnd_below(&s->rs, 1000), file_names[rnd_below(&s->rs, 11)]);
  REQUIRE(len > 0 && (size_t)len < n);
}

static void site_change(struct site *s, enum change_kind kind, const char *path)
{
  struct change *v;

  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    v = realloc(s->v, s->cap * sizeof(*v));
    REQUIRE(v != NULL);
    s->v = v;
  }
  memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
  change_set_kind(&s->v[s->n], kind);
  s->v[s->n].entry.path = pathref_dup(path);
  REQUIRE(s->v[s->n].entry.path != NULL);
  s->v[s->n].entry.flags = TREE_HASHED;
  s->n++;
}

/* Each path at most once: the manifest holds what the changes used. */
static bool site_used(const char *path, struct strlist *used)
{
  if (strlist_contains(used, path))
    return true;
  REQUIRE(strlist_push(used, path) == 0);
  return false;
}

static const uint32_t tag_flags[] = {0, TREE_TAGGED, TREE_TAGGED,
                                     TREE_TAGGED | TREE_STALE};

/* The manifest's files, each changed or not; then the added ones. */
static void site_files(struct site *s, size_t n_files, size_t n_added,
                       bool skewed)
{
  static const enum change_kind kinds[] = {CHANGE_MODIFIED, CHANGE_DELETED,
                                           CHANGE_TOUCHED};
  char path[8192];
  struct strlist used;
  struct tree_entry e;
  size_t i, share = 1 + rnd_below(&s->rs, 100);

  strlist_init(&used);
  for (i = 0; i < n_files + n_added; i++) {
    site_path(s, skewed, path, sizeof(path));
    if (site_used(path, &used))
      continue;
    if (i >= n_files) {
      site_change(s, CHANGE_ADDED, path);
      continue;
    }
    memset(&e, 0, sizeof(e));
    e.path = path;
    e.flags = TREE_HASHED | tag_flags[rnd_below(&s->rs, 4)];
    REQUIRE(manifest_put(s->m, &e) == 0);
    if (rnd_below(&s->rs, 100) < share)
      site_change(s, kinds[rnd_below(&s->rs, 3)], path);
  }
  strlist_free(&used);
}

/* The changes in a random order, as a caller other than diff might. */
static void site_shuffle(struct site *s)
{
  struct change t;
  size_t i, j;

  for (i = s->n; i > 1; i--) {
    j = rnd_below(&s->rs, i);
    t = s->v[i - 1];
    s->v[i - 1] = s->v[j];
    s->v[j] = t;
  }
}

static const size_t thresholds[] = {0, 1, 5, 20, 100, SIZE_MAX};

static void site_opts(struct site *s)
{
  struct planner_opts *o = &s->o;

  planner_opts_init(o);
  o->max_paths_per_batch =
      rnd_below(&s->rs, 3) == 0
          ? URLMAP_MAX_PATHS_PER_FILE + rnd_below(&s->rs, 40)
          : CF_MAX_FILE_PATHS_IN_PROGRESS - rnd_below(&s->rs, 2000);
  o->wildcard_threshold = thresholds[rnd_below(&s->rs, 6)];
  o->never_wildcard = rnd_below(&s->rs, 8) == 0;
  o->max_evict_ratio = (double)rnd_below(&s->rs, 5) / 4.0;
  o->strict_evict_ratio = rnd_below(&s->rs, 4) == 0;
  o->monthly_free_paths =
      rnd_below(&s->rs, 2) ? CF_FREE_PATHS_PER_MONTH : rnd_below(&s->rs, 200);
  o->has_budget = rnd_below(&s->rs, 2) == 0;
  o->monthly_budget_usd = (double)rnd_below(&s->rs, 200) * 0.005;
  o->allow_over_budget = rnd_below(&s->rs, 4) == 0;
}

static void site_input(struct site *s)
{
  struct planner_input *in = &s->in;

  memset(in, 0, sizeof(*in));
  in->manifest = s->m;
  in->changes = s->v;
  in->n_changes = s->n;
  in->urlmap = s->map;
  in->inflight.file_paths =
      rnd_below(&s->rs, 4) == 0 ? rnd_below(&s->rs, 3200) : 0;
  in->inflight.wildcards =
      rnd_below(&s->rs, 4) == 0 ? rnd_below(&s->rs, 17) : 0;
  in->month_paths = rnd_below(&s->rs, 3) == 0 ? rnd_below(&s->rs, 1500) : 0;
  in->copies = rnd_below(&s->rs, 4);
  (void)snprintf(s->origin.bucket, sizeof(s->origin.bucket), "www");
  (void)snprintf(s->origin.prefix, sizeof(s->origin.prefix), "site");
  in->tag_origin = rnd_below(&s->rs, 3) == 0 ? &s->origin : NULL;
}

static const char *const prefixes[] = {NULL, "/blog", "/caf%C3%A9/x"};

/* Sizes in four shapes: tiny, small, a few hundred, one larger site. */
static void site_make(struct site *s, uint64_t seed)
{
  size_t shape, n_files, n_dirs;

  memset(s, 0, sizeof(*s));
  s->rs = seed * UINT64_C(0x100000001B3) + 1;
  REQUIRE(manifest_new(&s->m) == 0);
  strlist_init(&s->dirs);
  planner_plan_init(&s->p);
  shape = rnd_below(&s->rs, 8);
  n_files = shape == 0  ? rnd_below(&s->rs, 3)
            : shape < 4 ? rnd_below(&s->rs, 40)
            : shape < 7 ? rnd_below(&s->rs, 600)
                        : 1500 + rnd_below(&s->rs, 1500);
  n_dirs = rnd_below(&s->rs, 1 + n_files / (1 + rnd_below(&s->rs, 8)));
  site_add_dirs(s, n_dirs, 1 + rnd_below(&s->rs, 5));
  site_files(s, n_files, rnd_below(&s->rs, 1 + n_files / 3),
             rnd_below(&s->rs, 2) == 0);
  site_shuffle(s);
  s->uo.prefix = prefixes[rnd_below(&s->rs, 3)];
  s->uo.pretty = rnd_below(&s->rs, 2) == 0;
  s->uo.dir_without_slash = rnd_below(&s->rs, 2) == 0;
  s->uo.query_strings = rnd_below(&s->rs, 6) == 0;
  REQUIRE(urlmap_new(&s->map, &s->uo, &s->err) == 0);
  site_opts(s);
  site_input(s);
  s->rc = planner_plan(&s->p, &s->in, &s->o, &s->err);
}

static void site_free(struct site *s)
{
  planner_plan_free(&s->p);
  changes_free(s->v, s->n);
  manifest_destroy(s->m);
  urlmap_destroy(s->map);
  strlist_free(&s->dirs);
}

/* FNV-1a over the plan's text. */
static uint64_t digest_of(const struct buf *b)
{
  uint64_t h = UINT64_C(14695981039346656037);
  size_t i;

  for (i = 0; i < b->len; i++) {
    h ^= (unsigned char)b->data[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}

static void dump_indices(struct buf *b, const char *what, const uint32_t *v,
                         size_t n)
{
  size_t i;

  REQUIRE(buf_addf(b, "%s %zu:", what, n) == 0);
  for (i = 0; i < n; i++)
    REQUIRE(buf_addf(b, " %zu", (size_t)v[i]) == 0);
  REQUIRE(buf_addc(b, '\n') == 0);
}

static void dump_batch(struct buf *b, const struct planner_batch *pb)
{
  size_t k;

  REQUIRE(buf_addf(b, "batch ready=%d cost=%.17g files=%zu wild=%zu\n",
                   pb->ready, pb->cost_usd, pb->b.n_files,
                   pb->b.n_wildcards) == 0);
  dump_indices(b, "changes", pb->changes, pb->n_changes);
  for (k = 0; k < pb->b.paths.n; k++)
    REQUIRE(buf_addf(b, "%s\n", pb->b.paths.v[k]) == 0);
}

/* Every observable part of the outcome, as text. */
static uint64_t site_digest(const struct site *s)
{
  const struct planner_plan *p = &s->p;
  struct buf b;
  uint64_t h;
  size_t i;

  buf_init(&b, (size_t)1 << 30);
  REQUIRE(buf_addf(&b, "rc=%d\n", s->rc) == 0);
  if (s->rc < 0)
    REQUIRE(buf_addf(&b, "%s\n", s->err.msg) == 0);
  for (i = 0; i < p->n; i++)
    dump_batch(&b, &p->v[i]);
  dump_indices(&b, "no_send", p->no_send, p->n_no_send);
  dump_indices(&b, "left", p->left, p->n_left);
  REQUIRE(buf_addf(&b, "%zu %zu %zu %zu %zu %zu %.17g %d %d\n", p->n_paths,
                   p->n_wildcards, p->n_evicted, p->n_by_tag, p->n_by_path,
                   p->tag_saved, p->cost_usd, p->over_budget,
                   p->evict_forced) == 0);
  h = digest_of(&b);
  buf_free(&b);
  return h;
}

#include "test_planner_diff_digests.h"

static void test_plans_match_recorded_digests(void)
{
  bool print = getenv("CFW_PLANNER_DIGESTS") != NULL;
  struct site s;
  uint64_t h;
  size_t i;

  REQUIRE(print || sizeof(recorded) / sizeof(recorded[0]) == DIFF_SEEDS);
  for (i = 0; i < DIFF_SEEDS; i++) {
    site_make(&s, i);
    h = site_digest(&s);
    if (print)
      printf("    UINT64_C(0x%016" PRIx64
             "), /* %zu: %zu changes, %zu batches, "
             "%zu wildcards, %zu left, %zu tags */\n",
             h, i, s.n, s.p.n, s.p.n_wildcards, s.p.n_left, s.p.n_by_tag);
    else if (h != recorded[i])
      TEST_FAIL_("seed %zu: digest %016" PRIx64 " != recorded %016" PRIx64, i,
                 h, recorded[i]);
    site_free(&s);
  }
}

/* The items change i needs: its cache tag, or its URL paths. */
static void want_items(const struct site *s, size_t i, struct strlist *out)
{
  const struct change *c = &s->v[i];
  const struct tree_entry *old = manifest_find(s->m, c->entry.path);
  char item[CACHETAG_ITEM_SIZE];

  if (s->in.tag_origin != NULL && old != NULL &&
      (change_kind(c) == CHANGE_MODIFIED || change_kind(c) == CHANGE_DELETED) &&
      (old->flags & (TREE_TAGGED | TREE_STALE)) == TREE_TAGGED) {
    REQUIRE(cachetag_item(s->in.tag_origin, c->entry.path, item) == 0);
    REQUIRE(strlist_push(out, item) == 0);
    return;
  }
  REQUIRE(urlmap_paths(s->map, c->entry.path, out, NULL) == 0);
}

/* True if the sorted list l holds p or a wildcard covering it. */
static bool has_or_covers(const struct strlist *l, const char *p)
{
  size_t k, len;

  for (k = 0; k < l->n; k++) {
    len = strlen(l->v[k]);
    if (strcmp(l->v[k], p) == 0 ||
        (l->v[k][len - 1] == '*' && strncmp(l->v[k], p, len - 1) == 0))
      return true;
  }
  return false;
}

static void check_ascending(const uint32_t *v, size_t n, size_t *seen,
                            size_t n_changes)
{
  size_t i;

  for (i = 0; i < n; i++) {
    REQUIRE(v[i] < n_changes);
    CHECK(i == 0 || v[i - 1] < v[i]);
    seen[v[i]]++;
  }
}

static void check_batch(const struct site *s, const struct planner_batch *pb,
                        size_t *seen)
{
  const struct strlist *l = &pb->b.paths;
  struct strlist want;
  size_t k, j, wild = 0;

  check_ascending(pb->changes, pb->n_changes, seen, s->n);
  CHECK_EQ_INT(pb->b.n_files, pb->n_changes);
  for (k = 0; k < l->n; k++) {
    CHECK(k == 0 || strcmp(l->v[k - 1], l->v[k]) < 0);
    wild += urlmap_is_wildcard(l->v[k]) ? 1 : 0;
  }
  CHECK_EQ_INT(pb->b.n_wildcards, wild);
  CHECK(wild <= CF_MAX_WILDCARDS_IN_PROGRESS);
  CHECK(l->n - wild <= s->o.max_paths_per_batch);
  for (k = 0; k < pb->n_changes; k++) {
    CHECK(change_kind(&s->v[pb->changes[k]]) != CHANGE_TOUCHED);
    strlist_init(&want);
    want_items(s, pb->changes[k], &want);
    for (j = 0; j < want.n; j++)
      if (!has_or_covers(l, want.v[j]))
        TEST_FAIL_("%s not in its batch", want.v[j]);
    strlist_free(&want);
  }
}

static void check_site(const struct site *s)
{
  size_t *seen = calloc(s->n + 1, sizeof(*seen));
  size_t i;

  REQUIRE(seen != NULL);
  for (i = 0; i < s->p.n; i++)
    check_batch(s, &s->p.v[i], seen);
  for (i = 0; i + 1 < s->p.n; i++)
    CHECK(s->p.v[i].ready || !s->p.v[i + 1].ready);
  check_ascending(s->p.no_send, s->p.n_no_send, seen, s->n);
  check_ascending(s->p.left, s->p.n_left, seen, s->n);
  for (i = 0; i < s->p.n_no_send; i++)
    CHECK(change_kind(&s->v[s->p.no_send[i]]) == CHANGE_TOUCHED);
  for (i = 0; i < s->n; i++)
    if (seen[i] != 1)
      TEST_FAIL_("change %zu (%s) planned %zu times", i, s->v[i].entry.path,
                 seen[i]);
  CHECK(s->p.n_left == 0 || s->p.over_budget);
  free(seen);
}

/* A failed plan is empty and says why.  The only failure the sites can
 * meet: a tagged file whose object key is longer than S3 allows. */
static void check_failed(const struct site *s)
{
  CHECK_EQ_INT(s->rc, -ENAMETOOLONG);
  CHECK_EQ_INT(s->err.code, s->rc);
  CHECK(s->in.tag_origin != NULL);
  CHECK_EQ_INT(s->p.n, 0);
  CHECK_EQ_INT(s->p.n_no_send, 0);
  CHECK_EQ_INT(s->p.n_left, 0);
}

static void test_random_plans_cover_each_change_once(void)
{
  size_t ok = 0;
  struct site s;
  size_t i;

  for (i = 0; i < DIFF_SEEDS; i++) {
    site_make(&s, i);
    if (s.rc == 0) {
      check_site(&s);
      ok++;
    } else {
      check_failed(&s);
    }
    site_free(&s);
  }
  /* The properties were checked on nearly every site. */
  CHECK(ok >= DIFF_SEEDS * 9 / 10);
}

static void test_same_input_gives_same_plan(void)
{
  struct site a, b;
  size_t i;

  for (i = 0; i < 20; i++) {
    site_make(&a, i * 7 + 3);
    site_make(&b, i * 7 + 3);
    CHECK(site_digest(&a) == site_digest(&b));
    site_free(&a);
    site_free(&b);
  }
}

TEST_MAIN(TEST(test_plans_match_recorded_digests),
          TEST(test_random_plans_cover_each_change_once),
          TEST(test_same_input_gives_same_plan))
