/* SPDX-License-Identifier: MIT */
#include "ground.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filehash.h"
#include "manifest.h"
#include "pathref.h"
#include "util.h"

void ground_init(struct ground *g)
{
  memset(g, 0, sizeof(*g));
}

void ground_free(struct ground *g)
{
  size_t i;

  if (g == NULL)
    return;
  for (i = 0; i < g->n; i++)
    free(g->v[i].rel);
  free(g->v);
  ground_init(g);
}

/* The file key names under the origin's prefix, or NULL. */
static const char *ground_rel(const struct s3url *origin, const char *key)
{
  size_t plen = strlen(origin->prefix);
  const char *rel = key;

  if (plen > 0) {
    if (strncmp(key, origin->prefix, plen) != 0 || key[plen] != '/')
      return NULL;
    rel = key + plen + 1;
  }
  return manifest_path_ok(rel, strlen(rel)) ? rel : NULL;
}

int ground_add_page(struct ground *g, const struct s3url *origin,
                    const struct s3_list_page *p,
                    bool (*excluded)(void *ctx, const char *rel, bool is_dir),
                    void *ctx)
{
  struct ground_object *o;
  const char *rel;
  size_t i;

  for (i = 0; i < p->n; i++) {
    rel = ground_rel(origin, p->items[i].key);
    if (rel == NULL || (excluded != NULL && excluded(ctx, rel, false))) {
      g->skipped++;
      continue;
    }
    o = array_grow(g->v, g->n, &g->cap, sizeof(*g->v));
    if (o == NULL)
      return -ENOMEM;
    g->v = o;
    o = &g->v[g->n];
    o->rel = strdup(rel);
    if (o->rel == NULL)
      return -ENOMEM;
    o->size = p->items[i].size;
    (void)str_copy(o->etag, sizeof(o->etag), p->items[i].etag);
    g->n++;
  }
  return 0;
}

static int ground_cmp(const void *a, const void *b)
{
  return strcmp(((const struct ground_object *)a)->rel,
                ((const struct ground_object *)b)->rel);
}

/* True if o's ETag is the MD5 of the file's bytes: a plain "md5hex"
 * (a multipart ETag has "-N"), and the file, read now, has them. */
static bool ground_same(int root_fd, const struct tree_entry *e,
                        const struct ground_object *o)
{
  unsigned char md5[16];
  char hex[33];
  const char *etag = o->etag;
  size_t len;
  uint64_t size = 0;

  if (o->size != e->size)
    return false;
  if (*etag == '"')
    etag++;
  len = strlen(etag);
  if (len > 0 && etag[len - 1] == '"')
    len--;
  if (len != 32 || filehash_md5(root_fd, e->path, md5, &size, NULL) < 0 ||
      size != e->size)
    return false;
  hex_encode(md5, sizeof(md5), hex);
  return strncasecmp(hex, etag, 32) == 0;
}

/* An entry that says "the origin holds something at rel, bytes unknown":
 * no stat (the diff's shortcut never matches it), a zero hash marked
 * stale (the diff sends it whatever the file holds). */
static int ground_unknown(struct change *c, const struct ground_object *o)
{
  memset(c, 0, sizeof(*c));
  change_set_kind(c, CHANGE_ADDED);
  c->entry.path = pathref_dup(o->rel);
  c->entry.size = o->size;
  c->entry.flags = TREE_HASHED | TREE_STALE;
  return c->entry.path != NULL ? 0 : -ENOMEM;
}

bool ground_unknown_bytes(const struct tree_entry *e)
{
  static const unsigned char zero[sizeof(e->hash)];

  return (e->flags & TREE_STALE) != 0 &&
         memcmp(e->hash, zero, sizeof(zero)) == 0;
}

static int ground_known(struct change *c, const struct tree_entry *e)
{
  int rc;

  memset(c, 0, sizeof(*c));
  rc = tree_entry_copy(&c->entry, e);
  change_set_kind(c, CHANGE_ADDED);
  return rc;
}

/* The merge of the sorted tree and objects into v (room for g->n). */
static int ground_merge(struct ground *g, int root_fd,
                        const struct change *tree, size_t n, struct change *v,
                        size_t *nv, struct ground_stats *st)
{
  size_t i = 0;
  size_t j = 0;
  int cmp;
  int rc = 0;

  while (rc == 0 && (i < n || j < g->n)) {
    cmp = i == n ? 1 : j == g->n ? -1 : strcmp(tree[i].entry.path, g->v[j].rel);
    if (cmp < 0) {
      st->missing++;
      i++;
      continue;
    }
    if (cmp > 0) {
      st->extra++;
      rc = ground_unknown(&v[(*nv)++], &g->v[j++]);
      continue;
    }
    if (ground_same(root_fd, &tree[i].entry, &g->v[j])) {
      st->same++;
      rc = ground_known(&v[(*nv)++], &tree[i].entry);
    } else {
      st->differ++;
      rc = ground_unknown(&v[(*nv)++], &g->v[j]);
    }
    i++;
    j++;
  }
  return rc;
}

int ground_baseline(struct ground *g, const char *root,
                    const struct change *tree, size_t n, struct change **out,
                    size_t *n_out, struct ground_stats *st, struct cfw_err *err)
{
  struct change *v;
  size_t nv = 0;
  int root_fd;
  int rc;

  memset(st, 0, sizeof(*st));
  *out = NULL;
  *n_out = 0;
  root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return cfw_err_set(err, -errno, "%s: %s", root, strerror(errno));
  if (g->n > 0)
    qsort(g->v, g->n, sizeof(*g->v), ground_cmp);
  v = calloc(g->n + 1, sizeof(*v));
  rc = v == NULL ? -ENOMEM : ground_merge(g, root_fd, tree, n, v, &nv, st);
  /* Read-only: close cannot lose data. */
  (void)close(root_fd);
  if (rc < 0) {
    changes_free(v, nv);
    return cfw_err_set(err, rc, "comparing with the bucket: %s", strerror(-rc));
  }
  *out = v;
  *n_out = nv;
  return 0;
}
