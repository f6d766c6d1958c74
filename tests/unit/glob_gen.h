/* SPDX-License-Identifier: MIT */
#ifndef CFW_GLOB_GEN_H
#define CFW_GLOB_GEN_H

/* Random globs and relpaths for the differential tests of the glob rules
 * (test_exclude.c against the fnmatch(3) reference, test_headers.c
 * against the excludes): seeded, so a failure names a seed that replays
 * it on any machine.  Test code: static functions in a header. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* splitmix64: a seeded sequence that is the same on every machine. */
static inline uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static inline size_t rng_below(uint64_t *s, size_t n)
{
  return (size_t)(rng_next(s) % n);
}

/* Appends one of toks to out[0..cap), if it fits. */
static inline void add_tok(char *out, size_t cap, const char *const *toks,
                           size_t n_toks, uint64_t *s)
{
  const char *t = toks[rng_below(s, n_toks)];
  size_t len = strlen(out);

  if (len + strlen(t) < cap)
    memcpy(out + len, t, strlen(t) + 1);
}

/* Bytes every kind of glob is made of: wildcards, brackets with classes,
 * ranges, negation and ']' first, escapes of each special byte, dots,
 * '/', and non-ASCII bytes. */
static const char *const any_toks[] = {
    "a",           "b",     ".",    "*",    "**",   "?",   "/",    "\\",
    "\\*",         "\\?",   "\\[",  "\\\\", "\\/",  "\\a", "[ab]", "[!a]",
    "[^b]",        "[a-c]", "[]a]", "[!]]", "[",    "]",   "-",    "#",
    "~",           "swp",   ".git", "4913", "[.]",  "[/]", "!",    "^",
    "[[:alpha:]]", "\xc3",  "\xa9", "\xff", "[\\]]"};

/* What the bytewise classes are made of: literals, escapes, '*'. */
static const char *const lit_toks[] = {
    "a",   "b",    ".",   "#",   "~", "swp",      "git", "\\*",
    "\\?", "\\\\", "\\[", "\\a", "-", "\xc3\xa9", "*",   "**"};

static inline void random_glob(char *out, size_t cap, uint64_t *s)
{
  bool lit = rng_below(s, 2) == 0;
  size_t n = 1 + rng_below(s, 4);

  out[0] = '\0';
  if (rng_below(s, 6) == 0)
    add_tok(out, cap, (const char *const[]){"/"}, 1, s);
  while (n-- > 0) {
    if (lit)
      add_tok(out, cap, lit_toks, ARRAY_SIZE(lit_toks), s);
    else
      add_tok(out, cap, any_toks, ARRAY_SIZE(any_toks), s);
    if (lit && rng_below(s, 8) == 0)
      add_tok(out, cap, (const char *const[]){"/"}, 1, s);
  }
  if (rng_below(s, 4) == 0)
    add_tok(out, cap, (const char *const[]){"/"}, 1, s);
}

/* A name made to match g often: its wildcards filled in, and its escapes
 * sometimes kept and sometimes resolved. */
static inline void name_like(char *out, size_t cap, const char *g, uint64_t *s)
{
  static const char *const fill[] = {"", "a", ".", "xy", "/", "*"};
  char one[2] = {0, 0};

  out[0] = '\0';
  /* A relpath has no leading '/' and a directory's no trailing one. */
  if (*g == '/' && rng_below(s, 8) != 0)
    g++;
  for (; *g != '\0'; g++) {
    if (*g == '/' && g[1] == '\0' && rng_below(s, 8) != 0)
      break;
    if (*g == '*' && rng_below(s, 4) != 0) {
      add_tok(out, cap, fill, ARRAY_SIZE(fill), s);
      continue;
    }
    if (*g == '\\' && g[1] != '\0' && rng_below(s, 4) != 0)
      g++;
    one[0] = *g;
    if (*g == '?' && rng_below(s, 2) == 0)
      one[0] = 'q';
    add_tok(out, cap, (const char *const[]){one}, 1, s);
  }
}

/* A relpath of one to four components, one of them like a glob of the
 * set if there is one. */
static inline void random_path(char *out, size_t cap, char globs[][64],
                               size_t n, uint64_t *s)
{
  size_t parts = 1 + rng_below(s, 4);
  size_t like = rng_below(s, parts + 1);
  size_t i;
  char part[128];

  out[0] = '\0';
  for (i = 0; i < parts; i++) {
    if (i > 0)
      add_tok(out, cap, (const char *const[]){"/"}, 1, s);
    part[0] = '\0';
    if (i == like && n > 0)
      name_like(part, sizeof(part), globs[rng_below(s, n)], s);
    else
      add_tok(part, sizeof(part), any_toks, ARRAY_SIZE(any_toks), s);
    add_tok(out, cap, (const char *const[]){part}, 1, s);
  }
}

#endif
