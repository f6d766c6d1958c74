/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <limits.h>

#include "cflimits.h"
#include "config_layer.h"
#include "planner.h"
#include "test.h"
#include "urlmap.h"
#include "util.h"

/* The first 16 hex digits of SHA-256("/srv/a\nEA"). */
#define CFW_TEST_STATE_ID "67c283d13acd15ad"

#ifndef CFW_SOURCE_DIR
#error "CFW_SOURCE_DIR must name the source tree"
#endif

/* Ends the case if snprintf truncated, which would void the test. */
static void fmt_check(int r, size_t n)
{
  if (r < 0 || (size_t)r >= n)
    exit(2);
}

#define FMT(out, n, ...) fmt_check(snprintf(out, n, __VA_ARGS__), n)

/* Writes text to DIR/cfwatch.ini and loads it into c; path receives the
 * file's name.  Returns config_load_file's result. */
static int load_text(struct config *c, const char *text, char *dir, char *path,
                     struct cfw_err *err)
{
  test_tmpdir(dir, PATH_MAX);
  test_write(dir, "cfwatch.ini", text);
  FMT(path, PATH_MAX, "%s/cfwatch.ini", dir);
  config_init(c);
  cfw_err_clear(err);
  return config_load_file(c, path, err);
}

/* Loads text and expects an error whose message is "<file>:<suffix>", or
 * success when suffix is NULL. */
static void expect_file_error(const char *text, const char *suffix)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  char want[PATH_MAX + 256];
  struct config c;
  struct cfw_err err;

  if (suffix == NULL) {
    CHECK_EQ_INT(load_text(&c, text, dir, path, &err), 0);
    CHECK_EQ_STR(err.msg, "");
  } else {
    CHECK(load_text(&c, text, dir, path, &err) < 0);
    FMT(want, sizeof(want), "%s:%s", path, suffix);
    CHECK_EQ_STR(err.msg, want);
  }
  config_free(&c);
  test_rmtree(dir);
}

/* Loads text and finishes; returns the first resolved site, or NULL. */
static const struct site_config *load_finish(struct config *c, const char *text,
                                             char *dir, struct cfw_err *err)
{
  char path[PATH_MAX];
  size_t n = 0;
  const struct site_config *s;

  if (load_text(c, text, dir, path, err) < 0 || config_finish(c, err) < 0) {
    CHECK_EQ_STR(err->msg, ""); /* shows the message */
    return NULL;
  }
  s = config_sites(c, &n);
  CHECK(n >= 1);
  return s;
}

/* A key added to the enum but not to the table crashed the first lookup
 * (a NULL name); no compiler catches a missing designated initialiser. */
static void test_every_key_has_its_table_entry(void)
{
  CHECK(config_key_table_whole());
  CHECK(config_key_find("s3_endpoint") >= 0);
  CHECK(config_key_find("no_such_key") < 0);
}

/* The origin: s3://BUCKET[/PREFIX], and not together with upload_cmd. */
static void test_origin_is_checked_and_excludes_upload_cmd(void)
{
  struct cfw_err err = {0};
  struct config c;

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "origin", "s3://Bad_Bucket", &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "bucket name");
  CHECK_EQ_INT(config_set_cli(&c, "origin", "s3://www-example-com/site/", &err),
               0);
  CHECK_EQ_INT(config_set_cli(&c, "region", "eu-west-1", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "upload_cmd", "true", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "root", "/srv/site", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "origin and upload_cmd");
  config_free(&c);
}

static void test_syntax_error_names_line(void)
{
  expect_file_error("[cfwatch]\nquiet_ms = 5\nthis line has no equals\n",
                    "3: syntax error");
}

static void test_unterminated_section_is_syntax_error(void)
{
  expect_file_error("[cfwatch]\n[site docs\n", "2: syntax error");
}

static void test_unknown_key_names_line(void)
{
  expect_file_error("[cfwatch]\n\n; c\nroot = /x\n\n\nquiet_msec = 5\n",
                    "7: quiet_msec: unknown key");
}

static void test_unknown_section_names_its_header_line(void)
{
  expect_file_error("[cfwatch]\nroot = /x\n[cfwach]\nquiet_ms = 5\n",
                    "3: [cfwach]: unknown section (expected [cfwatch], "
                    "[site NAME] or [headers GLOB])");
}

static void test_empty_unknown_section_is_an_error(void)
{
  expect_file_error("[cfwatch]\n[bogus]\n",
                    "2: [bogus]: unknown section (expected [cfwatch], "
                    "[site NAME] or [headers GLOB])");
}

static void test_site_without_name_is_an_error(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK(load_text(&c, "[cfwatch]\n[site]\n", dir, path, &err) < 0);
  CHECK_CONTAINS(err.msg, "cfwatch.ini:2: [site]: a site name is");
  config_free(&c);
  CHECK(load_text(&c, "[site a/b]\n", dir, path, &err) < 0);
  CHECK_CONTAINS(err.msg, "cfwatch.ini:1: [site a/b]: a site name is");
  config_free(&c);
  test_rmtree(dir);
}

static void test_key_before_any_section_is_an_error(void)
{
  expect_file_error("quiet_ms = 5\n[cfwatch]\n",
                    "1: quiet_ms: key before any section; put it under "
                    "[cfwatch]");
}

static void test_bad_number_names_line(void)
{
  expect_file_error("[cfwatch]\nroot = /x\nquiet_ms = abc\n",
                    "3: quiet_ms: \"abc\" is not a number between 0 and "
                    "3600000");
}

static void test_negative_number_is_refused(void)
{
  expect_file_error("[cfwatch]\nretry_for = -1\n",
                    "2: retry_for: \"-1\" is not a number between 0 and "
                    "86400");
}

static void test_out_of_range_number_names_line(void)
{
  expect_file_error("[cfwatch]\nmax_delay_ms = 0\n",
                    "2: max_delay_ms: \"0\" is not a number between 1 and "
                    "86400000");
  expect_file_error("[cfwatch]\nquiet_ms = 3600001\n",
                    "2: quiet_ms: \"3600001\" is not a number between 0 and "
                    "3600000");
}

static void test_bad_bool_names_line(void)
{
  expect_file_error("[cfwatch]\n[site a]\nroot = /a\ndry_run = maybe\n",
                    "4: dry_run: \"maybe\" is not a boolean (true/false, "
                    "yes/no, on/off, 1/0)");
}

static void test_bad_enum_names_line(void)
{
  expect_file_error("[cfwatch]\nlog_level = loud\n",
                    "2: log_level: \"loud\" is not one of error, warn, info, "
                    "debug, trace");
  expect_file_error("[cfwatch]\nlog_format = xml\n",
                    "2: log_format: \"xml\" is not one of text, json");
}

static void test_log_level_in_site_is_an_error(void)
{
  expect_file_error("[site a]\nlog_level = debug\n",
                    "2: log_level: allowed only in [cfwatch]");
}

static void test_bad_distribution_id_names_line(void)
{
  expect_file_error("[cfwatch]\ndistribution_id = e2abc\n",
                    "2: distribution_id: \"e2abc\" is not a distribution ID "
                    "(1 to 64 of A-Z and 0-9, e.g. E2QWRUHAPOMQZL)");
}

static void test_too_long_distribution_id_is_refused(void)
{
  char id[66];
  char text[200];
  char want[300];

  memset(id, 'E', 65);
  id[65] = '\0';
  FMT(text, sizeof(text), "[cfwatch]\ndistribution_id = %s\n", id);
  FMT(want, sizeof(want),
      "2: distribution_id: \"%s\" is not a distribution ID (1 to 64 "
      "of A-Z and 0-9, e.g. E2QWRUHAPOMQZL)",
      id);
  expect_file_error(text, want);
  id[64] = '\0'; /* 64 is fine */
  FMT(text, sizeof(text), "[cfwatch]\ndistribution_id = %s\n", id);
  expect_file_error(text, NULL);
}

static void test_plain_http_to_remote_host_is_refused(void)
{
  expect_file_error("[cfwatch]\nendpoint = http://example.com:8080/\n",
                    "2: endpoint: \"http://example.com:8080/\": plain "
                    "http:// would send signed requests in the clear; it "
                    "is allowed only to 127.0.0.0/8, localhost or [::1], "
                    "so use https://");
}

static void test_plain_http_cannot_hide_a_remote_host(void)
{
  expect_file_error("[cfwatch]\nendpoint = http://127.0.0.1@evil.test/\n",
                    "2: endpoint: credentials do not belong in the "
                    "endpoint URL");
  expect_file_error("[cfwatch]\nendpoint = http://127.0.0.1.evil.test/\n",
                    "2: endpoint: \"http://127.0.0.1.evil.test/\": plain "
                    "http:// would send signed requests in the clear; it "
                    "is allowed only to 127.0.0.0/8, localhost or [::1], "
                    "so use https://");
}

static void test_endpoint_needs_http_scheme(void)
{
  expect_file_error("[cfwatch]\nendpoint = ftp://127.0.0.1/\n",
                    "2: endpoint: \"ftp://127.0.0.1/\" must start with "
                    "https:// (or http:// for a loopback host)");
  expect_file_error("[cfwatch]\nendpoint = https://\n",
                    "2: endpoint: \"https://\": no host, or a host too long");
  expect_file_error("[cfwatch]\nendpoint = https://h:99999\n",
                    "2: endpoint: \"https://h:99999\": bad port \"99999\"");
}

static void test_plain_http_to_loopback_is_allowed(void)
{
  static const char *const ok[] = {
      "http://127.0.0.1:8443", "http://127.9.8.7/",  "http://localhost:1/",
      "http://LOCALHOST",      "http://[::1]:8080/", "https://example.com/x/"};
  struct config c;
  struct cfw_err err;
  size_t i;

  config_init(&c);
  for (i = 0; i < ARRAY_SIZE(ok); i++) {
    cfw_err_clear(&err);
    CHECK_EQ_INT(config_set_cli(&c, "endpoint", ok[i], &err), 0);
    CHECK_EQ_STR(err.msg, "");
  }
  CHECK_EQ_STR(c.cli.endpoint, "https://example.com/x");
  config_free(&c);
}

static void test_bad_index_name_is_refused(void)
{
  expect_file_error("[cfwatch]\nindex_name = a/index.html\n",
                    "2: index_name: \"a/index.html\" is not a file name "
                    "(non-empty, no '/')");
}

static void test_bad_url_prefix_is_refused(void)
{
  expect_file_error("[cfwatch]\nurl_prefix = docs\n",
                    "2: url_prefix: \"docs\" is not a URL prefix (empty, or "
                    "starting with '/' without spaces, '*', '?' or '#')");
}

static void test_empty_root_is_refused(void)
{
  expect_file_error("[cfwatch]\nroot =\n", "2: root: must not be empty");
}

static void test_tilde_path_is_refused(void)
{
  expect_file_error("[cfwatch]\nroot = ~/www\n",
                    "2: root: \"~/www\": '~' is not expanded; write the "
                    "whole path");
}

/* A line of n bytes: prefix, then fill up to n, then "\n". */
static char *long_line(const char *head, const char *prefix, size_t n,
                       char fill, const char *tail)
{
  size_t hl = strlen(head);
  size_t pl = strlen(prefix);
  size_t tl = strlen(tail);
  char *t = malloc(hl + n + 1 + tl + 1);

  if (t == NULL || pl > n)
    exit(2);
  memcpy(t, head, hl);
  memcpy(t + hl, prefix, pl);
  memset(t + hl + pl, fill, n - pl);
  t[hl + n] = '\n';
  memcpy(t + hl + n + 1, tail, tl + 1);
  return t;
}

/* inih cut lines at 198 bytes; a realistic upload_cmd is longer. */
static void test_upload_cmd_of_8_kib_is_read_whole(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;
  char *text = long_line("[cfwatch]\nroot = /srv/www\n",
                         "upload_cmd = aws s3 sync . s3://b --exclude x", 8200,
                         'x', "quiet_ms = 7\n");

  s = load_finish(&c, text, dir, &err);
  CHECK(s != NULL);
  if (s != NULL) {
    CHECK(s->upload_cmd != NULL);
    CHECK_EQ_INT(s->upload_cmd ? strlen(s->upload_cmd) : 0, 8200 - 13);
    CHECK(s->upload_cmd &&
          strncmp(s->upload_cmd, "aws s3 sync . s3://b", 20) == 0);
    CHECK_EQ_INT(s->quiet_ms, 7);
    config_free(&c);
    test_rmtree(dir);
  }
  free(text);
}

/* Up to the documented limit a line is read, comments too; past it the
 * error names the limit. */
static void test_line_over_the_limit_names_the_limit(void)
{
  char *text;

  text = long_line("[cfwatch]\n", ";", 65536, 'c', "quiet_ms = 5\n");
  expect_file_error(text, NULL);
  free(text);
  text = long_line("[cfwatch]\n", "url_prefix = /", 65537, 'p', "nonsense\n");
  expect_file_error(text, "2: line longer than 65536 bytes");
  free(text);
  /* Even a comment: what follows it must not be read as if it fit. */
  text = long_line("[cfwatch]\n", ";", 70000, 'c', "quiet_msec = 1\n");
  expect_file_error(text, "2: line longer than 65536 bytes");
  free(text);
}

/* Writes n bytes (NULs included) to DIR/cfwatch.ini and loads it. */
static int load_bytes(struct config *c, const char *bytes, size_t n, char *dir,
                      char *path, struct cfw_err *err)
{
  int fd;

  test_tmpdir(dir, PATH_MAX);
  FMT(path, PATH_MAX, "%s/cfwatch.ini", dir);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, bytes, n) != (ssize_t)n || close(fd) < 0)
    exit(2);
  config_init(c);
  cfw_err_clear(err);
  return config_load_file(c, path, err);
}

/* inih read a NUL byte as the end of the line and reported the line as
 * too long. */
static void test_nul_byte_is_reported_as_such(void)
{
  static const char text[] = "[cfwatch]\nroot = /x\nquiet_ms = 5\0\n";
  char dir[PATH_MAX];
  char path[PATH_MAX];
  char want[PATH_MAX + 64];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load_bytes(&c, text, sizeof(text) - 1, dir, path, &err),
               -EINVAL);
  FMT(want, sizeof(want), "%s:3: NUL byte at column 13", path);
  CHECK_EQ_STR(err.msg, want);
  config_free(&c);
  test_rmtree(dir);
}

static void test_first_error_wins(void)
{
  /* A syntax error before a bad key is reported, and the other way. */
  expect_file_error("[cfwatch]\nnonsense\nquiet_msec = 1\n", "2: syntax error");
  expect_file_error("[cfwatch]\nquiet_msec = 1\nnonsense\nroot = \n",
                    "2: quiet_msec: unknown key");
}

static void test_missing_file_names_path(void)
{
  struct config c;
  struct cfw_err err;

  config_init(&c);
  CHECK_EQ_INT(config_load_file(&c, "/nonexistent/cfwatch.ini", &err), -ENOENT);
  CHECK_EQ_STR(err.msg, "/nonexistent/cfwatch.ini: No such file or directory");
  config_free(&c);
}

static void test_max_delay_below_quiet_names_line(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  char want[PATH_MAX + 128];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load_text(&c,
                         "[cfwatch]\nroot = /x\nquiet_ms = 5000\n"
                         "max_delay_ms = 1000\n",
                         dir, path, &err),
               0);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  FMT(want, sizeof(want),
      "%s:4: max_delay_ms: max_delay_ms (1000) must be at least "
      "quiet_ms (5000)",
      path);
  CHECK_EQ_STR(err.msg, want);
  config_free(&c);
  test_rmtree(dir);
}

static void test_quiet_above_default_max_delay_names_quiet(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(
      load_text(&c, "[cfwatch]\nroot = /x\n[site a]\n", dir, path, &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "quiet_ms", "70000", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "[site a]: --quiet-ms: max_delay_ms (60000) must be "
                        "at least quiet_ms (70000)");
  config_free(&c);
  test_rmtree(dir);
}

static void test_cli_error_names_option(void)
{
  struct config c;
  struct cfw_err err;

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "quiet_ms", "soon", NULL), -EINVAL);
  CHECK_EQ_INT(config_set_cli(&c, "quiet_ms", "soon", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "--quiet-ms: \"soon\" is not a number between 0 "
                        "and 3600000");
  CHECK_EQ_INT(config_set_cli(&c, "root", "", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "ROOT: must not be empty");
  CHECK_EQ_INT(config_set_cli(&c, "distribution_id", "x", &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "--distribution-id: \"x\" is not a distribution");
  config_free(&c);
}

static void test_cli_overrides_file(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX + 16];
  struct config c;
  struct cfw_err err;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "cfwatch.ini",
             "[cfwatch]\nroot = /x\nquiet_ms = 10\nlog_level = warn\n"
             "dry_run = no\n");
  FMT(path, sizeof(path), "%s/cfwatch.ini", dir);
  config_init(&c);
  /* Set before the file is read, and still the winner. */
  CHECK_EQ_INT(config_set_cli(&c, "log_level", "debug", &err), 0);
  CHECK_EQ_INT(config_load_file(&c, path, &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "quiet_ms", "20", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "dry_run", "yes", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "root", "/y", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_INT(c.n_sites, 1);
  CHECK_EQ_INT(c.sites[0].quiet_ms, 20);
  CHECK(c.sites[0].dry_run);
  CHECK_EQ_STR(c.sites[0].root, "/y");
  CHECK_EQ_INT(c.log_level, LOG_DEBUG);
  config_free(&c);
  test_rmtree(dir);
}

static void test_cli_overrides_site(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;
  size_t n = 0;

  CHECK_EQ_INT(load_text(&c,
                         "[cfwatch]\nquiet_ms = 10\n"
                         "[site a]\nroot = /a\nquiet_ms = 30\n"
                         "endpoint = https://a.test\n"
                         "[site b]\nroot = /b\n",
                         dir, path, &err),
               0);
  CHECK_EQ_INT(config_set_cli(&c, "quiet_ms", "20", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "endpoint", "http://127.0.0.1:9", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  s = config_sites(&c, &n);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_STR(s[0].name, "a");
  CHECK_EQ_INT(s[0].quiet_ms, 20);
  CHECK_EQ_STR(s[0].endpoint, "http://127.0.0.1:9");
  CHECK_EQ_STR(s[1].name, "b");
  CHECK_EQ_INT(s[1].quiet_ms, 20);
  config_free(&c);
  test_rmtree(dir);
}

static void test_site_inherits_base(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;
  size_t n = 0;

  CHECK_EQ_INT(load_text(&c,
                         "[cfwatch]\ndistribution_id = EBASE\nquiet_ms = 10\n"
                         "profile = prod\npretty_urls = yes\n"
                         "[site docs]\nroot = /d\nquiet_ms = 30\n"
                         "distribution_id = EDOCS\n"
                         "[site blog]\nroot = /b\n",
                         dir, path, &err),
               0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  s = config_sites(&c, &n);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_STR(s[0].name, "docs");
  CHECK_EQ_STR(s[0].distribution_id, "EDOCS");
  CHECK_EQ_INT(s[0].quiet_ms, 30);
  CHECK_EQ_STR(s[0].profile, "prod");
  CHECK(s[0].pretty_urls);
  CHECK_EQ_STR(s[1].name, "blog");
  CHECK_EQ_STR(s[1].distribution_id, "EBASE");
  CHECK_EQ_INT(s[1].quiet_ms, 10);
  CHECK_EQ_INT(s[1].max_delay_ms, 60000);
  CHECK_EQ_STR(s[1].root, "/b");
  config_free(&c);
  test_rmtree(dir);
}

static void test_section_given_twice_continues(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c,
                  "[site a]\nroot = /a\n[cfwatch]\nquiet_ms = 7\n"
                  "[site a]\ndry_run = on\n",
                  dir, &err);
  CHECK(s != NULL);
  CHECK_EQ_INT(c.n_sites, 1);
  if (s != NULL) {
    CHECK_EQ_STR(s->root, "/a");
    CHECK(s->dry_run);
    CHECK_EQ_INT(s->quiet_ms, 7);
  }
  config_free(&c);
  test_rmtree(dir);
}

static void test_duplicate_key_last_wins(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c, "[cfwatch]\nroot = /a\nquiet_ms = 1\nquiet_ms = 2\n", dir,
                  &err);
  CHECK(s != NULL);
  if (s != NULL)
    CHECK_EQ_INT(s->quiet_ms, 2);
  config_free(&c);
  test_rmtree(dir);
}

static void test_defaults(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c, "[cfwatch]\nroot = /srv/www\n", dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK_EQ_STR(s->name, "");
  CHECK(s->distribution_id == NULL);
  CHECK(s->profile == NULL);
  CHECK(s->ca_file == NULL);
  CHECK_EQ_STR(s->endpoint, "https://cloudfront.amazonaws.com");
  CHECK_EQ_INT(s->quiet_ms, 2000);
  CHECK_EQ_INT(s->max_delay_ms, 60000);
  CHECK_EQ_INT(s->retry_for_s, 120);
  CHECK(!s->dry_run && !s->pretty_urls && !s->dir_without_slash);
  CHECK(!s->no_default_excludes);
  CHECK_EQ_STR(s->url_prefix, "");
  CHECK_EQ_STR(s->index_name, "index.html");
  CHECK_EQ_INT(s->excludes.n, 0);
  CHECK_EQ_INT(s->pass_files, 262144); /* a pass's memory stays flat */
  CHECK_EQ_INT(c.log_level, LOG_INFO);
  CHECK_EQ_INT(c.log_format, LOG_TEXT);
  config_free(&c);
  test_rmtree(dir);
}

static void test_relative_root_is_relative_to_config_folder(void)
{
  char dir[PATH_MAX];
  char want[PATH_MAX + 32];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  CHECK_EQ_INT(chdir("/"), 0);
  s = load_finish(&c,
                  "[cfwatch]\nroot = ./public/../site//out/\n"
                  "state_dir = st\nca_file = ../ca.pem\n",
                  dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  FMT(want, sizeof(want), "%s/site/out", dir);
  CHECK_EQ_STR(s->root, want);
  FMT(want, sizeof(want), "%s/st", dir);
  CHECK_EQ_STR(s->state_dir, want);
  *strrchr(dir, '/') = '\0';
  FMT(want, sizeof(want), "%s/ca.pem", dir);
  CHECK_EQ_STR(s->ca_file, want);
  config_free(&c);
}

static void test_relative_cli_root_is_relative_to_cwd(void)
{
  char dir[PATH_MAX];
  char want[PATH_MAX + 32];
  struct config c;
  struct cfw_err err;

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(chdir(dir), 0);
  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "root", "a/./b/..", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "state_dir",
                              "../../../../../../../../"
                              "../../../../../../../s",
                              &err),
               0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  FMT(want, sizeof(want), "%s/a", dir);
  CHECK_EQ_STR(c.sites[0].root, want);
  CHECK_EQ_STR(c.sites[0].state_dir, "/s");
  config_free(&c);
  test_rmtree(dir);
}

static void test_missing_root_is_an_error(void)
{
  struct config c;
  struct cfw_err err;
  char dir[PATH_MAX];
  char path[PATH_MAX];

  config_init(&c);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "no root: give ROOT or root = in the config");
  config_free(&c);
  CHECK_EQ_INT(load_text(&c, "[site a]\nquiet_ms = 1\n", dir, path, &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "[site a]: no root: give ROOT or root = in the config");
  config_free(&c);
  test_rmtree(dir);
}

/* Resolves a state_dir for root and distribution id with the current
 * environment. */
static void state_dir_for(const char *root, const char *id, char *out, size_t n)
{
  struct config c;
  struct cfw_err err;

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "root", root, &err), 0);
  if (id != NULL)
    CHECK_EQ_INT(config_set_cli(&c, "distribution_id", id, &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  FMT(out, n, "%s", c.n_sites ? c.sites[0].state_dir : "");
  config_free(&c);
}

static void test_default_state_dir_differs_by_root_and_distribution(void)
{
  char a[PATH_MAX];
  char b[PATH_MAX];
  char d[PATH_MAX];
  char a2[PATH_MAX];

  CHECK_EQ_INT(setenv("XDG_STATE_HOME", "/xdg", 1), 0);
  state_dir_for("/srv/a", "EA", a, sizeof(a));
  state_dir_for("/srv/b", "EA", b, sizeof(b));
  state_dir_for("/srv/a", "EB", d, sizeof(d));
  state_dir_for("/srv/x/../a/", "EA", a2, sizeof(a2));
  CHECK(strcmp(a, b) != 0);
  CHECK(strcmp(a, d) != 0);
  CHECK_EQ_STR(a, a2); /* the same root, however spelt */
}

static void test_default_state_dir_honours_xdg_state_home(void)
{
  char got[PATH_MAX];

  CHECK_EQ_INT(setenv("XDG_STATE_HOME", "/xdg/state/", 1), 0);
  state_dir_for("/srv/a", "EA", got, sizeof(got));
  CHECK_EQ_STR(got, "/xdg/state/cfwatch/" CFW_TEST_STATE_ID);
  CHECK_EQ_INT(unsetenv("XDG_STATE_HOME"), 0);
  CHECK_EQ_INT(setenv("HOME", "/home/u", 1), 0);
  state_dir_for("/srv/a", "EA", got, sizeof(got));
  CHECK_EQ_STR(got, "/home/u/.local/state/cfwatch/" CFW_TEST_STATE_ID);
  /* A relative XDG_STATE_HOME is ignored, as the XDG spec says. */
  CHECK_EQ_INT(setenv("XDG_STATE_HOME", "rel", 1), 0);
  state_dir_for("/srv/a", "EA", got, sizeof(got));
  CHECK_EQ_STR(got, "/home/u/.local/state/cfwatch/" CFW_TEST_STATE_ID);
}

static void test_sites_sharing_state_dir_are_refused(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(setenv("XDG_STATE_HOME", "/xdg", 1), 0);
  CHECK_EQ_INT(load_text(&c, "[cfwatch]\nroot = /srv/www\n[site a]\n[site b]\n",
                         dir, path, &err),
               0);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "[site a] and [site b] share state_dir /xdg/");
  config_free(&c);
  test_rmtree(dir);
}

static void test_excludes_repeat_and_add_up(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct strlist *x;

  CHECK_EQ_INT(load_text(&c,
                         "[cfwatch]\nexclude = *.map\nexclude = drafts/**\n"
                         "[site a]\nroot = /a\nexclude = *.tmp\n"
                         "  *.bak\n",
                         dir, path, &err),
               0);
  CHECK_EQ_INT(config_set_cli(&c, "exclude", "cli", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  x = &c.sites[0].excludes;
  CHECK_EQ_INT(x->n, 5);
  if (x->n == 5) {
    CHECK_EQ_STR(x->v[0], "*.map");
    CHECK_EQ_STR(x->v[1], "drafts/**");
    CHECK_EQ_STR(x->v[2], "*.tmp");
    CHECK_EQ_STR(x->v[3], "*.bak");
    CHECK_EQ_STR(x->v[4], "cli");
  }
  config_free(&c);
  test_rmtree(dir);
}

static void test_shipped_example_loads(void)
{
  struct config c;
  struct cfw_err err;

  config_init(&c);
  cfw_err_clear(&err);
  CHECK_EQ_INT(
      config_load_file(&c, CFW_SOURCE_DIR "/conf/cfwatch.ini.example", &err),
      0);
  CHECK_EQ_STR(err.msg, "");
  CHECK_EQ_INT(config_set_cli(&c, "root", "/srv/www", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_INT(c.n_sites, 1);
  config_free(&c);
}

/* Whether line is ";KEY = ..." for a KEY in skip (NULL-terminated). */
static bool example_skipped(const char *line, const char *const skip[])
{
  size_t i;
  size_t n;

  for (i = 0; skip[i] != NULL; i++) {
    n = strlen(skip[i]);
    if (line[0] == ';' && strncmp(line + 1, skip[i], n) == 0 &&
        line[1 + n] == ' ')
      return true;
  }
  return false;
}

/* Removes the ';' from every ";key = value" and ";[section]" line, so
 * that each documented value is checked too, but for the keys in skip:
 * origin and upload_cmd exclude each other. */
static void uncomment_example(const char *src, const char *dst,
                              const char *const skip[])
{
  char line[512];
  FILE *in = fopen(src, "r");
  FILE *out = fopen(dst, "w");

  CHECK(in != NULL && out != NULL);
  if (in == NULL || out == NULL)
    exit(2);
  while (fgets(line, sizeof(line), in) != NULL) {
    if (line[0] == ';' && line[1] != ' ' && line[1] != '\n' &&
        !example_skipped(line, skip))
      CHECK(fputs(line + 1, out) >= 0);
    else
      CHECK(fputs(line, out) >= 0);
  }
  CHECK_EQ_INT(fclose(in), 0);
  CHECK_EQ_INT(fclose(out), 0);
}

static void check_example_uncommented_loads(const char *const skip[])
{
  char dir[PATH_MAX];
  char path[PATH_MAX + 16];
  struct config c;
  struct cfw_err err;

  test_tmpdir(dir, sizeof(dir));
  FMT(path, sizeof(path), "%s/all.ini", dir);
  uncomment_example(CFW_SOURCE_DIR "/conf/cfwatch.ini.example", path, skip);
  config_init(&c);
  cfw_err_clear(&err);
  CHECK_EQ_INT(config_load_file(&c, path, &err), 0);
  CHECK_EQ_STR(err.msg, "");
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_STR(err.msg, "");
  CHECK_EQ_INT(c.n_sites, 1);
  if (c.n_sites == 1) {
    CHECK_EQ_STR(c.sites[0].name, "docs");
    CHECK_EQ_INT(c.sites[0].quiet_ms, 2000);
    CHECK_EQ_INT(c.sites[0].excludes.n, 1);
    CHECK(c.sites[0].has_budget); /* an example; no budget by default */
  }
  CHECK_EQ_INT(c.headers.n, 4); /* each example rule, valid */
  config_free(&c);
  test_rmtree(dir);
}

static void test_example_with_keys_uncommented_loads(void)
{
  static const char *const s3_origin[] = {"upload_cmd", NULL};
  static const char *const upload_cmd[] = {"origin", "cache_tag_header", NULL};

  check_example_uncommented_loads(s3_origin);
  check_example_uncommented_loads(upload_cmd);
}

/* ---- the planner's keys ---- */

static void test_planner_keys_default(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c, "[cfwatch]\nroot = /srv/www\n", dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK_EQ_INT(s->max_paths_per_batch, CF_MAX_FILE_PATHS_IN_PROGRESS);
  CHECK_EQ_INT(s->wildcard_threshold, PLANNER_DEFAULT_WILDCARD_THRESHOLD);
  CHECK(!s->never_wildcard);
  CHECK_EQ_DBL(s->max_evict_ratio, PLANNER_DEFAULT_MAX_EVICT_RATIO);
  CHECK(!s->strict_evict_ratio);
  CHECK_EQ_INT(s->monthly_free_paths, CF_FREE_PATHS_PER_MONTH);
  CHECK(!s->has_budget);
  CHECK_EQ_DBL(s->monthly_budget_usd, 0);
  CHECK(!s->allow_over_budget);
  config_free(&c);
  test_rmtree(dir);
}

static void test_planner_keys_from_file(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c,
                  "[cfwatch]\nroot = /srv/www\nmax_paths_per_batch = 3\n"
                  "wildcard_threshold = 10000000\nnever_wildcard = yes\n"
                  "max_evict_ratio = 0.5\nstrict_evict_ratio = on\n"
                  "monthly_free_paths = 0\nmonthly_budget_usd = 12.34\n"
                  "allow_over_budget = true\n",
                  dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK_EQ_INT(s->max_paths_per_batch, URLMAP_MAX_PATHS_PER_FILE);
  CHECK_EQ_INT(s->wildcard_threshold, 10000000);
  CHECK(s->never_wildcard);
  CHECK_EQ_DBL(s->max_evict_ratio, 0.5);
  CHECK(s->strict_evict_ratio);
  CHECK_EQ_INT(s->monthly_free_paths, 0);
  CHECK(s->has_budget);
  CHECK_EQ_DBL(s->monthly_budget_usd, 12.34);
  CHECK(s->allow_over_budget);
  config_free(&c);
  test_rmtree(dir);
}

static void test_planner_keys_site_overrides_base(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c,
                  "[cfwatch]\nmax_evict_ratio = 0.5\nmonthly_free_paths = 5\n"
                  "never_wildcard = yes\n"
                  "[site a]\nroot = /a\nmax_evict_ratio = 1\n"
                  "never_wildcard = no\n"
                  "[site b]\nroot = /b\n",
                  dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK_EQ_DBL(s[0].max_evict_ratio, 1);
  CHECK_EQ_INT(s[0].monthly_free_paths, 5);
  CHECK(!s[0].never_wildcard);
  CHECK_EQ_DBL(s[1].max_evict_ratio, 0.5);
  CHECK(s[1].never_wildcard);
  config_free(&c);
  test_rmtree(dir);
}

static void test_planner_keys_cli_overrides_file(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  CHECK_EQ_INT(load_text(&c,
                         "[cfwatch]\nroot = /x\nmax_paths_per_batch = 100\n"
                         "wildcard_threshold = 7\nnever_wildcard = no\n"
                         "max_evict_ratio = 0.1\nstrict_evict_ratio = no\n"
                         "monthly_free_paths = 9\nmonthly_budget_usd = 3\n"
                         "allow_over_budget = no\n",
                         dir, path, &err),
               0);
  /* The flags' options set "true", as cli.c does. */
  CHECK_EQ_INT(config_set_cli(&c, "max_paths_per_batch", "3000", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "wildcard_threshold", "1", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "never_wildcard", "true", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "max_evict_ratio", "0", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "strict_evict_ratio", "true", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "monthly_free_paths", "1000000000", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "monthly_budget_usd", "0", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "allow_over_budget", "true", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  s = &c.sites[0];
  CHECK_EQ_INT(s->max_paths_per_batch, 3000);
  CHECK_EQ_INT(s->wildcard_threshold, 1);
  CHECK(s->never_wildcard);
  CHECK_EQ_DBL(s->max_evict_ratio, 0);
  CHECK(s->strict_evict_ratio);
  CHECK_EQ_INT(s->monthly_free_paths, 1000000000);
  CHECK(s->has_budget);
  CHECK_EQ_DBL(s->monthly_budget_usd, 0);
  CHECK(s->allow_over_budget);
  config_free(&c);
  test_rmtree(dir);
}

static void test_bad_planner_numbers_name_line(void)
{
  expect_file_error("[cfwatch]\nroot = /x\n\n\nmax_evict_ratio = 1.5\n",
                    "5: max_evict_ratio: \"1.5\" is not a number between 0 "
                    "and 1");
  expect_file_error("[cfwatch]\nmax_evict_ratio = -0.1\n",
                    "2: max_evict_ratio: \"-0.1\" is not a number between 0 "
                    "and 1");
  expect_file_error("[cfwatch]\nmax_evict_ratio = a quarter\n",
                    "2: max_evict_ratio: \"a quarter\" is not a number "
                    "between 0 and 1");
  expect_file_error("[cfwatch]\nmax_paths_per_batch = 2\n",
                    "2: max_paths_per_batch: \"2\" is not a number between 3 "
                    "and 3000");
  expect_file_error("[cfwatch]\nmax_paths_per_batch = 3001\n",
                    "2: max_paths_per_batch: \"3001\" is not a number "
                    "between 3 and 3000");
  expect_file_error("[cfwatch]\nwildcard_threshold = 0\n",
                    "2: wildcard_threshold: \"0\" is not a number between 1 "
                    "and 10000000");
  expect_file_error("[cfwatch]\nwildcard_threshold = 1e3\n",
                    "2: wildcard_threshold: \"1e3\" is not a number between "
                    "1 and 10000000");
  expect_file_error("[cfwatch]\nmonthly_free_paths = 1000000001\n",
                    "2: monthly_free_paths: \"1000000001\" is not a number "
                    "between 0 and 1000000000");
}

static void test_bad_budget_names_line(void)
{
  expect_file_error("[cfwatch]\nmonthly_budget_usd = -1\n",
                    "2: monthly_budget_usd: \"-1\" is not a number between 0 "
                    "and 1000000");
  expect_file_error("[cfwatch]\nmonthly_budget_usd = 1000000.01\n",
                    "2: monthly_budget_usd: \"1000000.01\" is not a number "
                    "between 0 and 1000000");
  expect_file_error("[cfwatch]\nmonthly_budget_usd = $5\n",
                    "2: monthly_budget_usd: \"$5\" is not a number between 0 "
                    "and 1000000");
  expect_file_error("[cfwatch]\nmonthly_budget_usd =\n",
                    "2: monthly_budget_usd: \"\" is not a number between 0 "
                    "and 1000000");
  expect_file_error("[cfwatch]\nmonthly_budget_usd = nan\n",
                    "2: monthly_budget_usd: \"nan\" is not a number between "
                    "0 and 1000000");
  expect_file_error("[cfwatch]\nmonthly_budget_usd = inf\n",
                    "2: monthly_budget_usd: \"inf\" is not a number between "
                    "0 and 1000000");
  expect_file_error("[cfwatch]\nmonthly_budget_usd = 0x10\n",
                    "2: monthly_budget_usd: \"0x10\" is not a number between "
                    "0 and 1000000");
}

static void test_bad_planner_bools_name_line(void)
{
  static const char *const flags[] = {"never_wildcard", "strict_evict_ratio",
                                      "allow_over_budget"};
  char text[128];
  char want[256];
  size_t i;

  for (i = 0; i < ARRAY_SIZE(flags); i++) {
    FMT(text, sizeof(text), "[cfwatch]\n%s = sometimes\n", flags[i]);
    FMT(want, sizeof(want),
        "2: %s: \"sometimes\" is not a boolean (true/false, yes/no, "
        "on/off, 1/0)",
        flags[i]);
    expect_file_error(text, want);
  }
}

static void test_bad_planner_cli_value_names_option(void)
{
  struct config c;
  struct cfw_err err;

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "max_evict_ratio", " 0.5", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "--max-evict-ratio: \" 0.5\" is not a number between "
                        "0 and 1");
  CHECK_EQ_INT(config_set_cli(&c, "monthly_budget_usd", "ten", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "--monthly-budget-usd: \"ten\" is not a number "
                        "between 0 and 1000000");
  CHECK_EQ_INT(config_set_cli(&c, "max_paths_per_batch", "0", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "--max-paths-per-batch: \"0\" is not a number "
                        "between 3 and 3000");
  CHECK(!c.cli.has_budget); /* a refused value sets nothing */
  config_free(&c);
}

/* Resolves text and returns the first site's (has_budget, budget). */
static void budget_of(const char *text, const char *cli_budget, bool *has,
                      double *usd)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  *has = false;
  *usd = -1;
  CHECK_EQ_INT(load_text(&c, text, dir, path, &err), 0);
  if (cli_budget != NULL)
    CHECK_EQ_INT(config_set_cli(&c, "monthly_budget_usd", cli_budget, &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_STR(err.msg, "");
  if (c.n_sites > 0) {
    *has = c.sites[0].has_budget;
    *usd = c.sites[0].monthly_budget_usd;
  }
  config_free(&c);
  test_rmtree(dir);
}

static void test_budget_unset_is_no_budget_and_zero_is_one(void)
{
  bool has;
  double usd;

  budget_of("[cfwatch]\nroot = /x\n", NULL, &has, &usd);
  CHECK(!has);
  budget_of("[cfwatch]\nroot = /x\nmonthly_budget_usd = 0\n", NULL, &has, &usd);
  CHECK(has);
  CHECK_EQ_DBL(usd, 0);
  budget_of("[cfwatch]\nroot = /x\nmonthly_budget_usd = 0.00\n", NULL, &has,
            &usd);
  CHECK(has);
  CHECK_EQ_DBL(usd, 0);
}

static void test_budget_set_in_any_layer_applies(void)
{
  bool has;
  double usd;

  /* [cfwatch] gives a [site] its budget. */
  budget_of("[cfwatch]\nmonthly_budget_usd = 5\n[site a]\nroot = /a\n", NULL,
            &has, &usd);
  CHECK(has);
  CHECK_EQ_DBL(usd, 5);
  /* The site's own. */
  budget_of("[site a]\nroot = /a\nmonthly_budget_usd = 2.5\n", NULL, &has,
            &usd);
  CHECK(has);
  CHECK_EQ_DBL(usd, 2.5);
  /* The command line's, over the file's. */
  budget_of("[cfwatch]\nroot = /x\n", "1000000", &has, &usd);
  CHECK(has);
  CHECK_EQ_DBL(usd, 1000000);
  budget_of("[cfwatch]\nroot = /x\nmonthly_budget_usd = 9\n", "0", &has, &usd);
  CHECK(has);
  CHECK_EQ_DBL(usd, 0);
}

static void test_free_accepts_null_and_twice(void)
{
  struct config c;

  config_free(NULL);
  config_init(&c);
  config_free(&c);
  config_free(&c);
  CHECK(c.sites == NULL && c.path == NULL);
}

static void test_upload_keys_default(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  s = load_finish(&c, "[cfwatch]\nroot = /srv/www\n", dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK(s->upload_cmd == NULL);
  CHECK_EQ_INT(s->upload_timeout_s, 600);
  config_free(&c);
  test_rmtree(dir);
}

static void test_upload_keys_per_site(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct site_config *s;

  /* The value keeps its '=', quotes and a ';' with no space before it. */
  s = load_finish(&c,
                  "[cfwatch]\nupload_timeout = 86400\n"
                  "upload_cmd = rsync -a ./ host:/srv/ --exclude='*.tmp'\n"
                  "[site a]\nroot = /a\n"
                  "upload_cmd = aws s3 sync . s3://a --delete; echo a=1\n"
                  "upload_timeout = 1\n"
                  "[site b]\nroot = /b\n",
                  dir, &err);
  CHECK(s != NULL);
  if (s == NULL)
    return;
  CHECK_EQ_STR(s[0].upload_cmd, "aws s3 sync . s3://a --delete; echo a=1");
  CHECK_EQ_INT(s[0].upload_timeout_s, 1);
  CHECK_EQ_STR(s[1].upload_cmd, "rsync -a ./ host:/srv/ --exclude='*.tmp'");
  CHECK_EQ_INT(s[1].upload_timeout_s, 86400);
  config_free(&c);
  test_rmtree(dir);
}

static void test_upload_keys_cli_overrides_file(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load_text(&c,
                         "[cfwatch]\nroot = /x\nupload_cmd = false\n"
                         "upload_timeout = 5\n",
                         dir, path, &err),
               0);
  CHECK_EQ_INT(config_set_cli(&c, "upload_cmd", "true", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "upload_timeout", "30", &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_STR(c.sites[0].upload_cmd, "true");
  CHECK_EQ_INT(c.sites[0].upload_timeout_s, 30);
  config_free(&c);
  test_rmtree(dir);
}

static void test_bad_upload_values_name_line_or_option(void)
{
  struct config c;
  struct cfw_err err;

  expect_file_error("[cfwatch]\nroot = /x\nupload_cmd =\n",
                    "3: upload_cmd: must not be empty");
  expect_file_error("[cfwatch]\nupload_timeout = 0\n",
                    "2: upload_timeout: \"0\" is not a number between 1 and "
                    "86400");
  expect_file_error("[cfwatch]\nupload_timeout = 86401\n",
                    "2: upload_timeout: \"86401\" is not a number between 1 "
                    "and 86400");
  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "upload_cmd", "", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "--upload-cmd: must not be empty");
  CHECK_EQ_INT(config_set_cli(&c, "upload_timeout", "10m", &err), -EINVAL);
  CHECK_EQ_STR(err.msg, "--upload-timeout: \"10m\" is not a number between 1 "
                        "and 86400");
  config_free(&c);
}

/* ---- [headers GLOB] sections ---- */

static void test_headers_sections_are_read_in_file_order(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;
  const struct hdrrule *h;

  CHECK(load_finish(&c,
                    "[cfwatch]\nroot = /srv/www\n\n"
                    "[headers _app/immutable/]\n"
                    "cache_control = public, max-age=31536000, immutable\n"
                    "x-amz-meta-Team = web\n"
                    "\n[headers *.html]\n"
                    "cache_control = max-age=300\n"
                    "content_type = text/html; charset=\"utf-8\"\n"
                    "[cfwatch]\nquiet_ms = 100\n"
                    "[headers *.gz]\ncontent_encoding = gzip\n"
                    "content_disposition = attachment; filename=\"a b.gz\"\n",
                    dir, &err) != NULL);
  REQUIRE(c.headers.n == 3);
  h = &c.headers.v[0];
  CHECK_EQ_STR(h->glob, "_app/immutable/");
  CHECK_EQ_INT(h->line, 4);
  CHECK_EQ_STR(h->cache_control, "public, max-age=31536000, immutable");
  REQUIRE(h->n_meta == 1);
  CHECK_EQ_STR(h->meta[0].name, "team");
  CHECK_EQ_STR(h->meta[0].value, "web");
  CHECK(h->site == NULL && h->content_type == NULL);
  h = &c.headers.v[1];
  CHECK_EQ_STR(h->glob, "*.html");
  CHECK_EQ_INT(h->line, 8);
  CHECK_EQ_STR(h->content_type, "text/html; charset=\"utf-8\"");
  h = &c.headers.v[2];
  CHECK_EQ_STR(h->glob, "*.gz");
  CHECK_EQ_STR(h->content_encoding, "gzip");
  CHECK_EQ_STR(h->content_disposition, "attachment; filename=\"a b.gz\"");
  CHECK_EQ_INT(c.sites[0].quiet_ms, 100); /* [cfwatch] again: continued */
  config_free(&c);
  CHECK_EQ_INT(c.headers.n, 0);
  test_rmtree(dir);
}

static void test_headers_site_key_names_a_site_section(void)
{
  char dir[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK(load_finish(&c,
                    "[headers *.pdf]\nsite = docs\ncontent_disposition = "
                    "inline\n[site www]\nroot = /srv/www\n"
                    "[site docs]\nroot = /srv/docs\n",
                    dir, &err) != NULL);
  REQUIRE(c.headers.n == 1);
  CHECK_EQ_STR(c.headers.v[0].site, "docs");
  CHECK_EQ_INT(c.headers.v[0].site_line, 2);
  config_free(&c);
  test_rmtree(dir);
}

/* Two rules of one glob are fine when the first is another site's. */
static void test_headers_same_glob_for_another_site_is_fine(void)
{
  expect_file_error("[site a]\nroot = /a\n[site b]\nroot = /b\n"
                    "[headers *.js]\nsite = a\ncache_control = no-cache\n"
                    "[headers *.js]\ncache_control = max-age=60\n",
                    NULL);
}

static void test_headers_errors_name_file_line_and_key(void)
{
  expect_file_error("[cfwatch]\n[headers *.html]\ncache-control = x\n",
                    "3: cache-control: unknown key in [headers GLOB] "
                    "(cache_control, content_type, content_encoding, "
                    "content_disposition, x-amz-meta-NAME, site)");
  expect_file_error("[headers *.html]\ncontent_type = html\n",
                    "2: content_type: \"html\" is not a media type "
                    "(type/subtype, then any \"; name=value\")");
  expect_file_error("[headers *.html]\ncontent_type = text/html;\n",
                    "2: content_type: \"text/html;\" is not a media type "
                    "(type/subtype, then any \"; name=value\")");
  expect_file_error("[headers *]\ncache_control = max-age:300\n",
                    "2: cache_control: \"max-age:300\" is not a list of "
                    "Cache-Control directives (name or name=value, "
                    "separated by commas)");
  expect_file_error("[headers *]\n\ncontent_encoding = gzp\n",
                    "3: content_encoding: \"gzp\" is not a list of "
                    "registered content codings (gzip, br, zstd, deflate, "
                    "compress, ...)");
  expect_file_error("[headers *]\ncontent_disposition = attachment; a\n",
                    "2: content_disposition: \"attachment; a\" is not a "
                    "Content-Disposition (inline or attachment, then any "
                    "\"; name=value\")");
  expect_file_error("[headers *]\ncache_control =\n",
                    "2: cache_control: empty value: leave the key out");
}

/* A CR inside a line (the file's lines end at LF) would end the header
 * on the wire: nothing but printable ASCII goes into a value. */
static void test_headers_values_are_printable_ascii_only(void)
{
  expect_file_error("[headers *]\ncache_control = max-age=1\r, x\n",
                    "2: cache_control: \"max-age=1\r, x\": only "
                    "printable ASCII is allowed (byte 0x0d at 10)");
  expect_file_error("[headers *]\nx-amz-meta-author = Zo\xc3\xab\n",
                    "2: x-amz-meta-author: \"Zo\xc3\xab\": only printable "
                    "ASCII is allowed (byte 0xc3 at 3)");
  expect_file_error("[headers *]\nx-amz-meta-a.b = 1\n",
                    "2: x-amz-meta-a.b: \"a.b\": a metadata name is "
                    "letters, digits, '-' and '_'");
  expect_file_error("[headers *]\nx-amz-meta- = 1\n",
                    "2: x-amz-meta-: the metadata name is empty");
}

/* S3 takes 2 KB of user-defined metadata in a PUT. */
static void test_headers_meta_past_2_kb_names_its_line(void)
{
  char *text = malloc(4096);
  char v[1001];

  REQUIRE(text != NULL);
  memset(v, 'v', 1000);
  v[1000] = '\0';
  FMT(text, 4096,
      "[headers *]\nx-amz-meta-a = %s\nx-amz-meta-a = %s\n"
      "x-amz-meta-b = %s\n",
      v, v, v);
  expect_file_error(text, NULL); /* a replaced value counts once */
  FMT(text, 4096,
      "[headers *]\nx-amz-meta-a = %s\nx-amz-meta-b = %s\n"
      "x-amz-meta-c = %s\n",
      v, v, v);
  expect_file_error(text, "4: x-amz-meta-c: the rule's metadata would pass "
                          "S3's limit of 2048 bytes (names with their "
                          "x-amz-meta- and values)");
  free(text);
}

static void test_headers_bad_globs_name_the_header_line(void)
{
  expect_file_error("[cfwatch]\n[headers]\n",
                    "2: [headers]: a rule needs a glob, as in [headers "
                    "*.html]");
  expect_file_error("[headers /]\n",
                    "1: [headers /]: the glob is empty once its leading "
                    "and trailing '/' are taken off");
  expect_file_error("[cfwatch]\n\n[headers *.[ch]]\n",
                    "3: [headers *.[ch]: a section header ends at its "
                    "first ']', so its glob cannot hold a [...] class; use "
                    "'?' or '*', or '\\[' for a '['");
  expect_file_error("[headers  *.html]\n",
                    "1: [headers  *.html]: the glob starts or ends with a "
                    "blank; write '\\ ' for a space that belongs to it");
  expect_file_error("[headers a\\ ]\n[headers \\[x]\n", NULL);
  expect_file_error("[headers a\\\\ ]\n", /* an escaped '\', then ' ' */
                    "1: [headers a\\\\ ]: the glob starts or ends with a "
                    "blank; write '\\ ' for a space that belongs to it");
}

static void test_headers_site_must_exist(void)
{
  expect_file_error("[cfwatch]\nroot = /x\n[headers *]\n\nsite = www\n",
                    "5: site: no [site www] in this file");
  expect_file_error("[site www]\nroot = /x\n[headers *]\nsite = ww\n",
                    "4: site: no [site ww] in this file");
}

/* Later sections do not override earlier ones: the first match wins, so
 * a repeated glob is refused rather than silently dead. */
static void test_headers_repeated_glob_is_refused(void)
{
  expect_file_error("[headers *.html]\ncache_control = no-cache\n"
                    "[cfwatch]\nroot = /x\n"
                    "[headers *.html]\ncache_control = max-age=60\n",
                    "5: [headers *.html] can never match: the one at line "
                    "1 matches every file it would, and the first match "
                    "wins (put the keys in one section)");
  expect_file_error("[site a]\nroot = /a\n[headers *.js]\nsite = a\n"
                    "[headers *.js]\nsite = a\n",
                    "5: [headers *.js] can never match: the one at line 3 "
                    "matches every file it would, and the first match wins "
                    "(put the keys in one section)");
}

/* Each case alone (test.h): a case sets the environment (XDG_STATE_HOME,
 * HOME) and the working directory. */
TEST_MAIN_ALONE(
    TEST(test_every_key_has_its_table_entry),
    TEST(test_origin_is_checked_and_excludes_upload_cmd),

    TEST(test_syntax_error_names_line),
    TEST(test_unterminated_section_is_syntax_error),
    TEST(test_unknown_key_names_line),
    TEST(test_unknown_section_names_its_header_line),
    TEST(test_empty_unknown_section_is_an_error),
    TEST(test_site_without_name_is_an_error),
    TEST(test_key_before_any_section_is_an_error),
    TEST(test_bad_number_names_line), TEST(test_negative_number_is_refused),
    TEST(test_out_of_range_number_names_line), TEST(test_bad_bool_names_line),
    TEST(test_bad_enum_names_line), TEST(test_log_level_in_site_is_an_error),
    TEST(test_bad_distribution_id_names_line),
    TEST(test_too_long_distribution_id_is_refused),
    TEST(test_plain_http_to_remote_host_is_refused),
    TEST(test_plain_http_cannot_hide_a_remote_host),
    TEST(test_endpoint_needs_http_scheme),
    TEST(test_plain_http_to_loopback_is_allowed),
    TEST(test_bad_index_name_is_refused), TEST(test_bad_url_prefix_is_refused),
    TEST(test_empty_root_is_refused), TEST(test_tilde_path_is_refused),
    TEST(test_upload_cmd_of_8_kib_is_read_whole),
    TEST(test_line_over_the_limit_names_the_limit),
    TEST(test_nul_byte_is_reported_as_such), TEST(test_first_error_wins),
    TEST(test_missing_file_names_path),
    TEST(test_max_delay_below_quiet_names_line),
    TEST(test_quiet_above_default_max_delay_names_quiet),
    TEST(test_cli_error_names_option), TEST(test_cli_overrides_file),
    TEST(test_cli_overrides_site), TEST(test_site_inherits_base),
    TEST(test_section_given_twice_continues),
    TEST(test_duplicate_key_last_wins), TEST(test_defaults),
    TEST(test_relative_root_is_relative_to_config_folder),
    TEST(test_relative_cli_root_is_relative_to_cwd),
    TEST(test_missing_root_is_an_error),
    TEST(test_default_state_dir_differs_by_root_and_distribution),
    TEST(test_default_state_dir_honours_xdg_state_home),
    TEST(test_sites_sharing_state_dir_are_refused),
    TEST(test_excludes_repeat_and_add_up), TEST(test_shipped_example_loads),
    TEST(test_example_with_keys_uncommented_loads),
    TEST(test_planner_keys_default), TEST(test_planner_keys_from_file),
    TEST(test_planner_keys_site_overrides_base),
    TEST(test_planner_keys_cli_overrides_file),
    TEST(test_bad_planner_numbers_name_line), TEST(test_bad_budget_names_line),
    TEST(test_bad_planner_bools_name_line),
    TEST(test_bad_planner_cli_value_names_option),
    TEST(test_budget_unset_is_no_budget_and_zero_is_one),
    TEST(test_budget_set_in_any_layer_applies),
    TEST(test_free_accepts_null_and_twice), TEST(test_upload_keys_default),
    TEST(test_upload_keys_per_site), TEST(test_upload_keys_cli_overrides_file),
    TEST(test_bad_upload_values_name_line_or_option),
    TEST(test_headers_sections_are_read_in_file_order),
    TEST(test_headers_site_key_names_a_site_section),
    TEST(test_headers_same_glob_for_another_site_is_fine),
    TEST(test_headers_errors_name_file_line_and_key),
    TEST(test_headers_values_are_printable_ascii_only),
    TEST(test_headers_meta_past_2_kb_names_its_line),
    TEST(test_headers_bad_globs_name_the_header_line),
    TEST(test_headers_site_must_exist),
    TEST(test_headers_repeated_glob_is_refused))
