/* SPDX-License-Identifier: MIT */
#include "inilex.h"

#include <string.h>

/* isspace() in the C locale, which cfwatch never changes; inih uses
 * isspace() too. */
static bool inilex_space(char c)
{
  return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Cuts the blanks just before end, and what follows them, off s in
 * place; returns s. */
static char *inilex_rstrip(char *s, char *end)
{
  while (end > s && inilex_space(end[-1]))
    end--;
  *end = '\0';
  return s;
}

static char *inilex_lskip(char *s)
{
  while (*s != '\0' && inilex_space(*s))
    s++;
  return s;
}

/* The first of chars (NULL: none) in s, or the ';' of a comment that
 * follows a blank, or the end of s. */
static char *inilex_find(char *s, const char *chars)
{
  bool was_space = false;

  while (*s != '\0' && (chars == NULL || strchr(chars, *s) == NULL) &&
         !(was_space && *s == ';')) {
    was_space = inilex_space(*s);
    s++;
  }
  return s;
}

static enum inilex_kind inilex_section(struct inilex *lx, char *start,
                                       const char **name)
{
  char *end = inilex_find(start + 1, "]");

  if (*end != ']')
    return INILEX_ERROR;
  *end = '\0';
  lx->section = start + 1;
  lx->prev_name = "";
  *name = lx->section;
  return INILEX_SECTION;
}

static enum inilex_kind inilex_key(struct inilex *lx, char *start,
                                   const char **name, const char **value)
{
  char *end = inilex_find(start, "=:");
  char *v;

  if (*end != '=' && *end != ':')
    return INILEX_ERROR;
  *end = '\0';
  *name = inilex_rstrip(start, end);
  v = end + 1;
  end = inilex_find(v, NULL);
  *end = '\0';
  v = inilex_lskip(v); /* stops at the NUL at end at the latest */
  *value = inilex_rstrip(v, end);
  lx->prev_name = *name;
  return INILEX_KEY;
}

enum inilex_kind inilex_line(struct inilex *lx, char *line, size_t n,
                             const char **name, const char **value)
{
  char *start = line;

  if (lx->section == NULL)
    lx->section = "";
  if (lx->prev_name == NULL)
    lx->prev_name = "";
  line[n] = '\0';
  if (!lx->started && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
    start += 3;
  lx->started = true;
  start = inilex_lskip(inilex_rstrip(start, line + n));
  if (*start == '\0' || *start == ';' || *start == '#')
    return INILEX_NOTHING;
  if (*lx->prev_name != '\0' && start > line) {
    *name = lx->prev_name;
    *value = start; /* inih 55 cuts no comment here */
    return INILEX_KEY;
  }
  if (*start == '[')
    return inilex_section(lx, start, name);
  return inilex_key(lx, start, name, value);
}
