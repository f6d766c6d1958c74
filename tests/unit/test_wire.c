/* SPDX-License-Identifier: MIT */
/* The state files' writer (wire.h) in its three modes: buffering all,
 * counting only, handing chunks to a sink; and the SHA-256 over
 * pieces. */
#include "wire.h"

#include "test.h"

/* The same fields, whatever the writer. */
static void put_fields(struct wire_out *w, size_t n)
{
  struct tree_entry e;
  size_t i;

  memset(&e, 0, sizeof(e));
  e.path = (char *)"a/b.html";
  e.size = 12;
  e.flags = TREE_HASHED;
  for (i = 0; i < n; i++) {
    wire_put_u8(w, (uint8_t)i);
    wire_put_u32(w, (uint32_t)i * 7);
    wire_put_u64(w, (uint64_t)i << 33);
    wire_put_str(w, "/some/url/path", 64);
    wire_put_entry(w, &e);
  }
}

struct sink {
  struct buf b;
  size_t calls;
  size_t largest;
  int fail_rc; /* returned from the second call on, if set */
};

static int sink_put(void *arg, const void *p, size_t n)
{
  struct sink *k = arg;

  if (k->fail_rc != 0 && k->calls >= 1)
    return k->fail_rc;
  k->calls++;
  if (n > k->largest)
    k->largest = n;
  return buf_add(&k->b, p, n);
}

static void test_counting_writer_counts_what_buffering_holds(void)
{
  struct wire_out all;
  struct wire_out count;
  size_t n;

  for (n = 0; n <= 300; n += 150) {
    wire_out_init(&all, SIZE_MAX);
    wire_out_init_count(&count, UINT64_MAX);
    put_fields(&all, n);
    put_fields(&count, n);
    CHECK_EQ_INT(all.rc, 0);
    CHECK_EQ_INT(count.rc, 0);
    CHECK_EQ_INT(wire_out_len(&count), all.b.len);
    CHECK_EQ_INT(wire_out_len(&all), all.b.len);
    CHECK_EQ_INT(count.b.len, 0); /* keeps nothing */
    wire_out_free(&all);
    wire_out_free(&count);
  }
}

static void test_counting_writer_refuses_past_its_max(void)
{
  struct wire_out w;

  wire_out_init_count(&w, 12);
  wire_put_u64(&w, 1);
  wire_put_u32(&w, 2);
  CHECK_EQ_INT(w.rc, 0);
  wire_put_u8(&w, 3);
  CHECK_EQ_INT(w.rc, -E2BIG);
  CHECK_EQ_INT(wire_out_len(&w), 12);
  wire_out_free(&w);
}

static void test_sink_writer_hands_on_the_same_bytes_in_chunks(void)
{
  struct wire_out all;
  struct wire_out w;
  struct sink k;

  memset(&k, 0, sizeof(k));
  buf_init(&k.b, SIZE_MAX);
  wire_out_init(&all, SIZE_MAX);
  wire_out_init_sink(&w, 100, sink_put, &k);
  put_fields(&all, 200);
  put_fields(&w, 200);
  CHECK_EQ_INT(wire_out_flush(&w), 0);
  CHECK_EQ_INT(wire_out_flush(&w), 0); /* nothing left: no call */
  CHECK_EQ_INT(wire_out_len(&w), all.b.len);
  CHECK_EQ_INT(w.b.len, 0);
  CHECK_EQ_INT(k.b.len, all.b.len);
  CHECK(k.b.len == all.b.len && memcmp(k.b.data, all.b.data, k.b.len) == 0);
  CHECK(k.calls > 100);
  CHECK(k.largest < 100 + 64); /* a chunk and at most one field */
  wire_out_free(&w);
  wire_out_free(&all);
  buf_free(&k.b);
}

static void test_sink_writer_stops_at_the_sinks_error(void)
{
  struct wire_out w;
  struct sink k;

  memset(&k, 0, sizeof(k));
  buf_init(&k.b, SIZE_MAX);
  k.fail_rc = -ENOSPC;
  wire_out_init_sink(&w, 50, sink_put, &k);
  put_fields(&w, 100);
  CHECK_EQ_INT(w.rc, -ENOSPC);
  CHECK_EQ_INT(wire_out_flush(&w), -ENOSPC);
  CHECK_EQ_INT(k.calls, 1);
  wire_out_free(&w);
  buf_free(&k.b);
}

static void test_sha_over_pieces_equals_the_one_shot(void)
{
  unsigned char data[1000];
  unsigned char one[WIRE_HASH_LEN];
  unsigned char pieces[WIRE_HASH_LEN];
  struct wire_sha h;
  size_t i;

  for (i = 0; i < sizeof(data); i++)
    data[i] = (unsigned char)(i * 31);
  CHECK_EQ_INT(wire_sha256(data, sizeof(data), one), 0);
  CHECK_EQ_INT(wire_sha_init(&h), 0);
  for (i = 0; i < sizeof(data); i += 333)
    CHECK_EQ_INT(
        wire_sha_update(&h, data + i,
                        sizeof(data) - i < 333 ? sizeof(data) - i : 333),
        0);
  CHECK_EQ_INT(wire_sha_final(&h, pieces), 0);
  CHECK(memcmp(one, pieces, sizeof(one)) == 0);
  wire_sha_free(&h);
  wire_sha_free(&h); /* twice is fine */
  wire_sha_free(NULL);
}

TEST_MAIN(TEST(test_counting_writer_counts_what_buffering_holds),
          TEST(test_counting_writer_refuses_past_its_max),
          TEST(test_sink_writer_hands_on_the_same_bytes_in_chunks),
          TEST(test_sink_writer_stops_at_the_sinks_error),
          TEST(test_sha_over_pieces_equals_the_one_shot))
