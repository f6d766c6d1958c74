/* SPDX-License-Identifier: MIT */
/* walkfloor ROOT: the floor of a no-change check (issue 13).  It reads
 * every directory under ROOT with getdents64(2) and asks statx(2) for what
 * cfwatch's "certainly unchanged" shortcut compares (size, mtime, ctime,
 * inode) of every other entry, on one thread, and prints
 * "FILES DIRS BYTES".  Nothing else: no names kept, no hashing, no
 * manifest, so a cfwatch `plan` that finds no change can be judged
 * against the kernel work it cannot avoid.
 *
 * Directories are known by d_type and not statx'ed (cfwatch needs no
 * stat of a directory to trust its files); DT_UNKNOWN entries are.
 * Symlinks are counted as files and not followed.
 *
 * bench/run.py compiles it with cc (see bench/README.md); CMake knows it
 * as the bench-only target `walkfloor` so that the checkers see it. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

/* Large enough that a directory of a few hundred entries takes one call,
 * as cfwatch's walk does (glibc's readdir uses 32 KiB). */
#define WALK_BUF_BYTES ((size_t)256 * 1024)
#define WALK_MAX_DEPTH 64
#define WALK_STATX_MASK                                                        \
  (STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME)

/* The kernel's record; glibc declares it only from 2.30 on. */
struct walk_dirent {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

struct walk {
  uint64_t files;
  uint64_t dirs;
  uint64_t bytes;
  const char *failed;        /* borrowed: the entry that failed */
  char *buf[WALK_MAX_DEPTH]; /* owned: one getdents64 buffer a level */
};

static int walk_dir(struct walk *w, int dirfd, int depth);

/* Counts one entry; a directory is walked.  Returns 0 or -errno. */
static int walk_entry(struct walk *w, int dirfd, const struct walk_dirent *e,
                      int depth)
{
  struct statx stx;
  int type = e->d_type;
  int fd;
  int rc;

  if (type != DT_DIR) {
    if (statx(dirfd, e->d_name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
              WALK_STATX_MASK, &stx) < 0) {
      w->failed = e->d_name;
      return -errno;
    }
    if (!S_ISDIR(stx.stx_mode)) {
      w->files++;
      w->bytes += stx.stx_size;
      return 0;
    }
  }
  fd =
      openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    w->failed = e->d_name;
    return -errno;
  }
  rc = walk_dir(w, fd, depth + 1);
  if (close(fd) < 0 && rc == 0)
    rc = -errno;
  return rc;
}

static int walk_is_dot(const char *name)
{
  return name[0] == '.' &&
         (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Walks the open directory dirfd.  Returns 0 or -errno. */
static int walk_dir(struct walk *w, int dirfd, int depth)
{
  char *b;
  long n;
  int rc;

  if (depth >= WALK_MAX_DEPTH)
    return -ELOOP;
  if (w->buf[depth] == NULL)
    w->buf[depth] = malloc(WALK_BUF_BYTES); /* aligned for any type */
  b = w->buf[depth];
  if (b == NULL)
    return -ENOMEM;
  w->dirs++;
  for (;;) {
    n = syscall(SYS_getdents64, dirfd, b, WALK_BUF_BYTES);
    if (n < 0)
      return -errno;
    if (n == 0)
      return 0;
    for (long off = 0; off < n;) {
      const struct walk_dirent *e = (const struct walk_dirent *)(b + off);

      off += e->d_reclen;
      if (walk_is_dot(e->d_name))
        continue;
      rc = walk_entry(w, dirfd, e, depth);
      if (rc < 0)
        return rc;
    }
  }
}

int main(int argc, char **argv)
{
  struct walk w = {0};
  int fd;
  int rc;

  if (argc != 2) {
    (void)fprintf(stderr, "usage: walkfloor ROOT\n"); /* exits anyway */
    return EX_USAGE;
  }
  fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    (void)fprintf(stderr, "walkfloor: %s: %s\n", argv[1], /* exits */
                  strerror(errno));
    return EX_NOINPUT;
  }
  w.failed = argv[1];
  rc = walk_dir(&w, fd, 0);
  for (size_t i = 0; i < WALK_MAX_DEPTH; i++)
    free(w.buf[i]);
  if (rc < 0) {
    (void)fprintf(stderr, "walkfloor: %s: %s\n", w.failed, /* exits */
                  strerror(-rc));
    return EX_IOERR;
  }
  if (printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", w.files, w.dirs,
             w.bytes) < 0)
    return EX_IOERR;
  return close(fd) < 0 ? EX_IOERR : 0;
}
