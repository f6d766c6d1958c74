/* SPDX-License-Identifier: MIT */
/* Pulled journal records as ledger entries (ledgerpull.h). */
#include "ledgerpull.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "statesnap.h"
#include "urlmap.h"
#include "util.h"
#include "wire.h"

#define NS_PER_S 1000000000LL

void ledgerpull_init(struct ledgerpull *lp)
{
  memset(lp, 0, sizeof(*lp));
}

void ledgerpull_free(struct ledgerpull *lp)
{
  if (lp == NULL)
    return;
  free(lp->intents);
  free(lp->invs);
  ledgerpull_init(lp);
}

static int ledgerpull_intent(struct ledgerpull *lp, const struct intent *in)
{
  struct ledgerpull_intent *v;
  struct ledgerpull_intent *e;
  size_t i;

  v = array_grow(lp->intents, lp->n_intents, &lp->cap_intents, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  lp->intents = v;
  e = &v[lp->n_intents++];
  memset(e, 0, sizeof(*e));
  str_copy(e->ref, sizeof(e->ref), in->ref);
  e->several =
      in->distribution != NULL && strchr(in->distribution, ',') != NULL;
  e->n_paths = (uint32_t)in->paths.n;
  for (i = 0; i < in->paths.n; i++)
    if (urlmap_is_wildcard(in->paths.v[i]))
      e->n_wildcards++;
  e->created_ns = in->created_ns;
  return 0;
}

static int ledgerpull_inv(struct ledgerpull *lp, const struct record *r)
{
  struct ledgerpull_inv *v;
  struct ledgerpull_inv *e;

  if (r->inv_id[0] == '\0') /* nothing was sent */
    return 0;
  v = array_grow(lp->invs, lp->n_invs, &lp->cap_invs, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  lp->invs = v;
  e = &v[lp->n_invs++];
  memset(e, 0, sizeof(*e));
  str_copy(e->ref, sizeof(e->ref), r->ref);
  str_copy(e->id, sizeof(e->id), r->inv_id);
  if (r->type == RECORD_ACCEPTED)
    str_copy(e->dist, sizeof(e->dist), r->dist);
  else
    e->at_ns = r->at_ns;
  return 0;
}

int ledgerpull_scan(struct ledgerpull *lp, const unsigned char *p, size_t len,
                    bool count)
{
  struct record rec;
  struct wire_in r;
  int rc = 0;

  wire_in_init(&r, p, len);
  while (rc == 0 && wire_left(&r) > 0) {
    rc = statefmt_get_record(&r, &rec);
    if (rc == STATEFMT_TORN)
      rc = -EBADMSG; /* the pull checked each record */
    if (rc < 0)
      return rc;
    if (rec.type == RECORD_INTENT)
      rc = ledgerpull_intent(lp, &rec.intent);
    else if (count &&
             (rec.type == RECORD_COMMIT || rec.type == RECORD_ACCEPTED))
      rc = ledgerpull_inv(lp, &rec);
    record_free(&rec);
  }
  return rc;
}

int ledgerpull_add_intents(struct ledgerpull *lp, const struct intent *v,
                           size_t n)
{
  size_t i;
  int rc = 0;

  for (i = 0; rc == 0 && i < n; i++)
    rc = ledgerpull_intent(lp, &v[i]);
  return rc;
}

/* The intent of ref, or NULL: O(intents), as few as the journal's
 * batches since its last compaction. */
static const struct ledgerpull_intent *
ledgerpull_find(const struct ledgerpull *lp, const char *ref)
{
  size_t i;

  for (i = lp->n_intents; i > 0; i--)
    if (strcmp(lp->intents[i - 1].ref, ref) == 0)
      return &lp->intents[i - 1];
  return NULL;
}

bool ledgerpull_missing(const struct ledgerpull *lp)
{
  size_t i;

  for (i = 0; i < lp->n_invs; i++)
    if (ledgerpull_find(lp, lp->invs[i].ref) == NULL)
      return true;
  return false;
}

/* When inv was created: a COMMIT's time, or for an ACCEPTED record
 * that of its intent's COMMIT if read, else the intent's. */
static int64_t ledgerpull_at_s(const struct ledgerpull *lp,
                               const struct ledgerpull_inv *inv,
                               const struct ledgerpull_intent *in)
{
  size_t i;

  for (i = 0; inv->at_ns == 0 && i < lp->n_invs; i++)
    if (lp->invs[i].at_ns != 0 && strcmp(lp->invs[i].ref, inv->ref) == 0)
      return lp->invs[i].at_ns / NS_PER_S;
  return (inv->at_ns != 0 ? inv->at_ns : in->created_ns) / NS_PER_S;
}

int ledgerpull_recs(const struct ledgerpull *lp, struct ledger_rec **out,
                    size_t *n)
{
  const struct ledgerpull_intent *in;
  const struct ledgerpull_inv *inv;
  struct ledger_rec *v;
  size_t i;

  *n = 0;
  *out = v = calloc(lp->n_invs + 1, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  for (i = 0; i < lp->n_invs; i++) {
    inv = &lp->invs[i];
    in = ledgerpull_find(lp, inv->ref);
    /* A COMMIT of several repeats the last ACCEPTED. */
    if (in == NULL || in->several != (inv->dist[0] != '\0'))
      continue;
    v[*n].id = inv->id;
    v[*n].dist = inv->dist[0] != '\0' ? inv->dist : NULL;
    v[*n].n_paths = in->n_paths;
    v[*n].n_wildcards = in->n_wildcards;
    v[*n].status = NULL; /* unknown here */
    v[*n].at_s = ledgerpull_at_s(lp, inv, in);
    (*n)++;
  }
  return 0;
}

/* The dir's snapshot's open intents: those of COMMITs after a
 * compaction that left their intents open. */
static int ledgerpull_snapshot(struct ledgerpull *lp, const char *dir,
                               struct cfw_err *err)
{
  struct snapshot snap;
  size_t len;
  int rc;

  rc = statesnap_load(dir, STATEFMT_SNAPSHOT_FILE, &snap, &len, err);
  if (rc == 0)
    rc = ledgerpull_add_intents(lp, snap.intents, snap.n_intents);
  snapshot_free(&snap);
  return rc;
}

int ledgerpull_count(const char *dir, const unsigned char *kept,
                     size_t kept_len, const unsigned char *pulled,
                     size_t pulled_len, struct cfw_err *err)
{
  struct ledgerpull lp;
  struct ledger_rec *v = NULL;
  size_t n = 0;
  int rc;

  ledgerpull_init(&lp);
  rc = ledgerpull_scan(&lp, kept, kept_len, false);
  if (rc == 0)
    rc = ledgerpull_scan(&lp, pulled, pulled_len, true);
  if (rc < 0)
    (void)cfw_err_set(err, rc, "the records pulled: %s", strerror(-rc));
  if (rc == 0 && ledgerpull_missing(&lp))
    rc = ledgerpull_snapshot(&lp, dir, err);
  if (rc == 0 && ledgerpull_recs(&lp, &v, &n) < 0)
    rc = cfw_err_set(err, -ENOMEM, "out of memory");
  if (rc == 0 && n > 0)
    rc = ledger_record_v(dir, v, n, err);
  free(v);
  ledgerpull_free(&lp);
  return rc;
}
