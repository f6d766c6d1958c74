# SPDX-License-Identifier: MIT
"""One-shot measures on one tree (issues 7 and 13): hashing everything
(`once --all`, `plan --all`) against `find | xargs sha256sum`; a
no-change `plan` against the getdents64+statx floor, `find -printf` and
`rsync -n -a`; and a same-bytes rewrite of a tenth of the files, of
which exactly that tenth must be hashed and nothing planned.

Every time is the best of --repeat rounds, cfwatch and its peers
interleaved within each round, after a discarded warm-up run of each."""

import os
import re
import time

from bench import peers
from bench.procs import BenchError, log, run_cmd, run_pipeline, run_seq
from bench.report import Row, fmt_ratio, fmt_s
from bench.trees import RACY_WAIT_S, rewrite_same

GOAL_FULL_RATIO = 1.2  # issue 7: full hash vs find | xargs sha256sum
GOAL_FLOOR_RATIO = 1.3  # issue 13: no-change plan vs getdents64+statx

RE_ONCE = re.compile(r": (\d+) files, (\d+) hashed, (\d+) ms")


def hashed(run, n_files=None):
    """(files, hashed) from once/plan's debug line."""
    m = RE_ONCE.search(run.err)
    if not m:
        raise BenchError("no 'N files, M hashed' line in:\n" + run.err)
    files, n_hashed = int(m.group(1)), int(m.group(2))
    if n_files is not None and files != n_files:
        raise BenchError("scanned %d files, expected %d" % (files, n_files))
    return files, n_hashed


class Scan:
    """The one-shot measures of one tree, into ctx.rows and ctx.fig."""

    def __init__(self, ctx, tree):
        self.c = ctx
        self.t = tree
        self.n = len(tree.paths)

    def plan(self, state, *extra):
        return run_cmd(self.c.cf("plan", "-v", "--state-dir", state,
                                 *extra, self.t.root),
                       capture_out=True).check()

    def once_all(self, state):
        return run_cmd(self.c.cf("once", "--dry-run", "--all", "-v",
                                 "--state-dir", state, self.t.root)).check()

    def once(self, state):
        """A dry `once` (records what it finds in state)."""
        return run_cmd(self.c.cf("once", "--dry-run", "-v", "--state-dir",
                                 state, self.t.root),
                       capture_out=True).check()

    def peer_hash(self):
        return run_pipeline([["find", self.t.root, "-type", "f", "-print0"],
                             ["xargs", "-0", "sha256sum"]]).check()

    def full_hash(self):
        """Every file hashed, against find | xargs sha256sum.  Returns a
        state dir with a complete, non-racy manifest."""
        c, reps = self.c, self.c.a.repeat
        log("full hash: warm-up")
        self.peer_hash()
        self.plan(c.state_dir("none"), "--all")
        peer, once, plan = [], [], []
        for i in range(reps):
            log("full hash: round %d/%d" % (i + 1, reps))
            peer.append(self.peer_hash())
            once.append(self.once_all(c.state_dir("full")))
            plan.append(self.plan(c.state_dir("none"), "--all"))
        for r in once + plan:
            files, n_hashed = hashed(r, self.n)
            if n_hashed != files:
                raise BenchError("full hash: %d of %d hashed" % (n_hashed,
                                                                 files))
        bp = min(peer, key=lambda r: r.wall)
        bo = min(once, key=lambda r: r.wall)
        bpl = min(plan, key=lambda r: r.wall)
        for name, r in (("`once --dry-run --all` (fresh state)", bo),
                        ("`plan --all`", bpl)):
            ratio, res = c.judge.ratio("full hash, " + name, r.wall,
                                       bp.wall, GOAL_FULL_RATIO)
            c.rows.append(Row("full hash, " + name, fmt_s(r.wall),
                              fmt_s(bp.wall), fmt_ratio(ratio),
                              "≤ %.1f× (#7)" % GOAL_FULL_RATIO, res))
        c.rows.append(Row("  CPU user+sys of those runs (once / peer)",
                          "%.2f+%.2f s" % (bo.user, bo.sys),
                          "%.2f+%.2f s" % (bp.user, bp.sys)))
        c.fig.update(full_once_s=bo.wall)
        return os.path.join(c.work, "state", "full")

    def no_change(self, s0):
        """A no-change `plan` against walkfloor (the goal), find -printf
        and rsync -n -a, interleaved."""
        c, reps = self.c, self.c.a.repeat
        floor_bin = c.walkfloor()
        walkers = [("walkfloor", lambda: peers.walkfloor(floor_bin,
                                                         self.t.root)),
                   ("find", lambda: peers.find_stat(self.t.root))]
        if peers.RSYNC:
            walkers.append(("rsync", lambda: peers.rsync_check(self.t.root)))
        log("no-change check: warm-up")
        for _, fn in walkers:
            fn()
        self.plan(s0)
        runs = {name: [] for name, _ in walkers}
        runs["plan"] = []
        for i in range(reps):
            log("no-change check: round %d/%d" % (i + 1, reps))
            for name, fn in walkers:
                runs[name].append(fn())
            runs["plan"].append(self.plan(s0))
        self.check_no_change(runs)
        best = {k: min(v, key=lambda r: r.wall) for k, v in runs.items()}
        self.no_change_rows(best)
        return best["plan"]

    def check_no_change(self, runs):
        for r in runs["plan"]:
            _, n_hashed = hashed(r, self.n)
            if n_hashed != 0 or r.out.strip():
                raise BenchError("no-change plan hashed %d files and "
                                 "planned:\n%s" % (n_hashed, r.out[:500]))
        for r in runs["walkfloor"]:
            files = peers.walkfloor_counts(r)[0]
            if files != self.n:
                raise BenchError("walkfloor counted %d files, not %d" % (
                    files, self.n))

    def no_change_rows(self, best):
        c = self.c
        pl, fl = best["plan"], best["walkfloor"]
        ratio, res = c.judge.ratio("no-change plan vs floor", pl.wall,
                                   fl.wall, GOAL_FLOOR_RATIO)
        c.rows.append(Row("no-change `plan` (0 hashed) vs getdents64+statx "
                          "floor", fmt_s(pl.wall), fmt_s(fl.wall),
                          fmt_ratio(ratio),
                          "≤ %.1f× (#13)" % GOAL_FLOOR_RATIO,
                          res))
        c.rows.append(Row("  CPU user+sys (plan / floor)",
                          "%.2f+%.2f s" % (pl.user, pl.sys),
                          "%.2f+%.2f s" % (fl.user, fl.sys)))
        for name, label in (("find", "`find -printf '%s %T@ %i'`"),
                            ("rsync", "`rsync -n -a ROOT/ ROOT/`")):
            if name in best:
                r = best[name]
                c.rows.append(Row("  the same `plan` vs " + label,
                                  fmt_s(pl.wall), fmt_s(r.wall),
                                  fmt_ratio(pl.wall / r.wall)))
            else:
                c.rows.append(Row("  the same `plan` vs " + label,
                                  fmt_s(pl.wall), "not installed"))
        c.fig.update(nochange_s=pl.wall, floor_s=fl.wall)

    def same_bytes(self, s0):
        """A tenth of the files rewritten with the same bytes: only those
        are hashed, and nothing is planned."""
        c, reps = self.c, self.c.a.repeat
        chosen = self.t.paths[::10]
        k = len(chosen)
        log("rewriting %d files with the same bytes" % k)
        rewrite_same(self.t, chosen)
        listing = os.path.join(c.work, "rewritten.list")
        with open(listing, "wb") as f:
            f.write(b"".join(self.t.path(r).encode() + b"\0"
                             for r in chosen))
        plan, peer = [], []
        for _ in range(reps):
            plan.append(self.plan(s0))
            peer.append(run_seq([
                peers.find_stat(self.t.root),
                run_pipeline([["xargs", "-0", "sha256sum"]],
                             stdin_path=listing).check()]))
        counts = [hashed(r, self.n)[1] for r in plan]
        planned = max(len(r.out.split()) for r in plan)
        worst = max(counts, key=lambda h: abs(h - k))
        res = c.judge.exact("same-bytes rewrite: hashed count", worst, k)
        if planned:
            res = c.judge.exact("same-bytes rewrite: planned paths",
                                planned, 0)
        bpl = min(r.wall for r in plan)
        bp = min(r.wall for r in peer)
        c.rows.append(Row("%d files rewritten, same bytes: hashed" % k,
                          "%d hashed, %d planned" % (worst, planned),
                          goal="%d hashed, 0 planned" % k, result=res))
        c.rows.append(Row("  its `plan` time vs find -printf + sha256sum "
                          "of those", fmt_s(bpl), fmt_s(bp),
                          fmt_ratio(bpl / bp)))
        self.refresh(s0)

    def refresh(self, s0):
        """Records the rewritten files' new stats in s0 (a dry `once`
        hashes them and plans nothing), so that the daemon that starts
        from s0 next hashes nothing."""
        time.sleep(RACY_WAIT_S)
        r = self.once(s0)
        if r.out.strip():
            raise BenchError("refresh after the same-bytes rewrite "
                             "planned:\n" + r.out[:500])
