/* SPDX-License-Identifier: MIT */
/* Fuzzes what a credential_process prints: credproc_parse_output (which
 * parses with jansson under the policy credproc.h states) and
 * credproc_parse_time on the same bytes as a C string.  Seeds hold the
 * marker FUZZSECRET in their secret values; no error message may ever
 * quote input bytes, so the marker must never show up in one.  Accepted
 * credentials are checked against jansson read directly, and the time
 * parser against libc's calendar. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "credproc.h"
#include "creds.h"
#include "err.h"
#include "fuzz.h"
#include "jsonmem.h"

#define FUZZ_SECRET "FUZZSECRET"

static void check_err(const struct cfw_err *err)
{
  FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
  FUZZ_CHECK(err->msg[0] != '\0');
  FUZZ_CHECK(strstr(err->msg, FUZZ_SECRET) == NULL);
  /* jansson's own text ("... near 'xyz'") must never pass through. */
  FUZZ_CHECK(strstr(err->msg, "near") == NULL);
}

/* Whether s is the string member key of doc. */
static bool member_is(const json_t *doc, const char *key, const char *s)
{
  const char *v = json_string_value(json_object_get(doc, key));

  return v != NULL && strcmp(v, s) == 0;
}

/* Accepted credentials are what jansson itself reads from the bytes:
 * one object without duplicate keys, Version 1, both keys non-empty
 * valid UTF-8 without NUL. */
static void check_accepted(const uint8_t *data, size_t size,
                           const struct creds *c)
{
  json_t *doc =
      json_loadb((const char *)data, size,
                 JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, NULL);
  const char *token;

  FUZZ_CHECK(json_is_object(doc));
  FUZZ_CHECK(json_number_value(json_object_get(doc, "Version")) == 1.0);
  FUZZ_CHECK(c->access_key_id != NULL && c->access_key_id[0] != '\0');
  FUZZ_CHECK(c->secret_access_key != NULL && c->secret_access_key[0] != '\0');
  FUZZ_CHECK(member_is(doc, "AccessKeyId", c->access_key_id));
  FUZZ_CHECK(member_is(doc, "SecretAccessKey", c->secret_access_key));
  FUZZ_CHECK(fuzz_utf8_valid(c->access_key_id, strlen(c->access_key_id)));
  FUZZ_CHECK(
      fuzz_utf8_valid(c->secret_access_key, strlen(c->secret_access_key)));
  token = json_string_value(json_object_get(doc, "SessionToken"));
  FUZZ_CHECK(c->session_token == NULL || c->session_token[0] != '\0');
  FUZZ_CHECK(c->session_token == NULL
                 ? token == NULL || token[0] == '\0'
                 : member_is(doc, "SessionToken", c->session_token));
  FUZZ_CHECK(c->expiration_s >= 0);
  json_decref(doc);
}

static void run_credproc(const uint8_t *data, size_t size)
{
  struct creds c;
  struct cfw_err err;
  int rc;

  memset(&c, 0, sizeof(c));
  memset(&err, 0, sizeof(err));
  rc = credproc_parse_output((const char *)data, size, &c, &err);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
  if (rc < 0) {
    FUZZ_CHECK(err.code == rc);
    check_err(&err);
    FUZZ_CHECK(c.access_key_id == NULL && c.secret_access_key == NULL);
    FUZZ_CHECK(c.session_token == NULL);
    return;
  }
  check_accepted(data, size, &c);
  creds_free(&c);
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
  int v = 0;
  int i;

  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + s[i] - '0';
  }
  return v;
}

/* "Z" or "+hh:mm" / "-hh:mm" ending s, in seconds east; false if not. */
static bool ref_offset(const char *s, long *off_s)
{
  int h;
  int m;

  if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
    *off_s = 0;
    return true;
  }
  if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
    return false;
  h = digits(s + 1, 2);
  m = digits(s + 4, 2);
  if (h < 0 || h > 23 || m < 0 || m > 59)
    return false;
  *off_s = (h * 3600L + m * 60L) * (s[0] == '-' ? -1 : 1);
  return true;
}

/* The times credproc.h accepts, read another way: libc's timegm() does
 * the calendar, and a date is valid if gmtime_r() gives it back.  A
 * leap second (:60) counts as the second after :59. */
static bool ref_parse_time(const char *s, int64_t *out_s)
{
  struct tm tm;
  struct tm back;
  const char *p = s + 19;
  time_t t;
  long off_s;
  int sec;

  if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
      toupper((unsigned char)s[10]) != 'T' || s[13] != ':' || s[16] != ':')
    return false;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = digits(s, 4) - 1900;
  tm.tm_mon = digits(s + 5, 2) - 1;
  tm.tm_mday = digits(s + 8, 2);
  tm.tm_hour = digits(s + 11, 2);
  tm.tm_min = digits(s + 14, 2);
  sec = digits(s + 17, 2);
  if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 ||
      tm.tm_min < 0 || sec < 0 || sec > 60)
    return false;
  tm.tm_sec = sec == 60 ? 59 : sec;
  if (*p == '.') {
    if (!isdigit((unsigned char)*++p))
      return false;
    while (isdigit((unsigned char)*p))
      p++;
  }
  if (!ref_offset(p, &off_s))
    return false;
  back = tm;
  t = timegm(&back);
  if (!gmtime_r(&t, &back) || back.tm_year != tm.tm_year ||
      back.tm_mon != tm.tm_mon || back.tm_mday != tm.tm_mday ||
      back.tm_hour != tm.tm_hour || back.tm_min != tm.tm_min ||
      back.tm_sec != tm.tm_sec)
    return false;
  *out_s = (int64_t)t + (sec == 60) - off_s;
  return *out_s > 0;
}

static void run_time(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  int64_t t = -1;
  int64_t ref = -1;
  int rc;

  FUZZ_CHECK(s != NULL);
  memcpy(s, data, size);
  s[size] = '\0';
  rc = credproc_parse_time(s, &t);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL);
  FUZZ_CHECK((rc == 0) == ref_parse_time(s, &ref));
  FUZZ_CHECK(rc < 0 || t == ref);
  free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  jsonmem_init(); /* before check_accepted's own jansson calls */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  run_credproc(data, size);
  run_time(data, size);
  return 0;
}
