/* SPDX-License-Identifier: MIT */
#ifndef CFW_FUZZ_H
#define CFW_FUZZ_H

/* Shared by the libFuzzer harnesses in tests/fuzz: the entry points
 * libFuzzer calls, a check that stops the run on a broken invariant, and
 * in-memory files for the APIs that take a path. */

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Names the broken invariant, then traps: libFuzzer reports the crash
 * with a stack and saves the input that caused it. */
void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond))                                                               \
      fuzz_fail(__FILE__, __LINE__, #cond);                                    \
  } while (0)

/* A file that lives in memory (memfd_create(2)), so the code under test
 * can open it by name at /proc/self/fd/N without touching a disk.  Each
 * harness makes the few it needs once and rewrites them per input. */
struct fuzz_memfile {
  int fd;
  char path[64]; /* "/proc/self/fd/N" */
};

/* Creates the file; traps if the system cannot, as nothing could run. */
void fuzz_memfile_open(struct fuzz_memfile *f, const char *name);

/* Replaces the whole content with data[0..size). */
void fuzz_memfile_set(const struct fuzz_memfile *f, const void *data,
                      size_t size);

/* True if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF). */
int fuzz_utf8_valid(const char *s, size_t len);

#endif
