/* SPDX-License-Identifier: MIT */
#include "buf.h"
#include "jsonout.h"
#include "test.h"
#include "util.h"

/* The string jsonout_bytes makes of s[0..n), copied into out (n * 4 + 1
 * bytes); returns its length. */
static size_t mapped(const char *s, size_t n, char *out)
{
  json_t *v = jsonout_bytes(s, n);
  size_t len;

  CHECK(v != NULL && json_is_string(v));
  if (v == NULL)
    exit(2);
  len = json_string_length(v);
  memcpy(out, json_string_value(v), len + 1);
  json_decref(v);
  return len;
}

static void check_maps(const char *s, size_t n, const char *want)
{
  char out[256];

  CHECK_EQ_INT(mapped(s, n, out), strlen(want));
  CHECK_EQ_STR(out, want);
}

#define CHECK_MAPS(lit, want) check_maps(lit, sizeof(lit) - 1, want)

/* The inverse the header documents: \\ is a backslash, \xNN a byte. */
static size_t unmap(const char *s, size_t n, char *out)
{
  size_t o = 0;
  size_t i = 0;
  unsigned v = 0;

  while (i < n) {
    if (s[i] != '\\') {
      out[o++] = s[i++];
      continue;
    }
    if (i + 1 < n && s[i + 1] == '\\') {
      out[o++] = '\\';
      i += 2;
      continue;
    }
    /* Anything else after a backslash would be ambiguous. */
    CHECK(i + 3 < n && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1);
    out[o++] = (char)v;
    i += 4;
  }
  return o;
}

static void test_valid_utf8_is_kept_as_is(void)
{
  CHECK_MAPS("index.html", "index.html");
  CHECK_MAPS("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
  CHECK_MAPS("new\nline\ttab\x01\x7f\"q\"", "new\nline\ttab\x01\x7f\"q\"");
  CHECK_MAPS("", "");
}

static void test_backslash_is_doubled(void)
{
  CHECK_MAPS("a\\b", "a\\\\b");
  /* The text \xff in a name is not the byte 0xff. */
  CHECK_MAPS("\\xff", "\\\\xff");
  CHECK_MAPS("\xff", "\\xff");
}

static void test_bytes_that_are_not_utf8_become_hex(void)
{
  CHECK_MAPS("bad\xff\xfe.html", "bad\\xff\\xfe.html");
  CHECK_MAPS("\x80", "\\x80");
  CHECK_MAPS("\xc0\x80", "\\xc0\\x80");                   /* overlong NUL */
  CHECK_MAPS("\xe0\x80\x80", "\\xe0\\x80\\x80");          /* overlong */
  CHECK_MAPS("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* a surrogate */
  CHECK_MAPS("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
  CHECK_MAPS("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
  CHECK_MAPS("half\xc3", "half\\xc3"); /* cut at the end */
  CHECK_MAPS("\xe2\x82"
             "A",
             "\\xe2\\x82A");                   /* cut in the middle */
  CHECK_MAPS("\xc3\xc3\xa9", "\\xc3\xc3\xa9"); /* then a valid one */
}

static void test_nul_becomes_hex(void)
{
  CHECK_MAPS("a\0b", "a\\x00b");
}

/* Any bytes map to a string jansson accepts, and back to those bytes. */
static void test_any_bytes_round_trip(void)
{
  static const char special[] = "\\\xc3\xa9\xe2\x82\xac\xf0\x9f\xed\xff";
  char in[64];
  char out[64 * 4 + 1];
  char back[64 * 4];
  uint32_t x = 4242;
  size_t n;
  size_t len;
  int i;
  size_t j;

  for (i = 0; i < 20000; i++) {
    n = (size_t)i % sizeof(in);
    for (j = 0; j < n; j++) {
      x = x * 1103515245u + 12345u;
      /* Half the bytes from those that matter: \, UTF-8 leads, tails. */
      if (x >> 16 & 1)
        in[j] = special[(x >> 20) % (sizeof(special) - 1)];
      else
        in[j] = (char)(x >> 20);
    }
    len = mapped(in, n, out);
    CHECK_EQ_INT(unmap(out, len, back), n);
    CHECK(memcmp(back, in, n) == 0);
  }
}

static void test_dump_is_compact_and_capped(void)
{
  json_t *o = jsonout_object();
  struct buf b;

  CHECK_EQ_INT(jsonout_set(o, "name", jsonout_bytes("a\xff", 2)), 0);
  CHECK_EQ_INT(jsonout_set(o, "n", json_integer(3)), 0);
  CHECK_EQ_INT(jsonout_set(o, "usd", json_real(0.005)), 0);
  CHECK_EQ_INT(jsonout_set(o, "ok", json_true()), 0);
  buf_init(&b, 1024);
  CHECK_EQ_INT(jsonout_dump(o, &b), 0);
  CHECK_EQ_STR(buf_str(&b),
               "{\"name\":\"a\\\\xff\",\"n\":3,\"usd\":0.005,\"ok\":true}");
  buf_free(&b);
  buf_init(&b, 10);
  CHECK_EQ_INT(jsonout_dump(o, &b), -E2BIG);
  buf_free(&b);
  json_decref(o);
}

static void test_set_releases_value_on_failure(void)
{
  json_t *o = jsonout_object();

  /* A NULL object or value (a failed allocation) is an error, and the
   * value is not leaked (ASan would say). */
  CHECK_EQ_INT(jsonout_set(NULL, "k", jsonout_bytes("x", 1)), -ENOMEM);
  CHECK_EQ_INT(jsonout_set(o, "k", NULL), -ENOMEM);
  CHECK_EQ_INT(json_object_size(o), 0);
  json_decref(o);
}

TEST_MAIN(TEST(test_valid_utf8_is_kept_as_is), TEST(test_backslash_is_doubled),
          TEST(test_bytes_that_are_not_utf8_become_hex),
          TEST(test_nul_becomes_hex), TEST(test_any_bytes_round_trip),
          TEST(test_dump_is_compact_and_capped),
          TEST(test_set_releases_value_on_failure))
