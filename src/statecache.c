/* SPDX-License-Identifier: MIT */
/* The local copy of a state kept in S3 (statecache.h): reading what the
 * state dir holds and how far S3 has it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "buf.h"
#include "statecache.h"
#include "statefile.h"
#include "statefmt.h"
#include "util.h"
#include "wire.h"

#define SNAPSHOT_MAGIC "CFWMANI\n"

int statecache_snapshot_header(const unsigned char *p, size_t len,
                               unsigned char id[STATE_ID_LEN],
                               uint64_t *next_seq, int64_t *written_ns)
{
  const unsigned char *magic;
  const unsigned char *idp;
  struct wire_in r;
  uint32_t version;
  uint32_t flags;
  uint64_t total;

  wire_in_init(&r, p, len);
  if (!wire_get_bytes(&r, 8, &magic) || memcmp(magic, SNAPSHOT_MAGIC, 8) != 0 ||
      !wire_get_u32(&r, &version) || (version != 2 && version != 3) ||
      !wire_get_u32(&r, &flags) || !wire_get_u64(&r, &total) ||
      !wire_get_i64(&r, written_ns) ||
      !wire_get_bytes(&r, STATE_ID_LEN, &idp) || !wire_get_u64(&r, next_seq))
    return -EBADMSG;
  memcpy(id, idp, STATE_ID_LEN);
  return 0;
}

int statecache_check_object(const unsigned char *p, size_t len,
                            const unsigned char id[STATE_ID_LEN], uint64_t seq,
                            size_t *frame_off)
{
  unsigned char got[STATE_ID_LEN];
  struct cfw_err err = {0};
  struct record rec;
  struct wire_in r;
  size_t at;
  int rc;

  wire_in_init(&r, p, len);
  if (statefmt_get_journal_header(&r, "record", got, &err) < 0 ||
      memcmp(got, id, STATE_ID_LEN) != 0)
    return -EBADMSG;
  at = r.off;
  rc = statefmt_get_record(&r, &rec);
  if (rc != 0)
    return rc == -ENOMEM ? rc : -EBADMSG;
  if (rec.seq != seq || wire_left(&r) != 0)
    rc = -EBADMSG;
  record_free(&rec);
  *frame_off = at;
  return rc;
}

/* STATECACHE_FILE: "ETAG\nCONFIRMED\nSNAP_NS\n". */
static void statecache_load_sync(struct statecache *c, const char *dir)
{
  char path[4200];
  char etag[S3_ETAG_MAX + 2];
  unsigned long long confirmed;
  long long ns;
  FILE *f;
  int n;

  n = snprintf(path, sizeof(path), "%s/%s", dir, STATECACHE_FILE);
  if (n < 0 || (size_t)n >= sizeof(path))
    return;
  f = fopen(path, "re");
  if (f == NULL)
    return;
  if (fscanf(f, "%129s %llu %lld", etag, &confirmed, &ns) == 3 &&
      strlen(etag) <= S3_ETAG_MAX) {
    str_copy(c->etag, sizeof(c->etag), strcmp(etag, "-") == 0 ? "" : etag);
    c->confirmed = confirmed;
    c->synced_ns = ns;
    c->synced = true;
  }
  (void)fclose(f); /* read only */
}

int statecache_save_sync(const char *dir, const char *etag, uint64_t confirmed,
                         int64_t snap_ns, struct cfw_err *err)
{
  char text[S3_ETAG_MAX + 64];
  int n;

  n = snprintf(text, sizeof(text), "%s\n%" PRIu64 "\n%" PRId64 "\n",
               etag[0] != '\0' ? etag : "-", confirmed, snap_ns);
  if (n < 0 || (size_t)n >= sizeof(text))
    return cfw_err_set(err, -EINVAL, "an ETag too long: %s", etag);
  return atomicfile_write(dir, STATECACHE_FILE, text, (size_t)n, err);
}

int statecache_forget(const char *dir, struct cfw_err *err)
{
  int rc;

  rc = atomicfile_mkdirs(dir, 0700, err);
  if (rc == 0)
    rc = statefile_remove(dir, STATEFMT_JOURNAL_FILE, err);
  if (rc == 0)
    rc = statefile_remove(dir, STATEFMT_SNAPSHOT_FILE, err);
  if (rc == 0)
    rc = statefile_remove(dir, STATECACHE_FILE, err);
  return rc == -ENOENT ? 0 : rc;
}

static int statecache_load_snapshot(struct statecache *c, const char *dir,
                                    unsigned flags, struct cfw_err *err)
{
  unsigned char *p;
  size_t len;
  int rc;

  rc = statefile_read(dir, STATEFMT_SNAPSHOT_FILE, STATEFMT_MAX_BYTES, &p, &len,
                      err);
  if (rc == -ENOENT) {
    cfw_err_clear(err);
    return 0;
  }
  if (rc < 0)
    return rc;
  rc = statecache_snapshot_header(p, len, c->id, &c->snap_next, &c->snap_ns);
  if (rc < 0) {
    free(p);
    return cfw_err_set(err, rc, "%s/%s: not a snapshot cfwatch can share", dir,
                       STATEFMT_SNAPSHOT_FILE);
  }
  c->have_snapshot = true;
  c->next = c->snap_next;
  if ((flags & STATECACHE_SNAPSHOT) != 0 &&
      (!c->synced || c->synced_ns != c->snap_ns)) {
    c->snap = p;
    c->snap_len = len;
  } else {
    free(p);
  }
  return 0;
}

static int statecache_add_rec(struct statecache *c, uint64_t seq, size_t off,
                              size_t len, size_t *cap)
{
  struct statecache_rec *grown;

  grown = array_grow(c->recs, c->n_recs, cap, sizeof(*grown));
  if (grown == NULL)
    return -ENOMEM;
  c->recs = grown;
  c->recs[c->n_recs].seq = seq;
  c->recs[c->n_recs].off = off;
  c->recs[c->n_recs].len = len;
  c->n_recs++;
  return 0;
}

/* The journal's records after the snapshot; a torn tail is left out. */
static int statecache_load_journal(struct statecache *c, const char *dir,
                                   struct cfw_err *err)
{
  unsigned char id[STATE_ID_LEN];
  struct record rec;
  struct wire_in r;
  size_t cap = 0;
  size_t at;
  int rc;

  rc = statefile_read(dir, STATEFMT_JOURNAL_FILE, STATEFMT_MAX_BYTES,
                      &c->journal, &c->journal_len, err);
  if (rc == -ENOENT) {
    cfw_err_clear(err);
    return 0;
  }
  if (rc < 0)
    return rc;
  wire_in_init(&r, c->journal, c->journal_len);
  if (c->journal_len < STATEFMT_JOURNAL_HEADER_LEN)
    return 0;
  rc = statefmt_get_journal_header(&r, dir, id, err);
  if (rc == 0 && memcmp(id, c->id, STATE_ID_LEN) != 0)
    rc = cfw_err_set(err, -EBADMSG, "%s: a journal of another state", dir);
  while (rc == 0 && wire_left(&r) > 0) {
    at = r.off;
    rc = statefmt_get_record(&r, &rec);
    if (rc == STATEFMT_TORN)
      return 0;
    if (rc < 0)
      return cfw_err_set(err, rc, "%s/%s: damaged", dir, STATEFMT_JOURNAL_FILE);
    if (rec.seq >= c->next) {
      c->next = rec.seq + 1;
      rc = statecache_add_rec(c, rec.seq, at, r.off - at, &cap);
    }
    record_free(&rec);
  }
  return rc < 0 ? rc : 0;
}

int statecache_load(struct statecache *c, const char *dir, unsigned flags,
                    struct cfw_err *err)
{
  int rc;

  memset(c, 0, sizeof(*c));
  statecache_load_sync(c, dir);
  rc = statecache_load_snapshot(c, dir, flags, err);
  if (rc == 0 && c->have_snapshot)
    rc = statecache_load_journal(c, dir, err);
  if (rc < 0)
    statecache_free(c);
  return rc;
}

void statecache_free(struct statecache *c)
{
  if (c == NULL)
    return;
  free(c->snap);
  free(c->journal);
  free(c->recs);
  memset(c, 0, sizeof(*c));
}
