/* SPDX-License-Identifier: MIT */
/* The journaled state (state.h): the snapshot's checks, the journal's
 * torn-tail and damage rules, compaction's crash windows, the site's
 * identity and the write-ahead intents' references. */
#include "state.h"

#include "statefx.h"
#include "test.h"

#include <openssl/evp.h>

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"
/* Format 2 header offsets (statefmt.h). */
#define OFF_VERSION 8
#define OFF_ROOTLEN 56
#define HDR_LEN     60 /* up to the root's bytes */

static struct tree_entry entry(const char *path, unsigned seed)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = (char *)path; /* borrowed: everything copies it */
  e.size = 100 + seed;
  e.mtime_ns = INT64_C(1700000000000000000) + seed;
  e.ctime_ns = -(int64_t)seed; /* negative times must survive too */
  e.ino = 1000 + seed;
  e.dev = 7;
  e.flags = TREE_HASHED | (seed % 2 ? TREE_RACY : 0);
  memset(e.hash, (int)seed, sizeof(e.hash));
  return e;
}

/* n ADDED changes "d/p0".."d/p<n-1>" with seeds from base; the paths
 * live in names, which has room for n. */
static struct change *changes(size_t n, unsigned base, char (*names)[32])
{
  struct change *v = calloc(n + 1, sizeof(*v));
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < n; i++) {
    (void)snprintf(names[i], 32, "d/p%zu", i);
    v[i].entry = entry(names[i], base + (unsigned)i);
    change_set_kind(&v[i], CHANGE_ADDED);
  }
  return v;
}

/* A fresh state dir holding a baseline of n entries. */
static void baseline(const char *dir, size_t n)
{
  char names[64][32];
  struct cfw_err err = {0};
  struct change *v = changes(n, 1, names);
  struct state *s = statefx_open(dir, ROOT, DIST);

  CHECK(state_fresh(s));
  CHECK_EQ_INT(state_baseline(s, v, n, &err), 0);
  CHECK(!state_fresh(s));
  state_close(s);
  free(v);
}

static void join(char *out, size_t n, const char *dir, const char *rel)
{
  if (snprintf(out, n, "%s/%s", dir, rel) >= (int)n)
    exit(2);
}

/* Recomputes the trailer, as a crafted (not damaged) file would have. */
static void reseal(unsigned char *p, size_t len)
{
  CHECK(EVP_Digest(p, len - 32, p + len - 32, NULL, EVP_sha256(), NULL) == 1);
}

static int open_rc(const char *dir, struct cfw_err *err)
{
  struct state *s = (struct state *)1;
  int rc;

  err->msg[0] = '\0';
  rc = state_open(&s, dir, ROOT, DIST, STATE_READONLY, err);
  if (rc < 0)
    CHECK(s == NULL);
  state_close(s);
  return rc;
}

/* The snapshot. */

static void test_baseline_round_trips(void)
{
  char dir[256];
  struct state *s;
  const struct tree_entry *e;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 50);
  s = statefx_open(dir, ROOT, DIST);
  CHECK(!state_fresh(s));
  CHECK(state_snapshot_ns(s) > 0);
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 50);
  e = manifest_find(state_manifest(s), "d/p42");
  REQUIRE(e != NULL);
  CHECK_EQ_INT(e->size, 143);
  CHECK_EQ_INT(e->ctime_ns, -43);
  CHECK(e->flags == (TREE_HASHED | TREE_RACY));
  CHECK_EQ_INT(state_intent_count(s), 0);
  state_close(s);
  test_rmtree(dir);
}

static void test_open_writes_nothing(void)
{
  struct cfw_err err = {0};
  struct state *s = NULL;
  char dir[256];
  char sub[512];

  test_tmpdir(dir, sizeof(dir));
  join(sub, sizeof(sub), dir, "state");
  CHECK_EQ_INT(state_open(&s, sub, ROOT, DIST, 0, &err), 0);
  REQUIRE(s != NULL);
  CHECK(state_fresh(s));
  CHECK(access(sub, F_OK) < 0 && errno == ENOENT);
  state_close(s);
  test_rmtree(dir);
}

static void test_journal_without_manifest_is_refused(void)
{
  struct cfw_err err = {0};
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "journal", "CFWJRNL\n1234567890123456789012345678 more");
  CHECK_EQ_INT(open_rc(dir, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "no manifest beside it");
  test_rmtree(dir);
}

static void test_crash_before_rename_keeps_old_snapshot(void)
{
  unsigned char *p;
  struct cfw_err err = {0};
  struct state *s;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 2);
  p = test_slurp(dir, "manifest", &len);
  /* The crash: a new snapshot half written under the temp name. */
  statefx_spill(dir, "manifest.tmp", p, len / 2);
  CHECK_EQ_INT(open_rc(dir, &err), 0);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_compact(s, &err), 0);
  CHECK(!test_exists(dir, "manifest.tmp"));
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 2);
  state_close(s);
  free(p);
  test_rmtree(dir);
}

static void test_failed_snapshot_leaves_the_old_one(void)
{
  char names[64][32];
  struct cfw_err err = {0};
  struct change *v = changes(60, 5, names);
  unsigned char *before;
  struct state *s;
  char dir[256];
  size_t n1;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 1);
  before = test_slurp(dir, "manifest", &n1);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_record(s, v, 60, &err), 0);
  statefx_limit_file_size(4096); /* the write fails midway */
  statefx_check_failed_compact(s, dir, ROOT, DIST, before, n1, 60);
  free(before);
  free(v);
  test_rmtree(dir);
}

static void test_snapshot_truncation_at_every_offset_is_detected(void)
{
  struct cfw_err err = {0};
  unsigned char *p;
  char dir[256];
  size_t len;
  size_t cut;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  p = test_slurp(dir, "manifest", &len);
  for (cut = 0; cut < len; cut++) {
    statefx_spill(dir, "manifest", p, cut);
    CHECK_EQ_INT(open_rc(dir, &err), -EBADMSG);
    CHECK_CONTAINS(err.msg, "corrupt");
  }
  statefx_spill(dir, "manifest", p, len);
  CHECK_EQ_INT(open_rc(dir, &err), 0);
  free(p);
  test_rmtree(dir);
}

static void test_snapshot_bit_flips_are_detected(void)
{
  struct cfw_err err = {0};
  unsigned char *p;
  char dir[256];
  size_t len;
  size_t bit;
  int rc;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  p = test_slurp(dir, "manifest", &len);
  for (bit = 0; bit < len * 8; bit++) {
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    statefx_spill(dir, "manifest", p, len);
    rc = open_rc(dir, &err);
    if (rc != -EBADMSG && rc != -EPROTO)
      TEST_FAIL_("bit %zu: open returned %d", bit, rc);
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
  }
  free(p);
  test_rmtree(dir);
}

static void test_snapshot_messages(void)
{
  struct cfw_err err = {0};
  unsigned char *p;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  p = test_slurp(dir, "manifest", &len);
  p[len / 2] ^= 0x40;
  statefx_spill(dir, "manifest", p, len);
  CHECK_EQ_INT(open_rc(dir, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, dir);
  CHECK_CONTAINS(err.msg, "checksum mismatch");
  CHECK_CONTAINS(err.msg, "Nothing was sent");
  CHECK_CONTAINS(err.msg, "remove the state dir");
  p[len / 2] ^= 0x40;
  p[OFF_VERSION] = 5;
  reseal(p, len);
  statefx_spill(dir, "manifest", p, len);
  CHECK_EQ_INT(open_rc(dir, &err), -EPROTO);
  CHECK_CONTAINS(err.msg, "version 5");
  memcpy(p, "GIF89a\0\0", 8);
  reseal(p, len);
  statefx_spill(dir, "manifest", p, len);
  CHECK_EQ_INT(open_rc(dir, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "bad magic");
  free(p);
  test_rmtree(dir);
}

/* Rewrites the first entry's path "d/p0". */
static void test_sealed_bad_paths_are_rejected(void)
{
  static const char *const bad[] = {"d/p1", "../x", "d//x", "/abs", "d/./"};
  /* The root, the distribution, an empty tag header and URL mapping,
   * the count. */
  size_t first = HDR_LEN + strlen(ROOT) + 4 + strlen(DIST) + 4 + 4 + 8 + 4;
  struct cfw_err err = {0};
  unsigned char *p;
  char dir[256];
  size_t len;
  size_t i;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  p = test_slurp(dir, "manifest", &len);
  REQUIRE(memcmp(p + first, "d/p0", 4) == 0);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    memcpy(p + first, bad[i], 4);
    reseal(p, len);
    statefx_spill(dir, "manifest", p, len);
    CHECK_EQ_INT(open_rc(dir, &err), -EBADMSG);
    CHECK(strstr(err.msg, "invalid path") != NULL ||
          strstr(err.msg, "out of order") != NULL);
  }
  p[OFF_ROOTLEN + 3] = 0x7f;
  reseal(p, len);
  statefx_spill(dir, "manifest", p, len);
  CHECK_EQ_INT(open_rc(dir, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "root");
  free(p);
  test_rmtree(dir);
}

static void test_files_are_0600_and_new_dirs_0700(void)
{
  char names[1][32];
  struct cfw_err err = {0};
  struct change *v = changes(1, 1, names);
  const struct intent *in;
  struct strlist paths;
  struct state *s;
  struct stat st;
  char dir[256];
  char state[512];
  char path[600];

  umask(0);
  test_tmpdir(dir, sizeof(dir));
  join(state, sizeof(state), dir, "a/b");
  s = statefx_open(state, ROOT, DIST);
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/d/p0") == 0);
  CHECK_EQ_INT(intend_copy(s, DIST, &paths, v, 1, NULL, 1, &in, &err), 0);
  state_close(s);
  join(path, sizeof(path), state, "manifest");
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0600);
  join(path, sizeof(path), state, "journal");
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0600);
  CHECK_EQ_INT(stat(state, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0700);
  join(path, sizeof(path), dir, "a");
  CHECK_EQ_INT(stat(path, &st), 0);
  CHECK_EQ_INT(st.st_mode & 07777, 0700);
  strlist_free(&paths);
  free(v);
  test_rmtree(dir);
}

/* Format 1 (cfwatch 0.1) was written without an id or a journal. */
static void test_format_1_is_read_and_upgraded(void)
{
  static const unsigned char head[] = "CFWMANI\n\1\0\0\0\0\0\0\0";
  struct cfw_err err = {0};
  unsigned char buf[512];
  struct tree_entry e = entry("a.html", 4);
  struct state *s;
  char dir[256];
  size_t n = 0;
  size_t len;
  int i;

  memcpy(buf, head, 16);
  n = 16 + 8;            /* the length, patched below */
  memset(buf + n, 0, 8); /* written_at */
  n += 8;
  buf[n] = 1; /* one entry */
  memset(buf + n + 1, 0, 7);
  n += 8;
  buf[n] = (unsigned char)strlen(ROOT); /* the root */
  memset(buf + n + 1, 0, 3);
  memcpy(buf + n + 4, ROOT, strlen(ROOT));
  n += 4 + strlen(ROOT);
  buf[n] = 6; /* the entry */
  memset(buf + n + 1, 0, 3);
  memcpy(buf + n + 4, "a.html", 6);
  n += 10;
  for (i = 0; i < 5 * 8; i++)
    buf[n + (size_t)i] = 0;
  buf[n] = 104; /* size */
  n += 40;
  buf[n] = TREE_HASHED;
  memset(buf + n + 1, 0, 3);
  n += 4;
  memcpy(buf + n, e.hash, 32);
  n += 32;
  len = n + 32;
  for (i = 0; i < 8; i++)
    buf[16 + i] = (unsigned char)(len >> (8 * i));
  reseal(buf, len);
  test_tmpdir(dir, sizeof(dir));
  statefx_spill(dir, "manifest", buf, len);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 1);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "a.html")->size, 104);
  CHECK(state_compact_due(s)); /* the id must be written first */
  CHECK_EQ_INT(state_compact(s, &err), 0);
  state_close(s);
  CHECK_EQ_INT(open_rc(dir, &err), 0);
  test_rmtree(dir);
}

/* The journal. */

static const struct intent *intend(struct state *s, const char *path,
                                   unsigned seed)
{
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change c;
  struct strlist paths;
  char url[64];

  (void)snprintf(url, sizeof(url), "/%s", path);
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, url) == 0);
  c.entry = entry(path, seed);
  change_set_kind(&c, CHANGE_MODIFIED);
  CHECK_EQ_INT(intend_copy(s, DIST, &paths, &c, 1, NULL, 1, &in, &err), 0);
  strlist_free(&paths);
  REQUIRE(in != NULL);
  return in;
}

static void test_intent_and_commit_survive_a_restart(void)
{
  struct cfw_err err = {0};
  const struct intent *in;
  struct state *s;
  char ref[STATE_REF_LEN];
  char dir[256];
  uint64_t before;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  s = statefx_open(dir, ROOT, DIST);
  before = state_journal_bytes(s);
  in = intend(s, "d/p1", 77);
  memcpy(ref, in->ref, sizeof(ref));
  CHECK_EQ_INT(strncmp(ref, "cfw-", 4), 0);
  CHECK_EQ_INT(strlen(ref), STATE_REF_LEN - 1);
  state_close(s); /* a crash after the intent */
  s = statefx_open(dir, ROOT, DIST);
  REQUIRE(state_intent_count(s) == 1);
  in = state_intent_at(s, 0);
  CHECK_EQ_STR(in->ref, ref);
  CHECK_EQ_STR(in->paths.v[0], "/d/p1");
  CHECK_EQ_INT(in->changes[0].entry.size, 177);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "d/p1")->size, 102);
  CHECK_EQ_INT(state_commit(s, ref, "I2J0I21PCUYOIK", NULL, 0, &err), 0);
  /* A one-file batch costs a few hundred bytes, not the tree. */
  CHECK(state_journal_bytes(s) - before < 1024);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 0);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "d/p1")->size, 177);
  CHECK_EQ_INT(state_commit(s, ref, "x", NULL, 0, &err), -ENOENT);
  state_close(s);
  test_rmtree(dir);
}

/* A0 -> A1 -> A2 -> A1: every batch gets its own reference, even for
 * content an earlier batch had (the hole the manifest's version left
 * while saves failed). */
static void test_references_are_never_reused(void)
{
  static const unsigned seeds[] = {10, 11, 12, 11, 11};
  char refs[5][STATE_REF_LEN];
  struct cfw_err err = {0};
  struct state *s;
  char dir[256];
  size_t i;
  size_t j;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 1);
  for (i = 0; i < 5; i++) {
    s = statefx_open(dir, ROOT, DIST);
    memcpy(refs[i], intend(s, "d/p0", seeds[i])->ref, STATE_REF_LEN);
    if (i % 2 == 0)
      CHECK_EQ_INT(state_commit(s, refs[i], "I", NULL, 0, &err), 0);
    state_close(s);
  }
  for (i = 0; i < 5; i++)
    for (j = i + 1; j < 5; j++)
      if (strcmp(refs[i], refs[j]) == 0)
        TEST_FAIL_("batches %zu and %zu share %s", i, j, refs[i]);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 2); /* 1 and 3, never acknowledged */
  state_close(s);
  test_rmtree(dir);
}

/* Three records after the baseline; returns the journal's bytes and the
 * offset where the last record starts. */
static unsigned char *three_records(const char *dir, size_t *len, size_t *last)
{
  struct cfw_err err = {0};
  struct state *s;
  unsigned char *p;

  baseline(dir, 3);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_commit(s, intend(s, "d/p0", 50)->ref, "I1", NULL, 0, &err),
               0);
  *last = (size_t)state_journal_bytes(s);
  (void)intend(s, "d/p2", 52);
  state_close(s);
  p = test_slurp(dir, "journal", len);
  return p;
}

static void test_torn_last_record_is_dropped_and_cut(void)
{
  unsigned char *p;
  struct state *s;
  char dir[256];
  size_t len;
  size_t last;
  size_t cut;
  size_t now;

  test_tmpdir(dir, sizeof(dir));
  p = three_records(dir, &len, &last);
  for (cut = last; cut < len; cut++) {
    statefx_spill(dir, "journal", p, cut);
    s = statefx_open(dir, ROOT, DIST);
    CHECK_EQ_INT(manifest_find(state_manifest(s), "d/p0")->size, 150);
    CHECK_EQ_INT(state_intent_count(s), 0);
    CHECK_EQ_INT(state_journal_bytes(s), last);
    state_close(s);
    free(test_slurp(dir, "journal", &now));
    CHECK_EQ_INT(now, last);
  }
  /* Appending after a cut works, and loads. */
  s = statefx_open(dir, ROOT, DIST);
  (void)intend(s, "d/p1", 61);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 1);
  state_close(s);
  free(p);
  test_rmtree(dir);
}

/* Issue 13: a rewrite of the whole site is recorded a bounded record
 * at a time, so one is never encoded whole in memory; a crash cuts off
 * the last record only. */
static void test_large_record_is_split_and_a_torn_tail_loses_one_part(void)
{
  enum { N = 10000 };
  static char names[N][32];
  struct cfw_err err = {0};
  struct change *v = changes(N, 3, names);
  struct state *s;
  unsigned char *p;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 1);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_record(s, v, N, &err), 0);
  CHECK_EQ_INT(manifest_count(state_manifest(s)), N);
  state_close(s);
  p = test_slurp(dir, "journal", &len);
  statefx_spill(dir, "journal", p, len - 1); /* the last record torn */
  s = statefx_open(dir, ROOT, DIST);
  /* d/p0 from the baseline, then 4096 + 4096 of the 10000. */
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 8192);
  state_close(s);
  free(p);
  free(v);
  test_rmtree(dir);
}

static void test_damage_before_the_last_record_is_an_error(void)
{
  struct cfw_err err = {0};
  unsigned char *p;
  struct state *s;
  char dir[256];
  size_t len;
  size_t last;
  size_t bit;
  int rc;

  test_tmpdir(dir, sizeof(dir));
  p = three_records(dir, &len, &last);
  /* Every bit of the records before the last: never a silent loss. */
  for (bit = 28 * 8; bit < last * 8; bit++) {
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    statefx_spill(dir, "journal", p, len);
    rc = open_rc(dir, &err);
    if (rc != -EBADMSG)
      TEST_FAIL_("bit %zu: open returned %d (%s)", bit, rc, err.msg);
    p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
  }
  CHECK_CONTAINS(err.msg, "journal is corrupt");
  /* Damage in the last record is a torn append: dropped. */
  p[len - 40] ^= 1;
  statefx_spill(dir, "journal", p, len);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 0);
  state_close(s);
  free(p);
  test_rmtree(dir);
}

static void test_readonly_open_leaves_a_torn_journal_alone(void)
{
  struct cfw_err err = {0};
  unsigned char *p;
  char dir[256];
  size_t len;
  size_t last;
  size_t now;

  test_tmpdir(dir, sizeof(dir));
  p = three_records(dir, &len, &last);
  statefx_spill(dir, "journal", p, len - 3);
  CHECK_EQ_INT(open_rc(dir, &err), 0);
  free(test_slurp(dir, "journal", &now));
  CHECK_EQ_INT(now, len - 3);
  free(p);
  test_rmtree(dir);
}

static void test_compaction_keeps_open_intents_and_drops_the_journal(void)
{
  struct cfw_err err = {0};
  unsigned char *old;
  struct state *s;
  char ref[STATE_REF_LEN];
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_commit(s, intend(s, "d/p0", 50)->ref, "I1", NULL, 0, &err),
               0);
  memcpy(ref, intend(s, "d/p1", 51)->ref, sizeof(ref));
  state_close(s);
  old = test_slurp(dir, "journal", &len);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_compact(s, &err), 0);
  CHECK(!test_exists(dir, "journal"));
  state_close(s);
  /* The crash window: the snapshot replaced, the journal not yet gone.
   * Its records are in the snapshot, so they are skipped. */
  statefx_spill(dir, "journal", old, len);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 1);
  CHECK_EQ_STR(state_intent_at(s, 0)->ref, ref);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "d/p0")->size, 150);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "d/p1")->size, 102);
  /* New records follow the old ones and load. */
  CHECK_EQ_INT(state_commit(s, ref, "I2", NULL, 0, &err), 0);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 0);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "d/p1")->size, 151);
  state_close(s);
  free(old);
  test_rmtree(dir);
}

static void test_record_that_cannot_be_written_is_not_open(void)
{
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change c;
  struct strlist paths;
  struct state *s;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  s = statefx_open(dir, ROOT, DIST);
  (void)intend(s, "d/p0", 50);
  free(test_slurp(dir, "journal", &len));
  statefx_limit_file_size(len + 10);
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/d/p1") == 0);
  c.entry = entry("d/p1", 70);
  change_set_kind(&c, CHANGE_MODIFIED);
  CHECK(intend_copy(s, DIST, &paths, &c, 1, NULL, 1, &in, &err) < 0);
  CHECK_CONTAINS(err.msg, "nothing was recorded");
  CHECK_EQ_INT(state_intent_count(s), 1);
  CHECK_EQ_INT(state_journal_bytes(s), len);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 1);
  state_close(s);
  strlist_free(&paths);
  test_rmtree(dir);
}

/* An upload recorded for an open intent survives a restart and a
 * compaction; the files S3 refused as changed are committed stale. */
static void test_uploaded_intent_survives_and_commits_stale(void)
{
  static const uint32_t stale[] = {0};
  struct cfw_err err = {0};
  const struct intent *in;
  struct state *s;
  char ref[STATE_REF_LEN];
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 3);
  s = statefx_open(dir, ROOT, DIST);
  memcpy(ref, intend(s, "d/p1", 61)->ref, sizeof(ref));
  CHECK_EQ_INT(state_uploaded(s, ref, stale, 1, &err), 0);
  CHECK_EQ_INT(state_uploaded(s, "cfw-nope", NULL, 0, &err), -ENOENT);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  REQUIRE(state_intent_count(s) == 1);
  in = state_intent_at(s, 0);
  CHECK(in->uploaded);
  REQUIRE(in->n_stale == 1);
  CHECK_EQ_INT(in->stale[0], 0);
  CHECK_EQ_INT(state_compact(s, &err), 0);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  REQUIRE(state_intent_count(s) == 1);
  CHECK(state_intent_at(s, 0)->uploaded);
  CHECK_EQ_INT(state_intent_at(s, 0)->n_stale, 1);
  CHECK_EQ_INT(state_commit(s, ref, "I9", NULL, 0, &err), 0);
  CHECK((manifest_find(state_manifest(s), "d/p1")->flags & TREE_STALE) != 0);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK((manifest_find(state_manifest(s), "d/p1")->flags & TREE_STALE) != 0);
  state_close(s);
  test_rmtree(dir);
}

/* Identity. */

static void test_state_of_another_site_is_refused(void)
{
  struct cfw_err err = {0};
  struct state *s = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 1);
  CHECK_EQ_INT(state_open(&s, dir, "/srv/other", DIST, 0, &err), -ESTALE);
  CHECK_CONTAINS(err.msg, "belongs to the root /srv/site");
  CHECK_EQ_INT(state_open(&s, dir, ROOT, "E2QWRUHAPOMQZL", 0, &err), -ESTALE);
  CHECK_CONTAINS(err.msg, "distribution " DIST);
  CHECK_EQ_INT(state_open(&s, dir, ROOT, NULL, 0, &err), -ESTALE);
  /* Reading without a distribution (plan) is fine. */
  CHECK_EQ_INT(state_open(&s, dir, ROOT, NULL, STATE_READONLY, &err), 0);
  state_close(s);
  test_rmtree(dir);
}

static void test_shared_state_takes_any_root_but_not_another_dist(void)
{
  struct cfw_err err = {0};
  struct state *s = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir, 1);
  CHECK_EQ_INT(state_open(&s, dir, "/home/ci/site", DIST, STATE_ANY_ROOT, &err),
               0);
  CHECK_EQ_INT((int)manifest_count(state_manifest(s)), 1);
  state_close(s);
  CHECK_EQ_INT(state_open(&s, dir, "/home/ci/site", "E2QWRUHAPOMQZL",
                          STATE_ANY_ROOT, &err),
               -ESTALE);
  test_rmtree(dir);
}

static void test_state_without_distribution_adopts_one(void)
{
  char names[1][32];
  struct cfw_err err = {0};
  struct change *v = changes(1, 1, names);
  struct state *s = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(state_open(&s, dir, ROOT, NULL, 0, &err), 0);
  CHECK_EQ_INT(state_baseline(s, v, 1, &err), 0);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_STR(state_distribution(s), DIST);
  (void)intend(s, "d/p0", 9); /* writes the adoption first */
  state_close(s);
  CHECK_EQ_INT(state_open(&s, dir, ROOT, "E2QWRUHAPOMQZL", 0, &err), -ESTALE);
  free(v);
  test_rmtree(dir);
}

/* Each case alone (test.h): a case sets a hard file size limit (statefx.h)
 * and the umask. */
TEST_MAIN_ALONE(TEST(test_baseline_round_trips),
                TEST(test_shared_state_takes_any_root_but_not_another_dist),
                TEST(test_open_writes_nothing),
                TEST(test_journal_without_manifest_is_refused),
                TEST(test_crash_before_rename_keeps_old_snapshot),
                TEST(test_failed_snapshot_leaves_the_old_one),
                TEST(test_snapshot_truncation_at_every_offset_is_detected),
                TEST(test_snapshot_bit_flips_are_detected),
                TEST(test_snapshot_messages),
                TEST(test_sealed_bad_paths_are_rejected),
                TEST(test_files_are_0600_and_new_dirs_0700),
                TEST(test_format_1_is_read_and_upgraded),
                TEST(test_intent_and_commit_survive_a_restart),
                TEST(test_references_are_never_reused),
                TEST(test_torn_last_record_is_dropped_and_cut),
                TEST(test_large_record_is_split_and_a_torn_tail_loses_one_part),
                TEST(test_damage_before_the_last_record_is_an_error),
                TEST(test_readonly_open_leaves_a_torn_journal_alone),
                TEST(test_compaction_keeps_open_intents_and_drops_the_journal),
                TEST(test_record_that_cannot_be_written_is_not_open),
                TEST(test_uploaded_intent_survives_and_commits_stale),
                TEST(test_state_of_another_site_is_refused),
                TEST(test_state_without_distribution_adopts_one))
