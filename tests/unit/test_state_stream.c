/* SPDX-License-Identifier: MIT */
/* An intent's journal record and the snapshot streamed in bounded
 * pieces (issue 13): the same bytes as statefmt_put_intent's and
 * statefmt_put_snapshot's, whatever the chunk; files written that way
 * load back; a batch given as indices into a larger array; a write that
 * fails midway (a file size limit, as a full disk) leaves the journal
 * or the snapshot as it was. */
#include "state.h"
#include "statefmt.h"

#include "pathref.h"
#include "statefx.h"
#include "test.h"

#define ROOT "/srv/site"
#define DIST "EDFDVBD6EXAMPLE"

/* Change i of seed: "dir<i % 7>/page-<i>.html", with its own stat and
 * bytes; the path is owned. */
static void fill_change(struct change *c, size_t i, unsigned seed)
{
  char path[64];

  (void)snprintf(path, sizeof(path), "dir%zu/page-%zu.html", i % 7, i);
  change_set_kind(c, i % 3 == 0 ? CHANGE_ADDED : CHANGE_MODIFIED);
  c->entry.path = pathref_dup(path);
  REQUIRE(c->entry.path != NULL);
  c->entry.size = 100 + i;
  c->entry.mtime_ns = INT64_C(1700000000000000000) + (int64_t)i;
  c->entry.ctime_ns = -(int64_t)i;
  c->entry.ino = 1000 + i;
  c->entry.dev = 7;
  c->entry.flags = TREE_HASHED;
  memset(c->entry.hash, (int)(seed + i), sizeof(c->entry.hash));
}

/* n changes (changes_free them). */
static struct change *changes(size_t n, unsigned seed)
{
  struct change *v = calloc(n + 1, sizeof(*v));
  size_t i;

  REQUIRE(v != NULL);
  for (i = 0; i < n; i++)
    fill_change(&v[i], i, seed);
  return v;
}

/* An intent over n changes (taken) and two paths. */
static void intent_of(struct intent *in, size_t n)
{
  memset(in, 0, sizeof(*in));
  in->seq = 42;
  (void)snprintf(in->ref, sizeof(in->ref), "cfw-%040d", 7);
  in->distribution = strdup(DIST);
  REQUIRE(in->distribution != NULL);
  in->created_ns = INT64_C(1700000000123456789);
  REQUIRE(strlist_push(&in->paths, "/*") == 0);
  REQUIRE(strlist_push(&in->paths, "/dir1/page-1.html") == 0);
  in->changes = changes(n, 3);
  in->n_changes = n;
}

/* A sink that keeps what it is handed, counting the pieces and the
 * largest; it fails with fail_rc from piece fail_at on. */
struct mem {
  struct buf b;
  size_t pieces;
  size_t largest;
  size_t fail_at;
  int fail_rc;
};

static int mem_put(void *arg, const void *p, size_t n)
{
  struct mem *m = arg;

  if (m->fail_rc != 0 && m->pieces >= m->fail_at)
    return m->fail_rc;
  m->pieces++;
  if (n > m->largest)
    m->largest = n;
  return buf_add(&m->b, p, n);
}

/* statefmt_stream_intent through mem equals statefmt_put_intent. */
static void check_stream_equals_put(size_t n, size_t chunk)
{
  struct intent in;
  struct wire_out w;
  struct mem m;
  uint64_t size = 0;

  intent_of(&in, n);
  memset(&m, 0, sizeof(m));
  buf_init(&m.b, SIZE_MAX);
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_intent(&w, &in);
  REQUIRE(w.rc == 0);
  CHECK_EQ_INT(statefmt_stream_intent(&in, chunk, mem_put, &m), 0);
  CHECK_EQ_INT(statefmt_intent_size(&in, &size), 0);
  CHECK_EQ_INT(size, w.b.len);
  CHECK_EQ_INT(m.b.len, w.b.len);
  CHECK(m.b.len == w.b.len && memcmp(m.b.data, w.b.data, w.b.len) == 0);
  /* Bounded pieces: a chunk plus at most one field past it. */
  CHECK(m.largest < chunk + 256);
  wire_out_free(&w);
  buf_free(&m.b);
  intent_free(&in);
}

static void test_streamed_intent_without_changes_equals_put(void)
{
  check_stream_equals_put(0, 4096);
}

static void test_streamed_intent_of_one_change_equals_put(void)
{
  check_stream_equals_put(1, 4096);
}

static void test_streamed_intent_of_many_chunks_equals_put(void)
{
  /* About 1.2 MB: many 256 KiB chunks, and many more of 1000 bytes. */
  check_stream_equals_put(12000, (size_t)256 * 1024);
  check_stream_equals_put(12000, 1000);
}

static void test_streamed_intent_stops_at_the_sinks_error(void)
{
  struct intent in;
  struct mem m;

  intent_of(&in, 3000);
  memset(&m, 0, sizeof(m));
  buf_init(&m.b, SIZE_MAX);
  m.fail_at = 3;
  m.fail_rc = -ENOSPC;
  CHECK_EQ_INT(statefmt_stream_intent(&in, 1000, mem_put, &m), -ENOSPC);
  CHECK_EQ_INT(m.pieces, 3);
  buf_free(&m.b);
  intent_free(&in);
}

static void test_intent_with_a_path_too_long_is_too_large(void)
{
  struct intent in;
  struct mem m;
  uint64_t size = 1;
  char *huge = malloc(STATEFMT_URL_MAX + 2);

  REQUIRE(huge != NULL);
  memset(huge, 'a', STATEFMT_URL_MAX + 1);
  huge[0] = '/';
  huge[STATEFMT_URL_MAX + 1] = '\0';
  intent_of(&in, 2);
  REQUIRE(strlist_push(&in.paths, huge) == 0);
  memset(&m, 0, sizeof(m));
  buf_init(&m.b, SIZE_MAX);
  CHECK_EQ_INT(statefmt_intent_size(&in, &size), -EFBIG);
  CHECK_EQ_INT(size, 0);
  /* Refused before a byte is handed on. */
  CHECK_EQ_INT(statefmt_stream_intent(&in, 1000, mem_put, &m), -EFBIG);
  CHECK_EQ_INT(m.pieces, 0);
  buf_free(&m.b);
  intent_free(&in);
  free(huge);
}

static int by_path(const void *a, const void *b)
{
  return strcmp(((const struct tree_entry *)a)->path,
                ((const struct tree_entry *)b)->path);
}

/* A manifest of n entries, sorted as manifest_adopt wants them. */
static struct manifest *manifest_of(size_t n)
{
  struct tree_entry *e = calloc(n + 1, sizeof(*e));
  struct change *v = changes(n, 4);
  struct manifest *m = NULL;
  size_t i;

  REQUIRE(e != NULL);
  for (i = 0; i < n; i++)
    e[i] = v[i].entry; /* the paths move to e */
  free(v);
  qsort(e, n, sizeof(*e), by_path);
  REQUIRE(manifest_adopt(&m, e, n) == 0);
  return m;
}

/* statefmt_stream_snapshot through mem equals statefmt_put_snapshot,
 * for n entries and two open intents. */
static void check_snapshot_stream_equals_put(size_t n)
{
  struct manifest *m = manifest_of(n);
  struct intent in[2];
  struct snapshot hdr;
  struct wire_out w;
  struct mem k;
  uint64_t len = 0;
  uint64_t size = 0;

  memset(&hdr, 0, sizeof(hdr));
  hdr.written_at_ns = 17;
  memset(hdr.id, 0xab, sizeof(hdr.id));
  hdr.next_seq = 99;
  hdr.root = (char *)ROOT;
  hdr.distribution = (char *)DIST;
  hdr.tag_header = (char *)"x-tag";
  intent_of(&in[0], 3);
  intent_of(&in[1], 0);
  memset(&k, 0, sizeof(k));
  buf_init(&k.b, SIZE_MAX);
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  CHECK_EQ_INT(statefmt_put_snapshot(&w, &hdr, m, in, 2), 0);
  CHECK_EQ_INT(statefmt_snapshot_size(&hdr, m, in, 2, &size), 0);
  CHECK_EQ_INT(
      statefmt_stream_snapshot(&hdr, m, in, 2, 1000, mem_put, &k, &len), 0);
  CHECK_EQ_INT(size, w.b.len);
  CHECK_EQ_INT(len, w.b.len);
  CHECK(k.b.len == w.b.len && memcmp(k.b.data, w.b.data, w.b.len) == 0);
  CHECK(k.largest < 1000 + 256);
  wire_out_free(&w);
  buf_free(&k.b);
  intent_free(&in[0]);
  intent_free(&in[1]);
  manifest_destroy(m);
}

static void test_streamed_snapshot_equals_put(void)
{
  check_snapshot_stream_equals_put(0);
  check_snapshot_stream_equals_put(1);
  check_snapshot_stream_equals_put(12000);
}

/* A state dir with a baseline of one file and no journal yet. */
static void baseline(const char *dir)
{
  struct cfw_err err = {0};
  struct change *v = changes(1, 1);
  struct state *s = statefx_open(dir, ROOT, DIST);

  CHECK_EQ_INT(state_baseline(s, v, 1, &err), 0);
  state_close(s);
  changes_free(v, 1);
}

/* Intends n changes of seed over one path; the intent or NULL. */
static const struct intent *intend(struct state *s, size_t n, unsigned seed,
                                   struct cfw_err *err)
{
  const struct intent *in = NULL;
  struct change *v = changes(n, seed);
  struct strlist paths;
  int rc;

  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/*") == 0);
  rc = intend_copy(s, DIST, &paths, v, n, NULL, n, &in, err);
  strlist_free(&paths);
  changes_free(v, n);
  return rc == 0 ? in : NULL;
}

static void test_big_streamed_intent_loads_back_byte_for_byte(void)
{
  struct cfw_err err = {0};
  const struct intent *in;
  struct wire_out w;
  unsigned char *j;
  struct state *s;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  s = statefx_open(dir, ROOT, DIST);
  /* About 2 MB: several chunks of the journal's 256 KiB. */
  REQUIRE(intend(s, 20000, 9, &err) != NULL);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  REQUIRE(state_intent_count(s) == 1);
  in = state_intent_at(s, 0);
  CHECK_EQ_INT(in->n_changes, 20000);
  CHECK_EQ_STR(in->changes[19999].entry.path, "dir0/page-19999.html");
  /* The journal is its header and what statefmt_put_intent makes of
   * the intent it loaded. */
  j = test_slurp(dir, "journal", &len);
  wire_out_init(&w, STATEFMT_MAX_BYTES);
  statefmt_put_intent(&w, in);
  REQUIRE(w.rc == 0);
  CHECK(w.b.len > (size_t)4 * 256 * 1024);
  CHECK_EQ_INT(len, STATEFMT_JOURNAL_HEADER_LEN + w.b.len);
  CHECK(len == STATEFMT_JOURNAL_HEADER_LEN + w.b.len &&
        memcmp(j + STATEFMT_JOURNAL_HEADER_LEN, w.b.data, w.b.len) == 0);
  CHECK_EQ_INT(state_journal_bytes(s), len);
  wire_out_free(&w);
  free(j);
  state_close(s);
  test_rmtree(dir);
}

static void copy_file(const char *from, const char *to, const char *name)
{
  char path[512];
  unsigned char *p;
  size_t len;
  int fd;

  p = test_slurp(from, name, &len);
  REQUIRE(snprintf(path, sizeof(path), "%s/%s", to, name) < 512);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0 && write(fd, p, len) == (ssize_t)len && close(fd) == 0);
  free(p);
}

/* Intends v's batch, as indices idx or gathered, in a state dir. */
static void intend_in(const char *dir, const struct change *v, size_t n_v,
                      const uint32_t *idx, size_t n, char ref[STATE_REF_LEN])
{
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct strlist paths;
  struct state *s = statefx_open(dir, ROOT, DIST);

  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/*") == 0);
  CHECK_EQ_INT(intend_copy(s, DIST, &paths, v, n_v, idx, n, &in, &err), 0);
  REQUIRE(in != NULL);
  memcpy(ref, in->ref, STATE_REF_LEN);
  state_close(s);
  strlist_free(&paths);
}

/* A batch given as indices is the batch in that order, with the
 * reference the same batch gathered gets (in a copy of the state, so
 * the id and the sequence number are the same). */
static void test_intent_by_index_equals_the_gathered_batch(void)
{
  static const uint32_t idx[] = {4, 0, 2};
  const struct intent *a;
  struct change *v = changes(5, 2);
  struct change g[3];
  char ra[STATE_REF_LEN];
  char rb[STATE_REF_LEN];
  struct state *s;
  char d1[256];
  char d2[256];
  size_t i;

  test_tmpdir(d1, sizeof(d1));
  test_tmpdir(d2, sizeof(d2));
  baseline(d1);
  copy_file(d1, d2, "manifest");
  for (i = 0; i < 3; i++)
    g[i] = v[idx[i]];
  intend_in(d1, v, 5, idx, 3, ra);
  intend_in(d2, g, 3, NULL, 3, rb);
  CHECK_EQ_STR(ra, rb);
  s = statefx_open(d1, ROOT, DIST);
  REQUIRE(state_intent_count(s) == 1);
  a = state_intent_at(s, 0);
  REQUIRE(a->n_changes == 3);
  for (i = 0; i < 3; i++) {
    CHECK_EQ_STR(a->changes[i].entry.path, v[idx[i]].entry.path);
    CHECK_EQ_INT(a->changes[i].entry.size, v[idx[i]].entry.size);
    CHECK_EQ_INT(change_kind(&a->changes[i]), change_kind(&v[idx[i]]));
  }
  state_close(s);
  changes_free(v, 5);
  test_rmtree(d1);
  test_rmtree(d2);
}

static void test_full_disk_mid_record_leaves_the_journal(void)
{
  struct cfw_err err = {0};
  unsigned char *before;
  unsigned char *after;
  struct state *s;
  char dir[256];
  size_t n1;
  size_t n2;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  s = statefx_open(dir, ROOT, DIST);
  REQUIRE(intend(s, 2, 5, &err) != NULL);
  before = test_slurp(dir, "journal", &n1);
  /* Past the first chunk, well short of the record's end. */
  statefx_limit_file_size(n1 + (size_t)300 * 1024);
  CHECK(intend(s, 20000, 6, &err) == NULL);
  CHECK_CONTAINS(err.msg, "nothing was recorded");
  CHECK_EQ_INT(state_intent_count(s), 1);
  CHECK_EQ_INT(state_journal_bytes(s), n1);
  after = test_slurp(dir, "journal", &n2);
  CHECK(n1 == n2 && memcmp(before, after, n1) == 0);
  /* The next record follows the first as if nothing happened. */
  REQUIRE(intend(s, 3, 7, &err) != NULL);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 2);
  CHECK_EQ_INT(state_intent_at(s, 1)->n_changes, 3);
  state_close(s);
  free(before);
  free(after);
  test_rmtree(dir);
}

static void test_full_disk_on_a_new_journal_leaves_none(void)
{
  struct cfw_err err = {0};
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  REQUIRE(!test_exists(dir, "journal"));
  s = statefx_open(dir, ROOT, DIST);
  statefx_limit_file_size((size_t)300 * 1024);
  CHECK(intend(s, 20000, 6, &err) == NULL);
  CHECK_CONTAINS(err.msg, "nothing was recorded");
  CHECK(!test_exists(dir, "journal"));
  CHECK_EQ_INT(state_intent_count(s), 0);
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 0);
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 1);
  state_close(s);
  test_rmtree(dir);
}

/* The append that failed had made the journal, and removed it: the next
 * one, once there is room, must make it again, not write on through the
 * descriptor of the removed file, where no load would ever read it (a
 * kill then loses an intent whose batch was sent). */
static void test_full_disk_on_a_new_journal_then_room(void)
{
  struct cfw_err err = {0};
  struct rlimit rl;
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  s = statefx_open(dir, ROOT, DIST);
  REQUIRE(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  statefx_limit_file_size_soft((size_t)300 * 1024);
  CHECK(intend(s, 20000, 6, &err) == NULL);
  CHECK(!test_exists(dir, "journal"));
  REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0); /* room again */
  REQUIRE(intend(s, 3, 7, &err) != NULL);
  CHECK(test_exists(dir, "journal"));
  state_close(s);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_intent_count(s), 1);
  state_close(s);
  test_rmtree(dir);
}

static void test_too_large_intent_writes_nothing(void)
{
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct change *v = changes(1, 1);
  struct strlist paths;
  struct state *s;
  char dir[256];
  char *huge = malloc(STATEFMT_URL_MAX + 2);

  REQUIRE(huge != NULL);
  memset(huge, 'a', STATEFMT_URL_MAX + 1);
  huge[0] = '/';
  huge[STATEFMT_URL_MAX + 1] = '\0';
  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  s = statefx_open(dir, ROOT, DIST);
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, huge) == 0);
  CHECK_EQ_INT(intend_copy(s, DIST, &paths, v, 1, NULL, 1, &in, &err), -EFBIG);
  CHECK_CONTAINS(err.msg, "too large");
  CHECK(!test_exists(dir, "journal"));
  CHECK_EQ_INT(state_intent_count(s), 0);
  state_close(s);
  strlist_free(&paths);
  changes_free(v, 1);
  free(huge);
  test_rmtree(dir);
}

/* A baseline of n files: its snapshot is streamed (compaction). */
static void baseline_of(const char *dir, size_t n)
{
  struct cfw_err err = {0};
  struct change *v = changes(n, 1);
  struct state *s = statefx_open(dir, ROOT, DIST);

  CHECK_EQ_INT(state_baseline(s, v, n, &err), 0);
  state_close(s);
  changes_free(v, n);
}

static void test_big_streamed_snapshot_loads_back(void)
{
  unsigned char *p;
  struct state *s;
  char dir[256];
  size_t len;

  test_tmpdir(dir, sizeof(dir));
  baseline_of(dir, 20000);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(manifest_count(state_manifest(s)), 20000);
  CHECK(manifest_find(state_manifest(s), "dir0/page-19999.html") != NULL);
  p = test_slurp(dir, "manifest", &len);
  CHECK(len > (size_t)4 * 256 * 1024);
  CHECK_EQ_INT(state_snapshot_bytes(s), len);
  CHECK(!test_exists(dir, "manifest.tmp"));
  free(p);
  state_close(s);
  test_rmtree(dir);
}

static void test_full_disk_mid_snapshot_leaves_the_old_one(void)
{
  struct cfw_err err = {0};
  struct change *v = changes(20000, 8);
  unsigned char *before;
  struct state *s;
  char dir[256];
  size_t n1;

  test_tmpdir(dir, sizeof(dir));
  baseline(dir);
  before = test_slurp(dir, "manifest", &n1);
  s = statefx_open(dir, ROOT, DIST);
  CHECK_EQ_INT(state_record(s, v, 20000, &err), 0);
  /* Past the snapshot's first chunk, well short of its end; the
   * journal written above is not appended to again. */
  statefx_limit_file_size((size_t)300 * 1024);
  statefx_check_failed_compact(s, dir, ROOT, DIST, before, n1, 20000);
  free(before);
  changes_free(v, 20000);
  test_rmtree(dir);
}

/* Each case alone (test.h): a case sets a hard file size limit (statefx.h). */
TEST_MAIN_ALONE(TEST(test_streamed_intent_without_changes_equals_put),
                TEST(test_streamed_intent_of_one_change_equals_put),
                TEST(test_streamed_intent_of_many_chunks_equals_put),
                TEST(test_streamed_intent_stops_at_the_sinks_error),
                TEST(test_intent_with_a_path_too_long_is_too_large),
                TEST(test_big_streamed_intent_loads_back_byte_for_byte),
                TEST(test_intent_by_index_equals_the_gathered_batch),
                TEST(test_full_disk_mid_record_leaves_the_journal),
                TEST(test_full_disk_on_a_new_journal_leaves_none),
                TEST(test_full_disk_on_a_new_journal_then_room),
                TEST(test_too_large_intent_writes_nothing),
                TEST(test_streamed_snapshot_equals_put),
                TEST(test_big_streamed_snapshot_loads_back),
                TEST(test_full_disk_mid_snapshot_leaves_the_old_one))
