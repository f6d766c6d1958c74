/* SPDX-License-Identifier: MIT */
/* Encoding the state files (statefmt.h): snapshots and journal records,
 * into a buffer whole or streamed in bounded pieces with their length
 * known up front.  Decoding is statefmt.c's. */
#include "statefmt.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define MAGIC_LEN 8

/* Changes and intents, shared by snapshots and records. */

static void put_change(struct wire_out *w, const struct change *c)
{
  wire_put_u8(w, (uint8_t)change_kind(c));
  wire_put_entry(w, &c->entry);
}

static void put_stale(struct wire_out *w, const uint32_t *v, size_t n)
{
  size_t i;

  wire_put_u32(w, (uint32_t)n);
  for (i = 0; i < n; i++)
    wire_put_u32(w, v[i]);
}

static void put_intent_body(struct wire_out *w, const struct intent *in)
{
  size_t i;

  wire_put_str(w, in->ref, STATE_REF_LEN - 1);
  wire_put_str(w, in->distribution ? in->distribution : "",
               STATEFMT_ID_MAX - 1);
  wire_put_u64(w, (uint64_t)in->created_ns);
  wire_put_u32(w, (uint32_t)in->paths.n);
  for (i = 0; i < in->paths.n; i++)
    wire_put_str(w, in->paths.v[i], STATEFMT_URL_MAX);
  wire_put_u32(w, (uint32_t)in->n_changes);
  for (i = 0; i < in->n_changes; i++)
    put_change(w, &in->changes[i]);
}

/* The snapshot. */

/* Everything in a snapshot but its sum, stating the file's length. */
static void put_snapshot_body(struct wire_out *w, const struct snapshot *hdr,
                              const struct manifest *m, const struct intent *v,
                              size_t n, uint64_t length)
{
  size_t count = manifest_count(m);
  size_t i;

  wire_put_bytes(w, STATEFMT_SNAPSHOT_MAGIC, MAGIC_LEN);
  wire_put_u32(w, STATEFMT_SNAPSHOT_VERSION);
  wire_put_u32(w, 0);
  wire_put_u64(w, length);
  wire_put_u64(w, (uint64_t)hdr->written_at_ns);
  wire_put_bytes(w, hdr->id, STATE_ID_LEN);
  wire_put_u64(w, hdr->next_seq);
  wire_put_str(w, hdr->root, MANIFEST_PATH_MAX);
  wire_put_str(w, hdr->distribution ? hdr->distribution : "",
               STATEFMT_ID_MAX - 1);
  wire_put_str(w, hdr->tag_header ? hdr->tag_header : "", STATEFMT_HEADER_MAX);
  wire_put_str(w, hdr->urlmap ? hdr->urlmap : "", STATEFMT_URLMAP_MAX);
  wire_put_u64(w, count);
  for (i = 0; i < count; i++)
    wire_put_entry(w, manifest_at(m, i));
  wire_put_u32(w, (uint32_t)n);
  for (i = 0; i < n; i++) {
    wire_put_u64(w, v[i].seq);
    put_intent_body(w, &v[i]);
    wire_put_u8(w, v[i].uploaded ? 1 : 0);
    put_stale(w, v[i].stale, v[i].n_stale);
  }
}

int statefmt_put_snapshot(struct wire_out *w, const struct snapshot *hdr,
                          const struct manifest *m, const struct intent *v,
                          size_t n)
{
  unsigned char sum[WIRE_HASH_LEN];

  put_snapshot_body(w, hdr, m, v, n, 0); /* the length is patched below */
  if (w->rc == 0 && w->b.len + WIRE_HASH_LEN > STATEFMT_MAX_BYTES)
    w->rc = -EFBIG;
  if (w->rc != 0)
    return w->rc;
  /* The length, split into two u32 patches (little-endian u64). */
  wire_patch_u32(w, MAGIC_LEN + 8, (uint32_t)(w->b.len + WIRE_HASH_LEN));
  wire_patch_u32(w, MAGIC_LEN + 12,
                 (uint32_t)((uint64_t)(w->b.len + WIRE_HASH_LEN) >> 32));
  if (wire_sha256(w->b.data, w->b.len, sum) < 0)
    return -ENOMEM;
  wire_put_bytes(w, sum, sizeof(sum));
  return w->rc;
}

/* The journal. */

void statefmt_put_journal_header(struct wire_out *w,
                                 const unsigned char id[STATE_ID_LEN])
{
  wire_put_bytes(w, STATEFMT_JOURNAL_MAGIC, MAGIC_LEN);
  wire_put_u32(w, STATEFMT_JOURNAL_VERSION);
  wire_put_bytes(w, id, STATE_ID_LEN);
}

/* A record is framed as its body's length, the body, and the SHA-256 of
 * both; start() writes the head of the body, end() the length and sum. */
static size_t record_start(struct wire_out *w, uint64_t seq,
                           enum record_type type)
{
  size_t at = w->b.len;

  wire_put_u32(w, 0);
  wire_put_u64(w, seq);
  wire_put_u8(w, (uint8_t)type);
  return at;
}

static void record_end(struct wire_out *w, size_t at)
{
  unsigned char sum[WIRE_HASH_LEN];

  if (w->rc != 0)
    return;
  wire_patch_u32(w, at, (uint32_t)(w->b.len - at - 4));
  if (wire_sha256(w->b.data + at, w->b.len - at, sum) < 0)
    w->rc = -ENOMEM;
  wire_put_bytes(w, sum, sizeof(sum));
}

void statefmt_put_intent(struct wire_out *w, const struct intent *in)
{
  size_t at = record_start(w, in->seq, RECORD_INTENT);

  put_intent_body(w, in);
  record_end(w, at);
}

void statefmt_put_commit(struct wire_out *w, uint64_t seq, const char *ref,
                         const char *inv_id, int64_t at_ns,
                         const uint32_t *stale, size_t n_stale)
{
  size_t at = record_start(w, seq, RECORD_COMMIT);

  wire_put_str(w, ref, STATE_REF_LEN - 1);
  wire_put_str(w, inv_id, STATEFMT_ID_MAX - 1);
  wire_put_u64(w, (uint64_t)at_ns);
  put_stale(w, stale, n_stale);
  record_end(w, at);
}

void statefmt_put_uploaded(struct wire_out *w, uint64_t seq, const char *ref,
                           const uint32_t *stale, size_t n_stale)
{
  size_t at = record_start(w, seq, RECORD_UPLOADED);

  wire_put_str(w, ref, STATE_REF_LEN - 1);
  put_stale(w, stale, n_stale);
  record_end(w, at);
}

void statefmt_put_accepted(struct wire_out *w, uint64_t seq, const char *ref,
                           const char *dist, const char *inv_id)
{
  size_t at = record_start(w, seq, RECORD_ACCEPTED);

  wire_put_str(w, ref, STATE_REF_LEN - 1);
  wire_put_str(w, dist, STATEFMT_ID_MAX - 1);
  wire_put_str(w, inv_id, STATEFMT_ID_MAX - 1);
  record_end(w, at);
}

void statefmt_put_entries(struct wire_out *w, uint64_t seq,
                          const struct change *v, size_t n)
{
  size_t at = record_start(w, seq, RECORD_ENTRIES);
  size_t i;

  wire_put_u32(w, (uint32_t)n);
  for (i = 0; i < n; i++)
    put_change(w, &v[i]);
  record_end(w, at);
}

/* Streaming: what a put function writes, then the SHA-256 of it, with
 * a length it states inside known up front (from a counting pass over
 * the same function), so nothing needs patching once handed on. */

struct summed {
  /* Writes everything the sum covers, stating len. */
  void (*put)(struct wire_out *w, const void *ctx, uint64_t len);
  const void *ctx;
  struct wire_sha sha;
  int (*sink)(void *arg, const void *p, size_t n);
  void *arg;
};

/* The bytes put writes (stating 0: a length is fixed-size). */
static int summed_count(const struct summed *st, uint64_t *out)
{
  struct wire_out w;
  int rc;

  wire_out_init_count(&w, STATEFMT_MAX_BYTES);
  st->put(&w, st->ctx, 0);
  rc = w.rc;
  *out = wire_out_len(&w);
  wire_out_free(&w);
  /* The cap put_* has: the whole with its sum in one buffer. */
  if (rc == 0 && *out > STATEFMT_MAX_BYTES - WIRE_HASH_LEN)
    rc = -E2BIG;
  return rc;
}

static int summed_put(void *arg, const void *p, size_t n)
{
  struct summed *st = arg;
  int rc = wire_sha_update(&st->sha, p, n);

  return rc == 0 ? st->sink(st->arg, p, n) : rc;
}

/* Streams put's count bytes stating len, then their sum. */
static int summed_stream(struct summed *st, uint64_t count, uint64_t len,
                         size_t chunk)
{
  unsigned char sum[WIRE_HASH_LEN];
  struct wire_out w;
  int rc;

  rc = wire_sha_init(&st->sha);
  if (rc < 0)
    return rc;
  wire_out_init_sink(&w, chunk, summed_put, st);
  st->put(&w, st->ctx, len);
  rc = wire_out_flush(&w);
  /* Both passes run the same encoder over the same data; a difference
   * would leave a file its loader refuses. */
  if (rc == 0 && wire_out_len(&w) != count)
    rc = -EIO;
  if (rc == 0)
    rc = wire_sha_final(&st->sha, sum);
  if (rc == 0)
    rc = st->sink(st->arg, sum, sizeof(sum));
  wire_out_free(&w);
  wire_sha_free(&st->sha);
  return rc;
}

/* A framed INTENT record but its sum: the body's length, the body. */
static void put_intent_framed(struct wire_out *w, const void *ctx, uint64_t len)
{
  const struct intent *in = ctx;

  wire_put_u32(w, (uint32_t)len);
  wire_put_u64(w, in->seq);
  wire_put_u8(w, (uint8_t)RECORD_INTENT);
  put_intent_body(w, in);
}

int statefmt_intent_size(const struct intent *in, uint64_t *out)
{
  struct summed st = {put_intent_framed, in, {NULL}, NULL, NULL};
  uint64_t count = 0;
  int rc = summed_count(&st, &count);

  *out = rc == 0 ? count + WIRE_HASH_LEN : 0;
  return rc;
}

int statefmt_stream_intent(const struct intent *in, size_t chunk,
                           int (*sink)(void *arg, const void *p, size_t n),
                           void *arg)
{
  struct summed st = {put_intent_framed, in, {NULL}, sink, arg};
  uint64_t count = 0;
  int rc = summed_count(&st, &count);

  return rc == 0 ? summed_stream(&st, count, count - 4, chunk) : rc;
}

struct snapshot_parts {
  const struct snapshot *hdr;
  const struct manifest *m;
  const struct intent *v;
  size_t n;
};

static void put_snapshot_parts(struct wire_out *w, const void *ctx,
                               uint64_t len)
{
  const struct snapshot_parts *p = ctx;

  put_snapshot_body(w, p->hdr, p->m, p->v, p->n, len);
}

int statefmt_snapshot_size(const struct snapshot *hdr, const struct manifest *m,
                           const struct intent *v, size_t n, uint64_t *len)
{
  struct snapshot_parts parts = {hdr, m, v, n};
  struct summed st = {put_snapshot_parts, &parts, {NULL}, NULL, NULL};
  uint64_t count = 0;
  int rc = summed_count(&st, &count);

  *len = rc == 0 ? count + WIRE_HASH_LEN : 0;
  return rc;
}

int statefmt_stream_snapshot(const struct snapshot *hdr,
                             const struct manifest *m, const struct intent *v,
                             size_t n, size_t chunk,
                             int (*sink)(void *arg, const void *p, size_t n),
                             void *arg, uint64_t *len)
{
  struct snapshot_parts parts = {hdr, m, v, n};
  struct summed st = {put_snapshot_parts, &parts, {NULL}, sink, arg};
  uint64_t count = 0;
  int rc = summed_count(&st, &count);

  *len = rc == 0 ? count + WIRE_HASH_LEN : 0;
  return rc == 0 ? summed_stream(&st, count, *len, chunk) : rc;
}
