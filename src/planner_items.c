/* SPDX-License-Identifier: MIT */
/* A change's invalidation items (its URL paths, or its one cache tag),
 * built when the planner needs them instead of kept for every change
 * (issue 13), with a recipe per change that builds them again without
 * urlmap.  See planner_tree.h. */
#include "planner_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cachetag.h"
#include "urlmap.h"

/* The recipe's bits: how many items, which of them end in '*', and how
 * they are built when not from the change's path. */
#define PLANNER_RECIPE_COUNT  0x03u /* items; URLMAP_MAX_PATHS_PER_FILE */
#define PLANNER_RECIPE_STAR0  0x04u /* item j ends in '*': STAR0 << j */
#define PLANNER_RECIPE_TAG    0x20u /* the change's cache tag item */
#define PLANNER_RECIPE_URLMAP 0x40u /* ask urlmap again */
/* The longest part of a path a recipe can name (len[] is 8 bits). */
#define PLANNER_RECIPE_MAX_LEN UINT8_MAX

_Static_assert(URLMAP_MAX_PATHS_PER_FILE <= PLANNER_RECIPE_COUNT,
               "a recipe counts a file's paths in two bits");

/* True if change c goes as its cache tag: the edges may hold only
 * copies that carry it (TREE_TAGGED, tree.h).  An added file may be
 * cached as an error page, which carries no tag; a TREE_STALE entry
 * says the edges may hold bytes it does not name. */
static bool planner_by_tag(const struct planner_input *in,
                           const struct change *c)
{
  const struct tree_entry *old;

  if (in->tag_origin == NULL || in->manifest == NULL ||
      (change_kind(c) != CHANGE_MODIFIED && change_kind(c) != CHANGE_DELETED))
    return false;
  old = manifest_find(in->manifest, c->entry.path);
  return old != NULL &&
         (old->flags & (TREE_TAGGED | TREE_STALE)) == TREE_TAGGED;
}

/* Appends c's cache tag item. */
static int planner_push_tag(struct buf *b, const struct planner_input *in,
                            const struct change *c, struct cfw_err *err)
{
  char item[CACHETAG_ITEM_SIZE];
  int rc;

  rc = cachetag_item(in->tag_origin, c->entry.path, item);
  if (rc < 0)
    return cfw_err_set(err, rc, "object key too long for a cache tag");
  rc = buf_add(b, item, strlen(item) + 1);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  return 0;
}

/* How many URL paths c has, built and taken back: the paths its cache
 * tag item stands for. */
static int planner_count_urls(struct buf *b, const struct planner_input *in,
                              const struct change *c, size_t *n,
                              struct cfw_err *err)
{
  size_t start = b->len;
  size_t k;
  int rc;

  *n = 0;
  rc = urlmap_paths_buf(in->urlmap, c->entry.path, b, err);
  if (rc < 0)
    return rc;
  for (k = start; k < b->len; k += strlen(b->data + k) + 1)
    (*n)++;
  if (b->len > start) {
    b->len = start;
    b->data[start] = '\0'; /* as a buf always ends */
  }
  return 0;
}

/* Appends the empty string that ends a change's items. */
static int planner_end_items(struct buf *b, struct cfw_err *err)
{
  if (buf_addc(b, '\0') < 0)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return 0;
}

/* Item u as a recipe entry: the prefix, '/', the first *len bytes of
 * rel and maybe a '*' (*star).  False if u is not of that form. */
static bool planner_recipe_item(const char *prefix, size_t prefix_len,
                                const char *rel, const char *u, uint8_t *len,
                                bool *star)
{
  size_t rel_len = strlen(rel);
  size_t n;

  if (strncmp(u, prefix, prefix_len) != 0 || u[prefix_len] != '/')
    return false;
  u += prefix_len + 1;
  n = strlen(u);
  *star = n > 0 && u[n - 1] == '*';
  n -= *star ? 1 : 0;
  if (n > rel_len || n > PLANNER_RECIPE_MAX_LEN || memcmp(u, rel, n) != 0)
    return false;
  *len = (uint8_t)n;
  return true;
}

/* The recipe of URL paths g (up to the first empty string) of the file
 * rel: PLANNER_RECIPE_URLMAP if one of them is not built from rel alone
 * (an encoded byte, the prefix without '/', a long path). */
static struct planner_recipe planner_recipe_of(const struct planner_tree *pt,
                                               const char *rel, const char *g)
{
  struct planner_recipe r = {{0}, 0};
  size_t prefix_len = strlen(pt->prefix);
  unsigned n = 0;
  bool star;

  for (; *g != '\0'; g += strlen(g) + 1, n++) {
    if (n >= URLMAP_MAX_PATHS_PER_FILE ||
        !planner_recipe_item(pt->prefix, prefix_len, rel, g, &r.len[n],
                             &star)) {
      r.bits = PLANNER_RECIPE_URLMAP;
      return r;
    }
    r.bits |= star ? PLANNER_RECIPE_STAR0 << n : 0u;
  }
  r.bits |= n;
  return r;
}

int planner_items_first(struct planner_tree *pt, const struct planner_input *in,
                        size_t i, struct buf *b, struct cfw_err *err)
{
  const struct change *c = &in->changes[i];
  size_t n;
  int rc;

  buf_reset(b);
  if (planner_by_tag(in, c)) {
    rc = planner_count_urls(b, in, c, &n, err);
    if (rc == 0)
      rc = planner_push_tag(b, in, c, err);
    if (rc < 0)
      return rc;
    pt->by_tag++;
    pt->tag_saved += n > 0 ? n - 1 : 0;
    pt->recipes[i].bits = PLANNER_RECIPE_TAG;
    return planner_end_items(b, err);
  }
  rc = urlmap_paths_buf(in->urlmap, c->entry.path, b, err);
  if (rc == 0)
    rc = planner_end_items(b, err);
  if (rc < 0)
    return rc;
  pt->by_path++;
  pt->recipes[i] = planner_recipe_of(pt, c->entry.path, b->data);
  return 0;
}

/* True if change i's recipe builds its items from its path alone. */
static bool planner_recipe_plain(const struct planner_recipe *r)
{
  return (r->bits & (PLANNER_RECIPE_TAG | PLANNER_RECIPE_URLMAP)) == 0;
}

/* Builds again, into b (emptied first), the items of a change whose
 * recipe is not plain: its cache tag item, or what urlmap gives. */
static int planner_items_again(const struct planner_tree *pt,
                               const struct planner_input *in, size_t i,
                               struct buf *b, struct cfw_err *err)
{
  const struct change *c = &in->changes[i];
  int rc;

  buf_reset(b);
  if ((pt->recipes[i].bits & PLANNER_RECIPE_TAG) != 0)
    rc = planner_push_tag(b, in, c, err);
  else
    rc = urlmap_paths_buf(in->urlmap, c->entry.path, b, err);
  if (rc < 0)
    return rc;
  return planner_end_items(b, err);
}

int planner_items_count(const struct planner_tree *pt,
                        const struct planner_input *in, size_t i, struct buf *b,
                        size_t *nf, size_t *nw, struct cfw_err *err)
{
  const struct planner_recipe *r = &pt->recipes[i];
  const char *url;
  unsigned k;
  int rc;

  *nf = 0;
  *nw = 0;
  if (planner_recipe_plain(r)) {
    for (k = 0; k < (r->bits & PLANNER_RECIPE_COUNT); k++) {
      if ((r->bits & (PLANNER_RECIPE_STAR0 << k)) != 0)
        (*nw)++;
      else
        (*nf)++;
    }
    return 0;
  }
  rc = planner_items_again(pt, in, i, b, err);
  for (url = b->data; rc == 0 && *url != '\0'; url += strlen(url) + 1) {
    if (urlmap_is_wildcard(url))
      (*nw)++;
    else
      (*nf)++;
  }
  return rc;
}

/* Item k of plain recipe r for the file rel, in a string of its own;
 * NULL if out of memory. */
static char *planner_follow(const struct planner_tree *pt,
                            const struct planner_recipe *r, unsigned k,
                            const char *rel)
{
  size_t prefix_len = strlen(pt->prefix);
  bool star = (r->bits & (PLANNER_RECIPE_STAR0 << k)) != 0;
  size_t n = prefix_len + 1 + r->len[k] + (star ? 1 : 0);
  char *s = malloc(n + 1);

  if (s == NULL)
    return NULL;
  memcpy(s, pt->prefix, prefix_len);
  s[prefix_len] = '/';
  memcpy(s + prefix_len + 1, rel, r->len[k]);
  if (star)
    s[n - 1] = '*';
  s[n] = '\0';
  return s;
}

int planner_items_push(const struct planner_tree *pt,
                       const struct planner_input *in, size_t i, size_t cover,
                       struct buf *b, struct strlist *l)
{
  const struct planner_recipe *r = &pt->recipes[i];
  const char *url;
  unsigned k;
  char *s;
  int rc = 0;

  if (!planner_recipe_plain(r)) {
    rc = planner_items_again(pt, in, i, b, NULL);
    for (url = b->data; rc == 0 && *url != '\0'; url += strlen(url) + 1)
      rc = planner_stem_covers(pt, cover, url) ? 0 : strlist_push(l, url);
    return rc;
  }
  for (k = 0; k < (r->bits & PLANNER_RECIPE_COUNT) && rc == 0; k++) {
    s = planner_follow(pt, r, k, in->changes[i].entry.path);
    if (s == NULL)
      return -ENOMEM;
    if (planner_stem_covers(pt, cover, s))
      free(s);
    else
      rc = strlist_push_take(l, s);
  }
  return rc;
}
