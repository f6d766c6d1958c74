/* SPDX-License-Identifier: MIT */
#ifndef CFW_CFGFILE_H
#define CFW_CFGFILE_H

#include <stdbool.h>
#include <stddef.h>

struct cfw_err;

/* Reading a configuration file: the whole file into memory, then one line
 * at a time.  The one home of the byte-level rules: where a line ends, how
 * long it may be, whether it may hold a NUL byte.  What a line means is
 * the caller's: config_ini.c reads cfwatch.ini as inih did (inilex.h),
 * awsconfig.c reads the AWS shared files as botocore does.
 *
 * Neither grammar has a line limit of its own, so a file in memory needs
 * no line buffer that could cut a line short. */

/* Reads path whole, up to max_size bytes, into *data (owned: give it to
 * cfgfile_free, which wipes it) with a NUL after the last byte, and its
 * length into *len.  Pipes and other streams are read to their end;
 * with regular_only, anything but a regular file is refused.  Returns 0;
 * -ENOENT or -ENOTDIR (and *data NULL) when there is no such file, so
 * that a caller can tell "absent"; -EINVAL for a non-regular file, -EFBIG
 * past max_size, or another negative errno, each with err set to
 * "PATH: why". */
int cfgfile_read(const char *path, size_t max_size, bool regular_only,
                 char **data, size_t *len, struct cfw_err *err);

/* Wipes len bytes of data (credentials live in these files) and frees
 * it.  NULL is fine. */
void cfgfile_free(char *data, size_t len);

/* How lines end: at "\n" only, as fgets() reads them (a "\r" before it
 * stays in the line); or also at "\r\n" and a lone "\r", as Python reads
 * a text file (universal newlines). */
enum cfgfile_eol { CFGFILE_EOL_LF, CFGFILE_EOL_UNIVERSAL };

/* The lines of a file in memory.  Plain: the caller fills it, or calls
 * cfgfile_lines_init. */
struct cfgfile_lines {
  const char *data;     /* borrowed: the file */
  size_t len;           /* its length */
  size_t pos;           /* where the next line starts */
  unsigned lineno;      /* of the line cfgfile_next_line last gave */
  enum cfgfile_eol eol; /* where lines end */
  size_t max_len;       /* longest line, its end not counted; 0: any */
  bool nul_ok;          /* a NUL byte is a character like any other */
};

/* Starts at the first line of data[0..len). */
void cfgfile_lines_init(struct cfgfile_lines *it, const char *data, size_t len,
                        enum cfgfile_eol eol, size_t max_len, bool nul_ok);

/* Gives where the next line starts in the data, *off, and its length
 * without its end, *n, and returns 1 (data[off + n] is the byte that
 * ended it, or the byte after the file); returns 0 after the last line.  A
 * final line without a newline is a line; a file that ends in a newline has no
 * empty line after it.  Returns -EINVAL with err set to "NUL byte at column C"
 * or "line longer than MAX bytes" (no file name or line number: it->lineno has
 * the number). */
int cfgfile_next_line(struct cfgfile_lines *it, size_t *off, size_t *n,
                      struct cfw_err *err);

#endif
