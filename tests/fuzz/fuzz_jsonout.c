/* SPDX-License-Identifier: MIT */
/* Fuzzes jsonout_bytes, the mapping of any bytes (file names, root
 * paths, log messages) to a JSON string (jsonout.h), and the JSON log
 * line built from it.  The mapped string must be valid UTF-8 without
 * NUL and decode back to exactly the input bytes; the dumped object
 * must parse again to the same string; a JSON log line of the bytes must
 * be one line of valid JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "jsonout.h"
#include "log.h"

/* The inverse jsonout.h documents: "\\" is a backslash, "\xNN" the byte
 * NN, any other byte itself.  Returns the length written to out. */
static size_t unmap(const char *s, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  const char *hi;
  const char *lo;
  size_t o = 0;
  size_t i = 0;

  while (i < n) {
    if (s[i] != '\\') {
      out[o++] = s[i++];
      continue;
    }
    FUZZ_CHECK(i + 1 < n);
    if (s[i + 1] == '\\') {
      out[o++] = '\\';
      i += 2;
      continue;
    }
    FUZZ_CHECK(s[i + 1] == 'x' && i + 3 < n);
    hi = memchr(hex, s[i + 2], 16);
    lo = memchr(hex, s[i + 3], 16);
    FUZZ_CHECK(hi != NULL && lo != NULL && s[i + 2] != '\0' &&
               s[i + 3] != '\0');
    out[o++] = (char)((hi - hex) << 4 | (lo - hex));
    i += 4;
  }
  return o;
}

static void check_mapping(const uint8_t *data, size_t size)
{
  json_t *v = jsonout_bytes((const char *)data, size);
  char *back;
  size_t len;

  FUZZ_CHECK(v != NULL);
  len = json_string_length(v);
  FUZZ_CHECK(len <= 4 * size);
  FUZZ_CHECK(memchr(json_string_value(v), '\0', len) == NULL);
  FUZZ_CHECK(fuzz_utf8_valid(json_string_value(v), len));
  back = malloc(len + 1);
  FUZZ_CHECK(back != NULL);
  FUZZ_CHECK(unmap(json_string_value(v), len, back) == size);
  FUZZ_CHECK(size == 0 || memcmp(back, data, size) == 0);
  free(back);
  json_decref(v);
}

static void check_dump(const uint8_t *data, size_t size)
{
  json_t *o = jsonout_object();
  json_t *again;
  struct buf b;

  FUZZ_CHECK(jsonout_set(o, "k", jsonout_bytes((const char *)data, size)) == 0);
  buf_init(&b, 8 * size + 64);
  FUZZ_CHECK(jsonout_dump(o, &b) == 0);
  again = json_loadb(buf_str(&b), b.len, JSON_REJECT_DUPLICATES, NULL);
  FUZZ_CHECK(again != NULL && json_equal(again, o));
  json_decref(again);
  json_decref(o);
  buf_free(&b);
}

/* The message goes through "%s", so it stops at the first NUL. */
static void check_log_line(const uint8_t *data, size_t size)
{
  char *msg = malloc(size + 1);
  char *out = NULL;
  size_t out_len = 0;
  FILE *f;
  struct log *log;
  json_t *line;

  FUZZ_CHECK(msg != NULL);
  memcpy(msg, data, size);
  msg[size] = '\0';
  f = open_memstream(&out, &out_len);
  FUZZ_CHECK(f != NULL);
  log = log_new(f, LOG_DEBUG, LOG_JSON);
  FUZZ_CHECK(log != NULL);
  log_msg(log, LOG_WARN, "%s", msg);
  log_destroy(log);
  FUZZ_CHECK(fclose(f) == 0);
  FUZZ_CHECK(out_len > 0 && out[out_len - 1] == '\n');
  FUZZ_CHECK(memchr(out, '\n', out_len) == out + out_len - 1);
  line = json_loadb(out, out_len, JSON_REJECT_DUPLICATES, NULL);
  FUZZ_CHECK(json_is_string(json_object_get(line, "msg")));
  json_decref(line);
  free(out);
  free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_mapping(data, size);
  check_dump(data, size);
  check_log_line(data, size);
  return 0;
}
