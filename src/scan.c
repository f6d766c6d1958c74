/* SPDX-License-Identifier: MIT */
#include "scan.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "partwalk.h"
#include "pathref.h"
#include "seenset.h"
#include "tree.h"
#include "util.h"

/* Hashing is split into more chunks than threads so a few large files do
 * not leave one worker busy while the others idle. */
#define SCAN_CHUNKS_PER_THREAD 4
#define SCAN_MIN_CHUNK         64

struct scan_chunk {
  uv_work_t work;
  struct scan *scan; /* borrowed back-pointer */
  size_t from;
  size_t to;
};

struct scan {
  uv_loop_t *loop;
  struct scan_opts opts;
  scan_cb cb;
  void *arg;
  uv_work_t walk;
  uv_work_t diffing; /* a late manifest's diff_begin */
  uv_work_t finish;
  struct tree tree; /* owned */
  /* Owned array: the manifest's entries under opts.paths (borrowed from
   * it, which stays as it is until cb). */
  const struct tree_entry **sub;
  size_t n_sub;
  /* The manifest the walk compares with as it goes: opts.manifest from
   * the start, or a late one from scan_diff on, if it comes while the
   * walk runs (a start-up's load is shorter than its walk).  NULL: the
   * walk records every file.  Set on the loop thread with seen
   * (release), read on the walk's (acquire). */
  const struct manifest *_Atomic live;
  /* opts.bound as it applies to live (scan_bound), set before it. */
  size_t bound;
  /* Files that needed hashing since live was set: taken in up to
   * bound, the rest deferred.  From the walk's threads. */
  atomic_size_t n_taken;
  atomic_size_t n_deferred;
  /* Owned, from the walk to the diff: live's entries the walk left out
   * as unchanged or for later; and those it left for later, to the
   * result. */
  struct seenset *seen;
  struct seenset *deferred;
  struct diff *diff;         /* owned */
  struct scan_chunk *chunks; /* owned */
  /* Subtrees the walk could not read: what the manifest has there is
   * unknown, not deleted.  Written by the walk thread only, read after. */
  struct strlist unreadable;
  size_t n_chunks;
  size_t chunks_left;
  /* Started without a manifest: the diff waits until the walk is over
   * (walked) and scan_diff gave one (manifest_in), or dropped it. */
  bool late;
  bool walked;
  bool manifest_in;
  bool cancelled;
  uint64_t start_ns;
  struct scan_result result;
};

static bool scan_skip(void *ctx, const char *relpath, bool is_dir)
{
  const struct scan *s = ctx;

  return s->opts.urlmap != NULL &&
         urlmap_excluded(s->opts.urlmap, relpath, is_dir);
}

/* Runs on the walk's worker thread; the log is safe to share (one
 * fwrite a line), and only this thread touches `unreadable` until the
 * walk is done. */
static void scan_warn(void *ctx, const char *relpath, int errnum)
{
  struct scan *s = ctx;
  int e = errnum < 0 ? -errnum : errnum;

  if (e == ENOENT)
    return; /* vanished between readdir and stat: a later event tells */
  if (e == EXDEV) {
    log_msg(s->opts.log, LOG_WARN,
            "%s/%s: symlink leads outside the root; not followed", s->opts.root,
            relpath);
    return;
  }
  if ((e == EACCES || e == EIO) && strlist_push(&s->unreadable, relpath) == 0) {
    log_msg(s->opts.log, LOG_WARN, "%s/%s: %s; what it holds stays pending",
            s->opts.root, relpath, strerror(e));
    return;
  }
  log_msg(s->opts.log, LOG_WARN, "%s/%s: %s; skipped", s->opts.root, relpath,
          strerror(e));
}

/* How many files that need hashing the walk takes in while it compares
 * with m (scan.h); SIZE_MAX for all. */
static size_t scan_bound(const struct scan *s, const struct manifest *m)
{
  size_t n = manifest_count(m);
  size_t b = s->opts.bound;

  return b == 0 || n == 0 ? SIZE_MAX : b;
}

/* Lets the walk compare with m from now on.  Without the room for the
 * set, it goes on recording every file. */
static void scan_compare_with(struct scan *s, const struct manifest *m)
{
  s->bound = scan_bound(s, m);
  if (s->bound != SIZE_MAX && seenset_new(&s->deferred, m) < 0)
    return; /* no room to say what is left: the walk records all */
  if (seenset_new(&s->seen, m) == 0)
    atomic_store_explicit(&s->live, m, memory_order_release);
}

/* Whether a file that needs hashing is past the bound, and left for a
 * later scan. */
static bool scan_defers(struct scan *s)
{
  if (atomic_fetch_add_explicit(&s->n_taken, 1, memory_order_relaxed) <
      s->bound)
    return false;
  atomic_fetch_add_explicit(&s->n_deferred, 1, memory_order_relaxed);
  return true;
}

/* The walk compares as it goes (issue 13): a file the manifest has
 * with the same stat is left out of the walk's tree and marked seen, so
 * that the walk of a tree that did not change records nothing; any other
 * file the manifest knows holds the manifest's path.  Past the bound, a
 * file that needs hashing is left out too, and one the manifest has is
 * marked seen: not deleted, nor changed until a later scan.  On the
 * walk's threads; the manifest stays as it is until the scan's
 * callback. */
static enum tree_known scan_known(void *ctx, const char *relpath,
                                  const struct stat *st, char **path)
{
  struct scan *s = ctx;
  const struct manifest *m;
  const struct tree_entry *e;

  m = atomic_load_explicit(&s->live, memory_order_acquire);
  if (m == NULL)
    return TREE_KNOWN_NONE;
  e = manifest_find(m, relpath);
  if (e != NULL && diff_unchanged_stat(st, e)) {
    seenset_mark(s->seen, e);
    return TREE_KNOWN_SAME;
  }
  /* A racy file the manifest has as it is was taken in by a scan just
   * before, not changed since: it does not count against the bound, or
   * a scan that follows a bounded one at once could take in only those
   * and get no further. */
  if ((e == NULL || !diff_racy_same(st, e)) && scan_defers(s)) {
    if (e != NULL) {
      seenset_mark(s->seen, e);
      seenset_mark(s->deferred, e);
    }
    return TREE_KNOWN_SAME;
  }
  if (e == NULL)
    return TREE_KNOWN_NONE;
  *path = pathref_hold(e->path);
  return TREE_KNOWN_PATH;
}

static bool scan_under(const char *prefix, const char *path)
{
  size_t n = strlen(prefix);

  return strncmp(prefix, path, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* Whether the walk could not see path because its directory was
 * unreadable. */
static bool scan_in_unreadable(const struct scan *s, const char *path)
{
  size_t k;

  for (k = 0; k < s->unreadable.n; k++)
    if (scan_under(s->unreadable.v[k], path))
      return true;
  return false;
}

/* A file the walk did not see is not always deleted: drop those DELETED
 * changes, so the manifest keeps it.  Its directory was unreadable, or
 * an exclude (added since it was recorded) left it out: excluded means
 * untouched, as on a first run's bucket (ground.h), so the file that is
 * still on disk keeps its object and its cached copies, and lifting the
 * exclude again costs nothing for the same bytes. */
static void scan_keep_unseen(struct scan *s)
{
  struct scan_result *r = &s->result;
  const char *path;
  size_t i;
  size_t j;

  for (i = 0, j = 0; i < r->n_changes; i++) {
    path = r->changes[i].entry.path;
    if (change_kind(&r->changes[i]) == CHANGE_DELETED &&
        (scan_skip(s, path, false) || scan_in_unreadable(s, path))) {
      tree_entry_free(&r->changes[i].entry);
      continue;
    }
    r->changes[j++] = r->changes[i];
  }
  r->n_changes = j;
}

/* Decides what needs hashing, off the loop. */
static void scan_begin_diff(struct scan *s)
{
  struct scan_result *r = &s->result;
  const struct manifest *m = s->opts.manifest;
  /* The bound again over all the walk took in: files walked before a
   * late manifest came were not counted as they went. */
  struct diff_walked w = {s->seen, scan_bound(s, m), NULL};

  /* The diff takes the tree over: its array becomes the changes (no
   * copy), and the unchanged entries are freed off the loop thread.  A
   * partial walk compares with a view of the manifest, not a copy. */
  if (w.bound != SIZE_MAX && s->deferred == NULL)
    (void)seenset_new(&s->deferred, m); /* else the planner is not told */
  w.deferred = s->deferred;
  if (s->opts.paths != NULL) {
    r->status = partwalk_entries(&s->sub, &s->n_sub, m, s->opts.paths, &r->err);
    if (r->status == 0)
      r->status = diff_begin_take_view(&s->diff, &s->tree, s->sub, s->n_sub, &w,
                                       &r->err);
  } else {
    r->status = diff_begin_take(&s->diff, &s->tree, m, &w, &r->err);
  }
  if (r->status == 0)
    r->n_deferred += diff_deferred_count(s->diff);
  if (r->n_deferred > 0) {
    r->deferred = s->deferred; /* taken */
    s->deferred = NULL;
  }
  tree_free(&s->tree); /* empty, unless partwalk_entries failed */
  seenset_destroy(s->seen);
  s->seen = NULL;
}

/* A whole tree's walk is mostly the kernel's stat: it scales with the
 * cores until the disk or the dentry cache is the limit.  Four is past
 * the point where a warm tree of static files stops gaining. */
#define SCAN_WALK_THREADS_MAX 4

static size_t scan_walk_threads(void)
{
  unsigned n = uv_available_parallelism();

  return n < SCAN_WALK_THREADS_MAX ? n : SCAN_WALK_THREADS_MAX;
}

static void scan_on_walk(uv_work_t *req)
{
  struct scan *s = container_of(req, struct scan, walk);
  struct tree_walk_opts to = {
      .skip = scan_skip, .warn = scan_warn, .known = scan_known, .ctx = s};
  struct scan_result *r = &s->result;

  if (!s->late)
    scan_compare_with(s, s->opts.manifest);
  if (s->opts.paths == NULL) {
    to.visit = s->opts.visit;
    to.threads = scan_walk_threads();
    r->status = tree_walk(&s->tree, s->opts.root, &to, &r->err);
  } else {
    r->status =
        partwalk_tree(&s->tree, s->opts.root, s->opts.paths, &to, &r->err);
  }
  if (r->status < 0)
    return;
  r->n_files = s->tree.n + s->tree.n_same;
  r->n_deferred = atomic_load_explicit(&s->n_deferred, memory_order_relaxed);
  r->n_same = s->tree.n_same - r->n_deferred;
  r->n_dirs = s->tree.n_dirs;
  if (!s->late)
    scan_begin_diff(s);
}

static void scan_on_diff(uv_work_t *req)
{
  scan_begin_diff(container_of(req, struct scan, diffing));
}

static void scan_on_hash(uv_work_t *req)
{
  struct scan_chunk *c = container_of(req, struct scan_chunk, work);

  /* Per-file failures are recorded in the diff and reported by finish. */
  (void)diff_hash_range(c->scan->diff, c->scan->opts.root, c->from, c->to);
}

/* Files that could not be read stay pending; say which. */
static void scan_report_failed(const struct scan *s)
{
  size_t i;
  int code;
  const char *path;

  for (i = 0; i < diff_failed_count(s->diff); i++) {
    path = diff_failed_at(s->diff, i, &code);
    log_msg(s->opts.log, LOG_WARN, "%s/%s: %s; left pending", s->opts.root,
            path, strerror(-code));
  }
}

/* Collects the changes: O(changes) moves and frees, so on the
 * threadpool too. */
static void scan_on_finish(uv_work_t *req)
{
  struct scan *s = container_of(req, struct scan, finish);
  struct scan_result *r = &s->result;

  if (r->status == 0)
    r->status = diff_finish(s->diff, &r->changes, &r->n_changes, &r->err);
  if (r->status == 0) {
    r->n_failed = diff_failed_count(s->diff);
    scan_report_failed(s);
  }
  if (r->status == 0 && (s->unreadable.n > 0 || s->opts.urlmap != NULL))
    scan_keep_unseen(s);
}

static void scan_on_finished(uv_work_t *req, int status)
{
  struct scan *s = container_of(req, struct scan, finish);
  struct scan_result *r = &s->result;

  if (status < 0 && r->status == 0)
    r->status = cfw_err_set(&r->err, status, "scan: %s", uv_strerror(status));
  r->elapsed_ms = (uv_hrtime() - s->start_ns) / 1000000;
  s->cb(s, r, s->arg);
}

static void scan_done(struct scan *s)
{
  if (uv_queue_work(s->loop, &s->finish, scan_on_finish, scan_on_finished) < 0)
    scan_on_finished(&s->finish, -EIO); /* only with a bad loop */
}

static void scan_on_hash_done(uv_work_t *req, int status)
{
  struct scan_chunk *c = container_of(req, struct scan_chunk, work);
  struct scan *s = c->scan;

  if (status < 0 && s->result.status == 0)
    s->result.status =
        cfw_err_set(&s->result.err, status, "hashing: %s", uv_strerror(status));
  if (--s->chunks_left == 0)
    scan_done(s);
}

static size_t scan_chunk_count(size_t n)
{
  uint64_t threads = 4; /* libuv's default pool size */
  const char *env = getenv("UV_THREADPOOL_SIZE");
  size_t k;

  if (env != NULL && parse_u64(env, 1, 1024, &threads) < 0)
    threads = 4;
  k = (size_t)threads * SCAN_CHUNKS_PER_THREAD;

  if (n / SCAN_MIN_CHUNK < k)
    k = n / SCAN_MIN_CHUNK;
  return k == 0 ? 1 : k;
}

static int scan_queue_hashing(struct scan *s)
{
  size_t n = diff_hash_count(s->diff);
  size_t k = scan_chunk_count(n);
  size_t i;
  int rc;

  s->result.n_hashed = n;
  s->chunks = calloc(k, sizeof(*s->chunks));
  if (s->chunks == NULL)
    return -ENOMEM;
  s->n_chunks = k;
  for (i = 0; i < k; i++) {
    s->chunks[i].scan = s;
    s->chunks[i].from = n * i / k;
    s->chunks[i].to = n * (i + 1) / k;
    rc = uv_queue_work(s->loop, &s->chunks[i].work, scan_on_hash,
                       scan_on_hash_done);
    if (rc < 0)
      return rc; /* only with a bad loop, so earlier chunks cannot run */
    s->chunks_left++;
  }
  return 0;
}

/* After diff_begin: the hashing, in chunks. */
static void scan_hash(struct scan *s)
{
  struct scan_result *r = &s->result;
  int rc;

  if (r->status < 0) {
    scan_done(s);
    return;
  }
  rc = scan_queue_hashing(s);
  if (rc < 0)
    r->status = cfw_err_set(&r->err, rc, "hashing: %s", uv_strerror(rc));
  /* Chunks already queued finish first; the last one calls scan_done. */
  if (rc < 0 && s->chunks_left == 0)
    scan_done(s);
}

static void scan_on_diff_done(uv_work_t *req, int status)
{
  struct scan *s = container_of(req, struct scan, diffing);
  struct scan_result *r = &s->result;

  if (status < 0 && r->status == 0)
    r->status = cfw_err_set(&r->err, status, "diff: %s", uv_strerror(status));
  scan_hash(s);
}

/* A late scan goes on once both its walk and its manifest are in. */
static void scan_proceed(struct scan *s)
{
  struct scan_result *r = &s->result;
  int rc;

  if (!s->walked || !s->manifest_in)
    return;
  if (r->status == 0 && s->cancelled)
    r->status = cfw_err_set(&r->err, -ECANCELED, "scan: no diff wanted");
  if (r->status < 0) {
    tree_free(&s->tree);
    scan_done(s);
    return;
  }
  rc = uv_queue_work(s->loop, &s->diffing, scan_on_diff, scan_on_diff_done);
  if (rc < 0) {
    r->status = cfw_err_set(&r->err, rc, "diff: %s", uv_strerror(rc));
    scan_done(s);
  }
}

static void scan_on_walk_done(uv_work_t *req, int status)
{
  struct scan *s = container_of(req, struct scan, walk);
  struct scan_result *r = &s->result;
  const struct tree_visit *v = s->opts.visit;

  if (status < 0 && r->status == 0)
    r->status = cfw_err_set(&r->err, status, "walk: %s", uv_strerror(status));
  if (v != NULL && v->done != NULL)
    v->done(v->ctx, r->status);
  if (s->late) {
    s->walked = true;
    scan_proceed(s);
    return;
  }
  scan_hash(s);
}

void scan_diff(struct scan *s, const struct manifest *m)
{
  if (m != NULL && !s->walked)
    scan_compare_with(s, m);
  s->opts.manifest = m;
  s->cancelled = m == NULL;
  s->manifest_in = true;
  scan_proceed(s);
}

int scan_start(struct scan **out, uv_loop_t *loop, const struct scan_opts *o,
               scan_cb cb, void *arg, struct cfw_err *err)
{
  struct scan *s;
  int rc;

  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  s->loop = loop;
  s->opts = *o;
  s->cb = cb;
  s->arg = arg;
  s->start_ns = uv_hrtime();
  s->late = o->manifest == NULL;
  rc = uv_queue_work(loop, &s->walk, scan_on_walk, scan_on_walk_done);
  if (rc < 0) {
    free(s);
    return cfw_err_set(err, rc, "scan: %s", uv_strerror(rc));
  }
  *out = s;
  return 0;
}

void scan_destroy(struct scan *s)
{
  if (s == NULL)
    return;
  changes_free(s->result.changes, s->result.n_changes);
  diff_destroy(s->diff);
  seenset_destroy(s->seen);
  seenset_destroy(s->deferred);
  seenset_destroy(s->result.deferred);
  free((void *)s->sub);
  strlist_free(&s->unreadable);
  tree_free(&s->tree);
  free(s->chunks);
  free(s);
}
