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
#include "util.h"

/* Relative paths are built in one buffer; deeper than this, a path could
 * not be opened from the root anyway. */
#define TREE_PATH_MAX ((size_t)64 * 1024)

#define TREE_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC)

/* A directory on the current descent, for loop detection. */
struct dir_id {
  uint64_t dev;
  uint64_t ino;
};

struct walk {
  struct tree *t;                 /* borrowed */
  const struct tree_scan_opts *o; /* borrowed */
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
};

static int walk_dir(struct walk *w, int fd);
static int walk_link(struct walk *w, int dfd, const char *name);
static int walk_stat(struct walk *w, int dfd, const char *name, bool again);

void tree_init(struct tree *t)
{
  t->v = NULL;
  t->n = 0;
  t->cap = 0;
  t->scanned_at_ns = 0;
  t->n_dirs = 0;
}

void tree_entry_free(struct tree_entry *e)
{
  if (e == NULL)
    return;
  free(e->path);
  e->path = NULL;
}

void tree_free(struct tree *t)
{
  size_t i;

  if (t == NULL)
    return;
  for (i = 0; i < t->n; i++)
    tree_entry_free(&t->v[i]);
  free(t->v);
  tree_init(t);
}

int tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src)
{
  char *p;

  p = strdup(src->path);
  if (p == NULL)
    return -ENOMEM;
  *dst = *src;
  dst->path = p;
  return 0;
}

int tree_entry_cmp(const void *a, const void *b)
{
  const struct tree_entry *x = a;
  const struct tree_entry *y = b;

  return strcmp(x->path, y->path);
}

static int64_t ts_ns(const struct timespec *ts)
{
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int tree_append(struct tree *t, struct tree_entry *e)
{
  struct tree_entry *v;

  v = array_grow(t->v, t->n, &t->cap, sizeof(*t->v));
  if (v == NULL) {
    tree_entry_free(e);
    return -ENOMEM;
  }
  t->v = v;
  t->v[t->n++] = *e;
  return 0;
}

void tree_entry_set_stat(struct tree_entry *e, const struct stat *st)
{
  e->size = (uint64_t)st->st_size;
  e->mtime_ns = ts_ns(&st->st_mtim);
  e->ctime_ns = ts_ns(&st->st_ctim);
  e->ino = (uint64_t)st->st_ino;
  e->dev = (uint64_t)st->st_dev;
}

bool tree_entry_same_stat(const struct tree_entry *a,
                          const struct tree_entry *b)
{
  return a->size == b->size && a->mtime_ns == b->mtime_ns &&
         a->ctime_ns == b->ctime_ns && a->ino == b->ino;
}

int tree_add(struct tree *t, const char *path, const struct stat *st)
{
  struct tree_entry e;

  memset(&e, 0, sizeof(e));
  e.path = strdup(path);
  if (e.path == NULL)
    return -ENOMEM;
  tree_entry_set_stat(&e, st);
  return tree_append(t, &e);
}

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
  if (w->o != NULL && w->o->warn != NULL)
    w->o->warn(w->o->ctx, buf_str(&w->path), code);
  return 0;
}

static bool walk_skip(const struct walk *w, bool is_dir)
{
  return w->o != NULL && w->o->skip != NULL &&
         w->o->skip(w->o->ctx, buf_str(&w->path), is_dir);
}

static int stack_push(struct walk *w, const struct stat *st)
{
  struct dir_id *s;
  size_t cap;
  size_t i;

  for (i = 0; i < w->depth; i++)
    if (w->stack[i].dev == (uint64_t)st->st_dev &&
        w->stack[i].ino == (uint64_t)st->st_ino)
      return -ELOOP;
  if (w->depth == w->stack_cap) {
    cap = w->stack_cap ? w->stack_cap * 2 : 32;
    s = realloc(w->stack, cap * sizeof(*s));
    if (s == NULL)
      return -ENOMEM;
    w->stack = s;
    w->stack_cap = cap;
  }
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

  if (v != NULL && v->dir != NULL)
    v->dir(v->ctx, buf_str(&w->path), fd, st);
  w->t->n_dirs++;
  return walk_dir(w, fd);
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
  rc = walk_read(w, fd, &st);
  w->depth--;
  return rc;
}

/* Records a regular file or descends into a directory; name in dfd is
 * what st describes.  Anything else (FIFO, socket, device) is left out
 * without being opened. */
static int walk_found(struct walk *w, int dfd, const char *name,
                      const struct stat *st, bool again)
{
  if (S_ISDIR(st->st_mode))
    return walk_subdir(w, dfd, name, again);
  if (!S_ISREG(st->st_mode) || walk_skip(w, false))
    return 0;
  return tree_add(w->t, buf_str(&w->path), st);
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

  if (v != NULL && v->link != NULL)
    v->link(v->ctx, buf_str(&w->path));
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
                        const struct tree_scan_opts *o, struct cfw_err *err)
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
  free(w->base);
  free(w->real_root);
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

int tree_scan(struct tree *t, const char *root, const struct tree_scan_opts *o,
              struct cfw_err *err)
{
  struct walk w = {.t = t, .o = o};
  struct timespec now;
  struct stat st = {0};
  int fd;
  int rc;

  tree_init(t);
  if (clock_gettime(CLOCK_REALTIME, &now) < 0)
    return cfw_err_set(err, -errno, "clock_gettime: %s", strerror(errno));
  t->scanned_at_ns = ts_ns(&now);
  buf_init(&w.path, TREE_PATH_MAX);
  buf_init(&w.link, TREE_PATH_MAX + PATH_MAX);
  rc = walk_contain(&w, root, o, err);
  if (rc == 0) {
    /* The resolved root is the very directory links are judged against,
     * even if the root's own symlink is swapped meanwhile. */
    fd = open_root(w.real_root != NULL ? w.real_root : root, &st);
    if (fd < 0)
      rc = root_error(err, root, fd);
    else
      rc = walk_root(&w, fd, &st);
    if (rc < 0 && fd >= 0)
      rc = cfw_err_set(err, rc, "scanning %s: %s", root, strerror(-rc));
  }
  walk_free(&w);
  if (rc < 0) {
    tree_free(t);
    return rc;
  }
  if (t->n > 1)
    qsort(t->v, t->n, sizeof(*t->v), tree_entry_cmp);
  return 0;
}
