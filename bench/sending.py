# SPDX-License-Identifier: MIT
"""A full rewrite as a user's daemon meets it: really sending, to the
stand-in (tests/standin, loopback TLS), not in a dry run.

A dry run prints each batch and commits it; a sending daemon also
records the batch's intent in its journal before sending it, then
commits it once CloudFront accepted it.  Those steps hold the batch
too, so the peak of a full rewrite is measured here as well (issue
13's "peak RSS during a full rewrite ≤ 1.5× idle RSS").

The daemon starts on a fresh state dir (its baseline hashes the tree),
settles, then every file is rewritten with new bytes; the peak is
VmHWM (reset first) once the stand-in has the invalidation and the
daemon has gone idle."""

import os
import re
import shutil
import time

from bench import peers
from bench.procs import (BenchError, ENV_EXTRA, log, reset_peak_rss,
                         rss_mib, wait_cpu_idle)
from bench.report import Row, fmt_mib, fmt_ratio
from bench.trees import rewrite_new
from tests.e2e.daemon import Daemon
from tests.standin.standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,
                                   StandIn)

GOAL_REWRITE_RSS_RATIO = 1.5  # issue 13, as bench/watch.py
RE_SCANNED = re.compile(r": scanned (\d+) files, hashed (\d+)")


class Sending:
    """The sending daemon's full rewrite of one tree, into ctx.rows."""

    def __init__(self, ctx, tree):
        self.c = ctx
        self.t = tree
        self.n = len(tree.paths)

    def start(self, sd, state):
        env = dict(ENV_EXTRA, AWS_ACCESS_KEY_ID=ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        d = Daemon(None, "-v", "--quiet-ms", self.c.a.quiet_ms, "-d",
                   DISTRIBUTION, "--endpoint", sd.endpoint, "--ca-file",
                   sd.ca_file, "--state-dir", state, self.t.root,
                   binary=self.c.bin, env=env)
        _, m = peers.wait_line(d, RE_SCANNED, 0, 900)
        if int(m.group(1)) != self.n:
            peers.stop(d)
            raise BenchError("sending daemon scanned %s files, not %d"
                             % (m.group(1), self.n))
        wait_cpu_idle(d.pid, "cfwatch", 1.0)
        return d

    def run(self):
        state = self.c.state_dir("sending")
        sd = StandIn(config={"completion_delay": 0})
        try:
            d = self.start(sd, state)
            try:
                self.measure(sd, d)
            finally:
                peers.stop(d)
        finally:
            sd.stop()
            shutil.rmtree(state, ignore_errors=True)

    def measure(self, sd, d):
        idle = rss_mib(d.pid)[0]
        reset_peak_rss(d.pid)
        log("sending: rewriting all %d files with new bytes" % self.n)
        rewrite_new(self.t, self.t.paths, "sending-%d" % os.getpid())
        deadline = time.monotonic() + 900
        while not sd.invalidations():
            if time.monotonic() > deadline or d.proc.poll() is not None:
                raise BenchError("no invalidation after the rewrite\n" +
                                 "\n".join(d.log()[-20:]))
            time.sleep(0.2)
        wait_cpu_idle(d.pid, "cfwatch", 1.0)
        peak = rss_mib(d.pid)[1]
        self.rows(idle, peak, len(sd.invalidations()))

    def rows(self, idle, peak, n_inv):
        c = self.c
        ratio = peak / idle
        if c.judge.sanitized:
            res = "n/a (sanitizer build)"
        else:
            res = c.judge.at_most("sending rewrite peak RSS / idle RSS",
                                  ratio, GOAL_REWRITE_RSS_RATIO, "×")
        c.rows.append(Row(
            "full rewrite, sending to the stand-in: peak RSS vs idle RSS",
            "%s (idle %s)" % (fmt_mib(peak), fmt_mib(idle)), "—",
            fmt_ratio(ratio), "≤ %.1f× idle (#13)" % GOAL_REWRITE_RSS_RATIO,
            res))
        c.rows.append(Row("  %d invalidation%s sent" % (
            n_inv, "" if n_inv == 1 else "s")))
        c.fig.update(sending_peak_mib=peak, sending_idle_mib=idle)
