/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <math.h>
#include <string.h>

#include "test.h"

/* parse_double takes s in [min, max] and stores v. */
static void expect_double(const char *s, double min, double max, double v)
{
  double out = -1;
  int rc = parse_double(s, min, max, &out);

  if (rc != 0 || !(out == v))
    TEST_FAIL_("parse_double(\"%s\"): %d, %.17g; want 0, %.17g", s, rc, out, v);
}

/* parse_double refuses s with rc and leaves *out alone. */
static void expect_refused(const char *s, double min, double max, int want)
{
  double out = 42;
  int rc = parse_double(s, min, max, &out);

  if (rc != want || !(out == 42))
    TEST_FAIL_("parse_double(\"%s\"): %d, %.17g; want %d, 42", s ? s : "(null)",
               rc, out, want);
}

static void test_parse_double_takes_plain_decimals(void)
{
  expect_double("0.25", 0, 1, 0.25);
  expect_double("0", 0, 1, 0);
  expect_double("1", 0, 1, 1);
  expect_double("1.0", 0, 1, 1);
  expect_double(".5", 0, 1, 0.5);
  expect_double("5.", 0, 10, 5);
  expect_double("+0.5", 0, 1, 0.5);
  expect_double("12.34", 0, 1000000, 12.34);
  expect_double("1e3", 0, 1000000, 1000);
  expect_double("2.5E-1", 0, 1, 0.25);
  expect_double("-3.5", -10, 10, -3.5);
}

static void test_parse_double_minus_zero_is_zero(void)
{
  double out = 1;

  CHECK_EQ_INT(parse_double("-0", 0, 1, &out), 0);
  CHECK_EQ_DBL(out, 0);
  CHECK(!signbit(out));
}

static void test_parse_double_bounds_are_inclusive(void)
{
  expect_double("1000000", 0, 1000000, 1000000);
  expect_refused("1000000.01", 0, 1000000, -ERANGE);
  expect_refused("1.5", 0, 1, -ERANGE);
  expect_refused("-0.1", 0, 1, -ERANGE);
  expect_refused("1.0000001", 0, 1, -ERANGE);
}

static void test_parse_double_refuses_what_strtod_would_take(void)
{
  static const char *const bad[] = {
      " 1",  "\t1", "1 ",    "nan",   "NAN", "inf", "-inf", "infinity",
      "0x1", "0X1", "0x1p3", "1,5",   "",    ".",   "-",    "+",
      "e3",  "1e",  "1e+",   "1.2.3", "--1", "1-",  "0.5x", "1e3e3"};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(bad); i++)
    expect_refused(bad[i], -1e9, 1e9, -EINVAL);
  expect_refused(NULL, 0, 1, -EINVAL);
}

static void test_parse_double_refuses_overflow_and_underflow(void)
{
  expect_refused("1e400", 0, 1e9, -ERANGE);
  expect_refused("1e-400", 0, 1e9, -ERANGE);
}

/* hex_digit decodes either case and refuses everything else, signed
 * chars above 0x7f included. */
static void test_hex_digit_takes_both_cases_only(void)
{
  static const char digits[] = "0123456789abcdef";
  int c;
  int i;

  for (i = 0; i < 16; i++) {
    CHECK_EQ_INT(hex_digit(digits[i]), i);
    if (i >= 10)
      CHECK_EQ_INT(hex_digit((char)(digits[i] - 'a' + 'A')), i);
  }
  for (c = -128; c < 128; c++) {
    if (strchr(digits, c) != NULL && c != '\0')
      continue;
    if (c >= 'A' && c <= 'F')
      continue;
    CHECK_EQ_INT(hex_digit((char)c), -1);
  }
}

/* A label that fits is written whole; one too long ends in "...". */
static void test_label_is_cut_with_an_ellipsis(void)
{
  char b[8];

  str_label(b, sizeof(b), "%s %d", "ab", 12);
  CHECK_EQ_STR(b, "ab 12");
  str_label(b, sizeof(b), "%s", "1234567");
  CHECK_EQ_STR(b, "1234567");
  str_label(b, sizeof(b), "%s", "12345678");
  CHECK_EQ_STR(b, "1234...");
}

TEST_MAIN(TEST(test_label_is_cut_with_an_ellipsis),
          TEST(test_parse_double_takes_plain_decimals),
          TEST(test_parse_double_minus_zero_is_zero),
          TEST(test_parse_double_bounds_are_inclusive),
          TEST(test_parse_double_refuses_what_strtod_would_take),
          TEST(test_parse_double_refuses_overflow_and_underflow),
          TEST(test_hex_digit_takes_both_cases_only))
