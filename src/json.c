/* SPDX-License-Identifier: MIT */
#include "json.h"

#include "err.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decoded strings go into one arena sized from the input: an escape never
 * decodes to more bytes than it spells, and the two quotes of each string
 * pay for its NUL, so the arena is never resized and never leaves an
 * unwiped copy of a secret behind. */
struct json_parser {
  const unsigned char *start;
  const unsigned char *p;
  const unsigned char *end;
  char *arena;      /* borrowed from the object being built */
  size_t arena_len; /* bytes used */
  size_t arena_cap;
  size_t members_cap;
  struct cfw_err *err;
};

static int json_fail(const struct json_parser *jp, int code, const char *why)
{
  /* Returning code itself lets the analyzer see it is negative. */
  (void)cfw_err_set(jp->err, code, "json: offset %zu: %s",
                    (size_t)(jp->p - jp->start), why);
  return code;
}

static void json_skip_ws(struct json_parser *jp)
{
  while (jp->p < jp->end &&
         (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
    jp->p++;
}

static int json_put(struct json_parser *jp, const void *bytes, size_t n)
{
  /* Cannot happen (see the arena comment); checked because the input is
   * hostile and the check is cheap. */
  if (n > jp->arena_cap - jp->arena_len)
    return json_fail(jp, -E2BIG, "string arena exhausted");
  memcpy(jp->arena + jp->arena_len, bytes, n);
  jp->arena_len += n;
  return 0;
}

static int json_put_utf8(struct json_parser *jp, uint32_t cp)
{
  unsigned char o[4];
  size_t n;

  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | cp >> 6);
    o[1] = (unsigned char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | cp >> 12);
    o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return json_put(jp, o, n);
}

/* Length (2 to 4) of the well-formed UTF-8 sequence at p, or 0.  The
 * second-byte ranges exclude overlong forms, surrogates and code points
 * above U+10FFFF (RFC 3629, table 3-7 of Unicode). */
static size_t json_utf8_len(const unsigned char *p, const unsigned char *end)
{
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  size_t n;
  size_t i;

  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    n = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef)
    n = 3;
  else if (p[0] >= 0xf0 && p[0] <= 0xf4)
    n = 4;
  else
    return 0;
  if (p[0] == 0xe0)
    lo = 0xa0;
  else if (p[0] == 0xed)
    hi = 0x9f;
  else if (p[0] == 0xf0)
    lo = 0x90;
  else if (p[0] == 0xf4)
    hi = 0x8f;
  if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (i = 2; i < n; i++) {
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  }
  return n;
}

static int json_hex_digit(unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int json_hex4(struct json_parser *jp, uint32_t *out)
{
  uint32_t v = 0;
  int d;
  int i;

  if (jp->end - jp->p < 4)
    return json_fail(jp, -EINVAL, "truncated \\u escape");
  for (i = 0; i < 4; i++) {
    d = json_hex_digit(jp->p[i]);
    if (d < 0)
      return json_fail(jp, -EINVAL, "bad hex digit in \\u escape");
    v = v << 4 | (uint32_t)d;
  }
  jp->p += 4;
  *out = v;
  return 0;
}

/* Decodes the XXXX of \uXXXX (p is past the 'u'), pairing surrogates. */
static int json_unicode_escape(struct json_parser *jp)
{
  uint32_t hi;
  uint32_t lo;
  int rc;

  rc = json_hex4(jp, &hi);
  if (rc < 0)
    return rc;
  if (hi >= 0xdc00 && hi <= 0xdfff)
    return json_fail(jp, -EINVAL, "low surrogate without high surrogate");
  if (hi < 0xd800 || hi > 0xdbff) {
    if (hi == 0)
      return json_fail(jp, -EINVAL, "\\u0000 is not allowed");
    return json_put_utf8(jp, hi);
  }
  if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u')
    return json_fail(jp, -EINVAL, "high surrogate without low surrogate");
  jp->p += 2;
  rc = json_hex4(jp, &lo);
  if (rc < 0)
    return rc;
  if (lo < 0xdc00 || lo > 0xdfff)
    return json_fail(jp, -EINVAL, "high surrogate without low surrogate");
  return json_put_utf8(jp, 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
}

/* Decodes one escape; p is past the backslash. */
static int json_escape(struct json_parser *jp)
{
  static const char from[] = "\"\\/bfnrt";
  static const char to[] = "\"\\/\b\f\n\r\t";
  const char *hit;

  if (jp->p == jp->end)
    return json_fail(jp, -EINVAL, "unterminated string");
  if (*jp->p == 'u') {
    jp->p++;
    return json_unicode_escape(jp);
  }
  hit = memchr(from, *jp->p, sizeof(from) - 1);
  if (hit == NULL)
    return json_fail(jp, -EINVAL, "invalid escape");
  jp->p++;
  return json_put(jp, &to[hit - from], 1);
}

static int json_string_char(struct json_parser *jp)
{
  size_t n;
  int rc;

  if (*jp->p == '\\') {
    jp->p++;
    return json_escape(jp);
  }
  if (*jp->p < 0x20)
    return json_fail(jp, -EINVAL, "control character in string");
  n = *jp->p < 0x80 ? 1 : json_utf8_len(jp->p, jp->end);
  if (n == 0)
    return json_fail(jp, -EINVAL, "invalid UTF-8 in string");
  rc = json_put(jp, jp->p, n);
  if (rc < 0)
    return rc;
  jp->p += n;
  return 0;
}

/* Parses the string at p (on its opening quote) into the arena. */
static int json_string(struct json_parser *jp, const char **out, size_t *len)
{
  size_t first = jp->arena_len;
  int rc;

  jp->p++;
  for (;;) {
    if (jp->p == jp->end)
      return json_fail(jp, -EINVAL, "unterminated string");
    if (*jp->p == '"')
      break;
    rc = json_string_char(jp);
    if (rc < 0)
      return rc;
  }
  jp->p++;
  *len = jp->arena_len - first;
  rc = json_put(jp, "", 1);
  if (rc < 0)
    return rc;
  *out = jp->arena + first;
  return 0;
}

static size_t json_digits(const unsigned char *q, const unsigned char *end)
{
  size_t n = 0;

  while (q + n < end && q[n] >= '0' && q[n] <= '9')
    n++;
  return n;
}

/* Length of the number token at p per the RFC 8259 grammar, or 0. */
static size_t json_number_len(const unsigned char *p, const unsigned char *end)
{
  const unsigned char *q = p;
  size_t n;

  if (q < end && *q == '-')
    q++;
  n = json_digits(q, end);
  if (n == 0 || (q[0] == '0' && n > 1))
    return 0;
  q += n;
  if (q < end && *q == '.') {
    n = json_digits(++q, end);
    if (n == 0)
      return 0;
    q += n;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < end && (*q == '+' || *q == '-'))
      q++;
    n = json_digits(q, end);
    if (n == 0)
      return 0;
    q += n;
  }
  return (size_t)(q - p);
}

static int json_number(struct json_parser *jp, double *out)
{
  char tmp[JSON_MAX_NUMBER_LEN + 1];
  char *endp;
  size_t n;
  double v;

  n = json_number_len(jp->p, jp->end);
  if (n == 0)
    return json_fail(jp, -EINVAL, "invalid value");
  if (n > JSON_MAX_NUMBER_LEN)
    return json_fail(jp, -E2BIG, "number too long");
  memcpy(tmp, jp->p, n);
  tmp[n] = '\0';
  errno = 0;
  v = strtod(tmp, &endp);
  /* The grammar was checked above, so a short parse means a locale with
   * another decimal point. */
  if (endp != tmp + n)
    return json_fail(jp, -EINVAL, "number not parsed in this locale");
  if (errno == ERANGE && (v > 1.0 || v < -1.0))
    return json_fail(jp, -EINVAL, "number out of range");
  jp->p += n;
  *out = v;
  return 0;
}

static int json_literal(struct json_parser *jp, const char *word)
{
  size_t n = strlen(word);

  if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
    return json_fail(jp, -EINVAL, "invalid value");
  jp->p += n;
  return 0;
}

/* After a value: skips ",", returning 0, or the closing byte, returning 1. */
static int json_after_item(struct json_parser *jp, unsigned char close)
{
  json_skip_ws(jp);
  if (jp->p == jp->end)
    return json_fail(jp, -EINVAL, "unexpected end of input");
  if (*jp->p == close) {
    jp->p++;
    return 1;
  }
  if (*jp->p != ',')
    return json_fail(jp, -EINVAL, "expected ',' or end of container");
  jp->p++;
  json_skip_ws(jp);
  return 0;
}

static int json_key(struct json_parser *jp, const char **key, size_t *len)
{
  int rc;

  if (jp->p == jp->end || *jp->p != '"')
    return json_fail(jp, -EINVAL, "expected a string key");
  rc = json_string(jp, key, len);
  if (rc < 0)
    return rc;
  json_skip_ws(jp);
  if (jp->p == jp->end || *jp->p != ':')
    return json_fail(jp, -EINVAL, "expected ':'");
  jp->p++;
  json_skip_ws(jp);
  return 0;
}

static int json_value(struct json_parser *jp, struct json_value *v, int depth);

/* Validates and discards the object or array at p; depth counts it. */
static int json_skip_nested(struct json_parser *jp, int depth)
{
  unsigned char close = *jp->p == '{' ? '}' : ']';
  struct json_value ignored;
  const char *key;
  size_t key_len;
  int rc;

  if (depth > JSON_MAX_DEPTH)
    return json_fail(jp, -E2BIG, "nesting too deep");
  jp->p++;
  json_skip_ws(jp);
  if (jp->p < jp->end && *jp->p == close) {
    jp->p++;
    return 0;
  }
  do {
    rc = close == '}' ? json_key(jp, &key, &key_len) : 0;
    if (rc == 0)
      rc = json_value(jp, &ignored, depth);
    if (rc == 0)
      rc = json_after_item(jp, close);
  } while (rc == 0);
  return rc < 0 ? rc : 0;
}

/* depth is that of the container holding the value. */
static int json_value(struct json_parser *jp, struct json_value *v, int depth)
{
  memset(v, 0, sizeof(*v));
  if (jp->p == jp->end)
    return json_fail(jp, -EINVAL, "unexpected end of input");
  switch (*jp->p) {
  case '"':
    v->type = JSON_STRING;
    return json_string(jp, &v->str, &v->len);
  case 't':
    v->type = JSON_BOOL;
    v->b = true;
    return json_literal(jp, "true");
  case 'f':
    v->type = JSON_BOOL;
    return json_literal(jp, "false");
  case 'n':
    v->type = JSON_NULL;
    return json_literal(jp, "null");
  case '{':
  case '[':
    v->type = JSON_NESTED;
    return json_skip_nested(jp, depth + 1);
  default:
    v->type = JSON_NUMBER;
    return json_number(jp, &v->num);
  }
}

static int json_member(struct json_parser *jp, struct json_object *o)
{
  struct json_member *m;
  size_t key_len;
  size_t i;
  int rc;

  if (o->n == jp->members_cap)
    return json_fail(jp, -E2BIG, "too many members");
  m = &o->members[o->n];
  rc = json_key(jp, &m->key, &key_len);
  if (rc < 0)
    return rc;
  for (i = 0; i < o->n; i++) {
    if (strcmp(o->members[i].key, m->key) == 0)
      return json_fail(jp, -EINVAL, "duplicate key");
  }
  rc = json_value(jp, &m->v, 1);
  if (rc < 0)
    return rc;
  o->n++;
  return 0;
}

static int json_top(struct json_parser *jp, struct json_object *o)
{
  int rc;

  json_skip_ws(jp);
  if (jp->p == jp->end || *jp->p != '{')
    return json_fail(jp, -EINVAL, "expected '{'");
  jp->p++;
  json_skip_ws(jp);
  if (jp->p < jp->end && *jp->p == '}') {
    jp->p++;
    return 0;
  }
  do {
    rc = json_member(jp, o);
    if (rc == 0)
      rc = json_after_item(jp, '}');
  } while (rc == 0);
  return rc < 0 ? rc : 0;
}

int json_object_parse(const char *s, size_t len, struct json_object *out,
                      struct cfw_err *err)
{
  struct json_parser jp;
  int rc;

  memset(out, 0, sizeof(*out));
  if (len > JSON_MAX_INPUT)
    return cfw_err_set(err, -E2BIG, "json: document over %zu bytes",
                       JSON_MAX_INPUT);
  if (s == NULL)
    s = "";
  memset(&jp, 0, sizeof(jp));
  jp.start = (const unsigned char *)s;
  jp.p = jp.start;
  jp.end = jp.start + len;
  jp.err = err;
  /* Each member spells at least `"":0,` so len / 4 + 1 always suffices. */
  jp.members_cap = len / 4 + 1;
  if (jp.members_cap > JSON_MAX_MEMBERS)
    jp.members_cap = JSON_MAX_MEMBERS;
  jp.arena_cap = len + 1;
  out->arena = malloc(jp.arena_cap);
  out->members = calloc(jp.members_cap, sizeof(*out->members));
  if (out->arena == NULL || out->members == NULL) {
    json_object_free(out);
    return cfw_err_set(err, -ENOMEM, "json: out of memory");
  }
  out->arena_cap = jp.arena_cap;
  jp.arena = out->arena;
  rc = json_top(&jp, out);
  json_skip_ws(&jp);
  if (rc == 0 && jp.p != jp.end)
    rc = json_fail(&jp, -EINVAL, "trailing data after the object");
  if (rc < 0)
    json_object_free(out);
  return rc;
}

void json_object_free(struct json_object *o)
{
  if (o == NULL)
    return;
  if (o->arena != NULL)
    OPENSSL_cleanse(o->arena, o->arena_cap);
  free(o->arena);
  free(o->members);
  memset(o, 0, sizeof(*o));
}

const struct json_value *json_get(const struct json_object *o, const char *key)
{
  size_t i;

  for (i = 0; i < o->n; i++) {
    if (strcmp(o->members[i].key, key) == 0)
      return &o->members[i].v;
  }
  return NULL;
}

const char *json_get_string(const struct json_object *o, const char *key)
{
  const struct json_value *v = json_get(o, key);

  return v != NULL && v->type == JSON_STRING ? v->str : NULL;
}

int json_get_number(const struct json_object *o, const char *key, double *out)
{
  const struct json_value *v = json_get(o, key);

  if (v == NULL)
    return -ENOENT;
  if (v->type != JSON_NUMBER)
    return -EINVAL;
  *out = v->num;
  return 0;
}
