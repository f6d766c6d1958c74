/* SPDX-License-Identifier: MIT */
#include "cfacache.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "cloudfront.h"
#include "util.h"

#define CFACACHE_FILE   "account-paths"
#define CFACACHE_LOCK   "account-paths.lock"
#define CFACACHE_HEADER "cfwatch-account 1"
#define CFACACHE_MAX    ((size_t)64 << 20)

void cfacache_init(struct cfacache *c)
{
  memset(c, 0, sizeof(*c));
}

void cfacache_free(struct cfacache *c)
{
  if (c == NULL)
    return;
  free(c->v);
  cfacache_init(c);
}

static int cfacache_cmp(const void *key, const void *elem)
{
  return strcmp(key, ((const struct cfacache_entry *)elem)->id);
}

const struct cfacache_entry *cfacache_find(const struct cfacache *c,
                                           const char *id)
{
  if (c->n == 0)
    return NULL;
  return bsearch(id, c->v, c->n, sizeof(*c->v), cfacache_cmp);
}

static bool cfacache_id_ok(const char *id)
{
  return cf_id_ok(id) && strlen(id) < sizeof(((struct cfacache_entry *)0)->id);
}

int cfacache_add(struct cfacache *c, const char *id, uint32_t paths,
                 int64_t created_s)
{
  struct cfacache_entry *v;
  size_t lo = 0;
  size_t hi = c->n;
  size_t mid;
  int cmp;

  if (!cfacache_id_ok(id))
    return -EINVAL;
  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    cmp = strcmp(id, c->v[mid].id);
    if (cmp == 0) {
      c->v[mid].paths = paths;
      c->v[mid].created_s = created_s;
      return 0;
    }
    if (cmp < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  if (c->n == CFACACHE_MAX_ENTRIES)
    return -ENOMEM;
  v = array_grow(c->v, c->n, &c->cap, sizeof(*c->v));
  if (v == NULL)
    return -ENOMEM;
  c->v = v;
  memmove(&c->v[lo + 1], &c->v[lo], (c->n - lo) * sizeof(*c->v));
  memset(&c->v[lo], 0, sizeof(*c->v));
  memcpy(c->v[lo].id, id, strlen(id) + 1);
  c->v[lo].paths = paths;
  c->v[lo].created_s = created_s;
  c->n++;
  return 0;
}

/* "ID PATHS CREATED" */
static int cfacache_parse_line(struct cfacache *c, char *line)
{
  char *f[3];
  uint64_t paths;
  uint64_t created;
  char *save = NULL;
  char *tok;
  size_t n = 0;
  int rc;

  for (tok = strtok_r(line, " ", &save); tok != NULL && n < 3;
       tok = strtok_r(NULL, " ", &save))
    f[n++] = tok;
  if (n != 3 || tok != NULL || parse_u64(f[1], 0, UINT32_MAX, &paths) < 0 ||
      parse_u64(f[2], 0, INT64_MAX, &created) < 0)
    return -EBADMSG;
  rc = cfacache_add(c, f[0], (uint32_t)paths, (int64_t)created);
  return rc == -EINVAL ? -EBADMSG : rc; /* -ENOMEM is not damage */
}

static int cfacache_parse(struct cfacache *c, char *text)
{
  char *save = NULL;
  char *line;
  int rc = 0;

  line = strtok_r(text, "\n", &save);
  if (line == NULL || strcmp(line, CFACACHE_HEADER) != 0)
    return -EBADMSG;
  while (rc == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL)
    rc = cfacache_parse_line(c, line);
  return rc;
}

int cfacache_load(struct cfacache *c, const char *state_dir,
                  struct cfw_err *err)
{
  struct buf path;
  struct buf text;
  int rc;

  cfacache_init(c);
  buf_init(&path, PATH_MAX);
  buf_init(&text, CFACACHE_MAX);
  rc = buf_addf(&path, "%s/" CFACACHE_FILE, state_dir);
  if (rc == 0)
    rc = atomicfile_read(buf_str(&path), &text);
  if (rc == 0 && text.len > 0)
    rc = cfacache_parse(c, text.data);
  if (rc == -ENOENT)
    rc = 0;
  if (rc < 0) {
    cfacache_free(c);
    cfw_err_set(err, rc, "%s: %s", buf_str(&path),
                rc == -EBADMSG ? "damaged; reading every count again"
                               : strerror(-rc));
  }
  buf_free(&path);
  buf_free(&text);
  return rc;
}

static int cfacache_format(const struct cfacache *c, int64_t since_s,
                           struct buf *out)
{
  size_t i;
  int rc;

  rc = buf_adds(out, CFACACHE_HEADER "\n");
  for (i = 0; rc == 0 && i < c->n; i++)
    if (c->v[i].created_s >= since_s)
      rc = buf_addf(out, "%s %" PRIu32 " %" PRId64 "\n", c->v[i].id,
                    c->v[i].paths, c->v[i].created_s);
  return rc;
}

int cfacache_save(const struct cfacache *c, const char *state_dir,
                  int64_t since_s, struct cfw_err *err)
{
  struct buf text;
  int fd;
  int rc;

  rc = atomicfile_mkdirs(state_dir, 0700, err);
  if (rc < 0)
    return rc;
  buf_init(&text, CFACACHE_MAX);
  rc = cfacache_format(c, since_s, &text);
  if (rc < 0) {
    buf_free(&text);
    return cfw_err_set(err, rc, "account cache: %s", strerror(-rc));
  }
  /* Two runs may both save; the lock keeps their temp files apart. */
  fd = atomicfile_lock(state_dir, CFACACHE_LOCK);
  if (fd < 0)
    rc = cfw_err_set(err, fd, "%s/" CFACACHE_LOCK ": %s", state_dir,
                     strerror(-fd));
  else
    rc = atomicfile_write(state_dir, CFACACHE_FILE, text.data, text.len, err);
  if (fd >= 0)
    (void)close(fd); /* drops the flock */
  buf_free(&text);
  return rc;
}
