/* SPDX-License-Identifier: MIT */
#ifndef CFW_EXCLUDE_REF_H
#define CFW_EXCLUDE_REF_H

/* The exclude matcher as src/urlmap.c had it before src/exclude.c (commit
 * 4e1f379): every glob, through fnmatch(3), on every component.  Kept
 * unchanged but for names, as the reference that tests/unit/test_exclude.c
 * and tests/fuzz/fuzz_urlmap.c hold exclude_match() to.  Slow on purpose:
 * it parses the globs again on each call. */

#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ref_glob {
  char *glob;    /* owned; without a leading or trailing '/' */
  bool anchored; /* had a '/': matched against the whole relpath */
  bool dir_only; /* ended in '/' */
};

/* Parses pat as urlmap_add_glob() did: 0, or -1 for an empty glob (which
 * urlmap_new refused).  Exits on ENOMEM: this is test code. */
static inline int ref_glob_parse(struct ref_glob *g, const char *pat)
{
  const char *p = pat;
  size_t len = strlen(pat);

  memset(g, 0, sizeof(*g));
  while (len > 0 && p[len - 1] == '/') {
    len--;
    g->dir_only = true;
  }
  if (len > 0 && p[0] == '/') {
    p++;
    len--;
    g->anchored = true;
  }
  if (len == 0)
    return -1;
  if (memchr(p, '/', len) != NULL)
    g->anchored = true;
  g->glob = strndup(p, len);
  if (g->glob == NULL)
    exit(2);
  return 0;
}

static inline bool ref_anchored_matches(const struct ref_glob *g,
                                        const char *rel, bool is_dir)
{
  if (fnmatch(g->glob, rel, FNM_PATHNAME) == 0)
    return is_dir || !g->dir_only;
  return fnmatch(g->glob, rel, FNM_PATHNAME | FNM_LEADING_DIR) == 0;
}

static inline bool ref_glob_matches(const struct ref_glob *g, const char *rel,
                                    bool is_dir)
{
  const char *p;
  const char *slash;
  bool dir;

  if (g->anchored)
    return ref_anchored_matches(g, rel, is_dir);
  for (p = rel; p != NULL; p = slash != NULL ? slash + 1 : NULL) {
    slash = strchr(p, '/');
    dir = slash != NULL || is_dir;
    if ((dir || !g->dir_only) &&
        fnmatch(g->glob, p, FNM_PATHNAME | FNM_LEADING_DIR) == 0)
      return true;
  }
  return false;
}

/* urlmap_excluded() as it was, for globs[0..n); an empty glob, which
 * urlmap_new refused, is skipped. */
static inline bool ref_excluded(const char *const *globs, size_t n,
                                const char *rel, bool is_dir)
{
  struct ref_glob g;
  bool hit = false;
  size_t i;

  if (rel[0] == '\0')
    return false;
  for (i = 0; i < n && !hit; i++) {
    if (ref_glob_parse(&g, globs[i]) < 0)
      continue;
    hit = ref_glob_matches(&g, rel, is_dir);
    free(g.glob);
  }
  return hit;
}

#endif
