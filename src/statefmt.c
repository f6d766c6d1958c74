/* SPDX-License-Identifier: MIT */
#include "statefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_MAGIC   STATEFMT_SNAPSHOT_MAGIC
#define JOURNAL_MAGIC    STATEFMT_JOURNAL_MAGIC
#define MAGIC_LEN        8
#define SNAPSHOT_VERSION STATEFMT_SNAPSHOT_VERSION
#define JOURNAL_VERSION  STATEFMT_JOURNAL_VERSION
/* magic, version, flags, length: what is read before the checksum. */
#define SNAPSHOT_FRAME_LEN (MAGIC_LEN + 4 + 4 + 8)
#define SNAPSHOT_MIN_LEN   (SNAPSHOT_FRAME_LEN + WIRE_HASH_LEN)
/* The smallest encoded entry: an empty path's length and the fields. */
#define ENTRY_MIN_LEN   (4 + 8 * 5 + 4 + WIRE_HASH_LEN)
#define RECORD_MIN_BODY (8 + 1)

#define STATE_HINT                                                             \
  " Nothing was sent. To start over, remove the state dir: the next run "      \
  "records a new baseline (then invalidate \"/*\" once if the cache may "      \
  "be stale)."

void snapshot_free(struct snapshot *s)
{
  size_t i;

  if (s == NULL)
    return;
  for (i = 0; i < s->n; i++)
    tree_entry_free(&s->v[i]);
  for (i = 0; i < s->n_intents; i++)
    intent_free(&s->intents[i]);
  free(s->v);
  free(s->intents);
  free(s->root);
  free(s->distribution);
  free(s->tag_header);
  memset(s, 0, sizeof(*s));
}

void record_free(struct record *r)
{
  if (r == NULL)
    return;
  intent_free(&r->intent);
  changes_free(r->changes, r->n_changes);
  free(r->stale);
  memset(r, 0, sizeof(*r));
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
  /* Spelled out so the analyzer sees it never returns 0. */
  (void)cfw_err_set(err, -EBADMSG, "%s is corrupt (%s)." STATE_HINT, file, why);
  return -EBADMSG;
}

/* Changes and intents, shared by snapshots and records (their encoders
 * are statefmt_put.c's). */

static int get_change(struct wire_in *r, struct change *c)
{
  uint8_t kind;
  int rc;

  if (!wire_get_u8(r, &kind) || kind > CHANGE_TOUCHED)
    return -EBADMSG;
  rc = wire_get_entry(r, &c->entry);
  change_set_kind(c, (enum change_kind)kind);
  if (rc == 0 && !manifest_path_ok(c->entry.path, strlen(c->entry.path))) {
    tree_entry_free(&c->entry);
    rc = -EBADMSG;
  }
  return rc;
}

/* Reads a count of items at least min_len bytes each, refusing counts
 * the input cannot hold before anything is allocated. */
static int get_count(struct wire_in *r, size_t min_len, size_t *n)
{
  uint32_t v;

  if (!wire_get_u32(r, &v) || v > wire_left(r) / min_len)
    return -EBADMSG;
  *n = v;
  return 0;
}

/* A list of indices into an intent's changes; *out is owned. */
static int get_stale(struct wire_in *r, uint32_t **out, size_t *n_out)
{
  size_t n = 0;
  size_t i;
  int rc;

  rc = get_count(r, 4, &n);
  if (rc < 0)
    return rc;
  *out = calloc(n + 1, sizeof(**out));
  if (*out == NULL)
    return -ENOMEM;
  *n_out = n;
  for (i = 0; i < n; i++)
    if (!wire_get_u32(r, &(*out)[i]))
      return -EBADMSG;
  return 0;
}

static int get_changes(struct wire_in *r, struct change **out, size_t *n_out)
{
  struct change *v;
  size_t n;
  size_t i;
  int rc;

  rc = get_count(r, 1 + ENTRY_MIN_LEN, &n);
  if (rc < 0)
    return rc;
  v = calloc(n + 1, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  for (i = 0, rc = 0; i < n && rc == 0; i++)
    rc = get_change(r, &v[i]);
  if (rc < 0) {
    changes_free(v, i - 1);
    return rc;
  }
  *out = v;
  *n_out = n;
  return 0;
}

static int get_paths(struct wire_in *r, struct strlist *out)
{
  char *p = NULL;
  size_t n = 0;
  size_t i;
  int rc;

  rc = get_count(r, 4, &n);
  for (i = 0; i < n && rc == 0; i++) {
    rc = wire_get_str(r, STATEFMT_URL_MAX, &p);
    if (rc == 0 && p[0] != '/' && p[0] != '#') {
      free(p);
      rc = -EBADMSG;
    }
    if (rc == 0)
      rc = strlist_push_take(out, p);
  }
  return rc;
}

static int get_intent_body(struct wire_in *r, struct intent *in)
{
  char dist[STATEFMT_ID_MAX];
  int rc;

  rc = wire_get_strbuf(r, in->ref, sizeof(in->ref));
  if (rc == 0)
    rc = wire_get_strbuf(r, dist, sizeof(dist));
  if (rc == 0 && (in->distribution = strdup(dist)) == NULL)
    rc = -ENOMEM;
  if (rc == 0 && !wire_get_i64(r, &in->created_ns))
    rc = -EBADMSG;
  if (rc == 0)
    rc = get_paths(r, &in->paths);
  if (rc == 0)
    rc = get_changes(r, &in->changes, &in->n_changes);
  if (rc == 0 && (in->ref[0] == '\0' || in->paths.n == 0))
    rc = -EBADMSG;
  return rc;
}

/* The snapshot. */

/* Magic, version, flags and the stated length: what can be checked
 * before the checksum means anything. */
static int check_frame(const unsigned char *p, size_t len, const char *file,
                       int *version, struct cfw_err *err)
{
  struct wire_in r;
  uint32_t v;
  uint32_t flags;
  uint64_t stated;

  wire_in_init(&r, p, len);
  r.off = MAGIC_LEN;
  if (len < MAGIC_LEN || memcmp(p, SNAPSHOT_MAGIC, MAGIC_LEN) != 0)
    return corrupt(err, file, "not a cfwatch manifest: bad magic");
  if (!wire_get_u32(&r, &v))
    return corrupt(err, file, "truncated to %zu bytes", len);
  if (v < 1 || v > SNAPSHOT_VERSION) {
    (void)cfw_err_set(err, -EPROTO,
                      "%s has format version %" PRIu32 ", but this cfwatch "
                      "reads versions 1 to %d (written by a newer cfwatch, "
                      "or damaged)." STATE_HINT,
                      file, v, SNAPSHOT_VERSION);
    return -EPROTO;
  }
  if (!wire_get_u32(&r, &flags) || !wire_get_u64(&r, &stated))
    return corrupt(err, file, "truncated to %zu bytes", len);
  if (stated != len || len < SNAPSHOT_MIN_LEN)
    return corrupt(err, file,
                   "%zu bytes, but its header says %" PRIu64
                   ": truncated or damaged",
                   len, stated);
  if (flags != 0)
    return corrupt(err, file, "unknown flags %#" PRIx32, flags);
  *version = (int)v;
  return 0;
}

static int check_sum(const unsigned char *p, size_t len, const char *file,
                     struct cfw_err *err)
{
  unsigned char sum[WIRE_HASH_LEN];

  if (wire_sha256(p, len - WIRE_HASH_LEN, sum) < 0) {
    (void)cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
    return -ENOMEM;
  }
  if (memcmp(sum, p + len - WIRE_HASH_LEN, WIRE_HASH_LEN) != 0)
    return corrupt(err, file, "checksum mismatch");
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

  if (count > wire_left(r) / ENTRY_MIN_LEN)
    return corrupt(err, file, "entry count %" PRIu64 " exceeds the file",
                   count);
  s->v = malloc((size_t)count * sizeof(*s->v) + 1);
  if (s->v == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  while (s->n < count) {
    at = r->off;
    rc = wire_get_entry(r, &s->v[s->n]);
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "%s: out of memory", file);
    if (rc < 0)
      return corrupt(err, file, "entry %zu at byte %zu is cut short", s->n, at);
    why = entry_problem(&s->v[s->n], s->n > 0 ? &s->v[s->n - 1] : NULL,
                        s->version);
    if (why != NULL) {
      tree_entry_free(&s->v[s->n]);
      return corrupt(err, file, "entry %zu at byte %zu: %s", s->n, at, why);
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
  return get_stale(r, &in->stale, &in->n_stale);
}

static int get_intents(struct wire_in *r, struct snapshot *s, const char *file,
                       struct cfw_err *err)
{
  struct intent *in;
  size_t n;
  int rc;

  if (get_count(r, 8 + 4 * 4, &n) < 0)
    return corrupt(err, file, "bad count of open batches");
  s->intents = calloc(n + 1, sizeof(*s->intents));
  if (s->intents == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  for (; s->n_intents < n; s->n_intents++) {
    in = &s->intents[s->n_intents];
    rc = wire_get_u64(r, &in->seq) ? get_intent_body(r, in) : -EBADMSG;
    if (rc == 0)
      rc = get_upload_state(r, in);
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "%s: out of memory", file);
    if (rc < 0) {
      intent_free(in);
      return corrupt(err, file, "open batch %zu is damaged", s->n_intents);
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
  return rc == 0 ? 0 : corrupt(err, file, "invalid %s", what);
}

/* Formats 2 and 3: identity, sequence, (3: the tag header,) entries,
 * open intents. */
static int get_body_v2(struct wire_in *r, struct snapshot *s, const char *file,
                       struct cfw_err *err)
{
  const unsigned char *id;
  uint64_t count;
  int rc;

  if (!wire_get_bytes(r, STATE_ID_LEN, &id) || !wire_get_u64(r, &s->next_seq))
    return corrupt(err, file, "header cut short");
  memcpy(s->id, id, STATE_ID_LEN);
  rc = get_string(r, MANIFEST_PATH_MAX, &s->root, file, "root path", err);
  if (rc == 0)
    rc = get_string(r, STATEFMT_ID_MAX - 1, &s->distribution, file,
                    "distribution", err);
  if (rc == 0 && s->version >= 3)
    rc = get_string(r, STATEFMT_HEADER_MAX, &s->tag_header, file,
                    "cache tag header", err);
  else if (rc == 0 && (s->tag_header = strdup("")) == NULL)
    rc = cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  if (rc == 0 && !wire_get_u64(r, &count))
    rc = corrupt(err, file, "header cut short");
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
    return corrupt(err, file, "header cut short");
  rc = get_string(r, MANIFEST_PATH_MAX, &s->root, file, "root path", err);
  if (rc == 0 && ((s->distribution = strdup("")) == NULL ||
                  (s->tag_header = strdup("")) == NULL))
    rc = cfw_err_set(err, -ENOMEM, "%s: out of memory", file);
  s->next_seq = 1;
  return rc == 0 ? get_entries(r, count, s, file, err) : rc;
}

int statefmt_get_snapshot(const unsigned char *p, size_t len, const char *file,
                          struct snapshot *out, struct cfw_err *err)
{
  struct wire_in r;
  int rc;

  memset(out, 0, sizeof(*out));
  rc = check_frame(p, len, file, &out->version, err);
  if (rc == 0)
    rc = check_sum(p, len, file, err);
  if (rc < 0)
    return rc;
  /* The body ends where the trailer starts. */
  wire_in_init(&r, p, len - WIRE_HASH_LEN);
  r.off = SNAPSHOT_FRAME_LEN;
  if (!wire_get_i64(&r, &out->written_at_ns))
    rc = corrupt(err, file, "header cut short");
  else if (out->version == 1)
    rc = get_body_v1(&r, out, file, err);
  else
    rc = get_body_v2(&r, out, file, err);
  if (rc == 0 && wire_left(&r) != 0)
    rc = corrupt(err, file, "%zu stray bytes after the entries", wire_left(&r));
  if (rc < 0)
    snapshot_free(out);
  return rc;
}

/* The journal. */

int statefmt_get_journal_header(struct wire_in *r, const char *file,
                                unsigned char id[STATE_ID_LEN],
                                struct cfw_err *err)
{
  const unsigned char *p;
  uint32_t v;

  if (!wire_get_bytes(r, MAGIC_LEN, &p) ||
      memcmp(p, JOURNAL_MAGIC, MAGIC_LEN) != 0)
    return corrupt(err, file, "not a cfwatch journal: bad magic");
  if (!wire_get_u32(r, &v) || !wire_get_bytes(r, STATE_ID_LEN, &p))
    return corrupt(err, file, "header cut short");
  if (v != JOURNAL_VERSION) {
    (void)cfw_err_set(err, -EPROTO,
                      "%s has format version %" PRIu32 ", but this cfwatch "
                      "reads version %d." STATE_HINT,
                      file, v, JOURNAL_VERSION);
    return -EPROTO;
  }
  memcpy(id, p, STATE_ID_LEN);
  return 0;
}

static int get_record_body(struct wire_in *r, struct record *out)
{
  uint8_t type;
  int rc = -EBADMSG;

  if (!wire_get_u64(r, &out->seq) || !wire_get_u8(r, &type))
    return -EBADMSG;
  out->type = (enum record_type)type;
  switch (type) {
  case RECORD_INTENT:
    out->intent.seq = out->seq;
    rc = get_intent_body(r, &out->intent);
    break;
  case RECORD_COMMIT:
    rc = wire_get_strbuf(r, out->ref, sizeof(out->ref));
    if (rc == 0)
      rc = wire_get_strbuf(r, out->inv_id, sizeof(out->inv_id));
    if (rc == 0 && !wire_get_i64(r, &out->at_ns))
      rc = -EBADMSG;
    if (rc == 0)
      rc = get_stale(r, &out->stale, &out->n_stale);
    break;
  case RECORD_UPLOADED:
    rc = wire_get_strbuf(r, out->ref, sizeof(out->ref));
    if (rc == 0)
      rc = get_stale(r, &out->stale, &out->n_stale);
    break;
  case RECORD_ENTRIES:
    rc = get_changes(r, &out->changes, &out->n_changes);
    break;
  case RECORD_ACCEPTED:
    rc = wire_get_strbuf(r, out->ref, sizeof(out->ref));
    if (rc == 0)
      rc = wire_get_strbuf(r, out->dist, sizeof(out->dist));
    if (rc == 0)
      rc = wire_get_strbuf(r, out->inv_id, sizeof(out->inv_id));
    break;
  default:
    break;
  }
  if (rc == 0 && wire_left(r) != 0)
    rc = -EBADMSG;
  return rc;
}

/* True if a whole record with a matching sum starts at offset at. */
static bool record_sealed(const struct wire_in *r, size_t at)
{
  unsigned char sum[WIRE_HASH_LEN];
  struct wire_in h;
  uint32_t len;

  wire_in_init(&h, r->p + at, r->len - at);
  if (!wire_get_u32(&h, &len) || len < RECORD_MIN_BODY ||
      (size_t)len + WIRE_HASH_LEN > wire_left(&h))
    return false;
  return wire_sha256(r->p + at, 4 + (size_t)len, sum) == 0 &&
         memcmp(sum, r->p + at + 4 + len, WIRE_HASH_LEN) == 0;
}

/* A record that does not check out at from is torn (a crash cut the
 * last append short) only if nothing after it is a record: the writer
 * syncs each record before the next, so only the last can be torn.
 * O(bytes left) cheap rejections, stopping at the first record found. */
static int record_damage(const struct wire_in *r, size_t from)
{
  size_t at;

  for (at = from + 1; at + 4 + RECORD_MIN_BODY + WIRE_HASH_LEN <= r->len; at++)
    if (record_sealed(r, at))
      return -EBADMSG;
  return STATEFMT_TORN;
}

int statefmt_get_record(struct wire_in *r, struct record *out)
{
  struct wire_in body;
  size_t start = r->off;
  uint32_t len;
  int rc;

  memset(out, 0, sizeof(*out));
  if (!record_sealed(r, start))
    return record_damage(r, start);
  (void)wire_get_u32(r, &len); /* checked by record_sealed */
  wire_in_init(&body, r->p + start + 4, len);
  rc = get_record_body(&body, out);
  if (rc < 0) {
    record_free(out);
    r->off = start;
    return rc;
  }
  r->off = start + 4 + len + WIRE_HASH_LEN;
  return 0;
}
