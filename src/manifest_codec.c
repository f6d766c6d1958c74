/* SPDX-License-Identifier: MIT */
#include "manifest_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "manifest.h"

#define MANIFEST_MAGIC     "CFWMANI\n"
#define MANIFEST_MAGIC_LEN 8
#define MANIFEST_HASH_LEN  32
/* magic, version, flags, length, written_at, count, root length */
#define MANIFEST_HEADER_LEN (MANIFEST_MAGIC_LEN + 4 + 4 + 8 + 8 + 8 + 4)
/* path length, size, mtime, ctime, ino, dev, flags, hash */
#define MANIFEST_ENTRY_FIXED (4 + 8 * 5 + 4 + MANIFEST_HASH_LEN)
#define MANIFEST_MIN_LEN     (MANIFEST_HEADER_LEN + MANIFEST_HASH_LEN)

#define MANIFEST_HINT                                                          \
  " Nothing was sent. To start over, remove it: the next run records a "       \
  "new baseline (then invalidate \"/*\" once if the cache may be stale)."

/* A bounds-checked cursor over the loaded bytes. */
struct rd {
  const unsigned char *p; /* borrowed */
  size_t len;
  size_t off;
};

static int sha256(const void *data, size_t len, unsigned char *out)
{
  return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0
                                                                   : -ENOMEM;
}

/* Encoding.  Integers are written byte by byte: the format is
 * little-endian whatever the host is. */

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
  int i;

  for (i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
  int i;

  for (i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return p + 8;
}

static unsigned char *put_bytes(unsigned char *p, const void *s, size_t n)
{
  memcpy(p, s, n);
  return p + n;
}

static unsigned char *put_entry(unsigned char *p, const struct tree_entry *e)
{
  size_t len = strlen(e->path);

  p = put_u32(p, (uint32_t)len);
  p = put_bytes(p, e->path, len);
  p = put_u64(p, e->size);
  p = put_u64(p, (uint64_t)e->mtime_ns);
  p = put_u64(p, (uint64_t)e->ctime_ns);
  p = put_u64(p, e->ino);
  p = put_u64(p, e->dev);
  p = put_u32(p, e->flags);
  return put_bytes(p, e->hash, MANIFEST_HASH_LEN);
}

/* The encoded size, or 0 if it would not fit the format. */
static size_t encoded_len(const struct manifest_codec_content *m)
{
  size_t total = MANIFEST_MIN_LEN + strlen(m->root);
  size_t i;

  if (strlen(m->root) > MANIFEST_PATH_MAX)
    return 0;
  for (i = 0; i < m->n; i++) {
    /* Paths are at most MANIFEST_PATH_MAX (checked on put and load). */
    total += MANIFEST_ENTRY_FIXED + strlen(m->v[i].path);
    if (total > MANIFEST_MAX_BYTES)
      return 0;
  }
  return total;
}

int manifest_codec_encode(const struct manifest_codec_content *m,
                          unsigned char **out, size_t *len_out)
{
  size_t len = encoded_len(m);
  unsigned char *buf;
  unsigned char *p;
  size_t i;

  if (len == 0)
    return -EFBIG;
  buf = malloc(len);
  if (buf == NULL)
    return -ENOMEM;
  p = put_bytes(buf, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN);
  p = put_u32(p, MANIFEST_VERSION);
  p = put_u32(p, 0);
  p = put_u64(p, len);
  p = put_u64(p, (uint64_t)m->written_at_ns);
  p = put_u64(p, m->n);
  p = put_u32(p, (uint32_t)strlen(m->root));
  p = put_bytes(p, m->root, strlen(m->root));
  for (i = 0; i < m->n; i++)
    p = put_entry(p, &m->v[i]);
  if (sha256(buf, len - MANIFEST_HASH_LEN, p) < 0) {
    free(buf);
    return -ENOMEM;
  }
  *out = buf;
  *len_out = len;
  return 0;
}

/* Decoding. */

static bool rd_bytes(struct rd *r, size_t n, const unsigned char **out)
{
  if (n > r->len - r->off)
    return false;
  *out = r->p + r->off;
  r->off += n;
  return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
  const unsigned char *p;
  int i;

  if (!rd_bytes(r, 4, &p))
    return false;
  *v = 0;
  for (i = 3; i >= 0; i--)
    *v = (*v << 8) | p[i];
  return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
  const unsigned char *p;
  int i;

  if (!rd_bytes(r, 8, &p))
    return false;
  *v = 0;
  for (i = 7; i >= 0; i--)
    *v = (*v << 8) | p[i];
  return true;
}

static bool rd_i64(struct rd *r, int64_t *v)
{
  uint64_t u;

  if (!rd_u64(r, &u))
    return false;
  *v = (int64_t)u;
  return true;
}

static int corrupt(struct cfw_err *err, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corrupt(struct cfw_err *err, const char *file, const char *fmt, ...)
{
  char why[200];
  va_list ap;

  va_start(ap, fmt);
  /* A cut-short reason is still a reason. */
  (void)vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  /* cfw_err_set returns its code; spelling the code out shows the
   * analyzer that this never returns 0. */
  (void)cfw_err_set(err, -EBADMSG, "manifest %s is corrupt (%s)." MANIFEST_HINT,
                    file, why);
  return -EBADMSG;
}

/* Reads a length-prefixed string of at most max bytes into *out, a fresh
 * NUL-terminated copy. */
static int rd_string(struct rd *r, size_t max, char **out)
{
  const unsigned char *p;
  uint32_t len;

  if (!rd_u32(r, &len) || len > max || !rd_bytes(r, len, &p))
    return -EBADMSG;
  if (memchr(p, '\0', len) != NULL)
    return -EBADMSG;
  *out = malloc((size_t)len + 1);
  if (*out == NULL)
    return -ENOMEM;
  memcpy(*out, p, len);
  (*out)[len] = '\0';
  return 0;
}

static int rd_entry(struct rd *r, struct tree_entry *e)
{
  const unsigned char *h;
  int rc;

  rc = rd_string(r, MANIFEST_PATH_MAX, &e->path);
  if (rc < 0)
    return rc;
  if (!rd_u64(r, &e->size) || !rd_i64(r, &e->mtime_ns) ||
      !rd_i64(r, &e->ctime_ns) || !rd_u64(r, &e->ino) || !rd_u64(r, &e->dev) ||
      !rd_u32(r, &e->flags) || !rd_bytes(r, MANIFEST_HASH_LEN, &h)) {
    tree_entry_free(e);
    return -EBADMSG;
  }
  memcpy(e->hash, h, MANIFEST_HASH_LEN);
  return 0;
}

/* Checks what can be checked before the checksum can be trusted to mean
 * anything: magic, version, flags and the recorded length. */
static int check_frame(const unsigned char *data, size_t len, const char *file,
                       struct cfw_err *err)
{
  struct rd r = {data, len, MANIFEST_MAGIC_LEN};
  uint32_t version;
  uint32_t flags;
  uint64_t stated;

  if (len < MANIFEST_MAGIC_LEN ||
      memcmp(data, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN) != 0)
    return corrupt(err, file, "not a cfwatch manifest: bad magic");
  if (!rd_u32(&r, &version))
    return corrupt(err, file, "truncated to %zu bytes", len);
  if (version != MANIFEST_VERSION) {
    /* Spelled out as in corrupt(). */
    (void)cfw_err_set(err, -EPROTO,
                      "manifest %s has format version %" PRIu32
                      ", but this cfwatch reads version %d (written by a "
                      "newer cfwatch, or damaged)." MANIFEST_HINT,
                      file, version, MANIFEST_VERSION);
    return -EPROTO;
  }
  if (!rd_u32(&r, &flags) || !rd_u64(&r, &stated))
    return corrupt(err, file, "truncated to %zu bytes", len);
  if (stated != len || len < MANIFEST_MIN_LEN)
    return corrupt(err, file,
                   "%zu bytes, but its header says %" PRIu64
                   ": truncated or damaged",
                   len, stated);
  if (flags != 0)
    return corrupt(err, file, "unknown flags %#" PRIx32, flags);
  return 0;
}

static int check_sum(const unsigned char *data, size_t len, const char *file,
                     struct cfw_err *err)
{
  unsigned char sum[MANIFEST_HASH_LEN];

  if (sha256(data, len - MANIFEST_HASH_LEN, sum) < 0) {
    (void)cfw_err_set(err, -ENOMEM, "manifest %s: out of memory", file);
    return -ENOMEM; /* spelled out as in corrupt() */
  }
  if (memcmp(sum, data + len - MANIFEST_HASH_LEN, MANIFEST_HASH_LEN) != 0)
    return corrupt(err, file, "checksum mismatch");
  return 0;
}

/* Checks one decoded entry against the format's rules. */
static const char *entry_problem(const struct tree_entry *e,
                                 const struct tree_entry *prev)
{
  if (!manifest_path_ok(e->path, strlen(e->path)))
    return "invalid path";
  if ((e->flags & ~TREE_FLAGS_KNOWN) != 0 || !(e->flags & TREE_HASHED))
    return "invalid flags";
  if (prev != NULL && strcmp(prev->path, e->path) >= 0)
    return "paths out of order";
  return NULL;
}

static int parse_entries(struct manifest_codec_content *m, struct rd *r,
                         uint64_t count, const char *file, struct cfw_err *err)
{
  const char *why;
  struct tree_entry *e;
  size_t at;
  int rc;

  if (count > (r->len - r->off) / MANIFEST_ENTRY_FIXED)
    return corrupt(err, file, "entry count %" PRIu64 " exceeds the file",
                   count);
  /* One allocation for all; the + 1 keeps an empty manifest from
   * malloc(0), which may return NULL. */
  if (count < SIZE_MAX / sizeof(*m->v))
    m->v = malloc((size_t)count * sizeof(*m->v) + 1);
  if (m->v == NULL)
    return cfw_err_set(err, -ENOMEM, "manifest %s: out of memory", file);
  while (m->n < count) {
    at = r->off;
    e = &m->v[m->n];
    rc = rd_entry(r, e);
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "manifest %s: out of memory", file);
    if (rc < 0)
      return corrupt(err, file, "entry %zu at byte %zu is cut short", m->n, at);
    why = entry_problem(e, m->n > 0 ? &m->v[m->n - 1] : NULL);
    if (why != NULL) {
      tree_entry_free(e);
      return corrupt(err, file, "entry %zu at byte %zu: %s", m->n, at, why);
    }
    m->n++;
  }
  if (r->off != r->len)
    return corrupt(err, file, "%zu stray bytes after the entries",
                   r->len - r->off);
  return 0;
}

/* Parses a file whose frame and checksum were verified. */
static int parse_body(struct manifest_codec_content *m,
                      const unsigned char *data, size_t len, const char *file,
                      struct cfw_err *err)
{
  /* The entries end where the trailer starts; version, flags and length
   * were read by check_frame. */
  struct rd r = {data, len - MANIFEST_HASH_LEN, MANIFEST_MAGIC_LEN + 16};
  uint64_t count;
  char *root;
  int rc;

  if (!rd_i64(&r, &m->written_at_ns) || !rd_u64(&r, &count))
    return corrupt(err, file, "header cut short");
  rc = rd_string(&r, MANIFEST_PATH_MAX, &root);
  if (rc == -ENOMEM)
    return cfw_err_set(err, rc, "manifest %s: out of memory", file);
  if (rc < 0)
    return corrupt(err, file, "invalid root path");
  free(m->root);
  m->root = root;
  return parse_entries(m, &r, count, file, err);
}

/* Frees what a failed decode has filled in, and clears it. */
static void content_free(struct manifest_codec_content *m)
{
  size_t i;

  for (i = 0; i < m->n; i++)
    tree_entry_free(&m->v[i]);
  free(m->v);
  free(m->root);
  memset(m, 0, sizeof(*m));
}

int manifest_codec_decode(const unsigned char *data, size_t len,
                          const char *file, struct manifest_codec_content *out,
                          struct cfw_err *err)
{
  int rc;

  memset(out, 0, sizeof(*out));
  rc = check_frame(data, len, file, err);
  if (rc == 0)
    rc = check_sum(data, len, file, err);
  if (rc == 0)
    rc = parse_body(out, data, len, file, err);
  if (rc < 0)
    content_free(out);
  return rc;
}
