# SPDX-License-Identifier: MIT
"""The chaos test's checker: the stand-in's invalidations against the
model of every file's history (see the package's docstring)."""
import re

from tests.chaos.model import stand_in_time, url_file, urls
from tests.chaos.tagcheck import TagCheck

# Slack for the stand-in's millisecond timestamps.
EPS = 0.002
# A daemon needs far longer than this from its start to its first
# request; see Checker.life_of.
FIRST_REQUEST_S = 0.005
SCANNED_MS = re.compile(r": scanned \d+ files, .* in (\d+) ms$")


# How the daemon's acceptance line marks a batch an earlier daemon
# recorded (site_send.c).
EARLIER_RUN = "recorded by an earlier run"


class Checker:
    """Checks one distribution's invalidations (dist None: the only
    one).  With several distributions (--two-dists) each is checked on
    its own: every one must have been told every change, once; the
    first checker also checks what concerns every request."""

    def __init__(self, run, dist=None, primary=True):
        self.run = run
        self.m = run.work.model
        self.cf = run.cf
        self.out = run.out
        self.dist = dist
        self.primary = primary
        if dist is None:
            self.fail = run.fail
        else:
            self.fail = lambda msg: run.fail("distribution %s: %s"
                                             % (dist, msg))

    def check(self):
        self.out.figures["changes"] = self.m.changes
        self.out.figures["noops"] = self.m.noops
        if self.m.hist is None:
            return  # no baseline: the failure says why
        log = self.cf.log()
        invs = self.cf.invalidations(distribution=self.dist)
        if self.dist is not None:
            log = [e for e in log if e.get("service") != "cloudfront"
                   or e.get("distribution") in (None, self.dist)]
        # With an S3 origin, `once --all` deployed the tree before the
        # baseline (Run.start_origin): none of its requests count.
        base = self.run.base_seq
        before = {e.get("invalidation") for e in log if e["seq"] <= base}
        self.creates = sorted((e for e in log if e["operation"] == "create"
                               and e["seq"] > base),
                              key=lambda e: (stand_in_time(e["time"]),
                                             e["seq"]))
        self.invs = []
        by_id = {}
        for inv in invs:
            if inv["id"] in before:
                continue
            inv = dict(inv)
            inv["t"] = stand_in_time(inv["create_time"])
            self.invs.append(inv)
            by_id[inv["id"]] = inv
        for e in self.creates:
            if e.get("created"):
                inv = by_id[e["invalidation"]]
                inv["lb"] = min(inv.get("lb", inv["t"]), self.lower_bound(e))
        self.invs.sort(key=lambda i: i["t"])
        # Tag items (--cache-tags) against every invalidation, the
        # deploy's included: it covered each file by path.
        self.tags = (TagCheck(log, invs, self.m.hist, self.path_covers)
                     if getattr(self.run, "tags", False) else None)
        if self.primary:
            self.check_requests(self.cf.log())
            self.run.sanitizer_reports()
        self.check_covered()
        self.check_no_unchanged()
        self.check_no_duplicates()
        if getattr(self.run, "excl", None):
            self.run.excl.check(self, self.run)
        self.figures(log)

    # ---- helpers
    def life_of(self, entry):
        """The daemon that sent a request.  The stand-in stamps a request
        once it has read it, which can be just after its sender was
        killed; the next daemon is started RESTART_DELAY_S after a kill
        and needs far longer than FIRST_REQUEST_S to send anything."""
        t = stand_in_time(entry["time"])
        found = None
        for life in self.run.lives:
            if life.spawn + FIRST_REQUEST_S <= t:
                found = life
        return found

    def lower_bound(self, entry):
        """The earliest moment the batch of this create request can have
        been hashed.  A batch comes from one scan, logged as "scanned ...
        in N ms", and its retries scan nothing; so the bound is the start
        of the last scan logged before the request was sent (known by
        time), or before the daemon logged the invalidation's Id (known
        by order, when the daemon got the 201), else the daemon's start.
        A batch the daemon says an earlier daemon recorded was hashed by
        one of those: the first daemon's start, then."""
        t = stand_in_time(entry["time"])
        life = self.life_of(entry)
        if life is None:
            self.fail("create request #%d at %s from no daemon we ran"
                      % (entry["seq"], entry["time"]))
            return t
        lb = life.spawn
        by_order = None
        id_seen = False
        for ln in life.daemon.lines("err"):
            lo, hi, line = ln.lo, ln.hi, ln.text
            if entry["invalidation"] in line:
                # Every line naming the Id is read: at -v the first is
                # "invalidation ... accepted", before the batch line
                # that says who recorded the batch.
                if EARLIER_RUN in line:
                    # Recorded, so hashed, by a daemon before this one,
                    # perhaps several lives back: its scans say nothing.
                    return self.run.lives[0].spawn
                id_seen = True
                continue
            m = None if id_seen else SCANNED_MS.search(line)
            if m:
                start = lo - (int(m.group(1)) + 1) / 1000
                by_order = start
                if hi <= t:
                    lb = max(lb, start)
        if not id_seen:
            by_order = None  # the Id never showed
        if by_order is not None:
            lb = max(lb, by_order)
        return lb

    @staticmethod
    def path_covers(paths, rel):
        for u in urls(rel):
            if not any(p == u or (p.endswith("*") and u.startswith(p[:-1]))
                       for p in paths):
                return False
        return True

    def covers(self, inv, rel):
        return self.path_covers(inv["paths"], rel) or (
            self.tags is not None and self.tags.covers(inv, rel))

    def files_of(self, path):
        if path.startswith("#"):
            rel = self.tags.file_of(path) if self.tags else None
            return [rel] if rel is not None else []
        if path.endswith("*"):
            return [rel for rel in self.m.hist
                    if any(u.startswith(path[:-1]) for u in urls(rel))]
        rel = url_file(path)
        # --remap: pretty_urls names a/p1.html /a/p1 too.
        if rel not in self.m.hist and rel + ".html" in self.m.hist:
            rel += ".html"
        return [rel]

    @staticmethod
    def show(state):
        if state is None:
            return "absent"
        return repr(state.split(b"\n")[0].decode())

    # ---- (d) what every request must satisfy
    def check_requests(self, log):
        for e in log:
            if e["signature_ok"] is False:
                self.fail("request #%d failed its signature: %s" % (
                    e["seq"], e.get("auth_error")))
            if e.get("error_code") == "StandInBug":
                self.fail("stand-in bug at request #%d: %s" % (
                    e["seq"], e.get("detail")))
            detail = e.get("detail") or ""
            if "caller reference" in detail:
                self.fail("request #%d reused a CallerReference for other "
                          "paths: %s" % (e["seq"], detail))
        for inv in self.invs:
            if inv["warnings"]:
                self.fail("invalidation %s has warnings: %s" % (
                    inv["id"], inv["warnings"]))

    # ---- (a) every change reached CloudFront after it happened
    def check_covered(self):
        stale_exempt = []
        for rel in sorted(self.m.hist):
            if not self.m.changed(rel):
                continue
            final = self.m.cur.get(rel)
            last_t0 = self.m.hist[rel][-1][0]
            covering = [i for i in self.invs if self.covers(i, rel)]
            if any(i["t"] + EPS > last_t0 for i in covering):
                continue
            acked = {self.m.first(rel)}
            for i in covering:
                acked |= self.m.states_in(rel, i.get("lb", i["t"]) - EPS,
                                          i["t"] + EPS)
            if final in acked:
                stale_exempt.append(rel)
                self.note_exempt(rel, final, last_t0, covering)
                continue
            self.fail(
                "%s: final state %s (from %.3f) was never sent: %s" % (
                    rel, self.show(final), last_t0,
                    "no invalidation covers it" if not covering else
                    "the last invalidation covering it, %s, was created at "
                    "%s" % (covering[-1]["id"], covering[-1]["create_time"])))
        self.out.figures["exempt"] = len(stale_exempt)
        self.exempt = stale_exempt

    def note_exempt(self, rel, final, last_t0, covering):
        """A file whose last change was sent by no later invalidation,
        although its final bytes were acknowledged before: by design
        (the manifest already holds those bytes; usually the file went
        away and came back between two batches).  When the last
        invalidation of the file was created while it held other bytes,
        CloudFront may have cached those since: a risk the issue's rule
        does not cover, counted as stale_risk."""
        risky = [i for i in covering[-1:]
                 if final not in self.m.states_in(rel, i["t"] - EPS,
                                                  i["t"] + EPS)]
        if risky:
            self.out.figures["stale_risk"] = \
                self.out.figures.get("stale_risk", 0) + 1
            if self.run.strict:
                self.fail("%s: final %s again since %.3f, never sent again; "
                          "but the last invalidation covering it, %s (%s), "
                          "was created while it held other bytes, which "
                          "CloudFront may have cached since (--strict)" % (
                              rel, self.show(final), last_t0, risky[-1]["id"],
                              risky[-1]["create_time"]))
        self.out.notes.append(
            "%s: final %s again since %.3f, not sent again (acknowledged "
            "before)%s" % (rel, self.show(final), last_t0,
                           "; but %s was created while it held other bytes"
                           % risky[-1]["id"] if risky else ""))

    # ---- (b) nothing for files that never changed
    def check_no_unchanged(self):
        """An exact path must name a file that had changed when the
        invalidation was created.  A wildcard (the planner's choice to
        save paths) must cover at least one; the unchanged files it
        evicts are counted, not failed."""
        wildcards = evicted = 0
        for inv in self.invs:
            for p in inv["paths"]:
                rels = self.files_of(p)
                changed = [rel for rel in rels if self.changed_by(rel,
                                                                  inv["t"])]
                if p.endswith("*"):
                    wildcards += 1
                    evicted += len(rels) - len(changed)
                if not changed:
                    self.fail("invalidation %s (%s) sent %s, but %s had "
                              "not changed by then" % (
                                  inv["id"], inv["create_time"], p,
                                  " ".join(rels) or "no file"))
        self.out.figures["wildcards"] = wildcards
        self.out.figures["evicted"] = evicted

    def changed_by(self, rel, t):
        return rel in self.m.hist and any(
            t0 < t + EPS for t0, _, _ in self.m.hist[rel][1:])

    # ---- (c) no change sent twice
    def check_no_duplicates(self):
        last = {}
        for inv in self.invs:
            key = tuple(sorted(inv["paths"]))
            prev = last.get(key)
            last[key] = inv
            if prev is None:
                continue
            lo = prev.get("lb", prev["t"]) - EPS
            rels = {f for p in key for f in self.files_of(p)}
            # A same-bytes rewrite in between counts: a daemon cannot
            # tell it from A -> B -> A by the stat, and the edges may
            # have cached B, so sending again is its rule (site_moved).
            if not any(self.m.changes_in(rel, lo, inv["t"] + EPS) or
                       self.m.rewritten_in(rel, lo, inv["t"] + EPS)
                       for rel in rels):
                self.fail("invalidations %s (%s) and %s (%s) have the same "
                          "%d paths (%s) with no change to those files in "
                          "between" % (prev["id"], prev["create_time"],
                                       inv["id"], inv["create_time"],
                                       len(key), " ".join(key[:6])))

    def figures(self, log):
        f = self.out.figures
        f["faults"] = sum(1 for e in log if e.get("fault"))
        kinds = {}
        for e in log:
            if e.get("fault"):
                kinds[e["fault"]] = kinds.get(e["fault"], 0) + 1
        f["fault_kinds"] = kinds
        f["requests"] = len(self.creates)
        f["invalidations"] = len(self.invs)
        f["replays"] = sum(i["replays"] for i in self.invs)
        f["paths_sent"] = sum(len(i["paths"]) for i in self.invs)
        f["tag_items"] = sum(1 for i in self.invs for p in i["paths"]
                             if p.startswith("#"))
        f["paths_needed"] = sum(
            len(urls(rel)) for rel in self.m.hist
            if self.m.cur.get(rel) != self.m.first(rel))
        f["files_changed"] = sum(1 for rel in self.m.hist
                                 if self.m.changed(rel))

