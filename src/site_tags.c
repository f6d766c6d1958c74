/* SPDX-License-Identifier: MIT */
/* Cache tags on an S3 origin (cache_tag_header, cachetag.h): whether the
 * distribution stores them, checked once per site (a run, a daemon's
 * start or reload), and the TREE_TAGGED flag of what a pass records.
 *
 * A tag a distribution does not store invalidates nothing there, which
 * would leave stale pages silently; so a file goes by its tag only once
 * GetDistributionConfig showed, for every distribution of the site (one
 * plan goes to all), a CacheTagConfig naming the very header
 * the uploads carry (header names ignore case, RFC 9110 5.1).  Until
 * then, and for good if it names another header, has none or cannot be
 * read, files go by their URL paths; uploads carry the tag all the
 * same, so a fixed distribution takes tags from the next run on. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cachetag.h"
#include "site_int.h"

void site_tags_init(struct site *s)
{
  s->tags_i = 0;
  if (s->cfg->cache_tag_header == NULL || s->cfg->origin == NULL)
    s->tags = SITE_TAGS_OFF;
  else if (s->o.mode == SITE_PLAN)
    s->tags = SITE_TAGS_ASSUMED;
  else
    s->tags = SITE_TAGS_UNKNOWN;
}

const char *site_tags_header(const struct site *s)
{
  return s->cfg->origin != NULL ? s->cfg->cache_tag_header : NULL;
}

bool site_tags_usable(const struct site *s)
{
  return s->tags == SITE_TAGS_OK || s->tags == SITE_TAGS_ASSUMED;
}

/* The distribution being checked: each in turn, since one plan goes to
 * all of them and a tag any of them does not store drops nothing there. */
static const char *site_tags_dist(const struct site *s)
{
  return s->tags_i < s->n_dists ? s->dists[s->tags_i].id : "";
}

static void site_tags_refuse(struct site *s, const char *why)
{
  s->tags = SITE_TAGS_REFUSED;
  log_msg(s->o.log, LOG_WARN,
          "%s: distribution %s: %s; changed files are invalidated by URL "
          "path, not by cache tag (uploads still carry %s)",
          s->cfg->root, site_tags_dist(s), why, s->cfg->cache_tag_header);
}

static void site_tags_judge(struct site *s,
                            const struct cf_distribution_config *dc)
{
  char why[600];

  if (dc->has_cache_tags &&
      strcasecmp(dc->cache_tag_header, s->cfg->cache_tag_header) == 0) {
    log_msg(s->o.log, LOG_DEBUG, "%s: distribution %s: CacheTagConfig names %s",
            s->cfg->root, site_tags_dist(s), dc->cache_tag_header);
    if (++s->tags_i == s->n_dists)
      s->tags = SITE_TAGS_OK; /* every one of them: by tag */
    return;
  }
  if (!dc->has_cache_tags)
    site_tags_refuse(s, "no CacheTagConfig, so it stores no cache tag");
  else {
    (void)snprintf(why, sizeof(why),
                   "its CacheTagConfig names %s, not cache_tag_header %s",
                   dc->cache_tag_header, s->cfg->cache_tag_header);
    site_tags_refuse(s, why);
  }
}

static void site_tags_on_config(struct cf_result *r, void *arg)
{
  struct site *s = arg;
  char why[600];

  if (r->verdict == CF_DONE) {
    site_tags_judge(s, &r->config);
  } else if (r->verdict == CF_FATAL) {
    (void)snprintf(why, sizeof(why),
                   "GetDistributionConfig failed (%s; cache tags need "
                   "cloudfront:GetDistributionConfig)",
                   r->err.msg);
    site_tags_refuse(s, why);
  } else {
    if (r->verdict == CF_REFRESH)
      cf_client_drop_creds(s->dists[s->tags_i].cf);
    if (!s->tags_warned)
      log_msg(s->o.log, LOG_WARN,
              "%s: could not read distribution %s's CacheTagConfig (%s): "
              "by URL path until it can be read",
              s->cfg->root, site_tags_dist(s), r->err.msg);
    s->tags_warned = true;
  }
  if (s->closing) {
    site_advance(s); /* cancels */
    return;
  }
  if (s->tags == SITE_TAGS_UNKNOWN && r->verdict == CF_DONE) {
    site_tags_check(s); /* the next distribution */
    return;
  }
  site_refresh(s);
}

void site_tags_check(struct site *s)
{
  struct cfw_err err = {0};

  if (s->tags != SITE_TAGS_UNKNOWN || s->tags_i >= s->n_dists) {
    site_refresh(s);
    return;
  }
  if (cf_get_distribution_config(s->dists[s->tags_i].cf, site_tags_dist(s),
                                 site_tags_on_config, s, &err) < 0) {
    site_tags_refuse(s, err.msg);
    site_refresh(s);
  }
}

void site_tags_mark(struct site *s)
{
  const struct manifest *view = site_view(s);
  const struct tree_entry *old;
  bool tagging = s->s3 != NULL && site_tags_header(s) != NULL;
  struct change *c;
  size_t i;

  for (i = 0; i < s->n_changes; i++) {
    c = &s->changes[i];
    c->entry.flags &= ~TREE_TAGGED;
    if (change_kind(c) == CHANGE_ADDED || change_kind(c) == CHANGE_MODIFIED) {
      /* This pass's upload carries the tag: its commit sets the flag,
       * and one without it (no cache_tag_header) clears it. */
      if (tagging)
        c->entry.flags |= TREE_TAGGED;
    } else if (change_kind(c) == CHANGE_TOUCHED) {
      /* The same bytes: the object at the origin is the one it was. */
      old = manifest_find(view, c->entry.path);
      if (old != NULL && (old->flags & TREE_TAGGED) &&
          memcmp(old->hash, c->entry.hash, sizeof(old->hash)) == 0)
        c->entry.flags |= TREE_TAGGED;
    }
  }
}

void site_tags_log_plan(const struct site *s)
{
  const struct planner_plan *pl = &s->plan;

  if (s->tags == SITE_TAGS_OFF || pl->n == 0)
    return;
  log_msg(s->o.log, LOG_INFO,
          "%s: cache tags: %zu file%s by tag, %zu by path; %zu path%s saved%s",
          s->cfg->root, pl->n_by_tag, pl->n_by_tag == 1 ? "" : "s",
          pl->n_by_path, pl->tag_saved, pl->tag_saved == 1 ? "" : "s",
          s->tags == SITE_TAGS_ASSUMED
              ? " (assuming the distribution's CacheTagConfig names "
                "cache_tag_header: once checks it)"
              : "");
}
