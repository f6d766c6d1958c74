/* SPDX-License-Identifier: MIT */
#include "mime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgfile.h"
#include "util.h"

#define MIME_CHARSET   "; charset=utf-8"
#define MIME_MIN_SLOTS 64

struct mime_entry {
  const char *ext; /* lowercase, not NUL-terminated; in data or static */
  size_t len;
  size_t type; /* index in types */
};

struct mime_table {
  char **types; /* owned, each: the type, with its charset */
  size_t n_types;
  size_t cap_types;
  struct mime_entry *entries; /* owned; in the order read */
  size_t n_entries;
  size_t cap_entries;
  uint32_t *slots; /* owned; entry index + 1, 0 for none */
  size_t n_slots;  /* a power of two, at least twice n_entries */
  size_t n_exts;   /* distinct extensions */
  char *data;      /* owned: the file, which entries point into */
  size_t data_len;
};

/* The web's common types, for a machine without /etc/mime.types; each
 * as Debian's media-types 10 has it, but "map" (source maps, which it
 * lacks: the Source Map spec serves them as JSON). */
static const struct {
  const char *ext;
  const char *type;
} mime_builtin_types[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"xml", "application/xml"},
    {"txt", "text/plain"},
    {"csv", "text/csv"},
    {"md", "text/markdown"},
    {"svg", "image/svg+xml"},
    {"svgz", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
};

/* isspace() in the C locale, which cfwatch never changes; Go's
 * strings.Fields and Python's str.split() split there too. */
static bool mime_blank(char c)
{
  return c == ' ' || (c >= '\t' && c <= '\r');
}

static char mime_lower(char c)
{
  if (c >= 'A' && c <= 'Z')
    return (char)(c - 'A' + 'a');
  return c;
}

/* FNV-1a over the lowercase bytes. */
static uint32_t mime_hash(const char *s, size_t n)
{
  uint32_t h = UINT32_C(2166136261);
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= (unsigned char)mime_lower(s[i]);
    h *= UINT32_C(16777619);
  }
  return h;
}

/* RFC 6838 s.4.2: a restricted-name, 1 to 127 bytes. */
static bool mime_valid_name(const char *s, size_t n)
{
  size_t i;

  if (n == 0 || n > 127)
    return false;
  for (i = 0; i < n; i++) {
    if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
        (s[i] >= '0' && s[i] <= '9'))
      continue;
    if (i == 0 || strchr("!#$&-^_.+", s[i]) == NULL || s[i] == '\0')
      return false;
  }
  return true;
}

static bool mime_valid_type(const char *s, size_t n)
{
  const char *slash = memchr(s, '/', n);

  return slash != NULL && mime_valid_name(s, (size_t)(slash - s)) &&
         mime_valid_name(slash + 1, n - (size_t)(slash - s) - 1);
}

/* An extension the lookup can find: printable ASCII, without '.' (the
 * lookup takes what follows the last one) or '/'. */
static bool mime_valid_ext(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~' || s[i] == '.' || s[i] == '/')
      return false;
  return n > 0;
}

/* See mime.h for why these and not the XML types. */
static bool mime_wants_charset(const char *type)
{
  static const char *const apps[] = {"javascript", "x-javascript", "ecmascript",
                                     "json"};
  const char *sub;
  size_t n;
  size_t i;

  if (strncasecmp(type, "text/", strlen("text/")) == 0)
    return true;
  if (strncasecmp(type, "application/", strlen("application/")) != 0)
    return false;
  sub = type + strlen("application/");
  for (i = 0; i < ARRAY_SIZE(apps); i++)
    if (strcasecmp(sub, apps[i]) == 0)
      return true;
  n = strlen(sub);
  return n > strlen("+json") &&
         strcasecmp(sub + n - strlen("+json"), "+json") == 0;
}

/* Appends the type s[0..n), with its charset if it takes one. */
static int mime_add_type(struct mime_table *t, const char *s, size_t n)
{
  char **v = array_grow(t->types, t->n_types, &t->cap_types, sizeof(*v));
  char *type;
  size_t extra = sizeof(MIME_CHARSET);

  if (v == NULL)
    return -ENOMEM;
  t->types = v;
  type = malloc(n + extra);
  if (type == NULL)
    return -ENOMEM;
  memcpy(type, s, n);
  type[n] = '\0';
  if (mime_wants_charset(type))
    memcpy(type + n, MIME_CHARSET, extra);
  t->types[t->n_types++] = type;
  return 0;
}

/* Appends ext[0..len) (lowercase) for the last type added. */
static int mime_add_entry(struct mime_table *t, const char *ext, size_t len)
{
  struct mime_entry *v =
      array_grow(t->entries, t->n_entries, &t->cap_entries, sizeof(*v));

  if (v == NULL)
    return -ENOMEM;
  t->entries = v;
  v[t->n_entries].ext = ext;
  v[t->n_entries].len = len;
  v[t->n_entries].type = t->n_types - 1;
  t->n_entries++;
  return 0;
}

static size_t mime_skip_blanks(const char *s, size_t n, size_t i)
{
  while (i < n && mime_blank(s[i]))
    i++;
  return i;
}

static size_t mime_skip_word(const char *s, size_t n, size_t i)
{
  while (i < n && !mime_blank(s[i]))
    i++;
  return i;
}

/* One line of the file, s[0..n): a type and its extensions, which are
 * lowercased in place.  A line with a bad type is skipped, as is a bad
 * extension; so is a type without extensions, which no lookup needs. */
static int mime_read_line(struct mime_table *t, char *s, size_t n)
{
  size_t i = mime_skip_blanks(s, n, 0);
  size_t type = i;
  size_t type_len;
  size_t start;
  size_t k;
  bool added = false;
  int rc;

  if (i == n || s[i] == '#')
    return 0;
  i = mime_skip_word(s, n, i);
  type_len = i - type;
  if (!mime_valid_type(s + type, type_len))
    return 0;
  for (;;) {
    i = mime_skip_blanks(s, n, i);
    if (i == n || s[i] == '#')
      return 0;
    start = i;
    i = mime_skip_word(s, n, i);
    if (!mime_valid_ext(s + start, i - start))
      continue;
    if (!added) {
      rc = mime_add_type(t, s + type, type_len);
      if (rc < 0)
        return rc;
      added = true;
    }
    for (k = start; k < i; k++)
      s[k] = mime_lower(s[k]);
    rc = mime_add_entry(t, s + start, i - start);
    if (rc < 0)
      return rc;
  }
}

/* The slot that holds ext[0..len), or the empty one where it would go. */
static uint32_t *mime_slot(const struct mime_table *t, const char *ext,
                           size_t len)
{
  size_t mask = t->n_slots - 1;
  size_t i = mime_hash(ext, len) & mask;
  const struct mime_entry *e;
  size_t k;

  for (;; i = (i + 1) & mask) {
    if (t->slots[i] == 0)
      return &t->slots[i];
    e = &t->entries[t->slots[i] - 1];
    if (e->len != len)
      continue;
    for (k = 0; k < len && e->ext[k] == mime_lower(ext[k]); k++)
      ;
    if (k == len)
      return &t->slots[i];
  }
}

/* Indexes the entries in the order read, so that a later one replaces an
 * earlier one with the same extension.  Half the slots at most are used,
 * so a probe sequence ends at an empty one soon. */
static int mime_index(struct mime_table *t)
{
  size_t n = MIME_MIN_SLOTS;
  uint32_t *slot;
  size_t i;

  if (t->n_entries >= UINT32_MAX / 2)
    return -ENOMEM;
  while (n < 2 * t->n_entries)
    n *= 2;
  t->slots = calloc(n, sizeof(*t->slots));
  if (t->slots == NULL)
    return -ENOMEM;
  t->n_slots = n;
  for (i = 0; i < t->n_entries; i++) {
    slot = mime_slot(t, t->entries[i].ext, t->entries[i].len);
    if (*slot == 0)
      t->n_exts++;
    *slot = (uint32_t)i + 1;
  }
  return 0;
}

static int mime_add_builtin(struct mime_table *t)
{
  const char *type;
  size_t i;
  int rc;

  for (i = 0; i < ARRAY_SIZE(mime_builtin_types); i++) {
    type = mime_builtin_types[i].type;
    rc = mime_add_type(t, type, strlen(type));
    if (rc == 0)
      rc = mime_add_entry(t, mime_builtin_types[i].ext,
                          strlen(mime_builtin_types[i].ext));
    if (rc < 0)
      return rc;
  }
  return 0;
}

static int mime_read_file(struct mime_table *t)
{
  struct cfgfile_lines it;
  size_t off;
  size_t n;
  int rc;

  /* A NUL byte is a byte like any other: it makes its field invalid. */
  cfgfile_lines_init(&it, t->data, t->data_len, CFGFILE_EOL_LF, 0, true);
  while ((rc = cfgfile_next_line(&it, &off, &n, NULL)) > 0) {
    rc = mime_read_line(t, t->data + off, n);
    if (rc < 0)
      return rc;
  }
  return rc;
}

void mime_table_destroy(struct mime_table *t)
{
  size_t i;

  if (t == NULL)
    return;
  for (i = 0; i < t->n_types; i++)
    free(t->types[i]);
  free(t->types);
  free(t->entries);
  free(t->slots);
  cfgfile_free(t->data, t->data_len);
  free(t);
}

/* Builds a table: the built-in types, then those of data (owned from
 * now on, even on failure; NULL for none). */
static int mime_build(struct mime_table **out, char *data, size_t len)
{
  struct mime_table *t = calloc(1, sizeof(*t));
  int rc;

  *out = NULL;
  if (t == NULL) {
    cfgfile_free(data, len);
    return -ENOMEM;
  }
  t->data = data;
  t->data_len = len;
  rc = mime_add_builtin(t);
  if (rc == 0 && data != NULL)
    rc = mime_read_file(t);
  if (rc == 0)
    rc = mime_index(t);
  if (rc < 0) {
    mime_table_destroy(t);
    return rc;
  }
  *out = t;
  return 0;
}

int mime_table_builtin(struct mime_table **out, struct cfw_err *err)
{
  if (mime_build(out, NULL, 0) < 0)
    return cfw_err_set(err, -ENOMEM, "MIME table: out of memory");
  return 0;
}

int mime_table_load(struct mime_table **out, const char *path,
                    struct cfw_err *err)
{
  char *data = NULL;
  size_t len = 0;
  int rc;

  *out = NULL;
  rc = cfgfile_read(path, MIME_MAX_FILE_SIZE, true, &data, &len, err);
  if (rc == -ENOENT || rc == -ENOTDIR) {
    if (mime_build(out, NULL, 0) < 0 || *out == NULL)
      return cfw_err_set(err, -ENOMEM, "MIME table: out of memory");
    /* Not a failure: the message is the caller's warning. */
    (void)cfw_err_set(err, -ENOENT,
                      "%s: no such file; content types come from a built-in "
                      "table of %zu common web types (install media-types for "
                      "the full list)",
                      path, mime_table_size(*out));
    return MIME_FROM_BUILTIN;
  }
  if (rc == -EFBIG)
    return cfw_err_set(err, -EINVAL, "%s: larger than %zu bytes", path,
                       MIME_MAX_FILE_SIZE);
  if (rc < 0)
    return rc;
  if (mime_build(out, data, len) < 0)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", path);
  return MIME_FROM_FILE;
}

size_t mime_table_size(const struct mime_table *t)
{
  return t->n_exts;
}

const char *mime_lookup(const struct mime_table *t, const char *ext, size_t len)
{
  uint32_t *slot;

  if (len == 0)
    return NULL;
  slot = mime_slot(t, ext, len);
  return *slot == 0 ? NULL : t->types[t->entries[*slot - 1].type];
}

const char *mime_type_of(const struct mime_table *t, const char *path,
                         size_t len)
{
  const char *base = path;
  const char *dot = NULL;
  const char *type;
  size_t i;

  for (i = 0; i < len; i++) {
    if (path[i] == '/') {
      base = path + i + 1;
      dot = NULL;
    } else if (path[i] == '.') {
      dot = path + i;
    }
  }
  if (dot == NULL || dot == base)
    return MIME_OCTET_STREAM;
  type = mime_lookup(t, dot + 1, (size_t)(path + len - dot - 1));
  return type != NULL ? type : MIME_OCTET_STREAM;
}
