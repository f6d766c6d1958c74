/* SPDX-License-Identifier: MIT */
/* cfwatch.ini's line grammar (inilex.c) against its reference, the inih
 * library it replaces: both lex the same text, and what they report
 * (section, key and value of every pair, and the first error's line)
 * must be the same, on a table of tricky files and on many generated
 * ones.  inih's lines hold at most 198 bytes and its section and key
 * names 49, so the files stay below that; the tests after the
 * differential ones cover what inih cannot read. */
#include "buf.h"
#include "cfgfile.h"
#include "err.h"
#include "inilex.h"
#include "test.h"
#include "util.h"

#include <ini.h>

/* What a lexer reported: "section|name|value\n" per pair, and
 * "error LINE\n" for the first error, at the end, as inih returns it. */
struct record {
  struct buf out;
};

static int on_pair(void *user, const char *section, const char *name,
                   const char *value)
{
  struct record *r = user;

  CHECK_EQ_INT(buf_addf(&r->out, "%s|%s|%s\n", section, name, value), 0);
  return 1;
}

/* Lexes text with inilex, as config_ini.c does, but going on after an
 * error as inih does. */
static void lex_ours(const char *text, struct record *r)
{
  struct cfgfile_lines it;
  struct inilex lx;
  struct cfw_err err;
  const char *name = NULL;
  const char *value = NULL;
  char *copy = strdup(text);
  size_t off;
  size_t n;
  unsigned first_error = 0;

  CHECK(copy != NULL);
  memset(&lx, 0, sizeof(lx));
  cfgfile_lines_init(&it, copy, strlen(copy), CFGFILE_EOL_LF, 0, false);
  while (cfgfile_next_line(&it, &off, &n, &err) > 0) {
    switch (inilex_line(&lx, copy + off, n, &name, &value)) {
    case INILEX_KEY:
      (void)on_pair(r, lx.section, name, value); /* it always returns 1 */
      break;
    case INILEX_ERROR:
      if (first_error == 0)
        first_error = it.lineno;
      break;
    default:
      break;
    }
  }
  if (first_error != 0)
    CHECK_EQ_INT(buf_addf(&r->out, "error %u\n", first_error), 0);
  free(copy);
}

static void lex_inih(const char *text, struct record *r)
{
  int rc = ini_parse_string(text, on_pair, r);

  CHECK(rc >= 0);
  if (rc > 0)
    CHECK_EQ_INT(buf_addf(&r->out, "error %d\n", rc), 0);
}

/* Both lexers agree on text; returns false (after saying so) if not. */
static bool agree(const char *text)
{
  struct record ours;
  struct record theirs;
  bool same;

  buf_init(&ours.out, 1 << 20);
  buf_init(&theirs.out, 1 << 20);
  lex_ours(text, &ours);
  lex_inih(text, &theirs);
  same = strcmp(buf_str(&ours.out), buf_str(&theirs.out)) == 0;
  if (!same)
    TEST_FAIL_("lexers differ on \"%s\":\ninilex:\n%sinih:\n%s", text,
               buf_str(&ours.out), buf_str(&theirs.out));
  buf_free(&ours.out);
  buf_free(&theirs.out);
  return same;
}

static void test_table_agrees_with_inih(void)
{
  static const char *const files[] = {
      "[cfwatch]\nroot = /srv\n",
      "[cfwatch]\nroot=/srv ; comment\nquiet_ms = 5;not a comment\n",
      "[cfwatch]\nk = ;only a comment\nj =;value\nl =\n",
      "[cfwatch] trailing text\n[site a]b]\nk = v\n",
      "[site a ;x]\nk = v\n",
      "[ spaced ]\n  k  :  v : w = x  \n",
      "[s]\nexclude = *.tmp\n  *.bak ; comment\n\t*.swp\n",
      "[s]\n  indented = first\n  second\n",
      "[s]\nk = v\n\n  after a blank line\n; c\n  after a comment\n",
      "[s]\nk = v\n[t]\n  not a continuation = x\n",
      "[s]\nk = v\n  [not a section]\n",
      "\xef\xbb\xbf[s]\nk = v\n",
      "\xef\xbb\xbf  [s]\n\xef\xbb\xbfk = v\n",
      "[s]\r\nk = v\r\n\r\n  more\r\n",
      "[s]\nk\x0b=\x0cv\x0b\n",
      "k = before any section\n[s]\n",
      "  k = indented before any section\n",
      "[s]\nno equals sign\nk = v\n[unclosed\nj = w\n",
      "[s]\n= empty name\n : colon first\n",
      "[s]\n#k = v\n;k = v\n  # indented comment\n",
      "[s]\nk = a ;b ;c\nj = a;b\n",
      "[s]\nk = v\n  ; a comment, not a continuation\n",
      "[]\nk = v\n",
      "[s]\nk = \"quoted ; kept\"\n",
      "[s]\nk = v\n    ",
      "",
      "\n\n\n",
      "[s]\nk = v",
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(files); i++)
    (void)agree(files[i]);
}

/* xorshift64: a fixed sequence, so a failure can be replayed. */
static uint64_t rng_next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A file of lines made of pieces that matter to the grammar. */
static void gen_file(uint64_t *seed, struct buf *b)
{
  static const char *const pieces[] = {
      "[",  "]",    "=",  ":",        ";",    "#",   " ",        "\t",
      "\r", "\x0b", "a",  "k2",       "site", "x y", "\"",       "\xef\xbb\xbf",
      "  ", "[s]",  " ;", "\xc3\xa9", "\\",   "=:",  "[site a]", "key = value"};
  size_t lines = 1 + rng_next(seed) % 10;
  size_t len;
  size_t i;
  size_t j;

  buf_reset(b);
  for (i = 0; i < lines; i++) {
    len = rng_next(seed) % 9;
    for (j = 0; j < len; j++)
      CHECK_EQ_INT(buf_adds(b, pieces[rng_next(seed) % ARRAY_SIZE(pieces)]), 0);
    if (i + 1 < lines || rng_next(seed) % 2 == 0)
      CHECK_EQ_INT(buf_addc(b, '\n'), 0);
  }
}

static void test_generated_files_agree_with_inih(void)
{
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  struct buf b;
  int i;

  buf_init(&b, 1 << 16);
  for (i = 0; i < 50000; i++) {
    gen_file(&seed, &b);
    if (!agree(buf_str(&b)))
      break;
  }
  buf_free(&b);
}

/* What inih cannot do: lines and names of any length. */
static void test_long_lines_and_names_are_whole(void)
{
  struct inilex lx;
  const char *name = NULL;
  const char *value = NULL;
  static char line[20000];

  memset(&lx, 0, sizeof(lx));
  memset(line, 'x', sizeof(line));
  line[0] = '[';
  line[9000] = ']';
  CHECK_EQ_INT(inilex_line(&lx, line, 9001, &name, &value), INILEX_SECTION);
  CHECK_EQ_INT(strlen(lx.section), 8999);
  memset(line, 'v', sizeof(line));
  memcpy(line, "upload_cmd = ", 13);
  CHECK_EQ_INT(inilex_line(&lx, line, 12000, &name, &value), INILEX_KEY);
  CHECK_EQ_STR(name, "upload_cmd");
  CHECK_EQ_INT(strlen(value), 12000 - 13);
}

static void test_error_leaves_state_alone(void)
{
  struct inilex lx;
  const char *name = NULL;
  const char *value = NULL;
  char l1[] = "[s]";
  char l2[] = "k = v";
  char l3[] = "[broken";
  char l4[] = "  more";

  memset(&lx, 0, sizeof(lx));
  CHECK_EQ_INT(inilex_line(&lx, l1, 3, &name, &value), INILEX_SECTION);
  CHECK_EQ_INT(inilex_line(&lx, l2, 5, &name, &value), INILEX_KEY);
  CHECK_EQ_INT(inilex_line(&lx, l3, 7, &name, &value), INILEX_ERROR);
  CHECK_EQ_STR(lx.section, "s");
  CHECK_EQ_INT(inilex_line(&lx, l4, 6, &name, &value), INILEX_KEY);
  CHECK_EQ_STR(name, "k");
  CHECK_EQ_STR(value, "more");
}

TEST_MAIN(TEST(test_table_agrees_with_inih),
          TEST(test_generated_files_agree_with_inih),
          TEST(test_long_lines_and_names_are_whole),
          TEST(test_error_leaves_state_alone))
