/* SPDX-License-Identifier: MIT */
#ifndef CFW_INILEX_H
#define CFW_INILEX_H

#include <stdbool.h>
#include <stddef.h>

/* The line grammar of cfwatch.ini, which is inih's (release 55 as Debian
 * builds it: multi-line values, a UTF-8 byte order mark allowed, ';' and
 * '#' comments at the start of a line, ';' comments after a blank, no
 * keys without a value), with none of inih's limits: its 200-byte line
 * buffer and 50-byte section and key names.  inih itself cannot read a
 * longer line: its buffer size is fixed when the library is built, and
 * Debian's runtime knobs for it are process-wide globals that upstream
 * inih lacks.  test_inilex.c checks this grammar against the library
 * on every line that fits inih's buffer.
 *
 * After blanks are trimmed (isspace() in the C locale) a line is:
 *   - empty, or a comment starting with ';' or '#': nothing;
 *   - indented, after a key in the same section: another value for that
 *     key ("continuation"), whole: a " ;" comment is kept here;
 *   - "[name]", the name ending at the first ']' (text after it is
 *     ignored; a ';' after a blank before it is an error): a section;
 *   - "name = value" or "name : value", split at the first '=' or ':', a
 *     " ;" comment cut from the value: a key;
 *   - anything else, a syntax error. */

/* The grammar's state between lines; zero it before the first line.
 * Plain; the pointers are borrowed from earlier lines of the caller's
 * buffer, which must outlive the lexing. */
struct inilex {
  const char *section;   /* the current section; "" before the first */
  const char *prev_name; /* the last key in it; "" for none */
  bool started;          /* a line was lexed: a BOM counts only on line 1 */
};

enum inilex_kind {
  INILEX_NOTHING, /* a blank line or a comment */
  INILEX_SECTION, /* *name is the new section (also lx->section) */
  INILEX_KEY,     /* *name = *value, in lx->section */
  INILEX_ERROR    /* a syntax error; lx is unchanged */
};

/* Lexes one line: line[0..n) without its '\n', where line[n] is writable
 * (cfgfile_next_line gives such lines) and the line holds no NUL.  It is
 * cut in place, as inih does; *name and *value point into it or into an
 * earlier line.  A continuation comes back as INILEX_KEY with the earlier
 * key's name. */
enum inilex_kind inilex_line(struct inilex *lx, char *line, size_t n,
                             const char **name, const char **value);

#endif
