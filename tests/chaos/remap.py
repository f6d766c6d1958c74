# SPDX-License-Identifier: MIT
"""--remap: the URL mapping changes between daemons, and reloads mid-pass.

As --excludes does with an exclude (excludes.py, whose toggles and
SIGHUPs this reuses), the daemons read a config file (-c) holding
`pretty_urls = true` or `false`, flipped now and then by a restart, with
changes pending and batches an earlier daemon recorded open.  Turning it
on only adds URLs (a/p1.html is also /a/p1); turning it off leaves the
/a/p1 the edges may hold to no later edit, so the daemon owes a flush,
"/*", and records the new mapping only once CloudFront accepted it
(site_remap.c).  Beside (a) to (d):

  (i) an accepted batch covering the old forms precedes the daemon's
      forgetting of them: each time a daemon logs that it recorded the
      new mapping, an invalidation holding "/*" was created at this
      distribution after the mapping was last turned off (by that
      daemon or one before it, whose batch it replayed) and before that
      line.
  (j) nothing lost: when pretty_urls is turned off after a daemon ran
      with it on and had an invalidation made (so the edges were told
      of its /a/p1 forms), an invalidation holding "/*" is created
      after that, before the run ends.  The run always ends with it
      off (the last flip is made before the settle), and the settle's
      empty plan says that no flush is left owed.
"""
from tests.chaos.checker import EPS
from tests.chaos.excludes import Excludes
import os
import random
import time

FLUSH = "/*"
# How a daemon logs that it recorded the new mapping (site_remap.c).
RECORDED = "the new mapping is recorded"
CHANGED = "url mapping changed since the state was recorded"


class Remap(Excludes):
    """Excludes' toggles and reloads, of pretty_urls; a Life's excluded
    flag means "ran with pretty_urls on"."""

    def __init__(self, seed, tmp):  # pylint: disable=super-init-not-called
        # Excludes' fields, with a generator and a file of this mode's.
        self.rng = random.Random(seed * 130363 + 5)
        self.path = os.path.join(tmp, "remap.ini")
        self.on = False
        self.toggles = 0
        self.reloads = 0
        self.flips_off = []  # time.time() of each on -> off
        self.write(False)

    def write(self, on):
        if self.on and not on:
            self.flips_off.append(time.time())
        with open(self.path, "w") as f:
            f.write("[cfwatch]\npretty_urls = %s\n" % (
                "true" if on else "false"))
        self.on = on

    def before_spawn(self, lift=False):
        what = super().before_spawn(lift)
        if what is None:
            return None
        return "pretty_urls %s" % ("on" if self.on else "off")

    def maybe_reload(self, daemon, await_request):
        what = super().maybe_reload(daemon, await_request)
        if what is None:
            return None
        return "SIGHUP (pretty_urls %s)" % ("on" if self.on else "off")

    def last_off_before(self, t):
        flips = [f for f in self.flips_off if f <= t]
        return flips[-1] if flips else None

    # ---- (i)
    def check(self, checker, run):
        bad = 0
        recorded = 0
        flushes = [i for i in checker.invs if FLUSH in i["paths"]]
        for life in run.lives:
            for ln in life.daemon.lines("err"):
                if RECORDED not in ln.text:
                    continue
                recorded += 1
                flip = self.last_off_before(life.spawn)
                if flip is not None and any(
                        flip - EPS < i["t"] < ln.hi + EPS for i in flushes):
                    continue
                bad += 1
                checker.fail(
                    "pid %d recorded the new url mapping at %.3f, but no "
                    "invalidation of %s was created after pretty_urls "
                    "was turned off (%s) and before that" % (
                        life.daemon.pid, ln.hi, FLUSH,
                        "%.3f" % flip if flip is not None else "never"))
        bad += self.check_not_lost(checker, run, flushes)
        run.out.figures["remap_flips"] = self.toggles
        run.out.figures["remap_recorded"] = recorded
        run.out.figures["remap_flushes"] = len(flushes)
        run.out.figures["reloads"] = self.reloads
        return bad

    # ---- (j)
    def check_not_lost(self, checker, run, flushes):
        made = {}  # id(life) -> invalidations it had made here
        for e in checker.creates:
            life = checker.life_of(e)
            if e.get("created") and life is not None:
                made[id(life)] = made.get(id(life), 0) + 1
        bad = 0
        prev = 0.0
        for flip in self.flips_off:
            told = [life for life in run.lives if life.excluded and
                    prev < life.spawn < flip and made.get(id(life))]
            prev = flip
            if not told or any(i["t"] > flip - EPS for i in flushes):
                continue
            bad += 1
            checker.fail(
                "pretty_urls was turned off at %.3f after pid %d ran with "
                "it on and had %d invalidations made, but no invalidation "
                "of %s was created after that" % (
                    flip, told[-1].daemon.pid, made[id(told[-1])], FLUSH))
        return bad
