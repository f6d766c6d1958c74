/* SPDX-License-Identifier: MIT */
#include "credproc.h"
#include "creds.h"
#include "err.h"
#include "fakeenv.h"
#include "test.h"

#include <uv.h>

/* Example values from the AWS documentation; the secret and the token
 * must never show up in an error message. */
#define KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN  "FwoGZXIvYXdzEXAMPLETOKENxyzzy"

static int resolve(const char *profile, struct creds *c, char **cmd,
                   struct cfw_err *err)
{
  struct creds_opts o = {profile, env_get};

  memset(c, 0, sizeof(*c));
  cfw_err_clear(err);
  return creds_resolve(&o, c, cmd, err);
}

static void check_no_secret(const struct cfw_err *err)
{
  CHECK(err->msg[0] != '\0');
  CHECK(strstr(err->msg, SECRET) == NULL);
  CHECK(strstr(err->msg, "wJalrXUtnFEMI") == NULL);
  CHECK(strstr(err->msg, TOKEN) == NULL);
}

#define STATIC_PROFILE                                                         \
  "[default]\n"                                                                \
  "aws_access_key_id = " KEY_ID "\n"                                           \
  "aws_secret_access_key = " SECRET "\n"

static const char static_profile[] = STATIC_PROFILE;

static void test_env_wins_over_files(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), static_profile, NULL);
  env_set("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENV1234");
  env_set("AWS_SECRET_ACCESS_KEY", "envsecret");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIAENVENVENVENV1234");
  CHECK_EQ_STR(c.secret_access_key, "envsecret");
  CHECK(c.session_token == NULL);
  CHECK_EQ_STR(c.source, "environment");
  CHECK(cmd == NULL);
  creds_free(&c);
  test_rmtree(dir);
}

static void test_env_session_token_is_read(void)
{
  struct creds c;
  struct cfw_err err;
  char *cmd;

  env_set("HOME", "/nonexistent");
  env_set("AWS_ACCESS_KEY_ID", KEY_ID);
  env_set("AWS_SECRET_ACCESS_KEY", SECRET);
  env_set("AWS_SESSION_TOKEN", TOKEN);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.session_token, TOKEN);
  CHECK_EQ_INT(c.expiration_s, 0);
  creds_free(&c);
}

static void test_env_key_id_without_secret_is_an_error(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), static_profile, NULL);
  env_set("AWS_ACCESS_KEY_ID", KEY_ID);
  env_set("AWS_SESSION_TOKEN", TOKEN);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "AWS_SECRET_ACCESS_KEY is not");
  CHECK_CONTAINS(err.msg, "\xe2\x80\xa6MPLE");
  CHECK(strstr(err.msg, KEY_ID) == NULL);
  check_no_secret(&err);
  CHECK(c.access_key_id == NULL);
  test_rmtree(dir);
}

static void test_explicit_profile_skips_env(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), static_profile, NULL);
  env_set("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENV1234");
  env_set("AWS_SECRET_ACCESS_KEY", "envsecret");
  CHECK_EQ_INT(resolve("default", &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  creds_free(&c);
  /* AWS_PROFILE is not explicit: the environment still wins. */
  env_set("AWS_PROFILE", "default");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.source, "environment");
  creds_free(&c);
  test_rmtree(dir);
}

static void test_profile_option_beats_aws_profile_beats_default(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[default]\naws_access_key_id = AKIADEFAULT0000000001\n"
             "aws_secret_access_key = s1\n"
             "[envprof]\naws_access_key_id = AKIAENVPROF000000002\n"
             "aws_secret_access_key = s2\n"
             "[optprof]\naws_access_key_id = AKIAOPTPROF000000003\n"
             "aws_secret_access_key = s3\n",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIADEFAULT0000000001");
  creds_free(&c);
  env_set("AWS_PROFILE", "envprof");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIAENVPROF000000002");
  CHECK_CONTAINS(c.source, "profile envprof in ");
  creds_free(&c);
  CHECK_EQ_INT(resolve("optprof", &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIAOPTPROF000000003");
  creds_free(&c);
  /* botocore, and so the AWS CLI, reads AWS_DEFAULT_PROFILE before
   * AWS_PROFILE (configprovider.py: 'profile': ['AWS_DEFAULT_PROFILE',
   * 'AWS_PROFILE']); --profile still comes first. */
  env_set("AWS_DEFAULT_PROFILE", "optprof");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIAOPTPROF000000003");
  CHECK_CONTAINS(c.source, "profile optprof in ");
  creds_free(&c);
  CHECK_EQ_INT(resolve("default", &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIADEFAULT0000000001");
  creds_free(&c);
  /* Named, so it must exist, as AWS_PROFILE's. */
  env_set("AWS_DEFAULT_PROFILE", "nope");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -ENOENT);
  CHECK_CONTAINS(err.msg, "profile nope not found");
  test_rmtree(dir);
}

static void test_config_sections_carry_profile_prefix(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), NULL,
             "[x]\naws_access_key_id = AKIAWRONG00000000001\n"
             "aws_secret_access_key = wrong\n"
             "[profile   x ]\naws_access_key_id = AKIARIGHT00000000002\n"
             "aws_secret_access_key = right\n"
             "[default]\naws_access_key_id = AKIADEFAULT000000003\n"
             "aws_secret_access_key = d\n");
  CHECK_EQ_INT(resolve("x", &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIARIGHT00000000002");
  CHECK_CONTAINS(c.source, ".aws/config");
  creds_free(&c);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIADEFAULT000000003");
  creds_free(&c);
  test_rmtree(dir);
}

static void test_credentials_sections_are_bare_names(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[profile x]\naws_access_key_id = AKIAWRONG00000000001\n"
             "aws_secret_access_key = wrong\n"
             "[x]\naws_access_key_id = AKIARIGHT00000000002\n"
             "aws_secret_access_key = right\n",
             NULL);
  CHECK_EQ_INT(resolve("x", &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, "AKIARIGHT00000000002");
  CHECK_CONTAINS(c.source, "profile x in ");
  CHECK_CONTAINS(c.source, ".aws/credentials");
  creds_free(&c);
  test_rmtree(dir);
}

static void test_credentials_file_beats_config(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), static_profile,
             "[default]\naws_access_key_id = AKIACONFIG0000000001\n"
             "aws_secret_access_key = c\n"
             "region = eu-west-1\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
  test_rmtree(dir);
}

static void test_session_token_read_from_file(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "# comment\n[default]\n"
             "AWS_ACCESS_KEY_ID=" KEY_ID "\r\n"
             "aws_secret_access_key:" SECRET "\r\n"
             "  ; indented comment\n"
             "aws_session_token =   " TOKEN "   \n",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  CHECK_EQ_STR(c.session_token, TOKEN);
  creds_free(&c);
  test_rmtree(dir);
}

/* inih's line buffer holds 200 bytes; real session tokens are longer. */
static void test_long_session_token_line_is_read_whole(void)
{
  char dir[256];
  char token[3001];
  char file[3400];
  struct creds c;
  struct cfw_err err;
  char *cmd;
  size_t i;

  for (i = 0; i < sizeof(token) - 1; i++)
    token[i] = "ABCDEFGHIJ+/="[i % 13];
  token[sizeof(token) - 1] = '\0';
  CHECK(snprintf(file, sizeof(file), "%s\naws_session_token = %s\n",
                 static_profile, token) < (int)sizeof(file));
  setup_home(dir, sizeof(dir), file, NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.session_token, token);
  creds_free(&c);
  test_rmtree(dir);
}

static void test_values_keep_semicolons_and_profile_names_any_length(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd = NULL;
  const char *longname = "a-profile-name-well-over-fifty-bytes-long-"
                         "which-inih-would-cut-short";

  setup_home(dir, sizeof(dir), NULL,
             "[profile a-profile-name-well-over-fifty-bytes-long-which-inih"
             "-would-cut-short]\n"
             "credential_process = tool --a ; echo b # c\n");
  CHECK_EQ_INT(resolve(longname, &c, &cmd, &err), CREDS_RUN_PROCESS);
  CHECK_EQ_STR(cmd, "tool --a ; echo b # c");
  free(cmd);
  CHECK_EQ_INT(resolve("a-profile-name-well-over-fifty-bytes-long-which-inih",
                       &c, &cmd, &err),
               -ENOENT);
  test_rmtree(dir);
}

/* botocore parses "key =" and indented lines as a sub-section (like
 * "s3 =\n  max_concurrent_requests = 10"), and refuses the whole file if
 * one of its lines has no '='. */
static void test_sub_section_is_no_credential_value(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd = NULL;

  setup_home(dir, sizeof(dir),
             "[default]\ncredential_process =\n    /usr/bin/tool --json\n",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, ".aws/credentials:2: a line of this key's "
                          "sub-section has no '='");
  test_write(dir, ".aws/credentials",
             "[default]\ncredential_process =\n    tool = --json\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, ".aws/credentials:2: credential_process is a "
                          "sub-section");
  /* One where the CLI expects it is fine. */
  test_write(dir, ".aws/credentials",
             "[default]\ns3 =\n  max_concurrent_requests = 10\n"
             "credential_process = tool\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_RUN_PROCESS);
  CHECK_EQ_STR(cmd, "tool");
  free(cmd);
  test_rmtree(dir);
}

static void test_config_file_static_keys_come_last(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd = NULL;

  setup_home(dir, sizeof(dir), NULL,
             "[default]\naws_access_key_id = " KEY_ID "\n"
             "aws_secret_access_key = " SECRET "\n"
             "credential_process = tool\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_RUN_PROCESS);
  CHECK_EQ_STR(cmd, "tool");
  CHECK_EQ_STR(c.source, "credential_process of profile default");
  CHECK(c.access_key_id == NULL);
  free(cmd);
  test_write(dir, ".aws/config",
             "[default]\naws_access_key_id = " KEY_ID "\n"
             "aws_secret_access_key = " SECRET "\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_CONTAINS(c.source, "profile default in ");
  CHECK_CONTAINS(c.source, ".aws/config");
  creds_free(&c);
  test_rmtree(dir);
}

static void test_credential_process_in_credentials_file_wins(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd = NULL;

  setup_home(dir, sizeof(dir), "[p]\ncredential_process = from-credentials\n",
             "[profile p]\ncredential_process = from-config\n");
  CHECK_EQ_INT(resolve("p", &c, &cmd, &err), CREDS_RUN_PROCESS);
  CHECK_EQ_STR(cmd, "from-credentials");
  free(cmd);
  /* Static keys in the credentials file come before any process. */
  test_write(dir, ".aws/credentials",
             "[p]\naws_access_key_id = " KEY_ID "\n"
             "aws_secret_access_key = " SECRET "\n");
  CHECK_EQ_INT(resolve("p", &c, &cmd, &err), CREDS_READY);
  CHECK(cmd == NULL);
  creds_free(&c);
  test_rmtree(dir);
}

static void test_file_key_id_without_secret_is_an_error(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[default]\naws_access_key_id = " KEY_ID "\n"
             "aws_session_token = " TOKEN "\n",
             "[default]\naws_secret_access_key = " SECRET "\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "profile default in ");
  CHECK_CONTAINS(err.msg, "without aws_secret_access_key");
  check_no_secret(&err);
  test_rmtree(dir);
}

static void test_role_arn_profile_is_not_supported(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[base]\naws_access_key_id = " KEY_ID "\n"
             "aws_secret_access_key = " SECRET "\n"
             "[x]\naws_access_key_id = " KEY_ID "\n"
             "aws_secret_access_key = " SECRET "\n",
             "[profile x]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
             "source_profile = base\n");
  CHECK_EQ_INT(resolve("x", &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "profile x uses role_arn");
  CHECK_CONTAINS(err.msg, "which cfwatch does not support yet");
  CHECK_CONTAINS(err.msg, "use credential_process with `aws configure "
                          "export-credentials --profile x --format process`");
  check_no_secret(&err);
  CHECK(c.access_key_id == NULL);
  test_rmtree(dir);
}

static void test_sso_profile_is_not_supported(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), NULL,
             "[profile dev]\nsso_session = corp\nsso_account_id = 1\n"
             "[sso-session corp]\nsso_start_url = https://x\n");
  CHECK_EQ_INT(resolve("dev", &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "profile dev uses sso_account_id");
  CHECK_CONTAINS(err.msg, "--profile dev --format process");
  check_no_secret(&err);
  test_rmtree(dir);
}

static void test_env_web_identity_is_not_supported(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), static_profile, NULL);
  env_set("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token");
  env_set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "(web identity), which cfwatch does not support");
  /* An explicit profile does not look at the environment. */
  CHECK_EQ_INT(resolve("default", &c, &cmd, &err), CREDS_READY);
  creds_free(&c);
  test_rmtree(dir);
}

static void test_login_session_comes_after_credentials_file(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), NULL,
             "[default]\nlogin_session = arn:aws:iam::1:user/u\n"
             "credential_process = tool\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "profile default uses login_session");
  test_write(dir, ".aws/credentials", static_profile);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  creds_free(&c);
  test_rmtree(dir);
}

static void test_missing_named_profile_names_the_files(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), static_profile, NULL);
  env_set("AWS_PROFILE", "nope");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -ENOENT);
  CHECK_CONTAINS(err.msg, "profile nope not found");
  CHECK_CONTAINS(err.msg, ".aws/credentials (no such profile)");
  CHECK_CONTAINS(err.msg, ".aws/config (no such file)");
  CHECK_CONTAINS(err.msg, dir);
  check_no_secret(&err);
  test_rmtree(dir);
}

static void test_no_credentials_anywhere_lists_what_was_tried(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir), NULL, "[default]\nregion = eu-west-1\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -ENOENT);
  CHECK_CONTAINS(err.msg, "no AWS credentials found");
  CHECK_CONTAINS(err.msg, "environment (no AWS_ACCESS_KEY_ID)");
  CHECK_CONTAINS(err.msg, "profile default");
  CHECK_CONTAINS(err.msg, ".aws/credentials (no such file)");
  CHECK_CONTAINS(err.msg, ".aws/config (no keys or credential_process)");
  /* An explicit --profile skipped the environment, so it is not listed. */
  CHECK_EQ_INT(resolve("default", &c, &cmd, &err), -ENOENT);
  CHECK(strstr(err.msg, "environment") == NULL);
  CHECK_CONTAINS(err.msg, "no AWS credentials found; tried profile default");
  test_rmtree(dir);
}

static void test_file_variables_override_default_paths(void)
{
  char dir[256];
  char creds_path[300];
  struct creds c;
  struct cfw_err err;
  char *cmd = NULL;

  setup_home(dir, sizeof(dir), NULL, NULL);
  test_write(dir, "elsewhere/creds", static_profile);
  test_write(dir, "elsewhere/conf", "[default]\ncredential_process = x\n");
  CHECK(snprintf(creds_path, sizeof(creds_path), "%s/elsewhere/creds", dir) <
        (int)sizeof(creds_path));
  env_set("AWS_SHARED_CREDENTIALS_FILE", creds_path);
  env_set("AWS_CONFIG_FILE", "~/elsewhere/conf");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_CONTAINS(c.source, creds_path);
  creds_free(&c);
  env_set("AWS_SHARED_CREDENTIALS_FILE", "~/none");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_RUN_PROCESS);
  CHECK_EQ_STR(cmd, "x");
  free(cmd);
  test_rmtree(dir);
}

static void test_syntax_error_names_file_and_line(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[default]\naws_secret_access_key = " SECRET "\n"
             "this line has no equals sign " SECRET "\n",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, ".aws/credentials:3: syntax error");
  check_no_secret(&err);
  test_rmtree(dir);
}

/* A section name or line of any length: inih cut them at 50 and 200
 * bytes. */
static void test_long_section_names_and_lines_are_read(void)
{
  char dir[256];
  char name[700];
  char file[2000];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  memset(name, 'x', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  CHECK(snprintf(file, sizeof(file), "[%s]\n%s", name, static_profile + 10) <
        (int)sizeof(file));
  setup_home(dir, sizeof(dir), file, NULL);
  CHECK_EQ_INT(resolve(name, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
  name[50] = '\0';
  CHECK_EQ_INT(resolve(name, &c, &cmd, &err), -ENOENT);
  test_rmtree(dir);
}

/* configparser takes an indented line for a continuation only when it
 * is indented deeper than its key; inih took any indented line. */
static void test_indented_profile_keys_are_keys(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[default]\n  aws_access_key_id = " KEY_ID "\n"
             "  aws_secret_access_key = " SECRET "\n",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
  test_rmtree(dir);
}

/* configparser's [DEFAULT] lends its keys to every section. */
static void test_default_section_lends_its_keys(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[DEFAULT]\naws_secret_access_key = " SECRET "\n"
             "[default]\naws_access_key_id = " KEY_ID "\n",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
  /* It is no profile of its own. */
  CHECK_EQ_INT(resolve("DEFAULT", &c, &cmd, &err), -ENOENT);
  test_rmtree(dir);
}

/* What the AWS CLI refuses, cfwatch refuses: a key or section given
 * twice, a byte order mark.  Secrets stay out of the message. */
static void test_files_the_cli_refuses_are_refused(void)
{
  static const char *const files[][2] = {
      {"[default]\naws_access_key_id = " KEY_ID "\n"
       "AWS_ACCESS_KEY_ID = " SECRET "\n",
       ".aws/credentials:3: key given twice"},
      {"[default]\naws_access_key_id = " KEY_ID "\n[x]\n[default]\n",
       ".aws/credentials:4: section given twice"},
      {"\xef\xbb\xbf[default]\naws_access_key_id = " KEY_ID "\n",
       ".aws/credentials:1: the file starts with a UTF-8 byte order mark"},
      {"[default]\naws_secret_access_key = " SECRET "\xff\n",
       ".aws/credentials:2: not UTF-8 text"},
  };
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;
  size_t i;

  for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    setup_home(dir, sizeof(dir), files[i][0], NULL);
    CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
    CHECK_CONTAINS(err.msg, files[i][1]);
    check_no_secret(&err);
    test_rmtree(dir);
  }
}

/* Lines end at "\r" too, and blanks are Python's, U+00A0 among them. */
static void test_lines_and_blanks_as_python_reads_them(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd;

  setup_home(dir, sizeof(dir),
             "[default]\raws_access_key_id = " KEY_ID "\r"
             "aws_secret_access_key = " SECRET "\xc2\xa0\x1f",
             NULL);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
  test_rmtree(dir);
}

/* Of [default] and [profile default] in the config file the last one
 * is the profile, whole: botocore does not merge them. */
static void test_config_last_default_section_wins_whole(void)
{
  char dir[256];
  struct creds c;
  struct cfw_err err;
  char *cmd = NULL;

  setup_home(dir, sizeof(dir), NULL,
             "[default]\naws_access_key_id = " KEY_ID "\n"
             "aws_secret_access_key = " SECRET "\n"
             "[profile default]\ncredential_process = tool\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_RUN_PROCESS);
  CHECK_EQ_STR(cmd, "tool");
  free(cmd);
  test_write(dir, ".aws/config",
             "[profile default]\ncredential_process = tool\n"
             "[default]\nregion = eu-west-1\n");
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -ENOENT);
  /* Names are split as a shell would. */
  test_write(dir, ".aws/config",
             "[profile 'my dev']\ncredential_process = tool\n");
  cmd = NULL;
  CHECK_EQ_INT(resolve("my dev", &c, &cmd, &err), CREDS_RUN_PROCESS);
  free(cmd);
  test_rmtree(dir);
}

/* A NUL byte is text to botocore; only a value cfwatch uses must not
 * hold one. */
static void test_nul_byte_only_matters_in_a_used_value(void)
{
  static const char ok[] = "# a\0b\n[x]\nk = \0\n" STATIC_PROFILE;
  static const char bad[] = "[default]\naws_access_key_id = " KEY_ID "\n"
                            "aws_secret_access_key = " SECRET "\0x\n";
  char dir[256];
  char path[300];
  struct creds c;
  struct cfw_err err;
  char *cmd;
  int fd;

  setup_home(dir, sizeof(dir), "", NULL);
  CHECK(snprintf(path, sizeof(path), "%s/.aws/credentials", dir) <
        (int)sizeof(path));
  fd = open(path, O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && write(fd, ok, sizeof(ok) - 1) == sizeof(ok) - 1);
  CHECK_EQ_INT(close(fd), 0);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), CREDS_READY);
  creds_free(&c);
  fd = open(path, O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && write(fd, bad, sizeof(bad) - 1) == sizeof(bad) - 1);
  CHECK_EQ_INT(close(fd), 0);
  CHECK_EQ_INT(resolve(NULL, &c, &cmd, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, ".aws/credentials:3: aws_secret_access_key holds "
                          "a NUL byte");
  check_no_secret(&err);
  test_rmtree(dir);
}

static void test_process_output_is_parsed(void)
{
  static const char out[] =
      "{\"Version\": 1, \"AccessKeyId\": \"" KEY_ID "\", "
      "\"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" TOKEN "\", "
      "\"Expiration\": \"2026-11-25T12:00:00Z\", \"Extra\": [1]}\n";
  struct creds c;
  struct cfw_err err;

  memset(&c, 0, sizeof(c));
  CHECK_EQ_INT(credproc_parse_output(out, sizeof(out) - 1, &c, &err), 0);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  CHECK_EQ_STR(c.session_token, TOKEN);
  CHECK_EQ_INT(c.expiration_s, 1795608000);
  creds_free(&c);
}

static void check_output_rejected(const char *out, const char *why)
{
  struct creds c;
  struct cfw_err err;

  memset(&c, 0, sizeof(c));
  cfw_err_clear(&err);
  CHECK_EQ_INT(credproc_parse_output(out, strlen(out), &c, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, why);
  check_no_secret(&err);
  CHECK(c.access_key_id == NULL && c.secret_access_key == NULL);
}

static void test_process_output_must_be_version_1_with_keys(void)
{
  check_output_rejected("{\"Version\": 2, \"AccessKeyId\": \"" KEY_ID "\", "
                        "\"SecretAccessKey\": \"" SECRET "\"}",
                        "Version 2 is not supported");
  check_output_rejected("{\"Version\": \"1\", \"AccessKeyId\": \"" KEY_ID
                        "\", \"SecretAccessKey\": \"" SECRET "\"}",
                        "no numeric Version");
  check_output_rejected("{\"Version\": 1, \"AccessKeyId\": \"" KEY_ID "\"}",
                        "no SecretAccessKey");
  check_output_rejected("{\"Version\": 1, \"SecretAccessKey\": \"" SECRET "\"}",
                        "no AccessKeyId");
  check_output_rejected("{\"Version\": 1, \"AccessKeyId\": \"" KEY_ID "\", "
                        "\"SecretAccessKey\": \"" SECRET "\", "
                        "\"SessionToken\": 5}",
                        "SessionToken is not a string");
  check_output_rejected("{\"Version\": 1, \"AccessKeyId\": \"" KEY_ID "\", "
                        "\"SecretAccessKey\": \"" SECRET "\", "
                        "\"Expiration\": \"tomorrow\"}",
                        "Expiration is not");
  check_output_rejected(
      "{\"Version\": 1, \"SecretAccessKey\": \"" SECRET "\",}", "json: offset");
}

static void test_expiration_formats_are_parsed(void)
{
  int64_t t = 0;

  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00Z", &t), 0);
  CHECK_EQ_INT(t, 1795608000);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00.123456Z", &t), 0);
  CHECK_EQ_INT(t, 1795608000);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25t12:00:00+00:00", &t), 0);
  CHECK_EQ_INT(t, 1795608000);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00.5+02:00", &t), 0);
  CHECK_EQ_INT(t, 1795600800);
  CHECK_EQ_INT(credproc_parse_time("2000-02-29T23:59:59Z", &t), 0);
  CHECK_EQ_INT(t, 951868799);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25 12:00:00Z", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-02-29T12:00:00Z", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-13-01T12:00:00Z", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T24:00:00Z", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00.Z", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00+0000", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("2026-11-25T12:00:00Zjunk", &t), -EINVAL);
  CHECK_EQ_INT(credproc_parse_time("", &t), -EINVAL);
}

static void test_need_refresh_within_margin_of_expiry(void)
{
  struct creds c;

  memset(&c, 0, sizeof(c));
  CHECK(!creds_need_refresh(&c, 1795608000));
  CHECK(!creds_need_refresh(NULL, 0));
  c.expiration_s = 1795608000;
  CHECK(!creds_need_refresh(&c, 1795608000 - CREDS_REFRESH_MARGIN_S - 1));
  CHECK(creds_need_refresh(&c, 1795608000 - CREDS_REFRESH_MARGIN_S));
  CHECK(creds_need_refresh(&c, 1795608000));
  CHECK(creds_need_refresh(&c, 1795608000 + 3600));
}

static void test_mask_key_id_keeps_last_four(void)
{
  char out[8];

  creds_mask_key_id(KEY_ID, out);
  CHECK_EQ_STR(out, "\xe2\x80\xa6MPLE");
  creds_mask_key_id("ABCDEFGH", out);
  CHECK_EQ_STR(out, "\xe2\x80\xa6"
                    "EFGH");
  creds_mask_key_id("ABCDEFG", out);
  CHECK_EQ_STR(out, "\xe2\x80\xa6");
  creds_mask_key_id(NULL, out);
  CHECK_EQ_STR(out, "\xe2\x80\xa6");
}

static void test_free_and_move(void)
{
  struct creds a;
  struct creds b;
  struct cfw_err err;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  CHECK_EQ_INT(creds_set_keys(&a, KEY_ID, SECRET, "", &err), 0);
  CHECK(a.session_token == NULL);
  creds_move(&b, &a);
  CHECK(a.access_key_id == NULL);
  CHECK_EQ_STR(b.secret_access_key, SECRET);
  creds_free(&b);
  CHECK(b.secret_access_key == NULL);
  creds_free(NULL);
}

/* --- credential_process on a real loop --- */

struct run {
  int calls;
  int status;
  struct creds creds;
  struct cfw_err err;
};

static void on_done(struct credproc *p, int status, struct creds *creds,
                    const struct cfw_err *err, void *arg)
{
  struct run *r = arg;

  CHECK(p != NULL);
  r->calls++;
  r->status = status;
  if (creds != NULL)
    creds_move(&r->creds, creds);
  r->err = *err;
}

/* Writes script into a fresh directory and runs "exec sh DIR/s.sh". */
static void run_script(const char *script, uint64_t timeout_ms, struct run *r)
{
  char dir[256];
  char cmd[300];
  uv_loop_t loop;
  struct credproc *p;
  struct credproc_opts o = {cmd, "credential_process of profile t", timeout_ms};
  struct cfw_err err;

  memset(r, 0, sizeof(*r));
  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "s.sh", script);
  CHECK(snprintf(cmd, sizeof(cmd), "exec sh '%s/s.sh'", dir) <
        (int)sizeof(cmd));
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(credproc_start(&p, &loop, &o, on_done, r, &err), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  CHECK_EQ_INT(r->calls, 1);
  test_rmtree(dir);
}

static void test_process_success_gives_credentials(void)
{
  struct run r;

  run_script("echo starting >&2\n"
             "cat <<EOF\n{\"Version\": 1, \"AccessKeyId\": \"" KEY_ID "\",\n"
             " \"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" TOKEN
             "\",\n \"Expiration\": \"2026-11-25T12:00:00+00:00\"}\nEOF\n",
             0, &r);
  CHECK_EQ_INT(r.status, 0);
  CHECK_EQ_STR(r.creds.access_key_id, KEY_ID);
  CHECK_EQ_STR(r.creds.secret_access_key, SECRET);
  CHECK_EQ_STR(r.creds.session_token, TOKEN);
  CHECK_EQ_INT(r.creds.expiration_s, 1795608000);
  CHECK_EQ_STR(r.creds.source, "credential_process of profile t");
  CHECK(creds_need_refresh(&r.creds, 1795608000 - 60));
  creds_free(&r.creds);
}

static void test_process_exit_1_reports_stderr_tail(void)
{
  struct run r;

  run_script("echo '{\"SecretAccessKey\": \"" SECRET "\"}'\n"
             "echo 'line one' >&2\nprintf 'token expired\\n' >&2\nexit 1\n",
             0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_CONTAINS(r.err.msg, "credential_process of profile t: exited with "
                            "status 1: line one token expired");
  check_no_secret(&r.err);
  CHECK(r.creds.access_key_id == NULL);
}

static void test_process_timeout_kills_it(void)
{
  struct run r;
  uint64_t t0 = uv_hrtime();

  /* The grandchild sleep holds the pipes: only a group kill ends it. */
  run_script("sleep 30\necho '{}'\n", 200, &r);
  CHECK_EQ_INT(r.status, -ETIMEDOUT);
  CHECK_CONTAINS(r.err.msg, "timed out after 200 ms, killed");
  CHECK((uv_hrtime() - t0) / 1000000 < 5000);
}

static void test_process_background_child_cannot_hold_us(void)
{
  struct run r;

  run_script("sleep 30 &\necho '{}'\n", 300, &r);
  CHECK_EQ_INT(r.status, -ETIMEDOUT);
  check_no_secret(&r.err);
}

static void test_process_malformed_json_is_an_error(void)
{
  struct run r;

  run_script("echo '{\"Version\": 1, \"AccessKeyId\": \"" KEY_ID "\", "
             "\"SecretAccessKey\": \"" SECRET "\"'\n",
             0, &r);
  CHECK_EQ_INT(r.status, -EINVAL);
  CHECK_CONTAINS(r.err.msg, "credential_process of profile t: output: json: "
                            "offset");
  check_no_secret(&r.err);
}

static void test_process_version_2_is_refused(void)
{
  struct run r;

  run_script("echo '{\"Version\": 2, \"AccessKeyId\": \"" KEY_ID "\", "
             "\"SecretAccessKey\": \"" SECRET "\"}'\n",
             0, &r);
  CHECK_EQ_INT(r.status, -EINVAL);
  CHECK_CONTAINS(r.err.msg, "Version 2 is not supported");
  check_no_secret(&r.err);
}

static void test_process_output_over_cap_is_refused(void)
{
  struct run r;

  run_script("head -c 200000 /dev/zero | tr '\\0' ' '\necho '{}'\n", 0, &r);
  CHECK_EQ_INT(r.status, -E2BIG);
  CHECK_CONTAINS(r.err.msg, "output over 64 KiB");
}

static void test_process_killed_by_signal(void)
{
  struct run r;

  run_script("kill -TERM $$\n", 0, &r);
  CHECK_EQ_INT(r.status, -EIO);
  CHECK_CONTAINS(r.err.msg, "killed by signal 15");
}

static void on_cancel_timer(uv_timer_t *t)
{
  credproc_cancel(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel_ends_the_process(void)
{
  uv_loop_t loop;
  uv_timer_t timer;
  struct credproc *p;
  struct credproc_opts o = {"sleep 30", "credential_process of profile t", 0};
  struct cfw_err err;
  struct run r;

  memset(&r, 0, sizeof(r));
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  CHECK_EQ_INT(credproc_start(&p, &loop, &o, on_done, &r, &err), 0);
  CHECK_EQ_INT(uv_timer_init(&loop, &timer), 0);
  timer.data = p;
  CHECK_EQ_INT(uv_timer_start(&timer, on_cancel_timer, 50, 0), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.status, -ECANCELED);
}

/* Each case alone (test.h): a case sets the fake environment of fakeenv.h,
 * which the next would see. */
TEST_MAIN_ALONE(TEST(test_env_wins_over_files),
                TEST(test_env_session_token_is_read),
                TEST(test_env_key_id_without_secret_is_an_error),
                TEST(test_explicit_profile_skips_env),
                TEST(test_profile_option_beats_aws_profile_beats_default),
                TEST(test_config_sections_carry_profile_prefix),
                TEST(test_credentials_sections_are_bare_names),
                TEST(test_credentials_file_beats_config),
                TEST(test_session_token_read_from_file),
                TEST(test_long_session_token_line_is_read_whole),
                TEST(test_values_keep_semicolons_and_profile_names_any_length),
                TEST(test_sub_section_is_no_credential_value),
                TEST(test_config_file_static_keys_come_last),
                TEST(test_credential_process_in_credentials_file_wins),
                TEST(test_file_key_id_without_secret_is_an_error),
                TEST(test_role_arn_profile_is_not_supported),
                TEST(test_sso_profile_is_not_supported),
                TEST(test_env_web_identity_is_not_supported),
                TEST(test_login_session_comes_after_credentials_file),
                TEST(test_missing_named_profile_names_the_files),
                TEST(test_no_credentials_anywhere_lists_what_was_tried),
                TEST(test_file_variables_override_default_paths),
                TEST(test_syntax_error_names_file_and_line),
                TEST(test_long_section_names_and_lines_are_read),
                TEST(test_indented_profile_keys_are_keys),
                TEST(test_default_section_lends_its_keys),
                TEST(test_files_the_cli_refuses_are_refused),
                TEST(test_lines_and_blanks_as_python_reads_them),
                TEST(test_config_last_default_section_wins_whole),
                TEST(test_nul_byte_only_matters_in_a_used_value),
                TEST(test_process_output_is_parsed),
                TEST(test_process_output_must_be_version_1_with_keys),
                TEST(test_expiration_formats_are_parsed),
                TEST(test_need_refresh_within_margin_of_expiry),
                TEST(test_mask_key_id_keeps_last_four),
                TEST(test_free_and_move),
                TEST(test_process_success_gives_credentials),
                TEST(test_process_exit_1_reports_stderr_tail),
                TEST(test_process_timeout_kills_it),
                TEST(test_process_background_child_cannot_hold_us),
                TEST(test_process_malformed_json_is_an_error),
                TEST(test_process_version_2_is_refused),
                TEST(test_process_output_over_cap_is_refused),
                TEST(test_process_killed_by_signal),
                TEST(test_cancel_ends_the_process))
