/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_ASLIMIT_H
#define CFW_TEST_ASLIMIT_H

/* Out-of-memory tests: cap the address space (RLIMIT_AS) a little above
 * what the process uses, run the code under test, lift the cap.  Under
 * a sanitizer the cap would fail the sanitizer's own reservations, not
 * the code, so AS_LIMIT_USABLE is 0 there and these helpers are absent:
 * such a test then rests on the code's order alone, and says so. */

#include "test.h"

#ifdef CFW_TEST_SANITIZER
#define AS_LIMIT_USABLE 0
#else
#define AS_LIMIT_USABLE 1

#include <sys/resource.h>

/* The address space in use now, in bytes (VmSize). */
static size_t as_in_use(void)
{
  char line[256];
  unsigned long kb = 0;
  FILE *fp = fopen("/proc/self/status", "r");

  REQUIRE(fp != NULL);
  while (fgets(line, sizeof(line), fp) != NULL)
    if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
      break;
  (void)fclose(fp);
  REQUIRE(kb > 0);
  return (size_t)kb * 1024;
}

/* Caps the address space at what is in use plus headroom; *old is the
 * limit to give back to as_restore. */
static void as_cap(size_t headroom, struct rlimit *old)
{
  struct rlimit lim;

  REQUIRE(getrlimit(RLIMIT_AS, old) == 0);
  lim = *old;
  lim.rlim_cur = (rlim_t)(as_in_use() + headroom);
  REQUIRE(setrlimit(RLIMIT_AS, &lim) == 0);
}

static void as_restore(const struct rlimit *old)
{
  REQUIRE(setrlimit(RLIMIT_AS, old) == 0);
}
#endif

#endif
