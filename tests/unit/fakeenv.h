/* SPDX-License-Identifier: MIT */
/* A fake environment for the getenv hooks of creds.h and awsregion.h,
 * and a fresh HOME with ~/.aws files.  The hooks take no context
 * pointer, and each case runs in its own process (test.h), so a static
 * table is safe here. */
#ifndef CFW_TEST_FAKEENV_H
#define CFW_TEST_FAKEENV_H

#include <stdlib.h>
#include <string.h>

#include "test.h"

static const char *env_names[16];
static const char *env_values[16];

static inline void env_set(const char *name, const char *value)
{
  size_t i;

  for (i = 0; i < 16 && env_names[i] != NULL; i++) {
    if (strcmp(env_names[i], name) == 0)
      break;
  }
  if (i == 16)
    exit(2);
  env_names[i] = name;
  env_values[i] = value;
}

static inline const char *env_get(const char *name)
{
  size_t i;

  for (i = 0; i < 16 && env_names[i] != NULL; i++) {
    if (strcmp(env_names[i], name) == 0)
      return env_values[i];
  }
  return NULL;
}

/* A fresh HOME with the given ~/.aws files (NULL: no such file). */
static inline void setup_home(char *dir, size_t n, const char *credentials,
                              const char *config)
{
  test_tmpdir(dir, n);
  env_set("HOME", dir);
  if (credentials != NULL)
    test_write(dir, ".aws/credentials", credentials);
  if (config != NULL)
    test_write(dir, ".aws/config", config);
}

#endif
