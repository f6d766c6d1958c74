/* SPDX-License-Identifier: MIT */
#include "planner.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cflimits.h"
#include "planner_tree.h"
#include "planner_unit.h"

/* Budget arithmetic is in doubles; this keeps 0.015 / 0.005 from coming
 * out as 2.999... paths. */
#define PLANNER_COST_EPSILON 1e-9

/* The batch being filled, ready or queued. */
struct planner_bin {
  bool open;
  size_t seq;
  size_t nf;
  size_t nw;
};

struct planner_pack {
  size_t ready_f; /* file paths still free in progress now */
  size_t ready_w; /* wildcards still free in progress now */
  size_t batch_f; /* file paths per batch */
  size_t budget;  /* paths the month may still take; SIZE_MAX: any */
  size_t spent;   /* paths placed so far, duplicates included */
  struct planner_bin ready;
  struct planner_bin queued;
  size_t n_ready;
  size_t n_queued;
};

void planner_opts_init(struct planner_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->max_paths_per_batch = CF_MAX_FILE_PATHS_IN_PROGRESS;
  o->wildcard_threshold = PLANNER_DEFAULT_WILDCARD_THRESHOLD;
  o->max_evict_ratio = PLANNER_DEFAULT_MAX_EVICT_RATIO;
  o->monthly_free_paths = CF_FREE_PATHS_PER_MONTH;
}

void planner_plan_init(struct planner_plan *p)
{
  memset(p, 0, sizeof(*p));
}

void planner_plan_free(struct planner_plan *p)
{
  size_t i;

  if (p == NULL)
    return;
  for (i = 0; i < p->n; i++) {
    batch_free(&p->v[i].b);
    free(p->v[i].changes);
  }
  free(p->v);
  free(p->no_send);
  free(p->left);
  planner_plan_init(p);
}

double planner_cost_usd(uint64_t month_paths, uint64_t n, uint64_t free_paths)
{
  uint64_t before = month_paths > free_paths ? month_paths - free_paths : 0;
  uint64_t after;

  after = month_paths + n > free_paths ? month_paths + n - free_paths : 0;
  return (double)(after - before) * CF_PRICE_PER_PATH_USD;
}

void planner_batch_gather(const struct planner_batch *b, const struct change *v,
                          struct change *out)
{
  size_t i;

  for (i = 0; i < b->n_changes; i++)
    out[i] = v[b->changes[i]];
}

static int planner_check_opts(const struct planner_opts *o, struct cfw_err *err)
{
  if (o->max_paths_per_batch < URLMAP_MAX_PATHS_PER_FILE ||
      o->max_paths_per_batch > CF_MAX_FILE_PATHS_IN_PROGRESS)
    return cfw_err_set(err, -EINVAL, "max_paths_per_batch %zu: not in [%d, %d]",
                       o->max_paths_per_batch, URLMAP_MAX_PATHS_PER_FILE,
                       CF_MAX_FILE_PATHS_IN_PROGRESS);
  /* Written so that NaN fails too. */
  if (!(o->max_evict_ratio >= 0 && o->max_evict_ratio <= 1))
    return cfw_err_set(err, -EINVAL, "max_evict_ratio %g: not in [0, 1]",
                       o->max_evict_ratio);
  if (o->has_budget &&
      !(o->monthly_budget_usd >= 0 && isfinite(o->monthly_budget_usd)))
    return cfw_err_set(err, -EINVAL,
                       "monthly_budget_usd %g: not a finite amount >= 0",
                       o->monthly_budget_usd);
  return 0;
}

static uint64_t planner_sat_add(uint64_t a, uint64_t b)
{
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* What is left of total after used, as a size_t below SIZE_MAX (which
 * means "no limit" elsewhere). */
static size_t planner_left_of(uint64_t total, uint64_t used)
{
  uint64_t left = total > used ? total - used : 0;

  return left >= SIZE_MAX ? SIZE_MAX - 1 : (size_t)left;
}

/* Paths the month may still take within the budget; SIZE_MAX if none is
 * set or it may be passed. */
static size_t planner_budget_paths(const struct planner_opts *o,
                                   uint64_t month_paths)
{
  double paid;
  uint64_t total;

  if (!o->has_budget || o->allow_over_budget)
    return SIZE_MAX;
  /* The conversion truncates, which for an amount >= 0 is floor(). */
  paid = o->monthly_budget_usd / CF_PRICE_PER_PATH_USD + PLANNER_COST_EPSILON;
  total = paid >= (double)(UINT64_MAX / 2) ? UINT64_MAX / 2 : (uint64_t)paid;
  return planner_left_of(planner_sat_add(total, o->monthly_free_paths),
                         month_paths);
}

static uint64_t planner_copies(const struct planner_input *in)
{
  return in->copies > 1 ? in->copies : 1;
}

/* Paths a plan may still take when each bills once per distribution. */
static size_t planner_per_copy(size_t paths, const struct planner_input *in)
{
  return paths == SIZE_MAX ? SIZE_MAX : (size_t)(paths / planner_copies(in));
}

static size_t planner_free_now(size_t limit, size_t in_progress)
{
  return in_progress < limit ? limit - in_progress : 0;
}

static void planner_goal_init(struct planner_goal *g,
                              const struct planner_input *in,
                              const struct planner_opts *o)
{
  size_t free_f =
      planner_free_now(CF_MAX_FILE_PATHS_IN_PROGRESS, in->inflight.file_paths);
  size_t free_w =
      planner_free_now(CF_MAX_WILDCARDS_IN_PROGRESS, in->inflight.wildcards);

  g->threshold = o->wildcard_threshold;
  g->max_ratio = o->max_evict_ratio;
  g->never = o->never_wildcard;
  g->strict = o->strict_evict_ratio;
  g->soft_paths = planner_per_copy(
      planner_left_of(o->monthly_free_paths, in->month_paths), in);
  g->hard_paths =
      planner_per_copy(planner_budget_paths(o, in->month_paths), in);
  /* With nothing free now, everything waits anyway: aim for batches
   * that fit an idle distribution instead. */
  g->cap_files = free_f > 0 ? free_f : o->max_paths_per_batch;
  g->cap_wild = free_w > 0 ? free_w : CF_MAX_WILDCARDS_IN_PROGRESS;
  g->batch_files = o->max_paths_per_batch;
}

/* Puts nf file paths and nw wildcards into bin b, opening a new batch if
 * they do not fit there; every unit fits an empty batch
 * (planner_cover_choose sees to that). */
static size_t planner_bin_put(struct planner_bin *b, size_t nf, size_t nw,
                              size_t batch_f, size_t *n_opened)
{
  if (!b->open || b->nf + nf > batch_f ||
      b->nw + nw > CF_MAX_WILDCARDS_IN_PROGRESS) {
    b->open = true;
    b->seq = (*n_opened)++;
    b->nf = 0;
    b->nw = 0;
  }
  b->nf += nf;
  b->nw += nw;
  return b->seq;
}

/* Places u: left out if over the budget, else in a ready batch if it
 * fits what is free in progress now, else in a queued one.  Counts are
 * upper bounds (duplicates still in), so the limits hold after the
 * batches drop them. */
static void planner_place(struct planner_pack *pk, struct planner_unit *u,
                          size_t nf, size_t nw)
{
  size_t paths = nf + nw;

  if (pk->budget != SIZE_MAX && paths > pk->budget - pk->spent) {
    u->left = true;
    return;
  }
  pk->spent += paths;
  u->ready = nf <= pk->ready_f && nw <= pk->ready_w;
  if (u->ready) {
    pk->ready_f -= nf;
    pk->ready_w -= nw;
    /* A batch count never passes the unit count, itself 32-bit. */
    u->seq = (uint32_t)planner_bin_put(&pk->ready, nf, nw, pk->batch_f,
                                       &pk->n_ready);
  } else {
    u->seq = (uint32_t)planner_bin_put(&pk->queued, nf, nw, pk->batch_f,
                                       &pk->n_queued);
  }
}

static void planner_pack_units(struct planner_work *w, struct planner_pack *pk,
                               const struct planner_input *in,
                               const struct planner_opts *o)
{
  size_t i;

  memset(pk, 0, sizeof(*pk));
  pk->ready_f =
      planner_free_now(CF_MAX_FILE_PATHS_IN_PROGRESS, in->inflight.file_paths);
  pk->ready_w =
      planner_free_now(CF_MAX_WILDCARDS_IN_PROGRESS, in->inflight.wildcards);
  pk->batch_f = o->max_paths_per_batch;
  pk->budget = planner_per_copy(planner_budget_paths(o, in->month_paths), in);
  for (i = 0; i < w->n_units; i++)
    planner_place(pk, &w->units[i], planner_unit_nf(w, &w->units[i]),
                  planner_unit_nw(w, &w->units[i]));
}

/* The batch index of a placed unit: ready batches come first. */
static size_t planner_batch_of(const struct planner_unit *u,
                               const struct planner_pack *pk)
{
  return u->ready ? u->seq : pk->n_ready + u->seq;
}

/* An array for n indices; never a zero-size allocation. */
static size_t *planner_indices(size_t n)
{
  return malloc((n + 1) * sizeof(size_t));
}

/* An array for n indices of changes (planner.h); n < 2^32. */
static uint32_t *planner_change_indices(size_t n)
{
  return malloc((n + 1) * sizeof(uint32_t));
}

/* Counts the changes of each batch, of left and of no_send. */
static void planner_count_plan(struct planner_plan *out,
                               const struct planner_work *w,
                               const struct planner_pack *pk, size_t n_changes)
{
  const struct planner_unit *u;
  size_t next = 0;
  size_t k;
  size_t i;

  for (i = 0; i < n_changes; i++) {
    k = planner_unit_of(w, i, &next);
    u = k != PLANNER_NONE ? &w->units[k] : NULL;
    if (u == NULL)
      out->n_no_send++;
    else if (u->left)
      out->n_left++;
    else if (planner_batch_of(u, pk) < out->n) /* else planner_fill fails */
      out->v[planner_batch_of(u, pk)].n_changes++;
  }
}

/* Allocates the batches and every index array of the plan, each of
 * exactly its size: the plan outlives the planning. */
static int planner_alloc_plan(struct planner_plan *out,
                              const struct planner_work *w,
                              const struct planner_pack *pk, size_t n_changes)
{
  size_t i;

  /* calloc leaves each batch as batch_init would. */
  out->v = calloc(pk->n_ready + pk->n_queued + 1, sizeof(*out->v));
  if (out->v == NULL)
    return -ENOMEM;
  out->n = pk->n_ready + pk->n_queued;
  for (i = 0; i < out->n; i++)
    out->v[i].ready = i < pk->n_ready;
  planner_count_plan(out, w, pk, n_changes);
  out->left = planner_change_indices(out->n_left);
  out->no_send = planner_change_indices(out->n_no_send);
  if (out->left == NULL || out->no_send == NULL)
    return -ENOMEM;
  out->n_left = 0; /* counted again as they are filled in */
  out->n_no_send = 0;
  for (i = 0; i < out->n; i++) {
    out->v[i].changes = planner_change_indices(out->v[i].n_changes);
    if (out->v[i].changes == NULL)
      return -ENOMEM;
    out->v[i].n_changes = 0;
  }
  return 0;
}

/* True if some item of u's changes is not under u's wildcard: a file's
 * own unit, or a wildcard's node that leaves paths uncovered (ef, ew). */
static bool planner_unit_has_items(const struct planner_work *w,
                                   const struct planner_unit *u)
{
  const struct planner_node *n;

  if (u->node == PLANNER_NONE32)
    return true;
  n = &w->pt.nodes[u->node];
  return n->ef > 0 || n->ew > 0;
}

/* What planner_fill files each change with. */
struct planner_filler {
  struct planner_plan *out;
  const struct planner_work *w;
  const struct planner_pack *pk;
  const struct planner_input *in;
  struct buf b; /* room for one change's items */
};

/* Adds change i's items to its batch, after the unit's wildcard if i
 * starts the unit; items the wildcard covers are not copied.  They are
 * built again only if some may be left to copy: under a wildcard that
 * covers them all (a full rewrite) a change costs nothing here but its
 * index. */
static int planner_add_items(struct planner_filler *f, struct planner_batch *pb,
                             const struct planner_unit *u, size_t i,
                             bool starts)
{
  size_t cover = planner_idx(u->node);
  int rc = 0;

  if (cover != PLANNER_NONE && starts)
    rc = strlist_push_take(&pb->b.paths, planner_wildcard(&f->w->pt, cover));
  if (rc < 0 || !planner_unit_has_items(f->w, u))
    return rc;
  return planner_items_push(&f->w->pt, f->in, i, cover, &f->b, &pb->b.paths);
}

/* Files change i, of unit u (which it starts, or not), into its
 * batch. */
static int planner_put_change(struct planner_filler *f, size_t i,
                              const struct planner_unit *u, bool starts)
{
  struct planner_batch *pb;

  /* Cannot fail, as planner_alloc_plan sized every batch the units
   * use; the check keeps a broken invariant from writing anywhere. */
  if (planner_batch_of(u, f->pk) >= f->out->n)
    return -EINVAL;
  pb = &f->out->v[planner_batch_of(u, f->pk)];
  if (pb->changes == NULL)
    return -EINVAL;
  pb->changes[pb->n_changes++] = (uint32_t)i;
  return planner_add_items(f, pb, u, i, starts);
}

/* Files every change into its batch, the left-out list or no_send.  A
 * change starts its unit if the unit is the next one (planner_unit_of). */
static int planner_fill(struct planner_plan *out, const struct planner_work *w,
                        const struct planner_pack *pk,
                        const struct planner_input *in)
{
  struct planner_filler f = {out, w, pk, in, {NULL, 0, 0, 0}};
  size_t next = 0;
  size_t seen;
  size_t i, k;
  int rc = 0;

  buf_init(&f.b, SIZE_MAX / 2);
  for (i = 0; i < in->n_changes && rc == 0; i++) {
    seen = next;
    k = planner_unit_of(w, i, &next);
    if (k == PLANNER_NONE)
      out->no_send[out->n_no_send++] = (uint32_t)i;
    else if (w->units[k].left)
      out->left[out->n_left++] = (uint32_t)i;
    else
      rc = planner_put_change(&f, i, &w->units[k], k == seen);
  }
  buf_free(&f.b);
  return rc;
}

/* True if wildcard w covers p, another path. */
static bool planner_covers(const char *w, const char *p)
{
  size_t stem = strlen(w) - 1;

  return strcmp(w, p) != 0 && strncmp(w, p, stem) == 0;
}

/* Drops the paths that a wildcard of the same list covers: CloudFront
 * would invalidate them twice over.  Every path is judged before any is
 * freed, and covering is transitive, so a covered wildcard may still
 * judge others.  A batch holds at most CF_MAX_WILDCARDS_IN_PROGRESS
 * wildcards, so this is O(paths). */
static int planner_drop_covered(struct strlist *l)
{
  size_t *wild = planner_indices(l->n);
  bool *drop = calloc(l->n + 1, sizeof(*drop));
  size_t n_wild = 0;
  size_t i, j, k;

  if (wild == NULL || drop == NULL) {
    free(wild);
    free(drop);
    return -ENOMEM;
  }
  for (i = 0; i < l->n; i++)
    if (urlmap_is_wildcard(l->v[i]))
      wild[n_wild++] = i;
  for (i = 0; i < l->n; i++)
    for (k = 0; k < n_wild && !drop[i]; k++)
      drop[i] = planner_covers(l->v[wild[k]], l->v[i]);
  for (i = 0, j = 0; i < l->n; i++) {
    if (drop[i])
      free(l->v[i]);
    else
      l->v[j++] = l->v[i];
  }
  l->n = j;
  free(wild);
  free(drop);
  return 0;
}

/* Whether the flush's paths fit what is in progress now. */
static bool planner_flush_ready(const struct planner_input *in)
{
  size_t nw = 0;
  size_t i;

  for (i = 0; i < in->flush->n; i++)
    nw += urlmap_is_wildcard(in->flush->v[i]) ? 1 : 0;
  return in->inflight.wildcards + nw <= CF_MAX_WILDCARDS_IN_PROGRESS &&
         in->inflight.file_paths + (in->flush->n - nw) <=
             CF_MAX_FILE_PATHS_IN_PROGRESS;
}

/* Puts in->flush in a batch of its own: first, or after the ready
 * batches if it does not fit now.  Nothing indexes the batches yet. */
static int planner_add_flush(struct planner_plan *out,
                             const struct planner_input *in)
{
  struct planner_batch *v;
  struct planner_batch *pb;
  bool ready;
  size_t at = 0;
  size_t i;
  int rc = 0;

  if (in->flush == NULL || in->flush->n == 0)
    return 0;
  ready = planner_flush_ready(in);
  while (!ready && at < out->n && out->v[at].ready)
    at++;
  v = realloc(out->v, (out->n + 1) * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  out->v = v;
  memmove(v + at + 1, v + at, (out->n - at) * sizeof(*v));
  out->n++;
  pb = &v[at];
  memset(pb, 0, sizeof(*pb));
  batch_init(&pb->b);
  pb->ready = ready;
  pb->changes = planner_change_indices(0);
  if (pb->changes == NULL)
    return -ENOMEM;
  for (i = 0; i < in->flush->n && rc == 0; i++)
    rc = strlist_push(&pb->b.paths, in->flush->v[i]);
  return rc;
}

/* Sorts and trims each batch, then prices them in order. */
static int planner_finish(struct planner_plan *out,
                          const struct planner_input *in,
                          const struct planner_opts *o)
{
  uint64_t month = in->month_paths;
  struct planner_batch *pb;
  size_t i, k;

  for (i = 0; i < out->n; i++) {
    pb = &out->v[i];
    strlist_sort_unique(&pb->b.paths);
    if (planner_drop_covered(&pb->b.paths) < 0)
      return -ENOMEM;
    pb->b.n_files = pb->n_changes;
    for (k = 0; k < pb->b.paths.n; k++)
      pb->b.n_wildcards += urlmap_is_wildcard(pb->b.paths.v[k]) ? 1 : 0;
    pb->cost_usd = planner_cost_usd(month, pb->b.paths.n * planner_copies(in),
                                    o->monthly_free_paths);
    month += pb->b.paths.n * planner_copies(in);
    out->n_paths += pb->b.paths.n;
    out->n_wildcards += pb->b.n_wildcards;
    out->cost_usd += pb->cost_usd;
  }
  return 0;
}

/* Sets over_budget, evict_forced and n_evicted. */
static void planner_flags(struct planner_plan *out,
                          const struct planner_work *w,
                          const struct planner_input *in,
                          const struct planner_opts *o)
{
  const struct planner_node *n;
  double month_cost;
  bool passes;
  size_t i;

  for (i = 0; i < w->n_units; i++) {
    if (w->units[i].node == PLANNER_NONE32 || w->units[i].left)
      continue;
    n = &w->pt.nodes[w->units[i].node];
    out->n_evicted += planner_node_evicted(n);
    if (!planner_node_ratio_ok(n, o->max_evict_ratio))
      out->evict_forced = true;
  }
  month_cost =
      planner_cost_usd(0, in->month_paths + out->n_paths * planner_copies(in),
                       o->monthly_free_paths);
  passes = month_cost > o->monthly_budget_usd + PLANNER_COST_EPSILON;
  /* A month already past the budget is not this plan's doing. */
  out->over_budget =
      out->n_left > 0 || (o->has_budget && out->n_paths > 0 && passes);
}

int planner_plan(struct planner_plan *out, const struct planner_input *in,
                 const struct planner_opts *o, struct cfw_err *err)
{
  struct planner_work w;
  struct planner_pack pk;
  struct planner_goal g;
  int rc;

  planner_plan_free(out);
  cfw_err_clear(err);
  rc = planner_check_opts(o, err);
  if (rc < 0)
    return rc;
  memset(&w, 0, sizeof(w));
  rc = planner_tree_build(&w.pt, in, err);
  if (rc < 0)
    return rc;
  planner_goal_init(&g, in, o);
  planner_cover_choose(&w.pt, &g);
  rc = planner_make_units(&w, in, err);
  if (rc == 0) {
    planner_pack_units(&w, &pk, in, o);
    rc = planner_alloc_plan(out, &w, &pk, in->n_changes);
  }
  if (rc == 0)
    rc = planner_fill(out, &w, &pk, in);
  if (rc == 0)
    rc = planner_add_flush(out, in);
  if (rc == 0)
    rc = planner_finish(out, in, o);
  if (rc == 0) {
    planner_flags(out, &w, in, o);
    out->n_by_tag = w.pt.by_tag;
    out->n_by_path = w.pt.by_path;
    out->tag_saved = w.pt.tag_saved;
  }
  planner_work_free(&w);
  if (rc < 0) {
    planner_plan_free(out);
    return cfw_err_set(err, rc, "planner: %s", strerror(-rc));
  }
  return 0;
}
