/* SPDX-License-Identifier: MIT */
#include "statelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <stdlib.h>

#include "atomicfile.h"
#include "buf.h"
#include "log.h"
#include "util.h"

static void statelock_owner(int fd, char *out, size_t n)
{
  ssize_t len;

  len = pread(fd, out, n - 1, 0);
  out[len > 0 ? (size_t)len : 0] = '\0';
  out[strcspn(out, "\n")] = '\0';
}

static int statelock_open(const char *state_dir, struct cfw_err *err)
{
  struct buf path;
  int fd;

  buf_init(&path, 8192);
  if (buf_addf(&path, "%s/lock", state_dir) < 0) {
    buf_free(&path);
    return cfw_err_set(err, -ENAMETOOLONG, "state dir %s: path too long",
                       state_dir);
  }
  fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    cfw_err_set(err, -errno, "%s: %s", buf_str(&path), strerror(errno));
  buf_free(&path);
  return fd < 0 ? err->code : fd;
}

int statelock_acquire(const char *state_dir, struct cfw_err *err)
{
  char pid[32];
  int fd;
  int len;

  fd = atomicfile_mkdirs(state_dir, 0700, err);
  if (fd < 0)
    return fd;
  fd = statelock_open(state_dir, err);
  if (fd < 0)
    return fd;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;

    statelock_owner(fd, pid, sizeof(pid));
    (void)close(fd); /* never locked: nothing to release */
    if (e == EWOULDBLOCK)
      return cfw_err_set(err, -EWOULDBLOCK,
                         "another cfwatch (pid %s) is using state dir %s; "
                         "stop it first, or give this one its own "
                         "--state-dir",
                         pid[0] ? pid : "?", state_dir);
    return cfw_err_set(err, -e, "%s/lock: %s", state_dir, strerror(e));
  }
  len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  /* The pid is only for the message above; failing to write it is
   * harmless, so the results are not checked. */
  if (ftruncate(fd, 0) == 0 && len > 0)
    (void)!pwrite(fd, pid, (size_t)len, 0);
  return fd;
}

int statelock_holder(const char *state_dir, char *pid_out, size_t n)
{
  struct buf path;
  int held = 0;
  int fd;

  pid_out[0] = '\0';
  buf_init(&path, 8192);
  fd = buf_addf(&path, "%s/lock", state_dir) == 0
           ? open(buf_str(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
           : -1;
  buf_free(&path);
  if (fd < 0)
    return 0;
  if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
    held = 1;
    statelock_owner(fd, pid_out, n);
  }
  (void)close(fd); /* drops the shared lock if we got it */
  return held;
}

/* True if fd is still the file <state_dir>/lock names. */
static bool statelock_in_place(int fd, const char *state_dir)
{
  struct stat held;
  struct stat named;
  struct buf path;
  int rc;

  buf_init(&path, 8192);
  rc = buf_addf(&path, "%s/lock", state_dir);
  if (rc == 0)
    rc = lstat(buf_str(&path), &named);
  buf_free(&path);
  return rc == 0 && fstat(fd, &held) == 0 && held.st_nlink > 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

int statelock_renew(int *fd, const char *state_dir, struct cfw_err *err)
{
  int nfd;

  if (statelock_in_place(*fd, state_dir))
    return 0;
  nfd = statelock_acquire(state_dir, err);
  if (nfd < 0)
    return nfd;
  statelock_release(*fd);
  *fd = nfd;
  return 1;
}

/* $XDG_RUNTIME_DIR/cfwatch or /tmp/cfwatch-UID, then the lock's name:
 * 32 hex digits of SHA-256 of the root's real path. */
static int statelock_root_path(const char *real, struct buf *p)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  const char *run = getenv("XDG_RUNTIME_DIR");
  char hex[33];
  int rc;

  if (EVP_Digest(real, strlen(real), md, NULL, EVP_sha256(), NULL) != 1)
    return -ENOMEM;
  hex_encode(md, 16, hex);
  if (run != NULL && run[0] == '/')
    rc = buf_addf(p, "%s/cfwatch", run);
  else
    rc = buf_addf(p, "/tmp/cfwatch-%lu", (unsigned long)getuid());
  if (rc == 0 && atomicfile_mkdirs(buf_str(p), 0700, NULL) < 0)
    rc = -EACCES;
  return rc == 0 ? buf_addf(p, "/root-%s.lock", hex) : rc;
}

static void statelock_root_warn(int fd, const char *root, struct log *log)
{
  char other[1024];

  statelock_owner(fd, other, sizeof(other));
  log_msg(log, LOG_WARN,
          "%s: another cfwatch (%s) watches this root with another state "
          "dir: each sends every change. Stop one, or give both the same "
          "--state-dir",
          root, other[0] ? other : "pid ?");
}

int statelock_root(const char *root, const char *state_dir, struct log *log)
{
  char *real = realpath(root, NULL);
  struct buf path;
  struct buf who;
  int fd = -1;

  buf_init(&path, 8192);
  buf_init(&who, 8192);
  if (real != NULL && statelock_root_path(real, &path) == 0)
    fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK)
      statelock_root_warn(fd, root, log);
    (void)close(fd); /* not ours: nothing to release */
    fd = -1;
  }
  if (fd >= 0 &&
      buf_addf(&who, "pid %ld, state dir %s\n", (long)getpid(), state_dir) ==
          0 &&
      ftruncate(fd, 0) == 0)
    (void)!pwrite(fd, buf_str(&who), who.len, 0); /* for the message only */
  buf_free(&path);
  buf_free(&who);
  free(real);
  return fd;
}

void statelock_release(int fd)
{
  if (fd >= 0)
    (void)close(fd); /* closing drops the flock; nothing to report */
}
