# SPDX-License-Identifier: MIT
"""Bounded passes (issue 13): with pass_files, a pass takes in at most
that many files to hash and send, so that its memory stays flat however
much changed; the rest goes in passes that follow at once.  The
real binary, real folders, the CloudFront stand-in over loopback TLS.

What must hold: every changed URL is invalidated exactly once across the
passes, deletions in the first; `once` runs them all before it exits;
nothing is left pending; and a pass that could not record what it took
in (a dry run that uploads nothing) is not followed by another, which
would take in the same files for ever."""
import os
import unittest

from tests.e2e.cfw import StandInTest, write
from tests.e2e.daemon import Daemon
from tests.standin.standin import DISTRIBUTION

FOLLOWS = "another pass follows"


def rels(n, stem):
    return ["s%d/%s%02d.html" % (i % 3, stem, i) for i in range(n)]


class Bounded(StandInTest):

    def args(self, *extra):
        a = ["-d", DISTRIBUTION, "--endpoint", self.cf.endpoint,
             "--state-dir", self.state]
        if self.cf.ca_file:
            a += ["--ca-file", self.cf.ca_file]
        return a + list(extra)

    def once(self, *extra):
        return self.cfw("once", "-v", *self.args(*extra), self.root)

    def site(self, names, data):
        for rel in names:
            write(self.root, rel, "<p>%s %s</p>" % (rel, data))

    def baseline(self, names):
        self.site(names, "old")
        self.check(self.once("--baseline"))
        self.assertEqual(self.cf.invalidations(), [])

    def assert_each_once(self, expected):
        """Every path of expected in exactly one invalidation."""
        sent = [p for inv in self.cf.invalidations() for p in inv["paths"]]
        self.assertEqual(sorted(sent), sorted(expected))

    def test_once_sends_a_big_change_in_bounded_passes(self):
        # 20 files rewritten, 3 new, 2 deleted, --pass-files 4: six
        # passes of at most 4 files taken in (23 in all), the deletions
        # in the first, one invalidation each; then nothing pending.
        old = rels(22, "f")
        self.baseline(old)
        self.site(old[:20], "new")
        new = rels(3, "n")
        self.site(new, "new")
        for rel in old[20:]:
            os.unlink(os.path.join(self.root, rel))
        res = self.check(self.once("--pass-files", "4"))
        self.assertEqual(res.err.count(FOLLOWS), 5, res.err)
        self.assertEqual(len(self.cf.invalidations()), 6,
                         self.cf.invalidations())
        self.assert_each_once(["/" + r for r in old + new])
        first = self.cf.invalidations()[0]["paths"]
        self.assertTrue(set("/" + r for r in old[20:]) <= set(first), first)
        plan = self.check(self.cfw("plan", *self.args(), self.root))
        self.assertEqual(plan.lines, [])
        # With the default bound, the next rewrite goes in one pass.
        self.site(old[:20], "newer")
        res = self.check(self.once())
        self.assertNotIn(FOLLOWS, res.err)
        self.assertEqual(len(self.cf.invalidations()), 7)

    def test_a_rewrite_of_every_file_collapses_in_each_pass(self):
        # 40 files of one folder, all rewritten, --pass-files 10, a
        # wildcard from 5 files, no unchanged file may be evicted: four
        # passes, one wildcard each.  A pass must not take the files the
        # passes before it just sent for warm files its wildcard would
        # evict; it did, and sent 10 file paths each after the first.
        old = ["blog/p%02d.html" % i for i in range(40)]
        self.baseline(old)
        self.site(old, "new")
        res = self.check(self.once("--pass-files", "10",
                                   "--wildcard-threshold", "5",
                                   "--max-evict-ratio", "0"))
        self.assertEqual(res.err.count(FOLLOWS), 3, res.err)
        self.assertEqual([inv["paths"] for inv in self.cf.invalidations()],
                         [["/blog/*"]] * 4)
        plan = self.check(self.cfw("plan", *self.args(), self.root))
        self.assertEqual(plan.lines, [])

    def test_dry_run_that_records_nothing_is_not_bounded(self):
        # A dry run with an upload_cmd uploads nothing, so it records
        # nothing it prints: a pass after it would take in the same
        # files.  Expected: one pass that shows the whole change, as
        # `plan` does, exit 0, nothing sent or recorded.  It was bounded
        # and printed 2 of the 9 (and before that, looped for ever).
        old = rels(9, "f")
        self.baseline(old)
        self.site(old, "new")
        res = self.check(self.once("--dry-run", "--upload-cmd", "true",
                                   "--pass-files", "2"))
        self.assertNotIn(FOLLOWS, res.err)
        self.assertEqual(len(res.lines), 9, res.out)
        self.assertEqual(self.cf.invalidations(), [])
        plan = self.check(self.cfw("plan", *self.args(), self.root))
        self.assertEqual(len(plan.lines), 9, plan.out)

    def test_daemon_sends_a_big_change_in_bounded_passes(self):
        # The daemon, --pass-files 5, 12 files rewritten at once: each
        # URL invalidated once, in three passes that follow each other
        # without a new event.
        old = rels(12, "f")
        self.baseline(old)
        d = Daemon(self.tmp, "-v", *self.args("--pass-files", "5",
                                              "--quiet-ms", "300"),
                   self.root, env=self.env)
        try:
            d.wait_for(r": watching \d+ directories")
            self.site(old, "new")
            d.wait_for(FOLLOWS, count=2, timeout=60)
            d.wait_until(lambda: len(self.cf.invalidations()) >= 3,
                         "three invalidations", timeout=60)
            d.stop()
        finally:
            d.kill()
        self.assert_each_once(["/" + r for r in old])
        self.assertEqual(len(self.cf.invalidations()), 3)
        plan = self.check(self.cfw("plan", *self.args(), self.root))
        self.assertEqual(plan.lines, [])


if __name__ == "__main__":
    unittest.main()
