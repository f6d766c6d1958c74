/* SPDX-License-Identifier: MIT */
#include "exclude.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* How a glob is matched; see exclude_classify(). */
enum exclude_kind {
  EXCLUDE_LITERAL, /* exactly the bytes of lit */
  EXCLUDE_STAR,    /* lit's head, then anything but '/', then its tail */
  EXCLUDE_FNMATCH, /* anything else: fnmatch(3) on glob */
};

struct exclude_glob {
  char *glob; /* owned; as fnmatch sees it, no leading or trailing '/' */
  char *lit;  /* in glob's block: glob unescaped, without its '*' */
  size_t lit_len;
  size_t head_len; /* bytes of lit before the '*'; 0 if LITERAL */
  size_t order;    /* how many globs were added before this one */
  enum exclude_kind kind;
  bool dir_only; /* ended in '/' */
};

struct exclude_list {
  struct exclude_glob *v; /* owned, and each glob in it */
  size_t n;
  size_t cap;
};

/* Globs without '/' are indexed by the one byte a component they match
 * must hold: one whose literal form ends in a byte (a name, "*.swp") can
 * only match a component ending in it, and one with only a head (".#*")
 * a component starting with its first byte.  Bit b of a slot stands for
 * names.v[b], names.v[b + 64] and so on, so a component is tried only on
 * the globs whose key it holds, plus those (fnmatch, "*") with none. */
#define EXCLUDE_SLOTS 64

struct exclude {
  size_t n_added;            /* globs in both lists */
  struct exclude_list names; /* globs without '/': one component */
  struct exclude_list paths; /* globs with '/': the whole relpath */
  uint64_t by_last[256];     /* by a component's last byte */
  uint64_t by_first[256];    /* by its first byte */
  uint64_t keyless;          /* tried on every component */
};

/* See the list and its reasons in urlmap.h. */
static const char *const exclude_default_globs[] = {
    "*.swp", "*.swo",     "*.swx",     "4913",  "*~",   ".#*",
    "#*#",   ".~lock.*#", ".DS_Store", ".git/", ".hg/", ".svn/",
};

size_t exclude_defaults(const char *const **globs)
{
  *globs = exclude_default_globs;
  return ARRAY_SIZE(exclude_default_globs);
}

int exclude_new(struct exclude **out, struct cfw_err *err)
{
  *out = calloc(1, sizeof(**out));
  if (*out == NULL)
    return cfw_err_set(err, -ENOMEM, "exclude: out of memory");
  return 0;
}

static void exclude_list_free(struct exclude_list *l)
{
  size_t i;

  for (i = 0; i < l->n; i++)
    free(l->v[i].glob);
  free(l->v);
}

void exclude_destroy(struct exclude *x)
{
  if (x == NULL)
    return;
  exclude_list_free(&x->names);
  exclude_list_free(&x->paths);
  free(x);
}

/* Reads g->glob into the literal form fnmatch(3) gives it, when there is
 * one: '\' takes the next byte as it is, a run of '*' is one '*' (as in
 * glibc's fnmatch_loop.c), and a glob with '/' may hold no '*' at all,
 * since there '*' stops at each '/'.  '?', '[' and a trailing lone '\'
 * (which never matches) are left to fnmatch. */
static void exclude_classify(struct exclude_glob *g, bool anchored)
{
  const char *s;
  size_t o = 0;
  bool star = false;

  for (s = g->glob; *s != '\0'; s++) {
    if (*s == '?' || *s == '[' || (*s == '\\' && s[1] == '\0'))
      return;
    if (*s == '*') {
      if (star || anchored)
        return;
      star = true;
      g->head_len = o;
      while (s[1] == '*')
        s++;
      continue;
    }
    if (*s == '\\')
      s++;
    g->lit[o++] = *s;
  }
  g->lit[o] = '\0';
  g->lit_len = o;
  if (!star)
    g->head_len = 0; /* all of it is "tail": a name is matched whole */
  g->kind = star ? EXCLUDE_STAR : EXCLUDE_LITERAL;
}

/* Parses pat into g; *anchored tells which list it belongs in. */
static int exclude_parse(struct exclude_glob *g, const char *pat,
                         bool *anchored, struct cfw_err *err)
{
  const char *p = pat;
  size_t len = strlen(pat);

  memset(g, 0, sizeof(*g));
  *anchored = false;
  while (len > 0 && p[len - 1] == '/') {
    len--;
    g->dir_only = true;
  }
  if (len > 0 && p[0] == '/') {
    p++;
    len--;
    *anchored = true;
  }
  if (len == 0)
    return cfw_err_set(err, -EINVAL, "exclude \"%s\": empty glob", pat);
  if (memchr(p, '/', len) != NULL)
    *anchored = true;
  /* One block: the glob, then room for its literal form. */
  if (len > (SIZE_MAX - 2) / 2)
    return cfw_err_set(err, -ENOMEM, "exclude: out of memory");
  g->glob = malloc(2 * len + 2);
  if (g->glob == NULL)
    return cfw_err_set(err, -ENOMEM, "exclude: out of memory");
  memcpy(g->glob, p, len);
  g->glob[len] = '\0';
  g->lit = g->glob + len + 1;
  g->kind = EXCLUDE_FNMATCH;
  exclude_classify(g, *anchored);
  return 0;
}

static int exclude_push(struct exclude_list *l, const struct exclude_glob *g)
{
  struct exclude_glob *v = array_grow(l->v, l->n, &l->cap, sizeof(*v));

  if (v == NULL)
    return -ENOMEM;
  l->v = v;
  l->v[l->n++] = *g;
  return 0;
}

/* Files the glob just added to x->names under its key. */
static void exclude_index(struct exclude *x)
{
  size_t i = x->names.n - 1;
  const struct exclude_glob *g = &x->names.v[i];
  uint64_t bit = UINT64_C(1) << (i % EXCLUDE_SLOTS);

  if (g->kind == EXCLUDE_FNMATCH || g->lit_len == 0)
    x->keyless |= bit; /* fnmatch, or "*" */
  else if (g->lit_len > g->head_len)
    x->by_last[(unsigned char)g->lit[g->lit_len - 1]] |= bit;
  else
    x->by_first[(unsigned char)g->lit[0]] |= bit;
}

int exclude_add(struct exclude *x, const char *glob, struct cfw_err *err)
{
  struct exclude_glob g;
  bool anchored;
  int rc;

  rc = exclude_parse(&g, glob, &anchored, err);
  if (rc < 0)
    return rc;
  g.order = x->n_added;
  rc = exclude_push(anchored ? &x->paths : &x->names, &g);
  if (rc < 0) {
    free(g.glob);
    return cfw_err_set(err, rc, "exclude: out of memory");
  }
  x->n_added++;
  if (!anchored)
    exclude_index(x);
  return 0;
}

int exclude_glob_check(const char *glob, struct cfw_err *err)
{
  struct exclude_glob g;
  bool anchored;
  int rc;

  rc = exclude_parse(&g, glob, &anchored, err);
  if (rc == 0)
    free(g.glob);
  return rc;
}

/* memcmp for the few bytes of a name, inline: most calls differ at the
 * first byte. */
static bool exclude_same(const char *a, const char *b, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (a[i] != b[i])
      return false;
  return true;
}

/* A glob without '/' against the component s[0..n), which ends at '/' or
 * at the end of the relpath.  FNM_PATHNAME with FNM_LEADING_DIR makes
 * fnmatch match exactly that component, whatever follows.  The tail is
 * compared first, as most globs are suffixes. */
static bool exclude_one_name(const struct exclude_glob *g, const char *s,
                             size_t n)
{
  size_t tail = g->lit_len - g->head_len;

  if (g->kind == EXCLUDE_FNMATCH)
    return fnmatch(g->glob, s, FNM_PATHNAME | FNM_LEADING_DIR) == 0;
  if (g->kind == EXCLUDE_LITERAL ? n != g->lit_len : n < g->lit_len)
    return false;
  return exclude_same(s + n - tail, g->lit + g->head_len, tail) &&
         exclude_same(s, g->lit, g->head_len);
}

/* The lowest order below limit among the globs of x without '/' that
 * match the component s[0..n), or limit if none does; with any, the first
 * slot's match will do, whatever its order.  dir tells whether s names a
 * directory.  Most components hold no key, and cost three loads. */
static size_t exclude_name_first(const struct exclude *x, const char *s,
                                 size_t n, bool dir, size_t limit, bool any)
{
  const struct exclude_list *l = &x->names;
  const struct exclude_glob *g;
  uint64_t slots = x->keyless;
  size_t best = limit;
  size_t i;

  /* Every keyed glob needs at least one byte. */
  if (n > 0)
    slots |=
        x->by_last[(unsigned char)s[n - 1]] | x->by_first[(unsigned char)s[0]];
  for (; slots != 0; slots &= slots - 1) {
    /* A slot's globs come in the order added, so its first match is its
     * best, and none past best can beat it. */
    for (i = (size_t)__builtin_ctzll(slots); i < l->n && l->v[i].order < best;
         i += EXCLUDE_SLOTS) {
      g = &l->v[i];
      if ((dir || !g->dir_only) && exclude_one_name(g, s, n)) {
        best = g->order;
        break;
      }
    }
    if (any && best < limit)
      return best;
  }
  return best;
}

/* A glob with '/' matches the whole relpath, or with FNM_LEADING_DIR one
 * of its parent directories; FNM_PATHNAME makes the number of components
 * fixed, so the two cases cannot both hold. */
static bool exclude_path_matches(const struct exclude_glob *g, const char *rel,
                                 bool is_dir)
{
  if (g->kind == EXCLUDE_LITERAL) {
    if (strncmp(rel, g->lit, g->lit_len) != 0)
      return false;
    if (rel[g->lit_len] == '\0')
      return is_dir || !g->dir_only;
    return rel[g->lit_len] == '/';
  }
  if (fnmatch(g->glob, rel, FNM_PATHNAME) == 0)
    return is_dir || !g->dir_only;
  return fnmatch(g->glob, rel, FNM_PATHNAME | FNM_LEADING_DIR) == 0;
}

/* The globs without '/' on each component of rel: the lowest order
 * below best that matches, or best (see exclude_name_first for any). */
static size_t exclude_walk(const struct exclude *x, const char *rel,
                           bool is_dir, size_t best, bool any)
{
  const char *p = rel;
  const char *end = rel + strlen(rel);
  const char *slash;
  size_t n;

  /* One pass: each component is found once and tried on every glob. */
  for (;;) {
    slash = memchr(p, '/', (size_t)(end - p));
    n = (size_t)((slash != NULL ? slash : end) - p);
    best = exclude_name_first(x, p, n, is_dir || slash != NULL, best, any);
    if (slash == NULL || (any && best != EXCLUDE_NONE))
      return best;
    p = slash + 1;
  }
}

bool exclude_match(const struct exclude *x, const char *rel, bool is_dir)
{
  size_t i;

  if (rel[0] == '\0')
    return false;
  for (i = 0; i < x->paths.n; i++)
    if (exclude_path_matches(&x->paths.v[i], rel, is_dir))
      return true;
  if (x->names.n == 0)
    return false;
  return exclude_walk(x, rel, is_dir, EXCLUDE_NONE, true) != EXCLUDE_NONE;
}

size_t exclude_first(const struct exclude *x, const char *rel, bool is_dir)
{
  size_t best = EXCLUDE_NONE;
  size_t i;

  if (rel[0] == '\0')
    return EXCLUDE_NONE;
  /* The list is in the order added: its first match is its best. */
  for (i = 0; i < x->paths.n; i++) {
    if (exclude_path_matches(&x->paths.v[i], rel, is_dir)) {
      best = x->paths.v[i].order;
      break;
    }
  }
  if (x->names.n == 0)
    return best;
  return exclude_walk(x, rel, is_dir, best, false);
}
