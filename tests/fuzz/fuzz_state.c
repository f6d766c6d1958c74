/* SPDX-License-Identifier: MIT */
/* Fuzzes the state's decoders (statefmt.h): a snapshot and a journal's
 * records, from one input.
 *
 * The input is a u32 (little-endian) length L, L bytes of snapshot, and
 * the rest as journal records.  Each part is decoded twice:
 *
 * 1. As is: the frame checks and checksums must refuse what they should.
 * 2. Fixed up: the snapshot's magic, version, flags, length and SHA-256
 *    trailer set right, and each record's length and SHA-256 recomputed
 *    (taking lengths from the input), so the mutations reach the parsers
 *    behind the checksums.
 *
 * What decodes must keep the format's promises (entries valid, sorted,
 * unique, hashed; an intent with a reference and paths) and encode back
 * to exactly the bytes it came from: one spelling per content.  A
 * snapshot read in pieces (statefmt_read_snapshot) gets the verdict it
 * gets whole.  A record that does not decode is torn only where the
 * input ends. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest.h"
#include "statefmt.h"
#include "wire.h"

#define MAGIC_LEN 8
#define HASH_LEN  32
#define FRAME_LEN (MAGIC_LEN + 4 + 4 + 8)

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
  int i;

  for (i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static void check_entries(const struct snapshot *s)
{
  size_t i;

  for (i = 0; i < s->n; i++) {
    FUZZ_CHECK(s->v[i].path != NULL);
    FUZZ_CHECK(manifest_path_ok(s->v[i].path, strlen(s->v[i].path)));
    FUZZ_CHECK((s->v[i].flags & ~TREE_FLAGS_KNOWN) == 0);
    FUZZ_CHECK((s->v[i].flags & TREE_HASHED) != 0);
    FUZZ_CHECK(i == 0 || strcmp(s->v[i - 1].path, s->v[i].path) < 0);
  }
  for (i = 0; i < s->n_intents; i++) {
    FUZZ_CHECK(s->intents[i].ref[0] != '\0');
    FUZZ_CHECK(s->intents[i].paths.n > 0);
  }
}

/* A format-2 snapshot that decodes encodes back to the same bytes. */
static void check_round_trip(struct snapshot *s, const uint8_t *p, size_t n)
{
  struct wire_out w;
  struct manifest *m;

  FUZZ_CHECK(manifest_adopt(&m, s->v, s->n) == 0);
  s->v = NULL; /* the manifest has them now */
  s->n = 0;
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  FUZZ_CHECK(statefmt_put_snapshot(&w, s, m, s->intents, s->n_intents) == 0);
  FUZZ_CHECK(w.b.len == n && memcmp(w.b.data, p, n) == 0);
  wire_out_free(&w);
  manifest_destroy(m);
}

/* A snapshot's bytes handed out a few at a time, as short reads of a
 * file would, so that the decoder's window refills mid-field. */
struct piecesrc {
  const uint8_t *p; /* borrowed */
  size_t len;
  size_t at;
  size_t step;
};

static int piece_read(void *arg, void *p, size_t n, size_t *got)
{
  struct piecesrc *src = arg;

  *got = n < src->step ? n : src->step;
  if (*got > src->len - src->at)
    *got = src->len - src->at;
  memcpy(p, src->p + src->at, *got);
  src->at += *got;
  return 0;
}

/* Read in pieces, the snapshot gets the verdict it got whole. */
static void same_in_pieces(const uint8_t *p, size_t n, int rc,
                           const struct cfw_err *whole)
{
  struct piecesrc ps = {p, n, 0, 1 + n % 13};
  struct statefmt_src src = {piece_read, &ps, n};
  struct cfw_err err = {0};
  struct snapshot s;

  FUZZ_CHECK(statefmt_read_snapshot(&src, "manifest", &s, &err) == rc);
  FUZZ_CHECK(rc == 0 || strcmp(err.msg, whole->msg) == 0);
  FUZZ_CHECK(rc < 0 || ps.at == n); /* each byte read, once */
  snapshot_free(&s);
}

static void snapshot(const uint8_t *p, size_t n)
{
  struct cfw_err err = {0};
  struct snapshot s;
  int rc;

  rc = statefmt_get_snapshot(p, n, "manifest", &s, &err);
  same_in_pieces(p, n, rc, &err);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EBADMSG || rc == -EPROTO || rc == -ENOMEM);
    FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
    FUZZ_CHECK(strstr(err.msg, "manifest") != NULL);
    return;
  }
  check_entries(&s);
  if (s.version == STATEFMT_SNAPSHOT_VERSION)
    check_round_trip(&s, p, n);
  snapshot_free(&s);
}

/* Encodes r again into w, as the state would have written it. */
static void reencode(struct wire_out *w, const struct record *r)
{
  switch (r->type) {
  case RECORD_INTENT:
    statefmt_put_intent(w, &r->intent);
    break;
  case RECORD_COMMIT:
    statefmt_put_commit(w, r->seq, r->ref, r->inv_id, r->at_ns, r->stale,
                        r->n_stale);
    break;
  case RECORD_UPLOADED:
    statefmt_put_uploaded(w, r->seq, r->ref, r->stale, r->n_stale);
    break;
  case RECORD_ENTRIES:
    statefmt_put_entries(w, r->seq, r->changes, r->n_changes);
    break;
  case RECORD_ACCEPTED:
    statefmt_put_accepted(w, r->seq, r->ref, r->dist, r->inv_id);
    break;
  }
}

static void journal(const uint8_t *p, size_t n)
{
  struct wire_out w;
  struct wire_in r;
  struct record rec;
  size_t at;
  int rc;

  wire_in_init(&r, p, n);
  while (wire_left(&r) > 0) {
    at = r.off;
    rc = statefmt_get_record(&r, &rec);
    if (rc == STATEFMT_TORN) {
      FUZZ_CHECK(r.off == at);
      return;
    }
    if (rc < 0) {
      FUZZ_CHECK(rc == -EBADMSG || rc == -ENOMEM);
      return;
    }
    FUZZ_CHECK(r.off > at);
    wire_out_init(&w, STATEFMT_MAX_BYTES);
    reencode(&w, &rec);
    FUZZ_CHECK(w.rc == 0 && w.b.len == r.off - at);
    FUZZ_CHECK(memcmp(w.b.data, p + at, w.b.len) == 0);
    wire_out_free(&w);
    record_free(&rec);
  }
}

static void fix_snapshot(unsigned char *p, size_t n)
{
  static const unsigned char magic[MAGIC_LEN] = {'C', 'F', 'W', 'M',
                                                 'A', 'N', 'I', '\n'};

  memcpy(p, magic, sizeof(magic));
  put_le(p + MAGIC_LEN, 2, 4);
  put_le(p + MAGIC_LEN + 4, 0, 4);
  put_le(p + MAGIC_LEN + 8, n, 8);
  FUZZ_CHECK(EVP_Digest(p, n - HASH_LEN, p + n - HASH_LEN, NULL, EVP_sha256(),
                        NULL) == 1);
}

/* Seals each record whose stated length fits, and stops at the first
 * that does not. */
static void fix_journal(unsigned char *p, size_t n)
{
  size_t at = 0;
  uint64_t len;
  int i;

  while (n - at >= 4 + 9 + HASH_LEN) {
    for (len = 0, i = 3; i >= 0; i--)
      len = (len << 8) | p[at + (size_t)i];
    if (len < 9 || len > n - at - 4 - HASH_LEN)
      return;
    FUZZ_CHECK(EVP_Digest(p + at, 4 + len, p + at + 4 + len, NULL, EVP_sha256(),
                          NULL) == 1);
    at += 4 + len + HASH_LEN;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char *fixed;
  size_t split;

  if (size < 4)
    return 0;
  split = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
          (size_t)(data[3] & 0x7f) << 24;
  if (split > size - 4)
    split = size - 4;
  snapshot(data + 4, split);
  journal(data + 4 + split, size - 4 - split);
  fixed = malloc(size);
  FUZZ_CHECK(fixed != NULL);
  memcpy(fixed, data, size);
  if (split >= FRAME_LEN + HASH_LEN)
    fix_snapshot(fixed + 4, split);
  fix_journal(fixed + 4 + split, size - 4 - split);
  if (memcmp(fixed, data, size) != 0) {
    snapshot(fixed + 4, split);
    journal(fixed + 4 + split, size - 4 - split);
  }
  free(fixed);
  return 0;
}
