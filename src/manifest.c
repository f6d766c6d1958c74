/* SPDX-License-Identifier: MIT */
#include "manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* Index of path, or of where it would go (*found false).  O(log n). */
static size_t manifest_search(const struct manifest *m, const char *path,
                              bool *found)
{
  size_t lo = 0;
  size_t hi = m->n;
  size_t mid;
  int c;

  *found = false;
  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    c = strcmp(m->v[mid].path, path);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
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

static int edit_cmp(const void *a, const void *b)
{
  const struct manifest_edit *x = a;
  const struct manifest_edit *y = b;

  return strcmp(x->entry->path, y->entry->path);
}

/* Sorts a copy of the edits (the caller's to free) and checks them; on
 * -EINVAL, *bad names the offending path and *why the reason. */
static int edits_prepare(const struct manifest_edit *ed, size_t n,
                         struct manifest_edit **out, const char **bad,
                         const char **why)
{
  struct manifest_edit *s;
  size_t i;

  *out = NULL;
  if (n > SIZE_MAX / sizeof(*s))
    return -ENOMEM;
  s = malloc(n * sizeof(*s) + 1);
  if (s == NULL)
    return -ENOMEM;
  memcpy(s, ed, n * sizeof(*s));
  qsort(s, n, sizeof(*s), edit_cmp);
  for (i = 0; i < n; i++) {
    *bad = s[i].entry->path;
    if (!s[i].remove && !entry_storable(s[i].entry))
      *why = "cannot be recorded (not hashed, or a bad path)";
    else if (i > 0 && strcmp(s[i - 1].entry->path, s[i].entry->path) == 0)
      *why = "is edited twice in one batch";
    else
      continue;
    free(s);
    return -EINVAL;
  }
  *out = s;
  return 0;
}

/* Gives each put its own path copy (NULL for removals), so the merge
 * cannot fail half-way. */
static int edits_dup_paths(const struct manifest_edit *s, size_t n, char ***out)
{
  char **p;
  size_t i;

  p = calloc(n + 1, sizeof(*p));
  if (p == NULL)
    return -ENOMEM;
  for (i = 0; i < n; i++) {
    if (s[i].remove)
      continue;
    p[i] = strdup(s[i].entry->path);
    if (p[i] != NULL)
      continue;
    while (i-- > 0)
      free(p[i]);
    free(p);
    return -ENOMEM;
  }
  *out = p;
  return 0;
}

/* Merges the sorted edits s (with path copies p, which it takes) into m's
 * entries, producing v, which holds room for m->n + n entries. */
static size_t edits_merge(struct manifest *m, const struct manifest_edit *s,
                          char **p, size_t n, struct tree_entry *v)
{
  size_t i = 0;
  size_t j = 0;
  size_t k = 0;
  int c;

  while (i < m->n || j < n) {
    if (j == n)
      c = -1;
    else if (i == m->n)
      c = 1;
    else
      c = strcmp(m->v[i].path, s[j].entry->path);
    if (c < 0) {
      v[k++] = m->v[i++];
      continue;
    }
    if (c == 0)
      tree_entry_free(&m->v[i++]);
    if (!s[j].remove) {
      v[k] = *s[j].entry;
      v[k++].path = p[j];
    }
    j++;
  }
  return k;
}

/* Whether every sorted edit s puts an entry whose path m holds already:
 * then m changes in place.  O(n + size), no allocation. */
static bool edits_replace_only(const struct manifest *m,
                               const struct manifest_edit *s, size_t n)
{
  size_t i = 0;
  size_t j;
  int c = 1;

  for (j = 0; j < n; j++) {
    if (s[j].remove)
      return false;
    while (i < m->n && (c = strcmp(m->v[i].path, s[j].entry->path)) < 0)
      i++;
    if (i == m->n || c != 0)
      return false;
  }
  return true;
}

/* Each edit replaces the entry with its path, which keeps its path
 * string: a whole-site rewrite costs no second manifest and no path
 * copies (issue 13). */
static void edits_replace(struct manifest *m, const struct manifest_edit *s,
                          size_t n)
{
  char *path;
  size_t i = 0;
  size_t j;

  for (j = 0; j < n; j++) {
    while (strcmp(m->v[i].path, s[j].entry->path) < 0)
      i++;
    path = m->v[i].path;
    m->v[i] = *s[j].entry;
    m->v[i].path = path;
  }
}

int manifest_edit(struct manifest *m, const struct manifest_edit *ed, size_t n,
                  struct cfw_err *err)
{
  struct manifest_edit *s;
  struct tree_entry *v;
  const char *bad = "";
  const char *why = "";
  char **p = NULL;
  size_t total;
  int rc;

  if (n == 0)
    return 0;
  rc = edits_prepare(ed, n, &s, &bad, &why);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc, "%s %s", bad, why);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  if (edits_replace_only(m, s, n)) {
    edits_replace(m, s, n);
    free(s);
    return 0;
  }
  total = m->n + n;
  v = NULL;
  if (total >= m->n && total <= SIZE_MAX / sizeof(*v))
    v = malloc(total * sizeof(*v) + 1);
  if (v == NULL || edits_dup_paths(s, n, &p) < 0) {
    free(v);
    free(s);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  m->n = edits_merge(m, s, p, n, v);
  free(m->v);
  m->v = v;
  m->cap = total;
  free(p);
  free(s);
  return 0;
}
