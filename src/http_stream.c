/* SPDX-License-Identifier: MIT */
#include "http_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* One buffer of read-ahead. */
struct http_chunk {
  char *data;  /* owned; HTTP_STREAM_CHUNK bytes */
  size_t len;  /* bytes read into it */
  size_t used; /* bytes handed to libcurl */
};

struct http_stream {
  uv_work_t work;
  struct http_stream_owner owner;
  CURL *easy;        /* borrowed; for unpausing */
  int fd;            /* borrowed */
  uint64_t start;    /* file offset of the body's first byte */
  uint64_t len;      /* body length */
  uint64_t read_pos; /* body offset of the next read */
  struct http_chunk c[2];
  unsigned head;    /* the chunk libcurl reads from */
  unsigned n_ready; /* full chunks, from head on */
  unsigned gen;     /* bumped by a seek: older reads are dropped */
  bool reading;
  bool paused;
  bool released;
  bool counted; /* in *owner.live */
  int err;
  const char *what;
  /* The read in flight: set on the loop, used on a pool thread, read
   * back on the loop once it returns. */
  unsigned w_gen;
  unsigned w_slot;
  uint64_t w_off;
  size_t w_want;
  size_t w_got;
  int w_err;
};

static void http_stream_free(struct http_stream *s)
{
  struct http_stream_owner owner = s->owner;
  bool counted = s->counted;

  free(s->c[0].data);
  free(s->c[1].data);
  free(s);
  if (!counted)
    return;
  (*owner.live)--;
  if (owner.on_freed != NULL)
    owner.on_freed(owner.arg);
}

/* Runs on a pool thread: touches only the w_ fields and its buffer. */
static void http_stream_work(uv_work_t *w)
{
  struct http_stream *s = container_of(w, struct http_stream, work);
  char *p = s->c[s->w_slot].data;
  ssize_t n;

  s->w_got = 0;
  s->w_err = 0;
  while (s->w_got < s->w_want) {
    n = pread(s->fd, p + s->w_got, s->w_want - s->w_got,
              (off_t)(s->w_off + s->w_got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      s->w_err = -errno;
      return;
    }
    if (n == 0)
      return; /* the file ended early: the loop side decides */
    s->w_got += (size_t)n;
  }
}

static void http_stream_after(uv_work_t *w, int status);

/* Starts the next read if a buffer is free and the body is not all
 * read.  A failure to queue it ends the body with that error. */
static void http_stream_kick(struct http_stream *s)
{
  uint64_t left = s->len - s->read_pos;
  int rc;

  if (s->reading || s->err != 0 || s->n_ready == 2 || left == 0)
    return;
  s->w_gen = s->gen;
  s->w_slot = (s->head + s->n_ready) % 2;
  s->w_off = s->start + s->read_pos;
  s->w_want = left < HTTP_STREAM_CHUNK ? (size_t)left : HTTP_STREAM_CHUNK;
  rc = uv_queue_work(s->owner.loop, &s->work, http_stream_work,
                     http_stream_after);
  if (rc < 0) {
    s->err = rc;
    s->what = "queueing a read";
    return;
  }
  s->reading = true;
}

static void http_stream_resume(struct http_stream *s)
{
  if (!s->paused || s->easy == NULL)
    return;
  s->paused = false;
  /* Arms libcurl's timer; the multi driver then calls the read
   * callback again.  It cannot fail for an unpause of a handle in a
   * multi handle, and if it did the total timeout still ends it. */
  (void)curl_easy_pause(s->easy, CURLPAUSE_CONT);
}

static void http_stream_after(uv_work_t *w, int status)
{
  struct http_stream *s = container_of(w, struct http_stream, work);
  struct http_chunk *c = &s->c[s->w_slot];

  s->reading = false;
  if (s->released) {
    http_stream_free(s);
    return;
  }
  if (s->w_gen != s->gen) {
    http_stream_kick(s); /* a seek made this read stale */
    return;
  }
  if (status < 0 || s->w_err < 0) {
    s->err = status < 0 ? status : s->w_err;
    s->what = "reading the body";
  } else if (s->w_got < s->w_want) {
    s->err = -ENODATA;
    s->what = "the file ended before the body did";
  } else {
    c->len = s->w_got;
    c->used = 0;
    s->n_ready++;
    s->read_pos += s->w_got;
    http_stream_kick(s);
  }
  http_stream_resume(s);
}

int http_stream_new(struct http_stream **out,
                    const struct http_stream_owner *owner,
                    const struct http_file_body *fb)
{
  struct http_stream *s;

  if (fb->fd < 0 || fb->offset > UINT64_MAX - fb->len ||
      fb->offset + fb->len > (uint64_t)INT64_MAX)
    return -EINVAL;
  s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  s->owner = *owner;
  s->fd = fb->fd;
  s->start = fb->offset;
  s->len = fb->len;
  s->c[0].data = malloc(HTTP_STREAM_CHUNK);
  s->c[1].data = malloc(HTTP_STREAM_CHUNK);
  if (s->c[0].data == NULL || s->c[1].data == NULL) {
    http_stream_free(s);
    return -ENOMEM;
  }
  http_stream_kick(s);
  if (s->err != 0) {
    int rc = s->err;

    http_stream_free(s);
    return rc;
  }
  s->counted = true;
  (*s->owner.live)++;
  *out = s;
  return 0;
}

void http_stream_bind(struct http_stream *s, CURL *easy)
{
  s->easy = easy;
}

size_t http_stream_on_read(char *p, size_t size, size_t n, void *userp)
{
  struct http_stream *s = userp;
  struct http_chunk *c;
  size_t room;

  if (s->err != 0)
    return CURL_READFUNC_ABORT;
  if (size != 0 && n > SIZE_MAX / size)
    n = SIZE_MAX / size;
  room = size * n;
  if (s->n_ready == 0) {
    if (s->read_pos == s->len && !s->reading)
      return 0; /* the whole body was handed out */
    http_stream_kick(s);
    s->paused = true;
    return CURL_READFUNC_PAUSE;
  }
  c = &s->c[s->head];
  if (room > c->len - c->used)
    room = c->len - c->used;
  memcpy(p, c->data + c->used, room);
  c->used += room;
  if (c->used == c->len) {
    s->head = (s->head + 1) % 2;
    s->n_ready--;
    http_stream_kick(s);
  }
  return room;
}

int http_stream_on_seek(void *userp, curl_off_t offset, int origin)
{
  struct http_stream *s = userp;

  if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > s->len)
    return CURL_SEEKFUNC_CANTSEEK;
  s->gen++;
  s->n_ready = 0;
  s->read_pos = (uint64_t)offset;
  http_stream_kick(s);
  return CURL_SEEKFUNC_OK;
}

int http_stream_error(const struct http_stream *s, const char **what)
{
  *what = s->what != NULL ? s->what : "";
  return s->err;
}

void http_stream_release(struct http_stream *s)
{
  if (s == NULL)
    return;
  s->easy = NULL;
  if (s->reading) {
    s->released = true; /* http_stream_after frees it */
    return;
  }
  http_stream_free(s);
}
