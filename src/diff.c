/* SPDX-License-Identifier: MIT */
#include "diff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filehash.h"
#include "util.h"

enum item_state { ITEM_PENDING, ITEM_HASHED, ITEM_GONE, ITEM_FAILED };

/* A tree entry the shortcut could not rule out: 24 bytes, not two
 * entries, since a rewrite makes every file one (issue 13). */
struct diff_item {
  size_t at;                    /* its entry in the diff's tree; hash filled by
                                   diff_hash_range */
  const struct tree_entry *old; /* the manifest's (borrowed until
                                   diff_finish), or NULL */
  enum item_state state;        /* written only by the range that holds it */
  int code;                     /* negative errno when ITEM_FAILED */
};

struct diff {
  /* Owned: the walk's entries, taken over; freed by diff_finish, once
   * the changes have their paths. */
  struct tree tree;
  struct diff_item *items; /* owned; in path order */
  size_t n_items;
  size_t cap_items;
  struct change *deleted; /* owned; in path order */
  size_t n_deleted;
  size_t cap_deleted;
  size_t *failed;      /* owned; indexes of ITEM_FAILED items */
  char **failed_paths; /* owned, each: their paths, after diff_finish */
  size_t n_failed;
  bool finished;
};

static bool entry_racy(const struct tree_entry *e, int64_t scanned_at_ns)
{
  int64_t changed = e->mtime_ns > e->ctime_ns ? e->mtime_ns : e->ctime_ns;

  return changed > scanned_at_ns - TREE_RACY_WINDOW_NS;
}

/* True if cur is certainly what old recorded, without reading it. */
static bool certainly_unchanged(const struct tree_entry *cur,
                                const struct tree_entry *old)
{
  return (old->flags & TREE_HASHED) &&
         !(old->flags & (TREE_RACY | TREE_STALE)) &&
         tree_entry_same_stat(cur, old);
}

/* The item and deletion arrays grow with what changed, not with the
 * size of the tree: most files of a rescan are certainly unchanged. */
static int add_item(struct diff *d, size_t at, const struct tree_entry *old)
{
  struct tree_entry *cur = &d->tree.v[at];
  struct diff_item *it;

  it = array_grow(d->items, d->n_items, &d->cap_items, sizeof(*d->items));
  if (it == NULL)
    return -ENOMEM;
  d->items = it;
  it = &d->items[d->n_items];

  memset(it, 0, sizeof(*it));
  it->at = at;
  it->old = old;
  cur->flags = entry_racy(cur, d->tree.scanned_at_ns) ? TREE_RACY : 0;
  memset(cur->hash, 0, sizeof(cur->hash));
  d->n_items++;
  return 0;
}

static int add_deleted(struct diff *d, const struct tree_entry *old)
{
  struct change *c;

  c = array_grow(d->deleted, d->n_deleted, &d->cap_deleted,
                 sizeof(*d->deleted));
  if (c == NULL)
    return -ENOMEM;
  d->deleted = c;
  c = &d->deleted[d->n_deleted];

  c->kind = CHANGE_DELETED;
  if (tree_entry_copy(&c->entry, old) < 0)
    return -ENOMEM;
  d->n_deleted++;
  return 0;
}

/* Walks the sorted tree and manifest side by side. */
static int diff_walk(struct diff *d, const struct manifest *m)
{
  const struct tree *t = &d->tree;
  const struct tree_entry *old;
  size_t nm = manifest_count(m);
  size_t i = 0;
  size_t j = 0;
  int c;
  int rc = 0;

  while (rc == 0 && (i < t->n || j < nm)) {
    old = j < nm ? manifest_at(m, j) : NULL;
    if (i == t->n)
      c = 1;
    else if (old == NULL)
      c = -1;
    else
      c = strcmp(t->v[i].path, old->path);
    if (c > 0) {
      rc = add_deleted(d, old);
      j++;
      continue;
    }
    if (c < 0)
      old = NULL;
    else
      j++;
    if (old == NULL || !certainly_unchanged(&t->v[i], old))
      rc = add_item(d, i, old);
    i++;
  }
  return rc;
}

static bool tree_sorted(const struct tree *t)
{
  size_t i;

  for (i = 1; i < t->n; i++)
    if (strcmp(t->v[i - 1].path, t->v[i].path) >= 0)
      return false;
  return true;
}

/* Takes the sorted tree t over (left empty) and diffs it with m. */
static int diff_take(struct diff **out, struct tree *t,
                     const struct manifest *m, struct cfw_err *err)
{
  struct diff *d;
  int rc;

  d = calloc(1, sizeof(*d));
  if (d == NULL) {
    tree_free(t);
    return cfw_err_set(err, -ENOMEM, "diff: out of memory");
  }
  d->tree = *t; /* taken */
  tree_init(t);
  rc = diff_walk(d, m);
  if (rc < 0) {
    diff_destroy(d);
    return cfw_err_set(err, rc, "diff: out of memory");
  }
  *out = d;
  return 0;
}

int diff_begin_take(struct diff **out, struct tree *t, const struct manifest *m,
                    struct cfw_err *err)
{
  *out = NULL;
  if (!tree_sorted(t)) {
    tree_free(t);
    return cfw_err_set(err, -EINVAL, "diff: tree not sorted by path");
  }
  return diff_take(out, t, m, err);
}

int diff_begin(struct diff **out, const struct tree *t,
               const struct manifest *m, struct cfw_err *err)
{
  struct tree copy;
  size_t i;
  int rc = 0;

  *out = NULL;
  if (!tree_sorted(t))
    return cfw_err_set(err, -EINVAL, "diff: tree not sorted by path");
  tree_init(&copy);
  copy.scanned_at_ns = t->scanned_at_ns;
  copy.v = calloc(t->n + 1, sizeof(*copy.v));
  if (copy.v == NULL)
    return cfw_err_set(err, -ENOMEM, "diff: out of memory");
  copy.cap = t->n + 1;
  for (i = 0; i < t->n; i++) {
    rc = tree_entry_copy(&copy.v[i], &t->v[i]);
    if (rc < 0)
      break;
    copy.n++;
  }
  if (rc == 0)
    return diff_take(out, &copy, m, err);
  tree_free(&copy);
  return cfw_err_set(err, rc, "diff: out of memory");
}

size_t diff_hash_count(const struct diff *d)
{
  return d->n_items;
}

static void hash_item(struct diff *d, struct diff_item *it, int rootfd)
{
  struct tree_entry *cur = &d->tree.v[it->at];
  uint64_t size;
  int rc;

  rc = filehash_file(rootfd, cur->path, cur->hash, &size, NULL);
  if (rc == -ENOENT || rc == -ENOTDIR || rc == -EINVAL || rc == -ELOOP) {
    it->state = ITEM_GONE;
    return;
  }
  if (rc < 0) {
    it->state = ITEM_FAILED;
    it->code = rc;
    return;
  }
  cur->flags |= TREE_HASHED;
  /* The file changed between scan and read: keep the scanned stat so the
   * next scan sees a difference, and distrust it in any case. */
  if (size != cur->size)
    cur->flags |= TREE_RACY;
  it->state = ITEM_HASHED;
}

int diff_hash_range(struct diff *d, const char *root, size_t from, size_t to)
{
  size_t i;
  int fd;
  int rc;

  if (from > to || to > d->n_items || d->finished)
    return -EINVAL;
  fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    for (i = from; i < to; i++) {
      d->items[i].state = ITEM_FAILED;
      d->items[i].code = rc;
    }
    return rc;
  }
  for (i = from; i < to; i++)
    hash_item(d, &d->items[i], fd);
  (void)close(fd); /* read-only directory fd: nothing to lose */
  return 0;
}

static bool same_stat(const struct tree_entry *a, const struct tree_entry *b)
{
  return a->size == b->size && a->mtime_ns == b->mtime_ns &&
         a->ctime_ns == b->ctime_ns && a->ino == b->ino && a->dev == b->dev &&
         a->flags == b->flags;
}

/* The change an item (with its entry cur) amounts to, or -1 for none. */
static int item_kind(const struct diff_item *it, const struct tree_entry *cur)
{
  if (it->state == ITEM_GONE)
    return it->old != NULL ? CHANGE_DELETED : -1;
  if (it->state != ITEM_HASHED)
    return -1; /* failed: reported, and left pending */
  if (it->old == NULL)
    return CHANGE_ADDED;
  if (memcmp(cur->hash, it->old->hash, sizeof(cur->hash)) != 0 ||
      (it->old->flags & TREE_STALE) != 0)
    return CHANGE_MODIFIED;
  return same_stat(cur, it->old) ? -1 : CHANGE_TOUCHED;
}

/* Moves item's outcome, if any, to out[*k]. */
static void emit_item(struct diff *d, const struct diff_item *it,
                      struct change *out, size_t *k)
{
  struct tree_entry *cur = &d->tree.v[it->at];
  struct change *c = &out[*k];
  int kind = item_kind(it, cur);

  if (kind < 0)
    return;
  c->kind = (enum change_kind)kind;
  c->entry = kind == CHANGE_DELETED ? *it->old : *cur;
  c->entry.path = cur->path;
  cur->path = NULL;
  (*k)++;
}

static int collect_failed(struct diff *d)
{
  size_t i;

  for (i = 0; i < d->n_items; i++)
    if (d->items[i].state == ITEM_PENDING)
      return -EINVAL;
  d->failed = malloc(d->n_items * sizeof(*d->failed) + 1);
  d->failed_paths = calloc(d->n_items + 1, sizeof(*d->failed_paths));
  if (d->failed == NULL || d->failed_paths == NULL)
    return -ENOMEM;
  for (i = 0; i < d->n_items; i++)
    if (d->items[i].state == ITEM_FAILED)
      d->failed[d->n_failed++] = i;
  return 0;
}

/* Once the changes have their paths: the failed items' paths are kept
 * for diff_failed_at, and the tree goes (here, on the caller's thread:
 * a tree's worth of frees). */
static void keep_failed(struct diff *d)
{
  struct tree_entry *e;
  size_t i;
  size_t k = 0;

  /* In item order, as collect_failed listed them. */
  for (i = 0; i < d->n_items && k < d->n_failed; i++) {
    if (d->items[i].state != ITEM_FAILED)
      continue;
    e = &d->tree.v[d->items[i].at];
    d->failed_paths[k++] = e->path;
    e->path = NULL;
  }
  tree_free(&d->tree);
}

/* Merges the hashed items and the deletions, both in path order. */
static size_t merge_changes(struct diff *d, struct change *out)
{
  size_t i = 0;
  size_t j = 0;
  size_t k = 0;

  while (i < d->n_items || j < d->n_deleted) {
    if (j == d->n_deleted ||
        (i < d->n_items && strcmp(d->tree.v[d->items[i].at].path,
                                  d->deleted[j].entry.path) < 0)) {
      emit_item(d, &d->items[i++], out, &k);
      continue;
    }
    out[k++] = d->deleted[j];
    d->deleted[j++].entry.path = NULL;
  }
  d->n_deleted = 0;
  return k;
}

int diff_finish(struct diff *d, struct change **out, size_t *n_out,
                struct cfw_err *err)
{
  struct change *v;
  int rc;

  *out = NULL;
  *n_out = 0;
  if (d->finished)
    return cfw_err_set(err, -EINVAL, "diff: finished twice");
  rc = collect_failed(d);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc,
                       "diff: finished before every file was "
                       "hashed");
  /* n_items + n_deleted <= tree size + manifest size: no wrap. */
  v = rc < 0 ? NULL : malloc((d->n_items + d->n_deleted) * sizeof(*v) + 1);
  if (v == NULL)
    return cfw_err_set(err, -ENOMEM, "diff: out of memory");
  d->finished = true;
  *n_out = merge_changes(d, v);
  keep_failed(d);
  if (*n_out == 0) {
    free(v);
    v = NULL;
  }
  *out = v;
  return 0;
}

size_t diff_failed_count(const struct diff *d)
{
  return d->n_failed;
}

const char *diff_failed_at(const struct diff *d, size_t i, int *code)
{
  if (i >= d->n_failed)
    return NULL;
  if (code != NULL)
    *code = d->items[d->failed[i]].code;
  return d->failed_paths[i];
}

void diff_destroy(struct diff *d)
{
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; d->failed_paths != NULL && i < d->n_failed; i++)
    free(d->failed_paths[i]);
  tree_free(&d->tree);
  changes_free(d->deleted, d->n_deleted);
  free(d->items);
  free(d->failed);
  free(d->failed_paths);
  free(d);
}

void changes_free(struct change *v, size_t n)
{
  size_t i;

  if (v == NULL)
    return;
  for (i = 0; i < n; i++)
    tree_entry_free(&v[i].entry);
  free(v);
}

/* The edits for v[0..n), copying their paths; NULL if out of memory. */
static struct manifest_edit *changes_edits(const struct change *v, size_t n)
{
  struct manifest_edit *ed;
  size_t i;

  if (n > SIZE_MAX / sizeof(*ed))
    return NULL;
  ed = malloc(n * sizeof(*ed) + 1);
  if (ed == NULL)
    return NULL;
  for (i = 0; i < n; i++) {
    ed[i].entry = &v[i].entry;
    ed[i].give = NULL;
    ed[i].remove = v[i].kind == CHANGE_DELETED;
  }
  return ed;
}

/* Applies and frees ed. */
static int changes_apply(struct manifest *m, struct manifest_edit *ed, size_t n,
                         struct cfw_err *err)
{
  int rc;

  if (ed == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = manifest_edit(m, ed, n, err);
  free(ed);
  if (rc < 0)
    return cfw_err_prefix(err, "recording changes");
  return 0;
}

int manifest_apply(struct manifest *m, const struct change *v, size_t n,
                   struct cfw_err *err)
{
  return changes_apply(m, changes_edits(v, n), n, err);
}

int manifest_apply_take(struct manifest *m, struct change *v, size_t n,
                        struct cfw_err *err)
{
  struct manifest_edit *ed;
  size_t i;

  ed = changes_edits(v, n);
  for (i = 0; ed != NULL && i < n; i++)
    ed[i].give = &v[i].entry.path;
  return changes_apply(m, ed, n, err);
}
