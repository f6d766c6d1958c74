/* SPDX-License-Identifier: MIT */
#include "cfpath.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cflimits.h"
#include "urlmap.h"

static bool cfpath_escape_at(const char *p)
{
  return p[0] == '%' && isxdigit((unsigned char)p[1]) &&
         isxdigit((unsigned char)p[2]);
}

bool cfpath_is_tag(const char *item)
{
  return item[0] == '#';
}

bool cfpath_same_tag(const char *a, const char *b)
{
  return cfpath_is_tag(a) && cfpath_is_tag(b) && strcasecmp(a, b) == 0;
}

/* "Each tag value must contain only ASCII visible characters (33-126),
 * excluding commas", at most CF_MAX_TAG_LEN of them, and "tag
 * invalidation items do not support the * wildcard" (Developer Guide,
 * invalidation-specifying-tags.html).  A comma would split the tag as
 * the origin's header does. */
static int cfpath_check_tag(const char *item, struct cfw_err *err)
{
  const char *tag = item + 1;
  size_t len = strlen(tag);
  size_t i;

  if (len == 0)
    return cfw_err_set(err, -EINVAL, "#: a cache tag is '#' and a name");
  if (len > CF_MAX_TAG_LEN)
    return cfw_err_set(err, -EINVAL,
                       "%.40s...: a cache tag is at most %d characters", item,
                       CF_MAX_TAG_LEN);
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)tag[i];

    if (c < 33 || c > 126)
      return cfw_err_set(err, -EINVAL,
                         "%s: a cache tag holds only ASCII 33 to 126, not "
                         "byte 0x%02X",
                         item, c);
    if (c == ',')
      return cfw_err_set(err, -EINVAL,
                         "%s: a cache tag holds no ',' (it would split the "
                         "tag in the origin's header)",
                         item);
    if (c == '*')
      return cfw_err_set(err, -EINVAL, "%s: a cache tag takes no wildcard '*'",
                         item);
  }
  return 0;
}

int cfpath_check(const char *path, struct cfw_err *err)
{
  size_t len = strlen(path);
  struct buf enc;
  size_t i;
  int rc;

  if (cfpath_is_tag(path))
    return cfpath_check_tag(path, err);
  if (path[0] != '/')
    return cfw_err_set(err, -EINVAL,
                       "%s: a path starts with '/' (a cache tag with '#')",
                       path);
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
