#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "atomicfile.h"

#define MANIFEST_MAGIC     "CFWMANI\n"
#define MANIFEST_MAGIC_LEN 8
#define MANIFEST_HASH_LEN  32
/* magic, version, flags, length, written_at, count, root length */
#define MANIFEST_HEADER_LEN (MANIFEST_MAGIC_LEN + 4 + 4 + 8 + 8 + 8 + 4)
/* path length, size, mtime, ctime, ino, dev, flags, hash */
#define MANIFEST_ENTRY_FIXED (4 + 8 * 5 + 4 + MANIFEST_HASH_LEN)
#define MANIFEST_MIN_LEN     (MANIFEST_HEADER_LEN + MANIFEST_HASH_LEN)

#define MANIFEST_HINT                                                          \
  " Nothing was sent. To start over, remove it: the next run records a "       \
  "new baseline (then invalidate \"/*\" once if the cache may be stale)."

struct manifest {
  struct tree_entry *v; /* owned, and each path; sorted by path */
  size_t n;
  size_t cap;
  char *root; /* owned */
  int64_t written_at_ns;
};

/* A bounds-checked cursor over the loaded bytes. */
struct rd {
  const unsigned char *p; /* borrowed */
  size_t len;
  size_t off;
};

int manifest_new(struct manifest **out)
{
  struct manifest *m;

  *out = NULL;
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    return -ENOMEM;
  m->root = strdup("");
  if (m->root == NULL) {
    free(m);
    return -ENOMEM;
  }
  *out = m;
  return 0;
}

void manifest_destroy(struct manifest *m)
{
  size_t i;

  if (m == NULL)
    return;
  for (i = 0; i < m->n; i++)
    tree_entry_free(&m->v[i]);
  free(m->v);
  free(m->root);
  free(m);
}

size_t manifest_count(const struct manifest *m)
{
  return m->n;
}

const struct tree_entry *manifest_at(const struct manifest *m, size_t i)
{
  return i < m->n ? &m->v[i] : NULL;
}

const char *manifest_root(const struct manifest *m)
{
  return m->root;
}

int64_t manifest_written_at_ns(const struct manifest *m)
{
  return m->written_at_ns;
}

int manifest_set_root(struct manifest *m, const char *root)
{
  char *p;

  p = strdup(root);
  if (p == NULL)
    return -ENOMEM;
  free(m->root);
  m->root = p;
  return 0;
}

bool manifest_path_ok(const char *path, size_t len)
{
  size_t start = 0;
  size_t i;
  size_t n;

  if (len == 0 || len > MANIFEST_PATH_MAX || memchr(path, '\0', len))
    return false;
  for (i = 0; i <= len; i++) {
    if (i < len && path[i] != '/')
      continue;
    n = i - start;
    if (n == 0 || (n == 1 && path[start] == '.') ||
        (n == 2 && path[start] == '.' && path[start + 1] == '.'))
      return false;
    start = i + 1;
  }
  return true;
}

/* Index of path, or of where it would go (*found false).  O(log n). */
static size_t manifest_search(const struct manifest *m, const char *path,
                              bool *found)
{
  size_t lo = 0;
  size_t hi = m->n;
  size_t mid;
  int c;

  *found = false;
  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    c = strcmp(m->v[mid].path, path);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const struct tree_entry *manifest_find(const struct manifest *m,
                                       const char *path)
{
  bool found;
  size_t i;

  i = manifest_search(m, path, &found);
  return found ? &m->v[i] : NULL;
}

static int manifest_reserve(struct manifest *m, size_t n)
{
  struct tree_entry *v;
  size_t cap;

  if (n <= m->cap)
    return 0;
  cap = m->cap ? m->cap : 64;
  while (cap < n)
    cap = cap > SIZE_MAX / 2 ? n : cap * 2;
  if (cap > SIZE_MAX / sizeof(*v))
    return -ENOMEM;
  v = realloc(m->v, cap * sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  m->v = v;
  m->cap = cap;
  return 0;
}

static bool entry_storable(const struct tree_entry *e)
{
  return e->path != NULL && (e->flags & TREE_HASHED) &&
         (e->flags & ~TREE_FLAGS_KNOWN) == 0 &&
         manifest_path_ok(e->path, strlen(e->path));
}

int manifest_put(struct manifest *m, const struct tree_entry *e)
{
  struct tree_entry copy;
  bool found;
  size_t i;

  if (!entry_storable(e))
    return -EINVAL;
  if (manifest_reserve(m, m->n + 1) < 0 || tree_entry_copy(&copy, e) < 0)
    return -ENOMEM;
  i = manifest_search(m, e->path, &found);
  if (found) {
    tree_entry_free(&m->v[i]);
    m->v[i] = copy;
    return 0;
  }
  memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
  m->v[i] = copy;
  m->n++;
  return 0;
}

int manifest_remove(struct manifest *m, const char *path)
{
  bool found;
  size_t i;

  i = manifest_search(m, path, &found);
  if (!found)
    return -ENOENT;
  tree_entry_free(&m->v[i]);
  memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
  m->n--;
  return 0;
}

static int edit_cmp(const void *a, const void *b)
{
  const struct manifest_edit *x = a;
  const struct manifest_edit *y = b;

  return strcmp(x->entry->path, y->entry->path);
}

/* Sorts a copy of the edits (the caller's to free) and checks them; on
 * -EINVAL, *bad names the offending path and *why the reason. */
static int edits_prepare(const struct manifest_edit *ed, size_t n,
                         struct manifest_edit **out, const char **bad,
                         const char **why)
{
  struct manifest_edit *s;
  size_t i;

  *out = NULL;
  if (n > SIZE_MAX / sizeof(*s))
    return -ENOMEM;
  s = malloc(n * sizeof(*s) + 1);
  if (s == NULL)
    return -ENOMEM;
  memcpy(s, ed, n * sizeof(*s));
  qsort(s, n, sizeof(*s), edit_cmp);
  for (i = 0; i < n; i++) {
    *bad = s[i].entry->path;
    if (!s[i].remove && !entry_storable(s[i].entry))
      *why = "cannot be recorded (not hashed, or a bad path)";
    else if (i > 0 && strcmp(s[i - 1].entry->path, s[i].entry->path) == 0)
      *why = "is edited twice in one batch";
    else
      continue;
    free(s);
    return -EINVAL;
  }
  *out = s;
  return 0;
}

/* Gives each put its own path copy (NULL for removals), so the merge
 * cannot fail half-way. */
static int edits_dup_paths(const struct manifest_edit *s, size_t n, char ***out)
{
  char **p;
  size_t i;

  p = calloc(n + 1, sizeof(*p));
  if (p == NULL)
    return -ENOMEM;
  for (i = 0; i < n; i++) {
    if (s[i].remove)
      continue;
    p[i] = strdup(s[i].entry->path);
    if (p[i] != NULL)
      continue;
    while (i-- > 0)
      free(p[i]);
    free(p);
    return -ENOMEM;
  }
  *out = p;
  return 0;
}

/* Merges the sorted edits s (with path copies p, which it takes) into m's
 * entries, producing v, which holds room for m->n + n entries. */
static size_t edits_merge(struct manifest *m, const struct manifest_edit *s,
                          char **p, size_t n, struct tree_entry *v)
{
  size_t i = 0;
  size_t j = 0;
  size_t k = 0;
  int c;

  while (i < m->n || j < n) {
    if (j == n)
      c = -1;
    else if (i == m->n)
      c = 1;
    else
      c = strcmp(m->v[i].path, s[j].entry->path);
    if (c < 0) {
      v[k++] = m->v[i++];
      continue;
    }
    if (c == 0)
      tree_entry_free(&m->v[i++]);
    if (!s[j].remove) {
      v[k] = *s[j].entry;
      v[k++].path = p[j];
    }
    j++;
  }
  return k;
}

int manifest_edit(struct manifest *m, const struct manifest_edit *ed, size_t n,
                  struct cfw_err *err)
{
  struct manifest_edit *s;
  struct tree_entry *v;
  const char *bad = "";
  const char *why = "";
  char **p = NULL;
  size_t total;
  int rc;

  if (n == 0)
    return 0;
  rc = edits_prepare(ed, n, &s, &bad, &why);
  if (rc == -EINVAL)
    return cfw_err_set(err, rc, "%s %s", bad, why);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  total = m->n + n;
  v = NULL;
  if (total >= m->n && total <= SIZE_MAX / sizeof(*v))
    v = malloc(total * sizeof(*v) + 1);
  if (v == NULL || edits_dup_paths(s, n, &p) < 0) {
    free(v);
    free(s);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  m->n = edits_merge(m, s, p, n, v);
  free(m->v);
  m->v = v;
  m->cap = total;
  free(p);
  free(s);
  return 0;
}

/* Encoding.  Integers are written byte by byte: the format is
 * little-endian whatever the host is. */

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
  int i;

  for (i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
  int i;

  for (i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
  return p + 8;
}

static unsigned char *put_bytes(unsigned char *p, const void *s, size_t n)
{
  memcpy(p, s, n);
  return p + n;
}

static unsigned char *put_entry(unsigned char *p, const struct tree_entry *e)
{
  size_t len = strlen(e->path);

  p = put_u32(p, (uint32_t)len);
  p = put_bytes(p, e->path, len);
  p = put_u64(p, e->size);
  p = put_u64(p, (uint64_t)e->mtime_ns);
  p = put_u64(p, (uint64_t)e->ctime_ns);
  p = put_u64(p, e->ino);
  p = put_u64(p, e->dev);
  p = put_u32(p, e->flags);
  return put_bytes(p, e->hash, MANIFEST_HASH_LEN);
}

/* The encoded size, or 0 if it would not fit the format. */
static size_t encoded_len(const struct manifest *m)
{
  size_t total = MANIFEST_MIN_LEN + strlen(m->root);
  size_t i;

  if (strlen(m->root) > MANIFEST_PATH_MAX)
    return 0;
  for (i = 0; i < m->n; i++) {
    /* Paths are at most MANIFEST_PATH_MAX (checked on put and load). */
    total += MANIFEST_ENTRY_FIXED + strlen(m->v[i].path);
    if (total > MANIFEST_MAX_BYTES)
      return 0;
  }
  return total;
}

static int64_t now_ns(void)
{
  struct timespec ts;

  if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
    return 0;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int sha256(const void *data, size_t len, unsigned char *out)
{
  return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0
                                                                   : -ENOMEM;
}

static int manifest_encode(const struct manifest *m, int64_t written_ns,
                           unsigned char **out, size_t *len_out)
{
  size_t len = encoded_len(m);
  unsigned char *buf;
  unsigned char *p;
  size_t i;

  if (len == 0)
    return -EFBIG;
  buf = malloc(len);
  if (buf == NULL)
    return -ENOMEM;
  p = put_bytes(buf, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN);
  p = put_u32(p, MANIFEST_VERSION);
  p = put_u32(p, 0);
  p = put_u64(p, len);
  p = put_u64(p, (uint64_t)written_ns);
  p = put_u64(p, m->n);
  p = put_u32(p, (uint32_t)strlen(m->root));
  p = put_bytes(p, m->root, strlen(m->root));
  for (i = 0; i < m->n; i++)
    p = put_entry(p, &m->v[i]);
  if (sha256(buf, len - MANIFEST_HASH_LEN, p) < 0) {
    free(buf);
    return -ENOMEM;
  }
  *out = buf;
  *len_out = len;
  return 0;
}

int manifest_save(struct manifest *m, const char *state_dir,
                  struct cfw_err *err)
{
  int64_t written_ns = now_ns();
  unsigned char *data;
  size_t len;
  int rc;

  /* Strictly increasing, even if the clock steps back: the time names
   * this version of the manifest in CallerReferences. */
  if (written_ns <= m->written_at_ns)
    written_ns = m->written_at_ns + 1;
  rc = manifest_encode(m, written_ns, &data, &len);
  if (rc == -EFBIG)
    return cfw_err_set(err, rc, "manifest: too large to save");
  if (rc < 0)
    return cfw_err_set(err, rc, "manifest: out of memory");
  rc = atomicfile_mkdirs(state_dir, 0700, err);
  if (rc == 0)
    rc = atomicfile_write(state_dir, MANIFEST_FILE, data, len, err);
  free(data);
  if (rc < 0)
    return cfw_err_prefix(err, "saving manifest");
  m->written_at_ns = written_ns;
  return 0;
}

/* Decoding. */

static bool rd_bytes(struct rd *r, size_t n, const unsigned char **out)
{
  if (n > r->len - r->off)
    return false;
  *out = r->p + r->off;
  r->off += n;
  return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
  const unsigned char *p;
  int i;

  if (!rd_bytes(r, 4, &p))
    return false;
  *v = 0;
  for (i = 3; i >= 0; i--)
    *v = (*v << 8) | p[i];
  return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
  const unsigned char *p;
  int i;

  if (!rd_bytes(r, 8, &p))
    return false;
  *v = 0;
  for (i = 7; i >= 0; i--)
    *v = (*v << 8) | p[i];
  return true;
}

static bool rd_i64(struct rd *r, int64_t *v)
{
  uint64_t u;

  if (!rd_u64(r, &u))
    return false;
  *v = (int64_t)u;
  return true;
}

static int corrupt(struct cfw_err *err, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corrupt(struct cfw_err *err, const char *file, const char *fmt, ...)
{
  char why[200];
  va_list ap;

  va_start(ap, fmt);
  /* A cut-short reason is still a reason. */
  (void)vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  /* cfw_err_set returns its code; spelling the code out shows the
   * analyzer that this never returns 0. */
  (void)cfw_err_set(err, -EBADMSG, "manifest %s is corrupt (%s)." MANIFEST_HINT,
                    file, why);
  return -EBADMSG;
}

/* Reads a length-prefixed string of at most max bytes into *out, a fresh
 * NUL-terminated copy. */
static int rd_string(struct rd *r, size_t max, char **out)
{
  const unsigned char *p;
  uint32_t len;

  if (!rd_u32(r, &len) || len > max || !rd_bytes(r, len, &p))
    return -EBADMSG;
  if (memchr(p, '\0', len) != NULL)
    return -EBADMSG;
  *out = malloc((size_t)len + 1);
  if (*out == NULL)
    return -ENOMEM;
  memcpy(*out, p, len);
  (*out)[len] = '\0';
  return 0;
}

static int rd_entry(struct rd *r, struct tree_entry *e)
{
  const unsigned char *h;
  int rc;

  rc = rd_string(r, MANIFEST_PATH_MAX, &e->path);
  if (rc < 0)
    return rc;
  if (!rd_u64(r, &e->size) || !rd_i64(r, &e->mtime_ns) ||
      !rd_i64(r, &e->ctime_ns) || !rd_u64(r, &e->ino) || !rd_u64(r, &e->dev) ||
      !rd_u32(r, &e->flags) || !rd_bytes(r, MANIFEST_HASH_LEN, &h)) {
    tree_entry_free(e);
    return -EBADMSG;
  }
  memcpy(e->hash, h, MANIFEST_HASH_LEN);
  return 0;
}

/* Checks what can be checked before the checksum can be trusted to mean
 * anything: magic, version, flags and the recorded length. */
static int check_frame(const unsigned char *data, size_t len, const char *file,
                       struct cfw_err *err)
{
  struct rd r = {data, len, MANIFEST_MAGIC_LEN};
  uint32_t version;
  uint32_t flags;
  uint64_t stated;

  if (len < MANIFEST_MAGIC_LEN ||
      memcmp(data, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN) != 0)
    return corrupt(err, file, "not a cfwatch manifest: bad magic");
  if (!rd_u32(&r, &version))
    return corrupt(err, file, "truncated to %zu bytes", len);
  if (version != MANIFEST_VERSION) {
    /* Spelled out as in corrupt(). */
    (void)cfw_err_set(err, -EPROTO,
                      "manifest %s has format version %" PRIu32
                      ", but this cfwatch reads version %d (written by a "
                      "newer cfwatch, or damaged)." MANIFEST_HINT,
                      file, version, MANIFEST_VERSION);
    return -EPROTO;
  }
  if (!rd_u32(&r, &flags) || !rd_u64(&r, &stated))
    return corrupt(err, file, "truncated to %zu bytes", len);
  if (stated != len || len < MANIFEST_MIN_LEN)
    return corrupt(err, file,
                   "%zu bytes, but its header says %" PRIu64
                   ": truncated or damaged",
                   len, stated);
  if (flags != 0)
    return corrupt(err, file, "unknown flags %#" PRIx32, flags);
  return 0;
}

static int check_sum(const unsigned char *data, size_t len, const char *file,
                     struct cfw_err *err)
{
  unsigned char sum[MANIFEST_HASH_LEN];

  if (sha256(data, len - MANIFEST_HASH_LEN, sum) < 0) {
    (void)cfw_err_set(err, -ENOMEM, "manifest %s: out of memory", file);
    return -ENOMEM; /* spelled out as in corrupt() */
  }
  if (memcmp(sum, data + len - MANIFEST_HASH_LEN, MANIFEST_HASH_LEN) != 0)
    return corrupt(err, file, "checksum mismatch");
  return 0;
}

/* Checks one decoded entry against the format's rules. */
static const char *entry_problem(const struct tree_entry *e,
                                 const struct tree_entry *prev)
{
  if (!manifest_path_ok(e->path, strlen(e->path)))
    return "invalid path";
  if ((e->flags & ~TREE_FLAGS_KNOWN) != 0 || !(e->flags & TREE_HASHED))
    return "invalid flags";
  if (prev != NULL && strcmp(prev->path, e->path) >= 0)
    return "paths out of order";
  return NULL;
}

static int parse_entries(struct manifest *m, struct rd *r, uint64_t count,
                         const char *file, struct cfw_err *err)
{
  const char *why;
  struct tree_entry *e;
  size_t at;
  int rc;

  if (count > (r->len - r->off) / MANIFEST_ENTRY_FIXED)
    return corrupt(err, file, "entry count %" PRIu64 " exceeds the file",
                   count);
  if (manifest_reserve(m, (size_t)count) < 0)
    return cfw_err_set(err, -ENOMEM, "manifest %s: out of memory", file);
  while (m->n < count) {
    at = r->off;
    e = &m->v[m->n];
    rc = rd_entry(r, e);
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "manifest %s: out of memory", file);
    if (rc < 0)
      return corrupt(err, file, "entry %zu at byte %zu is cut short", m->n, at);
    why = entry_problem(e, m->n > 0 ? &m->v[m->n - 1] : NULL);
    if (why != NULL) {
      tree_entry_free(e);
      return corrupt(err, file, "entry %zu at byte %zu: %s", m->n, at, why);
    }
    m->n++;
  }
  if (r->off != r->len)
    return corrupt(err, file, "%zu stray bytes after the entries",
                   r->len - r->off);
  return 0;
}

/* Parses a file whose frame and checksum were verified. */
static int parse_body(struct manifest *m, const unsigned char *data, size_t len,
                      const char *file, struct cfw_err *err)
{
  /* The entries end where the trailer starts; version, flags and length
   * were read by check_frame. */
  struct rd r = {data, len - MANIFEST_HASH_LEN, MANIFEST_MAGIC_LEN + 16};
  uint64_t count;
  char *root;
  int rc;

  if (!rd_i64(&r, &m->written_at_ns) || !rd_u64(&r, &count))
    return corrupt(err, file, "header cut short");
  rc = rd_string(&r, MANIFEST_PATH_MAX, &root);
  if (rc == -ENOMEM)
    return cfw_err_set(err, rc, "manifest %s: out of memory", file);
  if (rc < 0)
    return corrupt(err, file, "invalid root path");
  free(m->root);
  m->root = root;
  return parse_entries(m, &r, count, file, err);
}

/* errno as a negative code, never 0 (which a caller would take as
 * success). */
static int neg_errno(void)
{
  int e = errno;

  return e > 0 ? -e : -EIO;
}

static int read_fd(int fd, unsigned char *p, size_t want, size_t *got)
{
  ssize_t n;

  *got = 0;
  while (*got < want) {
    n = read(fd, p + *got, want - *got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return neg_errno();
    if (n == 0)
      break;
    *got += (size_t)n;
  }
  return 0;
}

/* Reads the whole file into a fresh buffer (one read for the usual case)
 * and returns it, or NULL with a negative errno in *code (-EINVAL: not a
 * regular file).  The buffer is zeroed first, so no byte is ever read
 * uninitialised. */
static unsigned char *read_whole(const char *file, size_t *len, int *code)
{
  struct stat st;
  unsigned char *p = NULL;
  int fd;
  int rc;

  *len = 0;
  fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *code = neg_errno();
    return NULL;
  }
  if (fstat(fd, &st) < 0)
    rc = neg_errno();
  else if (!S_ISREG(st.st_mode))
    rc = -EINVAL;
  else if ((uint64_t)st.st_size > MANIFEST_MAX_BYTES)
    rc = -EFBIG;
  else if ((p = calloc((size_t)st.st_size + 1, 1)) == NULL)
    rc = -ENOMEM;
  else
    rc = read_fd(fd, p, (size_t)st.st_size, len);
  (void)close(fd); /* read-only: close cannot lose data */
  if (rc < 0) {
    free(p);
    *code = rc;
    return NULL;
  }
  return p;
}

static int read_error(struct cfw_err *err, const char *file, int rc)
{
  if (rc == -ENOENT)
    return cfw_err_set(err, rc, "no manifest at %s (first run)", file);
  return cfw_err_set(err, rc, "manifest %s: %s", file,
                     rc == -EINVAL ? "not a regular file" : strerror(-rc));
}

int manifest_load(struct manifest **out, const char *state_dir,
                  struct cfw_err *err)
{
  char file[4096];
  unsigned char *data;
  struct manifest *m;
  size_t len;
  int rc = -EIO;
  int n;

  *out = NULL;
  n = snprintf(file, sizeof(file), "%s/%s", state_dir, MANIFEST_FILE);
  if (n < 0 || (size_t)n >= sizeof(file))
    return cfw_err_set(err, -ENAMETOOLONG, "state dir too long: %s", state_dir);
  data = read_whole(file, &len, &rc);
  if (data == NULL)
    return read_error(err, file, rc);
  rc = manifest_new(&m);
  if (rc < 0) {
    free(data);
    return cfw_err_set(err, rc, "manifest %s: out of memory", file);
  }
  rc = check_frame(data, len, file, err);
  if (rc == 0)
    rc = check_sum(data, len, file, err);
  if (rc == 0)
    rc = parse_body(m, data, len, file, err);
  free(data);
  if (rc < 0) {
    manifest_destroy(m);
    return rc;
  }
  *out = m;
  return 0;
}
