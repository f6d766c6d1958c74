/* SPDX-License-Identifier: MIT */
#include "err.h"
#include "json.h"
#include "test.h"
#include "util.h"

/* Parses a NUL-terminated document; returns the parser's result. */
static int parse(const char *doc, struct json_object *o, struct cfw_err *err)
{
  cfw_err_clear(err);
  return json_object_parse(doc, strlen(doc), o, err);
}

/* Writes the member "kNNNN":0, at p; returns its length. */
static int add_member(char *p, size_t i)
{
  return snprintf(p, 16, "\"k%04zu\":0,", i);
}

/* Checks that doc is refused with code and a message containing why. */
static void check_rejects(const char *doc, int code, const char *why)
{
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(parse(doc, &o, &err), code);
  CHECK_EQ_INT(err.code, code);
  CHECK_CONTAINS(err.msg, why);
  CHECK_EQ_INT(o.n, 0);
  CHECK(o.members == NULL && o.arena == NULL);
}

static void test_parses_strings_numbers_and_literals(void)
{
  struct json_object o;
  struct cfw_err err;
  double d = 0;

  CHECK_EQ_INT(parse(" {\"s\": \"x\", \"n\": -12.5e1, \"t\": true, "
                     "\"f\": false, \"z\": null}\n",
                     &o, &err),
               0);
  CHECK_EQ_INT(o.n, 5);
  CHECK_EQ_STR(json_get_string(&o, "s"), "x");
  CHECK_EQ_INT(json_get_number(&o, "n", &d), 0);
  CHECK(d == -125.0);
  CHECK(json_get(&o, "t")->type == JSON_BOOL && json_get(&o, "t")->b);
  CHECK(json_get(&o, "f")->type == JSON_BOOL && !json_get(&o, "f")->b);
  CHECK(json_get(&o, "z")->type == JSON_NULL);
  CHECK(json_get(&o, "missing") == NULL);
  json_object_free(&o);
}

static void test_empty_object_is_valid(void)
{
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(parse("{}", &o, &err), 0);
  CHECK_EQ_INT(o.n, 0);
  CHECK(json_get(&o, "a") == NULL);
  json_object_free(&o);
  CHECK_EQ_INT(parse(" { \t\r\n} ", &o, &err), 0);
  json_object_free(&o);
}

static void test_get_accessors_check_the_type(void)
{
  struct json_object o;
  struct cfw_err err;
  double d = 7;

  CHECK_EQ_INT(parse("{\"s\":\"1\",\"n\":1}", &o, &err), 0);
  CHECK(json_get_string(&o, "n") == NULL);
  CHECK_EQ_INT(json_get_number(&o, "s", &d), -EINVAL);
  CHECK_EQ_INT(json_get_number(&o, "x", &d), -ENOENT);
  CHECK(d == 7);
  json_object_free(&o);
}

static void test_decodes_simple_escapes(void)
{
  struct json_object o;
  struct cfw_err err;
  const struct json_value *v;

  CHECK_EQ_INT(parse("{\"k\\n\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", &o, &err),
               0);
  v = json_get(&o, "k\n");
  CHECK(v != NULL);
  if (v != NULL) {
    CHECK_EQ_STR(v->str, "a\"b\\c/d\b\f\n\r\t");
    CHECK_EQ_INT(v->len, 12);
  }
  json_object_free(&o);
}

static void test_decodes_unicode_escapes_to_utf8(void)
{
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(parse("{\"a\":\"\\u0041\\u00e9\\u20AC\\uffff\"}", &o, &err), 0);
  CHECK_EQ_STR(json_get_string(&o, "a"), "A\xc3\xa9\xe2\x82\xac\xef\xbf\xbf");
  json_object_free(&o);
}

static void test_decodes_surrogate_pair_to_one_code_point(void)
{
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(parse("{\"a\":\"\\ud83d\\ude00|\\uDBFF\\uDFFF\"}", &o, &err), 0);
  CHECK_EQ_STR(json_get_string(&o, "a"), "\xf0\x9f\x98\x80|\xf4\x8f\xbf\xbf");
  json_object_free(&o);
}

static void test_rejects_invalid_surrogates(void)
{
  check_rejects("{\"a\":\"\\ud83d\"}", -EINVAL, "without low surrogate");
  check_rejects("{\"a\":\"\\ud83dx\"}", -EINVAL, "without low surrogate");
  check_rejects("{\"a\":\"\\ud83d\\u0041\"}", -EINVAL, "without low surrogate");
  check_rejects("{\"a\":\"\\ud83d\\ud83d\"}", -EINVAL, "without low surrogate");
  check_rejects("{\"a\":\"\\ude00\"}", -EINVAL, "without high surrogate");
}

static void test_rejects_bad_escapes(void)
{
  check_rejects("{\"a\":\"\\x\"}", -EINVAL, "invalid escape");
  check_rejects("{\"a\":\"\\u12\"}", -EINVAL, "\\u escape");
  check_rejects("{\"a\":\"\\u12g4\"}", -EINVAL, "bad hex digit");
  check_rejects("{\"a\":\"\\u0000\"}", -EINVAL, "\\u0000");
  check_rejects("{\"a\":\"\\", -EINVAL, "unterminated string");
}

static void test_rejects_unterminated_string(void)
{
  check_rejects("{\"a\":\"abc", -EINVAL, "unterminated string");
  check_rejects("{\"ab", -EINVAL, "unterminated string");
}

static void test_rejects_control_characters_in_strings(void)
{
  check_rejects("{\"a\":\"x\ny\"}", -EINVAL, "control character");
  check_rejects("{\"a\":\"\t\"}", -EINVAL, "control character");
}

static void test_rejects_embedded_nul_byte(void)
{
  static const char doc[] = "{\"a\":\"x\0y\"}";
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(json_object_parse(doc, sizeof(doc) - 1, &o, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "offset 7: control character");
}

static void test_validates_raw_utf8(void)
{
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(
      parse("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", &o, &err), 0);
  CHECK_EQ_STR(json_get_string(&o, "a"),
               "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  json_object_free(&o);
  check_rejects("{\"a\":\"\xc0\x80\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\xe0\x80\x80\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\xed\xa0\x80\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\xf4\x90\x80\x80\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\xf5\x80\x80\x80\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\x80\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\xe2\x82\"}", -EINVAL, "invalid UTF-8");
  check_rejects("{\"a\":\"\xe2\x82", -EINVAL, "invalid UTF-8");
}

static void test_rejects_trailing_garbage(void)
{
  struct json_object o;
  struct cfw_err err;

  check_rejects("{} x", -EINVAL, "trailing data");
  check_rejects("{}{}", -EINVAL, "trailing data");
  check_rejects("{\"a\":1}}", -EINVAL, "trailing data");
  CHECK_EQ_INT(parse("{\"a\":1} \r\n\t ", &o, &err), 0);
  json_object_free(&o);
}

static void test_parses_numbers_per_the_grammar(void)
{
  static const char *const good[] = {"0",      "-0",          "7",    "-12",
                                     "1.25",   "1e3",         "2E+2", "5e-1",
                                     "-0.0e0", "123456789012"};
  static const double want[] = {0,    0,   7,   -12, 1.25,
                                1000, 200, 0.5, 0,   123456789012.0};
  char doc[64];
  struct json_object o;
  struct cfw_err err;
  double d;
  size_t i;

  for (i = 0; i < ARRAY_SIZE(good); i++) {
    (void)snprintf(doc, sizeof(doc), "{\"n\":%s}", good[i]);
    CHECK_EQ_INT(parse(doc, &o, &err), 0);
    d = -1;
    CHECK_EQ_INT(json_get_number(&o, "n", &d), 0);
    CHECK(d == want[i]);
    json_object_free(&o);
  }
}

static void test_rejects_malformed_numbers(void)
{
  static const char *const bad[] = {"01",  "1.",       ".5",   "+1",  "-",
                                    "1e",  "1e+",      "0x10", "--1", "1.e3",
                                    "NaN", "Infinity", "-.5"};
  char doc[64];
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    (void)snprintf(doc, sizeof(doc), "{\"n\":%s}", bad[i]);
    check_rejects(doc, -EINVAL, "offset");
  }
}

static void test_rejects_numbers_out_of_bounds(void)
{
  char doc[128];

  check_rejects("{\"n\":1e400}", -EINVAL, "out of range");
  check_rejects("{\"n\":-1e400}", -EINVAL, "out of range");
  (void)snprintf(doc, sizeof(doc), "{\"n\":1%065d}", 0);
  check_rejects(doc, -E2BIG, "number too long");
}

static void test_skips_nested_values(void)
{
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(parse("{\"a\":[1,\"x\",{\"b\":[]},null],\"o\":{\"k\":{}},"
                     "\"s\":\"after\"}",
                     &o, &err),
               0);
  CHECK_EQ_INT(o.n, 3);
  CHECK(json_get(&o, "a")->type == JSON_NESTED);
  CHECK(json_get(&o, "o")->type == JSON_NESTED);
  CHECK_EQ_STR(json_get_string(&o, "s"), "after");
  json_object_free(&o);
  check_rejects("{\"a\":[1,]}", -EINVAL, "invalid value");
  check_rejects("{\"a\":{\"k\"}}", -EINVAL, "expected ':'");
  check_rejects("{\"a\":[1 2]}", -EINVAL, "expected ','");
}

static void test_bounds_nesting_depth(void)
{
  char doc[256];
  struct json_object o;
  struct cfw_err err;
  size_t i;
  size_t n = 0;

  /* The outer object is level 1, so JSON_MAX_DEPTH - 1 arrays fit. */
  n += (size_t)snprintf(doc, sizeof(doc), "{\"a\":");
  for (i = 0; i < JSON_MAX_DEPTH - 1; i++)
    doc[n++] = '[';
  for (i = 0; i < JSON_MAX_DEPTH - 1; i++)
    doc[n++] = ']';
  memcpy(doc + n, "}", 2);
  CHECK_EQ_INT(parse(doc, &o, &err), 0);
  json_object_free(&o);

  n = (size_t)snprintf(doc, sizeof(doc), "{\"a\":");
  for (i = 0; i < JSON_MAX_DEPTH; i++)
    doc[n++] = '[';
  for (i = 0; i < JSON_MAX_DEPTH; i++)
    doc[n++] = ']';
  memcpy(doc + n, "}", 2);
  check_rejects(doc, -E2BIG, "nesting too deep");
}

static void test_rejects_duplicate_keys(void)
{
  check_rejects("{\"a\":1,\"b\":2,\"a\":3}", -EINVAL, "duplicate key");
  /* The same key spelled with an escape is still the same key. */
  check_rejects("{\"a\":1,\"\\u0061\":1}", -EINVAL, "duplicate key");
}

static void test_rejects_what_is_not_one_object(void)
{
  check_rejects("", -EINVAL, "expected '{'");
  check_rejects("   ", -EINVAL, "expected '{'");
  check_rejects("[]", -EINVAL, "expected '{'");
  check_rejects("\"s\"", -EINVAL, "expected '{'");
  check_rejects("{", -EINVAL, "expected a string key");
  check_rejects("{\"a\"", -EINVAL, "expected ':'");
  check_rejects("{\"a\":", -EINVAL, "unexpected end");
  check_rejects("{\"a\":1", -EINVAL, "unexpected end");
  check_rejects("{\"a\":1,}", -EINVAL, "expected a string key");
  check_rejects("{a:1}", -EINVAL, "expected a string key");
  check_rejects("{\"a\":tru}", -EINVAL, "invalid value");
  check_rejects("{\"a\":nul}", -EINVAL, "invalid value");
  check_rejects("{\"a\":True}", -EINVAL, "invalid value");
  check_rejects("\xef\xbb\xbf{}", -EINVAL, "expected '{'");
}

static void test_uses_only_len_bytes(void)
{
  static const char doc[] = "{\"a\":\"b\"}GARBAGE";
  struct json_object o;
  struct cfw_err err;

  CHECK_EQ_INT(json_object_parse(doc, 9, &o, &err), 0);
  CHECK_EQ_STR(json_get_string(&o, "a"), "b");
  json_object_free(&o);
  CHECK_EQ_INT(json_object_parse(doc, 8, &o, &err), -EINVAL);
}

static void test_bounds_size_and_member_count(void)
{
  struct json_object o;
  struct cfw_err err;
  char *doc;
  size_t n = 0;
  size_t i;

  CHECK_EQ_INT(json_object_parse("{}", JSON_MAX_INPUT + 1, &o, &err), -E2BIG);
  doc = malloc((size_t)16 * (JSON_MAX_MEMBERS + 2));
  CHECK(doc != NULL);
  if (doc == NULL)
    return;
  doc[n++] = '{';
  for (i = 0; i < JSON_MAX_MEMBERS; i++)
    n += (size_t)add_member(doc + n, i);
  doc[n - 1] = '}';
  CHECK_EQ_INT(json_object_parse(doc, n, &o, &err), 0);
  CHECK_EQ_INT(o.n, JSON_MAX_MEMBERS);
  json_object_free(&o);
  doc[n - 1] = ',';
  n += (size_t)add_member(doc + n, i);
  doc[n - 1] = '}';
  CHECK_EQ_INT(json_object_parse(doc, n, &o, &err), -E2BIG);
  CHECK_CONTAINS(err.msg, "too many members");
  free(doc);
}

static void test_error_message_never_quotes_the_input(void)
{
  static const char *const docs[] = {
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG\",\"x\":bad}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG\\q\"}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI/K7MDENG\"} trailing",
      "{\"wJalrXUtnFEMI/K7MDENG\":1,\"wJalrXUtnFEMI/K7MDENG\":1}",
  };
  struct json_object o;
  struct cfw_err err;
  size_t i;

  for (i = 0; i < ARRAY_SIZE(docs); i++) {
    CHECK(parse(docs[i], &o, &err) < 0);
    CHECK(strstr(err.msg, "wJalrXUtnFEMI") == NULL);
    CHECK(strstr(err.msg, "MDENG") == NULL);
  }
}

static void test_every_truncation_is_rejected(void)
{
  static const char doc[] = "{\"a\":\"\\ud83d\\ude00\xc3\xa9\",\"n\":-1.5e3,"
                            "\"l\":[true,{\"x\":null}]}";
  struct json_object o;
  struct cfw_err err;
  size_t i;

  for (i = 0; i < sizeof(doc) - 1; i++)
    CHECK_EQ_INT(json_object_parse(doc, i, &o, &err), -EINVAL);
  CHECK_EQ_INT(json_object_parse(doc, sizeof(doc) - 1, &o, &err), 0);
  json_object_free(&o);
}

/* Parses doc[0..len); returns 1 if it was accepted. */
static int parse_any(const char *doc, size_t len)
{
  struct json_object o;
  struct cfw_err err;

  if (json_object_parse(doc, len, &o, &err) < 0) {
    CHECK(err.code < 0 && err.msg[0] != '\0');
    return 0;
  }
  CHECK(o.n <= JSON_MAX_MEMBERS);
  json_object_free(&o);
  return 1;
}

/* A fixed-seed mutation run: whatever the bytes, the parser must return
 * cleanly (ASan and valgrind watch the memory). */
static void test_survives_mutated_input(void)
{
  static const char seed[] =
      "{\"Version\":1,\"AccessKeyId\":\"AKIA\\u0041\",\"S\":\"\\ud83d\\ude00\","
      "\"E\":[1,{\"a\":-2.5e-3}],\"t\":true,\"n\":null}";
  char doc[sizeof(seed)];
  uint32_t x = 12345;
  int i;
  int j;
  int ok = 0;

  for (i = 0; i < 20000; i++) {
    memcpy(doc, seed, sizeof(seed));
    for (j = 0; j < 1 + i % 4; j++) {
      x = x * 1103515245u + 12345u;
      doc[(x >> 8) % (sizeof(seed) - 1)] = (char)(x >> 20);
    }
    ok += parse_any(doc, sizeof(seed) - 1 - (size_t)(i % 3));
  }
  CHECK(ok > 0);
}

static void test_free_accepts_null_and_empty(void)
{
  struct json_object o;

  memset(&o, 0, sizeof(o));
  json_object_free(NULL);
  json_object_free(&o);
  CHECK(o.arena == NULL);
}

TEST_MAIN(
    TEST(test_parses_strings_numbers_and_literals),
    TEST(test_empty_object_is_valid), TEST(test_get_accessors_check_the_type),
    TEST(test_decodes_simple_escapes),
    TEST(test_decodes_unicode_escapes_to_utf8),
    TEST(test_decodes_surrogate_pair_to_one_code_point),
    TEST(test_rejects_invalid_surrogates), TEST(test_rejects_bad_escapes),
    TEST(test_rejects_unterminated_string),
    TEST(test_rejects_control_characters_in_strings),
    TEST(test_rejects_embedded_nul_byte), TEST(test_validates_raw_utf8),
    TEST(test_rejects_trailing_garbage),
    TEST(test_parses_numbers_per_the_grammar),
    TEST(test_rejects_malformed_numbers),
    TEST(test_rejects_numbers_out_of_bounds), TEST(test_skips_nested_values),
    TEST(test_bounds_nesting_depth), TEST(test_rejects_duplicate_keys),
    TEST(test_rejects_what_is_not_one_object), TEST(test_uses_only_len_bytes),
    TEST(test_bounds_size_and_member_count),
    TEST(test_error_message_never_quotes_the_input),
    TEST(test_every_truncation_is_rejected), TEST(test_survives_mutated_input),
    TEST(test_free_accepts_null_and_empty))
