/* SPDX-License-Identifier: MIT */
/* The snapshot's decoder (statefmt.h), fed as the bytes come: through a
 * window of at most STATEFMT_READ_BUF bytes that the decoder refills
 * when a field needs more (wire.h's streaming reader), so a load holds
 * the decoded state and the window, never the file whole (issue 13).
 *
 * The checks are the ones made when the file was read whole, with the
 * same outcomes: the frame first; then the SHA-256, which runs over
 * the bytes as they are read and is compared at the end: a sum that
 * fails wins over whatever the body said, and nothing decoded from
 * such a file is kept, as when the sum was checked before the body. */
#include "statefmt.h"
#include "statefmt_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_MAGIC   STATEFMT_SNAPSHOT_MAGIC
#define SNAPSHOT_VERSION STATEFMT_SNAPSHOT_VERSION
#define MAGIC_LEN        8
/* magic, version, flags, length: what is read before the checksum. */
#define SNAPSHOT_FRAME_LEN (MAGIC_LEN + 4 + 4 + 8)
#define SNAPSHOT_MIN_LEN   (SNAPSHOT_FRAME_LEN + WIRE_HASH_LEN)

/* Magic, version, flags and the stated length: what can be checked
 * before the checksum means anything. */
static int check_frame(const unsigned char *p, size_t n, size_t len,
                       const char *file, int *version, struct cfw_err *err)
{
  struct wire_in r;
  uint32_t v;
  uint32_t flags;
  uint64_t stated;

  wire_in_init(&r, p, n);
  r.off = MAGIC_LEN;
  if (n < MAGIC_LEN || memcmp(p, SNAPSHOT_MAGIC, MAGIC_LEN) != 0)
    return statefmt_corrupt(err, file, "not a cfwatch manifest: bad magic");
  if (!wire_get_u32(&r, &v))
    return statefmt_corrupt(err, file, "truncated to %zu bytes", len);
  if (v < 1 || v > SNAPSHOT_VERSION) {
    (void)cfw_err_set(err, -EPROTO,
                      "%s has format version %" PRIu32 ", but this cfwatch "
                      "reads versions 1 to %d (written by a newer cfwatch, "
                      "or damaged)." STATEFMT_HINT,
                      file, v, SNAPSHOT_VERSION);
    return -EPROTO;
  }
  if (!wire_get_u32(&r, &flags) || !wire_get_u64(&r, &stated))
    return statefmt_corrupt(err, file, "truncated to %zu bytes", len);
  if (stated != len || len < SNAPSHOT_MIN_LEN)
    return statefmt_corrupt(err, file,
                            "%zu bytes, but its header says %" PRIu64
                            ": truncated or damaged",
                            len, stated);
  if (flags != 0)
    return statefmt_corrupt(err, file, "unknown flags %#" PRIx32, flags);
  *version = (int)v;
  return 0;
}

/* Flags an entry of a snapshot of this version may hold: TREE_TAGGED
 * came with format 3. */
static uint32_t entry_flags_known(int version)
{
  return version >= 3 ? TREE_FLAGS_KNOWN : TREE_FLAGS_KNOWN & ~TREE_TAGGED;
}

static const char *entry_problem(const struct tree_entry *e,
                                 const struct tree_entry *prev, int version)
{
  if (!manifest_path_ok(e->path, strlen(e->path)))
    return "invalid path";
  if ((e->flags & ~entry_flags_known(version)) != 0 ||
      !(e->flags & TREE_HASHED))
    return "invalid flags";
  if (prev != NULL && strcmp(prev->path, e->path) >= 0)
    return "paths out of order";
  return NULL;
}

static int get_entries(struct wire_in *r, uint64_t count, struct snapshot *s,
                       const char *file, struct cfw_err *err)
{
  const char *why;
  size_t at;
  int rc;

  if (count > wire_left(r) / STATEFMT_ENTRY_MIN_LEN)
    return statefmt_corrupt(err, file,
                            "entry count %" PRIu64 " exceeds the file", count);
  s->v = malloc((size_t)count * sizeof(*s->v) + 1);
  if (s->v == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  while (s->n < count) {
    at = wire_pos(r);
    rc = wire_get_entry(r, &s->v[s->n]);
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "%s: out of memory", file);
    if (rc < 0)
      return statefmt_corrupt(err, file, "entry %zu at byte %zu is cut short",
                              s->n, at);
    why = entry_problem(&s->v[s->n], s->n > 0 ? &s->v[s->n - 1] : NULL,
                        s->version);
    if (why != NULL) {
      tree_entry_free(&s->v[s->n]);
      return statefmt_corrupt(err, file, "entry %zu at byte %zu: %s", s->n, at,
                              why);
    }
    s->n++;
  }
  return 0;
}

static int get_upload_state(struct wire_in *r, struct intent *in)
{
  uint8_t up;

  if (!wire_get_u8(r, &up) || up > 1)
    return -EBADMSG;
  in->uploaded = up == 1;
  return statefmt_get_stale(r, &in->stale, &in->n_stale);
}

static int get_intents(struct wire_in *r, struct snapshot *s, const char *file,
                       struct cfw_err *err)
{
  struct intent *in;
  size_t n;
  int rc;

  if (statefmt_get_count(r, 8 + 4 * 4, &n) < 0)
    return statefmt_corrupt(err, file, "bad count of open batches");
  s->intents = calloc(n + 1, sizeof(*s->intents));
  if (s->intents == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  for (; s->n_intents < n; s->n_intents++) {
    in = &s->intents[s->n_intents];
    rc = wire_get_u64(r, &in->seq) ? statefmt_get_intent_body(r, in) : -EBADMSG;
    if (rc == 0)
      rc = get_upload_state(r, in);
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "%s: out of memory", file);
    if (rc < 0) {
      intent_free(in);
      return statefmt_corrupt(err, file, "open batch %zu is damaged",
                              s->n_intents);
    }
  }
  return 0;
}

static int get_string(struct wire_in *r, size_t max, char **out,
                      const char *file, const char *what, struct cfw_err *err)
{
  int rc = wire_get_str(r, max, out);

  if (rc == -ENOMEM)
    return cfw_err_set(err, rc, "%s: out of memory", file);
  return rc == 0 ? 0 : statefmt_corrupt(err, file, "invalid %s", what);
}

/* A string of formats from min on, or "" in an older one. */
static int get_string_since(struct wire_in *r, const struct snapshot *s,
                            int min, size_t max, char **out, const char *file,
                            const char *what, struct cfw_err *err)
{
  if (s->version >= min)
    return get_string(r, max, out, file, what, err);
  *out = strdup("");
  return *out != NULL ? 0
                      : cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
}

/* Formats 2 to 4: identity, sequence, (3: the tag header, 4: the URL
 * mapping,) entries, open intents. */
static int get_body_v2(struct wire_in *r, struct snapshot *s, const char *file,
                       struct cfw_err *err)
{
  const unsigned char *id;
  uint64_t count;
  int rc;

  /* Copied before the next get, which may refill the window. */
  if (!wire_get_bytes(r, STATE_ID_LEN, &id))
    return statefmt_corrupt(err, file, "header cut short");
  memcpy(s->id, id, STATE_ID_LEN);
  if (!wire_get_u64(r, &s->next_seq))
    return statefmt_corrupt(err, file, "header cut short");
  rc = get_string(r, MANIFEST_PATH_MAX, &s->root, file, "root path", err);
  if (rc == 0)
    rc = get_string(r, STATEFMT_ID_MAX - 1, &s->distribution, file,
                    "distribution", err);
  if (rc == 0)
    rc = get_string_since(r, s, 3, STATEFMT_HEADER_MAX, &s->tag_header, file,
                          "cache tag header", err);
  if (rc == 0)
    rc = get_string_since(r, s, 4, STATEFMT_URLMAP_MAX, &s->urlmap, file,
                          "URL mapping", err);
  if (rc == 0 && !wire_get_u64(r, &count))
    rc = statefmt_corrupt(err, file, "header cut short");
  if (rc == 0)
    rc = get_entries(r, count, s, file, err);
  return rc == 0 ? get_intents(r, s, file, err) : rc;
}

/* Format 1: the count, the root, the entries; it predates the journal,
 * so its first journal record would be 1. */
static int get_body_v1(struct wire_in *r, struct snapshot *s, const char *file,
                       struct cfw_err *err)
{
  uint64_t count;
  int rc;

  if (!wire_get_u64(r, &count))
    return statefmt_corrupt(err, file, "header cut short");
  rc = get_string(r, MANIFEST_PATH_MAX, &s->root, file, "root path", err);
  if (rc == 0 && ((s->distribution = strdup("")) == NULL ||
                  (s->tag_header = strdup("")) == NULL ||
                  (s->urlmap = strdup("")) == NULL))
    rc = cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  s->next_seq = 1;
  return rc == 0 ? get_entries(r, count, s, file, err) : rc;
}

/* The header's time, then the body of its version, ending where the
 * trailer starts. */
static int get_body(struct wire_in *r, struct snapshot *s, const char *file,
                    struct cfw_err *err)
{
  int rc;

  if (!wire_get_i64(r, &s->written_at_ns))
    rc = statefmt_corrupt(err, file, "header cut short");
  else if (s->version == 1)
    rc = get_body_v1(r, s, file, err);
  else
    rc = get_body_v2(r, s, file, err);
  if (rc == 0 && wire_left(r) != 0)
    rc = statefmt_corrupt(err, file, "%zu stray bytes after the entries",
                          wire_left(r));
  return rc;
}

/* The input, hashed as it is read (but for the trailer). */
struct snapin {
  const struct statefmt_src *src; /* borrowed */
  struct wire_sha sha;            /* owned */
  size_t at;                      /* bytes read so far */
};

/* Up to n bytes, hashed if hash: 0 or the source's error. */
static int snapin_some(struct snapin *in, void *p, size_t n, size_t *got,
                       bool hash)
{
  int rc;

  *got = 0;
  rc = in->src->read(in->src->arg, p, n, got);
  if (rc == 0 && *got > n)
    rc = -EIO; /* a source that overran p */
  if (rc < 0)
    return rc;
  in->at += *got;
  return hash ? wire_sha_update(&in->sha, p, *got) : 0;
}

/* The streaming reader's read (wire.h). */
static int snapin_read(void *arg, void *p, size_t n, size_t *got)
{
  return snapin_some(arg, p, n, got, true);
}

/* Exactly n bytes into p: 0, -ENODATA if the input ends first, or the
 * source's error. */
static int snapin_exact(struct snapin *in, unsigned char *p, size_t n,
                        bool hash)
{
  size_t got;
  int rc;

  while (n > 0) {
    rc = snapin_some(in, p, n, &got, hash);
    if (rc == 0 && got == 0)
      rc = -ENODATA;
    if (rc < 0)
      return rc;
    p += got;
    n -= got;
  }
  return 0;
}

/* A failed read, in the words a whole read used. */
static int input_failed(const struct snapin *in, int rc, const char *file,
                        struct cfw_err *err)
{
  if (rc == -ENODATA)
    return statefmt_corrupt(err, file,
                            "%zu bytes, but it ended at byte %zu "
                            "while being read",
                            in->src->len, in->at);
  if (rc == -ENOMEM)
    return cfw_err_set(err, rc, "%s: out of memory", file);
  return cfw_err_set(err, rc, "%s: %s", file, strerror(-rc));
}

/* Hashes what the body did not read (all of it after a damaged field,
 * through buf[0..cap)), then compares the sum with the trailer: 0,
 * -EBADMSG for a mismatch or a read's error, with a message. */
static int check_sum(struct snapin *in, unsigned char *buf, size_t cap,
                     const char *file, struct cfw_err *err)
{
  unsigned char sum[WIRE_HASH_LEN];
  unsigned char trailer[WIRE_HASH_LEN];
  size_t body = in->src->len - WIRE_HASH_LEN;
  size_t n;
  int rc = 0;

  while (rc == 0 && in->at < body) {
    n = body - in->at < cap ? body - in->at : cap;
    rc = snapin_exact(in, buf, n, true);
  }
  if (rc == 0)
    rc = snapin_exact(in, trailer, sizeof(trailer), false);
  if (rc == 0)
    rc = wire_sha_final(&in->sha, sum);
  if (rc < 0)
    return input_failed(in, rc, file, err);
  if (memcmp(sum, trailer, WIRE_HASH_LEN) != 0)
    return statefmt_corrupt(err, file, "checksum mismatch");
  return 0;
}

/* The frame, read and checked. */
static int read_frame(struct snapin *in, const char *file, int *version,
                      struct cfw_err *err)
{
  unsigned char head[SNAPSHOT_FRAME_LEN];
  size_t n = in->src->len < sizeof(head) ? in->src->len : sizeof(head);
  int rc;

  rc = snapin_exact(in, head, n, true);
  if (rc < 0)
    return input_failed(in, rc, file, err);
  return check_frame(head, n, in->src->len, file, version, err);
}

/* The body through a window of buf[0..cap), then the sum, whose verdict
 * wins (a read that failed wins over both: the body's may be its echo). */
static int read_body(struct snapin *in, unsigned char *buf, size_t cap,
                     struct snapshot *out, const char *file,
                     struct cfw_err *err)
{
  struct wire_in r;
  int rc;
  int sum_rc;

  wire_in_init_stream(&r, buf, cap, SNAPSHOT_FRAME_LEN,
                      in->src->len - WIRE_HASH_LEN, snapin_read, in);
  rc = get_body(&r, out, file, err);
  if (r.rc != 0)
    return input_failed(in, r.rc, file, err);
  /* Only what the window reached was read: the sum goes on from there. */
  sum_rc = check_sum(in, buf, cap, file, err);
  return sum_rc < 0 ? sum_rc : rc;
}

int statefmt_read_snapshot(const struct statefmt_src *src, const char *file,
                           struct snapshot *out, struct cfw_err *err)
{
  struct snapin in = {src, {NULL}, 0};
  unsigned char *buf = NULL;
  size_t cap = src->len < STATEFMT_READ_BUF ? src->len : STATEFMT_READ_BUF;
  int rc;

  memset(out, 0, sizeof(*out));
  rc = wire_sha_init(&in.sha);
  if (rc == 0 && (buf = malloc(cap + 1)) == NULL)
    rc = -ENOMEM;
  if (rc < 0)
    rc = cfw_err_set(err, rc, "%s: out of memory", file);
  if (rc == 0)
    rc = read_frame(&in, file, &out->version, err);
  if (rc == 0)
    rc = read_body(&in, buf, cap, out, file, err);
  if (rc < 0)
    snapshot_free(out);
  free(buf);
  wire_sha_free(&in.sha);
  return rc;
}

/* A buffer as a source. */
struct memsrc {
  const unsigned char *p; /* borrowed */
  size_t len;
  size_t at;
};

static int memsrc_read(void *arg, void *p, size_t n, size_t *got)
{
  struct memsrc *m = arg;

  *got = m->len - m->at < n ? m->len - m->at : n;
  memcpy(p, m->p + m->at, *got);
  m->at += *got;
  return 0;
}

int statefmt_get_snapshot(const unsigned char *p, size_t len, const char *file,
                          struct snapshot *out, struct cfw_err *err)
{
  struct memsrc m = {p, len, 0};
  struct statefmt_src src = {memsrc_read, &m, len};

  return statefmt_read_snapshot(&src, file, out, err);
}
