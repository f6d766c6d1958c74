/* SPDX-License-Identifier: MIT */
#include "awsconfig.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "err.h"
#include "pytext.h"
#include "util.h"

/* Python 3.11's configparser.RawConfigParser()._read(), line for line
 * (Lib/configparser.py), with the defaults botocore leaves alone:
 * delimiters '=' and ':', comment prefixes '#' and ';' with no inline
 * ones, strict (duplicates are errors), empty lines kept in values,
 * default section "DEFAULT", keys through str.lower().  Then what
 * botocore's raw_config_parse() does with the result: each value that
 * begins with "\n" is a sub-section, parsed by _parse_nested().
 *
 * Python raises a DuplicateSectionError, DuplicateOptionError or
 * MissingSectionHeaderError at once, but a ParsingError (a line that is
 * no section, key or continuation) only at the end of the file; the
 * parser does the same, so that the line it names is Python's. */

#define AWS_DEFAULT  SIZE_MAX       /* the index of [DEFAULT] */
#define AWS_SECTIONS (SIZE_MAX - 1) /* the hash key space of sections */

struct aws_sect {
  size_t name; /* offset in the arena */
  size_t name_len;
};

struct aws_opt {
  size_t sect; /* index into sects, or AWS_DEFAULT */
  size_t name; /* offsets in the arena */
  size_t name_len;
  size_t val;
  size_t val_len;
  unsigned line;
  size_t overridden; /* for [DEFAULT]'s: sections that set their own */
};

struct awsconfig {
  char *arena; /* owned; names and values, never reallocated; wiped */
  size_t arena_len;
  size_t arena_cap;
  struct aws_sect *sects; /* owned */
  size_t nsects;
  size_t sects_cap;
  struct aws_opt *opts; /* owned */
  size_t nopts;
  size_t opts_cap;
  /* owned: open addressing over sections and keys, for the duplicate
   * checks and awsconfig_get; 0 empty, 2i+1 opts[i], 2i+2 sects[i] */
  size_t *slots;
  size_t nslots; /* a power of two, over twice the entries */
};

/* The parser's state: configparser._read()'s local variables. */
struct aws_parse {
  struct awsconfig *c;
  const char *file; /* borrowed; for messages */
  struct cfw_err *err;
  unsigned lineno;
  bool in_sect;      /* cursect is not None */
  size_t sect;       /* cursect */
  bool have_opt;     /* optname is a non-empty name */
  bool open;         /* the last key's value ends the arena */
  size_t indent;     /* indent_level */
  unsigned deferred; /* the first ParsingError's line, or 0 */
};

static uint64_t aws_hash(size_t space, const char *s, size_t n)
{
  uint64_t h = 14695981039346656037ULL ^ (uint64_t)space;
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* The slot holding (space, name), or the empty slot where it would go.
 * The table is never full. */
static size_t *aws_slot(const struct awsconfig *c, size_t space, const char *s,
                        size_t n)
{
  size_t i = (size_t)aws_hash(space, s, n) & (c->nslots - 1);
  const struct aws_opt *o;
  const struct aws_sect *sc;
  size_t v;

  for (;; i = (i + 1) & (c->nslots - 1)) {
    v = c->slots[i];
    if (v == 0)
      return &c->slots[i];
    if (v % 2 == 1) {
      o = &c->opts[v / 2];
      if (o->sect == space && o->name_len == n &&
          memcmp(c->arena + o->name, s, n) == 0)
        return &c->slots[i];
    } else {
      sc = &c->sects[v / 2 - 1];
      if (space == AWS_SECTIONS && sc->name_len == n &&
          memcmp(c->arena + sc->name, s, n) == 0)
        return &c->slots[i];
    }
  }
}

static const char *aws_entry_name(const struct awsconfig *c, size_t v,
                                  size_t *space, size_t *n)
{
  if (v % 2 == 1) {
    *space = c->opts[v / 2].sect;
    *n = c->opts[v / 2].name_len;
    return c->arena + c->opts[v / 2].name;
  }
  *space = AWS_SECTIONS;
  *n = c->sects[v / 2 - 1].name_len;
  return c->arena + c->sects[v / 2 - 1].name;
}

/* Doubles the table when one more entry would fill over half of it. */
static int aws_table_grow(struct awsconfig *c)
{
  size_t *old = c->slots;
  size_t oldn = c->nslots;
  size_t entries = c->nopts + c->nsects;
  size_t space;
  size_t n;
  const char *name;
  size_t i;

  if (c->nslots > 2 * (entries + 1))
    return 0;
  c->nslots = c->nslots ? c->nslots * 2 : 16;
  c->slots = calloc(c->nslots, sizeof(*c->slots));
  if (c->slots == NULL) {
    c->slots = old;
    c->nslots = oldn;
    return -ENOMEM;
  }
  for (i = 0; i < oldn; i++) {
    if (old[i] == 0)
      continue;
    name = aws_entry_name(c, old[i], &space, &n);
    *aws_slot(c, space, name, n) = old[i];
  }
  free(old);
  return 0;
}

/* Appends s[0..n) to the arena, lowered if asked; its offset in *at.
 * The arena holds the file's length, which is enough: a name or value
 * is no longer than its line, and the "\n" that joins a value's lines
 * stands for the end of the line before.  -EOVERFLOW would be a bug. */
static int aws_put(struct awsconfig *c, const char *s, size_t n, bool lower,
                   size_t *at)
{
  *at = c->arena_len;
  if (n > c->arena_cap - c->arena_len)
    return -EOVERFLOW;
  if (lower) {
    c->arena_len += pytext_lower(c->arena + c->arena_len, s, n);
  } else if (n > 0) {
    memcpy(c->arena + c->arena_len, s, n);
    c->arena_len += n;
  }
  return 0;
}

/* Ends the value that continuation lines could extend: "\n".join() of
 * its lines, then rstrip(), which drops the empty lines at its end. */
static void aws_close(struct aws_parse *ps)
{
  struct awsconfig *c = ps->c;
  struct aws_opt *o;

  if (!ps->open)
    return;
  o = &c->opts[c->nopts - 1];
  while (o->val_len > 0 && c->arena[o->val + o->val_len - 1] == '\n')
    o->val_len--;
  c->arena_len = o->val + o->val_len;
  ps->open = false;
}

/* One more line of the current key's value: "" for a blank line. */
static int aws_extend(struct aws_parse *ps, const char *b, const char *e)
{
  struct awsconfig *c = ps->c;
  struct aws_opt *o = &c->opts[c->nopts - 1];
  size_t at;
  int rc;

  rc = aws_put(c, "\n", 1, false, &at);
  if (rc == 0)
    rc = aws_put(c, b, (size_t)(e - b), false, &at);
  o->val_len = c->arena_len - o->val;
  return rc;
}

static int aws_fail(struct aws_parse *ps, unsigned line, const char *why)
{
  return cfw_err_set(ps->err, -EINVAL, "%s:%u: %s", ps->file, line, why);
}

static int aws_section(struct aws_parse *ps, const char *b, const char *e)
{
  struct awsconfig *c = ps->c;
  size_t n = (size_t)(e - b);
  size_t *slot;
  void *p;

  aws_close(ps);
  ps->in_sect = true;
  ps->have_opt = false;
  if (n == 7 && memcmp(b, "DEFAULT", 7) == 0) {
    ps->sect = AWS_DEFAULT; /* may be given again: no check */
    return 0;
  }
  if (aws_table_grow(c) < 0)
    return -ENOMEM;
  slot = aws_slot(c, AWS_SECTIONS, b, n);
  if (*slot != 0)
    return aws_fail(ps, ps->lineno,
                    "section given twice (the AWS CLI refuses that too)");
  p = array_grow(c->sects, c->nsects, &c->sects_cap, sizeof(*c->sects));
  if (p == NULL)
    return -ENOMEM;
  c->sects = p;
  if (aws_put(c, b, n, false, &c->sects[c->nsects].name) < 0)
    return -EOVERFLOW;
  c->sects[c->nsects].name_len = n;
  ps->sect = c->nsects++;
  *slot = 2 * ps->sect + 2;
  return 0;
}

/* "name = value" or "name: value", split at the first '=' or ':'. */
static int aws_key(struct aws_parse *ps, const char *b, const char *e)
{
  struct awsconfig *c = ps->c;
  const char *d = b;
  const char *ne;
  const char *vb;
  struct aws_opt *o;
  size_t *slot;
  void *p;

  while (d < e && *d != '=' && *d != ':')
    d++;
  if (d == e) {
    if (ps->deferred == 0)
      ps->deferred = ps->lineno; /* and optname stays what it was */
    return 0;
  }
  ne = d;
  vb = d + 1;
  pytext_strip(&b, &ne);
  pytext_strip(&vb, &e);
  if (b == ne && ps->deferred == 0)
    ps->deferred = ps->lineno; /* an empty name: Python goes on too */
  aws_close(ps);
  p = array_grow(c->opts, c->nopts, &c->opts_cap, sizeof(*c->opts));
  if (p == NULL)
    return -ENOMEM;
  c->opts = p;
  if (aws_table_grow(c) < 0)
    return -ENOMEM;
  o = &c->opts[c->nopts];
  memset(o, 0, sizeof(*o));
  o->sect = ps->sect;
  o->line = ps->lineno;
  if (aws_put(c, b, (size_t)(ne - b), true, &o->name) < 0)
    return -EOVERFLOW;
  o->name_len = c->arena_len - o->name;
  slot = aws_slot(c, o->sect, c->arena + o->name, o->name_len);
  if (*slot != 0)
    return aws_fail(ps, ps->lineno,
                    "key given twice in its section (the AWS CLI refuses "
                    "that too)");
  if (aws_put(c, vb, (size_t)(e - vb), false, &o->val) < 0)
    return -EOVERFLOW;
  o->val_len = (size_t)(e - vb);
  *slot = 2 * c->nopts + 1;
  c->nopts++;
  ps->have_opt = o->name_len > 0;
  ps->open = true;
  return 0;
}

/* A line that is not blank and not a comment: continuation, section or
 * key.  [b, e) is the line trimmed, line where it began. */
static int aws_content(struct aws_parse *ps, const char *line, const char *b,
                       const char *e)
{
  size_t indent = pytext_chars(line, b);
  const char *close;

  if (ps->in_sect && ps->have_opt && indent > ps->indent)
    return aws_extend(ps, b, e);
  ps->indent = indent;
  /* "\[(?P<header>.+)\]" matched at the start: up to the last ']'. */
  close =
      e - b >= 3 && *b == '[' ? memrchr(b + 2, ']', (size_t)(e - b - 2)) : NULL;
  if (close != NULL)
    return aws_section(ps, b + 1, close);
  if (!ps->in_sect && ps->lineno == 1 && e - line >= 3 &&
      memcmp(line, "\xef\xbb\xbf", 3) == 0)
    return aws_fail(ps, 1,
                    "the file starts with a UTF-8 byte order mark, which "
                    "the AWS CLI refuses too; save it without one");
  if (!ps->in_sect)
    return aws_fail(ps, ps->lineno,
                    "a line before the first [section] (the AWS CLI "
                    "refuses that too)");
  return aws_key(ps, b, e);
}

static int aws_line(struct aws_parse *ps, const char *line, size_t n)
{
  const char *b = line;
  const char *e = line + n;

  pytext_strip(&b, &e);
  if (b < e && (*b == '#' || *b == ';'))
    return 0; /* a comment, even inside a value */
  if (b == e) {
    /* An empty line inside a value is part of it. */
    return ps->in_sect && ps->have_opt ? aws_extend(ps, b, e) : 0;
  }
  return aws_content(ps, line, b, e);
}

/* The line of data[off], counting as Python's universal newlines do. */
static unsigned aws_line_of(const char *data, size_t len, size_t off)
{
  struct cfgfile_lines it;
  size_t at;
  size_t n;

  cfgfile_lines_init(&it, data, len, CFGFILE_EOL_UNIVERSAL, 0, true);
  while (cfgfile_next_line(&it, &at, &n, NULL) > 0) {
    if (off < at + n) /* a line's end is ASCII, never the bad byte */
      break;
  }
  return it.lineno;
}

static void aws_str_strip(struct awsconfig_str *out, const char *b,
                          const char *e)
{
  pytext_strip(&b, &e);
  out->s = b;
  out->len = (size_t)(e - b);
}

static void aws_value(const struct awsconfig *c, const struct aws_opt *o,
                      struct awsconfig_value *out)
{
  out->text.s = c->arena + o->val;
  out->text.len = o->val_len;
  out->sub = o->val_len > 0 && c->arena[o->val] == '\n';
  out->line = o->line;
}

/* botocore parses every sub-section it reads, and fails on a line
 * without '='.  It reads every key of every section, and those of
 * [DEFAULT] that some section does not set itself. */
static int aws_check_subs(struct awsconfig *c, const char *file,
                          struct cfw_err *err)
{
  struct awsconfig_value v;
  struct awsconfig_str k;
  struct awsconfig_str val;
  const struct aws_opt *o;
  size_t *slot;
  size_t pos;
  size_t i;
  int rc;

  for (i = 0; i < c->nopts; i++) {
    o = &c->opts[i];
    if (o->sect == AWS_DEFAULT)
      continue;
    slot = aws_slot(c, AWS_DEFAULT, c->arena + o->name, o->name_len);
    if (*slot != 0)
      c->opts[*slot / 2].overridden++;
  }
  for (i = 0; i < c->nopts; i++) {
    o = &c->opts[i];
    if (o->sect == AWS_DEFAULT && o->overridden == c->nsects)
      continue;
    aws_value(c, o, &v);
    pos = 0;
    do {
      rc = v.sub ? awsconfig_sub_next(&v, &pos, &k, &val) : 0;
    } while (rc > 0);
    if (rc < 0)
      return cfw_err_set(err, -EINVAL,
                         "%s:%u: a line of this key's sub-section has no "
                         "'=' (the AWS CLI refuses that too)",
                         file, o->line);
  }
  return 0;
}

static int aws_parse_lines(struct aws_parse *ps, const char *data, size_t len)
{
  struct cfgfile_lines it;
  size_t off;
  size_t n;
  int rc = 0;

  cfgfile_lines_init(&it, data, len, CFGFILE_EOL_UNIVERSAL, 0, true);
  while (rc == 0 && cfgfile_next_line(&it, &off, &n, NULL) > 0) {
    ps->lineno = it.lineno;
    rc = aws_line(ps, data + off, n);
  }
  aws_close(ps);
  if (rc == 0 && ps->deferred != 0)
    rc = aws_fail(ps, ps->deferred,
                  "syntax error (not a [section], key = value or an "
                  "indented continuation line)");
  return rc;
}

int awsconfig_parse(struct awsconfig **out, const char *data, size_t len,
                    const char *name, struct cfw_err *err)
{
  struct aws_parse ps;
  struct awsconfig *c;
  size_t bad = pytext_utf8_check(data, len);
  int rc;

  *out = NULL;
  if (bad < len)
    return cfw_err_set(err, -EINVAL,
                       "%s:%u: not UTF-8 text (the AWS CLI refuses that too)",
                       name, aws_line_of(data, len, bad));
  c = calloc(1, sizeof(*c));
  if (c != NULL) {
    c->arena_cap = len + 1;
    c->arena = malloc(c->arena_cap);
  }
  if (c == NULL || c->arena == NULL) {
    awsconfig_destroy(c);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  memset(&ps, 0, sizeof(ps));
  ps.c = c;
  ps.file = name;
  ps.err = err;
  rc = aws_parse_lines(&ps, data, len);
  if (rc == 0)
    rc = aws_check_subs(c, name, err);
  if (rc == -ENOMEM || rc == -EOVERFLOW)
    cfw_err_set(err, rc, "%s", rc == -ENOMEM ? "out of memory" : "bug");
  if (rc < 0) {
    awsconfig_destroy(c);
    return rc;
  }
  *out = c;
  return 0;
}

void awsconfig_destroy(struct awsconfig *c)
{
  if (c == NULL)
    return;
  if (c->arena != NULL)
    OPENSSL_cleanse(c->arena, c->arena_cap);
  free(c->arena);
  free(c->sects);
  free(c->opts);
  free(c->slots);
  free(c);
}

size_t awsconfig_sections(const struct awsconfig *c)
{
  return c->nsects;
}

struct awsconfig_str awsconfig_section_name(const struct awsconfig *c, size_t i)
{
  struct awsconfig_str s = {c->arena + c->sects[i].name, c->sects[i].name_len};

  return s;
}

bool awsconfig_get(const struct awsconfig *c, size_t i, const char *key,
                   struct awsconfig_value *out)
{
  size_t n = strlen(key);
  size_t v;

  if (c->nslots == 0)
    return false;
  v = *aws_slot(c, i, key, n);
  if (v == 0)
    v = *aws_slot(c, AWS_DEFAULT, key, n);
  if (v == 0)
    return false;
  aws_value(c, &c->opts[v / 2], out);
  return true;
}

bool awsconfig_key(const struct awsconfig *c, size_t i, size_t k,
                   struct awsconfig_str *name, struct awsconfig_value *out)
{
  const struct aws_opt *o;
  size_t pass;
  size_t j;

  /* The section's own keys, then [DEFAULT]'s that it does not set. */
  for (pass = 0; pass < 2; pass++) {
    for (j = 0; j < c->nopts; j++) {
      o = &c->opts[j];
      if (o->sect != (pass == 0 ? i : AWS_DEFAULT))
        continue;
      if (pass == 1 && *aws_slot(c, i, c->arena + o->name, o->name_len) != 0)
        continue;
      if (k-- > 0)
        continue;
      name->s = c->arena + o->name;
      name->len = o->name_len;
      aws_value(c, o, out);
      return true;
    }
  }
  return false;
}

int awsconfig_sub_next(const struct awsconfig_value *v, size_t *pos,
                       struct awsconfig_str *name, struct awsconfig_str *value)
{
  const char *p = v->text.s + *pos;
  const char *end = v->text.s + v->text.len;
  const char *e;
  const char *b;
  const char *le;
  const char *eq;
  size_t br = 0;

  /* str.splitlines(), each line stripped, the empty ones skipped. */
  for (; p < end; p = e + br) {
    for (e = p; e < end; e++) {
      br = pytext_break_at(e, end);
      if (br > 0)
        break;
    }
    b = p;
    le = e;
    pytext_strip(&b, &le);
    if (b == le)
      continue;
    /* key, value = line.split('=', 1), each stripped. */
    eq = memchr(b, '=', (size_t)(le - b));
    if (eq == NULL)
      return -EINVAL;
    aws_str_strip(name, b, eq);
    aws_str_strip(value, eq + 1, le);
    *pos = (size_t)(e + br - v->text.s);
    return 1;
  }
  *pos = v->text.len;
  return 0;
}
