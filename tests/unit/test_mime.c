/* SPDX-License-Identifier: MIT */
#include "mime.h"

#include "test.h"

/* A mime.types as Debian's is written, with the cases the reader must
 * get right: comments (whole-line, indented, trailing), blank lines,
 * tabs, several extensions on a line, an extension given twice (the
 * last type wins), upper case in types and extensions, a bad type, an
 * extension with a '.', a CRLF line end, and a type without extensions. */
static const char fixture[] =
    "###############\n"
    "#  Media types\n"
    "###############\n"
    "\n"
    "   # an indented comment html\n"
    "text/html\t\t\thtml htm   # trailing comment word\n"
    "application/x-Thing  THING thing2\n"
    "image/png png\n"
    "\n"
    "application/x-dup dup\n"
    "text/x-dup dup\n"
    "bad-type-without-slash foo\n"
    "text/ empty\n"
    "text/plain\ttxt\tTEXT\n"
    "application/spdx+json spdx.json sjson\n"
    "application/geo+json geojson\n"
    "application/javascript ajs\n"
    "application/ecmascript es\n"
    "application/x-javascript xjs\n"
    "application/json-seq jsonseq\n"
    "application/atom+xml atom\n"
    "TEXT/Plain upper\n"
    "text/x-crlf crlf\r\n"
    "application/vnd.no-extensions\n"
    "image/svg+xml svg";

/* Extensions the fixture adds to the built-in table: thing, thing2, dup,
 * text, sjson, geojson, ajs, es, xjs, jsonseq, atom, upper, crlf. */
#define FIXTURE_NEW_EXTS 13

static char tmp[4096];

static void write_file(const char *path, const char *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0) {
    perror(path);
    exit(2);
  }
}

/* Loads data[0..len) from a file in a fresh directory. */
static struct mime_table *load_data(const char *data, size_t len)
{
  struct mime_table *t = NULL;
  struct cfw_err err;
  char path[4200];
  int rc;

  test_tmpdir(tmp, sizeof(tmp));
  (void)snprintf(path, sizeof(path), "%s/mime.types", tmp);
  write_file(path, data, len);
  rc = mime_table_load(&t, path, &err);
  if (rc != MIME_FROM_FILE)
    TEST_FAIL_("mime_table_load: %d %s", rc, err.msg);
  REQUIRE(t != NULL);
  return t;
}

static struct mime_table *load_fixture(void)
{
  return load_data(fixture, sizeof(fixture) - 1);
}

static void check_type_(const struct mime_table *t, const char *path,
                        const char *want, int line)
{
  const char *got = mime_type_of(t, path, strlen(path));

  if (strcmp(got, want) != 0)
    TEST_FAIL_("line %d: mime_type_of(\"%s\") is \"%s\", want \"%s\"", line,
               path, got, want);
}

#define check_type(t, path, want) check_type_(t, path, want, __LINE__)

static void test_extensions_match_in_any_case(void)
{
  struct mime_table *t = load_fixture();

  check_type(t, "index.html", "text/html; charset=utf-8");
  check_type(t, "a/b/INDEX.HTM", "text/html; charset=utf-8");
  check_type(t, "x.thing", "application/x-Thing");
  check_type(t, "x.Thing2", "application/x-Thing");
  check_type(t, "x.text", "text/plain; charset=utf-8");
  check_type(t, "x.TXT", "text/plain; charset=utf-8");
  CHECK_EQ_STR(mime_lookup(t, "PNGxyz", 3), "image/png");
  CHECK(mime_lookup(t, "", 0) == NULL);
  mime_table_destroy(t);
  test_rmtree(tmp);
}

static void test_comments_and_bad_lines_are_skipped(void)
{
  struct mime_table *t = load_fixture();

  check_type(t, "x.word", MIME_OCTET_STREAM);    /* after a '#' */
  check_type(t, "x.comment", MIME_OCTET_STREAM); /* ditto */
  check_type(t, "x.foo", MIME_OCTET_STREAM);     /* type without '/' */
  check_type(t, "x.empty", MIME_OCTET_STREAM);   /* empty subtype */
  check_type(t, "x.crlf", "text/x-crlf; charset=utf-8");
  check_type(t, "x.svg", "image/svg+xml"); /* last line, no newline */
  CHECK_EQ_INT(mime_table_size(t) >= FIXTURE_NEW_EXTS, 1);
  mime_table_destroy(t);
  test_rmtree(tmp);
}

static void test_an_extension_given_twice_takes_its_last_type(void)
{
  struct mime_table *t = load_fixture();
  struct mime_table *b = NULL;

  check_type(t, "x.dup", "text/x-dup; charset=utf-8");
  /* Each extension counts once, repeated or shared with the built-in
   * table. */
  REQUIRE(mime_table_builtin(&b, NULL) == 0);
  CHECK_EQ_INT(mime_table_size(t), mime_table_size(b) + FIXTURE_NEW_EXTS);
  mime_table_destroy(b);
  mime_table_destroy(t);
  test_rmtree(tmp);
}

/* The lookup takes what follows the last '.', as Go and Python do, so
 * "spdx.json" in the file can never match: "x.spdx.json" is JSON. */
static void test_last_dot_of_the_name_is_the_extension(void)
{
  struct mime_table *t = load_fixture();

  check_type(t, "x.sjson", "application/spdx+json; charset=utf-8");
  check_type(t, "x.spdx.json", "application/json; charset=utf-8");
  check_type(t, ".htaccess", MIME_OCTET_STREAM);
  check_type(t, "d/.png", MIME_OCTET_STREAM);
  check_type(t, "d/.x.png", "image/png");
  check_type(t, "Makefile", MIME_OCTET_STREAM);
  check_type(t, "dir.png/readme", MIME_OCTET_STREAM);
  check_type(t, "trailing.", MIME_OCTET_STREAM);
  check_type(t, "", MIME_OCTET_STREAM);
  mime_table_destroy(t);
  test_rmtree(tmp);
}

static void test_charset_goes_to_text_js_and_json_only(void)
{
  struct mime_table *t = load_fixture();

  check_type(t, "x.css", "text/css; charset=utf-8");
  check_type(t, "x.js", "text/javascript; charset=utf-8");
  check_type(t, "x.ajs", "application/javascript; charset=utf-8");
  check_type(t, "x.es", "application/ecmascript; charset=utf-8");
  check_type(t, "x.xjs", "application/x-javascript; charset=utf-8");
  check_type(t, "x.json", "application/json; charset=utf-8");
  check_type(t, "x.geojson", "application/geo+json; charset=utf-8");
  check_type(t, "x.webmanifest", "application/manifest+json; charset=utf-8");
  check_type(t, "x.upper", "TEXT/Plain; charset=utf-8");
  /* XML declares its own encoding; binary types have none. */
  check_type(t, "x.svg", "image/svg+xml");
  check_type(t, "x.xml", "application/xml");
  check_type(t, "x.atom", "application/atom+xml");
  check_type(t, "x.jsonseq", "application/json-seq");
  check_type(t, "x.png", "image/png");
  check_type(t, "x.pdf", "application/pdf");
  mime_table_destroy(t);
  test_rmtree(tmp);
}

static void test_file_overrides_the_builtin_table(void)
{
  static const char data[] = "application/x-javascript js\n";
  struct mime_table *t = load_data(data, sizeof(data) - 1);

  check_type(t, "x.js", "application/x-javascript; charset=utf-8");
  check_type(t, "x.map", "application/json; charset=utf-8"); /* built in */
  mime_table_destroy(t);
  test_rmtree(tmp);
}

/* Without the file (media-types not installed): the built-in table, and
 * a warning for the caller to log once. */
static void test_missing_file_gives_builtin_table_and_warning(void)
{
  struct mime_table *t = NULL;
  struct cfw_err err;
  char path[4200];

  test_tmpdir(tmp, sizeof(tmp));
  (void)snprintf(path, sizeof(path), "%s/no/mime.types", tmp);
  CHECK_EQ_INT(mime_table_load(&t, path, &err), MIME_FROM_BUILTIN);
  REQUIRE(t != NULL);
  CHECK_CONTAINS(err.msg, path);
  CHECK_CONTAINS(err.msg, "media-types");
  check_type(t, "index.html", "text/html; charset=utf-8");
  check_type(t, "a.css", "text/css; charset=utf-8");
  check_type(t, "a.mjs", "text/javascript; charset=utf-8");
  check_type(t, "a.map", "application/json; charset=utf-8");
  check_type(t, "a.svg", "image/svg+xml");
  check_type(t, "a.JPEG", "image/jpeg");
  check_type(t, "a.avif", "image/avif");
  check_type(t, "favicon.ico", "image/vnd.microsoft.icon");
  check_type(t, "f.woff2", "font/woff2");
  check_type(t, "m.wasm", "application/wasm");
  check_type(t, "v.webm", "video/webm");
  check_type(t, "run.sh", MIME_OCTET_STREAM); /* not a web type */
  mime_table_destroy(t);
  test_rmtree(tmp);
}

static void test_unreadable_or_huge_file_is_an_error(void)
{
  struct mime_table *t = NULL;
  struct cfw_err err;
  char path[4200];
  char *big;

  test_tmpdir(tmp, sizeof(tmp));
  CHECK(mime_table_load(&t, tmp, &err) < 0); /* a directory */
  CHECK(t == NULL);
  (void)snprintf(path, sizeof(path), "%s/big", tmp);
  big = malloc(MIME_MAX_FILE_SIZE + 1);
  REQUIRE(big != NULL);
  memset(big, '#', MIME_MAX_FILE_SIZE + 1);
  write_file(path, big, MIME_MAX_FILE_SIZE + 1);
  free(big);
  CHECK_EQ_INT(mime_table_load(&t, path, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "larger than");
  CHECK(t == NULL);
  test_rmtree(tmp);
}

static void test_nul_byte_spoils_only_its_field(void)
{
  static const char data[] = "text/x-nul bad\0ext good\nimage/png png\n";
  struct mime_table *t = load_data(data, sizeof(data) - 1);

  check_type(t, "x.good", "text/x-nul; charset=utf-8");
  check_type(t, "x.bad", MIME_OCTET_STREAM);
  check_type(t, "x.png", "image/png");
  mime_table_destroy(t);
  test_rmtree(tmp);
}

/* Thousands of extensions: the index grows and every probe sequence ends
 * at the right entry. */
static void test_many_extensions_are_all_found(void)
{
  char *data = malloc(5000 * 40);
  struct mime_table *t;
  char ext[32];
  char want[64];
  size_t len = 0;
  size_t i;

  REQUIRE(data != NULL);
  for (i = 0; i < 5000; i++)
    len += (size_t)snprintf(data + len, 40, "application/x-n%zu E%zu\n", i, i);
  t = load_data(data, len);
  free(data);
  for (i = 0; i < 5000; i += 7) {
    (void)snprintf(ext, sizeof(ext), "f.e%zu", i);
    (void)snprintf(want, sizeof(want), "application/x-n%zu", i);
    check_type(t, ext, want);
  }
  check_type(t, "f.e5000", MIME_OCTET_STREAM);
  mime_table_destroy(t);
  test_rmtree(tmp);
}

/* Debian's own file, where the machine has it: the types the web needs,
 * and "sh", which it lists twice (application/x-sh, then text/x-sh). */
static void test_debian_table_gives_the_web_types(void)
{
  struct mime_table *t = NULL;
  struct cfw_err err;

  if (access(MIME_DEFAULT_PATH, R_OK) != 0) {
    printf("skipped: no %s\n", MIME_DEFAULT_PATH);
    return;
  }
  CHECK_EQ_INT(mime_table_load(&t, MIME_DEFAULT_PATH, &err), MIME_FROM_FILE);
  REQUIRE(t != NULL);
  CHECK(mime_table_size(t) > 1000);
  check_type(t, "a.js", "text/javascript; charset=utf-8");
  check_type(t, "a.json", "application/json; charset=utf-8");
  check_type(t, "a.svg", "image/svg+xml");
  check_type(t, "a.woff2", "font/woff2");
  check_type(t, "a.wasm", "application/wasm");
  check_type(t, "a.sh", "text/x-sh; charset=utf-8");
  check_type(t, "a.map", "application/json; charset=utf-8");
  mime_table_destroy(t);
}

TEST_MAIN(TEST(test_extensions_match_in_any_case),
          TEST(test_comments_and_bad_lines_are_skipped),
          TEST(test_an_extension_given_twice_takes_its_last_type),
          TEST(test_last_dot_of_the_name_is_the_extension),
          TEST(test_charset_goes_to_text_js_and_json_only),
          TEST(test_file_overrides_the_builtin_table),
          TEST(test_missing_file_gives_builtin_table_and_warning),
          TEST(test_unreadable_or_huge_file_is_an_error),
          TEST(test_nul_byte_spoils_only_its_field),
          TEST(test_many_extensions_are_all_found),
          TEST(test_debian_table_gives_the_web_types))
