/* SPDX-License-Identifier: MIT */
/* What a stop or a reload of the daemon still waits for: a request,
 * which gets a grace, or work on the disk, which a file system that does
 * not answer may hold for ever (app_watch.c decides). */
#include "daemon_int.h"

/* The site a stop waits for: the one closing, or one not told to yet. */
static const struct site *dsite_pending(const struct dsite *ds)
{
  return ds->gone != NULL ? ds->gone : ds->site;
}

bool daemon_requests(const struct daemon *d)
{
  struct site_wait_info w;
  size_t i;

  for (i = 0; i < d->n; i++) {
    if (dsite_pending(&d->sites[i]) == NULL)
      continue;
    site_waits(dsite_pending(&d->sites[i]), &w);
    if (w.kind == SITE_WAIT_NET)
      return true;
  }
  return false;
}

size_t daemon_stuck(const struct daemon *d, daemon_stuck_fn each, void *arg)
{
  struct site_wait_info w;
  const struct dsite *ds;
  size_t n = 0;
  size_t i;

  for (i = 0; i < d->n; i++) {
    ds = &d->sites[i];
    if (dsite_pending(ds) == NULL)
      continue;
    site_waits(dsite_pending(ds), &w);
    if (w.kind != SITE_WAIT_DISK)
      continue;
    if (w.since_ms == 0) /* the first pass has not begun: since the start */
      w.since_ms = ds->start_ms;
    each(arg, ds->cfg->root, &w, uv_now(d->o.loop) - w.since_ms);
    n++;
  }
  return n;
}
