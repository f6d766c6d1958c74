/* SPDX-License-Identifier: MIT */
#ifndef CFW_WIRE_H
#define CFW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tree.h"

/* The byte layout shared by the state files (statefmt.h): integers
 * little-endian whatever the host is, strings as a u32 length and their
 * bytes (no NUL), file entries as manifest.h describes them.
 *
 * The writer keeps its first error, so an encoder writes every field
 * and checks once at the end.  The reader trusts no length: every get
 * is bounds-checked against what is left. */

#define WIRE_HASH_LEN 32

struct wire_out {
  struct buf b; /* owned */
  int rc;       /* 0, or the first error (-ENOMEM, -E2BIG, a sink's) */
  /* A streaming writer (wire_out_init_sink) hands b's bytes to sink
   * whenever they reach chunk, so b stays about chunk long however much
   * is encoded; a counting one (wire_out_init_count) keeps no bytes at
   * all.  Both add what left b to done. */
  int (*sink)(void *arg, const void *p, size_t n); /* NULL: keep all */
  void *sink_arg;                                  /* borrowed */
  size_t chunk;
  uint64_t done; /* bytes handed on (or counted) so far */
  uint64_t max;  /* done plus b past this is -E2BIG */
  bool counting;
};

struct wire_in {
  const unsigned char *p; /* borrowed: the bytes at hand */
  size_t len;             /* how many */
  size_t off;             /* read up to here in p */
  /* A streaming reader (wire_in_init_stream) holds a window of its
   * input in buf and refills it from read when a get needs more; a
   * plain one has its input whole in p (read NULL, base 0). */
  size_t base;        /* the input's offset of p[0] */
  size_t end;         /* the input's length */
  unsigned char *buf; /* borrowed: the window, cap bytes */
  size_t cap;
  int (*read)(void *arg, void *p, size_t n, size_t *got);
  void *arg; /* borrowed */
  int rc;    /* 0, or read's first error: the input ends there */
};

/* max caps the buffer (-E2BIG past it).  Pair with wire_out_free. */
void wire_out_init(struct wire_out *w, size_t max);
void wire_out_free(struct wire_out *w); /* NULL is fine */
/* A writer that counts the bytes put, keeping none: an encoder run
 * through it gives its output's length (wire_out_len) in O(1) memory.
 * Past max bytes, -E2BIG into w->rc. */
void wire_out_init_count(struct wire_out *w, uint64_t max);
/* A writer that hands its bytes to sink, in order, about chunk bytes at
 * a time (one put of more goes whole), and at wire_out_flush.  A sink
 * returns 0 or a negative errno, which becomes w->rc: nothing is handed
 * on after it. */
void wire_out_init_sink(struct wire_out *w, size_t chunk,
                        int (*sink)(void *arg, const void *p, size_t n),
                        void *arg);
/* Hands what is buffered to the sink (nothing without one): w->rc. */
int wire_out_flush(struct wire_out *w);
/* Every byte put so far, buffered or handed on. */
uint64_t wire_out_len(const struct wire_out *w);

void wire_put_u8(struct wire_out *w, uint8_t v);
void wire_put_u32(struct wire_out *w, uint32_t v);
void wire_put_u64(struct wire_out *w, uint64_t v);
void wire_put_bytes(struct wire_out *w, const void *p, size_t n);
/* A u32 length then the bytes of s; -EFBIG into w->rc past max bytes. */
void wire_put_str(struct wire_out *w, const char *s, size_t max);
/* Path, size, mtime, ctime, inode, device, flags, hash. */
void wire_put_entry(struct wire_out *w, const struct tree_entry *e);
/* Overwrites 4 bytes at off, written earlier (a length known late);
 * not for a streaming writer, whose early bytes may be gone. */
void wire_patch_u32(struct wire_out *w, size_t off, uint32_t v);

void wire_in_init(struct wire_in *r, const void *p, size_t len);
/* A reader of an input of end bytes that comes from read in pieces,
 * from offset pos on, through buf[0..cap): read puts up to n bytes at p
 * and their number in *got, 0 or a negative errno.  Gets see the input
 * as a plain reader would see it whole, with two differences: a get of
 * more than cap bytes fails (r->rc -ENOBUFS), as does one past a read
 * that failed or ended early (r->rc that error, or -ENODATA); and what
 * wire_get_bytes borrows lasts until the next get only. */
void wire_in_init_stream(struct wire_in *r, unsigned char *buf, size_t cap,
                         size_t pos, size_t end,
                         int (*read)(void *arg, void *p, size_t n, size_t *got),
                         void *arg);
/* The bytes of the input after the next get's. */
size_t wire_left(const struct wire_in *r);
/* The input's offset of the next get. */
size_t wire_pos(const struct wire_in *r);
bool wire_get_u8(struct wire_in *r, uint8_t *v);
bool wire_get_u32(struct wire_in *r, uint32_t *v);
bool wire_get_u64(struct wire_in *r, uint64_t *v);
bool wire_get_i64(struct wire_in *r, int64_t *v);
/* Borrows n bytes from the input. */
bool wire_get_bytes(struct wire_in *r, size_t n, const unsigned char **out);
/* A fresh NUL-terminated copy of a string of at most max bytes without
 * NUL bytes: 0, -EBADMSG or -ENOMEM (then *out is NULL). */
int wire_get_str(struct wire_in *r, size_t max, char **out);
/* The same into out[n] (max n - 1 bytes), no allocation: 0 or -EBADMSG. */
int wire_get_strbuf(struct wire_in *r, char *out, size_t n);
/* An entry; its path is a fresh copy.  0, -EBADMSG or -ENOMEM. */
int wire_get_entry(struct wire_in *r, struct tree_entry *e);

/* SHA-256 of p[0..n) into out.  0 or -ENOMEM. */
int wire_sha256(const void *p, size_t n, unsigned char out[WIRE_HASH_LEN]);

/* The same over bytes that come in pieces: init, update per piece,
 * final (after which no update: EVP_DigestInit(3) forbids it), then
 * free in any case (NULL is fine; twice too).  Each is 0 or -ENOMEM. */
struct evp_md_ctx_st;
struct wire_sha {
  struct evp_md_ctx_st *ctx; /* owned */
};
int wire_sha_init(struct wire_sha *h);
int wire_sha_update(struct wire_sha *h, const void *p, size_t n);
int wire_sha_final(struct wire_sha *h, unsigned char out[WIRE_HASH_LEN]);
void wire_sha_free(struct wire_sha *h);

#endif
