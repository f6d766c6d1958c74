# SPDX-License-Identifier: MIT
"""A URL mapping changed between runs (pretty_urls, url_prefix...): the
URLs the edges may hold under the old mapping are invalidated once, by
one wildcard, through the recorded intent, and the new mapping is
recorded only once CloudFront accepted it (site_remap.c).

Each test states the stand-in's replies and the invalidations expected."""
import os
import signal
import subprocess
import time
import unittest

from tests.e2e.cfw import BIN, clean_env, write
from tests.e2e.test_cloudfront import StandInTest

SITE = {
    "index.html": "<h1>home</h1>",
    "a/index.html": "<h1>a</h1>",
    "a/b.html": "b",
}


class RemapTest(StandInTest):
    """Helpers: config files, and runs under them."""

    def conf(self, **keys):
        """A config file of its own with keys in [cfwatch]."""
        self.n_conf = getattr(self, "n_conf", 0) + 1
        path = os.path.join(self.tmp, "cfwatch%d.conf" % self.n_conf)
        with open(path, "w") as f:
            f.write("[cfwatch]\n")
            for k, v in keys.items():
                f.write("%s = %s\n" % (k, v))
        return path

    def once_conf(self, conf, *extra, env=None):
        return self.cfw("once", "-c", conf, *self.cf_args(), *extra,
                        self.root, env=env or self.env)

    def plan_conf(self, conf):
        return self.check(self.cfw("plan", "-c", conf, *self.cf_args(),
                                   self.root))

    def baseline_under(self, conf):
        for rel, data in SITE.items():
            write(self.root, rel, data)
        res = self.check(self.once_conf(conf, "--baseline"))
        self.assertIn("baseline", res.err)
        self.assertNotIn("url mapping changed", res.err)
        self.assertEqual(self.cf.invalidations(), [])

    def paths(self):
        return [sorted(inv["paths"]) for inv in self.cf.invalidations()]


class Remap(RemapTest):
    """One distribution."""

    def test_pretty_off_flushes_old_forms_once(self):
        # Replies: 201.  Expected: the edit's own paths and, in a batch
        # of its own, "/*", which covers the /a/b the edges may hold;
        # then nothing more, not even on a run with no change.
        on = self.conf(pretty_urls="true")
        self.baseline_under(on)
        off = self.conf(pretty_urls="false")
        write(self.root, "a/b.html", "b, edited")
        plan = self.plan_conf(off)
        self.assertEqual(sorted(plan.lines), ["/*", "/a/b.html"])
        self.assertEqual(self.cf.invalidations(), [])  # plan sends nothing
        res = self.check(self.once_conf(off))
        self.assertIn("url mapping changed since the state was recorded "
                      "(pretty_urls on -> off): invalidating /* once", res.err)
        self.assertEqual(sorted(self.paths()), [["/*"], ["/a/b.html"]])
        self.assertEqual(self.plan_conf(off).lines, [])
        res = self.check(self.once_conf(off))
        self.assertNotIn("url mapping changed", res.err)
        self.assertEqual(len(self.cf.invalidations()), 2)

    def test_flush_alone_goes_without_a_change(self):
        # Replies: 201.  Expected: one invalidation of the old prefix's
        # wildcard and its bare form (dir_without_slash gave the root's
        # index "/old"), though no file changed.
        old = self.conf(url_prefix="/old", dir_without_slash="true")
        self.baseline_under(old)
        new = self.conf(url_prefix="/new", dir_without_slash="true")
        res = self.check(self.once_conf(new))
        self.assertIn("url_prefix /old -> /new", res.err)
        self.assertEqual(self.paths(), [["/old", "/old/*"]])
        self.check(self.once_conf(new))
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_only_adding_forms_sends_nothing(self):
        # Replies: none needed.  Expected: pretty_urls off -> on keeps
        # every old URL among the new ones: nothing is sent, the change
        # is recorded, and turning it off again owes the flush.
        off = self.conf(pretty_urls="false")
        self.baseline_under(off)
        on = self.conf(pretty_urls="true")
        res = self.check(self.once_conf(on))
        self.assertIn("only adds URLs", res.err)
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.plan_conf(off).lines, ["/*"])

    def test_plan_shows_the_flush_and_records_nothing(self):
        on = self.conf(pretty_urls="true")
        self.baseline_under(on)
        off = self.conf(pretty_urls="false")
        for _ in range(2):
            res = self.plan_conf(off)
            self.assertEqual(res.lines, ["/*"])
            self.assertIn("1 batch, 1 paths (1 wildcard)", res.err)
        self.assertEqual(self.cf.invalidations(), [])

    def test_dry_run_records_the_printed_flush_as_told(self):
        # A dry run without an origin records what it prints as told
        # (DESIGN.md), the flush as the changes: printed once.
        on = self.conf(pretty_urls="true")
        self.baseline_under(on)
        off = self.conf(pretty_urls="false")
        res = self.check(self.once_conf(off, "--dry-run"))
        self.assertEqual(res.lines, ["/*"])
        self.assertIn("printed (dry run); the new mapping is recorded",
                      res.err)
        res = self.check(self.once_conf(off, "--dry-run"))
        self.assertEqual(res.lines, [])
        self.assertEqual(self.cf.invalidations(), [])

    def test_kill_between_intent_and_commit_still_flushes(self):
        # Replies: the first create is made but its 201 is held for 60 s,
        # and cfwatch is killed (-9) meanwhile; the rerun sends the
        # recorded batch again (the same CallerReference: the stand-in
        # returns the invalidation it made) and only then records the
        # new mapping.
        on = self.conf(pretty_urls="true")
        self.baseline_under(on)
        off = self.conf(pretty_urls="false")
        self.cf.inject({"fault": "delay", "seconds": 60}, op="create")
        proc = subprocess.Popen(
            [BIN, "once", "-c", off] + self.cf_args() + [self.root],
            env=clean_env(self.env), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not self.cf.invalidations() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        invs = self.cf.invalidations()
        self.assertEqual([i["paths"] for i in invs], [["/*"]])
        self.cf.clear_faults()
        res = self.check(self.once_conf(off))
        self.assertIn("old url mapping's URLs are invalidated", res.err)
        again = self.cf.invalidations()
        self.assertEqual(len(again), 1, again)  # a replay, not a second
        self.assertEqual(again[0]["caller_reference"],
                         invs[0]["caller_reference"])
        self.assertEqual(self.plan_conf(off).lines, [])


class RemapTwoDists(RemapTest):
    """The same site on two distributions: each must get the flush
    before the new mapping is recorded."""

    DISTS = ("EDFDVBD6EXAMPLE", "E2QWRUHAPOMQZL")

    def setUp(self):
        super().setUp()
        self.cf.configure(distributions=list(self.DISTS))

    def cf_args(self, dist=None, endpoint=None):
        args = []
        for d in self.DISTS:
            args += ["-d", d]
        return args + ["--endpoint", self.cf.endpoint, "--ca-file",
                       self.cf.ca_file, "--state-dir", self.state]

    def test_each_distribution_gets_the_flush(self):
        # Replies: the first create is refused (400 InvalidArgument),
        # so the run fails with the flush's batch open and the mapping
        # unrecorded; then 201s.  Expected: the next run sends the batch
        # to each distribution that lacks it, then records the mapping:
        # one invalidation of "/*" at each.
        on = self.conf(pretty_urls="true")
        self.baseline_under(on)
        off = self.conf(pretty_urls="false")
        self.cf.inject({"fault": "error", "status": 400,
                        "code": "InvalidArgument"}, op="create")
        res = self.once_conf(off)
        self.assertNotEqual(res.status, 0, repr(res))
        self.assertNotIn("new mapping is recorded", res.err)
        self.cf.clear_faults()
        res = self.check(self.once_conf(off))
        self.assertIn("new mapping is recorded", res.err)
        for d in self.DISTS:
            invs = self.cf.invalidations(distribution=d)
            self.assertEqual([i["paths"] for i in invs], [["/*"]], d)
        self.assertEqual(self.plan_conf(off).lines, [])


if __name__ == "__main__":
    unittest.main()
