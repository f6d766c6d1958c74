/* SPDX-License-Identifier: MIT */
/* Fuzzes the URL mapper: urlmap_paths, urlmap_encode and urlmap_excluded
 * on arbitrary relative paths, checking what urlmap.h promises about every
 * path it makes, and that urlmap_excluded answers as the fnmatch(3)
 * matcher it replaced (tests/unit/exclude_ref.h) does, for the relpath
 * and each of its parents, as a file and as a directory; and that
 * exclude_first(), which the [headers GLOB] rules use, names the first
 * glob the reference matches alone.
 *
 * Input: one flag byte, then fields split by NUL bytes (the one byte a
 * file name cannot hold): relpath, prefix, index name, then up to
 * MAX_GLOBS exclude globs.  Flags: 0x01 dir_without_slash, 0x02 pretty,
 * 0x04 no_default_excludes, 0x08 relpath is a directory (for the exclude
 * check), 0x10 use the prefix field, 0x20 use the index name field.  The
 * whole input, NULs included, is also run through urlmap_encode. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/exclude_ref.h"
#include "buf.h"
#include "cflimits.h"
#include "exclude.h"
#include "fuzz.h"
#include "strlist.h"
#include "urlmap.h"

#define MAX_GLOBS     8
#define MAX_DEFAULTS  16
#define MAX_FORMS     URLMAP_MAX_PATHS_PER_FILE
#define MAX_ANCESTORS 32

#define F_DIR_WITHOUT_SLASH 0x01
#define F_PRETTY            0x02
#define F_NO_DEFAULTS       0x04
#define F_IS_DIR            0x08
#define F_PREFIX            0x10
#define F_INDEX             0x20

/* One URL a file should be known by, before any wildcard cover: enc is
 * how urlmap.h says it is spelled, dec the bytes it names. */
struct form {
  char *enc; /* owned */
  size_t enc_len;
  char *dec; /* owned; may hold NUL bytes from a %00 in the prefix */
  size_t dec_len;
};

struct input {
  const char *rel; /* each borrowed from the split copy of the data */
  const char *prefix;
  const char *index_name;
  const char *globs[MAX_GLOBS];
  size_t n_globs;
  unsigned flags;
};

/* The bytes urlmap.h says urlmap_encode() escapes. */
static bool must_escape(unsigned char c)
{
  return c <= 0x20 || c >= 0x7f || strchr("\"#%<>?`{}|\\^[]", c) != NULL;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into a fresh buffer; every '%' must start an
 * uppercase escape (checked by the caller). */
static char *decode(const char *s, size_t n, size_t *out_len)
{
  char *out = malloc(n + 1);
  size_t o = 0;
  size_t i;

  FUZZ_CHECK(out != NULL);
  for (i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
        hexval(s[i + 2]) >= 0) {
      out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  *out_len = o;
  return out;
}

/* The promises on every path: a leading '/', printable ASCII only, no
 * '#', '?', ' ' or '~', a '*' only last, every '%' an uppercase escape
 * of a byte that needs one, and at most CF_MAX_PATH_LEN bytes. */
static void check_syntax(const char *p)
{
  size_t len = strlen(p);
  size_t i;
  unsigned char c;

  FUZZ_CHECK(len >= 1 && p[0] == '/');
  FUZZ_CHECK(len <= CF_MAX_PATH_LEN);
  for (i = 0; i < len; i++) {
    c = (unsigned char)p[i];
    FUZZ_CHECK(c >= 0x21 && c <= 0x7e);
    FUZZ_CHECK(c != '#' && c != '?' && c != ' ' && c != '~');
    FUZZ_CHECK(c != '*' || i == len - 1);
    if (c != '%') {
      FUZZ_CHECK(!must_escape(c) || c == '*');
      continue;
    }
    FUZZ_CHECK(i + 2 < len);
    FUZZ_CHECK(hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0);
    FUZZ_CHECK(
        must_escape((unsigned char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]))));
  }
}

/* Builds the form prefix ["/"] rel[0..n), as urlmap.h spells it. */
static void form_make(struct form *f, const char *prefix, size_t prefix_len,
                      const char *rel, size_t n, bool slash)
{
  struct buf b;
  size_t dlen;
  char *d;

  buf_init(&b, SIZE_MAX);
  FUZZ_CHECK(buf_add(&b, prefix, prefix_len) == 0);
  if (slash)
    FUZZ_CHECK(buf_addc(&b, '/') == 0);
  FUZZ_CHECK(urlmap_encode(rel, n, &b) == 0);
  f->enc_len = b.len;
  f->enc = buf_take(&b);
  FUZZ_CHECK(f->enc != NULL);
  /* The prefix is already encoded; the rest decodes to rel itself. */
  d = decode(prefix, prefix_len, &dlen);
  f->dec = malloc(dlen + 1 + n + 1);
  FUZZ_CHECK(f->dec != NULL);
  memcpy(f->dec, d, dlen);
  free(d);
  f->dec_len = dlen;
  if (slash)
    f->dec[f->dec_len++] = '/';
  memcpy(f->dec + f->dec_len, rel, n);
  f->dec_len += n;
}

/* The forms of rel that urlmap.h lists; returns how many. */
static size_t forms_make(struct form *fs, const struct input *in)
{
  const char *rel = in->rel;
  size_t len = strlen(rel);
  const char *slash = strrchr(rel, '/');
  size_t base = slash != NULL ? (size_t)(slash - rel) + 1 : 0;
  const char *index = in->flags & F_INDEX ? in->index_name : "index.html";
  const char *p = in->flags & F_PREFIX ? in->prefix : "";
  size_t plen = strlen(p);
  size_t n = 0;

  while (plen > 0 && p[plen - 1] == '/')
    plen--;
  form_make(&fs[n++], p, plen, rel, len, true);
  if (strcmp(rel + base, index) == 0) {
    form_make(&fs[n++], p, plen, rel, base, true);
    if ((in->flags & F_DIR_WITHOUT_SLASH) && (base > 0 || plen > 0))
      form_make(&fs[n++], p, plen, rel, base > 0 ? base - 1 : 0, base > 0);
  } else if ((in->flags & F_PRETTY) && len - base > 5 &&
             strcmp(rel + len - 5, ".html") == 0) {
    form_make(&fs[n++], p, plen, rel, len - 5, true);
  }
  return n;
}

static bool is_wildcard(const char *p)
{
  size_t n = strlen(p);

  return n > 0 && p[n - 1] == '*';
}

/* True if wildcard w covers the spelled path s[0..n). */
static bool covers(const char *w, const char *s, size_t n)
{
  size_t stem = strlen(w) - 1;

  return stem <= n && memcmp(w, s, stem) == 0;
}

/* A wildcard may only stand for f where f cannot be named exactly: at
 * its first '*' or '~', or cut short of CF_MAX_PATH_LEN (backing off at
 * most two bytes to keep an escape whole). */
static bool justified(const char *w, const struct form *f)
{
  size_t stem = strlen(w) - 1;
  size_t first = strcspn(f->enc, "*~");

  if (stem == first && first < f->enc_len)
    return true;
  return f->enc_len > CF_MAX_PATH_LEN && stem < first &&
         stem + 3 >= CF_MAX_PATH_LEN && stem < CF_MAX_PATH_LEN;
}

/* True if path o invalidates form f: names it exactly, or is a wildcard
 * that covers it. */
static bool names(const char *o, const struct form *f)
{
  if (is_wildcard(o))
    return covers(o, f->enc, f->enc_len);
  return strcmp(o, f->enc) == 0;
}

static void check_path(const char *o, const struct form *fs, size_t n_fs)
{
  size_t i;
  size_t dlen;
  char *d;

  check_syntax(o);
  for (i = 0; i < n_fs; i++)
    if (names(o, &fs[i]) && (!is_wildcard(o) || justified(o, &fs[i])))
      break;
  FUZZ_CHECK(i < n_fs); /* each path stands for one of the forms */
  if (is_wildcard(o))
    return;
  /* Round trip: an exact path decodes to the bytes it names. */
  d = decode(o, strlen(o), &dlen);
  FUZZ_CHECK(dlen == fs[i].dec_len && memcmp(d, fs[i].dec, dlen) == 0);
  free(d);
}

static void check_paths(const struct strlist *out, size_t start,
                        const struct form *fs, size_t n_fs)
{
  size_t i;
  size_t j;

  FUZZ_CHECK(out->n > start && out->n - start <= URLMAP_MAX_PATHS_PER_FILE);
  for (i = start; i < out->n; i++) {
    check_path(out->v[i], fs, n_fs);
    for (j = start; j < out->n; j++) {
      if (i == j)
        continue;
      FUZZ_CHECK(strcmp(out->v[i], out->v[j]) != 0);
      FUZZ_CHECK(!is_wildcard(out->v[j]) ||
                 !covers(out->v[j], out->v[i], strlen(out->v[i])));
    }
  }
  /* The file's own path comes first, exact or covered. */
  FUZZ_CHECK(names(out->v[start], &fs[0]));
  /* No form is lost. */
  for (i = 0; i < n_fs; i++) {
    for (j = start; j < out->n; j++)
      if (names(out->v[j], &fs[i]))
        break;
    FUZZ_CHECK(j < out->n);
  }
}

/* urlmap.h: a glob that matches a directory also excludes everything
 * under it.  Checked for the first MAX_ANCESTORS parents only, since each
 * check costs O(globs * components). */
static void check_excluded(const struct urlmap *m, const struct input *in)
{
  bool self = urlmap_excluded(m, in->rel, (in->flags & F_IS_DIR) != 0);
  char *dir = strdup(in->rel);
  char *p;
  size_t n = 0;

  FUZZ_CHECK(dir != NULL);
  for (p = dir; n++ < MAX_ANCESTORS && (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (urlmap_excluded(m, dir, true))
      FUZZ_CHECK(self);
    *p = '/';
  }
  free(dir);
}

/* The globs urlmap_new was given: the defaults unless dropped, then the
 * user's; returns how many. */
static size_t all_globs(const char **globs, const struct input *in)
{
  const char *const *def;
  size_t n = 0;
  size_t n_def = exclude_defaults(&def);
  size_t i;

  FUZZ_CHECK(n_def <= MAX_DEFAULTS);
  for (i = 0; i < n_def && !(in->flags & F_NO_DEFAULTS); i++)
    globs[n++] = def[i];
  for (i = 0; i < in->n_globs; i++)
    globs[n++] = in->globs[i];
  return n;
}

static void check_same_as_fnmatch(const struct urlmap *m, const char *const *g,
                                  size_t n, const char *rel)
{
  FUZZ_CHECK(urlmap_excluded(m, rel, false) == ref_excluded(g, n, rel, false));
  FUZZ_CHECK(urlmap_excluded(m, rel, true) == ref_excluded(g, n, rel, true));
}

/* exclude_first on the same globs: the number of the first that the
 * reference matches alone, counting only the globs exclude_add took. */
static void check_first_as_fnmatch(const char *const *g, size_t n,
                                   const char *rel)
{
  struct exclude *x;
  struct ref_glob rg;
  size_t want[2] = {EXCLUDE_NONE, EXCLUDE_NONE};
  size_t num = 0;
  size_t i;

  FUZZ_CHECK(exclude_new(&x, NULL) == 0);
  for (i = 0; i < n; i++) {
    if (ref_glob_parse(&rg, g[i]) < 0) {
      FUZZ_CHECK(exclude_add(x, g[i], NULL) == -EINVAL);
      continue;
    }
    free(rg.glob);
    FUZZ_CHECK(exclude_add(x, g[i], NULL) == 0);
    if (want[0] == EXCLUDE_NONE && ref_excluded(&g[i], 1, rel, false))
      want[0] = num;
    if (want[1] == EXCLUDE_NONE && ref_excluded(&g[i], 1, rel, true))
      want[1] = num;
    num++;
  }
  FUZZ_CHECK(exclude_first(x, rel, false) == want[0]);
  FUZZ_CHECK(exclude_first(x, rel, true) == want[1]);
  exclude_destroy(x);
}

/* urlmap_excluded against the reference on any relpath, valid or not,
 * and on its first MAX_ANCESTORS parents. */
static void check_excluded_ref(const struct urlmap *m, const struct input *in)
{
  const char *globs[MAX_DEFAULTS + MAX_GLOBS];
  size_t n = all_globs(globs, in);
  char *dir = strdup(in->rel);
  char *p;
  size_t k = 0;

  FUZZ_CHECK(dir != NULL);
  check_same_as_fnmatch(m, globs, n, in->rel);
  check_first_as_fnmatch(globs, n, in->rel);
  for (p = dir; k++ < MAX_ANCESTORS && (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    check_same_as_fnmatch(m, globs, n, dir);
    *p = '/';
  }
  free(dir);
}

static void run_paths(const struct urlmap *m, const struct input *in)
{
  struct form fs[MAX_FORMS];
  struct strlist out;
  struct cfw_err err;
  size_t n_fs = 0;
  size_t i;
  int rc;

  strlist_init(&out);
  FUZZ_CHECK(strlist_push(&out, "/sentinel") == 0);
  rc = urlmap_paths(m, in->rel, &out, &err);
  FUZZ_CHECK(rc == 0 || rc == -EINVAL);
  FUZZ_CHECK(strcmp(out.v[0], "/sentinel") == 0);
  if (rc < 0) {
    FUZZ_CHECK(out.n == 1);
  } else {
    n_fs = forms_make(fs, in);
    check_paths(&out, 1, fs, n_fs);
    check_excluded(m, in);
  }
  for (i = 0; i < n_fs; i++) {
    free(fs[i].enc);
    free(fs[i].dec);
  }
  strlist_free(&out);
}

/* urlmap_encode() on raw bytes: the escapes urlmap.h lists, nothing else,
 * and a decode gives the input back. */
static void run_encode(const uint8_t *data, size_t size)
{
  struct buf b;
  size_t i;
  size_t o = 0;
  int rc;

  buf_init(&b, 3 * size + 1);
  FUZZ_CHECK(urlmap_encode((const char *)data, size, &b) == 0);
  for (i = 0; i < size; i++) {
    FUZZ_CHECK(o < b.len);
    if (!must_escape(data[i])) {
      FUZZ_CHECK((unsigned char)b.data[o++] == data[i]);
      continue;
    }
    FUZZ_CHECK(o + 2 < b.len && b.data[o] == '%');
    FUZZ_CHECK(hexval(b.data[o + 1]) * 16 + hexval(b.data[o + 2]) == data[i]);
    o += 3;
  }
  FUZZ_CHECK(o == b.len);
  /* A cap too small for the escapes: -E2BIG, and never past the cap. */
  buf_reset(&b);
  b.max = size;
  rc = urlmap_encode((const char *)data, size, &b);
  FUZZ_CHECK(rc == 0 || rc == -E2BIG);
  FUZZ_CHECK(b.len <= size && (b.data == NULL || b.data[b.len] == '\0'));
  buf_free(&b);
}

/* Splits data[1..size) at NUL bytes into in; the strings point into buf,
 * a NUL-terminated copy. */
static void split(const uint8_t *data, size_t size, char *buf, struct input *in)
{
  const char *fields[3 + MAX_GLOBS];
  size_t n = 0;
  size_t i;

  memset(in, 0, sizeof(*in));
  in->flags = size > 0 ? data[0] : 0;
  if (size > 0)
    memcpy(buf, data + 1, size - 1);
  buf[size > 0 ? size - 1 : 0] = '\0';
  fields[n++] = buf;
  for (i = 0; i + 1 < size && n < 3 + MAX_GLOBS; i++)
    if (buf[i] == '\0')
      fields[n++] = buf + i + 1;
  in->rel = fields[0];
  in->prefix = n > 1 ? fields[1] : "";
  in->index_name = n > 2 ? fields[2] : "";
  for (i = 3; i < n; i++)
    in->globs[in->n_globs++] = fields[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct urlmap_opts o;
  struct urlmap *m;
  struct cfw_err err;
  struct input in;
  char *buf;

  run_encode(data, size);
  buf = malloc(size + 1);
  FUZZ_CHECK(buf != NULL);
  split(data, size, buf, &in);
  memset(&o, 0, sizeof(o));
  o.prefix = in.flags & F_PREFIX ? in.prefix : NULL;
  o.index_name = in.flags & F_INDEX ? in.index_name : NULL;
  o.dir_without_slash = (in.flags & F_DIR_WITHOUT_SLASH) != 0;
  o.pretty = (in.flags & F_PRETTY) != 0;
  o.no_default_excludes = (in.flags & F_NO_DEFAULTS) != 0;
  o.excludes = in.globs;
  o.n_excludes = in.n_globs;
  if (urlmap_new(&m, &o, &err) == 0) {
    check_excluded_ref(m, &in);
    run_paths(m, &in);
    urlmap_destroy(m);
  } else {
    FUZZ_CHECK(m == NULL);
  }
  free(buf);
  return 0;
}
