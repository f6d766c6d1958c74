/* SPDX-License-Identifier: MIT */
/* Several distributions per site: distribution_id repeats in a section
 * and on the command line, each id once, and the state names the set. */
#include "config.h"

#include <limits.h>

#include "test.h"

/* Ends the case if snprintf truncated, which would void the test. */
static void fmt_check(int r, size_t n)
{
  if (r < 0 || (size_t)r >= n)
    exit(2);
}

#define FMT(out, n, ...) fmt_check(snprintf(out, n, __VA_ARGS__), n)

/* Writes text to a fresh DIR/cfwatch.ini and loads it into c, then
 * finishes unless the load failed; path gets the file's name. */
static int load(struct config *c, const char *text, char *dir, char *path,
                struct cfw_err *err)
{
  int rc;

  test_tmpdir(dir, PATH_MAX);
  test_write(dir, "cfwatch.ini", text);
  FMT(path, PATH_MAX, "%s/cfwatch.ini", dir);
  config_init(c);
  cfw_err_clear(err);
  rc = config_load_file(c, path, err);
  if (rc == 0)
    rc = config_finish(c, err);
  return rc;
}

static void test_distribution_id_lines_add_up_in_order(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load(&c,
                    "[cfwatch]\nroot = /srv/a\ndistribution_id = EZ\n"
                    "distribution_id = EA\n",
                    dir, path, &err),
               0);
  CHECK_EQ_INT(c.sites[0].distributions.n, 2);
  CHECK_EQ_STR(c.sites[0].distributions.v[0], "EZ");
  CHECK_EQ_STR(c.sites[0].distributions.v[1], "EA");
  CHECK_EQ_STR(c.sites[0].distribution_id, "EZ");
  CHECK_EQ_STR(c.sites[0].distribution_set, "EA,EZ");
  config_free(&c);
  test_rmtree(dir);
}

static void test_one_distribution_is_its_own_set(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load(&c, "[cfwatch]\nroot = /srv/a\ndistribution_id = EA\n", dir,
                    path, &err),
               0);
  CHECK_EQ_INT(c.sites[0].distributions.n, 1);
  CHECK_EQ_STR(c.sites[0].distribution_id, "EA");
  CHECK_EQ_STR(c.sites[0].distribution_set, "EA");
  config_free(&c);
  test_rmtree(dir);
}

static void test_same_distribution_twice_names_the_line(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  char want[PATH_MAX + 128];
  struct config c;
  struct cfw_err err;

  CHECK(load(&c,
             "[cfwatch]\nroot = /srv/a\ndistribution_id = EA\n"
             "quiet_ms = 5\ndistribution_id = EA\n",
             dir, path, &err) < 0);
  FMT(want, sizeof(want),
      "%s:5: distribution_id: EA is given twice: each distribution once", path);
  CHECK_EQ_STR(err.msg, want);
  config_free(&c);
  test_rmtree(dir);
}

static void test_other_keys_twice_still_keep_the_last(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load(&c,
                    "[cfwatch]\nroot = /srv/a\nprofile = a\nprofile = b\n"
                    "distribution_id = EA\ndistribution_id = EB\n",
                    dir, path, &err),
               0);
  CHECK_EQ_STR(c.sites[0].profile, "b");
  CHECK_EQ_INT(c.sites[0].distributions.n, 2);
  config_free(&c);
  test_rmtree(dir);
}

static void test_site_list_replaces_the_base_list(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  CHECK_EQ_INT(load(&c,
                    "[cfwatch]\ndistribution_id = EA\ndistribution_id = EB\n"
                    "[site www]\nroot = /srv/www\ndistribution_id = EC\n"
                    "[site apex]\nroot = /srv/apex\n",
                    dir, path, &err),
               0);
  CHECK_EQ_INT(c.n_sites, 2);
  CHECK_EQ_STR(c.sites[0].distribution_set, "EC");
  CHECK_EQ_STR(c.sites[1].distribution_set, "EA,EB");
  config_free(&c);
  test_rmtree(dir);
}

static void test_cli_ids_add_up_and_replace_the_file(void)
{
  char dir[PATH_MAX];
  char path[PATH_MAX];
  struct config c;
  struct cfw_err err;

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "cfwatch.ini",
             "[cfwatch]\nroot = /srv/a\ndistribution_id = EA\n");
  FMT(path, sizeof(path), "%s/cfwatch.ini", dir);
  config_init(&c);
  CHECK_EQ_INT(config_load_file(&c, path, &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "distribution_id", "EC", &err), 0);
  CHECK_EQ_INT(config_set_cli(&c, "distribution_id", "EB", &err), 0);
  CHECK(config_set_cli(&c, "distribution_id", "EC", &err) < 0);
  CHECK_EQ_STR(err.msg, "--distribution-id: EC is given twice: each "
                        "distribution once");
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  CHECK_EQ_STR(c.sites[0].distribution_id, "EC");
  CHECK_EQ_STR(c.sites[0].distribution_set, "EB,EC");
  config_free(&c);
  test_rmtree(dir);
}

static void test_too_many_distributions_are_refused(void)
{
  static const char *const ids[] = {
      "E000000000000A", "E000000000000B", "E000000000000C", "E000000000000D",
      "E000000000000E", "E000000000000F", "E000000000000G"};
  struct config c;
  struct cfw_err err;
  size_t i;

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "root", "/srv/a", &err), 0);
  for (i = 0; i < 6; i++)
    CHECK_EQ_INT(config_set_cli(&c, "distribution_id", ids[i], &err), 0);
  CHECK_EQ_INT(config_finish(&c, &err), 0);
  config_free(&c);

  config_init(&c);
  CHECK_EQ_INT(config_set_cli(&c, "root", "/srv/a", &err), 0);
  for (i = 0; i < 7; i++)
    CHECK_EQ_INT(config_set_cli(&c, "distribution_id", ids[i], &err), 0);
  CHECK(config_finish(&c, &err) < 0);
  CHECK_EQ_STR(err.msg, "distribution_id: 7 distributions are too many for "
                        "one site (their ids take more than 90 characters "
                        "together)");
  config_free(&c);
}

/* The default state dir of a set differs from each member's. */
static void test_default_state_dir_names_the_set(void)
{
  struct config one;
  struct config two;
  struct cfw_err err;

  CHECK_EQ_INT(setenv("XDG_STATE_HOME", "/xdg/state", 1), 0);
  config_init(&one);
  config_init(&two);
  CHECK_EQ_INT(config_set_cli(&one, "root", "/srv/a", &err), 0);
  CHECK_EQ_INT(config_set_cli(&one, "distribution_id", "EA", &err), 0);
  CHECK_EQ_INT(config_set_cli(&two, "root", "/srv/a", &err), 0);
  CHECK_EQ_INT(config_set_cli(&two, "distribution_id", "EA", &err), 0);
  CHECK_EQ_INT(config_set_cli(&two, "distribution_id", "EB", &err), 0);
  CHECK_EQ_INT(config_finish(&one, &err), 0);
  CHECK_EQ_INT(config_finish(&two, &err), 0);
  /* The first 16 hex digits of SHA-256("/srv/a\nEA"), as before. */
  CHECK_EQ_STR(one.sites[0].state_dir, "/xdg/state/cfwatch/67c283d13acd15ad");
  CHECK(strcmp(one.sites[0].state_dir, two.sites[0].state_dir) != 0);
  config_free(&one);
  config_free(&two);
}

/* Each case alone (test.h): a case sets the environment (XDG_STATE_HOME). */
TEST_MAIN_ALONE(TEST(test_distribution_id_lines_add_up_in_order),
                TEST(test_one_distribution_is_its_own_set),
                TEST(test_same_distribution_twice_names_the_line),
                TEST(test_other_keys_twice_still_keep_the_last),
                TEST(test_site_list_replaces_the_base_list),
                TEST(test_cli_ids_add_up_and_replace_the_file),
                TEST(test_too_many_distributions_are_refused),
                TEST(test_default_state_dir_names_the_set))
