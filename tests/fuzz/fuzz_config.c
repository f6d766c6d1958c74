/* SPDX-License-Identifier: MIT */
/* Fuzzes the configuration: config_load_file on a file, config_set_cli
 * for command-line values, then config_finish, and checks what a resolved
 * site promises (config.h), and what a [headers GLOB] rule promises
 * (hdrrule.h, hdrval.h), through headers_for() for each site too.
 *
 * Input: the file up to the first NUL byte (it lives in memory and is
 * read by name), then NUL-separated key, value pairs for config_set_cli
 * (at most MAX_CLI of them). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exclude.h"
#include "fuzz.h"
#include "hdrrule.h"
#include "headers.h"
#include "mime.h"

#define MAX_CLI 8

/* The keys a command-line value sets for every site alike, and where. */
enum cli_type { CLI_U64, CLI_BOOL, CLI_STR };
static const struct {
  const char *key;
  size_t off;
  enum cli_type type;
} cli_fields[] = {
    {"root", offsetof(struct site_config, root), CLI_STR},
    {"distribution_id", offsetof(struct site_config, distribution_id), CLI_STR},
    {"profile", offsetof(struct site_config, profile), CLI_STR},
    {"endpoint", offsetof(struct site_config, endpoint), CLI_STR},
    {"ca_file", offsetof(struct site_config, ca_file), CLI_STR},
    {"quiet_ms", offsetof(struct site_config, quiet_ms), CLI_U64},
    {"max_delay_ms", offsetof(struct site_config, max_delay_ms), CLI_U64},
    {"retry_for", offsetof(struct site_config, retry_for_s), CLI_U64},
    {"dry_run", offsetof(struct site_config, dry_run), CLI_BOOL},
    {"url_prefix", offsetof(struct site_config, url_prefix), CLI_STR},
    {"index_name", offsetof(struct site_config, index_name), CLI_STR},
    {"pretty_urls", offsetof(struct site_config, pretty_urls), CLI_BOOL},
};

static struct fuzz_memfile ini_file;
static struct mime_table *mime;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_memfile_open(&ini_file, "cfwatch.ini");
  FUZZ_CHECK(mime_table_builtin(&mime, NULL) == 0);
  /* The default state_dir comes from these; fix them so that a run does
   * not depend on the caller's environment. */
  FUZZ_CHECK(setenv("XDG_STATE_HOME", "/fuzz/state", 1) == 0);
  FUZZ_CHECK(setenv("HOME", "/fuzz/home", 1) == 0);
  return 0;
}

/* What confcheck_path_normalise() promises: absolute, with no empty,
 * "." or ".." component, and no trailing '/' but for the root. */
static bool is_absolute_normal(const char *p)
{
  size_t n;

  if (p == NULL || p[0] != '/')
    return false;
  n = strlen(p);
  if (n > 1 && p[n - 1] == '/')
    return false;
  if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) ||
      (n >= 3 && strcmp(p + n - 3, "/..") == 0))
    return false;
  return strstr(p, "//") == NULL && strstr(p, "/./") == NULL &&
         strstr(p, "/../") == NULL;
}

static void check_site(const struct site_config *s)
{
  size_t n;

  FUZZ_CHECK(s->name != NULL);
  FUZZ_CHECK(is_absolute_normal(s->root));
  FUZZ_CHECK(is_absolute_normal(s->state_dir));
  FUZZ_CHECK(s->ca_file == NULL || is_absolute_normal(s->ca_file));
  FUZZ_CHECK(s->endpoint != NULL && s->endpoint[0] != '\0');
  n = strlen(s->endpoint);
  FUZZ_CHECK(s->endpoint[n - 1] != '/');
  FUZZ_CHECK(s->url_prefix != NULL);
  n = strlen(s->url_prefix);
  FUZZ_CHECK(n == 0 ||
             (s->url_prefix[0] == '/' && s->url_prefix[n - 1] != '/'));
  FUZZ_CHECK(s->index_name != NULL && s->index_name[0] != '\0');
  FUZZ_CHECK(strchr(s->index_name, '/') == NULL);
  FUZZ_CHECK(s->max_delay_ms >= s->quiet_ms);
  FUZZ_CHECK(s->distribution_id == NULL || s->distribution_id[0] != '\0');
  FUZZ_CHECK(s->profile == NULL || s->profile[0] != '\0');
  for (n = 0; n < s->excludes.n; n++)
    FUZZ_CHECK(s->excludes.v[n][0] != '\0');
}

static void check_config(const struct config *c)
{
  const struct site_config *sites;
  size_t n;
  size_t i;
  size_t j;

  sites = config_sites(c, &n);
  FUZZ_CHECK(n >= 1 && sites != NULL);
  FUZZ_CHECK(c->log_level >= LOG_ERROR && c->log_level <= LOG_TRACE);
  FUZZ_CHECK(c->log_format == LOG_TEXT || c->log_format == LOG_JSON);
  for (i = 0; i < n; i++) {
    check_site(&sites[i]);
    for (j = 0; j < i; j++) {
      FUZZ_CHECK(strcmp(sites[i].state_dir, sites[j].state_dir) != 0);
      FUZZ_CHECK(strcmp(sites[i].name, sites[j].name) != 0);
    }
  }
}

/* A header value: NULL, or printable ASCII and not empty, so that no CR,
 * LF or NUL can reach a request. */
static bool header_value_ok(const char *v)
{
  const char *p;

  if (v == NULL)
    return true;
  for (p = v; *p != '\0'; p++)
    if (*p < ' ' || *p > '~')
      return false;
  return p > v;
}

static void check_rule(const struct hdrrule *h, const struct config *c)
{
  size_t bytes = 0;
  size_t i;

  FUZZ_CHECK(h->glob != NULL && exclude_glob_check(h->glob, NULL) == 0);
  FUZZ_CHECK(h->line >= 1);
  FUZZ_CHECK(header_value_ok(h->cache_control));
  FUZZ_CHECK(header_value_ok(h->content_encoding));
  FUZZ_CHECK(header_value_ok(h->content_disposition));
  FUZZ_CHECK(header_value_ok(h->content_type));
  FUZZ_CHECK(h->content_type == NULL || strchr(h->content_type, '/'));
  for (i = 0; h->site != NULL && i < c->n_sites; i++)
    if (strcmp(c->sites[i].name, h->site) == 0)
      break;
  FUZZ_CHECK(h->site == NULL || (i < c->n_sites && h->site_line >= 1));
  for (i = 0; i < h->n_meta; i++) {
    FUZZ_CHECK(h->meta[i].name[0] != '\0');
    FUZZ_CHECK(strspn(h->meta[i].name,
                      "abcdefghijklmnopqrstuvwxyz"
                      "0123456789-_") == strlen(h->meta[i].name));
    FUZZ_CHECK(header_value_ok(h->meta[i].value));
    bytes += strlen(HDRRULE_META_PREFIX) + strlen(h->meta[i].name) +
             strlen(h->meta[i].value);
  }
  FUZZ_CHECK(bytes <= HDRRULE_MAX_META_BYTES);
}

/* Each site's rules compile, and a file gets a type and its rule's
 * headers. */
static void check_headers(const struct config *c)
{
  static const char *const files[] = {"index.html", "a/b.js.gz", "x"};
  struct headers_set *set;
  struct headers_out out;
  struct cfw_err err;
  size_t i;
  size_t k;

  for (i = 0; i < c->headers.n; i++)
    check_rule(&c->headers.v[i], c);
  for (i = 0; i < c->n_sites; i++) {
    FUZZ_CHECK(headers_set_new(&set, &c->headers, c->sites[i].name, &err) == 0);
    for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
      headers_for(set, mime, files[k], &out);
      FUZZ_CHECK(out.content_type != NULL);
      FUZZ_CHECK((out.rule_glob == NULL) == (out.rule_line == 0));
    }
    headers_set_destroy(set);
  }
}

/* A key set on the command line has one value in every site. */
static void check_cli_key(const struct config *c, const char *key)
{
  const struct site_config *sites;
  const char *a;
  const char *b;
  size_t n;
  size_t i;
  size_t k;

  for (k = 0; k < sizeof(cli_fields) / sizeof(cli_fields[0]); k++)
    if (strcmp(cli_fields[k].key, key) == 0)
      break;
  if (k == sizeof(cli_fields) / sizeof(cli_fields[0]))
    return;
  sites = config_sites(c, &n);
  for (i = 1; i < n; i++) {
    a = (const char *)&sites[0] + cli_fields[k].off;
    b = (const char *)&sites[i] + cli_fields[k].off;
    if (cli_fields[k].type == CLI_U64)
      FUZZ_CHECK(*(const uint64_t *)a == *(const uint64_t *)b);
    else if (cli_fields[k].type == CLI_BOOL)
      FUZZ_CHECK(*(const bool *)a == *(const bool *)b);
    else
      FUZZ_CHECK(strcmp(*(char *const *)a, *(char *const *)b) == 0);
  }
}

/* Applies the key, value pairs in p[0..len) (NUL-separated, the last one
 * ending at len); returns how many were set, their keys in keys[]. */
static size_t apply_cli(struct config *c, const char *p, size_t len,
                        const char **keys)
{
  const char *end = p + len;
  const char *key;
  struct cfw_err err;
  size_t n = 0;
  size_t tries;
  int rc;

  for (tries = 0; tries < MAX_CLI && p < end; tries++) {
    key = p;
    p += strlen(p) + 1;
    if (p >= end)
      break;
    rc = config_set_cli(c, key, p, &err);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
    if (rc == 0)
      keys[n++] = key;
    p += strlen(p) + 1;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *keys[MAX_CLI];
  const uint8_t *nul = memchr(data, '\0', size);
  size_t file_len = nul != NULL ? (size_t)(nul - data) : size;
  struct config c;
  struct cfw_err err;
  char *cli;
  size_t n_keys = 0;
  size_t i;
  int rc;

  fuzz_memfile_set(&ini_file, data, file_len);
  /* The pairs as C strings, the last one terminated too. */
  cli = malloc(size - file_len + 1);
  FUZZ_CHECK(cli != NULL);
  if (nul != NULL)
    memcpy(cli, nul + 1, size - file_len - 1);
  cli[nul != NULL ? size - file_len - 1 : 0] = '\0';
  config_init(&c);
  memset(&err, 0, sizeof(err));
  rc = config_load_file(&c, ini_file.path, &err);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
  FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
  if (rc == 0 && nul != NULL)
    n_keys = apply_cli(&c, cli, size - file_len, keys);
  if (rc == 0) {
    rc = config_finish(&c, &err);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
  }
  if (rc == 0) {
    check_config(&c);
    check_headers(&c);
    for (i = 0; i < n_keys; i++)
      check_cli_key(&c, keys[i]);
  }
  config_free(&c);
  free(cli);
  return 0;
}
