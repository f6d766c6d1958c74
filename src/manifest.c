/* SPDX-License-Identifier: MIT */
#include "manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pathref.h"

struct manifest {
  struct tree_entry *v; /* owned, and each path; sorted by path */
  size_t n;
  size_t cap;
};

static int manifest_reserve(struct manifest *m, size_t n);

int manifest_new(struct manifest **out)
{
  struct manifest *m;

  *out = NULL;
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    return -ENOMEM;
  *out = m;
  return 0;
}

int manifest_adopt(struct manifest **out, struct tree_entry *v, size_t n)
{
  int rc;

  rc = manifest_new(out);
  if (rc < 0)
    return rc;
  (*out)->v = v;
  (*out)->n = n;
  (*out)->cap = n;
  return 0;
}

int manifest_copy(struct manifest **out, const struct manifest *m)
{
  struct manifest *c;
  size_t i;
  int rc;

  rc = manifest_new(&c);
  if (rc == 0)
    rc = manifest_reserve(c, m->n);
  for (i = 0; rc == 0 && i < m->n; i++) {
    rc = tree_entry_copy(&c->v[i], &m->v[i]);
    if (rc == 0)
      c->n++;
  }
  if (rc < 0) {
    manifest_destroy(c);
    return -ENOMEM;
  }
  *out = c;
  return 0;
}

void manifest_clear_flags(struct manifest *m, uint32_t flags)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    m->v[i].flags &= ~flags;
}

void manifest_destroy(struct manifest *m)
{
  size_t i;

  if (m == NULL)
    return;
  for (i = 0; i < m->n; i++)
    tree_entry_free(&m->v[i]);
  free(m->v);
  free(m);
}

size_t manifest_count(const struct manifest *m)
{
  return m->n;
}

const struct tree_entry *manifest_at(const struct manifest *m, size_t i)
{
  return i < m->n ? &m->v[i] : NULL;
}

bool manifest_path_ok(const char *path, size_t len)
{
  size_t start = 0;
  size_t i;
  size_t n;

  if (len == 0 || len > MANIFEST_PATH_MAX || memchr(path, '\0', len))
    return false;
  for (i = 0; i <= len; i++) {
    if (i < len && path[i] != '/')
      continue;
    n = i - start;
    if (n == 0 || (n == 1 && path[start] == '.') ||
        (n == 2 && path[start] == '.' && path[start + 1] == '.'))
      return false;
    start = i + 1;
  }
  return true;
}

/* The first index in [lo, hi) whose path is not below path, or hi.
 * O(log(hi - lo)). */
static size_t lower_bound(const struct tree_entry *v, size_t lo, size_t hi,
                          const char *path)
{
  size_t mid;

  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    if (strcmp(v[mid].path, path) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* lower_bound over [from, end), galloping forward from from: O(log d)
 * for an answer d entries on, so a sorted batch of k edits walks n
 * entries in O(k log(n / k)), small batches in O(k log n) and a whole
 * rewrite in O(n). */
static size_t search_after(const struct tree_entry *v, size_t from, size_t end,
                           const char *path)
{
  size_t lo = from; /* v[from..lo) are below path */
  size_t hi = from;
  size_t step = 1;

  while (hi < end && strcmp(v[hi].path, path) < 0) {
    lo = hi + 1;
    hi = end - lo > step ? lo + step : end;
    step *= 2;
  }
  return lower_bound(v, lo, hi, path);
}

/* lower_bound over [0, end), galloping backward from end. */
static size_t search_before(const struct tree_entry *v, size_t end,
                            const char *path)
{
  size_t lo = end;
  size_t hi = end; /* v[hi..end) are not below path */
  size_t step = 1;

  while (lo > 0 && strcmp(v[lo - 1].path, path) >= 0) {
    hi = lo - 1;
    lo = hi > step ? hi - step : 0;
    step *= 2;
  }
  return lower_bound(v, lo, hi, path);
}

/* Compares path with the key dir[0..len) followed by the byte last, as
 * strcmp would compare it with that string. */
static int cmp_dir_key(const char *path, const char *dir, size_t len,
                       unsigned char last)
{
  int c = strncmp(path, dir, len);

  if (c != 0)
    return c;
  if ((unsigned char)path[len] != last)
    return (unsigned char)path[len] < last ? -1 : 1;
  return path[len + 1] != '\0'; /* longer than the key, or equal */
}

/* The first index whose path is not below dir[0..len) + last. */
static size_t lower_bound_dir(const struct manifest *m, const char *dir,
                              size_t len, unsigned char last)
{
  size_t lo = 0;
  size_t hi = m->n;
  size_t mid;

  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    if (cmp_dir_key(m->v[mid].path, dir, len, last) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The paths under dir sort from dir + "/" up to dir + "0", the byte after
 * '/', so they are one run of the array. */
size_t manifest_range_under(const struct manifest *m, const char *dir,
                            size_t *first)
{
  size_t len = strlen(dir);

  *first = 0;
  if (len == 0)
    return m->n;
  *first = lower_bound_dir(m, dir, len, '/');
  return lower_bound_dir(m, dir, len, '/' + 1) - *first;
}

size_t manifest_count_under(const struct manifest *m, const char *dir)
{
  size_t first;

  return manifest_range_under(m, dir, &first);
}

/* Index of path, or of where it would go (*found false).  O(log n). */
static size_t manifest_search(const struct manifest *m, const char *path,
                              bool *found)
{
  size_t i;

  i = lower_bound(m->v, 0, m->n, path);
  *found = i < m->n && strcmp(m->v[i].path, path) == 0;
  return i;
}

const struct tree_entry *manifest_find(const struct manifest *m,
                                       const char *path)
{
  bool found;
  size_t i;

  i = manifest_search(m, path, &found);
  return found ? &m->v[i] : NULL;
}

void manifest_unflag(struct manifest *m, const char *path, uint32_t flags)
{
  bool found;
  size_t i;

  i = manifest_search(m, path, &found);
  if (found)
    m->v[i].flags &= ~flags;
}

static int manifest_reserve(struct manifest *m, size_t n)
{
  struct tree_entry *v;
  size_t cap;

  if (n <= m->cap)
    return 0;
  cap = m->cap ? m->cap : 64;
  while (cap < n)
    cap = cap > SIZE_MAX / 2 ? n : cap * 2;
  if (cap > SIZE_MAX / sizeof(*v))
    return -ENOMEM;
  v = realloc(m->v, cap * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  m->v = v;
  m->cap = cap;
  return 0;
}

static bool entry_storable(const struct tree_entry *e)
{
  return e->path != NULL && (e->flags & TREE_HASHED) &&
         (e->flags & ~TREE_FLAGS_KNOWN) == 0 &&
         manifest_path_ok(e->path, strlen(e->path));
}

int manifest_put(struct manifest *m, const struct tree_entry *e)
{
  struct tree_entry copy;
  bool found;
  size_t i;

  if (!entry_storable(e))
    return -EINVAL;
  if (manifest_reserve(m, m->n + 1) < 0 || tree_entry_copy(&copy, e) < 0)
    return -ENOMEM;
  i = manifest_search(m, e->path, &found);
  if (found) {
    tree_entry_free(&m->v[i]);
    m->v[i] = copy;
    return 0;
  }
  memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
  m->v[i] = copy;
  m->n++;
  return 0;
}

int manifest_remove(struct manifest *m, const char *path)
{
  bool found;
  size_t i;

  i = manifest_search(m, path, &found);
  if (!found)
    return -ENOENT;
  tree_entry_free(&m->v[i]);
  memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
  m->n--;
  return 0;
}

/* A batch of changes as manifest_apply reads them: in place, in path
 * order, through order when v is not sorted (a diff's changes are, so a
 * commit costs no array of its own: issue 13).  take is v itself when m
 * takes the added paths (manifest_apply_take), else NULL. */
struct batch_view {
  const struct change *v;
  const struct change **order; /* owned; NULL if v is sorted */
  size_t n;
  struct change *take;
};

static const struct change *view_at(const struct batch_view *b, size_t j)
{
  return b->order != NULL ? b->order[j] : &b->v[j];
}

static const char *view_path(const struct batch_view *b, size_t j)
{
  return view_at(b, j)->entry.path;
}

static bool view_removes(const struct batch_view *b, size_t j)
{
  return change_kind(view_at(b, j)) == CHANGE_DELETED;
}

static int change_ptr_cmp(const void *a, const void *b)
{
  const struct change *const *x = a;
  const struct change *const *y = b;

  return strcmp((*x)->entry.path, (*y)->entry.path);
}

/* Whether v is in strictly increasing path order. */
static bool changes_sorted(const struct change *v, size_t n)
{
  size_t i;

  for (i = 1; i < n; i++)
    if (strcmp(v[i - 1].entry.path, v[i].entry.path) >= 0)
      return false;
  return true;
}

/* Checks the batch; on -EINVAL, *bad names the offending path and *why
 * the reason. */
static int view_check(const struct batch_view *b, const char **bad,
                      const char **why)
{
  size_t i;

  for (i = 0; i < b->n; i++) {
    *bad = view_path(b, i);
    if (!view_removes(b, i) && !entry_storable(&view_at(b, i)->entry))
      *why = "cannot be recorded (not hashed, or a bad path)";
    else if (i > 0 && strcmp(view_path(b, i - 1), view_path(b, i)) == 0)
      *why = "is edited twice in one batch";
    else
      continue;
    return -EINVAL;
  }
  return 0;
}

/* Makes b a checked, path-ordered view of v[0..n): v itself if sorted,
 * else through an array of pointers that view_free frees. */
static int view_init(struct batch_view *b, const struct change *v, size_t n,
                     struct change *take, const char **bad, const char **why)
{
  /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
  const size_t each = sizeof(*b->order);
  size_t i;
  int rc;

  b->v = v;
  b->order = NULL;
  b->n = n;
  b->take = take;
  if (!changes_sorted(v, n)) {
    if (n > SIZE_MAX / each)
      return -ENOMEM;
    b->order = malloc(n * each);
    if (b->order == NULL)
      return -ENOMEM;
    for (i = 0; i < n; i++)
      b->order[i] = &v[i];
    qsort(b->order, n, each, change_ptr_cmp);
  }
  rc = view_check(b, bad, why);
  if (rc < 0) {
    free(b->order);
    b->order = NULL;
  }
  return rc;
}

/* What a batch does to m, counted before anything changes. */
struct edit_plan {
  size_t adds;   /* puts of paths m lacks */
  size_t copies; /* of those, the ones whose path is copied, not taken */
  size_t dels;   /* removals of paths m holds */
};

static bool entry_is(const struct manifest *m, size_t i, const char *path)
{
  return i < m->n && strcmp(m->v[i].path, path) == 0;
}

/* One forward walk of the batch over m.  O(k log(n / k)). */
static void edits_plan(const struct manifest *m, const struct batch_view *b,
                       struct edit_plan *p)
{
  const char *path;
  size_t i = 0;
  size_t j;
  bool found;

  memset(p, 0, sizeof(*p));
  for (j = 0; j < b->n; j++) {
    path = view_path(b, j);
    i = search_after(m->v, i, m->n, path);
    found = entry_is(m, i, path);
    if (view_removes(b, j))
      p->dels += found;
    else if (!found) {
      p->adds++;
      p->copies += b->take == NULL;
    }
  }
}

/* Room for the adds before the removals are compacted: m keeps its n
 * entries until then.  Grows by at least an eighth, so that a run of
 * small commits does not copy the array each time, yet a baseline into
 * an empty manifest allocates exactly what it needs. */
static int edits_reserve(struct manifest *m, const struct edit_plan *p)
{
  struct tree_entry *v;
  size_t need;
  size_t cap;

  if (p->adds <= p->dels || m->n + (p->adds - p->dels) <= m->cap)
    return 0;
  need = m->n + (p->adds - p->dels);
  if (need < m->n || need > SIZE_MAX / sizeof(*v))
    return -ENOMEM;
  cap = m->cap + m->cap / 8;
  if (cap < need || cap > SIZE_MAX / sizeof(*v))
    cap = need;
  /* A failed realloc leaves the old block as it was (C11 7.22.3.5), so
   * m is untouched; glibc's __libc_realloc grows a large (mmap'd) block
   * by mremap_chunk, with no second copy alive. */
  v = realloc(m->v, cap * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  m->v = v;
  m->cap = cap;
  return 0;
}

/* Copies the path of each added put, in path order, into *out (NULL if
 * none, or if m takes the batch's paths); the caller frees the array. */
static int edits_copy_paths(const struct manifest *m,
                            const struct batch_view *b, size_t copies,
                            char ***out)
{
  const char *path;
  char **c;
  size_t i = 0;
  size_t j;
  size_t k = 0;

  *out = NULL;
  if (copies == 0)
    return 0;
  c = calloc(copies, sizeof(*c)); /* copies <= n: no wrap */
  if (c == NULL)
    return -ENOMEM;
  for (j = 0; j < b->n && k < copies; j++) {
    path = view_path(b, j);
    i = search_after(m->v, i, m->n, path);
    if (view_removes(b, j) || entry_is(m, i, path))
      continue;
    c[k] = pathref_dup(path);
    if (c[k++] == NULL) {
      while (k-- > 0)
        pathref_drop(c[k]);
      free(c);
      return -ENOMEM;
    }
  }
  *out = c;
  return 0;
}

/* Frees the entries the batch removes and closes the gaps, in one
 * forward pass: each kept run moves once.  Cannot fail. */
static void edits_delete(struct manifest *m, const struct batch_view *b)
{
  struct tree_entry *v = m->v;
  const char *path;
  size_t r = 0; /* v[r..) not yet looked at */
  size_t w = 0; /* v[..w) kept */
  size_t j;
  size_t p;

  for (j = 0; j < b->n; j++) {
    if (!view_removes(b, j))
      continue;
    path = view_path(b, j);
    p = search_after(v, r, m->n, path);
    if (!entry_is(m, p, path))
      continue;
    if (w != r)
      memmove(&v[w], &v[r], (p - r) * sizeof(*v));
    w += p - r;
    tree_entry_free(&v[p]);
    r = p + 1;
  }
  if (w != r)
    memmove(&v[w], &v[r], (m->n - r) * sizeof(*v));
  m->n = w + (m->n - r);
}

/* The path an added entry j stores: taken from the caller's change,
 * else the next of the copies (taken from the last, as puts are placed
 * from the end). */
static char *edit_new_path(const struct batch_view *b, size_t j, char **copies,
                           size_t *n_copies)
{
  struct change *c;
  char *path;

  if (b->take == NULL)
    return copies[--*n_copies];
  c = &b->take[view_at(b, j) - b->v];
  path = c->entry.path;
  c->entry.path = NULL;
  return path;
}

/* Places the batch's puts from the end of the array, which has room for
 * adds more entries: a replaced entry keeps its path string; an added
 * one takes a new path.  Each kept run moves once, and not at all once
 * every add is placed (a rewrite of the whole site only overwrites).
 * Cannot fail. */
static void edits_put(struct manifest *m, const struct batch_view *b,
                      const struct edit_plan *p, char **copies)
{
  struct tree_entry *v = m->v;
  size_t n_copies = p->copies;
  size_t end = m->n;         /* v[..end) not yet moved */
  size_t w = m->n + p->adds; /* v[w..) in place */
  size_t n = b->n;
  const char *want;
  size_t i;
  size_t run;
  bool found;
  char *path;

  while (n-- > 0) {
    if (view_removes(b, n))
      continue;
    want = view_path(b, n);
    i = search_before(v, end, want);
    found = i < end && strcmp(v[i].path, want) == 0;
    run = end - i - found;
    w -= run;
    if (w != i + found)
      memmove(&v[w], &v[i + found], run * sizeof(*v));
    path = found ? v[i].path : edit_new_path(b, n, copies, &n_copies);
    v[--w] = view_at(b, n)->entry;
    v[w].path = path;
    end = i;
  }
  m->n += p->adds;
}

/* manifest_apply, and with take (v itself) manifest_apply_take. */
static int apply_batch(struct manifest *m, const struct change *v, size_t n,
                       struct change *take, struct cfw_err *err)
{
  struct batch_view b;
  struct edit_plan plan;
  const char *bad = "";
  const char *why = "";
  char **copies = NULL;
  int rc;

  if (n == 0)
    return 0;
  rc = view_init(&b, v, n, take, &bad, &why);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc, "recording changes: %s %s", bad, why);
  if (rc < 0)
    return cfw_err_set(err, rc, "recording changes: out of memory");
  /* Everything that can fail comes first; then m changes by moves that
   * cannot, so a failure leaves it as it was (at most with more room). */
  edits_plan(m, &b, &plan);
  rc = edits_reserve(m, &plan);
  if (rc == 0)
    rc = edits_copy_paths(m, &b, plan.copies, &copies);
  if (rc < 0) {
    free(b.order);
    return cfw_err_set(err, rc, "recording changes: out of memory");
  }
  if (plan.dels > 0)
    edits_delete(m, &b);
  edits_put(m, &b, &plan, copies);
  free(copies);
  free(b.order);
  return 0;
}

int manifest_apply(struct manifest *m, const struct change *v, size_t n,
                   struct cfw_err *err)
{
  return apply_batch(m, v, n, NULL, err);
}

int manifest_apply_take(struct manifest *m, struct change *v, size_t n,
                        struct cfw_err *err)
{
  return apply_batch(m, v, n, v, err);
}
