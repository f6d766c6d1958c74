/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "state_int.h"
#include "statefile.h"
#include "statefmt.h"
#include "statesnap.h"
#include "util.h"

#define STATE_RESTART                                                          \
  "To start over, remove the state dir: the next run records a new "           \
  "baseline (then invalidate \"/*\" once if the cache may be stale)."

void intent_free(struct intent *in)
{
  if (in == NULL)
    return;
  free(in->distribution);
  strlist_free(&in->paths);
  changes_free(in->changes, in->n_changes);
  free(in->stale);
  strlist_free(&in->accepted);
  memset(in, 0, sizeof(*in));
}

bool intent_accepted_by(const struct intent *in, const char *dist)
{
  return strlist_contains(&in->accepted, dist) != 0;
}

int state_note_accepted(struct state *s, const char *ref, const char *dist)
{
  size_t i = state_find_intent(s, ref);

  if (i == SIZE_MAX || intent_accepted_by(&s->open[i], dist))
    return 0;
  return strlist_push(&s->open[i].accepted, dist);
}

static void state_free_open(struct state *s)
{
  size_t i;

  for (i = 0; i < s->n_open; i++)
    intent_free(&s->open[i]);
  free(s->open);
  s->open = NULL;
  s->n_open = 0;
  s->cap_open = 0;
}

void state_close(struct state *s)
{
  if (s == NULL)
    return;
  if (s->jfd >= 0)
    (void)close(s->jfd); /* every append was synced */
  state_free_open(s);
  manifest_destroy(s->m);
  free(s->dir);
  free(s->root);
  free(s->distribution);
  free(s->tag_header);
  free(s->urlmap);
  free(s);
}

bool state_fresh(const struct state *s)
{
  return s->fresh;
}

const struct manifest *state_manifest(const struct state *s)
{
  return s->m;
}

const char *state_dir(const struct state *s)
{
  return s->dir;
}

const char *state_distribution(const struct state *s)
{
  return s->distribution;
}

int64_t state_snapshot_ns(const struct state *s)
{
  return s->fresh ? 0 : s->snapshot_ns;
}

uint64_t state_journal_bytes(const struct state *s)
{
  return s->journal_bytes;
}

uint64_t state_snapshot_bytes(const struct state *s)
{
  return s->snapshot_bytes;
}

size_t state_intent_count(const struct state *s)
{
  return s->n_open;
}

const struct intent *state_intent_at(const struct state *s, size_t i)
{
  return i < s->n_open ? &s->open[i] : NULL;
}

/* Applying records: one home for replay and for live writes. */

/* Takes *in over (it is left empty). */
int state_add_intent(struct state *s, struct intent *in)
{
  struct intent *v;

  v = array_grow(s->open, s->n_open, &s->cap_open, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  s->open = v;
  s->open[s->n_open++] = *in;
  memset(in, 0, sizeof(*in));
  return 0;
}

size_t state_find_intent(const struct state *s, const char *ref)
{
  size_t i;

  for (i = 0; i < s->n_open; i++)
    if (strcmp(s->open[i].ref, ref) == 0)
      return i;
  return SIZE_MAX;
}

/* Takes the stale list over (*stale is left NULL). */
void state_mark_uploaded(struct intent *in, uint32_t **stale, size_t *n_stale)
{
  free(in->stale);
  in->uploaded = true;
  in->stale = *stale;
  in->n_stale = *n_stale;
  *stale = NULL;
  *n_stale = 0;
}

/* Records the intent's changes in the manifest and closes it; the
 * stale ones keep TREE_STALE. */
int state_close_intent(struct state *s, size_t i, const uint32_t *stale,
                       size_t n_stale, struct cfw_err *err)
{
  struct intent *in = &s->open[i];
  size_t k;
  int rc;

  for (k = 0; k < n_stale; k++)
    if (stale[k] < in->n_changes)
      in->changes[stale[k]].entry.flags |= TREE_STALE;
  for (k = 0; k < in->n_stale; k++)
    if (in->stale[k] < in->n_changes)
      in->changes[in->stale[k]].entry.flags |= TREE_STALE;
  /* What the edges hold of a stale file is not known: by path. */
  for (k = 0; k < in->n_changes; k++)
    if (in->changes[k].entry.flags & TREE_STALE)
      in->changes[k].entry.flags &= ~TREE_TAGGED;
  /* The intent is freed next: the manifest takes the added paths
   * rather than copying them (issue 13). */
  rc = manifest_apply_take(s->m, in->changes, in->n_changes, err);
  if (rc < 0)
    return rc;
  intent_free(&s->open[i]);
  memmove(&s->open[i], &s->open[i + 1], (s->n_open - i - 1) * sizeof(*s->open));
  s->n_open--;
  return 0;
}

/* Whether a TOUCHED change (the same bytes with a new stat) must keep
 * the file pending: its entry is TREE_STALE, or holds other bytes.  A
 * pass diffs against the projection of the open intents (state_project)
 * and records its TOUCHED changes after committing those intents, so a
 * commit may meanwhile have marked the entry stale: S3 refused its
 * upload as changed, though the file now hashes as the intent recorded
 * (a scan that read it while it was rewritten). */
static bool state_touch_keeps_stale(const struct manifest *m,
                                    const struct change *c)
{
  const struct tree_entry *old;

  if (change_kind(c) != CHANGE_TOUCHED)
    return false;
  old = manifest_find(m, c->entry.path);
  return old != NULL &&
         ((old->flags & TREE_STALE) != 0 ||
          memcmp(old->hash, c->entry.hash, sizeof(old->hash)) != 0);
}

/* Applies an ENTRIES record, live or replayed: as manifest_apply, but
 * a stat refresh never clears what keeps a file pending (see above).
 * O(n log entries). */
int state_apply_entries(struct state *s, const struct change *v, size_t n,
                        struct cfw_err *err)
{
  struct change *w;
  size_t i;
  int rc;

  for (i = 0; i < n && !state_touch_keeps_stale(s->m, &v[i]); i++)
    ;
  if (i == n)
    return manifest_apply(s->m, v, n, err);
  if (n > SIZE_MAX / sizeof(*w))
    return cfw_err_set(err, -ENOMEM, "out of memory");
  w = malloc(n * sizeof(*w)); /* shallow: manifest_apply copies paths */
  if (w == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  memcpy(w, v, n * sizeof(*w));
  for (; i < n; i++)
    if (state_touch_keeps_stale(s->m, &v[i]))
      w[i].entry.flags |= TREE_STALE;
  rc = manifest_apply(s->m, w, n, err);
  free(w);
  return rc;
}

static int state_apply(struct state *s, struct record *r, struct cfw_err *err)
{
  size_t i;

  switch (r->type) {
  case RECORD_INTENT:
    if (state_add_intent(s, &r->intent) < 0)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    return 0;
  case RECORD_COMMIT:
    /* A batch committed twice (its commit was durable but applying it
     * failed in memory, and a replay committed it again) is done. */
    i = state_find_intent(s, r->ref);
    return i == SIZE_MAX ? 0
                         : state_close_intent(s, i, r->stale, r->n_stale, err);
  case RECORD_ENTRIES:
    return state_apply_entries(s, r->changes, r->n_changes, err);
  case RECORD_UPLOADED:
    i = state_find_intent(s, r->ref);
    if (i != SIZE_MAX)
      state_mark_uploaded(&s->open[i], &r->stale, &r->n_stale);
    return 0;
  case RECORD_ACCEPTED:
    if (state_note_accepted(s, r->ref, r->dist) < 0)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    return 0;
  }
  return cfw_err_set(err, -EBADMSG, "unknown record type %d", (int)r->type);
}

/* Loading. */

/* The chaos test makes compactions frequent so that kills fall into
 * them too: CFWATCH_TEST_COMPACT_BYTES lowers the journal's minimum. */
static uint64_t state_compact_min(void)
{
  const char *v = getenv("CFWATCH_TEST_COMPACT_BYTES");
  uint64_t n;

  if (v == NULL || parse_u64(v, 1, STATE_COMPACT_MIN, &n) < 0)
    return STATE_COMPACT_MIN;
  return n;
}

static int state_new(struct state **out, const char *dir, unsigned flags)
{
  struct state *s;

  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->jfd = -1;
  s->readonly = (flags & STATE_READONLY) != 0;
  s->any_root = (flags & STATE_ANY_ROOT) != 0;
  s->next_seq = 1;
  s->compact_min = state_compact_min();
  s->dir = strdup(dir);
  if (s->dir == NULL || manifest_new(&s->m) < 0) {
    state_close(s);
    return -ENOMEM;
  }
  *out = s;
  return 0;
}

static int state_new_id(struct state *s, struct cfw_err *err)
{
  if (RAND_bytes(s->id, sizeof(s->id)) != 1)
    return cfw_err_set(err, -EIO, "no random bytes for the state's id");
  s->snapshot_due = true;
  return 0;
}

/* The state names its site; one that names another is never used for
 * this one: its manifest says what another root or distribution was
 * told.  A state that has served no distribution yet adopts one. */
static int state_check_identity(struct state *s, const char *root,
                                const char *dist, const char *file,
                                struct cfw_err *err)
{
  const char *want = dist != NULL ? dist : "";

  if (!s->any_root && s->root[0] != '\0' && strcmp(s->root, root) != 0)
    return cfw_err_set(err, -ESTALE,
                       "%s belongs to the root %s, not %s: nothing was sent. "
                       "Give this site its own --state-dir, or remove it to "
                       "start over",
                       file, s->root, root);
  if (s->distribution[0] == '\0' || (dist == NULL && s->readonly))
    return 0;
  /* With several distributions the state names their set, and any other
   * set is refused: a distribution added to it was told nothing this
   * manifest records, and one dropped from it would leave intents it
   * never accepted.  The simplest rule that is always safe. */
  if (strcmp(s->distribution, want) != 0 &&
      (strchr(s->distribution, ',') != NULL || strchr(want, ',') != NULL))
    return cfw_err_set(err, -ESTALE,
                       "%s belongs to the distributions %s, not %s: nothing "
                       "was sent. A state serves the one set of "
                       "distributions it was made for. Give this set its own "
                       "--state-dir, or remove the state dir to start over "
                       "(the next run records a baseline); first run "
                       "`cfwatch invalidate --distribution-id ID '/*'` once "
                       "for each distribution new to the site, whose edges "
                       "may hold anything",
                       file, s->distribution, want[0] ? want : "(none)");
  if (strcmp(s->distribution, want) != 0)
    return cfw_err_set(err, -ESTALE,
                       "%s belongs to distribution %s, not %s: nothing was "
                       "sent. Give this distribution its own --state-dir, or "
                       "remove it to start over",
                       file, s->distribution, want[0] ? want : "(none)");
  return 0;
}

/* Takes the snapshot's content over. */
static int state_adopt(struct state *s, struct snapshot *snap)
{
  size_t i;
  int rc;

  manifest_destroy(s->m);
  s->m = NULL;
  rc = manifest_adopt(&s->m, snap->v, snap->n);
  if (rc < 0)
    return rc;
  snap->v = NULL;
  snap->n = 0;
  for (i = 0; i < snap->n_intents && rc == 0; i++)
    rc = state_add_intent(s, &snap->intents[i]);
  s->root = snap->root;
  s->distribution = snap->distribution;
  s->tag_header = snap->tag_header;
  s->urlmap = snap->urlmap;
  snap->root = NULL;
  snap->distribution = NULL;
  snap->tag_header = NULL;
  snap->urlmap = NULL;
  s->snapshot_version = snap->version;
  memcpy(s->id, snap->id, STATE_ID_LEN);
  s->next_seq = snap->next_seq;
  s->snapshot_ns = snap->written_at_ns;
  return rc;
}

static int state_load_snapshot(struct state *s, const char *file,
                               struct cfw_err *err)
{
  struct snapshot snap;
  size_t len;
  int version;
  int rc;

  rc = statesnap_load(s->dir, file, &snap, &len, err);
  if (rc < 0)
    return rc;
  s->snapshot_bytes = len;
  version = snap.version;
  rc = state_adopt(s, &snap);
  snapshot_free(&snap);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  /* Format 1 has no id: the first write makes one durable. */
  return version == 1 ? state_new_id(s, err) : 0;
}

static int state_replay_one(struct state *s, struct record *r, const char *file,
                            struct cfw_err *err)
{
  if (r->seq < s->next_seq)
    return 0; /* in the snapshot already: a compaction was cut short */
  if (r->seq != s->next_seq)
    return cfw_err_set(
        err, -EBADMSG,
        "%s is corrupt (record %llu where %llu was expected). " STATE_RESTART,
        file, (unsigned long long)r->seq, (unsigned long long)s->next_seq);
  s->next_seq++;
  return state_apply(s, r, err);
}

/* Applies the records from r's position; *valid is where the good ones
 * end (before a torn last record). */
static int state_replay(struct state *s, struct wire_in *r, const char *file,
                        size_t *valid, struct cfw_err *err)
{
  struct record rec;
  size_t at;
  int rc = 0;

  while (rc == 0 && wire_left(r) > 0) {
    at = r->off;
    rc = statefmt_get_record(r, &rec);
    if (rc == STATEFMT_TORN)
      break;
    if (rc == -ENOMEM)
      return cfw_err_set(err, rc, "out of memory");
    if (rc < 0)
      return cfw_err_set(err, -EBADMSG,
                         "%s is corrupt (a damaged record at byte %zu, with "
                         "more after it). " STATE_RESTART,
                         file, at);
    rc = state_replay_one(s, &rec, file, err);
    record_free(&rec);
  }
  *valid = r->off;
  return rc < 0 ? rc : 0;
}

/* A journal shorter than its header was cut short while being created:
 * nothing was recorded in it. */
static int state_load_journal(struct state *s, const char *file,
                              struct cfw_err *err)
{
  unsigned char id[STATE_ID_LEN];
  unsigned char *data;
  struct wire_in r;
  size_t valid = 0;
  size_t len;
  int rc;

  rc = statefile_read(s->dir, STATEFMT_JOURNAL_FILE, STATEFMT_MAX_BYTES, &data,
                      &len, err);
  if (rc == -ENOENT)
    return 0;
  if (rc < 0)
    return rc;
  wire_in_init(&r, data, len);
  if (len < STATEFMT_JOURNAL_HEADER_LEN)
    rc = 0;
  else if (s->fresh)
    rc = cfw_err_set(
        err, -EBADMSG,
        "%s has no manifest beside it: the state is incomplete. " STATE_RESTART,
        file);
  else
    rc = statefmt_get_journal_header(&r, file, id, err);
  if (rc == 0 && len >= STATEFMT_JOURNAL_HEADER_LEN &&
      (s->snapshot_due || memcmp(id, s->id, STATE_ID_LEN) != 0))
    rc = cfw_err_set(
        err, -EBADMSG,
        "%s belongs to another state than its manifest. " STATE_RESTART, file);
  if (rc == 0 && len >= STATEFMT_JOURNAL_HEADER_LEN)
    rc = state_replay(s, &r, file, &valid, err);
  free(data);
  if (rc < 0 || s->readonly)
    return rc;
  s->journal_bytes = valid;
  if (valid == len)
    return 0;
  if (valid == 0)
    return statefile_remove(s->dir, STATEFMT_JOURNAL_FILE, err);
  return statefile_truncate(s->dir, STATEFMT_JOURNAL_FILE, valid, err);
}

static int state_fresh_identity(struct state *s, const char *root,
                                const char *dist, struct cfw_err *err)
{
  s->fresh = true;
  s->root = strdup(root);
  s->distribution = strdup(dist != NULL ? dist : "");
  s->tag_header = strdup("");
  s->urlmap = strdup("");
  if (s->root == NULL || s->distribution == NULL || s->tag_header == NULL ||
      s->urlmap == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  return state_new_id(s, err);
}

/* A state that served no root or distribution yet takes this one's;
 * writing it is the next write's business. */
static int state_adopt_identity(struct state *s, const char *root,
                                const char *dist, struct cfw_err *err)
{
  char **slot[2] = {&s->root, &s->distribution};
  const char *want[2] = {root, dist};
  size_t i;
  char *p;

  for (i = 0; i < 2 && !s->readonly; i++) {
    if (*slot[i] == NULL || (*slot[i])[0] != '\0' || want[i] == NULL ||
        want[i][0] == '\0')
      continue;
    p = strdup(want[i]);
    if (p == NULL)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    free(*slot[i]);
    *slot[i] = p;
    s->snapshot_due = true;
  }
  return 0;
}

static int state_load(struct state *s, const char *root, const char *dist,
                      struct cfw_err *err)
{
  char snap_file[4200];
  char journal_file[4200];
  int rc;

  if (snprintf(snap_file, sizeof(snap_file), "%s/%s", s->dir,
               STATEFMT_SNAPSHOT_FILE) >= (int)sizeof(snap_file) ||
      snprintf(journal_file, sizeof(journal_file), "%s/%s", s->dir,
               STATEFMT_JOURNAL_FILE) >= (int)sizeof(journal_file))
    return cfw_err_set(err, -ENAMETOOLONG, "state dir too long: %s", s->dir);
  rc = state_load_snapshot(s, snap_file, err);
  if (rc == -ENOENT) {
    cfw_err_clear(err);
    rc = state_fresh_identity(s, root, dist, err);
  } else if (rc == 0)
    rc = state_check_identity(s, root, dist, snap_file, err);
  if (rc == 0)
    rc = state_adopt_identity(s, root, dist, err);
  if (rc == 0)
    rc = state_load_journal(s, journal_file, err);
  /* A journal record may hold TREE_TAGGED, which a format 1 or 2
   * snapshot never does: the first write makes the snapshot format 3,
   * so a cfwatch that reads only those refuses the state (statefmt.h). */
  if (rc == 0 && !s->fresh && s->snapshot_version < 3)
    s->snapshot_due = true;
  return rc;
}

int state_open(struct state **out, const char *dir, const char *root,
               const char *distribution, unsigned flags, struct cfw_err *err)
{
  struct state *s;
  int rc;

  *out = NULL;
  rc = state_new(&s, dir, flags);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  cfw_err_clear(err);
  rc = state_load(s, root, distribution, err);
  if (rc < 0) {
    state_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void state_untag(struct manifest *m, const struct intent *in)
{
  size_t k;

  for (k = 0; k < in->n_changes; k++)
    manifest_unflag(m, in->changes[k].entry.path, TREE_TAGGED);
}

int state_project(const struct state *s, struct manifest **out,
                  struct cfw_err *err)
{
  size_t i;
  int rc;

  rc = manifest_copy(out, s->m);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  for (i = 0; rc == 0 && i < s->n_open; i++)
    rc = manifest_apply(*out, s->open[i].changes, s->open[i].n_changes, err);
  /* An open intent's upload may carry the tag, but no invalidation
   * that followed it was accepted yet: the edges may hold untagged
   * copies, so its files go by path until it commits. */
  for (i = 0; rc == 0 && i < s->n_open; i++)
    state_untag(*out, &s->open[i]);
  if (rc < 0) {
    manifest_destroy(*out);
    *out = NULL;
  }
  return rc;
}
