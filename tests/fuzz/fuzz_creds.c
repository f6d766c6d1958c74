/* SPDX-License-Identifier: MIT */
/* Fuzzes the AWS shared files: creds_resolve with AWS_SHARED_CREDENTIALS_FILE
 * and AWS_CONFIG_FILE naming in-memory files written from the input, through
 * the getenv injection of struct creds_opts, so the real ~/.aws is never
 * read.
 *
 * Input: one flag byte, then the credentials file, a NUL, and the config
 * file (which may hold more NULs: text to botocore, an error only in a
 * value cfwatch uses).
 * Flags: bits 0-1 pick the profile (0: default, 1: --profile dev,
 * 2: AWS_PROFILE=dev, 3: AWS_PROFILE=default); 0x04 sets AWS_ACCESS_KEY_ID,
 * 0x08 AWS_SECRET_ACCESS_KEY, 0x10 AWS_SESSION_TOKEN, 0x20 the web
 * identity pair; 0x40 and 0x80 make the config and credentials file
 * missing.  Seeds hold the marker FUZZ_SECRET in their secrets: it must
 * never reach an error message or a source label.
 *
 * Each file is also given to awsconfig_parse directly, and what it made
 * of the file is checked against awsconfig.h: keys in lower case, values
 * and names trimmed, sub-sections that walk to their end, each profile
 * found where awsconfig_section_profile says it is. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "awsconfig.h"
#include "creds.h"
#include "err.h"
#include "fuzz.h"

#define FUZZ_SECRET "FUZZSECRET"
#define ENV_KEY_ID  "AKIAENVFUZZ000000001"
#define MISSING     "/nonexistent/cfwatch-fuzz/file"

#define F_PROFILE_MASK 0x03
#define F_ENV_KEY_ID   0x04
#define F_ENV_SECRET   0x08
#define F_ENV_TOKEN    0x10
#define F_ENV_WEB_ID   0x20
#define F_NO_CONFIG    0x40
#define F_NO_CREDS     0x80

static struct fuzz_memfile creds_file;
static struct fuzz_memfile config_file;

/* The environment of the current input; the getenv hook takes no
 * argument, so it reads this. */
static unsigned cur_flags;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_memfile_open(&creds_file, "credentials");
  fuzz_memfile_open(&config_file, "config");
  return 0;
}

static const char *fuzz_getenv(const char *name)
{
  static const struct {
    const char *name;
    unsigned flag;
    const char *value;
  } vars[] = {
      {"AWS_ACCESS_KEY_ID", F_ENV_KEY_ID, ENV_KEY_ID},
      {"AWS_SECRET_ACCESS_KEY", F_ENV_SECRET, "env" FUZZ_SECRET "key"},
      {"AWS_SESSION_TOKEN", F_ENV_TOKEN, "env" FUZZ_SECRET "token"},
      {"AWS_WEB_IDENTITY_TOKEN_FILE", F_ENV_WEB_ID, "/nonexistent/token"},
      {"AWS_ROLE_ARN", F_ENV_WEB_ID, "arn:aws:iam::123456789012:role/r"},
  };
  size_t i;

  if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0)
    return cur_flags & F_NO_CREDS ? MISSING : creds_file.path;
  if (strcmp(name, "AWS_CONFIG_FILE") == 0)
    return cur_flags & F_NO_CONFIG ? MISSING : config_file.path;
  if (strcmp(name, "AWS_PROFILE") == 0) {
    if ((cur_flags & F_PROFILE_MASK) == 2)
      return "dev";
    return (cur_flags & F_PROFILE_MASK) == 3 ? "default" : NULL;
  }
  for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    if (strcmp(name, vars[i].name) == 0)
      return cur_flags & vars[i].flag ? vars[i].value : NULL;
  /* HOME and anything else: unset, so no default path is ever built from
   * the real home. */
  return NULL;
}

static bool nonempty(const char *s)
{
  return s != NULL && s[0] != '\0';
}

static void check_result(int rc, const struct creds *c, const char *cmd,
                         const struct cfw_err *err)
{
  FUZZ_CHECK(memchr(c->source, '\0', sizeof(c->source)) != NULL);
  FUZZ_CHECK(strstr(c->source, FUZZ_SECRET) == NULL);
  if (rc == CREDS_READY) {
    FUZZ_CHECK(cmd == NULL);
    FUZZ_CHECK(nonempty(c->access_key_id) && nonempty(c->secret_access_key));
    FUZZ_CHECK(c->session_token == NULL || c->session_token[0] != '\0');
    FUZZ_CHECK(c->source[0] != '\0');
    return;
  }
  if (rc == CREDS_RUN_PROCESS) {
    FUZZ_CHECK(nonempty(cmd));
    FUZZ_CHECK(c->access_key_id == NULL && c->secret_access_key == NULL);
    FUZZ_CHECK(c->source[0] != '\0');
    return;
  }
  FUZZ_CHECK(rc == -EINVAL || rc == -ENOENT || rc == -E2BIG);
  FUZZ_CHECK(cmd == NULL);
  FUZZ_CHECK(c->access_key_id == NULL && c->secret_access_key == NULL);
  FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
  FUZZ_CHECK(err->msg[0] != '\0');
  FUZZ_CHECK(strstr(err->msg, FUZZ_SECRET) == NULL);
}

/* Python's str.isspace() on the character that starts or ends s: the
 * ASCII ones, and the first bytes of the others in UTF-8. */
static bool blank_edge(struct awsconfig_str s)
{
  static const char ascii[] = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ";
  unsigned char first = (unsigned char)s.s[0];
  unsigned char last = (unsigned char)s.s[s.len - 1];

  return (first != '\0' && strchr(ascii, first) != NULL) ||
         (last != '\0' && strchr(ascii, last) != NULL) ||
         (s.len >= 2 && memcmp(s.s, "\xc2\xa0", 2) == 0) ||
         (s.len >= 3 && memcmp(s.s, "\xe3\x80\x80", 3) == 0);
}

static void check_value(const struct awsconfig_value *v)
{
  struct awsconfig_str name;
  struct awsconfig_str value;
  size_t pos = 0;
  size_t last = 0;
  int rc;

  if (v->text.len == 0)
    return;
  FUZZ_CHECK(v->text.s[v->text.len - 1] != '\n');
  FUZZ_CHECK(v->sub == (v->text.s[0] == '\n'));
  if (!v->sub) {
    FUZZ_CHECK(!blank_edge(v->text));
    return;
  }
  /* A sub-section botocore reads has an '=' on every line. */
  for (;;) {
    rc = awsconfig_sub_next(v, &pos, &name, &value);
    if (rc <= 0)
      break;
    FUZZ_CHECK(pos > last && pos <= v->text.len);
    FUZZ_CHECK(name.len == 0 || !blank_edge(name));
    FUZZ_CHECK(value.len == 0 || !blank_edge(value));
    last = pos;
  }
  FUZZ_CHECK(rc == 0);
}

static void check_section(const struct awsconfig *c, enum awsconfig_file f,
                          size_t i)
{
  struct awsconfig_str name;
  struct awsconfig_value v;
  struct awsconfig_value again;
  char key[64];
  char *profile;
  size_t len;
  size_t at = 0;
  size_t k;
  size_t j;

  for (k = 0; awsconfig_key(c, i, k, &name, &v); k++) {
    for (j = 0; j < name.len; j++)
      FUZZ_CHECK(name.s[j] < 'A' || name.s[j] > 'Z');
    FUZZ_CHECK(name.len == 0 || !blank_edge(name));
    check_value(&v);
    /* awsconfig_get finds the same value, for a plain C name. */
    if (name.len < sizeof(key) && memchr(name.s, '\0', name.len) == NULL) {
      memcpy(key, name.s, name.len);
      key[name.len] = '\0';
      FUZZ_CHECK(awsconfig_get(c, i, key, &again));
      FUZZ_CHECK(again.text.s == v.text.s && again.text.len == v.text.len);
    }
  }
  if (awsconfig_section_profile(c, f, i, &profile, &len) == 1) {
    FUZZ_CHECK(awsconfig_profile(c, f, profile, len, &at) == 1);
    FUZZ_CHECK(at >= i);
    free(profile);
  }
}

/* Parses one file directly and checks what came out. */
static void check_parse(const uint8_t *data, size_t size, enum awsconfig_file f)
{
  struct awsconfig *c = NULL;
  struct cfw_err err;
  size_t i;
  int rc;

  memset(&err, 0, sizeof(err));
  rc = awsconfig_parse(&c, (const char *)data, size, "f", &err);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EINVAL && c == NULL);
    FUZZ_CHECK(strncmp(err.msg, "f:", 2) == 0);
    FUZZ_CHECK(strstr(err.msg, FUZZ_SECRET) == NULL);
    return;
  }
  for (i = 0; i < awsconfig_sections(c); i++)
    check_section(c, f, i);
  awsconfig_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct creds_opts o;
  struct creds c;
  struct cfw_err err;
  const uint8_t *body = data + (size > 0);
  size_t len = size > 0 ? size - 1 : 0;
  const uint8_t *nul = memchr(body, '\0', len);
  size_t first = nul != NULL ? (size_t)(nul - body) : len;
  char *cmd = NULL;
  int rc;

  cur_flags = size > 0 ? data[0] : 0;
  check_parse(body, first, AWSCONFIG_CREDENTIALS);
  if (nul != NULL)
    check_parse(nul + 1, len - first - 1, AWSCONFIG_CONFIG);
  fuzz_memfile_set(&creds_file, body, first);
  fuzz_memfile_set(&config_file, nul != NULL ? nul + 1 : body + len,
                   nul != NULL ? len - first - 1 : 0);
  memset(&o, 0, sizeof(o));
  o.getenv = fuzz_getenv;
  if ((cur_flags & F_PROFILE_MASK) == 1)
    o.profile = "dev";
  memset(&c, 0, sizeof(c));
  memset(&err, 0, sizeof(err));
  rc = creds_resolve(&o, &c, &cmd, &err);
  check_result(rc, &c, cmd, &err);
  /* The environment wins unless a profile was given explicitly. */
  if ((cur_flags & (F_ENV_KEY_ID | F_ENV_SECRET)) ==
          (F_ENV_KEY_ID | F_ENV_SECRET) &&
      o.profile == NULL)
    FUZZ_CHECK(rc == CREDS_READY && strcmp(c.access_key_id, ENV_KEY_ID) == 0);
  free(cmd);
  creds_free(&c);
  return 0;
}
