/* SPDX-License-Identifier: MIT */
/* A URL mapping that changed since the state was recorded (urlmapdesc.h):
 * the URLs the edges may hold under the old one are invalidated once, by
 * one or two paths (urlmapdesc_flush), through the pipeline's own
 * intent -> send -> commit, and the new mapping is recorded only once
 * CloudFront accepted them.  So a crash between the intent and the
 * commit sends the recorded batch again on restart, and the flush is
 * never forgotten, nor sent twice over: an open intent that carries it
 * is the flush.  A dry run that records what it prints as told
 * (site_records_printed) records the mapping once it printed the
 * flush, as it does the changes; plan never does.
 *
 * A change that only adds URL forms (pretty_urls, dir_without_slash or
 * query_strings turned on, the rest alike) flushes nothing: every URL
 * the edges may hold under the old mapping is still one of its file's
 * URLs (or under its wildcard), so the next edit invalidates it as
 * before.  It is recorded as it is found, before any record made under
 * it (state_set_urlmap).  Flushing anyway would be simpler, but would
 * evict the whole site for a change that makes nothing stale. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "site_int.h"

/* The current mapping's text, in out (initialised by the caller). */
static int site_remap_now(const struct site *s, struct buf *out)
{
  struct urlmap_desc d;

  urlmap_describe(s->um, &d);
  return urlmapdesc_format(&d, out);
}

/* The recorded mapping, if it is neither "" (none: taken as the current
 * one) nor the current one: a copy in *text to parse; NULL otherwise. */
static int site_remap_recorded(const struct site *s, char **text)
{
  const char *rec = state_urlmap(s->state);
  struct buf now;
  int rc;

  *text = NULL;
  if (rec[0] == '\0')
    return 0;
  buf_init(&now, SIZE_MAX / 2);
  rc = site_remap_now(s, &now);
  if (rc == 0 && strcmp(buf_str(&now), rec) != 0) {
    *text = strdup(rec);
    if (*text == NULL)
      rc = -ENOMEM;
  }
  buf_free(&now);
  return rc;
}

/* The flush that the recorded mapping text (parsed in place) needs: a
 * text this cfwatch cannot read (a newer one's) is flushed whole. */
static int site_remap_paths(char *text, struct strlist *out)
{
  struct urlmap_desc was;

  if (urlmapdesc_parse(text, &was) < 0)
    return strlist_push(out, "/*");
  return urlmapdesc_flush(&was, out);
}

int site_remap_flush(const struct site *s, struct strlist *out)
{
  char *text;
  int rc;

  rc = site_remap_recorded(s, &text);
  if (rc == 0 && text != NULL)
    rc = site_remap_paths(text, out);
  free(text);
  return rc;
}

/* True if some path of l is p or a wildcard over it. */
static bool site_remap_covered(const struct strlist *l, const char *p)
{
  size_t n;
  size_t i;

  for (i = 0; i < l->n; i++) {
    n = strlen(l->v[i]);
    if (strcmp(l->v[i], p) == 0 ||
        (n > 0 && l->v[i][n - 1] == '*' && strncmp(l->v[i], p, n - 1) == 0))
      return true;
  }
  return false;
}

bool site_remap_carries(const struct site *s, const struct strlist *paths)
{
  struct strlist flush;
  bool all = true;
  size_t i;

  strlist_init(&flush);
  if (paths == NULL || site_remap_flush(s, &flush) < 0 || flush.n == 0)
    all = false;
  for (i = 0; all && i < flush.n; i++)
    all = site_remap_covered(paths, flush.v[i]);
  strlist_free(&flush);
  return all;
}

bool site_remap_owed(const struct site *s)
{
  struct strlist flush;
  bool owed;
  size_t i;

  strlist_init(&flush);
  /* Out of memory: owed, so the planner meets the same failure. */
  owed = site_remap_flush(s, &flush) < 0 || flush.n > 0;
  strlist_free(&flush);
  for (i = 0; owed && i < state_intent_count(s->state); i++)
    owed = !site_remap_carries(s, &state_intent_at(s->state, i)->paths);
  return owed;
}

bool site_owes(const struct site *s)
{
  return state_intent_count(s->state) > 0 || site_remap_owed(s);
}

/* Records the current mapping, as it is (no log). */
static int site_remap_set(struct site *s, struct cfw_err *err)
{
  struct buf now;
  int rc;

  buf_init(&now, SIZE_MAX / 2);
  rc = site_remap_now(s, &now);
  if (rc == 0)
    rc = state_set_urlmap(s->state, buf_str(&now), err);
  else
    rc = cfw_err_set(err, rc, "out of memory");
  buf_free(&now);
  return rc;
}

/* Logs how the recorded text (parsed in place) differs from the current
 * mapping, and what is done about it: 1 if it only adds URLs, 0 if a
 * flush is owed, or -ENOMEM. */
static int site_remap_log(const struct site *s, char *text)
{
  struct urlmap_desc was;
  struct urlmap_desc now;
  struct strlist flush;
  struct buf what;
  bool known = urlmapdesc_parse(text, &was) == 0;
  bool adds;
  size_t i;
  int rc;

  buf_init(&what, 4096);
  strlist_init(&flush);
  urlmap_describe(s->um, &now);
  adds = known && urlmapdesc_compare(&was, &now) != URLMAPDESC_DROPS;
  /* A cut message costs only words: its buf_add errors are let be. */
  if (known)
    (void)urlmapdesc_what(&was, &now, &what);
  else
    (void)buf_adds(&what, "recorded by another cfwatch");
  rc = known ? urlmapdesc_flush(&was, &flush) : strlist_push(&flush, "/*");
  for (i = 0; rc == 0 && !adds && i < flush.n; i++)
    (void)buf_addf(&what, "%s%s", i == 0 ? "): invalidating " : " and ",
                   flush.v[i]);
  if (rc == 0 && adds)
    log_msg(s->o.log, LOG_INFO,
            "%s: url mapping changed since the state was recorded (%s): it "
            "only adds URLs, so nothing is invalidated for it",
            s->cfg->root, buf_str(&what));
  else if (rc == 0)
    log_msg(s->o.log, LOG_INFO,
            "%s: url mapping changed since the state was recorded (%s once",
            s->cfg->root, buf_str(&what));
  strlist_free(&flush);
  buf_free(&what);
  return rc < 0 ? rc : adds;
}

int site_remap_open(struct site *s, struct cfw_err *err)
{
  char *text;
  int rc;

  /* None recorded (a fresh state, or an older cfwatch's): taken as
   * made under this mapping. */
  if (state_urlmap(s->state)[0] == '\0')
    return site_remap_set(s, err);
  rc = site_remap_recorded(s, &text);
  if (rc == 0 && text != NULL)
    rc = site_remap_log(s, text);
  free(text);
  if (rc < 0)
    return cfw_err_set(err, rc, "out of memory");
  return rc == 1 ? site_remap_set(s, err) : 0;
}

int site_remap_done(struct site *s, struct cfw_err *err)
{
  int rc = site_remap_set(s, err);

  if (rc == 0)
    log_msg(s->o.log, LOG_INFO,
            "%s: the old url mapping's URLs are %s; the new mapping is "
            "recorded",
            s->cfg->root, site_sends(s) ? "invalidated" : "printed (dry run)");
  return rc;
}
