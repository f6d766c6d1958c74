/* SPDX-License-Identifier: MIT */
#include "partwalk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "pathref.h"
#include "util.h"

/* True if path is prefix itself or lies under it. */
static bool partwalk_covers(const char *prefix, const char *path)
{
  size_t n = strlen(prefix);

  return strncmp(prefix, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int partwalk_strcmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True if a proper ancestor of path ("a" for "a/b/c", "a/b") is in the
 * sorted v[0..n).  O(depth log n); prefix has room for path. */
static bool partwalk_has_ancestor(char *const *v, size_t n, const char *path,
                                  char *prefix)
{
  const char *slash;
  bool found = false;

  for (slash = strchr(path, '/'); slash != NULL && !found;
       slash = strchr(slash + 1, '/')) {
    memcpy(prefix, path, (size_t)(slash - path));
    prefix[slash - path] = '\0';
    found = bsearch(&prefix, v, n, sizeof(*v), partwalk_strcmp) != NULL;
  }
  return found;
}

void partwalk_normalise(struct strlist *paths)
{
  bool *drop;
  size_t i;
  size_t j;

  strlist_sort_unique(paths);
  /* Sorted, a descendant follows its ancestor but not always directly
   * ("a" < "a.html" < "a/x.html"), so each path looks its ancestors up
   * rather than comparing with its neighbour. */
  drop = calloc(paths->n + 1, sizeof(*drop));
  for (i = 0; drop != NULL && i < paths->n; i++) {
    char *prefix = strdup(paths->v[i]);

    if (prefix != NULL)
      drop[i] = partwalk_has_ancestor(paths->v, paths->n, paths->v[i], prefix);
    free(prefix);
  }
  for (i = 0, j = 0; i < paths->n; i++) {
    if (drop != NULL && drop[i]) {
      free(paths->v[i]);
      continue;
    }
    paths->v[j++] = paths->v[i];
  }
  paths->n = j;
  free(drop);
}

static int64_t partwalk_ns(const struct timespec *ts)
{
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

struct partwalk_ctx {
  const struct tree_walk_opts *o; /* the caller's, for whole paths */
  const char *prefix;
  struct buf path;
};

static const char *partwalk_full(struct partwalk_ctx *c, const char *rel)
{
  buf_reset(&c->path);
  if (buf_addf(&c->path, "%s/%s", c->prefix, rel) < 0)
    return NULL;
  return buf_str(&c->path);
}

static bool partwalk_skip(void *ctx, const char *rel, bool is_dir)
{
  struct partwalk_ctx *c = ctx;
  const char *full = partwalk_full(c, rel);

  if (full == NULL)
    return true;
  return c->o->skip != NULL && c->o->skip(c->o->ctx, full, is_dir);
}

/* The caller's known hook, asked with the whole path.  A path it holds
 * is dropped, as partwalk_adopt makes each entry's whole path anew. */
static enum tree_known partwalk_known(void *ctx, const char *rel,
                                      const struct stat *st, char **path)
{
  struct partwalk_ctx *c = ctx;
  const char *full = partwalk_full(c, rel);
  enum tree_known k;

  if (full == NULL || c->o->known == NULL)
    return TREE_KNOWN_NONE;
  k = c->o->known(c->o->ctx, full, st, path);
  if (k != TREE_KNOWN_PATH)
    return k;
  pathref_drop(*path);
  return TREE_KNOWN_NONE;
}

static void partwalk_warn(void *ctx, const char *rel, int code)
{
  struct partwalk_ctx *c = ctx;
  const char *full = partwalk_full(c, rel);

  if (c->o->warn != NULL)
    c->o->warn(c->o->ctx, full ? full : rel, code);
}

/* Moves the entries of sub (scanned at root/prefix) into t as
 * prefix/path. */
static int partwalk_adopt(struct tree *t, struct tree *sub, const char *prefix)
{
  struct buf p;
  size_t i;
  int rc = 0;

  buf_init(&p, SIZE_MAX / 2);
  for (i = 0; i < sub->n && rc == 0; i++) {
    buf_reset(&p);
    rc = buf_addf(&p, "%s/%s", prefix, sub->v[i].path);
    pathref_drop(sub->v[i].path);
    sub->v[i].path = rc == 0 ? pathref_new(buf_str(&p), p.len) : NULL;
    rc = rc == 0 && sub->v[i].path != NULL ? tree_append(t, &sub->v[i])
                                           : -ENOMEM;
  }
  for (; i < sub->n; i++)
    pathref_drop(sub->v[i].path);
  sub->n = 0; /* the paths now belong to t, or are freed */
  t->n_same += sub->n_same;
  buf_free(&p);
  tree_free(sub);
  return rc;
}

static int partwalk_dir(struct tree *t, const char *root, const char *rel,
                        const struct tree_walk_opts *o, struct cfw_err *err)
{
  struct partwalk_ctx c = {o, rel, {0}};
  struct tree_walk_opts so = {.skip = partwalk_skip,
                              .warn = partwalk_warn,
                              .known = partwalk_known,
                              .ctx = &c};
  struct buf dir;
  struct tree sub;
  int rc;

  /* Links are judged by the site root, as a full walk judges them, not
   * by the subdirectory: blog/latest -> ../posts/x stays inside. */
  so.follow_outside = o->follow_outside;
  so.contain = o->contain != NULL ? o->contain : root;
  buf_init(&c.path, SIZE_MAX / 2);
  buf_init(&dir, SIZE_MAX / 2);
  tree_init(&sub);
  rc = buf_addf(&dir, "%s/%s", root, rel);
  if (rc == 0)
    rc = tree_walk(&sub, buf_str(&dir), &so, err);
  /* A directory that vanished meanwhile simply has no files, and one
   * that now leads outside has none the full walk would list. */
  if (rc == -ENOENT || rc == -ENOTDIR || rc == -EXDEV)
    rc = 0;
  if (rc == 0)
    rc = partwalk_adopt(t, &sub, rel);
  tree_free(&sub);
  buf_free(&dir);
  buf_free(&c.path);
  return rc;
}

/* Stats root/rel as a full walk would reach it: through symlinks only
 * while they stay within base (NULL: anywhere).  0 with *st filled, 1 if
 * it is gone or left out (told to o->warn, as the walk tells it), or
 * -ENOMEM. */
static int partwalk_stat(const char *root, const char *rel, const char *base,
                         const struct tree_walk_opts *o, struct stat *st)
{
  struct buf p;
  char *res = NULL;
  int rc;

  buf_init(&p, SIZE_MAX / 2);
  rc = buf_addf(&p, "%s/%s", root, rel);
  if (rc == 0 && base != NULL)
    rc = tree_resolve_within(base, buf_str(&p), &res);
  /* Symlinks to files count by their target: stat, or lstat of the
   * resolved path, where a symlink can only have appeared since (it is
   * changing: a later event tells).  Gone makes it DELETED. */
  if (rc == 0 && res == NULL && stat(buf_str(&p), st) < 0)
    rc = -ENOENT;
  if (rc == 0 && res != NULL && (lstat(res, st) < 0 || S_ISLNK(st->st_mode)))
    rc = -ENOENT;
  buf_free(&p);
  free(res);
  if (rc == -ENOMEM || rc == 0)
    return rc;
  if (rc != -ENOENT && rc != -ENOTDIR && o->warn != NULL)
    o->warn(o->ctx, rel, rc);
  return 1;
}

static int partwalk_one(struct tree *t, const char *root, const char *rel,
                        const char *base, const struct tree_walk_opts *o,
                        struct cfw_err *err)
{
  struct stat st;
  int rc;

  rc = partwalk_stat(root, rel, base, o, &st);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  if (S_ISREG(st.st_mode))
    return o->skip && o->skip(o->ctx, rel, false)
               ? 0
               : tree_add_known(t, rel, &st, o);
  if (S_ISDIR(st.st_mode) && !(o->skip && o->skip(o->ctx, rel, true)))
    return partwalk_dir(t, root, rel, o, err);
  return 0; /* FIFOs, sockets, devices: never files of a site */
}

/* The directory links must stay in, resolved: NULL when they may lead
 * anywhere, or when it cannot be resolved (then nothing under it can be
 * reached either, and every path is gone).  0 or -ENOMEM. */
static int partwalk_base(const char *root, const struct tree_walk_opts *o,
                         char **base, bool *gone)
{
  *base = NULL;
  *gone = false;
  if (o->follow_outside)
    return 0;
  *base = realpath(o->contain != NULL ? o->contain : root, NULL);
  if (*base == NULL && errno == ENOMEM)
    return -ENOMEM;
  *gone = *base == NULL;
  return 0;
}

/* A file reached by two listed paths (a path and its ancestor, kept
 * when normalising ran out of memory) is listed once: the diff wants a
 * tree sorted with no duplicates. */
static void partwalk_dedupe(struct tree *t)
{
  size_t i;
  size_t j;

  for (i = 1, j = t->n > 0 ? 1 : 0; i < t->n; i++) {
    if (strcmp(t->v[i].path, t->v[j - 1].path) == 0) {
      tree_entry_free(&t->v[i]);
      continue;
    }
    t->v[j++] = t->v[i];
  }
  t->n = j;
}

int partwalk_tree(struct tree *t, const char *root, const struct strlist *paths,
                  const struct tree_walk_opts *o, struct cfw_err *err)
{
  struct timespec now;
  char *base;
  bool gone;
  size_t i;
  int rc;

  clock_gettime(CLOCK_REALTIME, &now);
  t->scanned_at_ns = partwalk_ns(&now);
  rc = partwalk_base(root, o, &base, &gone);
  for (i = 0; i < paths->n && rc == 0 && !gone; i++)
    rc = partwalk_one(t, root, paths->v[i], base, o, err);
  free(base);
  if (rc < 0) {
    tree_free(t);
    return cfw_err_set(err, rc, "scanning changed paths: %s", strerror(-rc));
  }
  if (t->n > 1) /* qsort wants a valid pointer even for 0 items */
    qsort(t->v, t->n, sizeof(*t->v), tree_entry_cmp);
  partwalk_dedupe(t);
  return 0;
}

/* The first entry not before key, by binary search. */
static size_t partwalk_lower(const struct manifest *m, const char *key)
{
  size_t lo = 0;
  size_t hi = manifest_count(m);
  size_t mid;

  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    if (strcmp(manifest_at(m, mid)->path, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int partwalk_entry_cmp(const void *a, const void *b)
{
  const struct tree_entry *const *x = a;
  const struct tree_entry *const *y = b;

  return strcmp((*x)->path, (*y)->path);
}

/* Appends to v the entries of m at or under path: the path itself, then
 * "path/..." which sorts right after it, possibly with siblings like
 * "path-x" in between.  0 or -ENOMEM. */
static int partwalk_gather(const struct tree_entry ***v, size_t *n, size_t *cap,
                           const struct manifest *m, const char *path)
{
  const struct tree_entry **g;
  const struct tree_entry *e;
  size_t j;

  for (j = partwalk_lower(m, path); j < manifest_count(m); j++) {
    e = manifest_at(m, j);
    if (strncmp(e->path, path, strlen(path)) != 0)
      break;
    if (!partwalk_covers(path, e->path))
      continue;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    g = array_grow(*v, *n, cap, sizeof(**v));
    if (g == NULL)
      return -ENOMEM;
    *v = g;
    (*v)[(*n)++] = e;
  }
  return 0;
}

int partwalk_entries(const struct tree_entry ***out, size_t *n_out,
                     const struct manifest *m, const struct strlist *paths,
                     struct cfw_err *err)
{
  const struct tree_entry **v = NULL;
  size_t n = 0;
  size_t cap = 0;
  size_t i;
  size_t j;
  int rc = 0;

  *out = NULL;
  *n_out = 0;
  for (i = 0; i < paths->n && rc == 0; i++)
    rc = partwalk_gather(&v, &n, &cap, m, paths->v[i]);
  if (rc < 0) {
    free(v);
    return cfw_err_set(err, rc, "out of memory");
  }
  /* Paths like "a" and "a.html" gather out of order, and one kept
   * under another (normalising out of memory) gathers twice. */
  if (n > 1)
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
    qsort(v, n, sizeof(*v), partwalk_entry_cmp);
  for (i = 0, j = 0; i < n; i++)
    if (j == 0 || v[j - 1] != v[i])
      v[j++] = v[i];
  *out = v;
  *n_out = j;
  return 0;
}
