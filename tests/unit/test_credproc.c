/* SPDX-License-Identifier: MIT */
/* credproc_parse_output on hostile input: what jansson is asked to
 * enforce (credproc.h) and what credproc checks on top.  These are the
 * cases of the hand-written parser's old test_json.c, run through the
 * credential_process path that replaced it. */
#include "credproc.h"
#include "creds.h"
#include "err.h"
#include "jsonmem.h"
#include "test.h"
#include "util.h"

#include <jansson.h>
#include <stdbool.h>

/* Example values from the AWS documentation; no error may quote them. */
#define KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN  "FwoGZXIvYXdzEXAMPLETOKENxyzzy"

/* The members every valid document starts with. */
#define KEYS                                                                   \
  "\"Version\":1,\"AccessKeyId\":\"" KEY_ID "\","                              \
  "\"SecretAccessKey\":\"" SECRET "\""

static int parse_n(const char *doc, size_t len, struct creds *c,
                   struct cfw_err *err)
{
  memset(c, 0, sizeof(*c));
  cfw_err_clear(err);
  return credproc_parse_output(doc, len, c, err);
}

static int parse(const char *doc, struct creds *c, struct cfw_err *err)
{
  return parse_n(doc, strlen(doc), c, err);
}

static void check_no_secret(const struct cfw_err *err)
{
  CHECK(err->msg[0] != '\0');
  CHECK(strstr(err->msg, "wJalrXUtnFEMI") == NULL);
  CHECK(strstr(err->msg, "EXAMPLEKEY") == NULL);
  CHECK(strstr(err->msg, "MDENG") == NULL);
  CHECK(strstr(err->msg, TOKEN) == NULL);
}

/* doc[0..len) is refused with code and a message containing why; no
 * credentials are left behind. */
static void check_rejects_n(const char *doc, size_t len, int code,
                            const char *why)
{
  struct creds c;
  struct cfw_err err;

  CHECK_EQ_INT(parse_n(doc, len, &c, &err), code);
  CHECK_EQ_INT(err.code, code);
  CHECK_CONTAINS(err.msg, why);
  check_no_secret(&err);
  CHECK(c.access_key_id == NULL && c.secret_access_key == NULL);
  CHECK(c.session_token == NULL);
}

static void check_rejects(const char *doc, int code, const char *why)
{
  check_rejects_n(doc, strlen(doc), code, why);
}

/* doc is accepted with the example keys. */
static void check_accepts(const char *doc)
{
  struct creds c;
  struct cfw_err err;

  CHECK_EQ_INT(parse(doc, &c, &err), 0);
  CHECK_EQ_STR(c.access_key_id, KEY_ID);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
}

static void test_extra_members_of_any_type_are_ignored(void)
{
  check_accepts(" {" KEYS ",\"s\":\"x\",\"n\":-12.5e1,\"t\":true,"
                "\"f\":false,\"z\":null,\"a\":[1,\"x\",{\"b\":[]},null],"
                "\"o\":{\"k\":{}}}\r\n\t ");
  /* Integers too large for jansson's json_int_t still parse (as reals). */
  check_accepts("{" KEYS ",\"big\":123456789012345678901234567890}");
}

static void test_version_must_be_the_number_1(void)
{
  static const char *const ok[] = {"1", "1.0", "1e0", "10e-1"};
  static const char *const bad[] = {"2", "0.5", "-1", "0"};
  char doc[256];
  size_t i;

  for (i = 0; i < ARRAY_SIZE(ok); i++) {
    (void)snprintf(doc, sizeof(doc),
                   "{\"Version\":%s,\"AccessKeyId\":\"" KEY_ID "\","
                   "\"SecretAccessKey\":\"" SECRET "\"}",
                   ok[i]);
    check_accepts(doc);
  }
  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    (void)snprintf(doc, sizeof(doc),
                   "{\"Version\":%s,\"AccessKeyId\":\"" KEY_ID "\","
                   "\"SecretAccessKey\":\"" SECRET "\"}",
                   bad[i]);
    check_rejects(doc, -EINVAL, "is not supported (only 1)");
  }
}

static void test_wrong_types_are_refused(void)
{
  static const char *const rest = "\"SecretAccessKey\":\"" SECRET "\"}";
  static const struct {
    const char *doc;
    const char *why;
  } cases[] = {
      {"{\"Version\":\"1\",\"AccessKeyId\":\"A\",", "no numeric Version"},
      {"{\"Version\":true,\"AccessKeyId\":\"A\",", "no numeric Version"},
      {"{\"Version\":null,\"AccessKeyId\":\"A\",", "no numeric Version"},
      {"{\"Version\":[1],\"AccessKeyId\":\"A\",", "no numeric Version"},
      {"{\"AccessKeyId\":\"A\",", "no numeric Version"},
      {"{\"Version\":1,\"AccessKeyId\":5,", "no AccessKeyId string"},
      {"{\"Version\":1,\"AccessKeyId\":null,", "no AccessKeyId string"},
      {"{\"Version\":1,\"AccessKeyId\":{},", "no AccessKeyId string"},
      {"{\"Version\":1,\"AccessKeyId\":\"\",", "no AccessKeyId string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SessionToken\":5,",
       "SessionToken is not a string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SessionToken\":[],",
       "SessionToken is not a string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"Expiration\":1795608000,",
       "Expiration is not a string"},
      {"{\"Version\":1,\"AccessKeyId\":\"A\",\"Expiration\":\"soon\",",
       "Expiration is not an ISO 8601"},
  };
  char doc[256];
  size_t i;

  for (i = 0; i < ARRAY_SIZE(cases); i++) {
    (void)snprintf(doc, sizeof(doc), "%s%s", cases[i].doc, rest);
    check_rejects(doc, -EINVAL, cases[i].why);
  }
  check_rejects("{\"Version\":1,\"AccessKeyId\":\"A\","
                "\"SecretAccessKey\":true}",
                -EINVAL, "no SecretAccessKey string");
  check_rejects("{\"Version\":1,\"AccessKeyId\":\"A\","
                "\"SecretAccessKey\":\"\"}",
                -EINVAL, "no SecretAccessKey string");
}

static void test_null_token_and_expiration_mean_none(void)
{
  struct creds c;
  struct cfw_err err;

  CHECK_EQ_INT(
      parse("{" KEYS ",\"SessionToken\":null,\"Expiration\":null}", &c, &err),
      0);
  CHECK(c.session_token == NULL);
  CHECK_EQ_INT(c.expiration_s, 0);
  creds_free(&c);
}

static void test_escapes_in_values_are_decoded(void)
{
  struct creds c;
  struct cfw_err err;

  CHECK_EQ_INT(parse("{\"Version\":1,\"AccessKeyId\":\"\\u0041KIA\","
                     "\"SecretAccessKey\":\"a\\\"b\\\\c\\/d\\u00e9\\u20AC\","
                     "\"SessionToken\":\"\\ud83d\\ude00|\\uDBFF\\uDFFF\"}",
                     &c, &err),
               0);
  CHECK_EQ_STR(c.access_key_id, "AKIA");
  CHECK_EQ_STR(c.secret_access_key, "a\"b\\c/d\xc3\xa9\xe2\x82\xac");
  CHECK_EQ_STR(c.session_token, "\xf0\x9f\x98\x80|\xf4\x8f\xbf\xbf");
  creds_free(&c);
}

static void test_bad_escapes_are_refused(void)
{
  check_rejects("{" KEYS ",\"a\":\"\\x\"}", -EINVAL, "invalid escape");
  check_rejects("{" KEYS ",\"a\":\"\\u12\"}", -EINVAL, "json: offset");
  check_rejects("{" KEYS ",\"a\":\"\\u12g4\"}", -EINVAL, "json: offset");
  check_rejects("{" KEYS ",\"a\":\"\\u0000\"}", -EINVAL, "\\u0000");
  check_rejects("{" KEYS ",\"a\\u0000\":1}", -EINVAL, "\\u0000");
  check_rejects("{" KEYS ",\"a\":\"\\", -EINVAL, "json: offset");
}

static void test_lone_surrogates_are_refused(void)
{
  static const char *const bad[] = {"\\ud83d", "\\ud83dx", "\\ud83d\\u0041",
                                    "\\ud83d\\ud83d", "\\ude00"};
  char doc[256];
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    (void)snprintf(doc, sizeof(doc), "{" KEYS ",\"a\":\"%s\"}", bad[i]);
    check_rejects(doc, -EINVAL, "invalid \\u escape");
  }
}

static void test_control_characters_and_nul_are_refused(void)
{
  static const char nul[] = "{" KEYS ",\"a\":\"x\0y\"}";

  check_rejects("{" KEYS ",\"a\":\"x\ny\"}", -EINVAL,
                "control character in string");
  check_rejects("{" KEYS ",\"a\":\"\t\"}", -EINVAL,
                "control character in string");
  check_rejects_n(nul, sizeof(nul) - 1, -EINVAL, "json: offset");
}

static void test_invalid_utf8_is_refused(void)
{
  static const char *const bad[] = {
      "\xc0\x80",         /* overlong NUL */
      "\xe0\x80\x80",     /* overlong */
      "\xed\xa0\x80",     /* a surrogate */
      "\xf4\x90\x80\x80", /* past U+10FFFF */
      "\xf5\x80\x80\x80", "\x80", "\xe2\x82", "\xff",
  };
  char doc[256];
  size_t i;

  check_accepts("{" KEYS ",\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    (void)snprintf(doc, sizeof(doc), "{" KEYS ",\"a\":\"%s\"}", bad[i]);
    check_rejects(doc, -EINVAL, "invalid UTF-8");
    (void)snprintf(doc, sizeof(doc), "{" KEYS ",\"%s\":1}", bad[i]);
    check_rejects(doc, -EINVAL, "invalid UTF-8");
  }
  check_rejects("{" KEYS ",\"a\":\"\xe2\x82", -EINVAL, "json: offset");
}

/* Two readers could pick different values for a repeated key; jansson
 * compares keys once decoded, and in nested objects too. */
static void test_duplicate_keys_are_refused(void)
{
  check_rejects("{" KEYS ",\"AccessKeyId\":\"AKIAOTHER\"}", -EINVAL,
                "duplicate key");
  check_rejects("{" KEYS ",\"SecretAccessKe\\u0079\":\"x\"}", -EINVAL,
                "duplicate key");
  check_rejects("{" KEYS ",\"a\":1,\"a\":1}", -EINVAL, "duplicate key");
  check_rejects("{" KEYS ",\"o\":{\"k\":1,\"k\":2}}", -EINVAL, "duplicate key");
}

static void test_what_is_not_one_object_is_refused(void)
{
  static const struct {
    const char *doc;
    const char *why;
  } cases[] = {
      {"", "json: offset"},
      {"   ", "json: offset"},
      {"[]", "not an object"},
      {"[{" KEYS "}]", "not an object"},
      {"\"s\"", "expected an object"},
      {"1", "expected an object"},
      {"null", "expected an object"},
      {"{", "json: offset"},
      {"{\"a\"", "json: offset"},
      {"{\"a\":", "json: offset"},
      {"{\"a\":1", "json: offset"},
      {"{" KEYS ",}", "expected a string key"},
      {"{a:1}", "json: offset"},
      {"{\"a\" 1}", "expected ':'"},
      {"{" KEYS " \"b\":1}", "expected ',' or '}'"},
      {"{" KEYS ",\"l\":[1 2]}", "expected ',' or ']'"},
      {"{" KEYS ",\"l\":[1,]}", "json: offset"},
      {"{" KEYS ",\"a\":tru}", "invalid value"},
      {"{" KEYS ",\"a\":True}", "invalid value"},
      {"\xef\xbb\xbf{" KEYS "}", "json: offset"},
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(cases); i++)
    check_rejects(cases[i].doc, -EINVAL, cases[i].why);
}

static void test_trailing_data_is_refused(void)
{
  check_rejects("{" KEYS "} x", -EINVAL, "trailing data after the object");
  check_rejects("{" KEYS "}{}", -EINVAL, "trailing data after the object");
  check_rejects("{" KEYS "}}", -EINVAL, "trailing data after the object");
  check_accepts("{" KEYS "} \r\n\t ");
}

static void test_malformed_numbers_are_refused(void)
{
  static const char *const bad[] = {"01",  "1.",  ".5",   "+1",  "-",
                                    "1e",  "1e+", "0x10", "--1", "1.e3",
                                    "NaN", "Inf", "-.5"};
  char doc[256];
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++) {
    (void)snprintf(doc, sizeof(doc), "{" KEYS ",\"n\":%s}", bad[i]);
    check_rejects(doc, -EINVAL, "json: offset");
  }
  check_rejects("{" KEYS ",\"n\":1e400}", -EINVAL, "number out of range");
  check_rejects("{" KEYS ",\"n\":-1e400}", -EINVAL, "number out of range");
}

/* A document of n bytes: '{', KEYS, ",\"a\":", depth '[' and ']', '}'. */
static char *nested(size_t depth, size_t *n)
{
  static const char head[] = "{" KEYS ",\"a\":";
  char *doc = malloc(sizeof(head) + 2 * depth + 2);
  size_t len = sizeof(head) - 1;

  if (doc == NULL)
    exit(2);
  memcpy(doc, head, len);
  memset(doc + len, '[', depth);
  memset(doc + len + depth, ']', depth);
  len += 2 * depth;
  doc[len++] = '}';
  *n = len;
  return doc;
}

/* jansson stops at JSON_PARSER_MAX_DEPTH (2048) levels; the output cap
 * would allow 32k. */
static void test_nesting_depth_is_bounded(void)
{
  struct creds c;
  struct cfw_err err;
  size_t n;
  char *doc;

  doc = nested(100, &n);
  CHECK_EQ_INT(parse_n(doc, n, &c, &err), 0);
  creds_free(&c);
  free(doc);
  doc = nested(20000, &n);
  check_rejects_n(doc, n, -EINVAL, "nesting too deep");
  free(doc);
}

/* doc[0..n) is accepted. */
static void check_accepts_n(const char *doc, size_t n)
{
  struct creds c;
  struct cfw_err err;

  CHECK_EQ_INT(parse_n(doc, n, &c, &err), 0);
  CHECK_EQ_STR(c.secret_access_key, SECRET);
  creds_free(&c);
}

static void test_size_is_bounded_by_the_output_cap(void)
{
  static const char keys[] = "{" KEYS "}";
  size_t n = CREDPROC_MAX_OUTPUT;
  char *doc = malloc(n + 1);
  size_t i;

  if (doc == NULL)
    exit(2);
  memset(doc, ' ', n + 1);
  memcpy(doc, keys, sizeof(keys) - 1);
  check_accepts_n(doc, n);
  check_rejects_n(doc, n + 1, -E2BIG, "over");
  /* Thousands of members fill it, and there is no count limit. */
  n = sizeof(keys) - 2;
  for (i = 0; n + 16 < CREDPROC_MAX_OUTPUT; i++)
    n += (size_t)snprintf(doc + n, 16, ",\"k%05zu\":0", i);
  doc[n++] = '}';
  CHECK(i > 4000);
  check_accepts_n(doc, n);
  free(doc);
}

static void test_only_len_bytes_are_read(void)
{
  static const char doc[] = "{" KEYS "}GARBAGE";

  check_rejects_n(doc, sizeof(doc) - 9, -EINVAL, "json: offset");
  check_accepts_n(doc, sizeof(doc) - 8);
}

/* jansson's own messages quote up to 20 bytes "near" the error; the
 * secret here is cut to fit them, and none may reach err. */
static void test_errors_never_quote_the_input(void)
{
  static const char *const docs[] = {
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI\",\"x\":bad}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI\\q\"}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI\\uD800\"}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI\x01\"}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI\xff\"}",
      "{\"SecretAccessKey\":\"wJalrXUtnFEMI\"} wJalrXUtnFEMI",
      "{\"SecretAccessKey\":wJalrXUtnFEMI}",
      "{\"wJalrXUtnFEMI\":1,\"wJalrXUtnFEMI\":1}",
      "{\"wJalrXUtnFEMI\" 1}",
      "wJalrXUtnFEMI",
      "{\"n\":1e999999,\"SecretAccessKey\":\"wJalrXUtnFEMI\"}",
  };
  struct creds c;
  struct cfw_err err;
  size_t i;

  for (i = 0; i < ARRAY_SIZE(docs); i++) {
    CHECK(parse(docs[i], &c, &err) < 0);
    check_no_secret(&err);
  }
}

static void test_every_truncation_is_refused(void)
{
  static const char doc[] = "{\"Version\":1,\"AccessKeyId\":\"AK\\u0041\","
                            "\"SecretAccessKey\":\"\\ud83d\\ude00\xc3\xa9\","
                            "\"n\":-1.5e3,\"l\":[true,{\"x\":null}]}";
  struct creds c;
  struct cfw_err err;
  size_t i;

  for (i = 0; i < sizeof(doc) - 1; i++)
    CHECK_EQ_INT(parse_n(doc, i, &c, &err), -EINVAL);
  CHECK_EQ_INT(parse_n(doc, sizeof(doc) - 1, &c, &err), 0);
  creds_free(&c);
}

/* Parses doc[0..len); returns 1 if it was accepted. */
static int parse_any(const char *doc, size_t len)
{
  struct creds c;
  struct cfw_err err;
  int rc = parse_n(doc, len, &c, &err);

  if (rc < 0) {
    CHECK(rc == -EINVAL && err.code == rc && err.msg[0] != '\0');
    CHECK(c.access_key_id == NULL && c.secret_access_key == NULL);
    return 0;
  }
  CHECK(c.access_key_id != NULL && c.access_key_id[0] != '\0');
  CHECK(c.secret_access_key != NULL && c.secret_access_key[0] != '\0');
  creds_free(&c);
  return 1;
}

/* A fixed-seed mutation run: whatever the bytes, the parse returns
 * cleanly (ASan and valgrind watch the memory). */
static void test_survives_mutated_input(void)
{
  static const char seed[] =
      "{\"Version\":1,\"AccessKeyId\":\"AKIA\\u0041\",\"SecretAccessKey\":"
      "\"\\ud83d\\ude00\",\"E\":[1,{\"a\":-2.5e-3}],\"t\":true,\"n\":null}";
  char doc[sizeof(seed)];
  uint32_t x = 12345;
  int ok = 0;
  int i;
  int j;

  for (i = 0; i < 20000; i++) {
    memcpy(doc, seed, sizeof(seed));
    for (j = 0; j < 1 + i % 4; j++) {
      x = x * 1103515245u + 12345u;
      doc[(x >> 8) % (sizeof(seed) - 1)] = (char)(x >> 20);
    }
    ok += parse_any(doc, sizeof(seed) - 1 - (size_t)(i % 3));
  }
  CHECK(ok > 0);
  CHECK(ok < 20000);
}

/* jansson's memory goes through jsonmem's allocator (which wipes each
 * block on free), installed once, whoever asks first. */
static void test_wiping_allocator_is_installed_once(void)
{
  json_malloc_t m1;
  json_malloc_t m2;
  json_free_t f1;
  json_free_t f2;
  unsigned char *p;
  struct creds c;
  struct cfw_err err;

  CHECK_EQ_INT(parse("{" KEYS "}", &c, &err), 0);
  creds_free(&c);
  json_get_alloc_funcs(&m1, &f1);
  CHECK(m1 != malloc && f1 != free);
  jsonmem_init();
  json_get_alloc_funcs(&m2, &f2);
  CHECK(m1 == m2 && f1 == f2);
  p = m1(100);
  CHECK(p != NULL);
  CHECK_EQ_INT((uintptr_t)p % _Alignof(max_align_t), 0);
  if (p != NULL)
    memset(p, 0xa5, 100);
  f1(p);
  f1(NULL);
}

TEST_MAIN(
    TEST(test_extra_members_of_any_type_are_ignored),
    TEST(test_version_must_be_the_number_1), TEST(test_wrong_types_are_refused),
    TEST(test_null_token_and_expiration_mean_none),
    TEST(test_escapes_in_values_are_decoded),
    TEST(test_bad_escapes_are_refused), TEST(test_lone_surrogates_are_refused),
    TEST(test_control_characters_and_nul_are_refused),
    TEST(test_invalid_utf8_is_refused), TEST(test_duplicate_keys_are_refused),
    TEST(test_what_is_not_one_object_is_refused),
    TEST(test_trailing_data_is_refused),
    TEST(test_malformed_numbers_are_refused),
    TEST(test_nesting_depth_is_bounded),
    TEST(test_size_is_bounded_by_the_output_cap),
    TEST(test_only_len_bytes_are_read), TEST(test_errors_never_quote_the_input),
    TEST(test_every_truncation_is_refused), TEST(test_survives_mutated_input),
    TEST(test_wiping_allocator_is_installed_once))
