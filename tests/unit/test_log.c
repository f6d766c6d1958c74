/* SPDX-License-Identifier: MIT */
#include "jsonmem.h"
#include "log.h"
#include "test.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

/* Logs through a real temporary file and reads the line(s) back. */
struct logged {
  char *text; /* owned, NUL-terminated */
  size_t len;
};

static FILE *log_file(void)
{
  FILE *f = tmpfile();

  if (f == NULL) {
    perror("tmpfile");
    exit(2);
  }
  return f;
}

static void logged_read(FILE *f, struct logged *out)
{
  long n;

  if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) < 0)
    exit(2);
  out->text = calloc(1, (size_t)n + 1);
  if (out->text == NULL || fread(out->text, 1, (size_t)n, f) != (size_t)n)
    exit(2);
  out->len = (size_t)n;
  (void)fclose(f); /* a temporary file, read already */
}

/* Logs "%s" of msg at level in format; the output goes to out. */
static void log_one(enum log_format format, enum log_level level,
                    const char *msg, struct logged *out)
{
  FILE *f = log_file();
  struct log *log = log_new(f, LOG_DEBUG, format);

  CHECK(log != NULL);
  log_msg(log, level, "%s", msg);
  log_destroy(log);
  logged_read(f, out);
}

/* A path of n bytes: "/" then "d/" repeated, the last bytes "x". */
static char *long_path(size_t n)
{
  char *p = malloc(n + 1);
  size_t i;

  if (p == NULL)
    exit(2);
  for (i = 0; i < n; i++)
    p[i] = i % 2 == 0 ? '/' : 'd';
  p[n] = '\0';
  return p;
}

static bool ends_with(const struct logged *l, const char *tail)
{
  size_t n = strlen(tail);

  return l->len >= n && memcmp(l->text + l->len - n, tail, n) == 0;
}

/* Decodes a jsonout string (\\ and \xNN) back into bytes. */
static size_t unmap(const char *s, char *out)
{
  size_t n = 0;
  unsigned v;

  while (*s != '\0') {
    if (s[0] == '\\' && s[1] == '\\') {
      out[n++] = '\\';
      s += 2;
    } else if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
      out[n++] = (char)v;
      s += 4;
    } else {
      out[n++] = *s++;
    }
  }
  out[n] = '\0';
  return n;
}

/* Issue 11 item 14: a warning about a ~4.5 KB path lost its reason to
 * the log line cap. */
static void test_long_path_warning_keeps_its_reason(void)
{
  char *path = long_path(4600);
  char *msg = malloc(strlen(path) + 64);
  struct logged l;

  CHECK(msg != NULL);
  (void)snprintf(msg, strlen(path) + 64, "%s: Permission denied; left pending",
                 path);
  log_one(LOG_TEXT, LOG_WARN, msg, &l);
  CHECK(ends_with(&l, ": Permission denied; left pending\n"));
  CHECK(strncmp(l.text, "cfwatch: warn: /d/d/", 20) == 0);
  CHECK_EQ_INT(l.len, strlen("cfwatch: warn: ") + strlen(msg) + 1);
  free(l.text);
  log_one(LOG_JSON, LOG_WARN, msg, &l);
  CHECK(ends_with(&l, ": Permission denied; left pending\"}\n"));
  free(l.text);
  free(msg);
  free(path);
}

/* Two PATH_MAX paths and a reason fit whole. */
static void test_two_max_paths_and_a_reason_fit_whole(void)
{
  char *a = long_path(PATH_MAX - 1);
  char *msg = malloc(2 * PATH_MAX + 128);
  struct logged l;
  int n;

  CHECK(msg != NULL);
  n = snprintf(msg, 2 * PATH_MAX + 128, "rename %s to %s: File exists", a, a);
  CHECK(n > 0 && (size_t)n < 2 * PATH_MAX + 128);
  log_one(LOG_TEXT, LOG_ERROR, msg, &l);
  CHECK_EQ_INT(l.len, strlen("cfwatch: error: ") + (size_t)n + 1);
  CHECK(ends_with(&l, ": File exists\n"));
  CHECK(strstr(l.text, "cut") == NULL);
  free(l.text);
  free(msg);
  free(a);
}

/* A message past the cap loses its middle, never its ends. */
static void test_overlong_message_loses_its_middle(void)
{
  char *path = long_path((size_t)64 * 1024);
  char *msg = malloc(strlen(path) + 64);
  struct logged l;

  CHECK(msg != NULL);
  (void)snprintf(msg, strlen(path) + 64, "start %s: the reason", path);
  log_one(LOG_TEXT, LOG_WARN, msg, &l);
  CHECK(strncmp(l.text, "cfwatch: warn: start /d/d", 25) == 0);
  CHECK(ends_with(&l, "/d/d: the reason\n"));
  CHECK(strstr(l.text, "bytes cut...]") != NULL);
  CHECK(l.len < (size_t)3 * PATH_MAX);
  CHECK_EQ_INT(strchr(l.text, '\n') - l.text, (long long)l.len - 1);
  free(l.text);
  log_one(LOG_JSON, LOG_WARN, msg, &l);
  CHECK(ends_with(&l, "/d/d: the reason\"}\n"));
  CHECK(strstr(l.text, "bytes cut...]") != NULL);
  free(l.text);
  free(msg);
  free(path);
}

/* The cut never splits a UTF-8 character: only bytes that were invalid
 * in the message come out as \xNN. */
static void test_cut_keeps_utf8_characters_whole(void)
{
  size_t n = 40000;
  char *msg = malloc(n + 1);
  struct logged l;
  json_t *doc;
  size_t i;

  jsonmem_init(); /* before the test's own jansson calls */
  CHECK(msg != NULL);
  for (i = 0; i + 2 <= n; i += 2)
    memcpy(msg + i, "\xc3\xa9", 2); /* é */
  msg[n] = '\0';
  log_one(LOG_JSON, LOG_INFO, msg, &l);
  doc = json_loadb(l.text, l.len, 0, NULL);
  CHECK(doc != NULL);
  CHECK(strstr(l.text, "\\\\x") == NULL);
  json_decref(doc);
  free(l.text);
  free(msg);
}

/* The text format, as the e2e tests pin it: control bytes as \xNN, a
 * newline and a tab as \n and \t, other bytes as they are. */
static void test_text_escapes_control_bytes_only(void)
{
  struct logged l;

  log_one(LOG_TEXT, LOG_WARN, "a\nb\tc\x01\x7f\\d\xff\xc3\xa9", &l);
  CHECK_EQ_STR(l.text, "cfwatch: warn: a\\nb\\tc\\x01\\x7f\\d\xff\xc3\xa9\n");
  free(l.text);
  log_one(LOG_TEXT, LOG_INFO, "plain", &l);
  CHECK_EQ_STR(l.text, "cfwatch: plain\n");
  free(l.text);
}

/* A JSON line is valid JSON whatever the bytes, and its msg maps back
 * to them. */
static void test_json_line_is_valid_for_any_bytes(void)
{
  static const char msg[] = "bad\xff\xfe name\\x41 \xc3\xa9 \xed\xa0\x80 "
                            "\xf0\x9f\x98\x80 \"q\"\n\x01 \xc3";
  char back[sizeof(msg) * 4];
  struct logged l;
  json_error_t jerr;
  json_t *doc;
  const char *got;

  jsonmem_init(); /* before the test's own jansson calls */
  log_one(LOG_JSON, LOG_ERROR, msg, &l);
  CHECK(ends_with(&l, "}\n"));
  CHECK_EQ_INT(strchr(l.text, '\n') - l.text, (long long)l.len - 1);
  doc = json_loadb(l.text, l.len, 0, &jerr);
  CHECK(doc != NULL);
  CHECK_EQ_STR(json_string_value(json_object_get(doc, "level")), "error");
  got = json_string_value(json_object_get(doc, "msg"));
  CHECK(got != NULL);
  if (got != NULL) {
    CHECK_EQ_INT(unmap(got, back), sizeof(msg) - 1);
    CHECK(memcmp(back, msg, sizeof(msg) - 1) == 0);
  }
  CHECK(strncmp(l.text, "{\"ts\":\"", 7) == 0);
  json_decref(doc);
  free(l.text);
}

static void test_level_filters_and_null_log_drops(void)
{
  FILE *f = log_file();
  struct log *log = log_new(f, LOG_WARN, LOG_TEXT);
  struct logged l;

  log_msg(log, LOG_INFO, "hidden");
  log_msg(log, LOG_WARN, "shown");
  log_msg(NULL, LOG_ERROR, "dropped");
  log_destroy(log);
  log_destroy(NULL);
  logged_read(f, &l);
  CHECK_EQ_STR(l.text, "cfwatch: warn: shown\n");
  free(l.text);
}

TEST_MAIN(TEST(test_long_path_warning_keeps_its_reason),
          TEST(test_two_max_paths_and_a_reason_fit_whole),
          TEST(test_overlong_message_loses_its_middle),
          TEST(test_cut_keeps_utf8_characters_whole),
          TEST(test_text_escapes_control_bytes_only),
          TEST(test_json_line_is_valid_for_any_bytes),
          TEST(test_level_filters_and_null_log_drops))
