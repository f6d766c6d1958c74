/* SPDX-License-Identifier: MIT */
#include "jsonout.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmem.h"

/* Length (2 to 4) of the well-formed UTF-8 sequence at p, or 0.  The
 * second-byte ranges exclude overlong forms, surrogates and code points
 * above U+10FFFF (RFC 3629 section 4; table 3-7 of the Unicode
 * standard). */
static size_t jsonout_utf8_len(const unsigned char *p, size_t left)
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
  if (left < n || p[1] < lo || p[1] > hi)
    return 0;
  for (i = 2; i < n; i++) {
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  }
  return n;
}

/* Writes the mapping of s[0..n) to out, which holds 4n bytes; returns
 * the length written. */
static size_t jsonout_map(const unsigned char *s, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  size_t i = 0;
  size_t k;

  while (i < n) {
    k = s[i] >= 0x80 ? jsonout_utf8_len(s + i, n - i) : 1;
    if (s[i] == '\\') {
      out[o++] = '\\';
      out[o++] = '\\';
    } else if (k == 0 || s[i] == '\0') {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[s[i] >> 4];
      out[o++] = hex[s[i] & 0xf];
    } else {
      memcpy(out + o, s + i, k);
      o += k;
    }
    i += k != 0 ? k : 1;
  }
  return o;
}

json_t *jsonout_bytes(const char *s, size_t n)
{
  json_t *v;
  char *tmp;
  size_t len;

  jsonmem_init();
  if (n > (SIZE_MAX - 1) / 4)
    return NULL;
  tmp = malloc(4 * n + 1);
  if (tmp == NULL)
    return NULL;
  len = jsonout_map((const unsigned char *)s, n, tmp);
  v = json_stringn(tmp, len);
  free(tmp);
  return v;
}

json_t *jsonout_object(void)
{
  jsonmem_init();
  return json_object();
}

int jsonout_set(json_t *obj, const char *key, json_t *value)
{
  /* json_object_set_new releases value whenever it fails, a NULL value
   * included. */
  return json_object_set_new(obj, key, value) == 0 ? 0 : -ENOMEM;
}

struct jsonout_sink {
  struct buf *out; /* borrowed */
  int rc;          /* of the last buf_add */
};

static int jsonout_on_dump(const char *p, size_t n, void *arg)
{
  struct jsonout_sink *sink = arg;

  sink->rc = buf_add(sink->out, p, n);
  return sink->rc == 0 ? 0 : -1;
}

int jsonout_dump(const json_t *v, struct buf *out)
{
  struct jsonout_sink sink = {out, 0};

  jsonmem_init();
  /* DBL_DIG (15) significant digits: a cost rounded to cents reads
   * "0.05", not the "0.050000000000000003" of jansson's default 17. */
  if (json_dump_callback(v, jsonout_on_dump, &sink,
                         JSON_COMPACT | JSON_REAL_PRECISION(15)) == 0)
    return 0;
  return sink.rc < 0 ? sink.rc : -ENOMEM;
}
