/* SPDX-License-Identifier: MIT */
#include "cfpath.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "cflimits.h"
#include "urlmap.h"

static bool cfpath_escape_at(const char *p)
{
  return p[0] == '%' && isxdigit((unsigned char)p[1]) &&
         isxdigit((unsigned char)p[2]);
}

int cfpath_check(const char *path, struct cfw_err *err)
{
  size_t len = strlen(path);
  struct buf enc;
  size_t i;
  int rc;

  if (path[0] != '/')
    return cfw_err_set(err, -EINVAL, "%s: a path starts with '/'", path);
  if (len > CF_MAX_PATH_LEN)
    return cfw_err_set(err, -EINVAL, "%.40s...: longer than %d characters",
                       path, CF_MAX_PATH_LEN);
  if (strcspn(path, "*") < len - 1)
    return cfw_err_set(err, -EINVAL, "%s: '*' may only come last", path);
  if (strchr(path, '~') != NULL)
    return cfw_err_set(err, -EINVAL,
                       "%s: CloudFront refuses '~' (and %%7E does not "
                       "invalidate): use a wildcard before it",
                       path);
  buf_init(&enc, 16);
  for (i = 0, rc = 0; rc == 0 && i < len; i++) {
    if (cfpath_escape_at(path + i)) {
      i += 2;
      continue;
    }
    buf_reset(&enc);
    rc = urlmap_encode(path + i, 1, &enc);
    if (rc == 0 && (enc.len != 1 || path[i] == '%'))
      rc = cfw_err_set(err, -EINVAL, "%s: byte %zu must be written %s", path, i,
                       buf_str(&enc));
  }
  buf_free(&enc);
  return rc;
}
