/* SPDX-License-Identifier: MIT */
/* Fuzzes the manifest decoder: manifest_load on a state dir whose
 * manifest file is the input, twice per input.
 *
 * 1. As is: the frame checks (magic, version, flags, length) and the
 *    checksum must refuse what they should, and anything that loads must
 *    be intact.
 * 2. Fixed up: magic, version, flags and length set right and the SHA-256
 *    trailer recomputed, so the mutations reach the body parser behind
 *    the checksum.
 *
 * A manifest that loads must keep manifest.h's promises (paths valid,
 * sorted, unique; flags known and hashed) and encode back to exactly the
 * bytes it was loaded from: the format has one spelling per content. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "manifest.h"
#include "manifest_codec.h"
#include "tree.h"

#define MAGIC      "CFWMANI\n"
#define MAGIC_LEN  8
#define HASH_LEN   32
#define LEN_OFFSET (MAGIC_LEN + 4 + 4)
#define HEADER_LEN (MAGIC_LEN + 4 + 4 + 8 + 8 + 8 + 4)
#define MIN_LEN    (HEADER_LEN + HASH_LEN)
/* path length, size, mtime, ctime, ino, dev, flags, hash; a path has at
 * least one byte. */
#define ENTRY_MIN (4 + 8 * 5 + 4 + HASH_LEN + 1)

static const char *const tmp_files[] = {MANIFEST_FILE};
static const char *state_dir;
static struct fuzz_memfile manifest_file;

/* <state_dir>/manifest is a symlink to an in-memory file, so that each
 * input costs no disk write; manifest_load opens it like any other. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  char link[PATH_MAX];
  int n;

  (void)argc;
  (void)argv;
  state_dir = fuzz_tmpdir(tmp_files, 1);
  fuzz_memfile_open(&manifest_file, MANIFEST_FILE);
  n = snprintf(link, sizeof(link), "%s/%s", state_dir, MANIFEST_FILE);
  FUZZ_CHECK(n > 0 && (size_t)n < sizeof(link));
  FUZZ_CHECK(symlink(manifest_file.path, link) == 0);
  return 0;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
  int i;

  for (i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* Checks m's entries, then encodes them again and compares with the
 * bytes m was loaded from. */
static void check_manifest(const struct manifest *m, const uint8_t *data,
                           size_t size)
{
  struct manifest_codec_content c;
  const struct tree_entry *e;
  unsigned char *enc = NULL;
  size_t enc_len = 0;
  size_t n = manifest_count(m);
  size_t i;

  FUZZ_CHECK(size >= MIN_LEN && n <= (size - MIN_LEN) / ENTRY_MIN);
  FUZZ_CHECK(manifest_root(m) != NULL);
  c.v = malloc(n * sizeof(*c.v) + 1);
  FUZZ_CHECK(c.v != NULL);
  for (i = 0; i < n; i++) {
    e = manifest_at(m, i);
    FUZZ_CHECK(e != NULL && e->path != NULL);
    FUZZ_CHECK(manifest_path_ok(e->path, strlen(e->path)));
    FUZZ_CHECK((e->flags & ~TREE_FLAGS_KNOWN) == 0);
    FUZZ_CHECK((e->flags & TREE_HASHED) != 0);
    FUZZ_CHECK(i == 0 || strcmp(manifest_at(m, i - 1)->path, e->path) < 0);
    FUZZ_CHECK(manifest_find(m, e->path) == e);
    c.v[i] = *e; /* borrowed: encode only reads */
  }
  FUZZ_CHECK(manifest_at(m, n) == NULL);
  c.n = n;
  c.root = (char *)manifest_root(m); /* borrowed, as above */
  c.written_at_ns = manifest_written_at_ns(m);
  FUZZ_CHECK(manifest_codec_encode(&c, &enc, &enc_len) == 0);
  FUZZ_CHECK(enc_len == size && memcmp(enc, data, size) == 0);
  free(enc);
  free(c.v);
}

static void load(const uint8_t *data, size_t size)
{
  struct manifest *m = NULL;
  struct cfw_err err;
  int rc;

  fuzz_memfile_set(&manifest_file, data, size);
  memset(&err, 0, sizeof(err));
  rc = manifest_load(&m, state_dir, &err);
  if (rc < 0) {
    FUZZ_CHECK(m == NULL);
    FUZZ_CHECK(rc == -EBADMSG || rc == -EPROTO);
    FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
    FUZZ_CHECK(strstr(err.msg, MANIFEST_FILE) != NULL);
    return;
  }
  FUZZ_CHECK(m != NULL);
  check_manifest(m, data, size);
  manifest_destroy(m);
}

static void fix_up(unsigned char *p, size_t size)
{
  /* The bytes of the magic, without a NUL: the format has none. */
  static const unsigned char magic[MAGIC_LEN] = MAGIC;

  memcpy(p, magic, sizeof(magic));
  put_le(p + MAGIC_LEN, MANIFEST_VERSION, 4);
  put_le(p + MAGIC_LEN + 4, 0, 4);
  put_le(p + LEN_OFFSET, size, 8);
  FUZZ_CHECK(EVP_Digest(p, size - HASH_LEN, p + size - HASH_LEN, NULL,
                        EVP_sha256(), NULL) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char *fixed;

  load(data, size);
  if (size < MIN_LEN)
    return 0;
  fixed = malloc(size);
  FUZZ_CHECK(fixed != NULL);
  memcpy(fixed, data, size);
  fix_up(fixed, size);
  if (memcmp(fixed, data, size) != 0)
    load(fixed, size);
  free(fixed);
  return 0;
}
