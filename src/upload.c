/* SPDX-License-Identifier: MIT */
#include "upload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "child.h"
#include "err.h"
#include "log.h"
#include "util.h"

/* The list of a 100k-file rebuild is a few MB; past this, a caller bug. */
#define UPLOAD_LIST_MAX ((size_t)1 << 30)
#define UPLOAD_ENV_MAX  8192 /* bytes of one "NAME=value" we add */
#define UPLOAD_WHAT     "upload_cmd"

struct upload {
  uv_work_t work;      /* writes the list off the loop thread */
  uv_loop_t *loop;     /* borrowed */
  struct child *child; /* borrowed from child: valid until its callback */
  char *cmd;           /* owned */
  char *root;          /* owned */
  char *state_dir;     /* owned */
  struct buf list;     /* the list file's bytes */
  size_t n_listed;
  uint64_t timeout_ms;
  struct log *log; /* borrowed */
  upload_cb cb;
  void *arg;
  bool cancelled;
  int write_rc; /* set by the work thread, read after it */
  struct cfw_err err;
};

static void upload_free(struct upload *u)
{
  free(u->cmd);
  free(u->root);
  free(u->state_dir);
  buf_free(&u->list);
  free(u);
}

static void upload_finish(struct upload *u, int status)
{
  u->cb(u, status, &u->err, u->arg);
  upload_free(u);
}

/* Joins the last UPLOAD_STDERR_LINES lines of tail with " | ". */
static void upload_join_lines(const char *tail, struct buf *out)
{
  const char *p = tail + strlen(tail);
  size_t lines = 0;

  while (p > tail) {
    if (p[-1] == '\n' && ++lines == UPLOAD_STDERR_LINES)
      break;
    p--;
  }
  for (; *p != '\0'; p++) {
    /* out is sized for the worst case, so no add can fail. */
    if (*p == '\n')
      (void)buf_adds(out, " | ");
    else
      (void)buf_addc(out, *p);
  }
}

/* Sets "upload_cmd <what>: <stderr lines>", cutting the oldest bytes of
 * the lines so that the newest fit in the message. */
static int upload_set_err(struct upload *u, int code, const char *what,
                          const char *tail)
{
  size_t room = sizeof(u->err.msg) - 1;
  size_t fixed = strlen(UPLOAD_WHAT) + strlen(what) + sizeof(": ...");
  struct buf lines;
  const char *s;
  size_t len;

  buf_init(&lines, UPLOAD_STDERR_TAIL + 3 * UPLOAD_STDERR_LINES + 1);
  upload_join_lines(tail, &lines);
  s = buf_str(&lines);
  len = strlen(s);
  if (len == 0)
    (void)cfw_err_set(&u->err, code, "%s %s", UPLOAD_WHAT, what);
  else if (fixed + len <= room || fixed >= room)
    (void)cfw_err_set(&u->err, code, "%s %s: %s", UPLOAD_WHAT, what, s);
  else
    (void)cfw_err_set(&u->err, code, "%s %s: ...%s", UPLOAD_WHAT, what,
                      s + len - (room - fixed));
  buf_free(&lines);
  return code;
}

/* The child's end as our status and message. */
static int upload_result(struct upload *u, const struct child_result *r)
{
  char what[64];

  if (r->status == -ETIMEDOUT && u->timeout_ms % 1000 == 0)
    (void)snprintf(what, sizeof(what), "timed out after %llu s",
                   (unsigned long long)(u->timeout_ms / 1000)); /* fits */
  else if (r->status == -ETIMEDOUT)
    (void)snprintf(what, sizeof(what), "timed out after %llu ms",
                   (unsigned long long)u->timeout_ms); /* fits */
  else if (r->status == -ECANCELED)
    (void)snprintf(what, sizeof(what), "cancelled"); /* fits */
  else if (r->status < 0)
    (void)snprintf(what, sizeof(what), "stderr: %s", uv_strerror(r->status));
  else if (r->term_signal != 0)
    (void)snprintf(what, sizeof(what), "killed by signal %d", r->term_signal);
  else if (r->exit_status != 0)
    (void)snprintf(what, sizeof(what), "exited %lld",
                   (long long)r->exit_status); /* fits */
  else
    return 0;
  return upload_set_err(u, r->status < 0 ? r->status : -EIO, what, r->tail);
}

static void upload_on_child_done(struct child *c, const struct child_result *r,
                                 void *arg)
{
  struct upload *u = arg;
  int status;

  (void)c; /* u->child, which child frees after we return */
  status = upload_result(u, r);
  if (status == 0 && r->tail[0] != '\0')
    log_msg(u->log, LOG_DEBUG, "%s exited 0; its stderr ended: %s", UPLOAD_WHAT,
            r->tail);
  upload_finish(u, status);
}

/* Adds "NAME=value" to env[*n], owned by the caller. */
static int upload_env_add(char **env, size_t *n, const char *name,
                          const char *value)
{
  struct buf b;

  buf_init(&b, UPLOAD_ENV_MAX);
  if (buf_addf(&b, "%s=%s", name, value) < 0) {
    buf_free(&b);
    return -ENAMETOOLONG;
  }
  env[*n] = buf_take(&b);
  if (env[*n] == NULL)
    return -ENOMEM;
  (*n)++;
  env[*n] = NULL;
  return 0;
}

static bool upload_env_ours(const char *kv)
{
  static const char *const names[] = {UPLOAD_ENV_LIST "=", UPLOAD_ENV_ROOT "="};
  size_t i;

  for (i = 0; i < ARRAY_SIZE(names); i++)
    if (strncmp(kv, names[i], strlen(names[i])) == 0)
      return true;
  return false;
}

/* Our environment, without any CFWATCH_* of ours, plus ours: the two
 * strings at env[*n_ours...] are owned, the others borrowed. */
static int upload_env(const struct upload *u, char ***out, size_t *first_ours)
{
  char path[4096];
  char **env;
  size_t n = 0;
  size_t i;
  int rc;

  for (i = 0; environ[i] != NULL; i++)
    n++;
  env = calloc(n + 3, sizeof(*env)); /* n < SIZE_MAX / 8: they exist */
  if (env == NULL)
    return -ENOMEM;
  n = 0;
  for (i = 0; environ[i] != NULL; i++)
    if (!upload_env_ours(environ[i]))
      env[n++] = environ[i];
  *first_ours = n;
  *out = env;
  rc = snprintf(path, sizeof(path), "%s/%s", u->state_dir, UPLOAD_LIST_NAME);
  if (rc < 0 || (size_t)rc >= sizeof(path))
    return -ENAMETOOLONG;
  rc = upload_env_add(env, &n, UPLOAD_ENV_LIST, path);
  if (rc == 0)
    rc = upload_env_add(env, &n, UPLOAD_ENV_ROOT, u->root);
  return rc;
}

static void upload_env_free(char **env, size_t first_ours)
{
  size_t i;

  if (env == NULL)
    return;
  for (i = first_ours; env[i] != NULL; i++)
    free(env[i]);
  free(env);
}

/* Runs the command now that the list is written. */
static int upload_spawn(struct upload *u)
{
  struct child_opts co;
  char **env = NULL;
  size_t first_ours = 0;
  int rc;

  rc = upload_env(u, &env, &first_ours);
  if (rc < 0) {
    upload_env_free(env, first_ours);
    return cfw_err_set(&u->err, rc, "%s: environment: %s", UPLOAD_WHAT,
                       strerror(-rc));
  }
  memset(&co, 0, sizeof(co));
  co.cmd = u->cmd;
  co.cwd = u->root;
  co.env = env;
  co.timeout_ms = u->timeout_ms;
  co.tail_max = UPLOAD_STDERR_TAIL;
  rc = child_start(&u->child, u->loop, &co, upload_on_child_done, u, &u->err);
  upload_env_free(env, first_ours);
  if (rc < 0)
    return cfw_err_wrap(&u->err, rc, "%s in %s", UPLOAD_WHAT, u->root);
  log_msg(u->log, LOG_DEBUG, "%s: running for %zu files in %s", UPLOAD_WHAT,
          u->n_listed, u->root);
  return 0;
}

static void upload_on_write(uv_work_t *w)
{
  struct upload *u = container_of(w, struct upload, work);

  u->write_rc = atomicfile_write(u->state_dir, UPLOAD_LIST_NAME,
                                 buf_str(&u->list), u->list.len, &u->err);
  if (u->write_rc < 0)
    cfw_err_prefix(&u->err, "%s: list in %s", UPLOAD_WHAT, u->state_dir);
}

static void upload_on_written(uv_work_t *w, int status)
{
  struct upload *u = container_of(w, struct upload, work);
  int rc = u->write_rc;

  if (u->cancelled)
    rc = cfw_err_set(&u->err, -ECANCELED, "%s cancelled", UPLOAD_WHAT);
  else if (status < 0 && rc == 0)
    rc = cfw_err_set(&u->err, status, "%s: list: %s", UPLOAD_WHAT,
                     uv_strerror(status));
  if (rc == 0)
    rc = upload_spawn(u);
  if (rc < 0)
    upload_finish(u, rc);
}

/* One path a line; a name with a newline would read as two files. */
static int upload_build_list(struct upload *u, const struct upload_opts *o)
{
  const char *skipped = NULL;
  size_t n_skipped = 0;
  size_t i;
  int rc;

  for (i = 0; i < o->n; i++) {
    if (strchr(o->paths[i], '\n') != NULL) {
      skipped = o->paths[i];
      n_skipped++;
      continue;
    }
    rc = buf_adds(&u->list, o->paths[i]);
    if (rc == 0)
      rc = buf_addc(&u->list, '\n');
    if (rc < 0)
      return rc;
    u->n_listed++;
  }
  if (n_skipped > 0)
    log_msg(u->log, LOG_WARN,
            "%s: %zu file names hold a newline and are not listed, "
            "e.g. \"%.*s\"",
            UPLOAD_WHAT, n_skipped, (int)strcspn(skipped, "\n"), skipped);
  return 0;
}

static int upload_copy(struct upload *u, const struct upload_opts *o)
{
  u->cmd = strdup(o->cmd);
  u->root = strdup(o->root);
  u->state_dir = strdup(o->state_dir);
  if (u->cmd == NULL || u->root == NULL || u->state_dir == NULL)
    return -ENOMEM;
  return upload_build_list(u, o);
}

int upload_start(struct upload **out, uv_loop_t *loop,
                 const struct upload_opts *o, upload_cb cb, void *arg,
                 struct cfw_err *err)
{
  struct upload *u;
  int rc;

  *out = NULL;
  if (o->cmd == NULL || o->cmd[0] == '\0')
    return cfw_err_set(err, -EINVAL, "%s is empty", UPLOAD_WHAT);
  u = calloc(1, sizeof(*u));
  if (u == NULL)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", UPLOAD_WHAT);
  buf_init(&u->list, UPLOAD_LIST_MAX);
  u->loop = loop;
  u->log = o->log;
  u->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : UPLOAD_TIMEOUT_MS;
  u->cb = cb;
  u->arg = arg;
  rc = upload_copy(u, o);
  if (rc == 0)
    rc = uv_queue_work(loop, &u->work, upload_on_write, upload_on_written);
  if (rc < 0) {
    upload_free(u);
    return cfw_err_set(err, rc, "%s: %s", UPLOAD_WHAT, uv_strerror(rc));
  }
  *out = u;
  return 0;
}

void upload_cancel(struct upload *u)
{
  if (u == NULL)
    return;
  u->cancelled = true;
  child_cancel(u->child);
}
