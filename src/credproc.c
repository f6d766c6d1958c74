/* SPDX-License-Identifier: MIT */
#include "credproc.h"

#include "child.h"
#include "creds.h"
#include "err.h"
#include "jsonmem.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct credproc {
  struct child *child; /* borrowed from child: valid until its callback */
  uint64_t timeout_ms;
  credproc_cb cb;
  void *arg;
  char source[CREDS_SOURCE_LEN];
  struct creds creds;
  struct cfw_err err;
};

static bool credproc_nonempty(const char *s)
{
  return s != NULL && *s != '\0';
}

/* Turns the child's end into the status and message cb gets. */
static int credproc_result(struct credproc *p, const struct child_result *r)
{
  const char *tail = r->tail[0] != '\0' ? r->tail : "(no stderr)";
  int rc;

  if (r->status == -ETIMEDOUT)
    return cfw_err_set(&p->err, r->status,
                       "%s: timed out after %llu ms, killed", p->source,
                       (unsigned long long)p->timeout_ms);
  if (r->status == -E2BIG)
    return cfw_err_set(&p->err, r->status, "%s: output over 64 KiB, killed",
                       p->source);
  if (r->status == -ECANCELED)
    return cfw_err_set(&p->err, r->status, "%s: cancelled", p->source);
  if (r->status < 0)
    return cfw_err_set(&p->err, r->status, "%s: %s", p->source,
                       uv_strerror(r->status));
  if (r->term_signal != 0)
    return cfw_err_set(&p->err, -EIO, "%s: killed by signal %d: %s", p->source,
                       r->term_signal, tail);
  if (r->exit_status != 0)
    return cfw_err_set(&p->err, -EIO, "%s: exited with status %lld: %s",
                       p->source, (long long)r->exit_status, tail);
  rc = credproc_parse_output(r->out, r->out_len, &p->creds, &p->err);
  if (rc < 0)
    return cfw_err_wrap(&p->err, rc, "%s: output", p->source);
  memcpy(p->creds.source, p->source, sizeof(p->source));
  return 0;
}

/* The child's line breaks become spaces: the message is one line. */
static void credproc_on_child_done(struct child *c,
                                   const struct child_result *r, void *arg)
{
  struct credproc *p = arg;
  struct child_result flat = *r;
  char tail[CREDPROC_STDERR_TAIL + 1];
  size_t i;
  int status;

  (void)c; /* p->child, freed by child after we return */
  (void)str_copy(tail, sizeof(tail), r->tail); /* it fits: tail_max */
  for (i = 0; tail[i] != '\0'; i++)
    if (tail[i] == '\n')
      tail[i] = ' ';
  flat.tail = tail;
  status = credproc_result(p, &flat);
  p->cb(p, status, status == 0 ? &p->creds : NULL, &p->err, p->arg);
  creds_free(&p->creds);
  free(p);
}

int credproc_start(struct credproc **out, uv_loop_t *loop,
                   const struct credproc_opts *o, credproc_cb cb, void *arg,
                   struct cfw_err *err)
{
  const char *source = o->source != NULL ? o->source : "credential_process";
  struct child_opts co;
  struct credproc *p;
  int rc;

  *out = NULL;
  p = calloc(1, sizeof(*p));
  if (p == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", source);
  (void)snprintf(p->source, sizeof(p->source), "%s", source); /* may cut */
  p->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : CREDPROC_TIMEOUT_MS;
  p->cb = cb;
  p->arg = arg;
  memset(&co, 0, sizeof(co));
  co.cmd = o->cmd;
  co.timeout_ms = p->timeout_ms;
  co.out_max = CREDPROC_MAX_OUTPUT;
  co.tail_max = CREDPROC_STDERR_TAIL;
  rc = child_start(&p->child, loop, &co, credproc_on_child_done, p, err);
  if (rc < 0) {
    free(p);
    return cfw_err_wrap(err, rc, "%s", source);
  }
  *out = p;
  return 0;
}

void credproc_cancel(struct credproc *p)
{
  if (p != NULL)
    child_cancel(p->child);
}

/* Reads "dd" (n digits) from s; -1 if any is not a digit. */
static int credproc_digits(const char *s, int n)
{
  int v = 0;
  int i;

  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t credproc_days_from_civil(int64_t y, int m, int d)
{
  int64_t era;
  int64_t yoe;
  int64_t doy;
  int64_t doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int credproc_month_days(int y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

  return m == 2 && leap ? 29 : days[m - 1];
}

/* Parses "Z" or "+hh:mm" / "-hh:mm" ending the string, in seconds. */
static int credproc_parse_offset(const char *p, int64_t *off_s)
{
  int h;
  int m;

  if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
    *off_s = 0;
    return 0;
  }
  if (p[0] != '+' && p[0] != '-')
    return -EINVAL;
  h = credproc_digits(p + 1, 2);
  m = h < 0 || p[3] != ':' ? -1 : credproc_digits(p + 4, 2);
  if (m < 0 || p[6] != '\0' || h > 23 || m > 59)
    return -EINVAL;
  *off_s = ((int64_t)h * 3600 + (int64_t)m * 60) * (p[0] == '-' ? -1 : 1);
  return 0;
}

/* ISO 8601 allows a lowercase 't' between date and time. */
static bool credproc_sep_ok(char c, char want)
{
  return c == want || (want == 'T' && c == 't');
}

/* Reads "YYYY-MM-DDTHH:MM:SS" into f (year, month, day, hour, minute,
 * second); 0 or -EINVAL. */
static int credproc_parse_fields(const char *s, int f[6])
{
  static const int pos[6] = {0, 5, 8, 11, 14, 17};
  static const char seps[] = "--T::";
  int i;

  if (strlen(s) < 20)
    return -EINVAL;
  for (i = 0; i < 6; i++) {
    f[i] = credproc_digits(s + pos[i], i == 0 ? 4 : 2);
    if (f[i] < 0 || (i < 5 && !credproc_sep_ok(s[pos[i + 1] - 1], seps[i])))
      return -EINVAL;
  }
  return 0;
}

/* Skips ".123" fractional seconds; NULL if the dot has no digits. */
static const char *credproc_skip_fraction(const char *p)
{
  if (*p != '.')
    return p;
  p++;
  if (!isdigit((unsigned char)*p))
    return NULL;
  while (isdigit((unsigned char)*p))
    p++;
  return p;
}

int credproc_parse_time(const char *s, int64_t *out_s)
{
  const char *p;
  int64_t off_s;
  int f[6]; /* year, month, day, hour, minute, second */

  if (credproc_parse_fields(s, f) < 0)
    return -EINVAL;
  p = credproc_skip_fraction(s + 19);
  if (p == NULL || credproc_parse_offset(p, &off_s) < 0 || f[1] < 1 ||
      f[1] > 12 || f[2] < 1 || f[2] > credproc_month_days(f[0], f[1]) ||
      f[3] > 23 || f[4] > 59 || f[5] > 60)
    return -EINVAL;
  *out_s = credproc_days_from_civil(f[0], f[1], f[2]) * 86400 +
           (int64_t)f[3] * 3600 + (int64_t)f[4] * 60 + f[5] - off_s;
  return *out_s > 0 ? 0 : -EINVAL;
}

/* jansson's messages for invalid syntax, mapped to ours: its own text
 * may quote up to 20 bytes of the input ("near '...'") or a byte's
 * value, and the input holds secrets, so only the fixed words at its
 * start are looked at and none of it is copied. */
static const char *credproc_syntax_reason(const char *text)
{
  static const char *const map[][2] = {
      {"unexpected newline", "control character in string"},
      {"control character", "control character in string"},
      {"invalid escape", "invalid escape"},
      {"invalid Unicode", "invalid \\u escape"},
      {"string or '}' expected", "expected a string key"},
      {"':' expected", "expected ':'"},
      {"'}' expected", "expected ',' or '}'"},
      {"']' expected", "expected ',' or ']'"},
      {"'[' or '{' expected", "expected an object"},
      {"invalid token", "invalid value"},
      {"unexpected token", "unexpected token"},
  };
  size_t i;

  for (i = 0; i < ARRAY_SIZE(map); i++) {
    if (strncmp(text, map[i][0], strlen(map[i][0])) == 0)
      return map[i][1];
  }
  return "invalid syntax";
}

/* Turns a json_loadb failure into err: "json: offset N: reason". */
static int credproc_json_error(const json_error_t *je, struct cfw_err *err)
{
  const char *why;

  switch (json_error_code(je)) {
  case json_error_out_of_memory:
    return cfw_err_set(err, -ENOMEM, "json: out of memory");
  case json_error_stack_overflow:
    why = "nesting too deep";
    break;
  case json_error_invalid_utf8:
    why = "invalid UTF-8";
    break;
  case json_error_premature_end_of_input:
    why = "unexpected end of input";
    break;
  case json_error_end_of_input_expected:
    why = "trailing data after the object";
    break;
  case json_error_null_character:
  case json_error_null_byte_in_key:
    why = "\\u0000 is not allowed";
    break;
  case json_error_duplicate_key:
    why = "duplicate key";
    break;
  case json_error_numeric_overflow:
    why = "number out of range";
    break;
  default:
    why = credproc_syntax_reason(je->text);
    break;
  }
  return cfw_err_set(err, -EINVAL, "json: offset %d: %s", je->position, why);
}

/* A string or null member; -EINVAL if it has another type. */
static int credproc_opt_string(const json_t *o, const char *key,
                               const char **out, struct cfw_err *err)
{
  const json_t *v = json_object_get(o, key);

  *out = NULL;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return cfw_err_set(err, -EINVAL, "%s is not a string", key);
  *out = json_string_value(v);
  return 0;
}

static int credproc_fields(const json_t *o, struct creds *out,
                           struct cfw_err *err)
{
  const json_t *v = json_object_get(o, "Version");
  const char *id = json_string_value(json_object_get(o, "AccessKeyId"));
  const char *secret = json_string_value(json_object_get(o, "SecretAccessKey"));
  const char *token;
  const char *exp;
  int64_t exp_s = 0;

  /* JSON_DECODE_INT_AS_REAL: 1 and 1.0 both arrive as reals. */
  if (!json_is_number(v))
    return cfw_err_set(err, -EINVAL, "no numeric Version");
  if (json_number_value(v) != 1.0)
    return cfw_err_set(err, -EINVAL, "Version %g is not supported (only 1)",
                       json_number_value(v));
  if (!credproc_nonempty(id))
    return cfw_err_set(err, -EINVAL, "no AccessKeyId string");
  if (!credproc_nonempty(secret))
    return cfw_err_set(err, -EINVAL, "no SecretAccessKey string");
  if (credproc_opt_string(o, "SessionToken", &token, err) < 0 ||
      credproc_opt_string(o, "Expiration", &exp, err) < 0)
    return -EINVAL;
  if (exp != NULL && credproc_parse_time(exp, &exp_s) < 0)
    return cfw_err_set(err, -EINVAL, "Expiration is not an ISO 8601 UTC time");
  if (creds_set_keys(out, id, secret, token, err) < 0)
    return -ENOMEM;
  out->expiration_s = exp_s;
  return 0;
}

int credproc_parse_output(const char *json, size_t len, struct creds *out,
                          struct cfw_err *err)
{
  json_error_t je;
  json_t *doc;
  int rc;

  if (len > CREDPROC_MAX_OUTPUT)
    return cfw_err_set(err, -E2BIG, "json: document over %zu bytes",
                       CREDPROC_MAX_OUTPUT);
  jsonmem_init(); /* before jansson allocates: it wipes what it frees */
  doc = json_loadb(json != NULL ? json : "", len,
                   JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
  if (doc == NULL)
    rc = credproc_json_error(&je, err);
  else if (!json_is_object(doc))
    rc = cfw_err_set(err, -EINVAL, "json: not an object");
  else
    rc = credproc_fields(doc, out, err);
  json_decref(doc);
  /* je.text may quote part of the input. */
  OPENSSL_cleanse(&je, sizeof(je));
  return rc;
}
