/* SPDX-License-Identifier: MIT */
/* Where a site's state lives: state_dir = s3://BUCKET/PREFIX keeps the
 * URL as state_url and puts the cache under $XDG_CACHE_HOME. */
#include "config.h"

#include <limits.h>

#include "test.h"

/* The first 16 hex digits of SHA-256("s3://state-bucket/cfw/site"). */
#define CFW_TEST_URL_ID "a5f295e2a0130a0f"
#define CFW_TEST_URL    "s3://state-bucket/cfw/site"

/* Resolves one site from the command line: root, and state_dir if
 * given; 0 or config_finish's error. */
static int resolve(struct config *c, const char *state, struct cfw_err *err)
{
  int rc;

  config_init(c);
  cfw_err_clear(err);
  rc = config_set_cli(c, "root", "/srv/a", err);
  if (rc == 0 && state != NULL)
    rc = config_set_cli(c, "state_dir", state, err);
  if (rc == 0)
    rc = config_finish(c, err);
  return rc;
}

static void test_s3_state_dir_is_kept_as_url_with_a_cache_dir(void)
{
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(setenv("XDG_CACHE_HOME", "/xdg/cache", 1), 0);
  CHECK_EQ_INT(resolve(&c, CFW_TEST_URL, &err), 0);
  CHECK_EQ_STR(c.sites[0].state_url, CFW_TEST_URL);
  CHECK_EQ_STR(c.sites[0].state_dir, "/xdg/cache/cfwatch/" CFW_TEST_URL_ID);
  config_free(&c);
}

static void test_cache_dir_falls_back_to_home_cache(void)
{
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(unsetenv("XDG_CACHE_HOME"), 0);
  CHECK_EQ_INT(setenv("HOME", "/home/u", 1), 0);
  CHECK_EQ_INT(resolve(&c, CFW_TEST_URL, &err), 0);
  CHECK_EQ_STR(c.sites[0].state_dir, "/home/u/.cache/cfwatch/" CFW_TEST_URL_ID);
  config_free(&c);
  /* A relative XDG_CACHE_HOME is ignored, as the XDG spec says. */
  CHECK_EQ_INT(setenv("XDG_CACHE_HOME", "rel", 1), 0);
  CHECK_EQ_INT(resolve(&c, CFW_TEST_URL, &err), 0);
  CHECK_EQ_STR(c.sites[0].state_dir, "/home/u/.cache/cfwatch/" CFW_TEST_URL_ID);
  config_free(&c);
}

static void test_plain_state_dir_has_no_url(void)
{
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(resolve(&c, "/var/lib/cfw", &err), 0);
  CHECK(c.sites[0].state_url == NULL);
  CHECK_EQ_STR(c.sites[0].state_dir, "/var/lib/cfw");
  config_free(&c);
}

static void test_bad_s3_state_dir_names_the_option(void)
{
  struct config c;
  struct cfw_err err;

  CHECK(resolve(&c, "s3://Bad_Bucket/x", &err) < 0);
  CHECK_CONTAINS(err.msg, "--state-dir");
  config_free(&c);
}

static void test_sites_sharing_a_state_url_are_refused(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "cfwatch.ini",
             "[site a]\nroot = /a\nstate_dir = " CFW_TEST_URL "\n"
             "[site b]\nroot = /b\nstate_dir = " CFW_TEST_URL "\n");
  CHECK((size_t)snprintf(path, sizeof(path), "%s/cfwatch.ini", dir) <
        sizeof(path));
  config_init(&c);
  CHECK_EQ_INT(config_load_file(&c, path, &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "share state_dir");
  config_free(&c);
  test_rmtree(dir);
}

/* Each case alone (test.h): a case sets the environment (XDG_CACHE_HOME,
 * HOME). */
TEST_MAIN_ALONE(TEST(test_s3_state_dir_is_kept_as_url_with_a_cache_dir),
                TEST(test_cache_dir_falls_back_to_home_cache),
                TEST(test_plain_state_dir_has_no_url),
                TEST(test_bad_s3_state_dir_names_the_option),
                TEST(test_sites_sharing_a_state_url_are_refused))
