/* SPDX-License-Identifier: MIT */
/* The pipeline's steps that may block (locks, the state, the ledger, the
 * planner's CPU time): each runs on the libuv threadpool while the site
 * waits in its state, so nothing else touches what the job uses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <fcntl.h>

#include "filehash.h"
#include "ledger.h"
#include "planner_config.h"
#include "site_int.h"
#include "statelock.h"
#include "util.h"

static void site_on_work(uv_work_t *w)
{
  struct site *s = container_of(w, struct site, work);

  s->job_rc = s->job(s, &s->job_err);
}

static void site_on_work_done(uv_work_t *w, int status)
{
  struct site *s = container_of(w, struct site, work);

  if (status < 0 && s->job_rc == 0)
    s->job_rc =
        cfw_err_set(&s->job_err, status, "threadpool: %s", uv_strerror(status));
  if (s->job_rc < 0) {
    if (s->job_err.cls == CFW_CLASS_NONE)
      cfw_err_class(&s->job_err, CFW_CLASS_STATE);
    site_fail(s, s->job_rc, &s->job_err);
    return;
  }
  if (site_sync_push(s))
    return; /* a state in S3: site_advance after the push */
  site_advance(s);
}

void site_queue(struct site *s, site_job_fn fn)
{
  struct cfw_err err = {0};
  int rc;

  cfw_err_clear(&s->job_err);
  s->job = fn;
  s->job_rc = 0;
  rc = uv_queue_work(s->o.loop, &s->work, site_on_work, site_on_work_done);
  if (rc < 0) {
    (void)cfw_err_set(&err, rc, "threadpool: %s", uv_strerror(rc));
    site_fail(s, rc, &err);
  }
}

/* A root that is not there is followed until it comes back, as `rm -rf
 * public && build` needs; but one cfwatch never saw is a mistake (a
 * typo, an option taken for ROOT), and waiting for it would hang. */
static int site_check_root(struct site *s, struct cfw_err *err)
{
  struct stat st;

  if (stat(s->cfg->root, &st) == 0 || errno != ENOENT || !state_fresh(s->state))
    return 0;
  (void)cfw_err_set(err, -ENOENT,
                    "%s: no such directory, and cfwatch has no state for it "
                    "(a typo?); build the site first",
                    s->cfg->root);
  cfw_err_class(err, CFW_CLASS_STATE);
  return -ENOENT;
}

/* The system's MIME table, for the origin's Content-Type (mime.h); the
 * built-in one, said once, without the media-types package. */
static int site_load_mime(struct site *s, struct cfw_err *err)
{
  int rc;

  rc = mime_table_load(&s->mime, MIME_DEFAULT_PATH, err);
  if (rc == MIME_FROM_BUILTIN) {
    log_msg(s->o.log, LOG_WARN, "%s", err->msg);
    cfw_err_clear(err);
    rc = 0;
  }
  return rc < 0 ? rc : 0;
}

/* plan and status pull a state in S3 into its cache, which only the
 * holder of the cache's lock may write.  A cfwatch of this machine that
 * holds it (a daemon) pulls before each pass of its own: the cache is
 * then read as it is, and the pull skipped. */
static int site_plan_lock(struct site *s, struct cfw_err *err)
{
  s->lock_fd = statelock_acquire(s->cfg->state_dir, err);
  if (s->lock_fd != -EWOULDBLOCK)
    return s->lock_fd < 0 ? s->lock_fd : 0;
  log_msg(s->o.log, LOG_INFO, "%s; reading its cache of %s as it is", err->msg,
          s->cfg->state_url);
  cfw_err_clear(err);
  s->lock_fd = -1;
  return 0;
}

int site_job_open(struct site *s, struct cfw_err *err)
{
  const struct site_config *c = s->cfg;
  int rc;

  if (s->o.mode != SITE_PLAN) {
    s->lock_fd = statelock_acquire(c->state_dir, err);
    if (s->lock_fd == -EWOULDBLOCK) {
      cfw_err_class(err, CFW_CLASS_LOCKED);
      return -EWOULDBLOCK;
    }
    if (s->lock_fd < 0)
      return s->lock_fd;
    s->root_fd = statelock_root(c->root, c->state_dir, s->o.log);
  } else if (s->sync != NULL) {
    rc = site_plan_lock(s, err);
    if (rc < 0)
      return rc;
  }
  if (c->origin != NULL) {
    rc = site_load_mime(s, err);
    if (rc < 0)
      return rc;
  }
  if (s->sync != NULL && s->lock_fd >= 0)
    return 0; /* loaded after each pull: site_job_load */
  rc = state_open(&s->state, c->state_dir, c->root, c->distribution_set,
                  (s->o.mode == SITE_PLAN ? STATE_READONLY : 0) |
                      (c->state_url != NULL ? STATE_ANY_ROOT : 0),
                  err);
  if (rc == 0)
    rc = state_set_tag_header(s->state, site_tags_header(s), err);
  if (rc == 0)
    rc = site_remap_open(s, err);
  if (rc < 0)
    return cfw_err_wrap(err, rc, "%s", c->root);
  return s->o.mode == SITE_WATCH ? site_check_root(s, err) : 0;
}

/* A state in S3, after the pull (site_sync.c): the state the cache now
 * holds replaces the one loaded for the last pass. */
int site_job_load(struct site *s, struct cfw_err *err)
{
  const struct site_config *c = s->cfg;
  int rc;

  state_close(s->state);
  s->state = NULL;
  rc = state_open(
      &s->state, c->state_dir, c->root, c->distribution_set,
      STATE_ANY_ROOT | (s->o.mode == SITE_PLAN ? STATE_READONLY : 0), err);
  if (rc == 0)
    rc = state_set_tag_header(s->state, site_tags_header(s), err);
  if (rc == 0)
    rc = site_remap_open(s, err);
  if (rc == 0)
    rc = site_relock(s, err);
  if (rc < 0)
    return cfw_err_wrap(err, rc, "%s", c->root);
  return s->o.mode == SITE_WATCH ? site_check_root(s, err) : 0;
}

/* What the pass diffs against: the committed manifest, or with open
 * intents the projection (state_project). */
const struct manifest *site_view(const struct site *s)
{
  return s->view != NULL ? s->view : state_manifest(s->state);
}

int site_job_project(struct site *s, struct cfw_err *err)
{
  return state_project(s->state, &s->view, err);
}

/* The planner's in-progress budget: every batch goes to every
 * distribution, and CloudFront's limits (CF_MAX_FILE_PATHS_IN_PROGRESS,
 * CF_MAX_WILDCARDS_IN_PROGRESS) hold at each one, so a batch fits only
 * if it fits at the busiest.  Each count is taken at its own busiest
 * distribution, which is never less room than any one has. */
static void site_busiest(const struct site *s, size_t *file_paths,
                         size_t *wildcards)
{
  size_t f;
  size_t w;
  size_t i;

  for (i = 0; i < s->n_dists; i++) {
    inflight_counts(s->dists[i].inflight, &f, &w);
    if (f > *file_paths)
      *file_paths = f;
    if (w > *wildcards)
      *wildcards = w;
  }
}

void site_release(struct site *s)
{
  changes_free(s->changes, s->n_changes);
  s->changes = NULL;
  seenset_destroy(s->deferred);
  s->deferred = NULL;
  s->n_changes = 0;
  planner_plan_free(&s->plan);
  s->planned = false;
  manifest_destroy(s->view);
  s->view = NULL;
  free(s->items);
  s->items = NULL;
  s->n_items = 0;
  s->next = 0;
  s->dnext = 0;
  strlist_free(&s->paths);
  s->paths_set = false;
  site_origin_free(s);
  site_origin_free_keys(s);
  site_ground_free(s);
  s->uploaded = false;
  s->tries = 0;
  s->wait_start = 0;
  if (!s->rep.again)
    passrun_clear(&s->run);
}

/* The planner, with what the run's earlier passes sent (passrun.h); a
 * pass that leaves files for later adds its own for the next. */
static int site_plan_run(struct site *s, struct planner_input *in,
                         const struct planner_opts *po, struct cfw_err *err)
{
  struct seenset *fresh;
  int rc;

  rc = passrun_mark(&s->run, in->manifest, s->deferred, &fresh);
  if (rc < 0)
    return cfw_err_set(err, rc, "%s: planning: %s", s->cfg->root,
                       strerror(-rc));
  in->fresh = fresh;
  rc = planner_plan(&s->plan, in, po, err);
  seenset_destroy(fresh);
  if (rc < 0) {
    cfw_err_class(err, CFW_CLASS_USAGE);
    return rc;
  }
  if (s->rep.deferred > 0 && passrun_add(&s->run, s->changes, s->n_changes) < 0)
    return cfw_err_set(err, -ENOMEM, "%s: planning: %s", s->cfg->root,
                       strerror(ENOMEM));
  return 0;
}

int site_job_plan(struct site *s, struct cfw_err *err)
{
  struct planner_input in = {0};
  struct planner_opts po;
  struct cfw_err lerr = {0};
  struct strlist flush;
  struct ledger l;
  int rc;

  /* The ledger only informs the budget: a damaged one counts nothing. */
  if (ledger_load(&l, s->cfg->state_dir, &lerr) < 0)
    log_msg(s->o.log, LOG_WARN, "%s", lerr.msg);
  s->month_paths = ledger_month_paths(&l, (int64_t)time(NULL));
  ledger_free(&l);
  /* The account's count holds this site's paths too, when it is read. */
  if (s->o.has_account_paths && s->o.account_paths > s->month_paths)
    s->month_paths = s->o.account_paths;
  in.manifest = site_view(s);
  in.changes = s->changes;
  in.n_changes = s->n_changes;
  in.deferred = s->deferred;
  in.urlmap = s->um;
  in.month_paths = s->month_paths;
  in.copies = s->cfg->distributions.n;
  site_busiest(s, &in.inflight.file_paths, &in.inflight.wildcards);
  in.tag_origin = site_tags_usable(s) ? &s->origin : NULL;
  strlist_init(&flush);
  if (site_remap_owed(s) && site_remap_flush(s, &flush) < 0) {
    strlist_free(&flush);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  in.flush = &flush;
  config_planner_opts(s->cfg, &po);
  rc = site_plan_run(s, &in, &po, err);
  strlist_free(&flush);
  if (rc < 0)
    return rc;
  site_tags_mark(s);
  s->planned = true;
  return 0;
}

/* Before any write: a state dir deleted (or replaced) under us took our
 * lock with it.  Lock it again, or another cfwatch could write it too,
 * and write the whole state there, not a journal record. */
int site_relock(struct site *s, struct cfw_err *err)
{
  int rc;

  rc = statelock_renew(&s->lock_fd, s->cfg->state_dir, err);
  if (rc == -EWOULDBLOCK)
    cfw_err_class(err, CFW_CLASS_LOCKED);
  if (rc < 0)
    return rc;
  if (rc == 1) {
    log_msg(s->o.log, LOG_WARN,
            "%s: the state dir %s was removed or replaced; it is locked "
            "again and written whole",
            s->cfg->root, s->cfg->state_dir);
    state_relocated(s->state);
  }
  return 0;
}

int site_job_baseline(struct site *s, struct cfw_err *err)
{
  int rc;

  rc = site_relock(s, err);
  if (rc == 0)
    rc = state_baseline(s->state, s->changes, s->n_changes, err);
  return rc;
}

/* The changes a planned batch covers: a slice of the pass's changes
 * when they are consecutive there (*copy NULL), as they are for most
 * batches of a rewrite, else a fresh shallow array in *copy (free()
 * it); the entries stay the pass's either way. */
static const struct change *site_gather(const struct site *s,
                                        const uint32_t *idx, size_t n,
                                        struct change **copy,
                                        struct cfw_err *err)
{
  struct change *v;
  size_t i;

  *copy = NULL;
  for (i = 1; i < n && idx[i] == idx[0] + i; i++)
    ;
  if (n > 0 && i == n)
    return &s->changes[idx[0]];
  v = calloc(n + 1, sizeof(*v));
  if (v == NULL) {
    (void)cfw_err_set(err, -ENOMEM, "out of memory");
    return NULL;
  }
  for (i = 0; i < n; i++)
    v[i] = s->changes[idx[i]];
  *copy = v;
  return v;
}

/* Each batch's changes moved into its intent (state_intend_take): what
 * the pass still needs of its own array is the changes it sends
 * nowhere (plan.no_send, for site_job_record), moved to the front; the
 * rest went to the intents or stay pending on disk.  From here on a
 * batch's changes are read from its intent (site_item_changes). */
static void site_keep_unsent(struct site *s)
{
  uint32_t *ns = s->plan.no_send;
  struct change *v;
  size_t i;
  size_t j;

  if (s->changes == NULL)
    return; /* taken whole: nothing went unsent */
  for (i = 1; i < s->plan.n_no_send; i++)
    if (ns[i] <= ns[i - 1])
      return; /* not ascending, as planner.h promises: leave it be */
  for (i = 0, j = 0; i < s->n_changes; i++) {
    if (j < s->plan.n_no_send && ns[j] == i) {
      s->changes[j] = s->changes[i]; /* j <= i: a move forward */
      ns[j] = (uint32_t)j;
      j++;
      continue;
    }
    tree_entry_free(&s->changes[i].entry); /* NULL if an intent took it */
  }
  s->n_changes = j;
  if (j == 0) {
    free(s->changes);
    s->changes = NULL;
    return;
  }
  v = realloc(s->changes, j * sizeof(*v));
  if (v != NULL) /* else the larger block stays: harmless */
    s->changes = v;
}

/* Item it's batch is recorded as in: from here on its changes are read
 * from the intent (site_item_changes), so the plan's index of them goes
 * (8 bytes a change, the whole site's on a rewrite: issue 13). */
static void site_item_recorded(struct site *s, struct site_item *it,
                               const struct intent *in)
{
  struct planner_batch *pb = &s->plan.v[it->batch];

  /* The reference ties an invalidation CloudFront lists to the process
   * that recorded its batch (a replay after a crash has an older one). */
  log_msg(s->o.log, LOG_DEBUG,
          "%s: batch recorded: %zu paths, CallerReference %s", s->cfg->root,
          in->paths.n, in->ref);
  str_copy(it->ref, sizeof(it->ref), in->ref);
  free(pb->changes);
  pb->changes = NULL;
}

/* Records every planned batch before any is sent (recovered ones are
 * recorded already): the uploads come first, for all of them. */
int site_job_intend(struct site *s, struct cfw_err *err)
{
  const struct planner_batch *pb;
  const struct intent *in;
  struct site_item *it;
  size_t i;
  int rc;

  rc = site_relock(s, err);
  for (i = 0; rc == 0 && i < s->n_items; i++) {
    it = &s->items[i];
    if (it->ref[0] != '\0')
      continue;
    pb = &s->plan.v[it->batch];
    /* The batch's changes move into the intent, indexed where they are:
     * a whole-site rewrite is held once, not three times (issue 13). */
    rc = state_intend_take(s->state, s->cfg->distribution_set, &pb->b.paths,
                           &s->changes, &s->n_changes, pb->changes,
                           pb->n_changes, &in, err);
    if (rc == 0)
      site_item_recorded(s, it, in);
  }
  if (rc < 0)
    return cfw_err_wrap(err, rc,
                        "%s: not sent, since it could not be "
                        "recorded first",
                        s->cfg->root);
  site_keep_unsent(s);
  return 0;
}

/* Records that the origin holds the items' files (but those S3 found
 * changed): after a crash they are invalidated without a new upload. */
int site_job_mark(struct site *s, struct cfw_err *err)
{
  uint32_t *stale;
  size_t n;
  size_t i;
  int rc;

  rc = site_relock(s, err);
  stale = calloc(s->n_up + 1, sizeof(*stale));
  if (stale == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  for (i = 0; rc == 0 && i < s->n_items; i++) {
    if (s->items[i].uploaded)
      continue;
    n = site_origin_stale(s, i, stale);
    rc = state_uploaded(s->state, s->items[i].ref, stale, n, err);
    if (rc == 0)
      s->items[i].uploaded = true;
  }
  free(stale);
  return rc;
}

/* Counts an accepted invalidation in the ledger, with its distribution
 * when the site has several (dist NULL otherwise); only the statistics
 * suffer if that fails. */
static void site_count_invalidation(struct site *s, const struct site_item *it,
                                    const char *dist)
{
  struct cfw_err err = {0};

  if (ledger_record_at(s->cfg->state_dir, s->inv_id, dist,
                       (uint32_t)(it->file_paths + it->wildcards),
                       (uint32_t)it->wildcards, s->inv_status,
                       (int64_t)time(NULL), &err) < 0)
    log_msg(s->o.log, LOG_WARN, "%s (only the statistics suffer)", err.msg);
}

/* One of several distributions accepted the item (s->inv_id): that is
 * journaled (state_accepted says why) and counted, and the item goes
 * on to the next distribution. */
int site_job_accept(struct site *s, struct cfw_err *err)
{
  const struct site_item *it = &s->items[s->next];
  const char *dist = s->dists[s->dnext].id;
  int rc;

  rc = site_relock(s, err);
  if (rc == 0)
    rc = state_accepted(s->state, it->ref, dist, s->inv_id, err);
  if (rc == 0)
    site_count_invalidation(s, it, dist);
  return rc;
}

/* True if the file of change c is no longer what the scan read: its
 * stat moved, or (for an entry the scan could not trust, TREE_RACY) its
 * bytes did.  A deleted file is sent as added when it comes back.  In a
 * state shared through S3 the intent may be another machine's, whose
 * stats say nothing of this tree: only the bytes tell. */
static bool site_moved(const struct site *s, const struct change *c)
{
  struct tree_entry now;
  unsigned char hash[32];
  char path[8192];
  struct stat st;
  int n;

  if (change_kind(c) == CHANGE_DELETED)
    return false;
  n = snprintf(path, sizeof(path), "%s/%s", s->cfg->root, c->entry.path);
  if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) < 0)
    return true;
  tree_entry_set_stat(&now, &st);
  if (!tree_entry_same_stat(&now, &c->entry)) {
    if (s->sync == NULL || (uint64_t)st.st_size != c->entry.size)
      return true;
  } else if ((c->entry.flags & TREE_RACY) == 0) {
    return false;
  }
  return filehash_file(AT_FDCWD, path, hash, NULL, NULL) < 0 ||
         memcmp(hash, c->entry.hash, sizeof(hash)) != 0;
}

/* The intent's files that changed since the scan read them: CloudFront
 * evicted them after that, so the edges may cache bytes other than the
 * recorded ones (state_commit marks them TREE_STALE).  One stat a file,
 * a hash for the racy ones. */
static int site_stale(const struct site *s, const char *ref, uint32_t **out,
                      size_t *n_out)
{
  const struct intent *in = NULL;
  uint32_t *v;
  size_t i;

  *out = NULL;
  *n_out = 0;
  for (i = 0; in == NULL && i < state_intent_count(s->state); i++)
    if (strcmp(state_intent_at(s->state, i)->ref, ref) == 0)
      in = state_intent_at(s->state, i);
  if (in == NULL)
    return 0;
  v = calloc(in->n_changes + 1, sizeof(*v));
  if (v == NULL)
    return -ENOMEM;
  for (i = 0; i < in->n_changes; i++)
    if (site_moved(s, &in->changes[i]))
      v[(*n_out)++] = (uint32_t)i;
  *out = v;
  return 0;
}

int site_job_commit(struct site *s, struct cfw_err *err)
{
  const struct site_item *it = &s->items[s->next];
  const struct planner_batch *pb;
  const struct change *v;
  struct change *copy;
  int rc;

  rc = site_relock(s, err);
  if (rc < 0)
    return rc;
  if (it->ref[0] != '\0') {
    const struct intent *in = site_intent(s, it->ref);
    bool remap =
        site_sends(s) && in != NULL && site_remap_carries(s, &in->paths);
    uint32_t *stale = NULL;
    size_t n_stale = 0;
    size_t left;

    if (site_sends(s) && site_stale(s, it->ref, &stale, &n_stale) < 0)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    left = n_stale + (in != NULL ? in->n_stale : 0);
    rc = state_commit(s->state, it->ref, s->inv_id, stale, n_stale, err);
    free(stale);
    if (rc == 0)
      s->rep.stale += left;
    if (rc == 0 && site_sends(s) && s->n_dists == 1)
      site_count_invalidation(s, it, NULL);
    if (rc == 0 && remap)
      rc = site_remap_done(s, err);
    return rc;
  }
  /* A dry run: the printed batch is recorded as told. */
  pb = &s->plan.v[it->batch];
  v = site_gather(s, pb->changes, pb->n_changes, &copy, err);
  if (v == NULL)
    return -ENOMEM;
  rc = state_record(s->state, v, pb->n_changes, err);
  free(copy);
  if (rc == 0 && site_remap_carries(s, &pb->b.paths))
    rc = site_remap_done(s, err);
  return rc;
}

int site_job_record(struct site *s, struct cfw_err *err)
{
  const struct change *v;
  struct change *copy;
  int rc;

  rc = site_relock(s, err);
  if (rc < 0)
    return rc;
  v = site_gather(s, s->plan.no_send, s->plan.n_no_send, &copy, err);
  if (v == NULL)
    return -ENOMEM;
  rc = state_record(s->state, v, s->plan.n_no_send, err);
  free(copy);
  return rc;
}

int site_job_compact(struct site *s, struct cfw_err *err)
{
  int rc;

  /* The pass has recorded its changes and needs them no more (the
   * report counts, the plan's batches only index them): they go before
   * the snapshot is encoded beside them, so a whole-site rewrite does not
   * hold both (issue 13). */
  changes_free(s->changes, s->n_changes);
  s->changes = NULL;
  s->n_changes = 0;
  rc = site_relock(s, err);
  if (rc == 0)
    rc = state_compact(s->state, err);
  return rc;
}

static void site_item_count(struct site_item *it, const struct strlist *paths)
{
  size_t i;

  for (i = 0; i < paths->n; i++) {
    if (urlmap_is_wildcard(paths->v[i]))
      it->wildcards++;
    else
      it->file_paths++;
  }
}

/* The pass's deliveries: batches an earlier run recorded and never saw
 * acknowledged, oldest first, then the new plan's. */
int site_plan_items(struct site *s, struct cfw_err *err)
{
  size_t n_open = state_intent_count(s->state);
  size_t n = n_open + (s->planned ? s->plan.n : 0);
  const struct intent *in;
  size_t i;

  s->items = calloc(n + 1, sizeof(*s->items));
  if (s->items == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  for (i = 0; i < n_open; i++) {
    in = state_intent_at(s->state, i);
    str_copy(s->items[i].ref, sizeof(s->items[i].ref), in->ref);
    s->items[i].batch = SIZE_MAX;
    s->items[i].uploaded = in->uploaded;
    site_item_count(&s->items[i], &in->paths);
  }
  for (i = n_open; i < n; i++) {
    s->items[i].batch = i - n_open;
    site_item_count(&s->items[i], &s->plan.v[i - n_open].b.paths);
  }
  s->n_items = n;
  s->rep.recovered = n_open;
  return 0;
}
