/* SPDX-License-Identifier: MIT */
#include "ledger.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "cflimits.h"
#include "util.h"

#define LEDGER_FILE   "ledger"
#define LEDGER_LOCK   "ledger.lock"
#define LEDGER_HEADER "cfwatch-ledger 1"
#define LEDGER_MAX    ((size_t)1024 * 1024)

void ledger_init(struct ledger *l)
{
  memset(l, 0, sizeof(*l));
}

void ledger_free(struct ledger *l)
{
  if (l == NULL)
    return;
  free(l->v);
  ledger_init(l);
}

static void ledger_month_of(int64_t now_s, char out[8])
{
  time_t t = (time_t)now_s;
  struct tm tm;

  gmtime_r(&t, &tm);
  if (strftime(out, 8, "%Y-%m", &tm) == 0)
    out[0] = '\0';
}

uint64_t ledger_month_paths(const struct ledger *l, int64_t now_s)
{
  char month[8];

  ledger_month_of(now_s, month);
  return strcmp(month, l->month) == 0 ? l->month_paths : 0;
}

static int ledger_push(struct ledger *l, const struct ledger_entry *e)
{
  struct ledger_entry *v;

  if (l->n == LEDGER_KEEP) {
    memmove(l->v, l->v + 1, (l->n - 1) * sizeof(*l->v));
    l->n--;
  }
  v = array_grow(l->v, l->n, &l->cap, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  l->v = v;
  l->v[l->n++] = *e;
  return 0;
}

/* "inv ID CREATED PATHS WILDCARDS STATUS [DISTRIBUTION]" */
static int ledger_parse_inv(struct ledger *l, char *line)
{
  struct ledger_entry e;
  char *f[7];
  uint64_t num[3];
  size_t n = 0;
  char *save = NULL;
  char *tok;

  memset(&e, 0, sizeof(e));
  for (tok = strtok_r(line, " ", &save); tok && n < 7;
       tok = strtok_r(NULL, " ", &save))
    f[n++] = tok;
  if (n == 7 && strlen(f[6]) < sizeof(e.dist))
    memcpy(e.dist, f[6], strlen(f[6]) + 1);
  else if (n == 7)
    return -EBADMSG;
  if (n < 6 || strlen(f[1]) >= sizeof(e.id) ||
      strlen(f[5]) >= sizeof(e.status) ||
      parse_u64(f[2], 0, INT64_MAX, &num[0]) < 0 ||
      parse_u64(f[3], 0, UINT32_MAX, &num[1]) < 0 ||
      parse_u64(f[4], 0, UINT32_MAX, &num[2]) < 0)
    return -EBADMSG;
  memcpy(e.id, f[1], strlen(f[1]) + 1);
  memcpy(e.status, f[5], strlen(f[5]) + 1);
  e.created_s = (int64_t)num[0];
  e.n_paths = (uint32_t)num[1];
  e.n_wildcards = (uint32_t)num[2];
  return ledger_push(l, &e);
}

/* "month YYYY-MM PATHS" */
static int ledger_parse_month(struct ledger *l, char *line)
{
  char *save = NULL;
  char *month;
  char *count;

  (void)strtok_r(line, " ", &save); /* the keyword, checked by the caller */
  month = strtok_r(NULL, " ", &save);
  count = strtok_r(NULL, " ", &save);
  if (month == NULL || count == NULL || strlen(month) != 7 ||
      parse_u64(count, 0, UINT64_MAX / 2, &l->month_paths) < 0)
    return -EBADMSG;
  memcpy(l->month, month, 8);
  return 0;
}

static int ledger_parse(struct ledger *l, char *text)
{
  char *save = NULL;
  char *line;
  int rc = 0;

  line = strtok_r(text, "\n", &save);
  if (line == NULL || strcmp(line, LEDGER_HEADER) != 0)
    return -EBADMSG;
  while (rc == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
    if (strncmp(line, "inv ", 4) == 0)
      rc = ledger_parse_inv(l, line);
    else if (strncmp(line, "month ", 6) == 0)
      rc = ledger_parse_month(l, line);
    else
      rc = -EBADMSG;
  }
  return rc;
}

int ledger_load(struct ledger *l, const char *state_dir, struct cfw_err *err)
{
  struct buf path;
  struct buf text;
  int rc;

  ledger_init(l);
  buf_init(&path, 8192);
  buf_init(&text, LEDGER_MAX);
  rc = buf_addf(&path, "%s/" LEDGER_FILE, state_dir);
  if (rc == 0)
    rc = atomicfile_read(buf_str(&path), &text);
  if (rc == 0 && text.len > 0)
    rc = ledger_parse(l, text.data);
  if (rc == -ENOENT)
    rc = 0;
  if (rc < 0) {
    ledger_free(l);
    cfw_err_set(err, rc, "%s: %s", buf_str(&path),
                rc == -EBADMSG ? "damaged; starting a new one" : strerror(-rc));
  }
  buf_free(&path);
  buf_free(&text);
  return rc;
}

static int ledger_format(const struct ledger *l, struct buf *b)
{
  size_t i;
  int rc;

  rc = buf_addf(b, LEDGER_HEADER "\nmonth %s %llu\n",
                l->month[0] ? l->month : "0000-00",
                (unsigned long long)l->month_paths);
  for (i = 0; rc == 0 && i < l->n; i++)
    rc = buf_addf(b, "inv %s %lld %u %u %s%s%s\n", l->v[i].id,
                  (long long)l->v[i].created_s, l->v[i].n_paths,
                  l->v[i].n_wildcards, l->v[i].status,
                  l->v[i].dist[0] ? " " : "", l->v[i].dist);
  return rc;
}

static struct ledger_entry *ledger_find(struct ledger *l, const char *id,
                                        const char *dist)
{
  size_t i;

  for (i = 0; i < l->n; i++)
    if (strcmp(l->v[i].id, id) == 0 && strcmp(l->v[i].dist, dist) == 0)
      return &l->v[i];
  return NULL;
}

/* Adds (or updates) the entry in memory.  Its paths count in the month
 * of r->at_s unless the ledger counts a later one already: a record
 * pulled late is not allowed to restart the month (ledgerpull.h). */
static int ledger_add(struct ledger *l, const struct ledger_rec *r)
{
  const char *dist = r->dist != NULL ? r->dist : "";
  struct ledger_entry *old = ledger_find(l, r->id, dist);
  struct ledger_entry e;
  char month[8];
  int cmp;

  if (old != NULL) {
    if (r->status != NULL)
      (void)snprintf(old->status, sizeof(old->status), "%s", r->status);
    return 0; /* a replay or a status update: not sent twice */
  }
  ledger_month_of(r->at_s, month);
  cmp = strcmp(month, l->month);
  if (cmp > 0) {
    memcpy(l->month, month, sizeof(month));
    l->month_paths = 0;
  }
  if (cmp >= 0)
    l->month_paths += r->n_paths;
  memset(&e, 0, sizeof(e));
  (void)snprintf(e.id, sizeof(e.id), "%s", r->id);
  (void)snprintf(e.status, sizeof(e.status), "%s",
                 r->status != NULL ? r->status : "InProgress");
  e.created_s = r->at_s;
  e.n_paths = r->n_paths;
  e.n_wildcards = r->n_wildcards;
  (void)snprintf(e.dist, sizeof(e.dist), "%s", dist); /* checked: an id */
  return ledger_push(l, &e);
}

int ledger_record(const char *state_dir, const char *id, uint32_t n_paths,
                  uint32_t n_wildcards, const char *status, int64_t now_s,
                  struct cfw_err *err)
{
  return ledger_record_at(state_dir, id, NULL, n_paths, n_wildcards, status,
                          now_s, err);
}

int ledger_record_at(const char *state_dir, const char *id, const char *dist,
                     uint32_t n_paths, uint32_t n_wildcards, const char *status,
                     int64_t now_s, struct cfw_err *err)
{
  struct ledger_rec r;

  r.id = id;
  r.dist = dist;
  r.n_paths = n_paths;
  r.n_wildcards = n_wildcards;
  r.status = status;
  r.at_s = now_s;
  return ledger_record_v(state_dir, &r, 1, err);
}

/* True if s fits a field of a cap-byte array as one word. */
static bool ledger_field_ok(const char *s, size_t cap)
{
  return s[0] != '\0' && strlen(s) < cap && strchr(s, ' ') == NULL;
}

/* Adds v[0..n) in memory: -EINVAL for an id or a distribution that the
 * file could not hold as one field. */
static int ledger_add_v(struct ledger *l, const struct ledger_rec *v, size_t n)
{
  size_t i;
  int rc = 0;

  for (i = 0; rc == 0 && i < n; i++) {
    if (!ledger_field_ok(v[i].id, sizeof(l->v->id)) ||
        (v[i].dist != NULL && !ledger_field_ok(v[i].dist, sizeof(l->v->dist))))
      rc = -EINVAL;
    else
      rc = ledger_add(l, &v[i]);
  }
  return rc;
}

int ledger_record_v(const char *state_dir, const struct ledger_rec *v, size_t n,
                    struct cfw_err *err)
{
  struct ledger l;
  struct buf text;
  int fd;
  int rc;

  rc = atomicfile_mkdirs(state_dir, 0700, err);
  if (rc < 0)
    return rc;
  /* Held for one small read and write, so waiting is short. */
  fd = atomicfile_lock(state_dir, LEDGER_LOCK);
  if (fd < 0)
    return cfw_err_set(err, fd, "%s/" LEDGER_LOCK ": %s", state_dir,
                       strerror(-fd));
  (void)ledger_load(&l, state_dir, NULL); /* damaged: start afresh */
  buf_init(&text, LEDGER_MAX);
  rc = ledger_add_v(&l, v, n);
  if (rc == 0)
    rc = ledger_format(&l, &text);
  if (rc == 0)
    rc = atomicfile_write(state_dir, LEDGER_FILE, text.data, text.len, err);
  else
    cfw_err_set(err, rc, "ledger: %s", strerror(-rc));
  buf_free(&text);
  ledger_free(&l);
  (void)close(fd); /* drops the flock */
  return rc;
}
