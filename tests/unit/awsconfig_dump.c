/* SPDX-License-Identifier: MIT */
/* awsconfig_dump credentials|config FILE...: reads each file with
 * awsconfig.c and prints one JSON line for it, the profiles as creds.c
 * would find them, or the error:
 *
 *   {"file": "F", "profiles": {"dev": {"region": "x", "s3": {"a": "1"}}}}
 *   {"file": "F", "error": "F:3: syntax error"}
 *
 * awsconfig_botocore.py compares that with what botocore reads from the
 * same file.  A test tool: it prints secrets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsconfig.h"
#include "cfgfile.h"
#include "err.h"

#define DUMP_MAX_FILE (16 * 1024 * 1024)

/* A JSON string of s[0..n), which is UTF-8. */
static void put_str(const char *s, size_t n)
{
  size_t i;
  unsigned char c;

  putchar('"');
  for (i = 0; i < n; i++) {
    c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void put_value(const struct awsconfig_value *v)
{
  struct awsconfig_str name;
  struct awsconfig_str value;
  size_t pos = 0;
  int n = 0;

  if (!v->sub) {
    put_str(v->text.s, v->text.len);
    return;
  }
  /* A name given twice comes twice: json.loads keeps the last, as
   * botocore's dict does. */
  putchar('{');
  while (awsconfig_sub_next(v, &pos, &name, &value) > 0) {
    fputs(n++ ? ", " : "", stdout);
    put_str(name.s, name.len);
    printf(": ");
    put_str(value.s, value.len);
  }
  putchar('}');
}

static void put_section(const struct awsconfig *c, size_t i)
{
  struct awsconfig_str name;
  struct awsconfig_value v;
  size_t k;

  putchar('{');
  for (k = 0; awsconfig_key(c, i, k, &name, &v); k++) {
    fputs(k ? ", " : "", stdout);
    put_str(name.s, name.len);
    printf(": ");
    put_value(&v);
  }
  putchar('}');
}

/* Each profile once, in the order of its first section, with the
 * section awsconfig_profile picks for it. */
static int put_profiles(const struct awsconfig *c, enum awsconfig_file f)
{
  size_t n = awsconfig_sections(c);
  size_t i;
  size_t j;
  size_t len;
  size_t sect;
  char *name;
  int printed = 0;
  int rc;

  for (i = 0; i < n; i++) {
    rc = awsconfig_section_profile(c, f, i, &name, &len);
    if (rc < 0)
      return rc;
    /* Printed already if an earlier section names it too. */
    for (j = 0; rc == 1 && j < i; j++) {
      char *other;
      size_t olen;

      if (awsconfig_section_profile(c, f, j, &other, &olen) == 1 &&
          olen == len && memcmp(other, name, len) == 0)
        rc = 0;
      free(other);
    }
    if (rc == 1 && awsconfig_profile(c, f, name, len, &sect) == 1) {
      fputs(printed++ ? ", " : "", stdout);
      put_str(name, len);
      printf(": ");
      put_section(c, sect);
    }
    free(name);
  }
  return 0;
}

static int dump(const char *path, enum awsconfig_file f)
{
  struct awsconfig *c = NULL;
  struct cfw_err err;
  char *data;
  size_t len;
  int rc;

  printf("{\"file\": ");
  put_str(path, strlen(path));
  rc = cfgfile_read(path, DUMP_MAX_FILE, true, &data, &len, &err);
  if (rc == 0)
    rc = awsconfig_parse(&c, data, len, path, &err);
  if (rc == 0) {
    printf(", \"profiles\": {");
    rc = put_profiles(c, f);
    printf("}}\n");
  } else {
    printf(", \"error\": ");
    put_str(err.msg, strlen(err.msg));
    printf("}\n");
  }
  awsconfig_destroy(c);
  cfgfile_free(data, len);
  return rc == -ENOMEM ? 1 : 0;
}

int main(int argc, char **argv)
{
  enum awsconfig_file f;
  int i;

  if (argc < 2 ||
      (strcmp(argv[1], "credentials") != 0 && strcmp(argv[1], "config") != 0)) {
    fprintf(stderr, "usage: awsconfig_dump credentials|config FILE...\n");
    return 2;
  }
  f = strcmp(argv[1], "config") == 0 ? AWSCONFIG_CONFIG : AWSCONFIG_CREDENTIALS;
  for (i = 2; i < argc; i++) {
    if (dump(argv[i], f) != 0)
      return 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
