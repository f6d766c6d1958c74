/* SPDX-License-Identifier: MIT */
/* The local copy of a state kept in S3 (statecache.h): reading what the
 * state dir holds and how far S3 has it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "statecache.h"
#include "statefile.h"
#include "statefmt.h"
#include "util.h"
#include "wire.h"

#define SNAPSHOT_MAGIC STATEFMT_SNAPSHOT_MAGIC
/* What statecache_snapshot_header reads: magic, version, flags, length,
 * written_at, id, next_seq. */
#define STATECACHE_HEAD_LEN (8 + 4 + 4 + 8 + 8 + STATE_ID_LEN + 8)

/* The snapshot versions a state in S3 may hold. */
static bool statecache_version_ok(uint32_t v)
{
  return v >= STATEFMT_SHARED_VERSION_MIN && v <= STATEFMT_SNAPSHOT_VERSION;
}

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
      !wire_get_u32(&r, &version) || !statecache_version_ok(version) ||
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

/* One line of STATECACHE_FILE, without its newline: false at the end
 * or on a line too long. */
static bool statecache_line(FILE *f, char *out, size_t outlen)
{
  size_t n;

  if (fgets(out, (int)outlen, f) == NULL)
    return false;
  n = strlen(out);
  if (n == 0 || out[n - 1] != '\n')
    return false;
  out[n - 1] = '\0';
  return true;
}

/* STATECACHE_FILE: "ETAG\nCONFIRMED\nSNAP_NS\n", then (since the
 * writer is kept) "SNAP_NEXT\nWHO\nAT\n"; an older file's three lines
 * leave the rest unknown. */
int statecache_read_mark(const char *dir, struct statecache_mark *m)
{
  char path[4200];
  char line[S3STATE_WHO_MAX + S3_ETAG_MAX + 8];
  uint64_t ns = 0;
  bool ok;
  FILE *f;
  int n;

  memset(m, 0, sizeof(*m));
  n = snprintf(path, sizeof(path), "%s/%s", dir, STATECACHE_FILE);
  if (n < 0 || (size_t)n >= sizeof(path))
    return -ENAMETOOLONG;
  f = fopen(path, "re");
  if (f == NULL)
    return -ENOENT;
  ok = statecache_line(f, line, sizeof(line)) && strlen(line) <= S3_ETAG_MAX;
  if (ok)
    str_copy(m->etag, sizeof(m->etag), strcmp(line, "-") == 0 ? "" : line);
  ok = ok && statecache_line(f, line, sizeof(line)) &&
       parse_u64(line, 0, UINT64_MAX, &m->confirmed) == 0;
  ok = ok && statecache_line(f, line, sizeof(line)) &&
       parse_u64(line, 0, INT64_MAX, &ns) == 0; /* written_at >= 0 */
  m->snap_ns = (int64_t)ns;
  if (ok && statecache_line(f, line, sizeof(line)) &&
      parse_u64(line, 0, UINT64_MAX, &m->snap_next) == 0 &&
      statecache_line(f, m->who, sizeof(m->who)))
    (void)statecache_line(f, m->at, sizeof(m->at)); /* "" if absent */
  (void)fclose(f);                                  /* read only */
  if (!ok) {
    memset(m, 0, sizeof(*m));
    return -ENOENT;
  }
  return 0;
}

static void statecache_load_sync(struct statecache *c, const char *dir)
{
  if (statecache_read_mark(dir, &c->mark) < 0)
    return;
  str_copy(c->etag, sizeof(c->etag), c->mark.etag);
  c->confirmed = c->mark.confirmed;
  c->synced_ns = c->mark.snap_ns;
  c->synced = true;
}

int statecache_save_sync(const char *dir, const struct statecache_mark *m,
                         struct cfw_err *err)
{
  char text[S3_ETAG_MAX + S3STATE_WHO_MAX + S3STATE_AT_MAX + 96];
  int n;

  n = snprintf(text, sizeof(text),
               "%s\n%" PRIu64 "\n%" PRId64 "\n%" PRIu64 "\n%s\n%s\n",
               m->etag[0] != '\0' ? m->etag : "-", m->confirmed, m->snap_ns,
               m->snap_next, m->who, m->at);
  if (n < 0 || (size_t)n >= sizeof(text))
    return cfw_err_set(err, -EINVAL, "an ETag too long: %s", m->etag);
  return atomicfile_write(dir, STATECACHE_FILE, text, (size_t)n, err);
}

int statecache_part_write(const char *dir, uint64_t at, const void *p,
                          size_t len, struct cfw_err *err)
{
  struct iovec iov;
  int created = 0;
  int fd;
  int rc;

  rc = atomicfile_mkdirs(dir, 0700, err);
  if (rc == 0 && at == 0) /* a part file left by a pull that stopped */
    rc = statefile_remove(dir, STATECACHE_PART, err);
  if (rc < 0)
    return rc;
  fd = statefile_open_append(dir, STATECACHE_PART, &created, err);
  if (fd < 0)
    return fd;
  iov.iov_base = (void *)p; /* only read */
  iov.iov_len = len;
  rc = statefile_append(fd, dir, STATECACHE_PART, at, &iov, 1, created, err);
  (void)close(fd); /* synced by statefile_append */
  return rc;
}

/* Hashes [0, size - 32) of fd into md and reads the 32 bytes after. */
static int statecache_part_hash(int fd, uint64_t size, unsigned char *md,
                                unsigned char *trailer)
{
  const size_t chunk = (size_t)256 * 1024;
  unsigned char *p = malloc(chunk);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  uint64_t left = size - SHA256_DIGEST_LENGTH;
  ssize_t n = 1;
  int rc = -EBADMSG;

  if (p != NULL && ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
    rc = 0;
  while (rc == 0 && left > 0 && n > 0) {
    n = read(fd, p, left < chunk ? (size_t)left : chunk);
    if (n > 0 && EVP_DigestUpdate(ctx, p, (size_t)n) != 1)
      rc = -EBADMSG;
    left -= n > 0 ? (uint64_t)n : 0;
  }
  if (rc == 0 &&
      (left > 0 || EVP_DigestFinal_ex(ctx, md, NULL) != 1 ||
       read(fd, trailer, SHA256_DIGEST_LENGTH) != SHA256_DIGEST_LENGTH))
    rc = -EBADMSG;
  EVP_MD_CTX_free(ctx);
  free(p);
  return rc;
}

/* The header's magic, version and file length. */
static int statecache_part_header(int fd, uint64_t size)
{
  unsigned char head[24];
  const unsigned char *magic;
  struct wire_in r;
  uint32_t version;
  uint32_t flags;
  uint64_t total;

  if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head))
    return -EBADMSG;
  wire_in_init(&r, head, sizeof(head));
  if (!wire_get_bytes(&r, 8, &magic) || memcmp(magic, SNAPSHOT_MAGIC, 8) != 0 ||
      !wire_get_u32(&r, &version) || !statecache_version_ok(version) ||
      !wire_get_u32(&r, &flags) || !wire_get_u64(&r, &total) || total != size)
    return -EBADMSG;
  return 0;
}

int statecache_part_check(const char *dir, uint64_t size, struct cfw_err *err)
{
  unsigned char md[SHA256_DIGEST_LENGTH];
  unsigned char trailer[SHA256_DIGEST_LENGTH];
  char path[4200];
  int fd;
  int rc;
  int n;

  n = snprintf(path, sizeof(path), "%s/%s", dir, STATECACHE_PART);
  if (n < 0 || (size_t)n >= sizeof(path))
    return cfw_err_set(err, -ENAMETOOLONG, "%s: path too long", dir);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cfw_err_set(err, -errno, "%s: %s", path, strerror(errno));
  rc = size > 64 ? statecache_part_header(fd, size) : -EBADMSG;
  if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
    rc = -EBADMSG;
  if (rc == 0)
    rc = statecache_part_hash(fd, size, md, trailer);
  if (rc == 0 && CRYPTO_memcmp(md, trailer, sizeof(md)) != 0)
    rc = -EBADMSG;
  (void)close(fd); /* read only */
  if (rc < 0)
    return cfw_err_set(err, rc,
                       "%s: not the snapshot S3 sent (%" PRIu64
                       " bytes): damaged in transit or replaced",
                       path, size);
  return 0;
}

int statecache_part_commit(const char *dir, struct cfw_err *err)
{
  return statefile_rename(dir, STATECACHE_PART, STATEFMT_SNAPSHOT_FILE, err);
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
  if (rc == 0)
    rc = statefile_remove(dir, STATECACHE_PART, err);
  return rc == -ENOENT ? 0 : rc;
}

/* The snapshot's header; its bytes too if they are to be pushed (they
 * changed since the last push): a pull or a push of a snapshot S3
 * holds already reads a few bytes, not the file (issue 13). */
static int statecache_load_snapshot(struct statecache *c, const char *dir,
                                    unsigned flags, struct cfw_err *err)
{
  unsigned char head[STATECACHE_HEAD_LEN];
  size_t len;
  int rc;

  rc = statefile_read_head(dir, STATEFMT_SNAPSHOT_FILE, STATEFMT_MAX_BYTES,
                           head, sizeof(head), &len, err);
  if (rc == -ENOENT) {
    cfw_err_clear(err);
    return 0;
  }
  if (rc < 0)
    return rc;
  rc = statecache_snapshot_header(head, len, c->id, &c->snap_next, &c->snap_ns);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s/%s: not a snapshot cfwatch can share", dir,
                       STATEFMT_SNAPSHOT_FILE);
  c->have_snapshot = true;
  c->next = c->snap_next;
  if ((flags & STATECACHE_SNAPSHOT) != 0 &&
      (!c->synced || c->synced_ns != c->snap_ns))
    rc = statefile_read(dir, STATEFMT_SNAPSHOT_FILE, STATEFMT_MAX_BYTES,
                        &c->snap, &c->snap_len, err);
  return rc;
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
