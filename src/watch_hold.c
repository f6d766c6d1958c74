/* SPDX-License-Identifier: MIT */
#include "watch_hold.h"

#include <string.h>

#include "util.h"

static void hold_on_timer(uv_timer_t *t)
{
  struct watch_hold *h = container_of(t, struct watch_hold, timer);

  hold_flush(h);
  if (h->flushed != NULL)
    h->flushed(h->ctx);
}

void hold_init(struct watch_hold *h, uv_loop_t *loop,
               void (*fire)(void *ctx, int wd, const char *name),
               void (*flushed)(void *ctx), void *ctx)
{
  memset(h->keys, 0, sizeof(h->keys));
  h->n = 0;
  h->fire = fire;
  h->flushed = flushed;
  h->ctx = ctx;
  (void)uv_timer_init(loop, &h->timer); /* cannot fail on a live loop */
}

static size_t hold_find(const struct watch_hold *h, int wd, const char *name)
{
  size_t i;

  for (i = 0; i < h->n; i++)
    if (h->keys[i].wd == wd && strcmp(h->keys[i].name, name) == 0)
      return i;
  return SIZE_MAX;
}

static void hold_remove(struct watch_hold *h, size_t i)
{
  memmove(&h->keys[i], &h->keys[i + 1], (h->n - i - 1) * sizeof(h->keys[0]));
  h->n--;
  if (h->n == 0)
    (void)uv_timer_stop(&h->timer); /* stopping a timer cannot fail */
}

void hold_put(struct watch_hold *h, int wd, const char *name)
{
  struct watch_hold_key oldest;

  if (hold_find(h, wd, name) != SIZE_MAX)
    return;
  if (strlen(name) > NAME_MAX) {
    h->fire(h->ctx, wd, name);
    return;
  }
  if (h->n == WATCH_HOLD_SLOTS) {
    oldest = h->keys[0];
    hold_remove(h, 0);
    h->fire(h->ctx, oldest.wd, oldest.name);
  }
  h->keys[h->n].wd = wd;
  (void)str_copy(h->keys[h->n].name, sizeof(h->keys[0].name), name); /* fits */
  h->n++;
  if (!uv_is_active((const uv_handle_t *)&h->timer))
    (void)uv_timer_start(&h->timer, hold_on_timer, WATCH_HOLD_MS, 0);
}

bool hold_take(struct watch_hold *h, int wd, const char *name)
{
  size_t i = hold_find(h, wd, name);

  if (i == SIZE_MAX)
    return false;
  hold_remove(h, i);
  return true;
}

void hold_clear(struct watch_hold *h)
{
  h->n = 0;
  (void)uv_timer_stop(&h->timer); /* stopping a timer cannot fail */
}

void hold_flush(struct watch_hold *h)
{
  struct watch_hold_key k;

  /* fire may hold or take names: take one at a time from the front. */
  while (h->n > 0) {
    k = h->keys[0];
    hold_remove(h, 0);
    h->fire(h->ctx, k.wd, k.name);
  }
}

void hold_close(struct watch_hold *h, uv_close_cb cb)
{
  h->n = 0;
  uv_close((uv_handle_t *)&h->timer, cb);
}
