/* SPDX-License-Identifier: MIT */
/* The planner's wildcard stems: "<prefix>/<dir>/", the text a directory
 * wildcard starts with, for every node of the tree.  Most directories
 * need no encoding, so their stem is their path between the prefix and
 * a '/' and is not kept: a site of one directory per page would
 * otherwise hold a second copy of every page's directory (issue 13).
 * See planner_tree.h. */
#include "planner_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cflimits.h"
#include "urlmap.h"
#include "util.h"

/* Appends node i's stem (not PLANNER_STEM_NONE) to b. */
static int planner_stem_text(const struct planner_tree *pt, size_t i,
                             struct buf *b)
{
  const struct planner_node *n = &pt->nodes[i];
  int rc;

  if (n->stem != PLANNER_STEM_PLAIN)
    return buf_adds(b, pt->stems[n->stem - PLANNER_STEM_KEPT]);
  rc = buf_add(b, pt->prefix, pt->prefix_len);
  if (rc == 0)
    rc = buf_addc(b, '/');
  if (rc == 0 && n->dir_len > 0)
    rc = buf_add(b, planner_dir(pt, n), n->dir_len);
  if (rc == 0 && n->dir_len > 0)
    rc = buf_addc(b, '/');
  return rc;
}

/* True if s[0..len) is "<prefix>/", or "<prefix>/<dir>/" for node n
 * (not the root): the stem PLANNER_STEM_PLAIN stands for. */
static bool planner_stem_is_plain(const struct planner_tree *pt,
                                  const struct planner_node *n, const char *s,
                                  size_t len)
{
  size_t plen = pt->prefix_len;
  size_t want = plen + 1 + (n->dir_len > 0 ? n->dir_len + 1 : 0);

  return len == want && memcmp(s, pt->prefix, plen) == 0 && s[plen] == '/' &&
         (n->dir_len == 0 ||
          (memcmp(s + plen + 1, planner_dir(pt, n), n->dir_len) == 0 &&
           s[len - 1] == '/'));
}

/* Keeps the stem in b for node n, which its path does not spell. */
static int planner_stem_keep(struct planner_tree *pt, struct planner_node *n,
                             const struct buf *b)
{
  char **v;
  char *s;

  v = array_grow(pt->stems, pt->n_stems, &pt->cap_stems, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  pt->stems = v;
  s = strdup(buf_str(b));
  if (s == NULL)
    return -ENOMEM;
  pt->stems[pt->n_stems] = s;
  /* n_stems < n_nodes <= PLANNER_MAX_INDEX, so this fits. */
  n->stem = (uint32_t)(PLANNER_STEM_KEPT + pt->n_stems++);
  return 0;
}

/* Builds "<parent stem><encoded name>/" for node i.  A stem that would
 * hold '*' or '~' (CloudFront cannot name them) or not leave room for
 * the final '*' stays PLANNER_STEM_NONE: no wildcard on that directory
 * or below. */
static int planner_make_stem(struct planner_tree *pt, size_t i, struct buf *b)
{
  struct planner_node *n = &pt->nodes[i];
  const char *dir = planner_dir(pt, n);
  const char *name = memrchr(dir, '/', n->dir_len);
  int rc;

  n->stem = PLANNER_STEM_NONE;
  buf_reset(b);
  if (n->parent == PLANNER_NONE32) {
    rc = buf_add(b, pt->prefix, pt->prefix_len);
  } else {
    if (pt->nodes[n->parent].stem == PLANNER_STEM_NONE)
      return 0;
    name = name != NULL ? name + 1 : dir;
    rc = planner_stem_text(pt, n->parent, b);
    if (rc == 0)
      rc = urlmap_encode(name, n->dir_len - (size_t)(name - dir), b);
  }
  if (rc == 0)
    rc = buf_addc(b, '/');
  if (rc == -E2BIG || (rc == 0 && strpbrk(buf_str(b), "*~") != NULL))
    return 0;
  if (rc < 0)
    return rc;
  if (planner_stem_is_plain(pt, n, buf_str(b), b->len)) {
    n->stem = PLANNER_STEM_PLAIN;
    return 0;
  }
  return planner_stem_keep(pt, n, b);
}

int planner_make_stems(struct planner_tree *pt)
{
  struct buf b;
  size_t i;
  int rc = 0;

  pt->prefix_len = strlen(pt->prefix);
  /* Room for the '*' that makes the stem a wildcard. */
  buf_init(&b, CF_MAX_PATH_LEN - 1);
  for (i = 0; i < pt->n_nodes && rc == 0; i++)
    rc = planner_make_stem(pt, i, &b);
  buf_free(&b);
  return rc;
}

bool planner_stem_covers(const struct planner_tree *pt, size_t i,
                         const char *url)
{
  const struct planner_node *n;
  const char *s;
  size_t plen = pt->prefix_len;

  if (i == PLANNER_NONE || pt->nodes[i].stem == PLANNER_STEM_NONE)
    return false;
  n = &pt->nodes[i];
  if (n->stem != PLANNER_STEM_PLAIN) {
    s = pt->stems[n->stem - PLANNER_STEM_KEPT];
    return strncmp(s, url, strlen(s)) == 0;
  }
  /* strncmp, not memcmp: url may end before the stem does. */
  if (strncmp(url, pt->prefix, plen) != 0 || url[plen] != '/')
    return false;
  if (n->dir_len == 0)
    return true;
  return strncmp(url + plen + 1, planner_dir(pt, n), n->dir_len) == 0 &&
         url[plen + 1 + n->dir_len] == '/';
}

char *planner_wildcard(const struct planner_tree *pt, size_t i)
{
  struct buf b;
  char *s = NULL;

  buf_init(&b, SIZE_MAX / 2);
  if (planner_stem_text(pt, i, &b) == 0 && buf_addc(&b, '*') == 0)
    s = buf_take(&b);
  buf_free(&b);
  return s;
}
