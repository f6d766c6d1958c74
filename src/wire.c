/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "manifest.h"
#include "pathref.h"

void wire_out_init(struct wire_out *w, size_t max)
{
  memset(w, 0, sizeof(*w));
  buf_init(&w->b, max);
  w->max = max;
}

void wire_out_init_count(struct wire_out *w, uint64_t max)
{
  memset(w, 0, sizeof(*w));
  buf_init(&w->b, 0);
  w->max = max;
  w->counting = true;
}

void wire_out_init_sink(struct wire_out *w, size_t chunk,
                        int (*sink)(void *arg, const void *p, size_t n),
                        void *arg)
{
  memset(w, 0, sizeof(*w));
  /* One put may pass chunk: a path is a few KiB at most, so the buffer
   * stays under chunk plus the largest field. */
  buf_init(&w->b, SIZE_MAX);
  w->max = UINT64_MAX;
  w->sink = sink;
  w->sink_arg = arg;
  w->chunk = chunk;
}

int wire_out_flush(struct wire_out *w)
{
  if (w->rc != 0 || w->sink == NULL || w->b.len == 0)
    return w->rc;
  w->rc = w->sink(w->sink_arg, w->b.data, w->b.len);
  if (w->rc == 0) {
    w->done += w->b.len;
    buf_reset(&w->b);
  }
  return w->rc;
}

uint64_t wire_out_len(const struct wire_out *w)
{
  return w->done + w->b.len;
}

void wire_out_free(struct wire_out *w)
{
  if (w == NULL)
    return;
  buf_free(&w->b);
  w->rc = 0;
}

void wire_put_bytes(struct wire_out *w, const void *p, size_t n)
{
  if (w->rc != 0 || n == 0)
    return;
  if (w->counting) {
    if (n > w->max || w->done > w->max - n)
      w->rc = -E2BIG;
    else
      w->done += n;
    return;
  }
  w->rc = buf_add(&w->b, p, n);
  if (w->rc == 0 && w->sink != NULL && w->b.len >= w->chunk)
    (void)wire_out_flush(w);
}

static void wire_put_le(struct wire_out *w, uint64_t v, int n)
{
  unsigned char p[8];
  int i;

  for (i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  wire_put_bytes(w, p, (size_t)n);
}

void wire_put_u8(struct wire_out *w, uint8_t v)
{
  wire_put_le(w, v, 1);
}

void wire_put_u32(struct wire_out *w, uint32_t v)
{
  wire_put_le(w, v, 4);
}

void wire_put_u64(struct wire_out *w, uint64_t v)
{
  wire_put_le(w, v, 8);
}

void wire_put_str(struct wire_out *w, const char *s, size_t max)
{
  size_t n = strlen(s);

  if (n > max && w->rc == 0)
    w->rc = -EFBIG;
  wire_put_u32(w, (uint32_t)n);
  wire_put_bytes(w, s, n);
}

void wire_put_entry(struct wire_out *w, const struct tree_entry *e)
{
  wire_put_str(w, e->path, MANIFEST_PATH_MAX);
  wire_put_u64(w, e->size);
  wire_put_u64(w, (uint64_t)e->mtime_ns);
  wire_put_u64(w, (uint64_t)e->ctime_ns);
  wire_put_u64(w, e->ino);
  wire_put_u64(w, e->dev);
  wire_put_u32(w, e->flags);
  wire_put_bytes(w, e->hash, WIRE_HASH_LEN);
}

void wire_patch_u32(struct wire_out *w, size_t off, uint32_t v)
{
  int i;

  if (w->rc != 0 || off + 4 > w->b.len)
    return;
  for (i = 0; i < 4; i++)
    w->b.data[off + (size_t)i] = (char)(unsigned char)(v >> (8 * i));
}

void wire_in_init(struct wire_in *r, const void *p, size_t len)
{
  memset(r, 0, sizeof(*r));
  r->p = p;
  r->len = len;
  r->end = len;
}

void wire_in_init_stream(struct wire_in *r, unsigned char *buf, size_t cap,
                         size_t pos, size_t end,
                         int (*read)(void *arg, void *p, size_t n, size_t *got),
                         void *arg)
{
  memset(r, 0, sizeof(*r));
  r->p = buf;
  r->base = pos;
  r->end = end;
  r->buf = buf;
  r->cap = cap;
  r->read = read;
  r->arg = arg;
}

size_t wire_left(const struct wire_in *r)
{
  return r->end - (r->base + r->off);
}

size_t wire_pos(const struct wire_in *r)
{
  return r->base + r->off;
}

/* Moves what is left of the window to its start and reads until it
 * holds n bytes: false if it cannot (the input is shorter, n is more
 * than the window, or a read fails: r->rc says which). */
static bool wire_fill(struct wire_in *r, size_t n)
{
  size_t have = r->len - r->off;
  size_t want;
  size_t got;
  int rc;

  if (r->read == NULL || r->rc != 0 || n > wire_left(r))
    return false;
  if (n > r->cap) {
    r->rc = -ENOBUFS;
    return false;
  }
  memmove(r->buf, r->p + r->off, have);
  r->p = r->buf;
  r->base += r->off;
  r->off = 0;
  r->len = have;
  while (r->len < n) {
    want = r->cap - r->len;
    if (want > r->end - (r->base + r->len))
      want = r->end - (r->base + r->len);
    got = 0;
    rc = r->read(r->arg, r->buf + r->len, want, &got);
    if (rc == 0 && (got == 0 || got > want))
      rc = -ENODATA; /* the input ended before its stated length */
    if (rc < 0) {
      r->rc = rc;
      return false;
    }
    r->len += got;
  }
  return true;
}

bool wire_get_bytes(struct wire_in *r, size_t n, const unsigned char **out)
{
  if (n > r->len - r->off && !wire_fill(r, n))
    return false;
  *out = r->p + r->off;
  r->off += n;
  return true;
}

static bool wire_get_le(struct wire_in *r, int n, uint64_t *v)
{
  const unsigned char *p;
  int i;

  if (!wire_get_bytes(r, (size_t)n, &p))
    return false;
  *v = 0;
  for (i = n - 1; i >= 0; i--)
    *v = (*v << 8) | p[i];
  return true;
}

bool wire_get_u8(struct wire_in *r, uint8_t *v)
{
  uint64_t u;

  if (!wire_get_le(r, 1, &u))
    return false;
  *v = (uint8_t)u;
  return true;
}

bool wire_get_u32(struct wire_in *r, uint32_t *v)
{
  uint64_t u;

  if (!wire_get_le(r, 4, &u))
    return false;
  *v = (uint32_t)u;
  return true;
}

bool wire_get_u64(struct wire_in *r, uint64_t *v)
{
  return wire_get_le(r, 8, v);
}

bool wire_get_i64(struct wire_in *r, int64_t *v)
{
  uint64_t u;

  if (!wire_get_le(r, 8, &u))
    return false;
  *v = (int64_t)u;
  return true;
}

/* The bytes of a string of at most max bytes, borrowed. */
static int wire_get_span(struct wire_in *r, size_t max, const unsigned char **p,
                         uint32_t *len)
{
  if (!wire_get_u32(r, len) || *len > max || !wire_get_bytes(r, *len, p))
    return -EBADMSG;
  if (memchr(*p, '\0', *len) != NULL)
    return -EBADMSG;
  return 0;
}

int wire_get_str(struct wire_in *r, size_t max, char **out)
{
  const unsigned char *p;
  uint32_t len;
  int rc;

  *out = NULL;
  rc = wire_get_span(r, max, &p, &len);
  if (rc < 0)
    return rc;
  *out = malloc((size_t)len + 1);
  if (*out == NULL)
    return -ENOMEM;
  memcpy(*out, p, len);
  (*out)[len] = '\0';
  return 0;
}

int wire_get_strbuf(struct wire_in *r, char *out, size_t n)
{
  const unsigned char *p;
  uint32_t len;
  int rc;

  rc = wire_get_span(r, n - 1, &p, &len);
  if (rc < 0)
    return rc;
  memcpy(out, p, len);
  out[len] = '\0';
  return 0;
}

int wire_get_entry(struct wire_in *r, struct tree_entry *e)
{
  const unsigned char *h;
  const unsigned char *p;
  uint32_t len;
  int rc;

  memset(e, 0, sizeof(*e));
  rc = wire_get_span(r, MANIFEST_PATH_MAX, &p, &len);
  if (rc < 0)
    return rc;
  e->path = pathref_new((const char *)p, len);
  if (e->path == NULL)
    return -ENOMEM;
  if (!wire_get_u64(r, &e->size) || !wire_get_i64(r, &e->mtime_ns) ||
      !wire_get_i64(r, &e->ctime_ns) || !wire_get_u64(r, &e->ino) ||
      !wire_get_u64(r, &e->dev) || !wire_get_u32(r, &e->flags) ||
      !wire_get_bytes(r, WIRE_HASH_LEN, &h)) {
    tree_entry_free(e);
    return -EBADMSG;
  }
  memcpy(e->hash, h, WIRE_HASH_LEN);
  return 0;
}

int wire_sha256(const void *p, size_t n, unsigned char out[WIRE_HASH_LEN])
{
  return EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}

int wire_sha_init(struct wire_sha *h)
{
  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL)
    return -ENOMEM;
  if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    wire_sha_free(h);
    return -ENOMEM;
  }
  return 0;
}

int wire_sha_update(struct wire_sha *h, const void *p, size_t n)
{
  if (h->ctx == NULL)
    return -ENOMEM;
  return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : -ENOMEM;
}

int wire_sha_final(struct wire_sha *h, unsigned char out[WIRE_HASH_LEN])
{
  unsigned int n = 0;

  if (h->ctx == NULL)
    return -ENOMEM;
  if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != WIRE_HASH_LEN)
    return -ENOMEM;
  return 0;
}

void wire_sha_free(struct wire_sha *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free(h->ctx);
  h->ctx = NULL;
}
