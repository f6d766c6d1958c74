/* SPDX-License-Identifier: MIT */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "tree_pool.h"
#include "util.h"

/* Relative paths are built in one buffer; deeper than this, a path could
 * not be opened from the root anyway. */
#define TREE_PATH_MAX ((size_t)64 * 1024)

#define TREE_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC)

struct walk {
  struct tree *t;                 /* borrowed */
  const struct tree_walk_opts *o; /* borrowed */
  struct buf path;                /* relative path of the current item */
  struct dir_id *stack;           /* owned; directories being walked */
  size_t depth;
  size_t stack_cap;
  /* Unless symlinks may lead out (follow_outside), each one is resolved
   * as real_root/path and must land under base; both are realpath(3)
   * results, so the root may itself be reached through a symlink. */
  char *base;      /* owned; NULL when links are followed anywhere */
  char *real_root; /* owned; NULL when links are followed anywhere */
  struct buf link; /* scratch: real_root/path */
  int dir_flags;   /* open flags for directories */
  /* With several threads: the pool, and whether base and real_root are
   * borrowed from the first thread's walk. */
  struct tree_pool *pool;
  bool borrowed;
};

static int walk_dir(struct walk *w, int fd);
static int walk_link(struct walk *w, int dfd, const char *name);
static int walk_stat(struct walk *w, int dfd, const char *name, bool again);

/* Appends "/name" (or "name" at the root) to the current path and stores
 * the old length in *old.  -ENAMETOOLONG or -ENOMEM. */
static int path_enter(struct walk *w, const char *name, size_t *old)
{
  int rc = 0;

  *old = w->path.len;
  if (w->path.len > 0)
    rc = buf_addc(&w->path, '/');
  if (rc == 0)
    rc = buf_adds(&w->path, name);
  if (rc == -E2BIG)
    rc = -ENAMETOOLONG;
  if (rc < 0 && w->path.data != NULL) {
    w->path.len = *old;
    w->path.data[*old] = '\0';
  }
  return rc;
}

static void path_leave(struct walk *w, size_t old)
{
  w->path.len = old;
  if (w->path.data != NULL)
    w->path.data[old] = '\0';
}

/* Reports code for the current path; only -ENOMEM stops the walk. */
static int walk_warn(struct walk *w, int code)
{
  if (code == -ENOMEM)
    return code;
  if (w->o == NULL || w->o->warn == NULL)
    return 0;
  if (w->pool != NULL)
    tree_pool_lock(w->pool);
  w->o->warn(w->o->ctx, buf_str(&w->path), code);
  if (w->pool != NULL)
    tree_pool_unlock(w->pool);
  return 0;
}

static bool walk_skip(const struct walk *w, bool is_dir)
{
  return w->o != NULL && w->o->skip != NULL &&
         w->o->skip(w->o->ctx, buf_str(&w->path), is_dir);
}

/* The visitor's calls go one at a time when several threads walk, so
 * it need not lock (tree.h); a directory is told before anything under
 * it, since only its listing hands its subdirectories out. */
static void visit_begin(const struct walk *w)
{
  if (w->pool != NULL)
    tree_pool_lock(w->pool);
}

static void visit_end(const struct walk *w)
{
  if (w->pool != NULL)
    tree_pool_unlock(w->pool);
}

static int stack_push(struct walk *w, const struct stat *st)
{
  struct dir_id *s;
  size_t i;

  for (i = 0; i < w->depth; i++)
    if (w->stack[i].dev == (uint64_t)st->st_dev &&
        w->stack[i].ino == (uint64_t)st->st_ino)
      return -ELOOP;
  s = array_grow(w->stack, w->depth, &w->stack_cap, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  w->stack = s;
  w->stack[w->depth].dev = (uint64_t)st->st_dev;
  w->stack[w->depth].ino = (uint64_t)st->st_ino;
  w->depth++;
  return 0;
}

/* Walks the open directory fd (taken over) at the current path, after
 * telling the visitor, which must see it before any entry is read. */
static int walk_read(struct walk *w, int fd, const struct stat *st)
{
  const struct tree_visit *v = w->o != NULL ? w->o->visit : NULL;

  if (v != NULL && v->dir != NULL) {
    visit_begin(w);
    v->dir(v->ctx, buf_str(&w->path), fd, st);
    visit_end(w);
  }
  w->t->n_dirs++;
  return walk_dir(w, fd);
}

/* Gives the open directory fd (taken over), which the current path names
 * and the stack ends with, to a thread waiting for work. */
static int walk_hand_over(struct walk *w, int fd, const struct stat *st)
{
  struct tree_job j = {.fd = fd, .st = *st, .depth = w->depth};

  j.path = strdup(buf_str(&w->path));
  j.stack = malloc(w->depth * sizeof(*j.stack));
  if (j.path == NULL || j.stack == NULL) {
    free(j.path);
    free(j.stack);
    (void)close(fd);
    return -ENOMEM;
  }
  memcpy(j.stack, w->stack, w->depth * sizeof(*j.stack));
  return tree_pool_put(w->pool, &j);
}

/* Walks the directory name in dfd (the current path already names it),
 * unless it is excluded or already on the stack.  When links must stay
 * inside, directories are opened with O_NOFOLLOW, so one swapped for a
 * symlink since it was seen fails (ELOOP, or ENOTDIR with O_DIRECTORY)
 * instead of being followed out; with again, such an entry is looked at
 * once more and judged for what it has become. */
static int walk_subdir(struct walk *w, int dfd, const char *name, bool again)
{
  struct stat st;
  int fd;
  int rc;

  if (walk_skip(w, true))
    return 0;
  fd = openat(dfd, name, w->dir_flags);
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && again)
    return walk_stat(w, dfd, name, false);
  if (fd < 0)
    return walk_warn(w, -errno);
  if (fstat(fd, &st) < 0) {
    rc = -errno;
    close(fd);
    return walk_warn(w, rc);
  }
  rc = stack_push(w, &st);
  if (rc < 0) {
    close(fd);
    return walk_warn(w, rc);
  }
  if (w->pool != NULL && tree_pool_hungry(w->pool))
    rc = walk_hand_over(w, fd, &st);
  else
    rc = walk_read(w, fd, &st);
  w->depth--;
  return rc;
}

/* The visitor that takes files instead of the tree, or NULL. */
static const struct tree_visit *walk_file_visitor(const struct walk *w)
{
  const struct tree_visit *v = w->o != NULL ? w->o->visit : NULL;

  return v != NULL && v->file != NULL ? v : NULL;
}

int tree_add_known(struct tree *t, const char *path, const struct stat *st,
                   const struct tree_walk_opts *o)
{
  char *held = NULL;

  if (o == NULL || o->known == NULL)
    return tree_add(t, path, st);
  switch (o->known(o->ctx, path, st, &held)) {
  case TREE_KNOWN_SAME:
    t->n_same++;
    return 0;
  case TREE_KNOWN_PATH:
    return tree_add_held(t, held, st);
  default:
    return tree_add(t, path, st);
  }
}

/* Records a regular file or descends into a directory; name in dfd is
 * what st describes.  Anything else (FIFO, socket, device) is left out
 * without being opened. */
static int walk_found(struct walk *w, int dfd, const char *name,
                      const struct stat *st, bool again)
{
  const struct tree_walk_opts *o = w->o;
  const struct tree_visit *v = walk_file_visitor(w);

  if (S_ISDIR(st->st_mode))
    return walk_subdir(w, dfd, name, again);
  if (!S_ISREG(st->st_mode) || walk_skip(w, false))
    return 0;
  if (v != NULL) {
    visit_begin(w);
    v->file(v->ctx, buf_str(&w->path));
    visit_end(w);
    return 0;
  }
  return tree_add_known(w->t, buf_str(&w->path), st, o);
}

bool tree_path_within(const char *base, const char *path)
{
  size_t n = strlen(base);

  if (n == 1 && base[0] == '/')
    return path[0] == '/';
  return strncmp(base, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int tree_resolve_within(const char *base, const char *path, char **out)
{
  char *res;
  int e;

  *out = NULL;
  res = realpath(path, NULL);
  if (res == NULL) {
    e = errno;
    return e > 0 ? -e : -EIO;
  }
  if (!tree_path_within(base, res)) {
    free(res);
    return -EXDEV;
  }
  *out = res;
  return 0;
}

/* Follows the symlink name in dfd (the current path names it) if its
 * target stays inside, from the resolved path, so that what was checked
 * is what gets stat'ed or opened; else warns -EXDEV. */
static int walk_link(struct walk *w, int dfd, const char *name)
{
  const struct tree_visit *v = w->o != NULL ? w->o->visit : NULL;
  struct stat st;
  char *res = NULL;
  int rc;

  if (v != NULL && v->link != NULL) {
    visit_begin(w);
    v->link(v->ctx, buf_str(&w->path));
    visit_end(w);
  }
  if (w->base == NULL) {
    if (fstatat(dfd, name, &st, 0) < 0)
      return walk_warn(w, -errno);
    return walk_found(w, dfd, name, &st, false);
  }
  buf_reset(&w->link);
  rc = buf_addf(&w->link, "%s/%s", w->real_root, buf_str(&w->path));
  if (rc < 0)
    return walk_warn(w, rc == -E2BIG ? -ENAMETOOLONG : rc);
  rc = tree_resolve_within(w->base, buf_str(&w->link), &res);
  if (rc < 0 || res == NULL)
    return walk_warn(w, rc < 0 ? rc : -ENOMEM);
  /* realpath left no symlink in res.  If its last part is one now, the
   * tree is changing under the walk: leave it out as vanished, and a
   * later scan sees how it ends. */
  if (fstatat(AT_FDCWD, res, &st, AT_SYMLINK_NOFOLLOW) < 0)
    rc = walk_warn(w, -errno);
  else if (S_ISLNK(st.st_mode))
    rc = walk_warn(w, -ENOENT);
  else
    rc = walk_found(w, AT_FDCWD, res, &st, false);
  free(res);
  return rc;
}

/* Stats name without following it, then records, descends or judges
 * the link; again as for walk_subdir. */
static int walk_stat(struct walk *w, int dfd, const char *name, bool again)
{
  struct stat st;

  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return walk_warn(w, -errno);
  if (S_ISLNK(st.st_mode))
    return walk_link(w, dfd, name);
  return walk_found(w, dfd, name, &st, again);
}

/* A regular file its directory entry names, for a visitor that takes
 * files: nothing to stat. */
static int walk_tell_file(struct walk *w)
{
  const struct tree_visit *v = walk_file_visitor(w);

  if (!walk_skip(w, false)) {
    visit_begin(w);
    v->file(v->ctx, buf_str(&w->path));
    visit_end(w);
  }
  return 0;
}

static int walk_entry(struct walk *w, int dfd, const struct dirent *de)
{
  const char *name = de->d_name;
  size_t old;
  int rc;

  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return 0;
  /* FIFOs, sockets and devices are never stat'ed, let alone opened. */
  if (de->d_type != DT_DIR && de->d_type != DT_REG && de->d_type != DT_LNK &&
      de->d_type != DT_UNKNOWN)
    return 0;
  rc = path_enter(w, name, &old);
  if (rc < 0)
    return walk_warn(w, rc);
  if (de->d_type == DT_DIR)
    rc = walk_subdir(w, dfd, name, true);
  else if (de->d_type == DT_REG && walk_file_visitor(w) != NULL)
    rc = walk_tell_file(w);
  else if (de->d_type == DT_LNK)
    rc = walk_link(w, dfd, name);
  else
    rc = walk_stat(w, dfd, name, true);
  path_leave(w, old);
  return rc;
}

/* Walks the open directory fd, which it takes over and closes. */
static int walk_dir(struct walk *w, int fd)
{
  const struct dirent *de;
  DIR *d;
  int rc = 0;

  d = fdopendir(fd);
  if (d == NULL) {
    rc = -errno;
    close(fd);
    return walk_warn(w, rc);
  }
  for (;;) {
    errno = 0;
    de = readdir(d);
    if (de == NULL) {
      if (errno != 0)
        rc = walk_warn(w, -errno);
      break;
    }
    rc = walk_entry(w, dirfd(d), de);
    if (rc < 0)
      break;
  }
  /* A read-only directory stream has nothing to flush; close cannot lose
   * data here. */
  (void)closedir(d);
  return rc;
}

/* errno as a negative code, never 0 (which a caller would take as an
 * fd or as success). */
static int neg_errno(void)
{
  int e = errno;

  return e > 0 ? -e : -EIO;
}

static int root_error(struct cfw_err *err, const char *root, int rc)
{
  if (rc == -ENOENT)
    return cfw_err_set(err, rc, "root %s does not exist", root);
  return cfw_err_set(err, rc, "root %s: %s", root, strerror(-rc));
}

/* Opens root and stats it; returns the fd or a negative errno. */
static int open_root(const char *root, struct stat *st)
{
  int fd;
  int rc;

  fd = open(root, TREE_DIR_FLAGS);
  if (fd < 0)
    return neg_errno();
  if (fstat(fd, st) < 0) {
    rc = neg_errno();
    close(fd);
    return rc;
  }
  return fd;
}

/* Resolves the root and the directory links must stay in (the root
 * unless o->contain says otherwise), unless links may lead anywhere. */
static int walk_contain(struct walk *w, const char *root,
                        const struct tree_walk_opts *o, struct cfw_err *err)
{
  const char *contain = o != NULL ? o->contain : NULL;
  int rc;

  if (o != NULL && o->follow_outside) {
    w->dir_flags = TREE_DIR_FLAGS;
    return 0;
  }
  w->dir_flags = TREE_DIR_FLAGS | O_NOFOLLOW;
  w->real_root = realpath(root, NULL);
  if (w->real_root == NULL)
    return root_error(err, root, neg_errno());
  if (contain == NULL) {
    w->base = strdup(w->real_root);
    return w->base != NULL ? 0 : cfw_err_set(err, -ENOMEM, "out of memory");
  }
  w->base = realpath(contain, NULL);
  if (w->base == NULL) {
    rc = neg_errno();
    return cfw_err_set(err, rc, "%s: %s", contain, strerror(-rc));
  }
  if (!tree_path_within(w->base, w->real_root))
    return cfw_err_set(err, -EXDEV, "%s leads outside %s", root, contain);
  return 0;
}

static void walk_free(struct walk *w)
{
  buf_free(&w->path);
  buf_free(&w->link);
  free(w->stack);
  if (!w->borrowed) {
    free(w->base);
    free(w->real_root);
  }
}

/* A directory handed over, walked by one thread (tree_pool_fn). */
static int walk_job(void *worker, struct tree_job *j)
{
  struct walk *w = worker;
  struct dir_id *s;

  buf_reset(&w->path);
  if (j->depth > w->stack_cap) {
    s = realloc(w->stack, j->depth * sizeof(*s));
    if (s == NULL) {
      (void)close(j->fd);
      return -ENOMEM;
    }
    w->stack = s;
    w->stack_cap = j->depth;
  }
  if (buf_adds(&w->path, j->path) < 0) { /* it fit in the same size */
    (void)close(j->fd);
    return -ENOMEM;
  }
  memcpy(w->stack, j->stack, j->depth * sizeof(*w->stack));
  w->depth = j->depth;
  return walk_read(w, j->fd, &j->st);
}

/* Several threads walking one tree: each has its own walk (the caller's
 * first) and its own entries, merged at the end. */
struct walk_par {
  struct tree_pool *pool; /* owned */
  struct walk *w;         /* owned: threads 1..n-1, at w[1..] */
  struct tree *trees;     /* owned: theirs, likewise */
  void **ctx;             /* owned: every thread's walk */
  size_t n;
};

static void par_free(struct walk_par *p)
{
  size_t i;

  for (i = 1; i < p->n; i++) {
    walk_free(&p->w[i]);
    tree_free(&p->trees[i]);
  }
  tree_pool_free(p->pool);
  free(p->w);
  free(p->trees);
  free(p->ctx);
  memset(p, 0, sizeof(*p));
}

/* Sets up o->threads walks sharing w's settings, unless one will do. */
static int par_begin(struct walk_par *p, struct walk *w)
{
  size_t i;

  memset(p, 0, sizeof(*p));
  if (w->o == NULL || w->o->threads < 2)
    return 0;
  p->n = w->o->threads;
  p->w = calloc(p->n, sizeof(*p->w));
  p->trees = calloc(p->n, sizeof(*p->trees));
  p->ctx = calloc(p->n, sizeof(*p->ctx));
  if (p->w == NULL || p->trees == NULL || p->ctx == NULL ||
      tree_pool_new(&p->pool, p->n, walk_job, p->ctx) < 0) {
    p->n = 0;
    par_free(p);
    return -ENOMEM;
  }
  p->ctx[0] = w;
  for (i = 1; i < p->n; i++) {
    p->w[i] = *w;
    p->w[i].t = &p->trees[i];
    p->w[i].borrowed = true;
    p->w[i].stack = NULL;
    p->w[i].stack_cap = 0;
    p->w[i].depth = 0;
    buf_init(&p->w[i].path, TREE_PATH_MAX);
    buf_init(&p->w[i].link, TREE_PATH_MAX + PATH_MAX);
    p->w[i].pool = p->pool;
    p->ctx[i] = &p->w[i];
  }
  w->pool = p->pool;
  return 0;
}

/* The thread whose tree holds the most entries (0 is the caller's, t). */
static size_t par_largest(const struct walk_par *p, const struct tree *t)
{
  size_t best = 0;
  size_t most = t->n;
  size_t i;

  for (i = 1; i < p->n; i++) {
    if (p->trees[i].n > most) {
      most = p->trees[i].n;
      best = i;
    }
  }
  return best;
}

/* Moves every other thread's entries into t, grown from the largest
 * thread's array: one thread's array at a time, so that beyond the
 * entries themselves it holds at most the room for the next one. */
static int par_merge(struct walk_par *p, struct tree *t)
{
  struct tree swap;
  size_t big = par_largest(p, t);
  size_t i;
  int rc;

  if (big != 0) { /* t's array and the largest swap places */
    swap = *t;
    t->v = p->trees[big].v;
    t->n = p->trees[big].n;
    t->cap = p->trees[big].cap;
    p->trees[big].v = swap.v;
    p->trees[big].n = swap.n;
    p->trees[big].cap = swap.cap;
  }
  for (i = 1; i < p->n; i++) {
    rc = tree_move_all(t, &p->trees[i]);
    if (rc < 0)
      return rc;
    t->n_dirs += p->trees[i].n_dirs;
    t->n_same += p->trees[i].n_same;
  }
  return 0;
}

/* Waits for the other threads (after the caller's own walk ended with
 * rc) and moves their entries into t. */
static int par_end(struct walk_par *p, struct tree *t, int rc)
{
  if (p->pool == NULL)
    return rc;
  if (rc < 0)
    tree_pool_fail(p->pool, rc);
  rc = tree_pool_finish(p->pool); /* the caller walks in there too */
  if (rc == 0)
    rc = par_merge(p, t);
  par_free(p);
  return rc;
}

/* Gives back the room the array kept for growth (up to half of it),
 * before the sort's own buffer joins it (issue 13).  A shrink that
 * fails leaves the array as it was. */
static void tree_fit(struct tree *t)
{
  struct tree_entry *v;

  if (t->n == 0 || t->n == t->cap)
    return;
  v = realloc(t->v, t->n * sizeof(*v));
  if (v == NULL)
    return;
  t->v = v;
  t->cap = t->n;
}

/* Walks the opened root fd, which it takes over. */
static int walk_root(struct walk *w, int fd, const struct stat *st)
{
  int rc;

  rc = stack_push(w, st);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return walk_read(w, fd, st);
}

int tree_walk(struct tree *t, const char *root, const struct tree_walk_opts *o,
              struct cfw_err *err)
{
  struct walk w = {.t = t, .o = o};
  struct walk_par par;
  struct timespec now;
  struct stat st = {0};
  int fd;
  int rc;

  tree_init(t);
  if (clock_gettime(CLOCK_REALTIME, &now) < 0)
    return cfw_err_set(err, -errno, "clock_gettime: %s", strerror(errno));
  t->scanned_at_ns = tree_ts_ns(&now);
  buf_init(&w.path, TREE_PATH_MAX);
  buf_init(&w.link, TREE_PATH_MAX + PATH_MAX);
  rc = walk_contain(&w, root, o, err);
  if (rc == 0 && par_begin(&par, &w) < 0)
    rc = cfw_err_set(err, -ENOMEM, "out of memory");
  if (rc == 0) {
    /* The resolved root is the very directory links are judged against,
     * even if the root's own symlink is swapped meanwhile. */
    fd = open_root(w.real_root != NULL ? w.real_root : root, &st);
    if (fd < 0)
      rc = root_error(err, root, fd);
    else
      rc = par_end(&par, t, walk_root(&w, fd, &st));
    if (rc < 0 && fd >= 0)
      rc = cfw_err_set(err, rc, "scanning %s: %s", root, strerror(-rc));
    if (fd < 0)
      (void)par_end(&par, t, rc);
  }
  walk_free(&w);
  if (rc < 0) {
    tree_free(t);
    return rc;
  }
  tree_fit(t);
  if (t->n > 1)
    qsort(t->v, t->n, sizeof(*t->v), tree_entry_cmp);
  return 0;
}
