/* SPDX-License-Identifier: MIT */
/* The snapshot's decoder fed in pieces (statefmt_read_snapshot): any
 * split of the input into reads decodes to what the bytes whole decode
 * to, with the same error and message for each damage; the window it
 * reads through stays within STATEFMT_READ_BUF; a source that fails or
 * ends early says so. */
#include "statefmt.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "pathref.h"
#include "test.h"

/* Entries enough that the file is some windows long, and an open batch
 * whose changes cross a window's edge. */
#define N_ENTRIES ((size_t)6000)
#define N_CHANGES ((size_t)3000)

struct piecesrc {
  const unsigned char *p; /* borrowed */
  size_t len;
  size_t at;
  size_t step;    /* the most one read gives */
  size_t fail_at; /* a read from here fails with -EIO (0: never) */
  size_t max_ask; /* the most one read was asked for */
};

static int piece_read(void *arg, void *p, size_t n, size_t *got)
{
  struct piecesrc *s = arg;
  size_t k = n < s->step ? n : s->step;

  if (n > s->max_ask)
    s->max_ask = n;
  if (s->fail_at != 0 && s->at >= s->fail_at)
    return -EIO;
  if (k > s->len - s->at)
    k = s->len - s->at;
  memcpy(p, s->p + s->at, k);
  s->at += k;
  *got = k;
  return 0;
}

static struct tree_entry entry_at(size_t i)
{
  struct tree_entry e;
  char path[64];

  memset(&e, 0, sizeof(e));
  (void)snprintf(path, sizeof(path), "d%02zu/page-%06zu.html", i / 500, i);
  e.path = pathref_dup(path);
  REQUIRE(e.path != NULL);
  e.size = i;
  e.flags = TREE_HASHED;
  memset(e.hash, (int)i, sizeof(e.hash));
  return e;
}

/* A format-3 snapshot of N_ENTRIES entries and one open batch. */
static unsigned char *big_snapshot(size_t *len)
{
  struct snapshot hdr;
  struct intent in;
  struct wire_out w;
  struct manifest *m;
  struct tree_entry *v = calloc(N_ENTRIES + 1, sizeof(*v));
  size_t i;

  REQUIRE(v != NULL);
  memset(&hdr, 0, sizeof(hdr));
  hdr.root = "/srv/site";
  hdr.distribution = "EDFDVBD6EXAMPLE";
  hdr.tag_header = "";
  hdr.next_seq = 9;
  memset(&in, 0, sizeof(in));
  in.seq = 8;
  (void)snprintf(in.ref, sizeof(in.ref), "cfwatch-test-ref");
  in.distribution = "EDFDVBD6EXAMPLE";
  strlist_init(&in.paths);
  REQUIRE(strlist_push(&in.paths, "/*") == 0);
  in.changes = calloc(N_CHANGES, sizeof(*in.changes));
  REQUIRE(in.changes != NULL);
  in.n_changes = N_CHANGES;
  for (i = 0; i < N_CHANGES; i++) {
    in.changes[i].entry = entry_at(i);
    change_set_kind(&in.changes[i], CHANGE_MODIFIED);
  }
  for (i = 0; i < N_ENTRIES; i++)
    v[i] = entry_at(i);
  REQUIRE(manifest_adopt(&m, v, N_ENTRIES) == 0);
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  REQUIRE(statefmt_put_snapshot(&w, &hdr, m, &in, 1) == 0);
  manifest_destroy(m);
  changes_free(in.changes, in.n_changes);
  strlist_free(&in.paths);
  *len = w.b.len;
  return (unsigned char *)buf_take(&w.b);
}

static void reseal(unsigned char *p, size_t len)
{
  int i;

  for (i = 0; i < 8; i++)
    p[16 + i] = (unsigned char)((uint64_t)len >> (8 * i));
  REQUIRE(EVP_Digest(p, len - 32, p + len - 32, NULL, EVP_sha256(), NULL) == 1);
}

/* Decodes p[0..len) whole and in reads of step bytes: the same. */
static void same_both_ways(const unsigned char *p, size_t len, size_t step)
{
  struct piecesrc ps = {p, len, 0, step, 0, 0};
  struct statefmt_src src = {piece_read, &ps, len};
  struct cfw_err e1 = {0};
  struct cfw_err e2 = {0};
  struct snapshot a;
  struct snapshot b;
  int rc1;
  int rc2;

  rc1 = statefmt_get_snapshot(p, len, "manifest", &a, &e1);
  rc2 = statefmt_read_snapshot(&src, "manifest", &b, &e2);
  CHECK_EQ_INT(rc2, rc1);
  CHECK(ps.max_ask <= STATEFMT_READ_BUF);
  if (rc1 < 0 || rc2 < 0) {
    CHECK_EQ_STR(e2.msg, e1.msg);
  } else {
    CHECK_EQ_INT(b.n, a.n);
    CHECK_EQ_INT(b.n_intents, a.n_intents);
    CHECK(b.n == a.n && strcmp(b.v[b.n - 1].path, a.v[a.n - 1].path) == 0);
  }
  snapshot_free(&a);
  snapshot_free(&b);
}

static void test_any_split_decodes_the_same(void)
{
  static const size_t steps[] = {1, 7, 4096, (size_t)1 << 30};
  struct snapshot s;
  struct cfw_err err = {0};
  unsigned char *p;
  size_t len;
  size_t i;

  p = big_snapshot(&len);
  REQUIRE(len > 2 * STATEFMT_READ_BUF);
  CHECK_EQ_INT(statefmt_get_snapshot(p, len, "manifest", &s, &err), 0);
  CHECK_EQ_INT(s.n, N_ENTRIES);
  REQUIRE(s.n_intents == 1);
  CHECK_EQ_INT(s.intents[0].n_changes, N_CHANGES);
  snapshot_free(&s);
  for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
    same_both_ways(p, len, steps[i]);
  free(p);
}

/* Damage on each side of a window's edge, sealed or not, and cuts:
 * each gets the same verdict, read whole or in pieces. */
static void test_damage_gets_the_same_verdict_in_pieces(void)
{
  unsigned char *p;
  unsigned char *q;
  size_t len;
  size_t at;
  size_t d;

  p = big_snapshot(&len);
  q = malloc(len);
  REQUIRE(q != NULL);
  for (at = STATEFMT_READ_BUF - 300; at < len; at += STATEFMT_READ_BUF / 3) {
    for (d = 0; d < 300; d += 37) {
      memcpy(q, p, len);
      q[at + d] ^= 0x5a;
      same_both_ways(q, len, 4093);
      reseal(q, len);
      same_both_ways(q, len, 4093);
      memcpy(q, p, at + d);
      reseal(q, at + d);
      same_both_ways(q, at + d, 4093);
    }
  }
  free(q);
  free(p);
}

static void test_a_failed_read_is_reported(void)
{
  struct cfw_err err = {0};
  struct snapshot s;
  unsigned char *p;
  size_t len;

  p = big_snapshot(&len);
  {
    struct piecesrc ps = {p, len, 0, 4096, STATEFMT_READ_BUF + 10, 0};
    struct statefmt_src src = {piece_read, &ps, len};

    CHECK_EQ_INT(statefmt_read_snapshot(&src, "/x/manifest", &s, &err), -EIO);
    CHECK_CONTAINS(err.msg, "/x/manifest: ");
    CHECK_CONTAINS(err.msg, strerror(EIO));
    CHECK(s.v == NULL && s.n == 0);
  }
  {
    /* A file that shrank after it was opened. */
    struct piecesrc ps = {p, len / 2, 0, 4096, 0, 0};
    struct statefmt_src src = {piece_read, &ps, len};

    CHECK_EQ_INT(statefmt_read_snapshot(&src, "/x/manifest", &s, &err),
                 -EBADMSG);
    CHECK_CONTAINS(err.msg, "corrupt");
    CHECK_CONTAINS(err.msg, "while being read");
    CHECK(s.v == NULL && s.n == 0);
  }
  free(p);
}

TEST_MAIN(TEST(test_any_split_decodes_the_same),
          TEST(test_damage_gets_the_same_verdict_in_pieces),
          TEST(test_a_failed_read_is_reported))
