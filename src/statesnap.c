/* SPDX-License-Identifier: MIT */
/* A state dir's snapshot, from its file (statesnap.h): statefile opens
 * it, statefmt decodes it as statefile reads it. */
#include "statesnap.h"

#include <string.h>
#include <unistd.h>

#include "statefile.h"

static int statesnap_read(void *arg, void *p, size_t n, size_t *got)
{
  return statefile_read_some(*(const int *)arg, p, n, got);
}

int statesnap_load(const char *dir, const char *file, struct snapshot *out,
                   size_t *len, struct cfw_err *err)
{
  struct statefmt_src src;
  int fd;
  int rc;

  memset(out, 0, sizeof(*out));
  *len = 0;
  fd = statefile_open_read(dir, STATEFMT_SNAPSHOT_FILE, STATEFMT_MAX_BYTES, len,
                           err);
  if (fd < 0)
    return fd;
  src.read = statesnap_read;
  src.arg = &fd;
  src.len = *len;
  rc = statefmt_read_snapshot(&src, file, out, err);
  (void)close(fd); /* read-only: close cannot lose data */
  return rc;
}
