/* SPDX-License-Identifier: MIT */
/* What a pass's diff found decides the rest of it: the count, the
 * objects kept for want of consent (ground.h), the mass-deletion guard
 * (guard.h), and what a first run does.  site.c makes the transitions;
 * these only judge, log and say. */
#include <errno.h>

#include "guard.h"
#include "site_int.h"

static bool site_deletes_allowed(const struct site *s)
{
  return s->cfg->allow_delete || (s->flags & SITE_ALLOW_DELETE) != 0;
}

/* Objects whose bytes cfwatch never knew (a grounded first run's objects
 * without a file) are deleted only when allowed: ground.h.  They leave
 * the pass and stay pending; the rest goes on. */
static void site_keep_unknown(struct site *s)
{
  size_t i;
  size_t n = 0;

  for (i = 0; i < s->n_changes; i++) {
    if (change_kind(&s->changes[i]) == CHANGE_DELETED &&
        !site_deletes_allowed(s) &&
        ground_unknown_bytes(&s->changes[i].entry)) {
      tree_entry_free(&s->changes[i].entry);
      s->rep.kept++;
      continue;
    }
    s->changes[n++] = s->changes[i];
  }
  s->n_changes = n;
  if (s->rep.kept > 0)
    log_msg(s->o.log, LOG_WARN,
            "%s: %zu objects under %s have no file, and cfwatch never "
            "recorded their bytes (its state was lost, or another tool "
            "writes there): kept, neither deleted nor invalidated, until "
            "deletions are allowed (--allow-delete); exclude their keys to "
            "leave them for good",
            s->cfg->root, s->rep.kept, s->cfg->origin);
}

/* A grounded first run scans twice: the second count is the pass's. */
void site_count(struct site *s)
{
  size_t i;

  s->rep.n_changes = 0;
  s->rep.n_deleted = 0;
  s->rep.kept = 0;
  site_keep_unknown(s);
  for (i = 0; i < s->n_changes; i++) {
    if (change_kind(&s->changes[i]) == CHANGE_TOUCHED)
      continue;
    s->rep.n_changes++;
    if (change_kind(&s->changes[i]) == CHANGE_DELETED)
      s->rep.n_deleted++;
  }
}

/* How many files that need hashing a pass takes in (scan.h): a pass
 * that records is bounded by pass_files, so that its memory stays flat
 * however much changed (issue 13); the passes that follow take the
 * rest, and a later pass's wildcards take the files the earlier ones
 * sent as free to evict (passrun.h), so a rewrite of every file costs a
 * wildcard a pass.  A pass that records nothing reports the whole
 * change in one: `plan` and `status`, and a dry run that does not
 * record what it prints (no pass could follow it: each would take in
 * the same files again). */
size_t site_pass_bound(const struct site *s)
{
  if (s->o.mode == SITE_PLAN || (!site_sends(s) && !site_records_printed(s)))
    return 0;
  return (size_t)s->cfg->pass_files;
}

/* A pass that left files for a later one is followed at once by a pass
 * over the whole tree (no event is left to name those files), if that
 * pass can get further than this one did.  Not after a failed or held
 * pass, which recorded nothing and has a rule of its own for when it
 * runs again; nor when the files this pass took in stay pending, since
 * the next would take them in again and no more: a budget that held
 * changes back, or files that could all not be read (a pass that
 * records nothing is not bounded: site_pass_bound). */
bool site_defers(const struct site *s)
{
  const struct site_report *r = &s->rep;

  if (r->deferred == 0 || r->status < 0 || r->held > 0 || s->closing)
    return false;
  if ((s->planned && s->plan.n_left > 0) || r->n_failed >= r->n_hashed)
    return false;
  log_msg(s->o.log, LOG_INFO,
          "%s: %zu more files to look at than one pass takes in "
          "(pass_files); another pass follows",
          s->cfg->root, r->deferred);
  return true;
}

bool site_held(struct site *s)
{
  const struct site_config *c = s->cfg;

  if (s->o.mode == SITE_PLAN || site_deletes_allowed(s))
    return false;
  return guard_mass_deletion(s->rep.n_deleted, manifest_count(site_view(s)),
                             c->max_delete, c->max_delete_share);
}

static void site_log_baseline(const struct site *s, bool records)
{
  /* Loud when it sends: a lost state dir looks just like a first run. */
  log_msg(s->o.log, site_sends(s) ? LOG_WARN : LOG_INFO,
          "%s: no state in %s yet: %s a baseline of %zu files and "
          "invalidating nothing (--all invalidates every file)%s",
          s->cfg->root, site_state_home(s->cfg),
          records ? "recording" : "would record", s->n_changes,
          s->cfg->origin != NULL ? "; a run that sends compares the tree "
                                   "with the bucket instead"
                                 : "");
}

/* `once` that would record a silent baseline: refused unless asked. */
void site_refuse_baseline(struct site *s)
{
  struct cfw_err err = {0};

  (void)cfw_err_set(
      &err, -ENOENT,
      "%s: no state in %s: nothing was recorded or invalidated. On a first "
      "deploy, run again with --baseline (records the %zu files as they "
      "are). If the state was lost (an evicted CI cache), pages changed "
      "since the last deploy may be stale at the edge: run again with --all "
      "(invalidates every file) instead",
      s->cfg->root, site_state_home(s->cfg), s->n_changes);
  cfw_err_class(&err, CFW_CLASS_BASELINE);
  site_fail(s, -ENOENT, &err);
}

/* A first run: the bucket when there is one to list; else a refusal
 * (`once` that would record a silent baseline), a report (plan, and a
 * one-shot dry run with an origin, which must leave the comparison with
 * the bucket to the run that sends), or a baseline. */
enum site_first site_first_choice(struct site *s)
{
  if (s->s3 != NULL)
    return SITE_FIRST_GROUND;
  s->rep.baseline = true;
  if (s->o.mode == SITE_ONCE && site_sends(s) && !s->o.baseline)
    return SITE_FIRST_REFUSE;
  if (s->o.mode == SITE_PLAN ||
      (s->o.mode == SITE_ONCE && s->cfg->origin != NULL)) {
    site_log_baseline(s, false);
    return SITE_FIRST_REPORT;
  }
  site_log_baseline(s, true);
  return SITE_FIRST_BASELINE;
}

void site_log_held(const struct site *s)
{
  log_msg(s->o.log, LOG_WARN,
          "%s: %zu of %zu files are gone: more than max_delete (%llu) or "
          "max_delete_share (%g) allow, as when a build empties its folder "
          "first; nothing is uploaded or invalidated until %s (--allow-delete "
          "sends it now)",
          s->cfg->root, s->rep.n_deleted, manifest_count(site_view(s)),
          (unsigned long long)s->cfg->max_delete, s->cfg->max_delete_share,
          s->o.mode == SITE_WATCH ? "the folder has been quiet for "
                                    "delete_grace_ms"
                                  : "you allow it");
}
