/* SPDX-License-Identifier: MIT */
/* What a site's running step waits for, for a stop or a reload that
 * waits for the site to close: a request has a grace to finish, work on
 * a disk that does not answer does not (it may never return). */
#include "site_int.h"
#include "util.h"

/* A step's name in "scan of ROOT stuck in ...". */
static const char *site_step_name(const struct site *s)
{
  static const char *const names[] = {
      [SITE_OPENING] = "opening its state",
      [SITE_PULLING] = "pulling its state",
      [SITE_LOADING] = "loading its state",
      [SITE_PROJECTING] = "reading its open batches",
      [SITE_SCANNING] = "its walk or its hashing",
      [SITE_LISTING] = "listing the origin",
      [SITE_GROUNDING] = "recording the origin as its baseline",
      [SITE_REFRESHING] = "asking CloudFront what is in progress",
      [SITE_PLANNING] = "planning",
      [SITE_BASELINING] = "recording a baseline",
      [SITE_UPLOADING] = "running upload_cmd",
      [SITE_WAITING] = "waiting for room at CloudFront",
      [SITE_INTENDING] = "recording its batches",
      [SITE_MARKING] = "recording its uploads",
      [SITE_SENDING] = "sending an invalidation",
      [SITE_ACCEPTING] = "recording an acceptance",
      [SITE_DELETING] = "deleting from the origin",
      [SITE_COMMITTING] = "recording a batch",
      [SITE_RECORDING] = "recording file stats",
      [SITE_COMPACTING] = "compacting its state",
      [SITE_RELEASING] = "freeing its pass",
  };

  /* The first walk starts with the open and outlives a failed one. */
  if (s->scan != NULL && s->st != SITE_SCANNING)
    return "its first walk";
  if ((size_t)s->st < ARRAY_SIZE(names) && names[s->st] != NULL)
    return names[s->st];
  return "closing";
}

/* Steps that wait for the network or a child (or a timer, which a close
 * stops at once); every other one runs on the thread pool. */
static bool site_step_is_net(const struct site *s)
{
  if (s->scan != NULL)
    return false;
  switch (s->st) {
  case SITE_PULLING:
  case SITE_LISTING:
  case SITE_REFRESHING:
  case SITE_UPLOADING:
  case SITE_WAITING:
  case SITE_SENDING:
  case SITE_DELETING:
    return true;
  default:
    return false;
  }
}

void site_waits(const struct site *s, struct site_wait_info *out)
{
  out->step = site_step_name(s);
  out->scan = s->scan != NULL;
  out->since_ms = s->pass_start;
  if (s->st == SITE_IDLE || s->st == SITE_CLOSED)
    out->kind = s->scan != NULL ? SITE_WAIT_DISK : SITE_WAIT_NONE;
  else
    out->kind = site_step_is_net(s) ? SITE_WAIT_NET : SITE_WAIT_DISK;
}
