/* SPDX-License-Identifier: MIT */
#include "awsconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Which section is which profile: botocore.configloader's
 * build_profile_map() for the config file, the section's own name for
 * the credentials file. */

enum shlex_state { SH_SPACE, SH_WORD, SH_SQUOTE, SH_DQUOTE, SH_ESCAPE };

struct shlex {
  enum shlex_state st;
  enum shlex_state esc_from; /* where an escape returns to */
  int words;                 /* started so far */
  char *out;                 /* the second word */
  size_t out_len;
};

static void shlex_add(struct shlex *sh, char c)
{
  if (sh->words == 2)
    sh->out[sh->out_len++] = c;
}

static void shlex_escape(struct shlex *sh, enum shlex_state from)
{
  sh->esc_from = from;
  sh->st = SH_ESCAPE;
}

/* One character c of the text (or, with eof, its end) in state st;
 * false on Python's ValueError ("No closing quotation", "No escaped
 * character"). */
static bool shlex_step(struct shlex *sh, char c, bool eof)
{
  bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';

  switch (sh->st) {
  case SH_SPACE:
  case SH_WORD:
    if (eof || space) {
      sh->st = SH_SPACE;
      return true;
    }
    if (sh->st == SH_SPACE)
      sh->words++;
    sh->st = SH_WORD;
    if (c == '\'')
      sh->st = SH_SQUOTE;
    else if (c == '"')
      sh->st = SH_DQUOTE;
    else if (c == '\\')
      shlex_escape(sh, SH_WORD);
    else
      shlex_add(sh, c);
    return true;
  case SH_SQUOTE:
  case SH_DQUOTE:
    if (eof)
      return false;
    if (c == (sh->st == SH_SQUOTE ? '\'' : '"'))
      sh->st = SH_WORD;
    else if (c == '\\' && sh->st == SH_DQUOTE)
      shlex_escape(sh, SH_DQUOTE);
    else
      shlex_add(sh, c);
    return true;
  default: /* SH_ESCAPE: inside "", only \\ and \" are escapes */
    if (eof)
      return false;
    if (sh->esc_from == SH_DQUOTE && c != '\\' && c != '"')
      shlex_add(sh, '\\');
    shlex_add(sh, c);
    sh->st = sh->esc_from;
    return true;
  }
}

/* shlex.split(s) (POSIX mode, no comments): the number of words, up to
 * 3, with the second in out (room for n bytes); or -1 where Python
 * raises ValueError. */
static int shlex_second_word(const char *s, size_t n, char *out,
                             size_t *out_len)
{
  struct shlex sh;
  size_t i;

  memset(&sh, 0, sizeof(sh));
  sh.out = out;
  for (i = 0; i < n && sh.words < 3; i++) {
    if (!shlex_step(&sh, s[i], false))
      return -1;
  }
  if (sh.words < 3 && !shlex_step(&sh, ' ', true))
    return -1;
  *out_len = sh.out_len;
  return sh.words;
}

static bool starts_with(struct awsconfig_str s, const char *prefix)
{
  size_t n = strlen(prefix);

  return s.len >= n && memcmp(s.s, prefix, n) == 0;
}

/* "[profile NAME]": any section name starting with "profile" that
 * shlex.split() makes two words, the second being NAME ("[profilex y]"
 * names y).  Of the others, only "[default]" is a profile. */
static int config_profile(struct awsconfig_str s, char *buf, size_t *len)
{
  if (starts_with(s, "profile"))
    return shlex_second_word(s.s, s.len, buf, len) == 2;
  if (s.len != 7 || memcmp(s.s, "default", 7) != 0)
    return 0;
  memcpy(buf, "default", 8);
  *len = 7;
  return 1;
}

int awsconfig_section_profile(const struct awsconfig *c, enum awsconfig_file f,
                              size_t i, char **name, size_t *len)
{
  struct awsconfig_str s = awsconfig_section_name(c, i);
  char *buf = malloc(s.len + 8); /* a word, or "default" */
  int rc;

  *name = NULL;
  *len = 0;
  if (buf == NULL)
    return -ENOMEM;
  if (f == AWSCONFIG_CREDENTIALS) {
    memcpy(buf, s.s, s.len);
    *len = s.len;
    rc = 1;
  } else {
    rc = config_profile(s, buf, len);
  }
  if (rc != 1) {
    free(buf);
    return rc;
  }
  buf[*len] = '\0';
  *name = buf;
  return 1;
}

int awsconfig_profile(const struct awsconfig *c, enum awsconfig_file f,
                      const char *name, size_t want, size_t *i)
{
  size_t n = awsconfig_sections(c);
  size_t j;
  size_t len;
  char *p;
  int rc;
  int found = 0;

  /* Later sections win, as later keys of a Python dict do. */
  for (j = 0; j < n; j++) {
    rc = awsconfig_section_profile(c, f, j, &p, &len);
    if (rc < 0)
      return rc;
    if (rc == 1 && len == want && memcmp(p, name, len) == 0) {
      *i = j;
      found = 1;
    }
    free(p);
  }
  return found;
}
