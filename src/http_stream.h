/* SPDX-License-Identifier: MIT */
#ifndef CFW_HTTP_STREAM_H
#define CFW_HTTP_STREAM_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http.h"

/* Internal to http: a request body read from a file descriptor, off the
 * loop thread.  libcurl pulls the body through a read callback that runs
 * on the loop thread, so a pread there would stall the loop for as long
 * as the disk takes (a cold page, a network file system).  Instead a
 * uv_queue_work reads HTTP_STREAM_CHUNK bytes ahead into one of two
 * buffers; the callback copies from a full buffer, and when both are
 * empty it pauses the transfer (CURL_READFUNC_PAUSE) until the read
 * completes and unpauses it (curl_easy_pause, which arms libcurl's timer,
 * so the multi driver resumes the transfer).  Memory per stream is two
 * chunks, whatever the file's size. */

struct http_stream; /* opaque */

/* Who to tell when a stream is finally freed: a stream released while a
 * read is in flight lives on until that read returns, and the client
 * must not finish closing before then. */
struct http_stream_owner {
  uv_loop_t *loop;             /* borrowed */
  size_t *live;                /* borrowed; streams not yet freed */
  void (*on_freed)(void *arg); /* after each free, once *live is down */
  void *arg;
};

/* Creates a stream for fb, counts it in *owner->live and starts reading
 * its first chunk.  Returns 0, or -ENOMEM, -EINVAL (fd < 0, or offset + len
 * overflows) or the error of uv_queue_work. */
int http_stream_new(struct http_stream **out,
                    const struct http_stream_owner *owner,
                    const struct http_file_body *fb);

/* The easy handle to unpause; set once it exists. */
void http_stream_bind(struct http_stream *s, CURL *easy);

/* CURLOPT_READFUNCTION and CURLOPT_SEEKFUNCTION (only SEEK_SET, within
 * the body: libcurl rewinds to resend on a fresh connection). */
size_t http_stream_on_read(char *p, size_t size, size_t n, void *userp);
int http_stream_on_seek(void *userp, curl_off_t offset, int origin);

/* 0, or the negative errno that made the transfer abort: the read's
 * error, or -ENODATA when the file ended before the body did.  what
 * gets a static description ("" if none). */
int http_stream_error(const struct http_stream *s, const char **what);

/* Lets go of s once its request is out of the multi handle: freed now,
 * or when the read in flight returns (then owner->on_freed runs, from
 * the loop).  NULL is fine. */
void http_stream_release(struct http_stream *s);

#endif
