/* SPDX-License-Identifier: MIT */
#include "statefmt.h"
#include "statefmt_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_MAGIC   STATEFMT_JOURNAL_MAGIC
#define MAGIC_LEN       8
#define JOURNAL_VERSION STATEFMT_JOURNAL_VERSION
#define RECORD_MIN_BODY (8 + 1)

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
  free(s->urlmap);
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

int statefmt_corrupt(struct cfw_err *err, const char *file, const char *fmt,
                     ...)
{
  char why[200];
  va_list ap;

  va_start(ap, fmt);
  /* A cut-short reason is still a reason. */
  (void)vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  /* Spelled out so the analyzer sees it never returns 0. */
  (void)cfw_err_set(err, -EBADMSG, "%s is corrupt (%s)." STATEFMT_HINT, file,
                    why);
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

int statefmt_get_count(struct wire_in *r, size_t min_len, size_t *n)
{
  uint32_t v;

  if (!wire_get_u32(r, &v) || v > wire_left(r) / min_len)
    return -EBADMSG;
  *n = v;
  return 0;
}

int statefmt_get_stale(struct wire_in *r, uint32_t **out, size_t *n_out)
{
  size_t n = 0;
  size_t i;
  int rc;

  rc = statefmt_get_count(r, 4, &n);
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

  rc = statefmt_get_count(r, 1 + STATEFMT_ENTRY_MIN_LEN, &n);
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

  rc = statefmt_get_count(r, 4, &n);
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

int statefmt_get_intent_body(struct wire_in *r, struct intent *in)
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

/* The journal. */

int statefmt_get_journal_header(struct wire_in *r, const char *file,
                                unsigned char id[STATE_ID_LEN],
                                struct cfw_err *err)
{
  const unsigned char *p;
  uint32_t v;

  if (!wire_get_bytes(r, MAGIC_LEN, &p) ||
      memcmp(p, JOURNAL_MAGIC, MAGIC_LEN) != 0)
    return statefmt_corrupt(err, file, "not a cfwatch journal: bad magic");
  if (!wire_get_u32(r, &v) || !wire_get_bytes(r, STATE_ID_LEN, &p))
    return statefmt_corrupt(err, file, "header cut short");
  if (v != JOURNAL_VERSION) {
    (void)cfw_err_set(err, -EPROTO,
                      "%s has format version %" PRIu32 ", but this cfwatch "
                      "reads version %d." STATEFMT_HINT,
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
    rc = statefmt_get_intent_body(r, &out->intent);
    break;
  case RECORD_COMMIT:
    rc = wire_get_strbuf(r, out->ref, sizeof(out->ref));
    if (rc == 0)
      rc = wire_get_strbuf(r, out->inv_id, sizeof(out->inv_id));
    if (rc == 0 && !wire_get_i64(r, &out->at_ns))
      rc = -EBADMSG;
    if (rc == 0)
      rc = statefmt_get_stale(r, &out->stale, &out->n_stale);
    break;
  case RECORD_UPLOADED:
    rc = wire_get_strbuf(r, out->ref, sizeof(out->ref));
    if (rc == 0)
      rc = statefmt_get_stale(r, &out->stale, &out->n_stale);
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
