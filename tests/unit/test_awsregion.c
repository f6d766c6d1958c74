/* SPDX-License-Identifier: MIT */
#include "awsregion.h"
#include "err.h"
#include "fakeenv.h"
#include "test.h"

/* The S3 region's chain (awsregion.h) over real files in a fresh HOME,
 * with an injected environment. */

/* Resolves with cfwatch's own region (NULL if unset) and profile. */
static int resolve(const char *region, const char *profile,
                   struct awsregion *out, struct cfw_err *err)
{
  struct awsregion_opts o = {0};

  o.region = region;
  o.source = region != NULL ? "--region" : NULL;
  o.profile = profile;
  o.getenv = env_get;
  cfw_err_clear(err);
  return awsregion_resolve(&o, out, err);
}

static const char profile_config[] = "[default]\n"
                                     "region = eu-west-1\n"
                                     "\n"
                                     "[profile site]\n"
                                     "output = json\n"
                                     "region = ap-south-1\n";

static void test_cfwatch_region_beats_environment_and_profile(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  env_set("AWS_REGION", "us-west-2");
  env_set("AWS_DEFAULT_REGION", "ca-central-1");
  CHECK_EQ_INT(resolve("eu-central-1", NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "eu-central-1");
  CHECK_EQ_STR(r.source, "--region");
}

static void test_aws_region_beats_aws_default_region(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  env_set("AWS_REGION", "us-west-2");
  env_set("AWS_DEFAULT_REGION", "ca-central-1");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "us-west-2");
  CHECK_EQ_STR(r.source, "AWS_REGION");
}

static void test_aws_default_region_beats_the_profile(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  env_set("AWS_DEFAULT_REGION", "ca-central-1");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "ca-central-1");
  CHECK_EQ_STR(r.source, "AWS_DEFAULT_REGION");
}

/* An empty variable counts as unset, as for AWS_PROFILE. */
static void test_empty_variable_counts_as_unset(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, NULL);
  env_set("AWS_REGION", "");
  env_set("AWS_DEFAULT_REGION", "eu-north-1");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "eu-north-1");
}

static void test_default_profile_region_from_config_file(void)
{
  char home[256];
  char want[512];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "eu-west-1");
  (void)snprintf(want, sizeof(want), "profile default in %s/.aws/config:2",
                 home);
  CHECK_CONTAINS(r.source, want);
}

/* AWS_PROFILE names [profile site]; --profile names it over AWS_PROFILE,
 * as for the credentials. */
static void test_the_credentials_profile_picks_the_section(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL,
             "[default]\nregion = eu-west-1\n\n"
             "[profile site]\nregion = ap-south-1\n\n"
             "[profile other]\nregion = sa-east-1\n");
  env_set("AWS_PROFILE", "site");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "ap-south-1");
  CHECK_CONTAINS(r.source, "profile site in ");
  CHECK_EQ_INT(resolve(NULL, "other", &r, &err), 0);
  CHECK_EQ_STR(r.name, "sa-east-1");
}

/* AWS_CONFIG_FILE moves the config file, as for the credentials. */
static void test_config_file_variable_is_followed(void)
{
  char home[256];
  char path[512];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  test_write(home, "elsewhere/config", "[default]\nregion = me-south-1\n");
  (void)snprintf(path, sizeof(path), "%s/elsewhere/config", home);
  env_set("AWS_CONFIG_FILE", path);
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "me-south-1");
  CHECK_CONTAINS(r.source, path);
}

/* botocore adds the credentials file's section to the profile, its keys
 * winning (Session.full_config). */
static void test_credentials_file_region_beats_config_file(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), "[default]\nregion = af-south-1\n",
             profile_config);
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "af-south-1");
  CHECK_CONTAINS(r.source, ".aws/credentials:2");
}

static void test_nothing_set_is_us_east_1(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), "[default]\noutput = json\n", NULL);
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "us-east-1");
  CHECK_EQ_STR(r.source, "the default");
}

static void test_bad_aws_region_names_the_variable(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  env_set("AWS_REGION", "eu west");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "AWS_REGION: \"eu west\"");
  CHECK_CONTAINS(err.msg, "a region looks like eu-west-1");
  CHECK_EQ_INT(err.cls, CFW_CLASS_USAGE);
  env_set("AWS_REGION", "");
  env_set("AWS_DEFAULT_REGION", "EU-WEST-1");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "AWS_DEFAULT_REGION: \"EU-WEST-1\"");
}

static void test_bad_profile_region_names_file_and_line(void)
{
  char home[256];
  char want[512];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL,
             "[default]\noutput = json\nregion = eu-west-1 # Ireland\n");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), -EINVAL);
  (void)snprintf(want, sizeof(want),
                 "profile default in %s/.aws/config:3: region: \"eu-west-1 "
                 "# Ireland\"",
                 home);
  CHECK_CONTAINS(err.msg, want);
  CHECK_EQ_INT(err.cls, CFW_CLASS_USAGE);
  setup_home(home, sizeof(home), NULL,
             "[default]\nregion =\n  eu-west-1 = yes\n");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "sub-section");
}

/* botocore raises ProfileNotFound where it reads the profile's region;
 * the environment's region never gets there. */
static void test_named_profile_in_neither_file_is_an_error(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL, profile_config);
  env_set("AWS_PROFILE", "nope");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "profile nope not found");
  CHECK_CONTAINS(err.msg, ".aws/config");
  env_set("AWS_REGION", "eu-west-3");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), 0);
  CHECK_EQ_STR(r.name, "eu-west-3");
}

/* A file the AWS CLI refuses is refused here too, with its line. */
static void test_config_file_the_cli_refuses_is_an_error(void)
{
  char home[256];
  struct awsregion r;
  struct cfw_err err;

  setup_home(home, sizeof(home), NULL,
             "[default]\nregion = eu-west-1\nregion = eu-west-2\n");
  CHECK_EQ_INT(resolve(NULL, NULL, &r, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, ".aws/config:3");
}

/* Each case alone (test.h): a case sets the fake environment of fakeenv.h,
 * which the next would see. */
TEST_MAIN_ALONE(TEST(test_cfwatch_region_beats_environment_and_profile),
                TEST(test_aws_region_beats_aws_default_region),
                TEST(test_aws_default_region_beats_the_profile),
                TEST(test_empty_variable_counts_as_unset),
                TEST(test_default_profile_region_from_config_file),
                TEST(test_the_credentials_profile_picks_the_section),
                TEST(test_config_file_variable_is_followed),
                TEST(test_credentials_file_region_beats_config_file),
                TEST(test_nothing_set_is_us_east_1),
                TEST(test_bad_aws_region_names_the_variable),
                TEST(test_bad_profile_region_names_file_and_line),
                TEST(test_named_profile_in_neither_file_is_an_error),
                TEST(test_config_file_the_cli_refuses_is_an_error))
