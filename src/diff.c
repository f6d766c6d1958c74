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
#include "pathref.h"
#include "util.h"

enum item_state { ITEM_PENDING, ITEM_HASHED, ITEM_GONE, ITEM_FAILED };

/* What the tree is compared with: a manifest's entries, or a view of
 * some (partwalk_entries), borrowed either way. */
struct diff_old {
  const struct manifest *m;          /* when v is NULL */
  const struct tree_entry *const *v; /* or NULL: m */
  size_t n;
  /* The entries the walk left out, or NULL: none. */
  const struct seenset *seen;
  size_t bound;             /* SIZE_MAX: none */
  struct seenset *deferred; /* marks what the bound leaves; or NULL */
};

/* One array holds the files all along: the walk's, resized in place to
 * changes, then the candidates, then the changes handed over, so that a
 * full tree's array and a full change array never exist at once. */
struct diff {
  /* Owned, with the paths of v[0, n_items): the candidates (files the
   * shortcut could not rule out), in path order; hash filled by
   * diff_hash_range.  diff_finish compacts it into the changes. */
  struct change *v;
  /* Owned: the enum item_state of each v[i], a byte each, written only
   * by the range that holds it.  All the diff keeps of a candidate
   * beside its change, since a rewrite makes every file one (issue 13):
   * its manifest entry is found again by path (item_old), and a failure's
   * errno is kept where its hash would be (item_fail). */
  unsigned char *state;
  size_t n_items;
  size_t n_deferred;      /* candidates past the bound, freed */
  struct diff_old old;    /* borrowed until diff_finish */
  int64_t scanned_at_ns;  /* the tree's */
  struct change *deleted; /* owned; in path order */
  size_t n_deleted;
  size_t cap_deleted;
  char **failed_paths; /* owned, each: after diff_finish */
  int *failed_codes;   /* owned: theirs */
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

bool diff_unchanged_stat(const struct stat *st, const struct tree_entry *old)
{
  struct tree_entry cur = {0};

  tree_entry_set_stat(&cur, st);
  return certainly_unchanged(&cur, old);
}

/* True if cur needs hashing only because old was recorded within the
 * racy window. */
static bool racy_same(const struct tree_entry *cur,
                      const struct tree_entry *old)
{
  return (old->flags & (TREE_HASHED | TREE_RACY | TREE_STALE)) ==
             (TREE_HASHED | TREE_RACY) &&
         tree_entry_same_stat(cur, old);
}

bool diff_racy_same(const struct stat *st, const struct tree_entry *old)
{
  struct tree_entry cur = {0};

  tree_entry_set_stat(&cur, st);
  return racy_same(&cur, old);
}

/* Shrinks the candidates' arrays to n (at least a byte): a shrink that
 * fails leaves a block as it was, which is still right. */
static void shrink(struct diff *d, size_t n)
{
  unsigned char *st;
  struct change *v;

  v = realloc(d->v, n * sizeof(*v) + (n == 0));
  if (v != NULL)
    d->v = v;
  if (d->state == NULL)
    return;
  st = realloc(d->state, n + (n == 0));
  if (st != NULL)
    d->state = st;
}

/* A change is its entry (change.h), so t's entry array becomes v's
 * change array as it is, with no second array beside it at the peak. */
_Static_assert(sizeof(struct change) == sizeof(struct tree_entry) &&
                   offsetof(struct change, entry) == 0,
               "a change is laid out as its entry");

/* Takes t's entries as the candidates' changes, in place.  t is left
 * empty, also on -ENOMEM (then freed). */
static int adopt_tree(struct diff *d, struct tree *t)
{
  d->scanned_at_ns = t->scanned_at_ns;
  d->state = NULL;
  if (t->n <= SIZE_MAX - 1)
    d->state = malloc(t->n + 1);
  if (d->state == NULL) {
    tree_free(t);
    return -ENOMEM;
  }
  d->v = (struct change *)(void *)t->v;
  d->n_items = t->n; /* each slot's path is the diff's until the walk */
  tree_init(t);
  return 0;
}

/* Makes tree entry v[at] candidate k (k <= at) for hashing. */
static void add_item(struct diff *d, size_t at, size_t k,
                     const struct tree_entry *old)
{
  struct tree_entry *cur;

  if (k != at)
    d->v[k] = d->v[at];
  cur = &d->v[k].entry;
  /* The manifest's path, not a second copy; the walk may hold it
   * already (scan_known). */
  if (old != NULL && cur->path != old->path) {
    pathref_drop(cur->path);
    cur->path = pathref_hold(old->path);
  }
  d->state[k] = ITEM_PENDING;
  cur->flags = entry_racy(cur, d->scanned_at_ns) ? TREE_RACY : 0;
  memset(cur->hash, 0, sizeof(cur->hash));
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

  tree_entry_share(&c->entry, old);
  change_set_kind(c, CHANGE_DELETED);
  d->n_deleted++;
  return 0;
}

static const struct tree_entry *old_at(const struct diff_old *o, size_t j)
{
  return o->v != NULL ? o->v[j] : manifest_at(o->m, j);
}

/* -1, 0 or 1 as tree entry i sorts before, with or after manifest entry
 * old (NULL: past the manifest's end); 1 past the tree's end. */
static int walk_cmp(const struct diff *d, size_t i, size_t n,
                    const struct tree_entry *old)
{
  if (i == n)
    return 1;
  if (old == NULL)
    return -1;
  return strcmp(d->v[i].entry.path, old->path);
}

/* What becomes of tree entry i, which has old (NULL: none) in the
 * manifest: freed as unchanged, freed as past the bound (taken counts
 * the candidates that count against it), or candidate k. */
static bool walk_takes(struct diff *d, size_t i, const struct tree_entry *old,
                       size_t *taken)
{
  const struct tree_entry *cur = &d->v[i].entry;

  if (old != NULL && certainly_unchanged(cur, old))
    return false;
  if (old != NULL && racy_same(cur, old))
    return true;
  if (*taken < d->old.bound) {
    ++*taken;
    return true;
  }
  d->n_deferred++;
  if (old != NULL && d->old.deferred != NULL)
    seenset_mark(d->old.deferred, old);
  return false;
}

/* Walks the sorted tree (v[0, n_items)) and manifest side by side,
 * keeping the candidates in v[0, k) and freeing the others at once.
 * On -ENOMEM the entries not yet walked are freed too. */
static int diff_walk(struct diff *d, const struct diff_old *o)
{
  const struct tree_entry *old;
  size_t n = d->n_items;
  size_t nm = o->n;
  size_t taken = 0;
  size_t i = 0;
  size_t j = 0;
  size_t k = 0;
  int c;
  int rc = 0;

  while (rc == 0 && (i < n || j < nm)) {
    old = j < nm ? old_at(o, j) : NULL;
    c = walk_cmp(d, i, n, old);
    if (c > 0) {
      if (o->seen == NULL || !seenset_has(o->seen, old))
        rc = add_deleted(d, old);
      j++;
      continue;
    }
    if (c < 0)
      old = NULL;
    else
      j++;
    if (walk_takes(d, i, old, &taken))
      add_item(d, i, k++, old);
    else
      tree_entry_free(&d->v[i].entry);
    i++;
  }
  for (; i < n; i++)
    tree_entry_free(&d->v[i].entry);
  d->n_items = k;
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

/* Takes the sorted tree t over (left empty) and diffs it with o.  The
 * arrays shrink to the candidates: few, on a rescan. */
static int diff_take(struct diff **out, struct tree *t,
                     const struct diff_old *o, struct cfw_err *err)
{
  struct diff *d;
  int rc;

  d = calloc(1, sizeof(*d));
  if (d == NULL) {
    tree_free(t);
    return cfw_err_set(err, -ENOMEM, "diff: out of memory");
  }
  d->old = *o;
  rc = adopt_tree(d, t);
  if (rc == 0)
    rc = diff_walk(d, o);
  if (rc < 0) {
    diff_destroy(d);
    return cfw_err_set(err, rc, "diff: out of memory");
  }
  shrink(d, d->n_items);
  *out = d;
  return 0;
}

/* What is compared with: w's part, or none. */
static void old_walked(struct diff_old *o, const struct diff_walked *w)
{
  o->seen = w != NULL ? w->seen : NULL;
  o->bound = w != NULL && w->bound > 0 ? w->bound : SIZE_MAX;
  o->deferred = w != NULL ? w->deferred : NULL;
}

int diff_begin_take(struct diff **out, struct tree *t, const struct manifest *m,
                    const struct diff_walked *w, struct cfw_err *err)
{
  struct diff_old o = {m, NULL, manifest_count(m), NULL, SIZE_MAX, NULL};

  old_walked(&o, w);

  *out = NULL;
  if (!tree_sorted(t)) {
    tree_free(t);
    return cfw_err_set(err, -EINVAL, "diff: tree not sorted by path");
  }
  return diff_take(out, t, &o, err);
}

int diff_begin_take_view(struct diff **out, struct tree *t,
                         const struct tree_entry *const *old, size_t n_old,
                         const struct diff_walked *w, struct cfw_err *err)
{
  struct diff_old o = {NULL, old, n_old, NULL, SIZE_MAX, NULL};
  size_t i;

  old_walked(&o, w);
  *out = NULL;
  for (i = 1; i < n_old; i++)
    if (strcmp(old[i - 1]->path, old[i]->path) >= 0)
      break;
  if (!tree_sorted(t) || i < n_old) {
    tree_free(t);
    return cfw_err_set(err, -EINVAL, "diff: not sorted by path");
  }
  return diff_take(out, t, &o, err);
}

int diff_begin(struct diff **out, const struct tree *t,
               const struct manifest *m, struct cfw_err *err)
{
  struct diff_old o = {m, NULL, manifest_count(m), NULL, SIZE_MAX, NULL};
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
    return diff_take(out, &copy, &o, err);
  tree_free(&copy);
  return cfw_err_set(err, rc, "diff: out of memory");
}

size_t diff_hash_count(const struct diff *d)
{
  return d->n_items;
}

size_t diff_deferred_count(const struct diff *d)
{
  return d->n_deferred;
}

/* A candidate that could not be hashed keeps its negative errno where
 * its hash would be: the hash means nothing then. */
static void item_fail(struct diff *d, size_t i, int code)
{
  d->state[i] = ITEM_FAILED;
  memcpy(d->v[i].entry.hash, &code, sizeof(code));
}

static int item_code(const struct diff *d, size_t i)
{
  int code;

  memcpy(&code, d->v[i].entry.hash, sizeof(code));
  return code;
}

static void hash_item(struct diff *d, size_t i, int rootfd)
{
  struct tree_entry *cur = &d->v[i].entry;
  uint64_t size;
  int rc;

  rc = filehash_file(rootfd, cur->path, cur->hash, &size, NULL);
  if (rc == -ENOENT || rc == -ENOTDIR || rc == -EINVAL || rc == -ELOOP) {
    d->state[i] = ITEM_GONE;
    return;
  }
  if (rc < 0) {
    item_fail(d, i, rc);
    return;
  }
  cur->flags |= TREE_HASHED;
  /* The file changed between scan and read: keep the scanned stat so the
   * next scan sees a difference, and distrust it in any case. */
  if (size != cur->size)
    cur->flags |= TREE_RACY;
  d->state[i] = ITEM_HASHED;
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
    for (i = from; i < to; i++)
      item_fail(d, i, rc);
    return rc;
  }
  for (i = from; i < to; i++)
    hash_item(d, i, fd);
  (void)close(fd); /* read-only directory fd: nothing to lose */
  return 0;
}

static bool same_stat(const struct tree_entry *a, const struct tree_entry *b)
{
  return a->size == b->size && a->mtime_ns == b->mtime_ns &&
         a->ctime_ns == b->ctime_ns && a->ino == b->ino && a->dev == b->dev &&
         a->flags == b->flags;
}

/* The change a candidate in state st (with its entry cur, and old its
 * manifest entry or NULL) amounts to, or -1 for none. */
static int item_kind(unsigned char st, const struct tree_entry *old,
                     const struct tree_entry *cur)
{
  if (st == ITEM_GONE)
    return old != NULL ? CHANGE_DELETED : -1;
  if (st != ITEM_HASHED)
    return -1; /* failed: reported, and left pending */
  if (old == NULL)
    return CHANGE_ADDED;
  if (memcmp(cur->hash, old->hash, sizeof(cur->hash)) != 0 ||
      (old->flags & TREE_STALE) != 0)
    return CHANGE_MODIFIED;
  return same_stat(cur, old) ? -1 : CHANGE_TOUCHED;
}

/* The manifest entry of path, or NULL: the candidates come in path
 * order, so one cursor *j over the old entries finds them all in
 * O(candidates + old entries). */
static const struct tree_entry *item_old(const struct diff *d, size_t *j,
                                         const char *path)
{
  const struct tree_entry *e = NULL;
  int c = 1;

  for (; *j < d->old.n; (*j)++) {
    e = old_at(&d->old, *j);
    c = strcmp(e->path, path);
    if (c >= 0)
      break;
  }
  return c == 0 ? e : NULL;
}

/* Makes room for diff_finish before it changes anything: the failure
 * records (only as many as failed) and the deletions' slots at the end
 * of v.  0, -EINVAL if an item was not hashed, or -ENOMEM. */
static int finish_reserve(struct diff *d)
{
  struct change *v;
  size_t nf = 0;
  size_t i;

  for (i = 0; i < d->n_items; i++) {
    if (d->state[i] == ITEM_PENDING)
      return -EINVAL;
    nf += d->state[i] == ITEM_FAILED;
  }
  d->failed_paths = calloc(nf + 1, sizeof(*d->failed_paths));
  d->failed_codes = calloc(nf + 1, sizeof(*d->failed_codes));
  v = d->failed_paths == NULL || d->failed_codes == NULL ? NULL : d->v;
  /* n_items + n_deleted <= tree size + manifest size: no wrap. */
  if (v != NULL && d->n_deleted > 0)
    v = realloc(d->v, (d->n_items + d->n_deleted) * sizeof(*v));
  if (v == NULL) { /* as it was, so that a later call may succeed */
    free(d->failed_paths);
    free(d->failed_codes);
    d->failed_paths = NULL;
    d->failed_codes = NULL;
    return -ENOMEM;
  }
  d->v = v;
  return 0;
}

/* Compacts the candidates in place into their changes, in path order:
 * a file with none has its path freed, or kept for diff_failed_at if it
 * could not be hashed.  Returns how many changes are left in v. */
static size_t compact_items(struct diff *d)
{
  const struct tree_entry *old;
  struct change *c;
  char *path;
  size_t i;
  size_t j = 0;
  size_t k = 0;
  int kind;

  for (i = 0; i < d->n_items; i++) {
    c = &d->v[i];
    old = item_old(d, &j, c->entry.path);
    kind = item_kind(d->state[i], old, &c->entry);
    if (kind < 0 && d->state[i] == ITEM_FAILED) {
      d->failed_codes[d->n_failed] = item_code(d, i);
      d->failed_paths[d->n_failed++] = c->entry.path;
    } else if (kind < 0) {
      tree_entry_free(&c->entry);
    }
    if (kind < 0)
      continue;
    path = c->entry.path;
    if (kind == CHANGE_DELETED)
      c->entry = *old;
    c->entry.path = path;
    change_set_kind(c, (enum change_kind)kind);
    d->v[k++] = *c;
  }
  return k;
}

/* Merges the deletions into v[0, k), both in path order, from the back
 * into the room finish_reserve made.  Returns the merged count. */
static size_t merge_deleted(struct diff *d, size_t k)
{
  size_t i = k;
  size_t j = d->n_deleted;
  size_t w = k + d->n_deleted;

  while (j > 0) {
    if (i > 0 &&
        strcmp(d->v[i - 1].entry.path, d->deleted[j - 1].entry.path) > 0)
      d->v[--w] = d->v[--i];
    else
      d->v[--w] = d->deleted[--j];
  }
  k += d->n_deleted;
  d->n_deleted = 0; /* the paths are v's now */
  return k;
}

int diff_finish(struct diff *d, struct change **out, size_t *n_out,
                struct cfw_err *err)
{
  size_t n;
  int rc;

  *out = NULL;
  *n_out = 0;
  if (d->finished)
    return cfw_err_set(err, -EINVAL, "diff: finished twice");
  rc = finish_reserve(d);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc,
                       "diff: finished before every file was "
                       "hashed");
  if (rc < 0)
    return cfw_err_set(err, rc, "diff: out of memory");
  d->finished = true;
  n = merge_deleted(d, compact_items(d));
  free(d->state);
  d->state = NULL;
  shrink(d, n);
  *out = n > 0 ? d->v : NULL; /* handed over */
  if (n == 0)
    free(d->v);
  d->v = NULL;
  *n_out = n;
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
    *code = d->failed_codes[i];
  return d->failed_paths[i];
}

void diff_destroy(struct diff *d)
{
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; d->failed_paths != NULL && i < d->n_failed; i++)
    pathref_drop(d->failed_paths[i]);
  /* Before diff_finish, v holds the candidates and their paths. */
  if (d->v != NULL)
    changes_free(d->v, d->n_items);
  changes_free(d->deleted, d->n_deleted);
  free(d->state);
  free(d->failed_paths);
  free(d->failed_codes);
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
